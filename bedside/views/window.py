"""The monitor window: numerics, trends, link status. It subscribes and renders; it decides nothing.

Event-driven (DESIGN "Views subscribe, they never poll"): a link thread that delivers data wakes
the GUI thread at once through a queued Qt signal (``MonitorCore.set_waker``, coalesced per
burst); the data is applied and judged in that turn of the event loop, and the clinical session's
change notification re-renders the alarm bar and the tone in the same turn (only what changed).
One slow heartbeat (``TICK_MS``) drives what depends on time alone: ages, countdowns, the silence
checks, the clinical tick, the protocol timers and the trend's scrolling window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from bedside.monitor.core import MonitorCore
from bedside.views.alarm_bar import AlarmBar
from bedside.views.alarm_sound import AlarmSound
from bedside.views.nibp_panel import NibpPanel
from bedside.views.pleth import PlethStrip
from bedside.views.protocol_panel import ProtocolPanel
from bedside.views.session_controls import SessionControls
from bedside.views.theme import NIBP_COLOUR, PULSE_COLOUR, SPO2_COLOUR
from bedside.views.trend import TrendView
from bedside.views.widgets import NumericTile, SimulationBanner
from bedside.workflow.clinical import BandView, ClinicalSession
from bedside.workflow.protocol_desk import ProtocolDesk
from drivers.types import DeviceEventKind, VitalKind

log = logging.getLogger(__name__)

_LINK_COLOURS = {
    DeviceEventKind.CONNECTED: "#3ddc84",
    DeviceEventKind.RESUMED: "#3ddc84",
    DeviceEventKind.SILENT: "#ffd400",
    DeviceEventKind.DISCONNECTED: "#ff5c5c",
}


class _Wakeup(QObject):
    """Carries "data arrived" from a link thread to the GUI thread (emitted there, queued here)."""

    arrived = Signal()


def clock_offset_words(offset_s: float) -> str:
    """A device clock offset in a clinician's words: "6.0 s ahead", "1 h 0 min behind", "in step"."""
    size = abs(offset_s)
    if size < 0.5:
        return "in step"
    side = "ahead" if offset_s > 0 else "behind"
    if size < 120:
        return f"{size:.1f} s {side}"
    minutes = round(size / 60)
    return f"{minutes // 60} h {minutes % 60} min {side}" if minutes >= 60 else f"{minutes} min {side}"


