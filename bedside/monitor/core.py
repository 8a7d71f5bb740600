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

The window shows its first number before the database is open (issue 10, cold start): from
``hold()`` the core keeps every observation and device event it applies, and ``release_held()``
gives them, in arrival order, to the listeners that subscribed since (the recorder, the clinical
session once its restored state is back, the protocol desk), so nothing that arrived while the
database was opening is lost, unrecorded or unjudged.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from bedside.monitor.vitals_board import VitalsBoard
from drivers.clock import Clock
from drivers.device_clock import DeviceClockWatch
from drivers.transports.base import DeviceLink
from drivers.types import DecodeResult, DeviceEvent, DeviceEventKind, Observation, Stamp

log = logging.getLogger(__name__)

_Item = TypeVar("_Item", Observation, DeviceEvent)
ObservationListener = Callable[[Observation], None]
DeviceEventListener = Callable[[DeviceEvent], None]
#: Called from a link thread when the inbox has something new; must be thread-safe and quick.
Waker = Callable[[], None]
#: Device events that change a link's state (the rest, e.g. a rejected frame, only inform).
_LINK_STATES = (
    DeviceEventKind.CONNECTED,
    DeviceEventKind.DISCONNECTED,
    DeviceEventKind.SILENT,
    DeviceEventKind.RESUMED,
)


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
        #: What was applied since ``hold()``, for listeners that subscribe later; None when not holding.
        self._held: list[Observation | DeviceEvent] | None = None
        self._held_since: Stamp | None = None
        self._listeners_at_hold = (0, 0)

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

    def hold(self) -> None:
        """Keep everything applied from now on for listeners that subscribe later (``release_held``).

        The board shows it at once; the recorder and the clinical session, which need the database,
        get it when they are ready: a listener that subscribes while the core holds gets nothing
        until ``release_held()``, then everything in arrival order. Called before the links start.
        """
        with self.engine_lock:
            self._held = []
            self._held_since = self.clock.stamp()
            self._listeners_at_hold = (len(self._observation_listeners), len(self._event_listeners))

    @property
    def held_since(self) -> Stamp | None:
        """When ``hold()`` began (monitoring started before the database was open), or None."""
        return self._held_since

    @property
    def held(self) -> tuple[Observation | DeviceEvent, ...]:
        """What was applied since ``hold()`` and not yet released, in arrival order."""
        with self.engine_lock:
            return tuple(self._held or ())

    def release_held(self) -> int:
        """Give every listener that subscribed since ``hold()`` what it missed, in arrival order,
        then stop holding; returns how many items were handed over."""
        with self.engine_lock:
            held, self._held = self._held, None
            if held is None:
                return 0
            first_obs, first_event = self._listeners_at_hold
            late_obs = self._observation_listeners[first_obs:]
            late_events = self._event_listeners[first_event:]
            for item in held:
                if isinstance(item, DeviceEvent):
                    self._notify(late_events, item)
                else:
                    self._notify(late_obs, item)
            if held:
                log.info(
                    "%d readings and device events from before the database opened handed over", len(held)
                )
            return len(held)

    def replace_board(self, board: VitalsBoard) -> None:
        """Show ``board`` from now on (a resumed session's history loaded into it), with what the
        links delivered since ``hold()`` applied after that history, as it was shown before."""
        with self.engine_lock:
            old = self.board
            board.no_valid_after_s, board.stale_after_s = old.no_valid_after_s, old.stale_after_s
            for item in self._held or ():
                if isinstance(item, DeviceEvent):
                    if item.kind in _LINK_STATES:
                        board.link_event(item)
                else:
                    board.add(item)
            board.pleth = old.pleth
            for kind, series in board.trends.items():
                # A new version number, so a view that drew the old board redraws this one.
                series.version += old.trends[kind].version + 1 if kind in old.trends else 1
            self.board = board

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
        listeners = self._observation_listeners
        if self._held is not None:
            # Listeners that subscribed since hold() get it with the rest, in order, at release.
            self._held.append(obs)
            listeners = listeners[: self._listeners_at_hold[0]]
        self._notify(listeners, obs)

    @staticmethod
    def _notify(listeners: Sequence[Callable[[_Item], None]], item: _Item) -> None:
        for listener in listeners:
            try:
                listener(item)
            except Exception:
                log.exception("%s listener failed", type(item).__name__)

    def _apply_event(self, event: DeviceEvent) -> None:
        health = self.health.setdefault(event.source, LinkHealth(event.source))
        if event.kind in _LINK_STATES:
            health.state = event.kind
            health.detail = event.detail
            self.board.link_event(event)  # a dead device's values are greyed, not shown as live
        listeners = self._event_listeners
        if self._held is not None:
            self._held.append(event)
            listeners = listeners[: self._listeners_at_hold[1]]
        self._notify(listeners, event)
