"""Plays the IEC 60601-1-8 alarm bursts generated in ``alarms.tones`` (ALM-1), and says when it cannot.

The bursts are written once to WAV files (with their inter-burst silence, so looping repeats them
at the standard's interval) and played with QtMultimedia's QSoundEffect. A machine without sound
still runs the monitor, but never silently: when Qt Multimedia is missing, there is no audio
output device, or a tone fails to load or play (QSoundEffect status Error, logged by Qt as
"playback not supported"), ``on_failure(True, reason)`` is called, so the composition root can
raise the alarm system's technical alarm and the alarm bar can show AUDIO OFF (ALM-5). When an
output device appears again the tones are reloaded and ``on_failure(False, "")`` is called.
"""

from __future__ import annotations

import logging
import tempfile
import wave
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from alarms import AlarmPriority, burst

log = logging.getLogger(__name__)

SAMPLE_RATE = 44100

#: ``(failed, reason)``: the alarm sound became unavailable (True) or works again (False).
FailureListener = Callable[[bool, str], None]
#: Lists the machine's audio outputs (injected by tests; Qt's QMediaDevices by default).
AudioOutputs = Callable[[], Sequence[object]]


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

    def __init__(
        self, on_failure: FailureListener | None = None, audio_outputs: AudioOutputs | None = None
    ) -> None:
        self.available = False
        self.playing: AlarmPriority | None = None
        #: Why the sound cannot play now ("" while it can).
        self.failure = ""
        self._on_failure = on_failure
        self._tone_listeners: list[Callable[[AlarmPriority], None]] = []
        self._effects: dict[AlarmPriority, Any] = {}
        self._dir = tempfile.TemporaryDirectory(prefix="bedside-tones-")
        try:
            from PySide6.QtCore import QUrl
            from PySide6.QtMultimedia import QMediaDevices, QSoundEffect
        except ImportError as exc:  # Qt Multimedia missing (PySide6-Addons / libpulse0)
            log.error("alarm sound unavailable: %s", exc)
            self._report(f"Qt Multimedia is not installed ({exc})")
            return
        self._outputs: AudioOutputs = audio_outputs or QMediaDevices.audioOutputs
        self._effect_error = QSoundEffect.Status.Error
        for priority in AlarmPriority:
            wav = write_burst_wav(priority, Path(self._dir.name) / f"{priority.name.lower()}.wav")
            effect = QSoundEffect()
            effect.setSource(QUrl.fromLocalFile(str(wav)))
            # Low priority sounds once per condition; medium and high repeat until silenced.
            effect.setLoopCount(1 if priority is AlarmPriority.LOW else QSoundEffect.Loop.Infinite.value)
            effect.statusChanged.connect(lambda p=priority: self._status_changed(p))
            self._effects[priority] = effect
        self.available = True
        if audio_outputs is None:
            # Kept as an attribute: the device watcher must live as long as the sound.
            self._devices = QMediaDevices()
            self._devices.audioOutputsChanged.connect(self.check_outputs)
        self.check_outputs()

    def add_tone_listener(self, listener: Callable[[AlarmPriority], None]) -> None:
        """Call ``listener(priority)`` right after a tone is told to play (benchmarks, drills)."""
        self._tone_listeners.append(listener)

    def update(self, wanted: AlarmPriority | None) -> None:
        """Switch to the tone for ``wanted`` (None: silence). Called on every alarm-state change."""
        if wanted == self.playing:
            return
        if self.playing is not None and self.available:
            self._effects[self.playing].stop()
        self.playing = wanted
        if wanted is not None and self.available:
            # Played even while failed: a device may come back, and trying costs nothing.
            self._effects[wanted].play()
            for listener in self._tone_listeners:
                listener(wanted)

    def check_outputs(self) -> None:
        """Re-check the audio outputs: none is a failure; one appearing again reloads the tones."""
        if not self.available:
            return
        if not self._outputs():
            self._report("no audio output device: connect speakers or check the sound settings")
            return
        if self.failure:
            for effect in self._effects.values():
                source = effect.source()
                effect.setSource(source.__class__())
                effect.setSource(source)  # reload: a tone that failed on the old device gets a retry
            if self.playing is not None:
                self._effects[self.playing].play()
        self._report("")

    def _status_changed(self, priority: AlarmPriority) -> None:
        # The first reason stands: every tone fails together when the device cannot play WAV.
        if self._effects[priority].status() == self._effect_error and not self.failure:
            self._report(f"the {priority.text.lower()}-priority alarm tone cannot be played on this device")

    def _report(self, reason: str) -> None:
        if reason == self.failure:
            return
        self.failure = reason
        if reason:
            log.error("alarm sound unavailable: %s", reason)
        else:
            log.info("alarm sound available again")
        if self._on_failure is not None:
            self._on_failure(bool(reason), reason)
