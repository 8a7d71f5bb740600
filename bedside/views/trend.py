"""Session trend plots: SpO2 and pulse as lines, one per source, NIBP as points (MON-5, MON-6).

Gaps are gaps: the board puts a NaN wherever data is missing or invalid, and the curves are drawn
with ``connect="finite"``, so a line never joins across missing data (MON-5, MON-6).

Every source is its own line (issue 10: three oximeters were drawn as one zig-zag): each has its
colour, its dash and its marker (``theme.SOURCE_LINES``: colour is never the only cue), and the
legend names it. Heart rate (ECG) and pulse rate (oximeter) are separate lines (MON-7).

Every colour comes from the theme's palette in use (``recolour`` applies another one).

What a frame costs is kept at or below plain pyqtgraph's (``tests/benchmarks/bench_trend_frame.py``):
curves are created once and ``setData`` is called only for a line whose series changed; downsampling
and clip-to-view are set on the PlotItem (``addItem`` would overwrite a curve's own settings);
pens are 1 px cosmetic; there is no grid (a translucent one cost about 10 ms a frame, an opaque
one still more than the data); the time axis moves only when the newest point leaves the view,
not every heartbeat; NIBP markers are appended, never rebuilt; the curves hold only the samples
around the view, so a frame at hour 24 costs what it costs at hour 1; a source's markers are
re-placed only when a new one is due (every ``MARK_EVERY_S``); a legend is set when a source appears.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QGraphicsTextItem, QVBoxLayout, QWidget

from alarms import ReadingClass
from bedside.monitor.vitals_board import UNNAMED_SOURCE, TrendSeries, VitalsBoard
from bedside.views.theme import (
    HISTORY_LINE,
    NIBP_COLOUR,
    PULSE_COLOUR,
    SPO2_COLOUR,
    Palette,
    SourceLine,
    class_look,
    line_colour,
    palette,
    source_line,
)
from bedside.workflow.clinical import BandView, ClassifiedReading
from drivers.types import VitalKind

__all__ = ["MARK_EVERY_S", "NIBP_COLOUR", "PULSE_COLOUR", "SPO2_COLOUR", "TrendLine", "TrendView"]

#: A source's marker is set on its line this often (seconds of data): a few per window, enough
#: to tell the lines apart where they cross, too few to cost a frame anything.
MARK_EVERY_S = 120.0

_DASH = {
    "solid": Qt.PenStyle.SolidLine,
    "dash": Qt.PenStyle.DashLine,
    "dot": Qt.PenStyle.DotLine,
    "dashdot": Qt.PenStyle.DashDotLine,
}
#: The kinds each continuous plot draws: heart rate (ECG) beside pulse rate, never in its place.
_SPO2_KINDS = (VitalKind.SPO2,)
_PULSE_KINDS = (VitalKind.PULSE_RATE, VitalKind.HEART_RATE)
_KIND_WORD = {VitalKind.PULSE_RATE: "PR", VitalKind.HEART_RATE: "HR"}


def _key_entry(reading_class: ReadingClass) -> str:
    """One class in the trend's key: its marker (large for alarming classes) and words, in its colour."""
    look = class_look(reading_class)
    marker = "&#9650;" if look.marker_size > 12 else "&#9652;"
    return f"<span style='color:{look.colour}'>{marker} {look.word}</span>"


def _plot(title: str, y_range: tuple[float, float]) -> pg.PlotWidget:
    widget = pg.PlotWidget()
    item = widget.getPlotItem()
    item.setDownsampling(auto=True, mode="peak")
    item.setClipToView(True)
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


def _line_pen(colour: str, look: SourceLine) -> Any:
    return pg.mkPen(colour, width=1, cosmetic=True, style=_DASH.get(look.dash, Qt.PenStyle.SolidLine))


