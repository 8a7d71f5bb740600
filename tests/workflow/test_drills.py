"""DRL-2 drills: a drill log (date, scenario, participants) with the team's response timings taken
from the records, a report with DRILL on every page, and never a drill in a patient database."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedside.workflow.audit import AuditTrail
from bedside.workflow.drills import CALL_911_NODE, DrillError, DrillService, response_timings
from drivers.clock import FakeClock
from storage import Database, open_database
from storage.errors import DrillMixingError
from storage.followup import FollowUpRepository
from storage.records import AlarmEventRecord, ProtocolRunStartedRecord, ProtocolRunSummary, ProtocolStepRecord
from tests.workflow.followup_records import stored_session
from tests.workflow.sample_session import START, sample_record
from tests.workflow.test_medwatch import pdf_text


@pytest.fixture
def drill_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated drill database."""
    database = open_database(f"sqlite:///{tmp_path / 'drills.sqlite3'}", drill=True)
    yield database
    database.close()


@pytest.fixture
def drills(drill_db: Database, clock: FakeClock) -> DrillService:
    """The drill service of room-1, on the drill database."""
    return DrillService(drill_db, clock, AuditTrail(drill_db, clock, station="room-1"))


@pytest.mark.req("DRL-2")
def test_drills_never_touch_a_patient_database(db: Database, clock: FakeClock, audit: AuditTrail) -> None:
    """Issue 9 DRL-2: the drill service and the drill log refuse a patient database outright."""
    with pytest.raises(DrillMixingError, match="only in the drill database"):
        DrillService(db, clock, audit)
    with pytest.raises(DrillMixingError, match="drill database"):
        FollowUpRepository(db).add_drill_log(
            session_id="s",
            drill_date=date(2026, 11, 23),
            scenario="x",
            participants=["a"],
            at=clock.now(),
            by="a",
        )


@pytest.mark.req("DRL-2")
def test_a_drill_is_logged_and_its_timings_come_from_the_records(
    drill_db: Database, drills: DrillService, clock: FakeClock
) -> None:
    """Issue 9 DRL-2: date, scenario, participants are logged (audited); the BP-spike alarm's
    acknowledgement (25 s), protocol start (40 s) and each step are timed from the drill's records."""
    record = stored_session(drill_db, drill=True)
    sid = record.session.session_id
    entry = drills.log_drill(
        "rivera",
        sid,
        drill_date=date(2026, 11, 23),
        scenario="BP spike with headache",
        participants=[" Rivera ", "Okafor", ""],
    )
    assert entry.participants == ("Rivera", "Okafor")
    assert drills.drill_logs() == [entry]
    timings = drills.timings(sid)
    spike = next(r for r in timings if r.alarm.condition == "bp_high")
    assert spike.acknowledged is not None
    assert spike.acknowledged.seconds == 25
    assert spike.protocol_started is not None
    assert spike.protocol_started.seconds == 40
    assert [s.seconds for s in spike.steps][:3] == [40, 50, 120]
    assert spike.call_911 is None  # this drill never reached the 911 decision
    probe = next(r for r in timings if r.alarm.condition == "spo2_probe_off")
    assert probe.acknowledged is None
    assert probe.protocol_started is None
    actions = [e.action for e in AuditTrail(drill_db, clock, "room-1").entries()]
    assert actions == ["drill_logged"]


@pytest.mark.req("DRL-2")
def test_a_patient_session_in_a_drill_database_or_an_unlogged_drill_is_refused(
    drill_db: Database, drills: DrillService
) -> None:
    """Issue 9 DRL-2: a report needs the drill's log; a drill needs a scenario and participants."""
    record = stored_session(drill_db, drill=True)
    sid = record.session.session_id
    with pytest.raises(DrillError, match="no drill log"):
        drills.report_pdf("rivera", sid)
    with pytest.raises(DrillError, match="scenario"):
        drills.log_drill("rivera", sid, drill_date=date(2026, 11, 23), scenario=" ", participants=["a"])
    with pytest.raises(DrillError, match="participants"):
        drills.log_drill("rivera", sid, drill_date=date(2026, 11, 23), scenario="x", participants=[" "])
    with pytest.raises(DrillError, match="no drill session"):
        drills.timings("nope")


