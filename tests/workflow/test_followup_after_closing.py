"""DOC-7: follow-up that does not depend on anyone remembering. Closing an incident schedules the
contacts its event type calls for (audited); an "adjust: earlier BP threshold" outcome becomes a
suggested threshold change for the patient's next session that only a clinician's confirmation puts
in force (audited)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from alarms import ClinicalConfig, ThresholdError, load_config
from bedside.workflow import AuditTrail, PatientService, SignedIn
from bedside.workflow.audit import trail_sink
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.followup import FollowUpService, session_thresholds, suggested_thresholds
from bedside.workflow.incidents import IncidentService
from drivers.clock import FakeClock
from storage import Database, open_database
from storage.full_record import FullSessionRecord, write_full_record
from tests.workflow.followup_records import registered_patient
from tests.workflow.sample_session import sample_record


def _open_incident_session(db: Database, *, drill: bool = False) -> FullSessionRecord:
    """The sample session (patient MRN-20417, a BP-spike protocol incident) with its incident open."""
    sample = sample_record(drill=drill)
    record = replace(
        sample,
        incidents=(replace(sample.incidents[0], closed_at=None, closed_by=""),),
        incident_documentation=(),
    )
    write_full_record(db, record)
    return record


@pytest.mark.req("DOC-7")
def test_closing_an_incident_schedules_its_event_types_follow_ups_audited(
    db: Database, clock: FakeClock, audit: AuditTrail, config: ClinicalConfig, clinician: SignedIn
) -> None:
    """Issue 9 DOC-7: closing the BP-spike incident schedules a phone call within 24 h and an extra
    visit, from the incident's opening, for the session's patient; the audit trail says who did it."""
    record = _open_incident_session(db)
    incident = record.incidents[0]
    service = IncidentService(db, clock, audit, config.incident_record, config.follow_up)
    service.close(clinician, incident.incident_id, "resolved_in_clinic")
    scheduled = FollowUpService(db, clock, audit, config.follow_up).open_follow_ups()
    assert [(f.item.contact, f.item.event_type) for f in scheduled] == [
        ("phone_call", "bp-spike"),
        ("extra_visit", "bp-spike"),
    ]
    assert all(f.item.incident_id == incident.incident_id for f in scheduled)
    assert all(f.item.patient_ref == "MRN-20417" for f in scheduled)
    assert scheduled[0].item.due_by == incident.opened_at + timedelta(hours=24)
    assert [s.follow_up_id for s in service.scheduled] == [f.follow_up_id for f in scheduled]
    entries = [(e.who, e.action, e.subject) for e in audit.entries()]
    assert (clinician.who, "incident_closed", incident.incident_id) in entries
    assert (clinician.who, "follow_up_scheduled", incident.incident_id) in entries
    assert audit.verify().intact


@pytest.mark.req("DOC-7")
@pytest.mark.req("DRL-1")
def test_closing_a_drill_incident_schedules_nothing(
    tmp_path: object, clock: FakeClock, config: ClinicalConfig
) -> None:
    """Issue 9 DOC-7, DRL-1: a drill has no patient to call: closing its incident schedules nothing."""
    from pathlib import Path

    drill_db = open_database(f"sqlite:///{Path(str(tmp_path)) / 'drills.sqlite3'}", drill=True)
    try:
        record = _open_incident_session(drill_db, drill=True)
        audit = AuditTrail(drill_db, clock, station="room-1")
        service = IncidentService(drill_db, clock, audit, config.incident_record, config.follow_up)
        service.close("rivera", record.incidents[0].incident_id, "resolved_in_clinic")
        assert service.scheduled == []
    finally:
        drill_db.close()


@pytest.mark.req("DOC-7")
@pytest.mark.req("THR-1")
def test_adjust_outcome_suggests_next_thresholds_that_only_a_clinicians_confirmation_applies(
    db: Database,
    clock: FakeClock,
    audit: AuditTrail,
    config: ClinicalConfig,
    clinician: SignedIn,
    patients: PatientService,
) -> None:
    """Issue 9 DOC-7: "adjust: earlier BP threshold" on the phone call gives the patient's next session
    ceilings lower by the clinic's step, from the thresholds in force at the end of the last session
    (its change to 170 included); the next session holds them only after a named clinician confirms."""
    record = _open_incident_session(db)
    patient = registered_patient(patients, clinician)
    assert suggested_thresholds(db, patient.patient_id, config) is None
    incidents = IncidentService(db, clock, audit, config.incident_record, config.follow_up)
    incidents.close(clinician, record.incidents[0].incident_id, "resolved_in_clinic")
    call = incidents.scheduled[0]
    FollowUpService(db, clock, audit, config.follow_up).close(
        clinician, call.follow_up_id, "adjust", adjustments=["earlier_bp_threshold"]
    )
    in_force = session_thresholds(db, record.session.session_id, config)
    assert in_force.systolic_ceiling == 170  # the confirmed 160, changed to 170 during the session
    suggestion = suggested_thresholds(db, patient.patient_id, config)
    assert suggestion is not None
    step = config.follow_up.earlier_bp_threshold_mmhg
    assert suggestion.suggested.systolic_ceiling == 170 - step
    assert suggestion.suggested.diastolic_ceiling == in_force.diastolic_ceiling - step
    assert suggestion.suggested.confirmed_by is None

    session_audit = AuditTrail(db, clock, station="room-1")
    nxt = ClinicalSession(
        clock,
        load_config(),
        session_id="next",
        record=lambda _r: None,
        nibp_link_send=None,
        nibp_start_command=None,
        audit=trail_sink(session_audit),
    )
    assert not nxt.thresholds.has_confirmed_set
    with pytest.raises(ThresholdError):
        nxt.accept_suggested_thresholds(suggestion.suggested, suggestion.reason, " ")
    confirmed = nxt.accept_suggested_thresholds(suggestion.suggested, suggestion.reason, "Dr. Rivera")
    assert confirmed.confirmed_by == "Dr. Rivera"
    assert confirmed.systolic_ceiling == 170 - step
    accepted = [e for e in audit.entries() if e.action == "suggested_thresholds_confirmed"]
    assert [(e.who, e.subject, e.details["reason"]) for e in accepted] == [
        ("Dr. Rivera", "next", suggestion.reason)
    ]