class PlotCaption(pg.GraphicsWidget):  # type: ignore[misc]
    """Rich text in a plot's title row, above its data, wrapped to the plot's width, the row as
    tall as the text (none while empty). pyqtgraph's own title label takes its text's width as
    its minimum, which widened the plot past its widget at 1366x768; this one never does."""

    def __init__(self, plot_item: pg.PlotItem) -> None:
        super().__init__()
        self._plot_item = plot_item
        self.text = QGraphicsTextItem(self)
        self._html = ""
        self._height = -1
        plot_item.layout.removeItem(plot_item.titleLabel)
        plot_item.titleLabel.setVisible(False)
        plot_item.layout.addItem(self, 0, 1)
        self.setMinimumWidth(0)
        self._fit()

    def set_html(self, html_text: str) -> None:
        """Show ``html_text`` ("" hides the caption and gives its row back to the data)."""
        if html_text != self._html:
            self._html = html_text
            self.text.setHtml(html_text)
            self._fit()

    def resizeEvent(self, event: object) -> None:
        """Wrap to the new width (the row's height follows)."""
        self._fit()

    def _fit(self) -> None:
        # Before the first layout the caption has no width: wrapping it to nothing would make
        # the row (and the plot's minimum) many lines tall, past the plot's widget.
        width = self.width() if self.width() > 40 else max(200.0, self._plot_item.width() - 60.0)
        self.text.setTextWidth(width)
        height = math.ceil(self.text.boundingRect().height()) if self._html else 0
        self.setVisible(bool(self._html))
        if height != self._height:
            self._height = height
            self.setMinimumHeight(height)
            self.setMaximumHeight(height)
            self._plot_item.layout.setRowFixedHeight(0, height)
            # The plot is sized to its widget only when the widget resizes, and never below its
            # minimum: once the caption is shorter, fit the plot to its widget again.
            view = self._plot_item.getViewWidget()
            if view is not None and view.centralWidget is self._plot_item:
                self._plot_item.setGeometry(view.range)


