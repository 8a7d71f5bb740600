"""The monitor window: numerics, trends, link status. It subscribes and renders; it decides nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from bedside.alarm_bar import AlarmBar
from bedside.alarm_sound import AlarmSound
from bedside.clinical import ClinicalSession
from bedside.core import MonitorCore
from bedside.nibp_panel import NibpPanel
from bedside.protocol_desk import ProtocolDesk
from bedside.protocol_panel import ProtocolPanel
from bedside.session_controls import SessionControls
from bedside.trend import NIBP_COLOUR, PULSE_COLOUR, SPO2_COLOUR, TrendView
from bedside.widgets import NumericTile, SimulationBanner
from drivers.types import DeviceEventKind, VitalKind

_LINK_COLOURS = {
    DeviceEventKind.CONNECTED: "#3ddc84",
    DeviceEventKind.RESUMED: "#3ddc84",
    DeviceEventKind.SILENT: "#ffd400",
    DeviceEventKind.DISCONNECTED: "#ff5c5c",
}


class MonitorWindow(QMainWindow):
    """Large SpO2 / pulse / NIBP numerics beside the session trend."""

    PUMP_MS = 100  # apply incoming data at 10 Hz: MON-1 asks for updates at least every 2 s
    REFRESH_MS = 500
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
        for tile in (self.spo2_tile, self.pulse_tile, self.nibp_tile):
            column.addWidget(tile)
        self.side_slot = QVBoxLayout()  # NIBP countdown, protocol panel
        column.addLayout(self.side_slot)
        column.addStretch(1)
        self.link_label = QLabel("")
        self.link_label.setStyleSheet("font-size: 14px; padding: 2px;")
        self.statusBar().addPermanentWidget(self.link_label, 1)
        self.statusBar().setStyleSheet("background: #11161c; color: #d8dee9;")

        self.clinical: ClinicalSession | None = None
        self.desk: ProtocolDesk | None = None
        self._offers_forwarded = 0
        self._pump_timer = QTimer(self)
        self._pump_timer.timeout.connect(self._pump)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.timeout.connect(self.refresh)
        self._tick_timer = QTimer(self)
        self._tick_timer.timeout.connect(self.core.tick)

    def attach_clinical(self, clinical: ClinicalSession, session_started_at: datetime) -> None:
        """Show the clinical engine: alarm bar on top, NIBP cycling and session steps at the side."""
        self.clinical = clinical
        self.session_started_at = session_started_at
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
        self.core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
        self.alarm_sound = AlarmSound()
        if not self.alarm_sound.available:
            self.statusBar().showMessage("ALARM SOUND UNAVAILABLE (Qt Multimedia / libpulse0 missing)")
        self._tick_timer.timeout.connect(clinical.tick)

    def attach_protocols(self, desk: ProtocolDesk) -> None:
        """The protocol panel beside the monitor; alarms' offers reach the desk on every refresh."""
        self.desk = desk
        self.protocol_panel = ProtocolPanel(desk, clinician=self.session_controls.who)
        self.protocol_slot.addWidget(self.protocol_panel)
        self.protocol_column.show()
        self.core.subscribe(on_observation=desk.on_observation)

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
        self.refresh()

    def start_timers(self) -> None:
        self._pump_timer.start(self.PUMP_MS)
        self._refresh_timer.start(self.REFRESH_MS)
        self._tick_timer.start(self.TICK_MS)

    def stop_timers(self) -> None:
        for t in (self._pump_timer, self._refresh_timer, self._tick_timer):
            t.stop()

    def _pump(self) -> None:
        self.core.pump()

    def refresh(self) -> None:
        """Re-render numerics, trend and link status from the core's state."""
        now = self.core.clock.monotonic()
        board = self.core.board
        self.spo2_tile.show_numeric(board.numeric(VitalKind.SPO2, now))
        pulse = board.numeric(VitalKind.PULSE_RATE, now)
        hr = board.numeric(VitalKind.HEART_RATE, now)
        self.pulse_tile.show_numeric(pulse if pulse.source or not hr.source else hr)
        self.nibp_tile.show_nibp(board.nibp(now))
        self.trend.refresh(board, board.session_seconds(now))
        parts = []
        for h in self.core.health.values():
            colour = _LINK_COLOURS.get(h.state, "#9aa7b4")
            parts.append(
                f"<span style='color:{colour}'>● {h.source}: {h.state.value}</span>"
                f" <span style='color:#7a8894'>frames {h.frames_ok} ok / {h.frames_rejected} rejected</span>"
            )
        self.link_label.setText("&nbsp;&nbsp;&nbsp;".join(parts))
        if self.clinical is not None:
            self.alarm_bar.show_session(self.clinical)
            self.alarm_sound.update(self.clinical.audio_state())
            self.nibp_panel.show_session(self.clinical)
            self.session_controls.refresh()
            self.trend.show_band(self.clinical.band_for_display())
            self._forward_offers()
            self.trend.show_classified(self.clinical.readings(), self.session_started_at)
