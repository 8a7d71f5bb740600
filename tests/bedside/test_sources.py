"""Each source is its own stream on screen (issue 10): three oximeters (a Masimo, a Nonin and an
HL7 feed) shared one SpO2 tile, which flipped between them, and one trend line, which zig-zagged
between probes. Now each source has its own curve (colour AND dash/marker, named in a legend), the
tiles keep one source and the others are listed with their own values and ages; a dead source
greys with its age; heart rate (ECG) and pulse rate (oximeter) stay apart (MON-5, MON-6, MON-7,
ALM-2). Also: the trend's colours come from the palette in use and stand out from its background
(WCAG 3:1), and the NIBP plot's line labels never run over its key (1366x768 and 1080p)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QRectF
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from alarms import PRIORITY_LOOK, ConditionId
from bedside.devtools.scene import MORE_OXIMETERS, OXIMETER, Scene, monitor_scene
from bedside.monitor.vitals_board import Freshness, HistoryCurve, VitalsBoard
from bedside.views.theme import DARK, LIGHT, Palette, contrast_ratio, palette, use_theme
from bedside.views.trend import TrendView
from drivers.types import DeviceEvent, DeviceEventKind, Observation, Quality, Stamp, VitalKind
from tests.bedside.test_screen_fit import clipped

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
SOURCES = ("masimo-1", "nonin-1", "hl7-gw")


def _obs(kind: VitalKind, value: float | None, mono: float, source: str) -> Observation:
    at = START + timedelta(seconds=mono)
    quality = Quality.VALID if value is not None else Quality.PROBE_OFF
    return Observation(kind, value, "%", at, at, mono, source, quality)


def _event(kind: DeviceEventKind, source: str, mono: float) -> DeviceEvent:
    return DeviceEvent(kind, source, Stamp(START + timedelta(seconds=mono), mono))


@pytest.fixture
def themed() -> Iterator[None]:
    yield
    use_theme("dark")


# -- the board: one stream per source ----------------------------------------------------------

#: (source index, seconds since the previous sample, value or None for an invalid one)
_samples = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from([0.0, 0.3, 1.0, 1.0, 2.0, 9.0, 45.0]),
        st.one_of(st.none(), st.floats(60, 100, allow_nan=False)),
    ),
    min_size=1,
    max_size=80,
)


@pytest.mark.req("MON-6")
@pytest.mark.req("MON-5")
@given(_samples)
@settings(max_examples=150, deadline=None)
def test_each_source_has_its_own_curve_with_only_its_own_samples(
    samples: list[tuple[int, float, float | None]],
) -> None:
    """Issue 10: values of three probes were one zig-zag line. Interleaved sources, invalid
    samples and silences: a source's curve holds its samples in order (NaN where invalid) and
    only NaN breaks besides; nothing of another source is ever on it."""
    board = VitalsBoard(0.0, trend_gap_s=5.0)
    sent: dict[str, list[tuple[float, float]]] = {s: [] for s in SOURCES}
    mono = 0.0
    for index, step, value in samples:
        mono += step
        source = SOURCES[index]
        board.add(_obs(VitalKind.SPO2, value, mono, source))
        sent[source].append((mono, math.nan if value is None else value))
    used = [s for s in SOURCES if sent[s]]
    in_order = list(dict.fromkeys(SOURCES[index] for index, _, _ in samples))
    assert list(board.lines[VitalKind.SPO2]) == in_order
    assert board.sources(VitalKind.SPO2) == tuple(board.lines[VitalKind.SPO2])
    for source in used:
        series = board.lines[VitalKind.SPO2][source]
        times, values = series.t, series.v
        own = {t for t, _ in sent[source]}
        kept = np.array([t in own for t in times])
        # Every sample of the source, in order, at its time, NaN where not valid...
        assert list(times[kept]) == [t for t, _ in sent[source]]
        assert np.allclose(values[kept], [v for _, v in sent[source]], equal_nan=True)
        # ... and anything else on its curve is a break inside its own silence, never a value.
        assert np.all(np.isnan(values[~kept]))


@pytest.mark.req("MON-6")
@given(st.lists(st.integers(0, 2), min_size=3, max_size=40))
@settings(max_examples=100, deadline=None)
def test_the_tile_keeps_its_source_whichever_probe_sent_last(order: list[int]) -> None:
    """Issue 10: the SpO2 tile flipped between sources. Whoever sends last, the tile shows the
    first live source's own value, and each source's value is asked for by name."""
    board = VitalsBoard(0.0)
    last: dict[str, float] = {}
    for k, index in enumerate(order):
        source = SOURCES[index]
        value = 90.0 + index + (k % 3)
        board.add(_obs(VitalKind.SPO2, value, float(k) * 0.5, source))
        last[source] = value
        now = float(k) * 0.5
        first = SOURCES[order[0]]
        assert board.primary_source(VitalKind.SPO2) == first
        shown = board.numeric(VitalKind.SPO2, now)
        assert shown.source == first and shown.value == last[first]
        for other, value_sent in last.items():
            assert board.numeric(VitalKind.SPO2, now, other).value == value_sent


@pytest.mark.req("ALM-2")
def test_a_dead_source_greys_with_its_age_and_the_tile_goes_to_a_live_one() -> None:
    board = VitalsBoard(0.0)
    for second in range(5):
        board.add(_obs(VitalKind.SPO2, 97, float(second), "masimo-1"))
        board.add(_obs(VitalKind.SPO2, 95, float(second) + 0.5, "nonin-1"))
    board.link_event(_event(DeviceEventKind.DISCONNECTED, "masimo-1", 5.0))
    now = 45.0
    dead = board.numeric(VitalKind.SPO2, now, "masimo-1")
    assert dead.freshness is Freshness.DEVICE_LOST and dead.text == "97"
    assert dead.age_s == pytest.approx(41.0) and dead.detail == "DEVICE DISCONNECTED"
    assert board.primary_source(VitalKind.SPO2) == "nonin-1"
    board.link_event(_event(DeviceEventKind.CONNECTED, "masimo-1", 46.0))
    assert board.primary_source(VitalKind.SPO2) == "masimo-1"  # back where it was, not a flip per sample


@pytest.mark.req("MON-7")
def test_heart_rate_and_pulse_rate_stay_apart_on_the_trend(qtbot: QtBot) -> None:
    """An ECG's heart rate and an oximeter's pulse rate are two lines, named "HR" and "PR", never
    one curve nor one in place of the other."""
    board = VitalsBoard(0.0)
    for second in range(10):
        board.add(_obs(VitalKind.PULSE_RATE, 76, float(second), "masimo-1"))
        board.add(_obs(VitalKind.HEART_RATE, 38, float(second) + 0.2, "ecg-1"))
    view = TrendView()
    qtbot.addWidget(view)
    view.refresh(board, 10.0)
    pr = view.line_of(VitalKind.PULSE_RATE, "masimo-1")
    hr = view.line_of(VitalKind.HEART_RATE, "ecg-1")
    assert pr is not None and hr is not None and pr.curve is not hr.curve
    assert set(np.asarray(pr.curve.yData)[np.isfinite(pr.curve.yData)]) == {76}
    assert set(np.asarray(hr.curve.yData)[np.isfinite(hr.curve.yData)]) == {38}
    legend = view.legends[id(view.pulse_plot)].text.toPlainText()
    assert "PR masimo-1" in legend and "HR ecg-1" in legend


# -- the trend: a line per source, told apart without colour -----------------------------------


def _three_sources(board: VitalsBoard, seconds: int = 600) -> None:
    for second in range(seconds):
        for k, source in enumerate(SOURCES):
            if source == "hl7-gw" and second % 10:
                continue  # the HL7 feed every 10 s
            if source == "nonin-1" and 200 <= second < 260:
                continue  # the Nonin silent for a minute: a gap on its line only
            board.add(_obs(VitalKind.SPO2, 95.0 + k, second + 0.1 * k, source))
            board.add(_obs(VitalKind.PULSE_RATE, 70.0 + 5 * k, second + 0.1 * k, source))


@pytest.mark.req("MON-5")
@pytest.mark.req("ALM-1")
def test_three_oximeters_are_three_lines_told_apart_by_more_than_colour(qtbot: QtBot) -> None:
    board = VitalsBoard(0.0)
    _three_sources(board)
    view = TrendView()
    qtbot.addWidget(view)
    view.refresh(board, 600.0)
    for kind, plot in ((VitalKind.SPO2, view.spo2_plot), (VitalKind.PULSE_RATE, view.pulse_plot)):
        lines = [view.line_of(kind, s) for s in SOURCES]
        assert all(line is not None for line in lines)
        looks = set()
        for k, line in enumerate(lines):
            assert line is not None
            y = np.asarray(line.curve.yData)
            # Only its own source's value: no zig-zag between probes.
            assert set(y[np.isfinite(y)]) == {
                (95.0 if kind is VitalKind.SPO2 else 70.0) + k * (1 if kind is VitalKind.SPO2 else 5)
            }
            assert line.curve.opts["connect"] == "finite"
            pen = line.curve.opts["pen"]
            looks.add((pen.style(), line.look.symbol))
        colours = {line.curve.opts["pen"].color().name() for line in lines if line is not None}
        assert len(colours) == 3 and len(looks) == 3  # colour, and dash or marker, each differ
        legend = view.legends[id(plot)].text.toPlainText()
        assert all(source in legend for source in SOURCES)
    # The Nonin's silent minute is a gap on its line; the others are drawn through it.
    nonin = view.line_of(VitalKind.SPO2, "nonin-1")
    masimo = view.line_of(VitalKind.SPO2, "masimo-1")
    assert nonin is not None and masimo is not None
    x, y = np.asarray(nonin.curve.xData) * 60.0, np.asarray(nonin.curve.yData)
    inside = (x > 199.5) & (x < 260.0)
    assert np.all(np.isnan(y[inside])) and inside.any()
    mx, my = np.asarray(masimo.curve.xData) * 60.0, np.asarray(masimo.curve.yData)
    assert np.all(np.isfinite(my[(mx > 200) & (mx < 259)]))
    # A marker sits on a measured sample of its own line, never inside its gap.
    assert nonin.marks is not None
    mark_x = np.asarray(nonin.marks.xData) * 60.0
    assert mark_x.size >= 3 and not np.any((mark_x > 200) & (mark_x < 260))


@pytest.mark.req("MON-5")
def test_a_new_sample_redraws_only_its_own_line(qtbot: QtBot) -> None:
    """The per-line update keeps the "only what changed" design: one probe's sample does not
    hand every other line its data again."""
    board = VitalsBoard(0.0)
    _three_sources(board, 120)
    view = TrendView()
    qtbot.addWidget(view)
    view.refresh(board, 120.0)
    calls: dict[str, int] = {s: 0 for s in SOURCES}
    for source in SOURCES:
        line = view.line_of(VitalKind.SPO2, source)
        assert line is not None
        original = line.curve.setData

        def counting(
            *args: object, _source: str = source, _original: object = original, **kw: object
        ) -> None:
            calls[_source] += 1
            _original(*args, **kw)  # type: ignore[operator]

        line.curve.setData = counting  # type: ignore[method-assign]
    board.add(_obs(VitalKind.SPO2, 96.0, 121.0, "nonin-1"))
    view.refresh(board, 121.0)
    assert calls == {"masimo-1": 0, "nonin-1": 1, "hl7-gw": 0}


# -- colours: from the palette in use, readable on its background --------------------------------


def _staged_trend(qtbot: QtBot) -> TrendView:
    scene = monitor_scene(palette().name, (1366, 768), oximeters=3)
    qtbot.addWidget(scene.window)
    return scene.window.trend


def _low_contrast(view: TrendView, p: Palette) -> list[str]:
    background = p.plot_background
    return sorted({c.name() for c in view.pens() if contrast_ratio(c.name(), background) < 3.0})


@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("theme", [DARK, LIGHT], ids=["dark", "light"])
def test_every_pen_of_the_trend_stands_out_from_its_background(
    qtbot: QtBot, theme: Palette, themed: None
) -> None:
    """Issue 10: the light theme kept the dark theme's cyan and green lines (poor on white).
    Every pen and marker of the trend (three sources, band, limits, classified readings, axes)
    has WCAG contrast of at least 3:1 against the plot's background in that theme."""
    use_theme(theme.name)
    view = _staged_trend(qtbot)
    assert len(view.lines) >= 6 and len(view.classified_points.points()) > 0
    assert view.spo2_plot.backgroundBrush().color().name() == theme.plot_background
    assert _low_contrast(view, theme) == []
    for line in view.lines:
        assert line.colour(theme) == line.curve.opts["pen"].color().name()


