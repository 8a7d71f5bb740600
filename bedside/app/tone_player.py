"""An alarm tone player that needs no GUI thread: its own thread hands WAV bursts to a sink (ALM-5).

The window's ``AlarmSound`` plays through Qt Multimedia, whose objects belong to the GUI thread: a
stopped event loop cannot change its tone. This player is what sounds while the window is stalled
(``GuiWatchdog``) and while the monitor process is down or hung (``Supervisor``). Its default sink
runs the system's command-line player (``paplay`` for PulseAudio/PipeWire, else ALSA's ``aplay``)
in a child process, one burst at a time; tests inject a sink. A machine where no sink can play is
never silent about it: ``on_failure(True, reason)`` is called (from the player's thread) so the
caller can raise the alarm system's "alarm sound unavailable" and log it.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from alarms import AlarmPriority
from bedside.views.alarm_sound import write_burst_wav

log = logging.getLogger(__name__)

#: Plays one WAV file to its end; raises AudioSinkError when it cannot.
Sink = Callable[[Path], None]
#: ``(failed, reason)``, called on the player's thread when playing starts failing or works again.
FailureListener = Callable[[bool, str], None]

#: Players tried in order: PulseAudio/PipeWire first (it shares the device with Qt), then raw ALSA.
PLAYER_COMMANDS: tuple[tuple[str, ...], ...] = (("paplay",), ("aplay", "-q"))
#: A burst lasts a few seconds at most; a player that takes longer is hung on its device.
PLAYER_TIMEOUT_S = 15.0
#: After a failure the next try waits this long, so a missing device is not retried in a busy loop.
RETRY_AFTER_S = 2.0


class AudioSinkError(RuntimeError):
    """The tone could not be played (no player program, no device, a player that failed)."""


def command_sink(commands: tuple[tuple[str, ...], ...] = PLAYER_COMMANDS) -> Sink:
    """A sink that plays each burst with the first command-line player installed on this machine."""

    def play(wav: Path) -> None:
        for command in commands:
            program = shutil.which(command[0])
            if program is None:
                continue
            try:
                done = subprocess.run(
                    [program, *command[1:], str(wav)],
                    capture_output=True,
                    timeout=PLAYER_TIMEOUT_S,
                    check=False,
                )
            except subprocess.TimeoutExpired:
                raise AudioSinkError(
                    f"{command[0]} did not finish a tone in {PLAYER_TIMEOUT_S:g} s"
                ) from None
            if done.returncode == 0:
                return
            said = done.stderr.decode("utf-8", "replace").strip().splitlines()
            why = said[-1] if said else f"exit {done.returncode}"
            raise AudioSinkError(
                f"{command[0]} could not play the alarm tone ({why}): "
                "check the speakers and the sound settings"
            )
        names = " or ".join(c[0] for c in commands)
        raise AudioSinkError(f"no command-line sound player ({names}) is installed: install pulseaudio-utils")

    return play


@functools.cache
def _burst_files() -> dict[AlarmPriority, Path]:
    """The bursts as WAV files, written once per process (half a second of synthesis) and kept
    until it exits: a player started in an emergency must not wait for them."""
    folder = tempfile.TemporaryDirectory(prefix="bedside-player-tones-")
    _KEEP.append(folder)
    return {p: write_burst_wav(p, Path(folder.name) / f"{p.name.lower()}.wav") for p in AlarmPriority}


_KEEP: list[tempfile.TemporaryDirectory[str]] = []


class TonePlayer:
    """Sounds the priority it is asked for on its own thread, until asked for silence."""

    def __init__(self, sink: Sink | None = None, on_failure: FailureListener | None = None) -> None:
        self._sink = sink or command_sink()
        self._on_failure = on_failure
        self._wavs = _burst_files()
        self._wanted: AlarmPriority | None = None
        self._generation = 0  # bumped by every change, so a low tone plays once per request
        self._changed = threading.Condition()
        self._stopping = False
        #: Why the tone cannot play ("" while it can).
        self.failure = ""
        #: Bursts played since start (tests and the supervisor's log read it).
        self.played = 0
        self._thread = threading.Thread(target=self._run, name="bedside-tone-player", daemon=True)
        self._thread.start()

    def set_failure_listener(self, on_failure: FailureListener | None) -> None:
        """Have ``on_failure(failed, reason)`` called (on the player's thread) when playing fails
        or works again."""
        self._on_failure = on_failure

    @property
    def wanted(self) -> AlarmPriority | None:
        """The priority being sounded now (None: silent)."""
        return self._wanted

    def update(self, wanted: AlarmPriority | None) -> None:
        """Sound ``wanted`` from now on (None: silence). Any thread; returns at once."""
        with self._changed:
            if wanted == self._wanted:
                return
            self._wanted = wanted
            self._generation += 1
            self._changed.notify_all()

    def stop(self) -> None:
        """End the player's thread (the burst being played finishes first)."""
        with self._changed:
            self._stopping = True
            self._changed.notify_all()
        self._thread.join(timeout=PLAYER_TIMEOUT_S + 1)

    def _run(self) -> None:
        played_generation = -1
        while True:
            with self._changed:
                while not self._stopping and (
                    self._wanted is None
                    or (self._wanted is AlarmPriority.LOW and played_generation == self._generation)
                ):
                    self._changed.wait()
                if self._stopping:
                    return
                wanted, generation = self._wanted, self._generation
            assert wanted is not None
            try:
                self._sink(self._wavs[wanted])
            except Exception as exc:  # any sink failure is the same for the patient: no sound
                self._report(str(exc) or type(exc).__name__)
                with self._changed:
                    self._changed.wait(RETRY_AFTER_S)
                continue
            self.played += 1
            played_generation = generation
            self._report("")

    def _report(self, reason: str) -> None:
        if reason == self.failure:
            return
        self.failure = reason
        if reason:
            log.error("alarm tone without the window cannot play: %s", reason)
        else:
            log.info("alarm tone without the window plays again")
        if self._on_failure is not None:
            try:
                self._on_failure(bool(reason), reason)
            except Exception:  # a broken listener must not end the player
                log.exception("reporting the tone player's state failed")