@pytest.mark.req("DRL-2")
@settings(max_examples=150, deadline=None)
@given(
    ack=st.integers(min_value=0, max_value=600),
    start=st.integers(min_value=0, max_value=600),
    gaps=st.lists(st.integers(min_value=0, max_value=300), min_size=0, max_size=6),
    call_at=st.one_of(st.none(), st.integers(min_value=0, max_value=5)),
    noise=st.lists(st.integers(min_value=-300, max_value=900), max_size=5),
)
def test_response_timings_property(
    ack: int, start: int, gaps: list[int], call_at: int | None, noise: list[int]
) -> None:
    """Issue 9 DRL-2: over generated drills, every interval is measured from the alarm's start to the
    response, another alarm's events interleaved never count, and the call-911 decision is the first
    step at the call_911 node."""
    base = replace(sample_record(drill=True), protocol_runs=(), alarm_events=())
    sid = base.session.session_id
    alarm_at = START + timedelta(minutes=10)
    events = [
        AlarmEventRecord(sid, "started", "bp_high", "high", alarm_at, "", "systolic 190"),
        AlarmEventRecord(
            sid, "acknowledged", "bp_high", "high", alarm_at + timedelta(seconds=ack), "RN Okafor"
        ),
        AlarmEventRecord(sid, "ended", "bp_high", "high", alarm_at + timedelta(hours=2)),
    ]
    # another condition's events, before and after, acknowledged by someone else
    for n in noise:
        events.append(
            AlarmEventRecord(sid, "acknowledged", "spo2_low", "high", alarm_at + timedelta(seconds=n), "X")
        )
    run_at = alarm_at + timedelta(seconds=start)
    steps = []
    at = run_at
    for i, gap in enumerate(gaps):
        at += timedelta(seconds=gap)
        node = CALL_911_NODE if call_at is not None and i >= call_at else f"step_{i}"
        steps.append(ProtocolStepRecord("run", i + 1, at, "Dr. Rivera", node, "done"))
    run = ProtocolRunSummary(
        ProtocolRunStartedRecord("run", "inc", "bp-spike", "1", "h", run_at, "Dr. Rivera"), tuple(steps)
    )
    record = replace(base, alarm_events=tuple(sorted(events, key=lambda e: e.at)), protocol_runs=(run,))
    (response,) = [r for r in response_timings(record) if r.alarm.condition == "bp_high"]
    assert response.acknowledged is not None
    assert response.acknowledged.seconds == ack
    assert response.acknowledged.person == "RN Okafor"
    assert response.protocol_started is not None
    assert response.protocol_started.seconds == start
    assert [s.seconds for s in response.steps] == [(s.at - alarm_at).total_seconds() for s in steps]
    first_call = next((s for s in steps if s.node_id == CALL_911_NODE), None)
    if first_call is None:
        assert response.call_911 is None
    else:
        assert response.call_911 is not None
        assert response.call_911.seconds == (first_call.at - alarm_at).total_seconds()


@pytest.mark.req("DRL-2")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_the_drill_report_says_drill_on_every_page(
    drill_db: Database, drills: DrillService, clock: FakeClock, tmp_path: Path
) -> None:
    """Issue 9 DRL-2: the report has the log and the timings, says DRILL on every page; audited."""
    record = stored_session(drill_db, drill=True)
    sid = record.session.session_id
    drills.log_drill(
        "rivera",
        sid,
        drill_date=date(2026, 11, 23),
        scenario="BP spike with headache",
        participants=["Rivera", "Okafor"],
    )
    pages = pdf_text(drills.report_pdf("rivera", sid), tmp_path)
    assert pages
    assert all("DRILL" in page for page in pages)
    text = "\n".join(pages)
    for expected in (
        "DRILL report",
        "BP spike with headache",
        "Rivera, Okafor",
        "To acknowledgement",
        "25 s",
        "40 s",
    ):
        assert expected in text, expected
    actions = [e.action for e in AuditTrail(drill_db, clock, "room-1").entries()]
    assert actions == ["drill_logged", "drill_report_exported"]