@pytest.mark.req("ALM-1")
def test_switching_theme_recolours_the_trend(qtbot: QtBot, themed: None) -> None:
    use_theme("dark")
    view = _staged_trend(qtbot)
    use_theme("light")
    view.recolour()
    assert view.spo2_plot.backgroundBrush().color().name() == LIGHT.plot_background
    assert _low_contrast(view, LIGHT) == []
    assert {line.curve.opts["pen"].color().name() for line in view.lines} <= {
        *LIGHT.spo2_lines,
        *LIGHT.pulse_lines,
        LIGHT.plot_history,
    }


# -- the monitor screen with three oximeters --------------------------------------------------

SIZES = [(1366, 768), (1920, 1080)]


def _scene(qtbot: QtBot, size: tuple[int, int], oximeters: int, theme: str = "dark") -> Scene:
    scene = monitor_scene(theme, size, oximeters=oximeters)
    qtbot.addWidget(scene.window)
    QApplication.processEvents()
    return scene


@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("oximeters", [2, 3])
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_screen_fits_with_two_and_three_oximeters(
    qtbot: QtBot, size: tuple[int, int], oximeters: int, theme: str, themed: None
) -> None:
    """Issue 10: the screen fits 1366x768 (one oximeter: tests/bedside/test_screen_fit.py); with
    two and three, nothing is cut either."""
    scene = _scene(qtbot, size, oximeters, theme)
    window = scene.window
    hint = window.minimumSizeHint()
    assert hint.width() <= size[0] and hint.height() <= size[1], f"minimum size {hint}"
    assert (window.width(), window.height()) == size
    assert clipped(window) == []
    assert len(window.sources.rows) >= oximeters - 1
    assert all(row.isVisible() for row in window.sources.rows[: oximeters - 1])


