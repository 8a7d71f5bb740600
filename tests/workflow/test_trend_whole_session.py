"""A resumed 24-hour session with three oximeters draws its whole trend (issue 11, finding 2;
MON-5, MON-8): one line per source from the session's start to the restart, a one-second dip hours
ago still drawn at its value, a silence still a gap, and a bounded number of points."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import bedside.monitor.recorder
from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from storage import ObservationRecord, open_database
from storage._apply import apply_records

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
HOURS = 24
EVERY_S = 10
SOURCES = ("masimo", "nonin", "hl7-gw")
DIP_AT_S = 3 * 3600 + 17 * EVERY_S  # nonin, hours before the restart: one sample of 70
GAP = (8 * 3600, 8 * 3600 + 600)  # masimo sends nothing for 10 minutes
PROBE_OFF = (12 * 3600, 12 * 3600 + 300)  # hl7-gw: 5 minutes of probe-off samples


def _rows(session_id: str) -> list[ObservationRecord]:
    out = []
    for s in range(0, HOURS * 3600, EVERY_S):
        for i, source in enumerate(SOURCES):
            if source == "masimo" and GAP[0] <= s < GAP[1]:
                continue
            at = START + timedelta(seconds=s + i)  # each device its own phase
            off = source == "hl7-gw" and PROBE_OFF[0] <= s < PROBE_OFF[1]
            quality = Quality.PROBE_OFF if off else Quality.VALID
            spo2 = 70.0 if source == "nonin" and s == DIP_AT_S else 96.0 + i
            for kind, value in ((VitalKind.SPO2, spo2), (VitalKind.PULSE_RATE, 70.0 + i)):
                obs = Observation(
                    kind, None if off else value, CANONICAL_UNIT[kind], at, at, 0.0, source, quality
                )
                out.append(ObservationRecord(session_id, obs))
        if s % 300 == 0:
            for kind, value in (
                (VitalKind.NIBP_SYSTOLIC, 124.0),
                (VitalKind.NIBP_DIASTOLIC, 80.0),
                (VitalKind.NIBP_MEAN, 95.0),
            ):
                obs = Observation(
                    kind, value, CANONICAL_UNIT[kind], START + timedelta(seconds=s), START, 0.0, "suntech",
                    Quality.VALID,
                )  # fmt: skip
                out.append(ObservationRecord(session_id, obs))
    return out


@pytest.mark.req("MON-5")
@pytest.mark.req("MON-8")
@pytest.mark.timeout(300)
def test_a_resumed_24_hour_session_draws_the_whole_session_per_source_with_peaks_and_gaps(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 2 (issue 11): resume read only the newest 400,000 rows, about 12 hours with three
    devices. Now every source's line runs from the session's first minute to the restart; the
    nonin's single 70 from hours ago is drawn at 70; masimo's 10-minute silence and hl7-gw's
    probe-off stretch are breaks, never joined; all NIBP cycles are points; and the points drawn
    are bounded (per minute for the old history)."""
    monkeypatch.setattr(bedside.monitor.recorder, "RESUME_WITHIN", timedelta(hours=HOURS + 1))
    url = f"sqlite:///{tmp_path_factory.mktemp('day') / 'drill.sqlite3'}"
    clock = FakeClock(START)
    first = SessionRecorder(open_database(url, drill=True), clock, clinician="RN")
    rows = _rows(first.session_id)
    with first.db.engine.begin() as connection:
        apply_records(connection, rows)
    first.close(end_session=False)
    clock.advance(HOURS * 3600 + 60)

    second = SessionRecorder(open_database(url, drill=True), clock, clinician="RN")
    core = MonitorCore(clock)
    try:
        assert second.attach(core) == len(rows)
    finally:
        second.close(end_session=True)
    board = core.board
    day = HOURS * 3600
    for kind in (VitalKind.SPO2, VitalKind.PULSE_RATE):
        assert set(board.lines[kind]) == set(SOURCES)
        for source, line in board.lines[kind].items():
            finite = np.isfinite(line.v)
            assert line.t[finite][0] < 120 and line.t[finite][-1] > day - 60, (kind, source)
            # Bounded: the old history per minute (two points), the newest hour whole.
            assert len(line) < 2 * HOURS * 60 + 3600 // EVERY_S + 100
            assert np.isnan(line.v[-1])  # the restart's break

    nonin = board.lines[VitalKind.SPO2]["nonin"]
    assert np.nanmin(nonin.v) == 70.0
    at = nonin.t[np.nanargmin(nonin.v)]
    assert DIP_AT_S - 60 <= at <= DIP_AT_S + 60
    assert np.nanmin(board.lines[VitalKind.SPO2]["masimo"].v) == 96.0

    def broken_between(source: str, start: float, end: float) -> None:
        line = board.lines[VitalKind.SPO2][source]
        inside = (line.t > start + 60) & (line.t < end - 60)
        assert not np.isfinite(line.v[inside]).any(), source
        before = np.nonzero((line.t <= start) & np.isfinite(line.v))[0][-1]
        after = np.nonzero((line.t >= end) & np.isfinite(line.v))[0][0]
        assert np.isnan(line.v[before + 1 : after]).any(), f"{source}: the line joins across the silence"

    broken_between("masimo", *GAP)
    broken_between("hl7-gw", *PROBE_OFF)
    assert len(board.nibp_points) == day // 300
