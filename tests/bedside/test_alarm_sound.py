"""The alarm tones played are the IEC 60601-1-8 bursts from alarms.tones, looped at their interval."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from alarms import BURSTS, AlarmPriority
from bedside.alarm_sound import SAMPLE_RATE, AlarmSound, write_burst_wav


@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("priority", list(AlarmPriority))
def test_each_priority_is_written_as_one_burst_plus_its_interburst_silence(
    priority: AlarmPriority, tmp_path: Path
) -> None:
    path = write_burst_wav(priority, tmp_path / "tone.wav")
    with wave.open(str(path)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, SAMPLE_RATE)
    spec = BURSTS[priority]
    assert seconds == pytest.approx(spec.duration_s + (spec.interburst_s or 0.0), abs=1e-3)


@pytest.mark.req("ALM-3")
def test_the_sound_follows_the_engines_audio_state(qtbot: QtBot) -> None:
    sound = AlarmSound()
    sound.update(AlarmPriority.HIGH)
    assert sound.playing is AlarmPriority.HIGH
    sound.update(None)  # paused or acknowledged: the engine asks for silence
    assert sound.playing is None