@pytest.mark.req("MON-6")
@pytest.mark.req("ALM-2")
def test_every_oximeter_is_on_screen_with_its_own_value_and_age(qtbot: QtBot) -> None:
    """The tiles show the Masimo; the Nonin and the HL7 feed each have their row with their own
    values; the feed, whose link was pulled, is greyed there with its age; each row's key is
    its line's on the trend."""
    scene = _scene(qtbot, (1366, 768), 3)
    window = scene.window
    assert "sim-masimo-ascii-1" in window.spo2_tile.status.text()
    assert window.spo2_tile.value.text() == "86"
    nonin, feed = (m[0] for m in MORE_OXIMETERS)
    rows = [row.text() for row in window.sources.rows if row.isVisible()]
    assert len(rows) == 2
    nonin_row = next(r for r in rows if nonin in r)
    feed_row = next(r for r in rows if feed in r)
    assert ">85<" in nonin_row and ">130<" in nonin_row  # its own SpO2 and PR, not the Masimo's
    assert "DEVICE DISCONNECTED" in feed_row and "last 1 min" in feed_row
    assert palette().stale in feed_row  # its values greyed
    for source, row in ((nonin, nonin_row), (feed, feed_row)):
        line = window.trend.line_of(VitalKind.SPO2, source)
        assert line is not None and line.look.key in row and line.colour(palette()) in row
    # A sample from the Nonin arriving last does not move the tile to it.
    scene.deliver(nonin, [scene.obs(VitalKind.SPO2, 99, nonin)])
    assert window.spo2_tile.value.text() == "86" and OXIMETER in window.spo2_tile.status.text()


