"""The monitor core: takes what links decoded (any thread), applies it on the GUI thread.

Links call ``on_result``/``on_event`` from their own threads; those only enqueue. ``pump`` runs
on the GUI thread, so the board, the alarm engine and the view are never touched concurrently, and
a slow consumer can never stall a reader thread.

The GUI thread is woken as soon as something arrives: the window registers a thread-safe
``waker`` (a queued Qt signal) with ``set_waker``. Wake-ups are coalesced: a burst of results
wakes the GUI once, and the next wake-up is armed only when ``pump`` starts draining, so an
alarm never waits for a polling timer.

``engine_lock`` makes the GUI thread's pump and a ``GuiWatchdog``'s exclusive: while the window's
thread is stalled, the watchdog pumps and judges in its place (ALM-5), and a pump on either
thread never overlaps the other's.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from bedside.monitor.vitals_board import VitalsBoard
from drivers.clock import Clock
from drivers.device_clock import DeviceClockWatch
from drivers.transports.base import DeviceLink
from drivers.types import DecodeResult, DeviceEvent, DeviceEventKind, Observation

log = logging.getLogger(__name__)

ObservationListener = Callable[[Observation], None]
DeviceEventListener = Callable[[DeviceEvent], None]
#: Called from a link thread when the inbox has something new; must be thread-safe and quick.
Waker = Callable[[], None]


@dataclass(slots=True)
class LinkHealth:
    """What the status bar says about one device link.

    ``clock_offset_s`` is the device clock minus this PC's, learned from the link's first samples
    (positive: the device is ahead); None while learning or for a device whose frames carry no
    time. ``clock_implausible`` is True when that offset is beyond the clinic's tolerance (ALM-4).
    """

    source: str
    state: DeviceEventKind = DeviceEventKind.DISCONNECTED
    frames_ok: int = 0
    frames_rejected: int = 0
    detail: str = ""
    clock_offset_s: float | None = None
    clock_implausible: bool = False


@dataclass(slots=True)
class PumpReport:
    """How much one pump applied (benchmarks and tests read it)."""

    observations: int = 0
    events: int = 0
    rejections: int = 0
    waveforms: int = 0
    newest: list[Observation] = field(default_factory=list)


class MonitorCore:
    """Fan-out hub between device links and everything that consumes observations."""

    def __init__(
        self,
        clock: Clock,
        *,
        no_valid_after_s: float = 10.0,
        stale_after_s: float = 30.0,
        clock_tolerance_s: float = 5.0,
    ) -> None:
        """``clock_tolerance_s``: how far a device clock may be from this PC before its learned
        offset is called implausible (the clinic's ``monitoring.future_tolerance_s``)."""
        self.clock = clock
        self.board = VitalsBoard(clock.monotonic(), no_valid_after_s, stale_after_s)
        self.links: dict[str, DeviceLink] = {}
        self.health: dict[str, LinkHealth] = {}
        self.clock_tolerance_s = clock_tolerance_s
        #: How far behind a device clock may be (None: as far as ahead); the alarm system's
        #: ``monitoring.past_tolerance_s``, so the screen and the alarm agree.
        self.clock_behind_tolerance_s: float | None = None
        #: One clock-offset estimator per link source (ALM-4).
        self.clock_watches: dict[str, DeviceClockWatch] = {}
        self._inbox: queue.SimpleQueue[tuple[str, DecodeResult] | DeviceEvent] = queue.SimpleQueue()
        self._observation_listeners: list[ObservationListener] = []
        self._event_listeners: list[DeviceEventListener] = []
        self._waker: Waker | None = None
        self._wake_lock = threading.Lock()
        self._wake_pending = False
        #: Held by whoever applies and judges data: ``pump`` and ``tick`` here, the window's
        #: heartbeat and a clinician's action there, the watchdog while the window is stalled.
        self.engine_lock = threading.RLock()

    # --- called from link threads -------------------------------------------------------
    def on_result(self, result: DecodeResult, source: str = "") -> None:
        """Thread-safe intake of a driver's output."""
        if result.frames or result.observations or result.rejections:
            self._inbox.put((source, result))
            self._wake()

    def result_sink(self, source: str) -> Callable[[DecodeResult], None]:
        """A sink for one link, so frame counts are kept per device."""
        return lambda result: self.on_result(result, source)

    def on_event(self, event: DeviceEvent) -> None:
        """Thread-safe intake of a link event."""
        self._inbox.put(event)
        self._wake()

    def set_waker(self, waker: Waker | None) -> None:
        """Have ``waker`` called (from the link thread) when data arrives and no wake-up is pending.

        The waker only schedules ``pump`` on the GUI thread; it must not touch GUI state itself.
        """
        with self._wake_lock:
            self._waker = waker
            self._wake_pending = False
        if waker is not None and not self._inbox.empty():
            self._wake()

    def _wake(self) -> None:
        with self._wake_lock:
            waker = self._waker
            if waker is None or self._wake_pending:
                return  # one wake-up per burst: the pump it triggers drains everything queued
            self._wake_pending = True
        try:
            waker()
        except Exception:  # a broken waker must never kill the reader thread that called it
            log.exception("waking the GUI thread failed")

    # --- GUI thread ---------------------------------------------------------------------
    def add_link(self, link: DeviceLink) -> None:
        self.links[link.source] = link
        self.health[link.source] = LinkHealth(link.source)

    def subscribe(
        self, on_observation: ObservationListener | None = None, on_event: DeviceEventListener | None = None
    ) -> None:
        if on_observation:
            self._observation_listeners.append(on_observation)
        if on_event:
            self._event_listeners.append(on_event)

    def pump(self, limit: int = 10_000) -> PumpReport:
        """Apply what arrived since the last pump, at most ``limit`` items (keeps the GUI responsive)."""
        with self.engine_lock:
            return self._pump(limit)

    def _pump(self, limit: int) -> PumpReport:
        report = PumpReport()
        # Re-arm before draining: whatever arrives from now on wakes the GUI again, so nothing
        # queued behind this pump can wait for a timer.
        with self._wake_lock:
            self._wake_pending = False
        for _ in range(limit):
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
            if isinstance(item, DeviceEvent):
                report.events += 1
                self._apply_event(item)
            else:
                source, result = item
                report.rejections += len(result.rejections)
                if source:
                    health = self.health.setdefault(source, LinkHealth(source))
                    health.frames_rejected += len(result.rejections)
                    health.frames_ok += result.frames
                for wave in result.waveforms:
                    self.board.add_waveform(wave)
                    report.waveforms += 1
                for obs in result.observations:
                    report.observations += 1
                    report.newest.append(obs)
                    self._watch_clock(source or obs.source, obs)
                    self._apply_observation(obs)
        if not self._inbox.empty():
            self._wake()  # the limit was reached: the rest is applied on the next turn of the loop
        return report

    def tick(self) -> None:
        """Periodic checks that need the clock (silence)."""
        with self.engine_lock:
            for link in self.links.values():
                try:
                    link.check_silence()
                except Exception:  # a broken link must not stop the others' checks
                    log.exception("silence check failed for %s", link.source)

    def start(self) -> None:
        for link in self.links.values():
            link.start()

    def stop(self) -> None:
        for link in self.links.values():
            try:
                link.stop()
            except Exception:
                log.exception("stopping %s failed", link.source)

    def _watch_clock(self, source: str, obs: Observation) -> None:
        watch = self.clock_watches.get(source)
        if watch is None:
            watch = DeviceClockWatch(
                source, tolerance_s=self.clock_tolerance_s, behind_tolerance_s=self.clock_behind_tolerance_s
            )
            self.clock_watches[source] = watch
        learned = watch.observe(obs.measured_at, obs.received_at, obs.received_mono)
        if learned is None:
            return
        health = self.health.setdefault(source, LinkHealth(source))
        health.clock_offset_s = learned.offset_s
        health.clock_implausible = learned.implausible
        if learned.implausible:
            log.warning(
                "%s, beyond the %g s tolerance: set the device's clock or its --device-clock zone",
                learned.describe(),
                learned.tolerance_s,
            )
        else:
            log.info("%s", learned.describe())

    def _apply_observation(self, obs: Observation) -> None:
        self.board.add(obs)
        for listener in self._observation_listeners:
            try:
                listener(obs)
            except Exception:
                log.exception("observation listener failed")

    def _apply_event(self, event: DeviceEvent) -> None:
        health = self.health.setdefault(event.source, LinkHealth(event.source))
        if event.kind in (
            DeviceEventKind.CONNECTED,
            DeviceEventKind.DISCONNECTED,
            DeviceEventKind.SILENT,
            DeviceEventKind.RESUMED,
        ):
            health.state = event.kind
            health.detail = event.detail
            self.board.link_event(event)  # a dead device's values are greyed, not shown as live
        for listener in self._event_listeners:
            try:
                listener(event)
            except Exception:
                log.exception("device event listener failed")
