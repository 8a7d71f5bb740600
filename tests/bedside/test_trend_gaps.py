"""Gaps are gaps: a trend line never joins across missing data, and invalid samples are never drawn
as values (MON-5, MON-6; issue 10 "Trend lines are drawn across gaps")."""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

from alarms import load_config
from bedside.monitor.vitals_board import TrendSeries, VitalsBoard
from bedside.views.trend import TrendView
from drivers.types import Observation, Quality, VitalKind

START = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)


def _obs(kind: VitalKind, value: float | None, mono: float, quality: Quality = Quality.VALID) -> Observation:
    at = START + timedelta(seconds=mono)
    return Observation(kind, value, "%", at, at, mono, "ox1", quality)


def _segments(t: np.ndarray, v: np.ndarray) -> list[list[tuple[float, float]]]:
    """The runs of finite points a ``connect="finite"`` curve draws as one line."""
    runs: list[list[tuple[float, float]]] = [[]]
    for ti, vi in zip(t.tolist(), v.tolist(), strict=True):
        if math.isnan(vi):
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((ti, vi))
    return [r for r in runs if r]


@pytest.mark.req("MON-5")
def test_a_cable_pull_breaks_the_line_instead_of_joining_across_it() -> None:
    """Issue 10: the trend joined the last value before a 2-minute silence to the first after it."""
    series = TrendSeries(min_gap_s=5.0)
    for s in range(10):
        series.append(float(s), 97.0)
    for s in range(130, 140):
        series.append(float(s), 91.0)
    runs = _segments(series.t, series.v)
    assert [len(r) for r in runs] == [10, 10]
    assert runs[0][-1] == (9.0, 97.0) and runs[1][0] == (130.0, 91.0)


@pytest.mark.req("MON-5")
def test_a_slow_source_is_judged_at_its_own_pace() -> None:
    """An HL7 feed every 10 s is one line once its interval is learned (its first interval cannot
    be told from a gap: the safe side is a break); a silence of more than 3x is a break."""
    # (min_gap_s 5 s is below the feed's interval, so only the learned interval joins it)
    series = TrendSeries(min_gap_s=5.0)
    for k in range(8):
        series.append(10.0 * k, 95.0)
    assert [len(r) for r in _segments(series.t, series.v)] == [1, 7]
    series.append(70.0 + 31.0, 95.0)
    assert [len(r) for r in _segments(series.t, series.v)] == [1, 7, 1]