# -- the NIBP plot: its line labels never run over its key ------------------------------------


@pytest.mark.req("MON-5")
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_the_nibp_labels_never_overlap_the_key(
    qtbot: QtBot, size: tuple[int, int], theme: str, themed: None
) -> None:
    """Issue 10: at 1366x768 the baseline labels ran over the NIBP key ("Last NIBP ...", the
    class key). The band and limit labels' scene rectangles meet neither the key nor one another,
    and each lies within the plot."""
    scene = _scene(qtbot, size, 1, theme)
    trend = scene.window.trend
    key = trend.nibp_key
    assert key.isVisible() and "Last NIBP" in trend.last_reading_text.toPlainText()
    key_rect = key.sceneBoundingRect()
    view_rect = trend.nibp_plot.getPlotItem().getViewBox().sceneBoundingRect()
    labels = [
        line.label
        for line in (trend.sys_baseline, trend.dia_baseline, trend.sys_ceiling, trend.dia_ceiling)
        if line.isVisible()
    ]
    assert len(labels) == 4
    rects: list[QRectF] = [label.sceneBoundingRect() for label in labels]
    for label, rect in zip(labels, rects, strict=True):
        assert not rect.intersects(key_rect), (label.toPlainText(), rect, key_rect)
        assert view_rect.adjusted(-1, -1, 1, 1).contains(rect), (label.toPlainText(), rect, view_rect)
    for i, a in enumerate(rects):
        for b in rects[i + 1 :]:
            assert not a.intersects(b), (a, b)


