"""The whole session's trend for a resumed monitor, per kind and source: the newest part at full
resolution, older history as per-minute lowest and highest valid values computed in the database
(issue 11, finding 2; MON-5, MON-8). Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from storage import Database, ObservationRecord, SessionRepository
from storage._apply import apply_records

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
KINDS = (VitalKind.SPO2, VitalKind.PULSE_RATE)
BUCKET_S = 60.0
Row = tuple[VitalKind, str, float, float | None, Quality]


@st.composite
def stored_streams(draw: st.DrawFn) -> list[Row]:
    """Up to three sources of SpO2 and pulse over several hours, each with its own interval, gaps,
    runs of flagged samples, and one-sample peaks; times never on a bucket edge."""
    rows: list[Row] = []
    hours = draw(st.floats(0.2, 5.0))
    for source in draw(
        st.lists(st.sampled_from(["masimo", "nonin", ""]), min_size=1, max_size=3, unique=True)
    ):
        every = draw(st.sampled_from([7.0, 13.0, 29.0, 97.0]))
        t = draw(st.floats(0, 30)) + 0.25
        while t < hours * 3600:
            gap = draw(st.sampled_from([0.0] * 30 + [300.0, 1800.0]))
            t += gap
            quality = draw(st.sampled_from([Quality.VALID] * 8 + [Quality.PROBE_OFF, Quality.ARTIFACT]))
            for kind in KINDS:
                value: float | None = None
                if quality is Quality.VALID:
                    value = (
                        draw(st.sampled_from([97.0, 96.0, 98.0, 70.0])) if kind is VitalKind.SPO2 else 72.0
                    )
                rows.append((kind, source, t, value, quality))
            t += every
    return rows


def _store(db: Database, rows: list[Row]) -> str:
    repo = SessionRepository(db)
    session = repo.create_session(clinician="Dr. Rivera", started_at=T0, patient_name="P", patient_mrn="M")
    records = [
        ObservationRecord(
            session.session_id,
            Observation(
                kind, value, CANONICAL_UNIT[kind], T0 + timedelta(seconds=t), T0, 0.0, source, quality
            ),
        )
        for kind, source, t, value, quality in rows
    ]
    with db.engine.begin() as connection:
        apply_records(connection, records)
    return session.session_id


@pytest.mark.req("MON-5")
@pytest.mark.req("MON-8")
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=stored_streams(), recent_s=st.sampled_from([0.0, 600.0, 3600.0]))
def test_older_history_is_each_minutes_low_and_high_per_source_and_the_newest_is_whole(
    db: Database, rows: list[Row], recent_s: float
) -> None:
    """Finding 2 (issue 11): a resumed 24-hour session showed only its newest ~12 hours. Every
    stored reading is covered: before the cutoff each (kind, source, minute) is its lowest and
    highest valid value (NaN when none was valid, absent when nothing arrived: a gap stays a gap),
    from the cutoff on every reading at full resolution. Checked against the raw rows."""
    session_id = _store(db, rows)
    trends = SessionRepository(db).source_trends(
        session_id, kinds=KINDS, recent_s=recent_s, bucket_s=BUCKET_S
    )
    newest = max(t for _, _, t, _, _ in rows) + T0.timestamp()
    cutoff = math.floor((newest - recent_s) / BUCKET_S) * BUCKET_S
    buckets: dict[tuple[VitalKind, str], dict[float, list[float | None]]] = defaultdict(
        lambda: defaultdict(list)
    )
    recent: dict[tuple[VitalKind, str], list[tuple[float, float | None, bool]]] = defaultdict(list)
    for kind, source, t, value, quality in rows:
        at = T0.timestamp() + t
        if at < cutoff:
            buckets[(kind, source)][math.floor(at / BUCKET_S) * BUCKET_S].append(
                value if quality is Quality.VALID else None
            )
        else:
            recent[(kind, source)].append((at, value, quality is Quality.VALID))
    assert set(trends) == set(buckets) | set(recent)
    for key, trend in trends.items():
        expected = sorted(buckets.get(key, {}).items())
        assert trend.bucket_start_s.tolist() == [start for start, _ in expected]
        for i, (_, values) in enumerate(expected):
            valid = [v for v in values if v is not None]
            assert trend.count[i] == len(values)
            if valid:
                assert (trend.low[i], trend.high[i]) == (min(valid), max(valid))
            else:
                assert math.isnan(trend.low[i]) and math.isnan(trend.high[i])
        mine = sorted(recent.get(key, []))
        assert trend.recent.measured_at_s.tolist() == pytest.approx([m[0] for m in mine], abs=1e-3)
        assert trend.recent.valid.tolist() == [m[2] for m in mine]
        assert trend.readings == sum(len(v) for v in buckets.get(key, {}).values()) + len(mine)


def test_an_empty_session_has_no_trend(db: Database) -> None:
    """Nothing stored: nothing to draw, and no error."""
    session_id = _store(db, [])
    assert SessionRepository(db).source_trends(session_id, kinds=KINDS) == {}
