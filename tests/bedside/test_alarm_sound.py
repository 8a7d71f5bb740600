"""The alarm tones played are the IEC 60601-1-8 bursts from alarms.tones, looped at their interval."""

from __future__ import annotations

import wave
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from alarms import BURSTS, AlarmPriority
from bedside.views.alarm_sound import SAMPLE_RATE, AlarmSound, write_burst_wav


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


@pytest.mark.req("ALM-5")
def test_no_audio_output_is_reported_and_a_device_coming_back_clears_it(qtbot: QtBot) -> None:
    """Finding 13: every start logged "QSoundEffect: playback not supported" and nothing else knew.
    The sound reports the failure to its listener (the window wires it to the alarm bar and the
    alarm system) and reports the recovery when an output appears."""
    outputs: list[object] = []
    reports: list[tuple[bool, str]] = []
    sound = AlarmSound(
        on_failure=lambda failed, reason: reports.append((failed, reason)), audio_outputs=lambda: outputs
    )
    assert reports == [(True, sound.failure)]
    assert "no audio output device" in sound.failure
    sound.check_outputs()
    assert len(reports) == 1  # the same failure is reported once
    outputs.append("speakers")
    sound.check_outputs()
    assert reports[-1] == (False, "")


@pytest.mark.req("ALM-1")
def test_a_tone_started_is_told_to_its_listeners(qtbot: QtBot) -> None:
    sound = AlarmSound(audio_outputs=lambda: ["speakers"])
    started: list[AlarmPriority] = []
    sound.add_tone_listener(started.append)
    sound.update(AlarmPriority.MEDIUM)
    sound.update(AlarmPriority.MEDIUM)  # already sounding: not started again
    sound.update(AlarmPriority.HIGH)
    assert started == [AlarmPriority.MEDIUM, AlarmPriority.HIGH]
