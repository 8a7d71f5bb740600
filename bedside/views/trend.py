"""Session trend plots: SpO2 and pulse as lines, NIBP as points (MON-5).

Gaps are gaps: the board puts a NaN wherever data is missing or invalid, and the curves are drawn
with ``connect="finite"``, so a line never joins across missing data (MON-5, MON-6).

What a frame costs is kept at or below plain pyqtgraph's (``tests/benchmarks/bench_trend_frame.py``):
curves are created once and ``setData`` is called only when their series changed; downsampling
and clip-to-view are set on the PlotItem (``addItem`` would overwrite a curve's own settings);
pens are 1 px cosmetic; there is no grid (a translucent one cost about 10 ms a frame, an opaque
one still more than the data); the time axis moves only when the newest point leaves the view,
not every heartbeat; NIBP markers are appended, never rebuilt; and the curves hold only the
samples around the view, so a frame at hour 24 costs what it costs at hour 1.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from alarms import ReadingClass
from bedside.monitor.vitals_board import VitalsBoard
from bedside.views.theme import (
    MUTED,
    NIBP_COLOUR,
    PULSE_COLOUR,
    SPO2_COLOUR,
    TREND_AXIS,
    class_look,
    palette,
)
from bedside.workflow.clinical import BandView, ClassifiedReading
from drivers.types import VitalKind

__all__ = ["NIBP_COLOUR", "PULSE_COLOUR", "SPO2_COLOUR", "TrendView"]


def _key_entry(reading_class: ReadingClass) -> str:
    """One class in the trend's key: its marker (large for alarming classes) and words, in its colour."""
    look = class_look(reading_class)
    marker = "&#9650;" if look.marker_size > 12 else "&#9652;"
    return f"<span style='color:{look.colour}'>{marker} {look.word}</span>"


def _plot(title: str, y_range: tuple[float, float]) -> pg.PlotWidget:
    widget = pg.PlotWidget(background=palette().plot_background)
    item = widget.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
    for name in ("left", "bottom"):
        # No grid: even an opaque one cost more than all the data in a frame (measured); the
        # thresholds and the baseline are drawn as lines of their own.
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(TREND_AXIS, width=1))
        axis.setTextPen(pg.mkPen(MUTED))
    item.setLabel("left", title)
    item.setYRange(*y_range, padding=0.02)
    item.setMouseEnabled(x=True, y=False)
    item.hideButtons()
    return widget


