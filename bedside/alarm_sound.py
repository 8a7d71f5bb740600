"""Plays the IEC 60601-1-8 alarm bursts generated in ``alarms.tones`` (ALM-1).

The bursts are written once to WAV files (with their inter-burst silence, so looping repeats them
at the standard's interval) and played with QtMultimedia's QSoundEffect. A machine without sound
still runs the monitor: ``available`` is False and the window says the sound is unavailable.
"""

from __future__ import annotations

import logging
import tempfile
import wave
from pathlib import Path

import numpy as np

from alarms import AlarmPriority, burst

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100


def write_burst_wav(priority: AlarmPriority, path: Path) -> Path:
    """One repeating burst as 16-bit mono PCM WAV."""
    pcm = burst(priority, SAMPLE_RATE, include_interburst=True)
    data = (np.clip(pcm, -1.0, 1.0) * 32000).astype("<i2").tobytes()
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(data)
    return path


class AlarmSound:
    """Sounds the highest priority the alarm engine asks for; silent when it asks for none."""

    def __init__(self) -> None:
        self.available = False
        self.playing: AlarmPriority | None = None
        self._effects: dict[AlarmPriority, object] = {}
        self._dir = tempfile.TemporaryDirectory(prefix="bedside-tones-")
        try:
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QSoundEffect
        except ImportError as exc:  # Qt Multimedia missing (PySide6-Addons / libpulse0)
            log.error("alarm sound unavailable: %s", exc)
            return
        for priority in AlarmPriority:
            wav = write_burst_wav(priority, Path(self._dir.name) / f"{priority.name.lower()}.wav")
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(wav)))
            # Low priority sounds once per condition; medium and high repeat until silenced.
            effect.setLoopCount(1 if priority is AlarmPriority.LOW else QSoundEffect.Loop.Infinite.value)
            self._effects[priority] = effect
        self.available = True

    def update(self, wanted: AlarmPriority | None) -> None:
        """Switch to the tone for ``wanted`` (None: silence). Called from the GUI refresh."""
        if wanted == self.playing:
            return
        if self.playing is not None:
            self._effects[self.playing].stop()  # type: ignore[attr-defined]
        self.playing = wanted
        if wanted is not None and self.available:
            self._effects[wanted].play()  # type: ignore[attr-defined]
