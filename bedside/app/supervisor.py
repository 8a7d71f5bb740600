"""`bedside run`: a small supervisor process that keeps the monitor process alive (MON-8, ALM-5).

Why a separate process: a crash of the monitor's process (Qt killing it after a bad repaint, an
out-of-memory kill, a segfault in a driver library) takes every thread in it along, so nothing
inside it can restart it. The supervisor imports no Qt and does nothing but start the monitor
(``python -m bedside.cli monitor ...``), read the heartbeat lines its ``GuiWatchdog`` writes to a
pipe, and act:

- the monitor died (any exit but 0 = closed on purpose, or 2 = refused its configuration): the
  supervisor sounds the monitoring-gap tone through its own ``TonePlayer`` and starts a new
  monitor at once; the new one resumes the same session from the database (its restart path,
  MON-8) and raises the monitoring-gap alarm itself, and the supervisor's tone stops at its first
  heartbeat;
- the monitor is alive but silent (no heartbeat for ``silent_after_s``: the whole process stopped,
  SIGSTOP, or hung with its watchdog): the supervisor sounds the display-stalled tone, kills it and
  starts a new one the same way;
- the monitor is alive but its window has been stalled for ``window_stalled_restart_s`` (its
  watchdog says so in every heartbeat line, and stands in for it meanwhile): nobody can read or
  acknowledge that screen, so it is replaced the same way;
- a crash loop is bounded: restarts wait ``backoff_s`` (0 s for the first two, so a crash is
  back within the 5 s the clinic needs), and more than ``max_restarts`` within
  ``restart_window_s`` ends the supervisor with a loud message on stderr and the log and exit
  code 3, because a monitor that cannot stay up must be looked at by a person.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from types import FrameType
from typing import Protocol

from alarms import CONDITIONS, AlarmPriority, ConditionId

log = logging.getLogger(__name__)

#: The window's stall age in a heartbeat line (``GuiWatchdog``: ``beat gui_age=0.12``).
_GUI_AGE = re.compile(rb"gui_age=([0-9]+(?:\.[0-9]+)?)")

#: ``bedside run`` gave up: the monitor kept failing (a person must look at it).
EXIT_CRASH_LOOP = 3
#: Exit codes the supervisor never restarts on: 0 the monitor was closed on purpose, 2 it refused
#: its options or configuration (starting it again would refuse them again).
FINAL_EXIT_CODES = frozenset({0, 2})


@dataclass(frozen=True)
class SupervisorPolicy:
    """How the supervisor judges and restarts the monitor (operational limits, not clinical rules)."""

    #: A monitor that has beaten once and then writes nothing for this long is stopped or hung.
    silent_after_s: float = 3.0
    #: A window stalled this long (its watchdog standing in) is replaced: nobody can read or acknowledge it.
    window_stalled_restart_s: float = 30.0
    #: A new monitor must write its first heartbeat within this (Qt start-up, database open).
    first_beat_within_s: float = 60.0
    #: More restarts than this within ``restart_window_s`` is a crash loop: give up loudly.
    max_restarts: int = 5
    restart_window_s: float = 120.0
    #: Wait before the 1st, 2nd, ... restart within the window (the last value repeats).
    backoff_s: tuple[float, ...] = (0.0, 0.0, 1.0, 2.0, 4.0)
    #: How long a monitor asked to close may take before it is killed.
    stop_within_s: float = 10.0


@dataclass
class Restart:
    """One restart: why, and how long from noticing to the new monitor's first heartbeat."""

    reason: str
    noticed_at: float
    back_at: float | None = None

    @property
    def seconds(self) -> float | None:
        """Noticing to the new monitor's first heartbeat (None while it is not back)."""
        return None if self.back_at is None else self.back_at - self.noticed_at


class Tones(Protocol):
    """What the supervisor needs of a tone player (``TonePlayer``); tests pass their own."""

    def update(self, wanted: AlarmPriority | None) -> None:
        """Sound ``wanted`` from now on (None: silence)."""


def supervisor_heartbeat(fd: int | None) -> Callable[[str], None] | None:
    """The monitor's side of the pipe: a writer for ``GuiWatchdog`` (None when not supervised).

    Non-blocking: a supervisor that stopped reading must never stall the watchdog.
    """
    if fd is None:
        return None
    os.set_blocking(fd, False)

    def write(line: str) -> None:
        # A full pipe or a gone supervisor: the beat is only a sign of life, never worth waiting for.
        with contextlib.suppress(BlockingIOError, BrokenPipeError):
            os.write(fd, line.encode("ascii"))

    return write


