"""What a restart reads back (MON-8): the station's open session, the latest clinical snapshot, the
monitoring gaps and when the session was last recorded; and revision 0003 on an older database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import inspect, text

from drivers.clock import FakeClock
from storage import (
    AlarmEventRecord,
    ClinicalSnapshotRecord,
    Database,
    IncidentOpenedRecord,
    MonitoringGapRecord,
    ObservationRecord,
    ProtocolRunStartedRecord,
    ProtocolStepRecord,
    SessionRepository,
    SessionSummary,
    StorageWriter,
    ThresholdSetRecord,
    open_database,
)
from storage.database import MIGRATIONS_DIR
from tests.storage.samples import spo2


def _write(db: Database, clock: FakeClock, *records: object) -> None:
    writer = StorageWriter(db, clock, lambda failure: pytest.fail(str(failure)))
    for record in records:
        writer.put(record)  # type: ignore[arg-type]
    assert writer.flush(5.0)
    writer.close()


@pytest.mark.req("MON-8")
def test_only_the_stations_own_open_session_is_resumed(db: Database, clock: FakeClock) -> None:
    repo = SessionRepository(db)
    room1 = repo.create_session(clinician="RN", started_at=clock.now(), station="room-1")
    clock.advance(60)
    room2 = repo.create_session(clinician="RN", started_at=clock.now(), station="room-2")
    found1 = repo.latest_open_session(station="room-1")
    found2 = repo.latest_open_session(station="room-2")
    assert found1 is not None and found1.session_id == room1.session_id and found1.station == "room-1"
    assert found2 is not None and found2.session_id == room2.session_id
    assert repo.latest_open_session(station="room-3") is None
    newest = repo.latest_open_session()  # without a station: any room (the old behaviour)
    assert newest is not None and newest.session_id == room2.session_id


@pytest.mark.req("MON-8")
def test_the_latest_snapshot_is_read_back_as_written(
    db: Database, session: SessionSummary, clock: FakeClock
) -> None:
    sid = session.session_id
    first = {"version": 1, "phase": "ready", "nested": {"a": [1, 2.5, None]}}
    second = {"version": 1, "phase": "infusion", "nested": {"a": []}}
    # The same instant twice: the one written last wins, not the one that sorts first.
    _write(
        db,
        clock,
        ClinicalSnapshotRecord(sid, clock.now(), first),
        ClinicalSnapshotRecord(sid, clock.now(), second),
    )
    latest = SessionRepository(db).latest_clinical_snapshot(sid)
    assert latest == ClinicalSnapshotRecord(sid, clock.now(), second)
    other = SessionRepository(db).create_session(clinician="RN", started_at=clock.now())
    assert SessionRepository(db).latest_clinical_snapshot(other.session_id) is None


@pytest.mark.req("MON-8")
def test_gaps_are_kept_with_their_station(db: Database, session: SessionSummary, clock: FakeClock) -> None:
    since = clock.now()
    until = since + timedelta(seconds=433)
    gap = MonitoringGapRecord(session.session_id, since, until, "room-1", "monitor restarted")
    _write(db, clock, gap)
    assert SessionRepository(db).monitoring_gaps(session.session_id) == [gap]


@pytest.mark.req("MON-8")
def test_last_record_at_is_the_newest_thing_recorded_whatever_its_kind(
    db: Database, session: SessionSummary, clock: FakeClock
) -> None:
    sid = session.session_id
    repo = SessionRepository(db)
    assert repo.last_record_at(sid) is None
    t0 = clock.now()
    _write(
        db,
        clock,
        ObservationRecord(sid, spo2(clock, 97, offset_s=30)),
        AlarmEventRecord(sid, "started", "spo2_low", "medium", t0 + timedelta(seconds=10)),
    )
    assert repo.last_record_at(sid) == t0 + timedelta(seconds=30)
    _write(
        db,
        clock,
        IncidentOpenedRecord("inc-1", sid, t0, "bp-spike", "BP spike", "RN"),
        ProtocolRunStartedRecord("run-1", "inc-1", "bp-spike", "1", "h", t0, "RN"),
        ProtocolStepRecord("run-1", 1, t0 + timedelta(seconds=45), "bedside", "recheck_timer", "timer_due"),
    )
    assert repo.last_record_at(sid) == t0 + timedelta(seconds=45)
    other = repo.create_session(clinician="RN", started_at=t0)
    assert repo.last_record_at(other.session_id) is None


@pytest.mark.req("THR-7")
def test_threshold_sets_keep_the_mean_floor_and_the_allowed_falls(
    db: Database, session: SessionSummary, clock: FakeClock
) -> None:
    record = ThresholdSetRecord(
        "ts-1", session.session_id, "Dr Okafor", clock.now(), systolic_ceiling=180, mean_floor=65,
        systolic_fall_pct=20, mean_fall_pct=25,
    )  # fmt: skip
    _write(db, clock, record)
    assert SessionRepository(db).threshold_sets(session.session_id) == [record]


@pytest.mark.req("MON-8")
def test_revision_0003_keeps_older_sessions_and_threshold_sets_loadable(
    db_url: str, clock: FakeClock
) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    older = open_database(db_url)
    with older.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")
    assert "clinical_snapshots" not in inspect(older.engine).get_table_names()
    with older.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO sessions (id, patient_name, patient_mrn, clinician, is_drill, scenario, "
                "started_at, phase) "
                "VALUES ('old', '', '', 'RN', FALSE, '', '2026-11-20 09:00:00', 'infusion')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO threshold_sets (id, session_id, confirmed_by, confirmed_at, systolic_ceiling) "
                "VALUES ('ts-old', 'old', 'Dr Okafor', '2026-11-20 09:05:00', 180)"
            )
        )
    older.close()

    reopened = open_database(db_url)
    repo = SessionRepository(reopened)
    assert repo.session("old").station == ""
    [limits] = repo.threshold_sets("old")
    assert limits.systolic_ceiling == 180
    assert (limits.mean_floor, limits.systolic_fall_pct, limits.mean_fall_pct) == (None, None, None)
    assert repo.latest_open_session(station="") is not None
    assert repo.latest_open_session(station="room-1") is None  # not picked up by a named station
    with reopened.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0002")  # and back down cleanly
    assert "monitoring_gaps" not in inspect(reopened.engine).get_table_names()
    reopened.close()