class MonitorWindow(QMainWindow):
    """Large SpO2 / pulse / NIBP numerics beside the session trend."""

    #: The one heartbeat: ages, countdowns, silence checks and the clinical tick. Never alarms:
    #: those reach the screen on the data's own wake-up.
    TICK_MS = 1000

    def __init__(self, core: MonitorCore, simulation_scenario: str | None = None) -> None:
        super().__init__()
        self.core = core
        self.setWindowTitle("Bedside — SIMULATION" if simulation_scenario else "Bedside")
        self.resize(1600, 1000)
        root = QWidget()
        root.setStyleSheet("background: #0b0f14; color: #d8dee9;")
        self.setCentralWidget(root)
        outer = QVBoxLayout(root)
        outer.setContentsMargins(6, 6, 6, 6)
        self.banner: SimulationBanner | None = None
        if simulation_scenario is not None:
            self.banner = SimulationBanner(simulation_scenario)
            outer.addWidget(self.banner)
        self.top_slot = QVBoxLayout()  # alarm bar goes here
        outer.addLayout(self.top_slot)
        body = QHBoxLayout()
        outer.addLayout(body, 1)
        self.trend = TrendView()
        body.addWidget(self.trend, 3)
        side = QWidget()
        side.setMaximumWidth(400)
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        body.addWidget(side, 1)
        self.protocol_column = QWidget()
        self.protocol_column.setMaximumWidth(380)
        self.protocol_slot = QVBoxLayout(self.protocol_column)
        self.protocol_slot.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.protocol_column, 1)
        self.protocol_column.hide()
        self.spo2_tile = NumericTile("SpO2", "%", SPO2_COLOUR)
        self.pulse_tile = NumericTile("Pulse", "/min", PULSE_COLOUR)
        self.nibp_tile = NumericTile("NIBP", "mmHg", NIBP_COLOUR)
        # SpO2 and pulse side by side, NIBP below: the side column must fit a 1000 px screen
        # with the NIBP prompts and the session's steps under it.
        continuous = QHBoxLayout()
        continuous.addWidget(self.spo2_tile)
        continuous.addWidget(self.pulse_tile)
        column.addLayout(continuous)
        self.pleth = PlethStrip()  # the pleth under SpO2, where the device sends one
        column.addWidget(self.pleth)
        column.addWidget(self.nibp_tile)
        self.side_slot = QVBoxLayout()  # NIBP countdown and prompts, the session's steps
        column.addLayout(self.side_slot)
        column.addStretch(1)
        self.link_label = QLabel("")
        self.link_label.setStyleSheet("font-size: 14px; padding: 2px;")
        self.statusBar().addPermanentWidget(self.link_label, 1)
        self.statusBar().setStyleSheet("background: #11161c; color: #d8dee9;")

        self.clinical: ClinicalSession | None = None
        self.desk: ProtocolDesk | None = None
        self._offers_forwarded = 0
        self._views_pending = False
        self._shown_band: BandView | None = None
        self._shown_readings = -1
        self._tick_timer = QTimer(self)
        self._tick_timer.timeout.connect(self._tick)
        self._wakeup = _Wakeup(self)
        self._wakeup.arrived.connect(self._on_data_arrived, Qt.ConnectionType.QueuedConnection)
        core.set_waker(self._wakeup.arrived.emit)

    def attach_clinical(
        self,
        clinical: ClinicalSession,
        session_started_at: datetime,
        *,
        alarm_sound: AlarmSound | None = None,
    ) -> None:
        """Show the clinical engine: alarm bar on top, NIBP cycling and session steps at the side.

        The window makes its own ``AlarmSound`` and reports its failures to the bar and the alarm
        system (ALM-5); a caller that passes ``alarm_sound`` handles that sound's failures itself.
        """
        self.clinical = clinical
        self.session_started_at = session_started_at
        # The board greys values by the clinic's own freshness limits (MON-1).
        self.core.board.use_clinic_config(clinical.config)
        self.alarm_bar = AlarmBar(pause_s=clinical.config.audio_pause.default_s)
        self.top_slot.addWidget(self.alarm_bar)
        self.nibp_panel = NibpPanel()
        self.side_slot.addWidget(self.nibp_panel)
        self.session_controls = SessionControls(clinical)
        self.side_slot.addWidget(self.session_controls)
        self.alarm_bar.acknowledge_requested.connect(
            lambda key: self._as_clinician(lambda who: clinical.acknowledge(key, who))
        )
        self.alarm_bar.pause_requested.connect(lambda: self._as_clinician(clinical.pause_audio))
        self.nibp_panel.measure_now_requested.connect(lambda: self._as_clinician(clinical.measure_now))
        self.nibp_panel.interval_requested.connect(
            lambda minutes: self._as_clinician(lambda who: clinical.set_interval(minutes, who))
        )
        self.core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
        # Before the listener: a failure found while the tones load is reported to the bar and
        # the alarm system without the sound being half-built.
        self.alarm_sound = alarm_sound or AlarmSound(on_failure=self._audio_failure)
        clinical.add_listener(self._on_clinical_changed)
        self._on_clinical_changed()

    def attach_protocols(self, desk: ProtocolDesk) -> None:
        """The protocol panel beside the monitor; alarms' offers reach the desk as they are made."""
        self.desk = desk
        # The panel's protocol timers tick on the window's heartbeat, not a timer of their own.
        self.protocol_panel = ProtocolPanel(desk, clinician=self.session_controls.who, tick_ms=0)
        self.protocol_slot.addWidget(self.protocol_panel)
        self.protocol_column.show()
        self.core.subscribe(on_observation=desk.on_observation)
        self._forward_offers()

    def _forward_offers(self) -> None:
        if self.clinical is None or self.desk is None:
            return
        offered = self.clinical.offered_protocols
        for offer in offered[self._offers_forwarded :]:
            self.desk.offer(offer.protocol_id, offer.reason)
        self._offers_forwarded = len(offered)

    def _as_clinician(self, action: Callable[[str], object]) -> None:
        who = self.session_controls.who()
        if not who:
            self.session_controls.message.setText("Enter your name first: actions are recorded by person.")
            return
        try:
            action(who)
        except Exception as exc:
            self.session_controls.message.setText(str(exc))

    def start_timers(self) -> None:
        """Start the heartbeat (data needs no timer: it wakes the window itself)."""
        self._tick_timer.start(self.TICK_MS)

    def stop_timers(self) -> None:
        """Stop the heartbeat and stop being woken by the links."""
        self._tick_timer.stop()
        self.core.set_waker(None)

    def closeEvent(self, event: QCloseEvent) -> None:
        """A closed window is no longer woken by reader threads."""
        self.core.set_waker(None)
        super().closeEvent(event)

    # -- event-driven rendering -------------------------------------------------------------------

    def _on_data_arrived(self) -> None:
        """Apply what the links delivered; the engine judges it and its listeners render now."""
        report = self.core.pump()
        if report.waveforms:
            self.pleth.show_pleth(self.core.board.pleth, self.core.clock.monotonic())
        if report.observations:
            self._show_vitals(kinds={obs.kind for obs in report.newest})
        if report.events:
            self._show_links()

    def _on_clinical_changed(self) -> None:
        """The clinical session changed: the tone and the alarm bar follow in this same turn."""
        self._show_alarms()
        if not self._views_pending:
            # The rest of the clinical views are coalesced: many observations in one burst
            # re-render them once, right after this turn of the event loop.
            self._views_pending = True
            QTimer.singleShot(0, self._show_clinical_views)

    def _show_alarms(self) -> None:
        clinical = self.clinical
        if clinical is None:
            return
        # The tone first: the sound must not wait for the display (ALM-5).
        self.alarm_sound.update(clinical.audio_state())
        self.alarm_bar.show_alarms(
            clinical.active_alarms(), clinical.audio_paused, clinical.pause_remaining_s()
        )

    def _show_clinical_views(self) -> None:
        self._views_pending = False
        clinical = self.clinical
        if clinical is None:
            return
        self.nibp_panel.show_session(clinical)
        self.session_controls.refresh()
        band = clinical.band_for_display()
        if band != self._shown_band:
            self._shown_band = band
            self.trend.show_band(band)
        readings = clinical.readings()
        if len(readings) != self._shown_readings:
            self._shown_readings = len(readings)
            self.trend.show_classified(readings, self.session_started_at)
            self._show_nibp_tile()
        self._forward_offers()

    def _audio_failure(self, failed: bool, reason: str) -> None:
        """The alarm sound cannot play (or plays again): the bar says so and the alarm system knows."""
        self.alarm_bar.show_audio_failed(failed, reason)
        if self.clinical is not None:
            try:
                self.clinical.audio_failed(failed, reason)
            except Exception:  # the indicator above is shown whatever the engine does with it
                log.exception("telling the alarm system that the sound failed")

    def _show_vitals(self, kinds: set[VitalKind] | None = None) -> None:
        now = self.core.clock.monotonic()
        board = self.core.board
        if kinds is None or VitalKind.SPO2 in kinds:
            self.spo2_tile.show_numeric(board.numeric(VitalKind.SPO2, now))
        if kinds is None or kinds & {VitalKind.PULSE_RATE, VitalKind.HEART_RATE}:
            pulse = board.numeric(VitalKind.PULSE_RATE, now)
            hr = board.numeric(VitalKind.HEART_RATE, now)
            self.pulse_tile.show_numeric(pulse if pulse.source or not hr.source else hr)
        if kinds is None or any(k.is_nibp for k in kinds):
            self._show_nibp_tile()

    def _show_nibp_tile(self) -> None:
        shown = self.core.board.nibp(self.core.clock.monotonic())
        last = self.clinical.last_reading() if self.clinical is not None else None
        # The class belongs to the reading on the tile only (a newer failed cycle has none).
        if (
            last is not None
            and shown.systolic is not None
            and (last.reading.systolic, last.reading.diastolic) == (shown.systolic, shown.diastolic)
        ):
            self.nibp_tile.show_nibp(shown, last.reading_class, last.label)
        else:
            self.nibp_tile.show_nibp(shown)

    def _show_links(self) -> None:
        parts = []
        for h in self.core.health.values():
            colour = _LINK_COLOURS.get(h.state, "#9aa7b4")
            clock = ""
            if h.clock_offset_s is not None:
                # ALM-4: the device clock offset learned from the first minutes, shown beside the link.
                offset_colour = "#ffd400" if h.clock_implausible else "#7a8894"
                words = clock_offset_words(h.clock_offset_s)
                clock = f" <span style='color:{offset_colour}'>clock {words}</span>"
            parts.append(
                f"<span style='color:{colour}'>● {h.source}: {h.state.value}</span>"
                f" <span style='color:#7a8894'>frames {h.frames_ok} ok / {h.frames_rejected} rejected</span>"
                + clock
            )
        self.link_label.setText("&nbsp;&nbsp;&nbsp;".join(parts))

    def _tick(self) -> None:
        """The heartbeat: time-based checks, then what ages with time (ages, countdowns, trend)."""
        self.core.tick()
        if self.clinical is not None:
            self.clinical.tick()  # its change notification renders the pause countdown and the panel
        if self.desk is not None:
            self.protocol_panel.tick()
        self._show_vitals()
        self._show_links()
        board = self.core.board
        self.pleth.show_pleth(board.pleth, self.core.clock.monotonic())  # greys a stopped wave
        self.trend.refresh(board, board.session_seconds(self.core.clock.monotonic()))

    def refresh(self) -> None:
        """Render everything now from the core's and the session's state (screenshots, tests)."""
        self._show_vitals()
        self._show_links()
        board = self.core.board
        self.pleth.show_pleth(board.pleth, self.core.clock.monotonic())
        self.trend.refresh(board, board.session_seconds(self.core.clock.monotonic()))
        if self.clinical is not None:
            self._show_alarms()
            self._show_clinical_views()
