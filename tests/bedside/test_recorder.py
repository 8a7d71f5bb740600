"""Observations are stored as they arrive, and a restarted monitor shows the session so far."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from drivers.clock import FakeClock
from drivers.types import DecodeResult, Observation, Quality, VitalKind
from storage import SessionRepository, open_database


def _spo2(clock: FakeClock, value: float) -> Observation:
    s = clock.stamp()
    return Observation(VitalKind.SPO2, value, "%", s.wall, s.wall, s.mono, "ox", Quality.VALID)


@pytest.mark.req("DOC-1")
def test_a_restart_resumes_the_open_session_and_replays_its_trend(tmp_path: Path, clock: FakeClock) -> None:
    url = f"sqlite:///{tmp_path / 'drill.sqlite3'}"
    first = SessionRecorder(open_database(url, drill=True), clock, clinician="RN", scenario="baseline")
    core = MonitorCore(clock)
    first.attach(core)
    for value in (97, 96, 95):
        core.on_result(DecodeResult(observations=(_spo2(clock, value),), frames=1), "ox")
        clock.advance(1)
    core.pump()
    assert first.writer.flush(5.0)
    first.close(end_session=False)  # the process dies mid-session

    clock.advance(60)
    second = SessionRecorder(open_database(url, drill=True), clock, clinician="RN")
    fresh = MonitorCore(clock)
    assert second.resumed and second.session_id == first.session_id
    assert second.attach(fresh) == 3
    trend = fresh.board.trends[VitalKind.SPO2]
    assert list(trend.v[:3]) == [97, 96, 95]
    # placed at their times in the session (to the millisecond the column read keeps, issue 9)
    assert list(trend.t[:3]) == pytest.approx([0.0, 1.0, 2.0], abs=1e-3)
    # MON-8: the curve is broken at the restart, so the time the monitor was down is not drawn as data.
    assert math.isnan(trend.v[3]) and trend.t[3] == pytest.approx(63.0)
    second.close(end_session=True)

    third = SessionRecorder(open_database(url, drill=True), clock, clinician="RN")
    assert not third.resumed  # an ended session is not resumed
    assert len(SessionRepository(third.db).sessions()) == 2
    third.close(end_session=True)