@pytest.mark.req("MON-5")
def test_the_gap_limit_is_the_clinics(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("monitoring:\n  trend_gap_s: 20\n")
    board = VitalsBoard(0.0)
    board.use_clinic_config(load_config(clinic))
    for mono in (0.0, 1.0, 2.0, 17.0):  # 15 s: within this clinic's 20 s
        board.add(_obs(VitalKind.SPO2, 96.0, mono))
    assert len(_segments(board.trends[VitalKind.SPO2].t, board.trends[VitalKind.SPO2].v)) == 1
    board.add(_obs(VitalKind.SPO2, 96.0, 40.0))
    assert len(_segments(board.trends[VitalKind.SPO2].t, board.trends[VitalKind.SPO2].v)) == 2


# A stream: each item is (seconds since the previous sample, value or None for an invalid one).
_interval = st.floats(min_value=0.8, max_value=1.2)
_gap = st.floats(min_value=6.0, max_value=3600.0)
_sample = st.tuples(
    st.one_of(_interval, _interval, _interval, _interval, _gap),
    st.one_of(st.floats(min_value=50, max_value=100), st.none()),
)


@pytest.mark.req("MON-5")
@pytest.mark.req("MON-6")
@settings(max_examples=150, deadline=None)
@given(stream=st.lists(_sample, min_size=1, max_size=120))
def test_no_line_joins_across_a_gap_and_no_invalid_sample_is_drawn(
    stream: list[tuple[float, float | None]],
) -> None:
    """Over gapped, partly invalid 1 Hz streams: a line joins two samples only when they are at
    most max(3 x the source's interval, 5 s) apart, the interval being the shortest of the 15
    before; samples at most 5 s apart with nothing invalid between are always joined; every drawn
    point is a valid input sample at its own time, and every valid sample is drawn."""
    board = VitalsBoard(0.0, trend_gap_s=5.0)
    t = 0.0
    times: list[float] = []
    allowed: dict[float, float] = {}  # a sample's time -> how far back a line may reach to it
    valid: list[tuple[float, float]] = []
    must_join: list[tuple[float, float]] = []
    previous: tuple[float, float | None] | None = None
    for dt, value in stream:
        t += dt
        last = times[-16:]
        recent = [b - a for a, b in itertools.pairwise(last) if b > a]
        allowed[t] = max(3.0 * min(recent), 5.0) if recent else 5.0
        times.append(t)
        board.add(_obs(VitalKind.SPO2, value, t, Quality.VALID if value is not None else Quality.ARTIFACT))
        if value is not None:
            valid.append((t, value))
            if previous is not None and previous[1] is not None and dt <= 5.0:
                must_join.append((previous[0], t))
        previous = (t, value)
    series = board.trends[VitalKind.SPO2]
    runs = _segments(series.t, series.v)
    joined = {(a, b) for run in runs for (a, _), (b, _) in itertools.pairwise(run)}
    for t0, t1 in joined:
        assert t1 - t0 <= allowed[t1] + 1e-9
    assert set(must_join) <= joined
    assert [p for run in runs for p in run] == valid


@pytest.mark.req("MON-5")
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(gap_s=st.floats(min_value=6.0, max_value=7200.0), before=st.integers(2, 40))
def test_the_drawn_curve_breaks_at_the_gap(qtbot: QtBot, gap_s: float, before: int) -> None:
    """On the curve pyqtgraph draws (its data and its connect mode), not only on the board."""
    board = VitalsBoard(0.0)
    view = TrendView()
    qtbot.addWidget(view)
    for s in range(before):
        board.add(_obs(VitalKind.SPO2, 97.0, float(s)))
    resumed = before - 1 + gap_s
    for s in range(3):
        board.add(_obs(VitalKind.SPO2, 92.0, resumed + s))
    view.refresh(board, resumed + 2)
    # Zoomed out to the whole stretch, as a clinician would to look back: the curves re-slice.
    view.spo2_plot.setXRange(0.0, (resumed + 2) / 60.0, padding=0.0)
    # The curve's own data (getData() is what is left after clip-to-view: the window's worth).
    x, y = view.spo2_curve.xData, view.spo2_curve.yData
    assert view.spo2_curve.opts["connect"] == "finite"
    runs = _segments(np.asarray(x), np.asarray(y))
    assert [len(r) for r in runs] == [before, 3]
    assert runs[1][0][0] == pytest.approx(resumed / 60.0)


def test_the_trend_is_not_resized_by_a_tiles_text(qtbot: QtBot) -> None:
    """Speed (issue 10): sources of different name lengths alternating on a tile, and ages growing
    a digit, re-laid out the side column and so resized and fully repainted the trend beside it
    several times a second (bench_idle_cpu). The tiles' text wraps instead; the trend keeps its
    size."""
    from bedside.monitor.core import MonitorCore
    from bedside.views.window import MonitorWindow
    from bedside.workflow.clinical import ClinicalSession
    from drivers.clock import FakeClock
    from drivers.types import DecodeResult

    clock = FakeClock()
    core = MonitorCore(clock)
    window = MonitorWindow(core, "bench")
    qtbot.addWidget(window)
    clinical = ClinicalSession(
        clock,
        load_config(),
        session_id="t",
        record=lambda _r: None,
        nibp_link_send=None,
        nibp_start_command=None,
    )
    window.attach_clinical(clinical, clock.now())
    window.resize(1600, 1000)
    window.show()
    qtbot.waitExposed(window)
    sizes = set()
    for n in range(12):
        source = "sim-hl7-pcd01-1/0123456789ABCDEF" if n % 2 else "sim-nonin-df2-1"
        s = clock.stamp()
        batch = (
            Observation(VitalKind.SPO2, 95.0, "%", s.wall, s.wall, s.mono, source),
            Observation(VitalKind.PULSE_RATE, 70.0 + n, "/min", s.wall, s.wall, s.mono, source),
        )
        core.on_result(DecodeResult(observations=batch, frames=1), source)
        qtbot.waitUntil(lambda o=batch[-1]: core.board.latest(VitalKind.PULSE_RATE) is o, timeout=1000)
        clock.advance(1.0 + 4 * (n % 3))
        window.refresh()
        qtbot.wait(5)
        if n:  # after the first layout
            sizes.add((window.trend.width(), window.trend.height(), window.trend.spo2_plot.width()))
    assert len(sizes) == 1


def test_the_curves_hold_the_view_not_the_whole_day_and_panning_back_shows_the_past(qtbot: QtBot) -> None:
    """Speed (issue 10): at hour 24 the curves hold about three windows of samples, not 86,400,
    so a frame costs what it does at hour 1; looking back re-slices and shows the old data."""
    board = VitalsBoard(0.0)
    view = TrendView()
    qtbot.addWidget(view)
    series = board.trends[VitalKind.SPO2]
    for s in range(24 * 3600):
        series.append(float(s), 90.0 + (s // 3600) % 10)
    view.refresh(board, 24 * 3600.0)
    held = len(view.spo2_curve.xData)
    assert held <= 3 * view.window_min * 60 + 2
    view.spo2_plot.setXRange(60.0, 90.0, padding=0.0)  # back to the second hour
    x, y = view.spo2_curve.xData, view.spo2_curve.yData
    assert x.min() <= 60.0 and x.max() >= 90.0
    assert set(np.unique(y[(x >= 61) & (x < 119)])) == {91.0}
