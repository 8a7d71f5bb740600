"""Session trend plots: SpO2 and pulse as lines, NIBP as points (MON-5).

Curves are created once and only ``setData`` is called; downsampling and clip-to-view are set on
the PlotItem (``addItem`` would overwrite a curve's own settings), so a full day redraws in ms.
"""

from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PySide6.QtWidgets import QVBoxLayout, QWidget

from bedside.vitals_board import VitalsBoard
from drivers.types import VitalKind

SPO2_COLOUR = "#00e5ff"
PULSE_COLOUR = "#3ddc84"
NIBP_COLOUR = "#ff5c5c"


def _plot(title: str, y_range: tuple[float, float]) -> pg.PlotWidget:
    widget = pg.PlotWidget(background="#05080b")
    item = widget.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    item.showGrid(x=True, y=True, alpha=0.15)
    item.setLabel("left", title)
    item.setYRange(*y_range, padding=0.02)
    item.setMouseEnabled(x=True, y=False)
    item.hideButtons()
    return widget


class TrendView(QWidget):
    """Three stacked plots sharing one time axis (minutes since the session started)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.spo2_plot = _plot("SpO2 %", (80, 100))
        self.pulse_plot = _plot("Pulse /min", (40, 140))
        self.nibp_plot = _plot("NIBP mmHg", (40, 200))
        self.nibp_plot.getPlotItem().setLabel("bottom", "minutes since session start")
        for p in (self.pulse_plot, self.nibp_plot):
            p.setXLink(self.spo2_plot)
        for p in (self.spo2_plot, self.pulse_plot, self.nibp_plot):
            layout.addWidget(p, 1)
        self.spo2_curve = self.spo2_plot.getPlotItem().plot(
            pen=pg.mkPen(SPO2_COLOUR, width=2), connect="finite"
        )
        self.pulse_curve = self.pulse_plot.getPlotItem().plot(
            pen=pg.mkPen(PULSE_COLOUR, width=2), connect="finite"
        )
        nibp_item = self.nibp_plot.getPlotItem()
        self.sys_points = nibp_item.plot(pen=None, symbol="t", symbolSize=12, symbolBrush=NIBP_COLOUR)
        self.dia_points = nibp_item.plot(pen=None, symbol="t1", symbolSize=12, symbolBrush=NIBP_COLOUR)
        self.mean_points = nibp_item.plot(pen=None, symbol="o", symbolSize=6, symbolBrush="#ffb0b0")
        self.window_min = 30.0

    def refresh(self, board: VitalsBoard, now_s: float) -> None:
        """Redraw from the board; the visible window follows the newest data."""
        spo2 = board.trends[VitalKind.SPO2]
        pulse = board.trends[VitalKind.PULSE_RATE]
        if len(pulse) == 0 and len(board.trends[VitalKind.HEART_RATE]):
            pulse = board.trends[VitalKind.HEART_RATE]
        self.spo2_curve.setData(spo2.t / 60.0, spo2.v)
        self.pulse_curve.setData(pulse.t / 60.0, pulse.v)
        if board.nibp_points:
            pts = np.asarray(
                [
                    (t, np.nan if s is None else s, np.nan if d is None else d, np.nan if m is None else m)
                    for t, s, d, m in board.nibp_points
                ],
                dtype=np.float64,
            )
            x = pts[:, 0] / 60.0
            self.sys_points.setData(x, pts[:, 1])
            self.dia_points.setData(x, pts[:, 2])
            self.mean_points.setData(x, pts[:, 3])
        now_min = now_s / 60.0
        left = max(0.0, now_min - self.window_min)
        self.spo2_plot.setXRange(left, max(now_min, left + 1.0), padding=0.01)