@pytest.mark.req("ALM-1")
@pytest.mark.req("MON-6")
def test_an_alarm_on_another_probe_marks_its_row_not_the_tile(qtbot: QtBot) -> None:
    """The Nonin reads 84 while the Masimo on the tiles reads 97: the SpO2 alarm is the Nonin's,
    so its row carries the priority's symbol and colour, and the tile showing 97 is not framed
    (a framed 97 would say the 97 is alarming)."""
    scene = monitor_scene("dark", (1366, 768), oximeters=2, alarms=False, protocol=False)
    qtbot.addWidget(scene.window)
    nonin = MORE_OXIMETERS[0][0]
    scene.more = ()  # the Nonin is driven by hand below
    for _ in range(30):
        scene.clock.advance(2)
        scene.oximetry(97, 78)
        scene.deliver(
            nonin, [scene.obs(VitalKind.SPO2, 84, nonin), scene.obs(VitalKind.PULSE_RATE, 80, nonin)]
        )
        scene.window.core.tick()
        scene.clinical.tick()
    scene.window._tick()
    low = [a for a in scene.clinical.active_alarms() if a.condition is ConditionId.SPO2_LOW]
    assert low and {a.source for a in low} == {nonin}
    assert scene.window.spo2_tile.value.text() == "97" and scene.window.spo2_tile.alarm is None
    row = next(r.text() for r in scene.window.sources.rows if r.isVisible() and nonin in r.text())
    worst = max(a.priority for a in low)
    assert PRIORITY_LOOK[worst].symbol in row and palette().priority[worst] in row


@pytest.mark.req("MON-8")
@pytest.mark.req("MON-5")
def test_a_resumed_history_is_its_own_line_named_before_restart(qtbot: QtBot) -> None:
    """A trend stored without a source: after a restart it is one line of its own in the history
    look, named "before restart", and the live probe's samples go on their own line, never joined
    to it."""
    board = VitalsBoard(0.0)
    t = np.arange(0.0, 300.0)
    none = np.empty(0)
    board.add_history(
        {VitalKind.SPO2: {"": HistoryCurve(none, none, 60.0, t, np.full_like(t, 93.0))}}, [], []
    )
    board.mark_restart(400.0, START + timedelta(seconds=400))
    for second in range(400, 460):
        board.add(_obs(VitalKind.SPO2, 98, float(second), "masimo-1"))
    view = TrendView()
    qtbot.addWidget(view)
    view.refresh(board, 460.0)
    history = view.line_of(VitalKind.SPO2, "")
    live = view.line_of(VitalKind.SPO2, "masimo-1")
    assert history is not None and live is not None
    assert history.curve.opts["pen"].color().name() == palette().plot_history
    assert live.curve.opts["pen"].color().name() == palette().spo2_lines[0]
    hy, ly = np.asarray(history.curve.yData), np.asarray(live.curve.yData)
    assert set(hy[np.isfinite(hy)]) == {93.0} and set(ly[np.isfinite(ly)]) == {98.0}
    assert "before restart" in view.legends[id(view.spo2_plot)].text.toPlainText()
    assert board.trends[VitalKind.SPO2] is board.lines[VitalKind.SPO2][""]
