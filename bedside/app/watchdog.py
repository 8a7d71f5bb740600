"""The GUI watchdog: a stalled window never silences monitoring (ALM-5).

The window's thread calls ``beat`` from a short Qt timer. A thread of the watchdog's own checks the
age of the last beat every ``period_s``:

- older than ``monitoring.display_stalled_after_s`` (a blocked dialog, a stuck paint): the
  watchdog raises the technical alarm "display not updating" into the alarm system and, while the
  stall lasts, does the window's engine work in its place under ``MonitorCore.engine_lock``: it
  pumps what the device links delivered (judged by the clinical session, recorded by the
  recorder, both subscribed to the core), runs the time-based ticks, and sounds what the alarm
  system asks for through a ``TonePlayer`` that needs no GUI thread;
- fresh again: the alarm condition ends (the alarm is HIGH, so it stays latched until a clinician
  acknowledges it), the tone player goes silent and the window's own sound takes over.

Why the watchdog pumps instead of moving the engine to a worker thread for good: the clinical
session, the protocol desk and their views were built single-threaded (the views read them
directly and clinicians act on them from the GUI thread); a takeover limited to the stall keeps
that model for 99.9 % of the time, and ``engine_lock`` keeps the two pumps apart at the handover.
If the window's thread is stuck inside the engine itself (holding the lock), the watchdog cannot
judge: it then sounds the display-stalled priority on its own and logs why.

Each pass also writes one heartbeat line to ``heartbeat_out`` (the supervisor's pipe): the
process is alive and its watchdog runs. A process stopped as a whole (SIGSTOP, a frozen VM) stops
these lines, and the supervisor acts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

from alarms import CONDITIONS, ConditionId
from bedside.app.tone_player import TonePlayer
from bedside.monitor.core import MonitorCore
from bedside.workflow.clinical import ClinicalSession

log = logging.getLogger(__name__)

#: How often the watchdog looks (and writes a heartbeat line); well under the stall limit.
PERIOD_S = 0.25


class GuiWatchdog:
    """Watches the window's heartbeat from its own thread and stands in for the window while stalled."""

    def __init__(
        self,
        core: MonitorCore,
        clinical: ClinicalSession,
        tones: TonePlayer,
        *,
        stalled_after_s: float,
        ticks: Sequence[Callable[[], None]] = (),
        heartbeat_out: Callable[[str], None] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        period_s: float = PERIOD_S,
    ) -> None:
        """``ticks``: the window's time-based checks besides the core's and the clinical session's
        (e.g. the storage-outage check), run on every pass while the window is stalled."""
        self.core = core
        self.clinical = clinical
        self.tones = tones
        self.stalled_after_s = stalled_after_s
        self._ticks = tuple(ticks)
        self._heartbeat_out = heartbeat_out
        self._monotonic = monotonic
        self.period_s = period_s
        self._last_beat = monotonic()
        #: True while the window is stalled and the watchdog stands in for it.
        self.stalled = False
        #: How many stalls were seen, and passes made in the window's place (tests, logs).
        self.stalls = 0
        self.passes_while_stalled = 0
        self.observations_while_stalled = 0
        self._tone_failure: str | None = None  # set on the player's thread, raised on the next pass
        self._tone_failure_raised = False
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._stuck_in_engine = False
        tones.set_failure_listener(self.tone_failed)

    # -- the window's thread --------------------------------------------------------------------
    def beat(self) -> None:
        """The window's thread is turning its event loop (called from a Qt timer on it)."""
        self._last_beat = self._monotonic()

    # -- the watchdog's thread ------------------------------------------------------------------
    def start(self) -> None:
        """Start watching (a daemon thread: it must never keep a closing monitor alive)."""
        self._last_beat = self._monotonic()
        self._thread = threading.Thread(target=self._run, name="bedside-gui-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop watching; the tone player is the caller's to stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def tone_failed(self, failed: bool, reason: str) -> None:
        """The tone player's ``on_failure``: remembered here, raised as a technical alarm on the next pass."""
        self._tone_failure = reason if failed else None

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            try:
                self.check()
            except Exception:  # the watchdog must outlive any one failure of what it calls
                log.exception("GUI watchdog pass failed")

    def check(self) -> None:
        """One pass: heartbeat out, then stand in for a stalled window or hand back to a live one."""
        age = self._monotonic() - self._last_beat
        if self._heartbeat_out is not None:
            try:
                self._heartbeat_out(f"beat gui_age={age:.2f}\n")
            except Exception:
                log.debug("heartbeat to the supervisor not written", exc_info=True)
        if age <= self.stalled_after_s:
            if self.stalled or self._stuck_in_engine:
                self._recover(age)
            return
        if not self.core.engine_lock.acquire(timeout=self.period_s):
            self._stuck_inside_engine(age)
            return
        try:
            self._stand_in(age)
        finally:
            self.core.engine_lock.release()

    def _stand_in(self, age: float) -> None:
        if not self.stalled:
            self.stalled = True
            self.stalls += 1
            detail = f"the screen has not updated for {age:.1f} s; monitoring, alarms and recording go on"
            log.error("display stalled: %s", detail)
            self.clinical.display_stalled(True, detail)
        self.passes_while_stalled += 1
        report = self.core.pump()
        self.observations_while_stalled += report.observations
        self.core.tick()
        self.clinical.tick()
        for tick in self._ticks:
            try:
                tick()
            except Exception:
                log.exception("a time-based check failed while the display was stalled")
        self._raise_tone_failure()
        self.tones.update(self.clinical.audio_state())

    def _raise_tone_failure(self) -> None:
        failure = self._tone_failure
        if failure is not None and not self._tone_failure_raised and not self.clinical.audio_unavailable:
            self.clinical.audio_failed(
                True, f"the alarm tone cannot sound while the screen is stalled: {failure}"
            )
            self._tone_failure_raised = True
        elif failure is None and self._tone_failure_raised:
            self.clinical.audio_failed(False)
            self._tone_failure_raised = False

    def _stuck_inside_engine(self, age: float) -> None:
        # The window's thread holds the engine (stuck in a pump or a clinician's action): nothing
        # can be judged, but the sound must not wait for it.
        if not self._stuck_in_engine:
            self._stuck_in_engine = True
            self.stalls += 1
            log.critical(
                "display stalled inside the engine for %.1f s: sounding the display-stalled alarm without it",
                age,
            )
        self.tones.update(CONDITIONS[ConditionId.DISPLAY_STALLED].priority)

    def _recover(self, age: float) -> None:
        # The window's own sound takes over (its listener was queued while it was stalled); silent
        # before ``stalled`` reads False, so nobody sees a recovered window with the spare tone on.
        self.tones.update(None)
        with self.core.engine_lock:
            if self.stalled:
                log.warning("display updating again (last heartbeat %.2f s ago)", age)
                self.clinical.display_stalled(False)
                self.stalled = False
            self._stuck_in_engine = False
