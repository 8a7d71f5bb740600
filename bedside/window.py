"""The monitor window: numerics, trends, link status. It subscribes and renders; it decides nothing."""

from __future__ import annotations

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMainWindow, QVBoxLayout, QWidget

from bedside.core import MonitorCore
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
        self.resize(1480, 900)
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
        column = QVBoxLayout()
        body.addLayout(column, 1)
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

        self._pump_timer = QTimer(self)
        self._pump_timer.timeout.connect(self._pump)
        self._refresh_timer = QTimer(self)
        self._refresh_timer.timeout.connect(self.refresh)
        self._tick_timer = QTimer(self)
        self._tick_timer.timeout.connect(self.core.tick)

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