def _band_brush(alpha: int) -> Any:
    """The expected-rise band's fill: the theme's band colour, faint (never the alarm yellow)."""
    colour = QColor(palette().band)
    colour.setAlpha(alpha)
    return pg.mkBrush(colour)


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
            pen=pg.mkPen(SPO2_COLOUR, width=1, cosmetic=True), connect="finite"
        )
        self.pulse_curve = self.pulse_plot.getPlotItem().plot(
            pen=pg.mkPen(PULSE_COLOUR, width=1, cosmetic=True), connect="finite"
        )
        nibp_item = self.nibp_plot.getPlotItem()
        self.sys_points = nibp_item.plot(pen=None, symbol="t", symbolSize=12, symbolBrush=NIBP_COLOUR)
        self.dia_points = nibp_item.plot(pen=None, symbol="t1", symbolSize=12, symbolBrush=NIBP_COLOUR)
        self.mean_points = nibp_item.plot(pen=None, symbol="o", symbolSize=6, symbolBrush=palette().plot_mean)
        self.window_min = 30.0
        #: The shown time window's left edge (minutes); it moves only when data leaves the view.
        self._left_min: float | None = None
        self._drawn_versions: tuple[int, int, int] = (-1, -1, -1)
        self._board: VitalsBoard | None = None
        #: The time span (minutes) the curves were given: the view and a window's width each side.
        self._slice = (0.0, 0.0)
        self.spo2_plot.getPlotItem().getViewBox().sigXRangeChanged.connect(self._view_moved)
        self._drawn_nibp = 0
        self._classified_drawn = 0
        self._classified_start: datetime | None = None
        # Baseline, expected band and thresholds on the same axes as the readings (MON-5).
        band_pen = pg.mkPen(palette().band, width=1)  # never the medium-alarm yellow
        self.sys_band = pg.LinearRegionItem(
            orientation="horizontal", movable=False, brush=_band_brush(40), pen=band_pen
        )
        self.dia_band = pg.LinearRegionItem(
            orientation="horizontal", movable=False, brush=_band_brush(28), pen=band_pen
        )
        self.sys_baseline = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen(palette().plot_baseline, width=1, style=Qt.PenStyle.DashLine),
            label="baseline SBP {value:.0f}",
            labelOpts={"position": 0.12},
        )
        self.dia_baseline = pg.InfiniteLine(
            angle=0,
            pen=pg.mkPen(palette().plot_baseline, width=1, style=Qt.PenStyle.DashLine),
            label="baseline DBP {value:.0f}",
            labelOpts={"position": 0.12},
        )
        threshold_pen = pg.mkPen(palette().plot_threshold, width=2, style=Qt.PenStyle.DashLine)
        self.sys_ceiling = pg.InfiniteLine(
            angle=0,
            pen=threshold_pen,
            label="SBP limit {value:.0f}",
            labelOpts={"position": 0.97, "color": palette().plot_threshold_text},
        )
        self.dia_ceiling = pg.InfiniteLine(
            angle=0,
            pen=threshold_pen,
            label="DBP limit {value:.0f}",
            labelOpts={"position": 0.97, "color": palette().plot_threshold_text},
        )
        self.spo2_floor = pg.InfiniteLine(
            angle=0,
            pen=threshold_pen,
            label="SpO2 floor {value:.0f}",
            labelOpts={"position": 0.97, "color": palette().plot_threshold_text},
        )
        self._band_items = (
            self.sys_band,
            self.dia_band,
            self.sys_baseline,
            self.dia_baseline,
            self.sys_ceiling,
            self.dia_ceiling,
        )
        for item in self._band_items:
            item.setVisible(False)
            nibp_item.addItem(item)
        self.spo2_floor.setVisible(False)
        self.spo2_plot.getPlotItem().addItem(self.spo2_floor)
        self._classified = False
        self.classified_points = pg.ScatterPlotItem(pen=pg.mkPen(palette().plot_marker_outline))
        nibp_item.addItem(self.classified_points)
        # The newest reading's class in words, and a key to the marker colours shown, pinned to
        # the plot's bottom-left corner (pixels, not data; below 50 mmHg is rarely drawn on):
        # colour is never the only cue.
        self.last_reading_text = pg.TextItem("", anchor=(0.0, 1.0))
        view_box = nibp_item.getViewBox()
        self.last_reading_text.setParentItem(view_box)
        view_box.sigResized.connect(lambda vb: self.last_reading_text.setPos(6, vb.height() - 2))
        self.last_reading_text.setVisible(False)

    def refresh(self, board: VitalsBoard, now_s: float) -> None:
        """Draw what changed on the board; the time axis moves only when ``now_s`` leaves the view."""
        self._board = board
        self.follow(now_s / 60.0)
        if self._versions(board) != self._drawn_versions:
            self._draw_curves(board)
        if len(board.nibp_points) != self._drawn_nibp and not self._classified:
            self._drawn_nibp = len(board.nibp_points)
            pts = np.asarray(
                [
                    (t, np.nan if s is None else s, np.nan if d is None else d, np.nan if m is None else m)
                    for t, s, d, m in board.nibp_points
                ],
                dtype=np.float64,
            ).reshape(-1, 4)
            x = pts[:, 0] / 60.0
            self.sys_points.setData(x, pts[:, 1])
            self.dia_points.setData(x, pts[:, 2])
            self.mean_points.setData(x, pts[:, 3])
        self.follow(now_s / 60.0)

    @staticmethod
    def _versions(board: VitalsBoard) -> tuple[int, int, int]:
        trends = board.trends
        return (
            trends[VitalKind.SPO2].version,
            trends[VitalKind.PULSE_RATE].version,
            trends[VitalKind.HEART_RATE].version,
        )

    def _draw_curves(self, board: VitalsBoard) -> None:
        """Give each curve the samples around the view, not the whole session: a frame then costs
        the same at hour 24 as at hour 1 (pyqtgraph would scan and downsample every array it
        holds). Panning or zooming past that span re-slices (``_view_moved``)."""
        left, right = self.spo2_plot.getPlotItem().getViewBox().viewRange()[0]
        width = max(right - left, 1.0)
        self._slice = (left - width, right + width)
        spo2 = board.trends[VitalKind.SPO2]
        pulse = board.trends[VitalKind.PULSE_RATE]
        if len(pulse) == 0 and len(board.trends[VitalKind.HEART_RATE]):
            pulse = board.trends[VitalKind.HEART_RATE]
        for curve, series in ((self.spo2_curve, spo2), (self.pulse_curve, pulse)):
            t = series.t
            # One sample beyond each end, so a line runs to the edge of what is shown.
            first = max(0, int(np.searchsorted(t, self._slice[0] * 60.0, "left")) - 1)
            last = min(len(t), int(np.searchsorted(t, self._slice[1] * 60.0, "right")) + 1)
            curve.setData(t[first:last] / 60.0, series.v[first:last])
        self._drawn_versions = self._versions(board)

    def _view_moved(self, *_args: object) -> None:
        """The view moved (followed the data, or a clinician panned or zoomed): re-slice only
        when it left the span the curves hold."""
        if self._board is None:
            return
        left, right = self.spo2_plot.getPlotItem().getViewBox().viewRange()[0]
        if left < self._slice[0] or right > self._slice[1]:
            self._draw_curves(self._board)

    def follow(self, now_min: float) -> None:
        """Keep ``now_min`` in view: the window jumps by a quarter of its width when the newest
        data reaches its right edge, so the axes are not re-laid out and repainted every tick."""
        left = self._left_min
        if left is not None and left <= now_min <= left + self.window_min:
            return
        left = max(0.0, now_min - 0.75 * self.window_min)
        self._left_min = left
        self.spo2_plot.setXRange(left, left + self.window_min, padding=0.0)

    def show_band(self, band: BandView | None) -> None:
        """Draw the patient's baseline, expected-rise band and thresholds (or hide them)."""
        for item in (*self._band_items, self.spo2_floor):
            item.setVisible(band is not None)
        if band is None:
            return
        self.sys_band.setRegion(band.systolic_band)
        self.dia_band.setRegion(band.diastolic_band)
        self.sys_baseline.setValue(band.baseline_systolic)
        self.dia_baseline.setValue(band.baseline_diastolic)
        t = band.thresholds
        for line, value in (
            (self.sys_ceiling, t.systolic_ceiling if t else None),
            (self.dia_ceiling, t.diastolic_ceiling if t else None),
            (self.spo2_floor, t.spo2_floor if t else None),
        ):
            line.setVisible(value is not None)
            if value is not None:
                line.setValue(value)

    def show_classified(self, readings: tuple[ClassifiedReading, ...], session_start: datetime) -> None:
        """NIBP markers coloured and sized by the engine's class of each reading (past ceiling,
        above expected, expected rise, at baseline, fall, below floor ...), the newest labelled."""
        judged = [r for r in readings if r.reading.systolic is not None and r.reading.diastolic is not None]
        if not judged:
            return
        if not self._classified:
            self._classified = True
            for item in (self.sys_points, self.dia_points):
                item.setData([], [])
        # A ScatterPlotItem, not a curve: per-point brushes must survive the plot's clip-to-view.
        # Readings only ever grow and a reading's class is fixed when it is judged, so only the
        # new ones are added; a shorter list or another session start is drawn afresh.
        if self._classified_start != session_start or len(judged) < self._classified_drawn:
            self.classified_points.clear()
            self._classified_drawn = 0
            self._classified_start = session_start
        spots = []
        for r in judged[self._classified_drawn :]:
            x = (r.reading.measured_at - session_start).total_seconds() / 60.0
            look = class_look(r.reading_class)
            brush = pg.mkBrush(look.colour)
            for y, symbol in ((r.reading.systolic, "t"), (r.reading.diastolic, "t1")):
                spots.append({"pos": (x, y), "brush": brush, "symbol": symbol, "size": look.marker_size})
        if spots:
            self.classified_points.addPoints(spots)
        self._classified_drawn = len(judged)
        newest = judged[-1]
        look = class_look(newest.reading_class)
        caption = (
            f"Last NIBP {newest.reading.systolic:g}/{newest.reading.diastolic:g}: {newest.label or look.word}"
        )
        key = "&nbsp;&nbsp;&nbsp;".join(_key_entry(c) for c in dict.fromkeys(r.reading_class for r in judged))
        self.last_reading_text.setHtml(
            f"<div style='font-size:11pt'><b style='color:{look.colour}'>{caption}</b><br>{key}</div>"
        )
        self.last_reading_text.setVisible(True)
        if spots:
            x_mean = np.asarray(
                [(r.reading.measured_at - session_start).total_seconds() / 60.0 for r in judged]
            )
            self.mean_points.setData(
                x_mean, [np.nan if r.reading.mean is None else r.reading.mean for r in judged]
            )
