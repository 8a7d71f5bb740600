"""Resuming a long session reads the trend as columns (issue 9, MON-8): the restarted monitor's
curves, NIBP points and "before restart" NIBP tile come from ``trend_columns``, and no read of the
session's observations as objects is unbounded."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedside.monitor import trend_history
from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from bedside.monitor.trend_history import baseline_samples_since
from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from storage import ObservationRecord, SessionRepository, open_database
from storage._apply import apply_records

CURVES = (VitalKind.SPO2, VitalKind.PULSE_RATE)


def _obs(kind: VitalKind, value: float | None, at: datetime, quality: Quality) -> Observation:
    return Observation(kind, value, CANONICAL_UNIT[kind], at, at, 0.0, "dev", quality)


@st.composite
def _streams(draw: st.DrawFn) -> list[tuple[VitalKind, float | None, float, Quality]]:
    """Interleaved SpO2/pulse samples with gaps and bad qualities, and NIBP cycles (some failed)."""
    out: list[tuple[VitalKind, float | None, float, Quality]] = []
    t = 0.0
    for _ in range(draw(st.integers(1, 60))):
        t += draw(st.sampled_from([0.5, 1.0, 1.0, 7.0, 95.0]))
        kind = draw(st.sampled_from([*CURVES, VitalKind.NIBP_SYSTOLIC]))
        quality = draw(st.sampled_from([Quality.VALID, Quality.VALID, Quality.PROBE_OFF, Quality.ARTIFACT]))
        if kind is VitalKind.NIBP_SYSTOLIC:
            ok = quality is Quality.VALID
            for part, value in (
                (VitalKind.NIBP_SYSTOLIC, 150.0),
                (VitalKind.NIBP_DIASTOLIC, 90.0),
                (VitalKind.NIBP_MEAN, 110.0),
            ):
                out.append(
                    (part, value + t % 7 if ok else None, t, Quality.VALID if ok else Quality.CUFF_ERROR)
                )
        else:
            value = draw(st.floats(30, 250)) if quality is Quality.VALID else None
            out.append((kind, value, t, quality))
    return out


@pytest.mark.req("MON-8")
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(stream=_streams())
def test_resumed_trend_from_columns_matches_the_stored_readings_and_never_reads_every_row_as_objects(
    stream: list[tuple[VitalKind, float | None, float, Quality]],
    tmp_path_factory: pytest.TempPathFactory,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 9 (MON-8): after a restart each curve holds every stored sample at its time in the
    session (NaN where not valid) then the restart break; NIBP points are the valid cycles; the NIBP
    tile shows the last cycle "before restart"; and ``observations()`` is only ever asked for a
    bounded slice (``since`` given)."""
    url = f"sqlite:///{tmp_path_factory.mktemp('resume') / 'drill.sqlite3'}"
    clock = FakeClock(datetime(2026, 11, 23, 14, 0, tzinfo=UTC))
    first = SessionRecorder(open_database(url, drill=True), clock, clinician="RN")
    start = first.session.started_at
    records = [
        ObservationRecord(first.session_id, _obs(k, v, start + timedelta(seconds=t), q))
        for k, v, t, q in stream
    ]
    with first.db.engine.begin() as connection:
        apply_records(connection, records)
    first.close(end_session=False)
    clock.advance(stream[-1][2] + 60)

    calls: list[dict[str, Any]] = []
    original = SessionRepository.observations

    def spy(
        self: SessionRepository, session_id: str, since: datetime | None = None, kinds: Any = None
    ) -> Any:
        calls.append({"since": since})
        return original(self, session_id, since, kinds)

    monkeypatch.setattr(SessionRepository, "observations", spy)
    # Sample by sample: the whole stream at full resolution. Older hours as per-minute buckets
    # have their own tests (tests/workflow/test_trend_whole_session.py).
    monkeypatch.setattr(trend_history, "FULL_RESOLUTION_S", 1e9)
    second = SessionRecorder(open_database(url, drill=True), clock, clinician="RN")
    core = MonitorCore(clock)
    try:
        assert second.attach(core) == len(stream)
    finally:
        second.close(end_session=True)
    assert all(c["since"] is not None for c in calls)
    for kind in CURVES:
        stored = sorted((t, v, q) for k, v, t, q in stream if k is kind)
        trend = core.board.trends[kind]
        assert math.isnan(trend.v[-1])  # the restart break
        times, values = trend.t[:-1], trend.v[:-1]
        # Every stored sample is there at its time; anything else is a NaN break inside a silence
        # longer than the series' gap limit (MON-5: a resumed history is never joined across gaps).
        stored_ms = {round(t * 1000) for t, _, _ in stored}
        kept = np.array([round(t * 1000) in stored_ms for t in times], dtype=bool)
        assert kept.sum() == len(stored)
        assert times[kept] == pytest.approx([t for t, _, _ in stored], abs=1e-3)
        expected = [v if q is Quality.VALID else math.nan for _, v, q in stored]
        assert np.allclose(values[kept], expected, equal_nan=True)
        assert np.all(np.isnan(values[~kept]))
        for i in np.nonzero(~kept)[0]:
            assert times[i + 1] - times[i - 1] > trend.min_gap_s
    cycles = sorted({t for k, v, t, q in stream if k is VitalKind.NIBP_SYSTOLIC and v is not None})
    assert [p[0] for p in core.board.nibp_points] == pytest.approx(cycles, abs=1e-3)
    shown = core.board.nibp(clock.monotonic())
    if cycles:
        assert shown.restart_note.startswith("before restart") or shown.systolic is None


def test_baseline_samples_are_read_only_from_the_first_baseline_reading() -> None:
    """Issue 9: a pre-infusion snapshot needs samples from its earliest baseline reading; none without one."""
    state = {
        "baseline_nibp": [
            {"measured_at": "2026-11-23T14:05:00+00:00"},
            {"measured_at": "2026-11-23T14:02:00+00:00"},
        ]
    }
    assert baseline_samples_since(state) == datetime(2026, 11, 23, 14, 2, tzinfo=UTC)
    assert baseline_samples_since({"baseline_nibp": []}) is None


@pytest.mark.req("MON-5")
def test_a_history_loaded_at_once_is_broken_at_its_silences_like_live_samples() -> None:
    """MON-5: the history a resumed session loads in one piece (``TrendSeries.extend``) gets the
    same NaN breaks as samples appended live: a 2-minute dropout is never drawn as a line."""
    from bedside.monitor.vitals_board import TrendSeries

    t = np.array([0.0, 1.0, 2.0, 3.0, 123.0, 124.0, 125.0])
    v = np.array([97.0, 97.0, 96.0, 96.0, 95.0, 95.0, 94.0])
    loaded, live = TrendSeries(min_gap_s=5.0), TrendSeries(min_gap_s=5.0)
    loaded.extend(t, v)
    for ti, vi in zip(t, v, strict=True):
        live.append(float(ti), float(vi))
    assert len(loaded) == len(t) + 1
    assert np.isnan(loaded.v[4]) and 3.0 < loaded.t[4] < 123.0
    assert np.allclose(loaded.t, live.t) and np.allclose(loaded.v, live.v, equal_nan=True)