@dataclass(eq=False)
class TrendLine:
    """One source's curve on one plot: the curve, its markers, and what was last drawn of it."""

    kind: VitalKind
    source: str
    series: TrendSeries
    #: The source's place among its plot's sources (its colour, dash and marker); -1 for the
    #: curve without a source (a resumed history), drawn in the history look.
    index: int
    curve: pg.PlotDataItem
    #: The source's marker every ``MARK_EVERY_S``, or None for a plain line (the first source).
    marks: pg.PlotDataItem | None
    #: The line's name in the legend (the source, and "PR" or "HR" on the pulse plot).
    name: str
    drawn_version: int = -1
    marks_span: tuple[int, int] = (0, -1)

    @property
    def look(self) -> SourceLine:
        """The line's dash and marker."""
        return HISTORY_LINE if self.index < 0 else source_line(self.index)

    def colour(self, p: Palette) -> str:
        """The line's colour in palette ``p``."""
        if self.index < 0:
            return p.plot_history
        return line_colour(p.spo2_lines if self.kind is VitalKind.SPO2 else p.pulse_lines, self.index)


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
        for p in (self.spo2_plot, self.pulse_plot):
            layout.addWidget(p, 10)
        # The NIBP plot carries its key above it: a little more height keeps its data as tall.
        layout.addWidget(self.nibp_plot, 12)
        # The first curve of each plot exists from the start (the first source takes it).
        self.spo2_curve = self.spo2_plot.getPlotItem().plot(connect="finite")
        self.pulse_curve = self.pulse_plot.getPlotItem().plot(connect="finite")
        self._spare_curve: dict[int, pg.PlotDataItem] = {
            id(self.spo2_plot): self.spo2_curve,
            id(self.pulse_plot): self.pulse_curve,
        }
        #: Every source's line, in the order they appeared, per plot.
        self.lines: list[TrendLine] = []
        self._lines_of: dict[tuple[VitalKind, str], TrendLine] = {}
        self._sources_seen = -1
        #: Each plot's legend (SpO2, pulse): every source's line and marker in its colour, with
        #: its name, in the plot's title row, above the data (it never covers the newest values,
        #: which sit at the top of the SpO2 plot). Shown once a plot has two lines.
        self.legends = {
            id(plot): PlotCaption(plot.getPlotItem()) for plot in (self.spo2_plot, self.pulse_plot)
        }
        nibp_item = self.nibp_plot.getPlotItem()
        self.sys_points = nibp_item.plot(pen=None, symbol="t", symbolSize=12)
        self.dia_points = nibp_item.plot(pen=None, symbol="t1", symbolSize=12)
        self.mean_points = nibp_item.plot(pen=None, symbol="o", symbolSize=6)
        self.window_min = 30.0
        #: The shown time window's left edge (minutes); it moves only when data leaves the view.
        self._left_min: float | None = None
        self._board: VitalsBoard | None = None
        #: The time span (minutes) the curves were given: the view and a window's width each side.
        self._slice = (0.0, 0.0)
        self.spo2_plot.getPlotItem().getViewBox().sigXRangeChanged.connect(self._view_moved)
        self._drawn_nibp = 0
        self._classified_drawn = 0
        self._classified_start: datetime | None = None
        self._readings: tuple[ClassifiedReading, ...] = ()
        # Baseline, expected band and thresholds on the same axes as the readings (MON-5). Their
        # words sit inside the plot, baselines at the left and limits at the right, each pair set
        # apart (``_place_band_labels``); the NIBP key is above the plot, so none meets it.
        self.sys_band = pg.LinearRegionItem(orientation="horizontal", movable=False)
        self.dia_band = pg.LinearRegionItem(orientation="horizontal", movable=False)
        left = {"position": 0.01, "anchors": [(0.0, 1.0), (0.0, 1.0)]}
        right = {"position": 0.99, "anchors": [(1.0, 1.0), (1.0, 1.0)]}
        self.sys_baseline = pg.InfiniteLine(angle=0, label="baseline SBP {value:.0f}", labelOpts=dict(left))
        self.dia_baseline = pg.InfiniteLine(angle=0, label="baseline DBP {value:.0f}", labelOpts=dict(left))
        self.sys_ceiling = pg.InfiniteLine(angle=0, label="SBP limit {value:.0f}", labelOpts=dict(right))
        self.dia_ceiling = pg.InfiniteLine(angle=0, label="DBP limit {value:.0f}", labelOpts=dict(right))
        self.spo2_floor = pg.InfiniteLine(
            angle=0,
            label="SpO2 floor {value:.0f}",
            labelOpts={"position": 0.99, "anchors": [(1.0, 0.0), (1.0, 1.0)]},
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
        self.classified_points = pg.ScatterPlotItem()
        nibp_item.addItem(self.classified_points)
        # The newest reading's class in words and a key to the marker colours shown, in the
        # plot's title row: above the data, so no band or limit label can cover it (issue 10:
        # at 1366x768 the baseline labels ran over the key). Colour is never the only cue.
        nibp_item.getViewBox().sigResized.connect(lambda _vb: self._place_band_labels())
        nibp_item.getViewBox().sigYRangeChanged.connect(lambda *_a: self._place_band_labels())
        self.nibp_key = PlotCaption(nibp_item)
        #: The key's text (its words: "Last NIBP 186/108: past ceiling ...", then the key).
        self.last_reading_text = self.nibp_key.text
        self.recolour()

    # -- colours ---------------------------------------------------------------------------------

    def recolour(self) -> None:
        """Take every colour from the palette in use (``theme.use_theme``): background, axes,
        lines, band, limits, markers, legend and key. Switching theme re-colours the trend."""
        p = palette()
        for plot in (self.spo2_plot, self.pulse_plot, self.nibp_plot):
            plot.setBackground(p.plot_background)
            item = plot.getPlotItem()
            for name in ("left", "bottom"):
                # No grid: even an opaque one cost more than all the data in a frame (measured);
                # the thresholds and the baseline are drawn as lines of their own.
                axis = item.getAxis(name)
                axis.setPen(pg.mkPen(p.plot_axis, width=1))
                axis.setTextPen(pg.mkPen(p.plot_axis_text))
                axis.label.setDefaultTextColor(QColor(p.plot_axis_text))
        for line in self.lines:
            self._colour_line(line, p)
        self._show_legends()
        nibp = p.nibp
        self.sys_points.setSymbolBrush(nibp)
        self.dia_points.setSymbolBrush(nibp)
        self.sys_points.setSymbolPen(pg.mkPen(p.plot_marker_outline))
        self.dia_points.setSymbolPen(pg.mkPen(p.plot_marker_outline))
        self.mean_points.setSymbolBrush(p.plot_mean)
        self.mean_points.setSymbolPen(pg.mkPen(p.plot_mean))
        band_pen = pg.mkPen(p.band, width=1)  # never the medium-alarm yellow
        for region, alpha in ((self.sys_band, 40), (self.dia_band, 28)):
            region.setBrush(_band_brush(alpha))
            for edge in region.lines:
                edge.setPen(band_pen)
        baseline_pen = pg.mkPen(p.plot_baseline, width=1, style=Qt.PenStyle.DashLine)
        for line in (self.sys_baseline, self.dia_baseline):
            line.setPen(baseline_pen)
            line.label.setColor(p.plot_baseline)
        threshold_pen = pg.mkPen(p.plot_threshold, width=2, style=Qt.PenStyle.DashLine)
        for line in (self.sys_ceiling, self.dia_ceiling, self.spo2_floor):
            line.setPen(threshold_pen)
            line.label.setColor(p.plot_threshold_text)
        self.classified_points.setPen(pg.mkPen(p.plot_marker_outline))
        if self._readings:
            # Each marker's brush is its class's colour in the palette: redraw them all.
            readings, start = self._readings, self._classified_start
            self._classified_start = None
            if start is not None:
                self.show_classified(readings, start)

    def _colour_line(self, line: TrendLine, p: Palette) -> None:
        colour, look = line.colour(p), line.look
        line.curve.setPen(_line_pen(colour, look))
        if line.marks is not None:
            line.marks.setSymbolBrush(colour)
            line.marks.setSymbolPen(pg.mkPen(colour))

    def pens(self) -> list[QColor]:
        """The colour of every pen and marker the trend draws now (the contrast check walks it)."""
        p = palette()
        colours: list[QColor] = []
        for plot in (self.spo2_plot, self.pulse_plot, self.nibp_plot):
            item = plot.getPlotItem()
            for name in ("left", "bottom"):
                axis = item.getAxis(name)
                colours += [axis.pen().color(), axis.textPen().color()]
        for line in self.lines:
            colours.append(line.curve.opts["pen"].color())
            if line.marks is not None:
                colours.append(pg.mkBrush(line.marks.opts["symbolBrush"]).color())
        colours.append(QColor(p.plot_text))  # the legends' and the key's words
        for points in (self.sys_points, self.dia_points, self.mean_points):
            colours.append(pg.mkBrush(points.opts["symbolBrush"]).color())
            colours.append(pg.mkPen(points.opts["symbolPen"]).color())
        for region in (self.sys_band, self.dia_band):
            colours += [edge.pen.color() for edge in region.lines]
        for inf in (
            self.sys_baseline,
            self.dia_baseline,
            self.sys_ceiling,
            self.dia_ceiling,
            self.spo2_floor,
        ):
            colours += [inf.pen.color(), inf.label.color]
        colours.append(self.classified_points.opts["pen"].color())
        colours += [spot.brush().color() for spot in self.classified_points.points()]
        return colours

    # -- data --------------------------------------------------------------------------------

    def refresh(self, board: VitalsBoard, now_s: float) -> None:
        """Draw what changed on the board; the time axis moves only when ``now_s`` leaves the view."""
        self._board = board
        self.follow(now_s / 60.0)
        if board.sources_version != self._sources_seen:
            self.add_new_lines(board)
        changed = [line for line in self.lines if line.series.version != line.drawn_version]
        if changed:
            self._draw_lines(changed)
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

    def add_new_lines(self, board: VitalsBoard) -> None:
        """A source appeared: give it a line of its own, its look and its legend entry (only
        when ``board.sources_version`` moved: the window calls it first to key its tiles)."""
        if board.sources_version == self._sources_seen:
            return
        self._sources_seen = board.sources_version
        for plot, kinds in ((self.spo2_plot, _SPO2_KINDS), (self.pulse_plot, _PULSE_KINDS)):
            for kind in kinds:
                for source, series in board.lines[kind].items():
                    if (kind, source) in self._lines_of or len(series) == 0:
                        continue  # an empty unnamed curve waits to be taken by the first source
                    self._new_line(plot, kind, source, series, name=self._legend_name(kind, source, board))

    def _new_line(
        self,
        plot: pg.PlotWidget,
        kind: VitalKind,
        source: str,
        series: TrendSeries,
        *,
        name: str,
    ) -> None:
        item = plot.getPlotItem()
        named = [ln for ln in self.lines if ln.index >= 0 and self._plot_of(ln) is plot]
        index = -1 if source == UNNAMED_SOURCE else len(named)
        curve = self._spare_curve.pop(id(plot), None) or item.plot(connect="finite")
        look = HISTORY_LINE if index < 0 else source_line(index)
        marks = None
        if look.symbol:
            marks = item.plot(pen=None, symbol=look.symbol, symbolSize=9)
        line = TrendLine(kind, source, series, index, curve, marks, name)
        self._colour_line(line, palette())
        self.lines.append(line)
        self._lines_of[(kind, source)] = line
        self._show_legends()

    def _show_legends(self) -> None:
        """Each plot's legend: its lines' keys ("━━━", "╍╍■" ...) in their colours and names."""
        p = palette()
        for plot in (self.spo2_plot, self.pulse_plot):
            lines = [ln for ln in self.lines if self._plot_of(ln) is plot]
            if len(lines) < 2:
                continue  # one line: the tile beside it names its source
            entries = [
                f"<span style='color:{ln.colour(p)}'>{ln.look.key}</span>&nbsp;{html.escape(ln.name)}"
                for ln in lines
            ]
            words = "&nbsp;&nbsp;&nbsp; ".join(entries)
            self.legends[id(plot)].set_html(f"<div style='font-size:9pt; color:{p.plot_text}'>{words}</div>")

    def _plot_of(self, line: TrendLine) -> pg.PlotWidget:
        return self.spo2_plot if line.kind is VitalKind.SPO2 else self.pulse_plot

    @staticmethod
    def _legend_name(kind: VitalKind, source: str, board: VitalsBoard) -> str:
        name = source or ("before restart" if board.restarted else "source not known")
        word = _KIND_WORD.get(kind)
        return f"{word} {name}" if word else name

    def line_of(self, kind: VitalKind, source: str) -> TrendLine | None:
        """The line drawing ``source``'s ``kind`` (None until it has data)."""
        return self._lines_of.get((kind, source))

    def _draw_lines(self, lines: Sequence[TrendLine]) -> None:
        """Give each curve the samples around the view, not the whole session: a frame then costs
        the same at hour 24 as at hour 1 (pyqtgraph would scan and downsample every array it
        holds). Panning or zooming past that span re-slices (``_view_moved``)."""
        left, right = self.spo2_plot.getPlotItem().getViewBox().viewRange()[0]
        width = max(right - left, 1.0)
        self._slice = (left - width, right + width)
        for line in lines:
            series = line.series
            t = series.t
            # One sample beyond each end, so a line runs to the edge of what is shown.
            first = max(0, int(np.searchsorted(t, self._slice[0] * 60.0, "left")) - 1)
            last = min(len(t), int(np.searchsorted(t, self._slice[1] * 60.0, "right")) + 1)
            shown_t, shown_v = t[first:last], series.v[first:last]
            line.curve.setData(shown_t / 60.0, shown_v)
            if line.marks is not None:
                self._draw_marks(line, shown_t, shown_v)
            line.drawn_version = series.version

    @staticmethod
    def _draw_marks(line: TrendLine, t: npt.NDArray[np.float64], v: npt.NDArray[np.float64]) -> None:
        """The source's marker on its line every ``MARK_EVERY_S`` (staggered between sources so
        they do not sit on one another); set again only when one is due or the span moved."""
        offset = (line.index % 4) * MARK_EVERY_S / 4.0
        if t.size == 0:
            span = (0, -1)
        else:
            span = (math.ceil((t[0] - offset) / MARK_EVERY_S), math.floor((t[-1] - offset) / MARK_EVERY_S))
        if span == line.marks_span or line.marks is None:
            return
        line.marks_span = span
        grid = offset + MARK_EVERY_S * np.arange(span[0], span[1] + 1, dtype=np.float64)
        if grid.size == 0:
            line.marks.setData([], [])
            return
        at = np.clip(np.searchsorted(t, grid), 0, t.size - 1)
        x, y = t[at], v[at]
        # No marker inside a gap: a marker is a measured sample near its time.
        keep = np.isfinite(y) & (np.abs(x - grid) < MARK_EVERY_S / 4.0)
        line.marks.setData(x[keep] / 60.0, y[keep])

    def _view_moved(self, *_args: object) -> None:
        """The view moved (followed the data, or a clinician panned or zoomed): re-slice only
        when it left the span the curves hold."""
        if self._board is None:
            return
        left, right = self.spo2_plot.getPlotItem().getViewBox().viewRange()[0]
        if left < self._slice[0] or right > self._slice[1]:
            self._draw_lines(self.lines)

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
        # A limit is always in view, its words inside the plot (a limit off the plot is unseen).
        top = max(200.0, (t.systolic_ceiling + 15.0) if t and t.systolic_ceiling is not None else 0.0)
        self.nibp_plot.getPlotItem().setYRange(40, top, padding=0.02)
        self._place_band_labels()

    def _place_band_labels(self) -> None:
        """Set each pair of line labels apart: the systolic one above its line, the diastolic one
        below its line, so they never cover one another however close the lines are drawn (at
        1366x768 the two baselines' words were written over each other); a label that would
        leave the plot there goes to the other side of its line."""
        view = self.nibp_plot.getPlotItem().getViewBox()
        bottom, top = view.viewRange()[1]
        per_px = view.viewPixelSize()[1]
        for pair in ((self.sys_baseline, self.dia_baseline), (self.sys_ceiling, self.dia_ceiling)):
            upper, lower = sorted(pair, key=lambda line: line.value(), reverse=True)
            for line, wanted_above in ((upper, True), (lower, False)):
                label = line.label
                tall = label.boundingRect().height() * per_px
                above = wanted_above
                if wanted_above and line.value() + tall > top:
                    above = False
                elif not wanted_above and line.value() - tall < bottom:
                    above = True
                anchor = (label.anchors[0][0], 1.0 if above else 0.0)
                if label.anchors[0] != anchor:
                    label.anchors = [anchor, anchor]
                    label.updatePosition()

    def show_classified(self, readings: tuple[ClassifiedReading, ...], session_start: datetime) -> None:
        """NIBP markers coloured and sized by the engine's class of each reading (past ceiling,
        above expected, expected rise, at baseline, fall, below floor ...), the newest labelled."""
        judged = [r for r in readings if r.reading.systolic is not None and r.reading.diastolic is not None]
        if not judged:
            return
        self._readings = readings
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
        self.nibp_key.set_html(
            f"<div style='font-size:10pt'><b style='color:{look.colour}'>{caption}</b><br>{key}</div>"
        )
        if spots:
            x_mean = np.asarray(
                [(r.reading.measured_at - session_start).total_seconds() / 60.0 for r in judged]
            )
            self.mean_points.setData(
                x_mean, [np.nan if r.reading.mean is None else r.reading.mean for r in judged]
            )