@dataclass
class _Monitor:
    """One monitor process: its heartbeat pipe, and while it is a spare, the pipe that starts it."""

    process: subprocess.Popen[bytes]
    beats: int
    go: int | None

    def start(self) -> None:
        """Tell a spare to start (it has loaded everything already)."""
        if self.go is not None:
            with contextlib.suppress(OSError):  # a spare that died is found by its exit code
                os.write(self.go, b"go")
            os.close(self.go)
            self.go = None

    def discard(self) -> None:
        """End a monitor that is not needed (a spare at shutdown); closes its pipes."""
        if self.go is not None:
            os.close(self.go)  # a waiting spare reads end-of-file and exits by itself
            self.go = None
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        os.close(self.beats)


@dataclass
class Supervisor:
    """Runs ``command`` (the monitor, with ``--supervisor-fd N`` appended) and keeps it alive.

    A spare monitor (``--standby-fd``: everything imported, waiting for the word) is kept ready
    beside the running one, so a restart does not pay the seconds Python and Qt take to load.
    """

    command: Sequence[str]
    policy: SupervisorPolicy = field(default_factory=SupervisorPolicy)
    tones: Tones | None = None
    env: dict[str, str] | None = None
    monotonic: Callable[[], float] = time.monotonic
    #: Keep a loaded spare monitor ready (False: every restart starts a process from scratch).
    spare: bool = True
    #: Every restart so far (benchmarks and tests read it).
    restarts: list[Restart] = field(default_factory=list)
    #: The running monitor's process id (None between monitors).
    pid: int | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _child: subprocess.Popen[bytes] | None = None
    _spare: _Monitor | None = None

    def stop(self) -> None:
        """Close the monitor (as Ctrl-C would) and end ``run`` with its exit code. Any thread."""
        self._stopping.set()
        child = self._child
        if child is not None and child.poll() is None:
            child.send_signal(signal.SIGINT)

    def install_signal_handlers(self) -> None:
        """SIGINT and SIGTERM to the supervisor close the monitor cleanly, then the supervisor."""

        def handler(signum: int, frame: FrameType | None) -> None:
            log.info("bedside run: signal %d, closing the monitor", signum)
            self.stop()

        signal.signal(signal.SIGINT, handler)
        signal.signal(signal.SIGTERM, handler)

    def run(self) -> int:
        """Start the monitor and keep it running; returns the process exit code."""
        try:
            return self._run()
        finally:
            if self._spare is not None:
                self._spare.discard()
                self._spare = None

    def _run(self) -> int:
        recent: deque[float] = deque()
        pending: Restart | None = None
        while True:
            code, reason, beat_at = self._run_one(pending)
            if pending is not None and beat_at is not None:
                pending.back_at = beat_at
            if self._stopping.is_set():
                return 0 if code is None else code
            if code in FINAL_EXIT_CODES:
                if code == 2:
                    log.error("bedside run: the monitor refused its options or configuration; not restarting")
                return code if code is not None else 0
            now = self.monotonic()
            died = reason.startswith("died")
            self._sound(ConditionId.MONITORING_GAP if died else ConditionId.DISPLAY_STALLED)
            recent.append(now)
            while recent and now - recent[0] > self.policy.restart_window_s:
                recent.popleft()
            if len(recent) > self.policy.max_restarts:
                return self._give_up(reason, len(recent))
            pending = Restart(reason, now)
            self.restarts.append(pending)
            backoff = self.policy.backoff_s[min(len(recent) - 1, len(self.policy.backoff_s) - 1)]
            log.error("bedside run: the monitor %s; starting it again in %.0f s", reason, backoff)
            if backoff > 0 and self._stopping.wait(backoff):
                self._sound(None)
                return 0

    def _spawn(self, *, spare: bool) -> _Monitor:
        beats_read, beats_write = os.pipe()
        go_read, go_write = os.pipe() if spare else (None, None)
        command = [*self.command, "--supervisor-fd", str(beats_write)]
        passed = [beats_write]
        if go_read is not None:
            command += ["--standby-fd", str(go_read)]
            passed.append(go_read)
        try:
            process = subprocess.Popen(command, pass_fds=passed, env=self.env)
        except OSError:
            os.close(beats_read)
            for fd in (go_write, *passed):
                if fd is not None:
                    os.close(fd)
            raise
        for fd in passed:
            os.close(fd)
        return _Monitor(process, beats_read, go_write)

    def _next_monitor(self) -> _Monitor:
        """The spare if it is alive and waiting, else a monitor started from scratch."""
        spare, self._spare = self._spare, None
        if spare is not None and spare.process.poll() is None:
            spare.start()
            return spare
        if spare is not None:
            log.error("bedside run: the spare monitor had ended (exit code %s)", spare.process.returncode)
            spare.discard()
        return self._spawn(spare=False)

    def _run_one(self, restart: Restart | None) -> tuple[int | None, str, float | None]:
        """Run one monitor until it exits or falls silent: (exit code, reason, first beat time)."""
        try:
            monitor = self._next_monitor()
        except OSError as exc:
            log.critical("bedside run: the monitor cannot be started: %s", exc)
            return 1, f"could not be started ({exc})", None
        child = monitor.process
        self._child, self.pid = child, child.pid
        log.info("bedside run: monitor started (pid %d)%s", child.pid, " after a restart" if restart else "")
        started = self.monotonic()
        first_beat: float | None = None
        last_beat = started
        gui_age = 0.0
        try:
            while True:
                ready, _, _ = select.select([monitor.beats], [], [], 0.1)
                if ready:
                    data = os.read(monitor.beats, 4096)
                    if data:
                        last_beat = self.monotonic()
                        ages = _GUI_AGE.findall(data)
                        gui_age = float(ages[-1]) if ages else 0.0
                        if first_beat is None:
                            first_beat = last_beat
                            self._on_first_beat(child.pid, restart, first_beat)
                code = child.poll()
                if code is not None:
                    return code, f"died (exit code {code})", first_beat
                if self._stopping.is_set():
                    return self._close(child), "was closed", first_beat
                now = self.monotonic()
                policy = self.policy
                limit = policy.silent_after_s if first_beat is not None else policy.first_beat_within_s
                if now - last_beat > limit:
                    log.critical(
                        "bedside run: the monitor (pid %d) has written no heartbeat for %.1f s: it is "
                        "stopped or hung; sounding the alarm and restarting it",
                        child.pid,
                        now - last_beat,
                    )
                    self._sound(ConditionId.DISPLAY_STALLED)
                    child.kill()  # SIGKILL ends a stopped (SIGSTOP) process too
                    child.wait()
                    return None, f"was silent for {now - last_beat:.1f} s (stopped or hung)", first_beat
                if gui_age > policy.window_stalled_restart_s:
                    # Its watchdog judges and sounds, but nobody can read the screen or acknowledge:
                    # a new window (same session, gap alarm) is the way back.
                    log.critical(
                        "bedside run: the window of the monitor (pid %d) has not updated for %.0f s; "
                        "restarting it",
                        child.pid,
                        gui_age,
                    )
                    self._sound(ConditionId.DISPLAY_STALLED)
                    child.kill()
                    child.wait()
                    return None, f"had a window stalled for {gui_age:.0f} s", first_beat
        finally:
            monitor.discard()
            self._child, self.pid = None, None

    def _on_first_beat(self, pid: int, restart: Restart | None, at: float) -> None:
        self._sound(None)  # the new monitor sounds its own monitoring-gap alarm
        if restart is not None:
            log.warning(
                "bedside run: the monitor is back (pid %d) %.2f s after it %s", pid, at - restart.noticed_at,
                restart.reason,
            )  # fmt: skip
        if self.spare and self._spare is None:
            # Only now: loading a spare beside a monitor that is still starting would slow it down.
            try:
                self._spare = self._spawn(spare=True)
            except OSError as exc:
                log.error("bedside run: no spare monitor (a restart will take longer): %s", exc)

    def _close(self, child: subprocess.Popen[bytes]) -> int:
        child.send_signal(signal.SIGINT)
        try:
            return child.wait(timeout=self.policy.stop_within_s)
        except subprocess.TimeoutExpired:
            child.kill()
            return child.wait()

    def _give_up(self, reason: str, restarts: int) -> int:
        message = (
            f"BEDSIDE IS NOT MONITORING: the monitor failed {restarts} times within "
            f"{self.policy.restart_window_s:.0f} s (last: it {reason}). Watch the patient directly, "
            "read the log above for the cause, fix it and start `bedside run` again."
        )
        log.critical(message)
        print(f"\n{'!' * 78}\n{message}\n{'!' * 78}\n", file=sys.stderr, flush=True)
        self._sound(None)
        return EXIT_CRASH_LOOP

    def _sound(self, condition: ConditionId | None) -> None:
        if self.tones is None:
            return
        try:
            self.tones.update(None if condition is None else CONDITIONS[condition].priority)
        except Exception:  # the supervisor's job is restarting: a broken player must not stop it
            log.exception("bedside run: the supervisor's alarm tone failed")
