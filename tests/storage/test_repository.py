"""Reading sessions back: a restart shows the session so far, exactly as it was written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, DeviceEvent, DeviceEventKind, Observation, Quality, Stamp, VitalKind
from storage import (
    AlarmEventRecord,
    AttestationRecord,
    BaselineOverride,
    BaselineRecord,
    DeviceEventRecord,
    FailureKind,
    IncidentClosedRecord,
    IncidentOpenedRecord,
    IncidentSummary,
    NibpIntervalChangeRecord,
    NoteRecord,
    ObservationRecord,
    PhaseTransitionRecord,
    ProtocolRunEndedRecord,
    ProtocolRunStartedRecord,
    ProtocolRunSummary,
    ProtocolStepRecord,
    SessionEndedRecord,
    SessionRepository,
    StorageFailure,
    StorageWriter,
    StoredRecord,
    ThresholdChangeRecord,
    ThresholdSetRecord,
    UnknownRecordError,
    open_database,
)
from tests.storage.samples import spo2

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def nibp(kind: VitalKind, value: float, minutes: float) -> Observation:
    return Observation(
        kind,
        value,
        CANONICAL_UNIT[kind],
        at(minutes),
        at(minutes) + timedelta(seconds=1),
        1000.0 + minutes * 60,
        "ivy-450c",
        Quality.VALID,
        "",
    )


@pytest.mark.req("DOC-1")
@pytest.mark.req("PRO-6")
def test_a_fresh_database_instance_reads_back_everything_another_one_wrote(db_url: str) -> None:
    clock = FakeClock(start=T0)
    first = open_database(db_url)
    session = SessionRepository(first).create_session(
        clinician="Dr. Rivera", started_at=T0, patient_name="Test Patient", patient_mrn="MRN-1"
    )
    sid = session.session_id
    observations = [
        spo2(clock, 98.0),
        Observation(
            VitalKind.SPO2, None, "%", at(1), at(1), 1060.0, "masimo-sim", Quality.PROBE_OFF, "probe off"
        ),
        nibp(VitalKind.NIBP_SYSTOLIC, 121.0, 2),
        nibp(VitalKind.NIBP_DIASTOLIC, 75.0, 2),
        nibp(VitalKind.NIBP_MEAN, 92.0, 2),
    ]
    device_events = [
        DeviceEvent(DeviceEventKind.CONNECTED, "ivy-450c", Stamp(at(0), 1000.0)),
        DeviceEvent(DeviceEventKind.FRAME_ERRORS, "ivy-450c", Stamp(at(3), 1180.0), "checksum", 120, 2),
    ]
    phases = [
        PhaseTransitionRecord(sid, "setup", "baseline", at(1), "Dr. Rivera"),
        PhaseTransitionRecord(sid, "baseline", "ready", at(6), "Dr. Rivera"),
        PhaseTransitionRecord(sid, "ready", "infusion", at(8), "Dr. Rivera"),
    ]
    baseline = BaselineRecord(
        sid,
        120.0,
        76.0,
        91.0,
        98.0,
        72.0,
        "Dr. Rivera",
        at(5),
        (BaselineOverride("systolic", 126.0, 120.0, "first reading taken while anxious"),),
    )
    thresholds = ThresholdSetRecord(
        "ts-1",
        sid,
        "Dr. Rivera",
        at(5),
        systolic_ceiling=170.0,
        diastolic_ceiling=105.0,
        hypotension_floor=90.0,
        spo2_floor=92.0,
        spo2_critical_floor=88.0,
        pulse_floor=50.0,
        pulse_ceiling=120.0,
        expected_rise_low=1.15,
        expected_rise_high=1.30,
    )
    change = ThresholdChangeRecord(
        "ts-1",
        sid,
        at(20),
        "Dr. Rivera",
        "systolic_ceiling",
        170.0,
        175.0,
        "baseline hypertensive, cleared by cardiology",
    )
    interval = NibpIntervalChangeRecord(sid, at(22), 300.0, 120.0, "rising toward threshold", "")
    alarms = [
        AlarmEventRecord(
            sid, "started", "bp_above_band", "medium", at(24), "", "SYS 165 above expected band"
        ),
        AlarmEventRecord(sid, "acknowledged", "bp_above_band", "medium", at(24.5), "RN Lee"),
        AlarmEventRecord(sid, "paused", "bp_above_band", "medium", at(24.6), "RN Lee", "2 min"),
    ]
    incident = IncidentOpenedRecord("inc-1", sid, at(24), "bp_spike", "BP spike during infusion", "RN Lee")
    run = ProtocolRunStartedRecord("run-1", "inc-1", "bp-spike", "1.2", "sha256:abc", at(24.2), "RN Lee")
    steps = [
        ProtocolStepRecord("run-1", 1, at(24.2), "RN Lee", "slow-infusion", "shown"),
        ProtocolStepRecord("run-1", 2, at(24.3), "RN Lee", "slow-infusion", "done", "rate halved"),
        ProtocolStepRecord("run-1", 3, at(25.0), "RN Lee", "recheck", "answered", "yes", "SYS 150"),
        ProtocolStepRecord("run-1", 4, at(25.5), "RN Lee", "recheck", "corrected", "no", "misread: SYS 162"),
    ]
    notes = [NoteRecord(sid, at(30), "Dr. Rivera", "patient calm, infusion resumed")]
    attestations = [
        AttestationRecord(sid, "readiness", "emergency medications in room", "RN Lee", at(7)),
        AttestationRecord(sid, "discharge", "sober adult driver present", "RN Lee", at(90)),
    ]
    failures: list[StorageFailure] = []
    writer = StorageWriter(first, clock, failures.append, batch_max=7, flush_interval_s=60.0)
    everything: list[StoredRecord] = [
        *(ObservationRecord(sid, o) for o in observations),
        *(DeviceEventRecord(sid, e) for e in device_events),
        phases[0],
        baseline,
        thresholds,
        *phases[1:],
        change,
        interval,
        *alarms,
        incident,
        run,
        *steps,
        ProtocolRunEndedRecord("run-1", at(27), "resolved"),
        IncidentClosedRecord("inc-1", at(28), "Dr. Rivera"),
        *notes,
        *attestations,
    ]
    for record in everything:
        writer.put(record)
    assert writer.close(timeout=10) == 0
    first.close()
    assert failures == []

    fresh = open_database(db_url)
    repository = SessionRepository(fresh)

    resumed = repository.latest_open_session()
    assert resumed is not None
    assert resumed.session_id == sid
    assert resumed.phase == "infusion"
    assert resumed.patient_mrn == "MRN-1"
    assert repository.observations(sid) == sorted(observations, key=lambda o: o.measured_at)
    assert repository.device_events(sid) == device_events
    assert repository.phase_transitions(sid) == phases
    assert repository.baselines(sid) == [baseline]
    assert repository.threshold_sets(sid) == [thresholds]
    assert repository.threshold_changes(sid) == [change]
    assert repository.nibp_interval_changes(sid) == [interval]
    assert repository.alarm_events(sid) == alarms
    assert repository.incidents(sid) == [
        IncidentSummary(
            "inc-1", sid, at(24), "bp_spike", "BP spike during infusion", "RN Lee", at(28), "Dr. Rivera"
        )
    ]
    assert repository.protocol_runs(sid) == [ProtocolRunSummary(run, tuple(steps), at(27), "resolved")]
    assert repository.notes(sid) == notes
    assert repository.attestations(sid) == attestations
    assert repository.attestations(sid, checklist="discharge") == attestations[1:]
    fresh.close()


def test_observations_can_be_read_from_a_time_and_of_chosen_kinds(db_url: str) -> None:
    db = open_database(db_url)
    sid = SessionRepository(db).create_session(clinician="Dr. Rivera", started_at=T0).session_id
    writer = StorageWriter(db, FakeClock(start=T0), lambda _f: None, flush_interval_s=60.0)
    for minutes, value in [(0, 118.0), (5, 135.0), (10, 150.0)]:
        writer.put(ObservationRecord(sid, nibp(VitalKind.NIBP_SYSTOLIC, value, minutes)))
        writer.put(ObservationRecord(sid, nibp(VitalKind.NIBP_DIASTOLIC, value / 2, minutes)))
    assert writer.flush(timeout=5)
    repository = SessionRepository(db)

    recent = repository.observations(sid, since=at(5), kinds=[VitalKind.NIBP_SYSTOLIC])

    assert [(o.kind, o.value) for o in recent] == [
        (VitalKind.NIBP_SYSTOLIC, 135.0),
        (VitalKind.NIBP_SYSTOLIC, 150.0),
    ]
    assert len(repository.observations(sid)) == 6
    writer.close()
    db.close()


def test_an_ended_session_is_not_resumed_after_a_restart(db_url: str) -> None:
    db = open_database(db_url)
    repository = SessionRepository(db)
    earlier = repository.create_session(clinician="Dr. Rivera", started_at=at(0))
    later = repository.create_session(clinician="Dr. Rivera", started_at=at(120))
    writer = StorageWriter(db, FakeClock(start=T0), lambda _f: None, flush_interval_s=60.0)

    assert repository.latest_open_session() == later
    writer.put(SessionEndedRecord(later.session_id, at(180)))
    assert writer.flush(timeout=5)

    assert repository.latest_open_session() == earlier
    assert repository.session(later.session_id).ended_at == at(180)
    assert [s.session_id for s in repository.sessions()] == [later.session_id, earlier.session_id]
    writer.close()
    db.close()


@pytest.mark.req("PRO-6")
def test_a_protocol_step_number_is_never_reused_a_correction_is_a_new_step(db_url: str) -> None:
    db = open_database(db_url)
    sid = SessionRepository(db).create_session(clinician="Dr. Rivera", started_at=T0).session_id
    failures: list[StorageFailure] = []
    writer = StorageWriter(db, FakeClock(start=T0), failures.append, flush_interval_s=60.0)
    writer.put(IncidentOpenedRecord("inc-1", sid, at(1), "emergence", "Emergence reaction", "RN Lee"))
    writer.put(ProtocolRunStartedRecord("run-1", "inc-1", "emergence", "1.0", "sha256:def", at(1), "RN Lee"))
    writer.put(ProtocolStepRecord("run-1", 1, at(1), "RN Lee", "quiet-room", "done"))
    writer.put(ProtocolStepRecord("run-1", 1, at(2), "RN Lee", "quiet-room", "skipped", note="an edit"))
    writer.put(ProtocolStepRecord("run-1", 2, at(2), "RN Lee", "quiet-room", "corrected", note="was skipped"))

    assert writer.flush(timeout=5)

    [run] = SessionRepository(db).protocol_runs(sid)
    assert [(s.seq, s.kind) for s in run.steps] == [(1, "done"), (2, "corrected")]
    assert [f.kind for f in failures] == [FailureKind.REJECTED]
    assert "unique" in failures[0].reason.lower()
    writer.close()
    db.close()


def test_an_unknown_session_id_is_a_specific_error(db_url: str) -> None:
    db = open_database(db_url)
    with pytest.raises(UnknownRecordError, match="no session nope"):
        SessionRepository(db).session("nope")
    db.close()


def test_ending_a_session_storage_never_saw_is_refused(db_url: str) -> None:
    db = open_database(db_url)
    failures: list[StorageFailure] = []
    writer = StorageWriter(db, FakeClock(start=T0), failures.append, flush_interval_s=60.0)

    writer.put(SessionEndedRecord("nope", at(5)))

    assert writer.flush(timeout=5)
    assert writer.rejected_count == 1
    assert "session nope is not in the database" in failures[0].reason
    writer.close()
    db.close()
