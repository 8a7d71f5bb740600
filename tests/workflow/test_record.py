"""The session record as the clinician writes it: notes, event markers, medications (issue 9, DOC-1)."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bedside.workflow import AuditTrail, RecordEntryError, RecordService, Route, SignedIn
from drivers.clock import FakeClock
from storage import (
    Database,
    IncidentOpenedRecord,
    ProtocolRunStartedRecord,
    ProtocolStepRecord,
    SessionRepository,
    UnknownRecordError,
)
from storage._apply import apply_records

pytestmark = pytest.mark.req("DOC-1")


@pytest.fixture
def session_id(db: Database, clock: FakeClock) -> str:
    """A session in room-1."""
    return (
        SessionRepository(db)
        .create_session(clinician="rivera", started_at=clock.now(), station="room-1")
        .session_id
    )


@pytest.fixture
def record(db: Database, clock: FakeClock, audit: AuditTrail) -> RecordService:
    """The record service of room-1."""
    return RecordService(db, clock, audit)


def test_a_note_is_kept_with_who_wrote_it_and_when(
    record: RecordService, audit: AuditTrail, clinician: SignedIn, session_id: str, clock: FakeClock
) -> None:
    """DOC-1: a note carries the signed-in clinician and the time; the audit trail names it."""
    clock.advance(60)
    stored = record.add_note(clinician, session_id, "  Patient reports mild nausea.  ")

    assert [n.note for n in record.notes(session_id)] == [stored.note]
    assert stored.note.who == "rivera"
    assert stored.note.at == clock.now()
    assert stored.note.text == "Patient reports mild nausea."
    last = list(audit.entries())[-1]
    assert (last.action, last.who, last.station, last.subject) == (
        "note_added",
        "rivera",
        "room-1",
        session_id,
    )
    assert audit.verify().intact


def test_an_empty_note_and_a_future_note_are_refused(
    record: RecordService, clinician: SignedIn, session_id: str, clock: FakeClock
) -> None:
    """DOC-1: nothing empty and nothing in the future goes into the record."""
    with pytest.raises(RecordEntryError, match="empty"):
        record.add_note(clinician, session_id, "   \n ")
    with pytest.raises(RecordEntryError, match="future"):
        record.add_note(clinician, session_id, "later", at=clock.now() + timedelta(seconds=1))
    assert record.notes(session_id) == []


def test_an_event_marker_keeps_its_time_who_and_station(
    record: RecordService, audit: AuditTrail, session_id: str, clock: FakeClock
) -> None:
    """DOC-1: a marker entered late keeps the time it happened and when it was entered, by name too."""
    happened = clock.now()
    clock.advance(120)
    marker = record.add_marker("Nurse Kim", session_id, "patient   vomited", at=happened, note="once, small")

    assert record.markers(session_id) == [marker]
    assert (marker.at, marker.recorded_at) == (happened, clock.now())
    assert (marker.who, marker.station, marker.label) == ("Nurse Kim", "room-1", "patient vomited")
    assert list(audit.entries())[-1].action == "event_marker_added"


def test_a_medication_is_kept_exactly_as_entered(
    record: RecordService, audit: AuditTrail, clinician: SignedIn, session_id: str, clock: FakeClock
) -> None:
    """DOC-1: drug, dose, unit, route, time given and who, as entered; Bedside computes nothing."""
    given_at = clock.now()
    clock.advance(300)
    med = record.add_medication(
        clinician, session_id, drug="ondansetron", dose=4, unit="mg", route="iv", given_at=given_at
    )

    (stored,) = record.medications(session_id)
    assert stored == med
    assert (stored.drug, stored.dose, stored.unit, stored.route) == ("ondansetron", 4.0, "mg", "IV")
    assert (stored.given_at, stored.recorded_at, stored.who, stored.station) == (
        given_at,
        clock.now(),
        "rivera",
        "room-1",
    )
    details = list(audit.entries())[-1].details
    assert details["drug"] == "ondansetron" and details["dose"] == 4.0 and details["route"] == "IV"


def test_a_naive_time_and_an_unknown_session_are_refused(record: RecordService, session_id: str) -> None:
    """DOC-1: a time without a zone is ambiguous; a session id that does not exist is named."""
    with pytest.raises(RecordEntryError, match="time zone"):
        record.add_medication(
            "rivera",
            session_id,
            drug="midazolam",
            dose=1,
            unit="mg",
            route=Route.IV,
            given_at=datetime(2026, 1, 1),
        )
    with pytest.raises(UnknownRecordError, match="no session"):
        record.add_note("rivera", "no-such-session", "text")


KNOWN_ROUTES = [r.value for r in Route] + [r.words for r in Route] + [r.value.lower() for r in Route]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    drug=st.one_of(st.just(""), st.just("   "), st.sampled_from(["ondansetron", "clonidine", "labetalol"])),
    dose=st.one_of(
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([0.0, -0.0, 5e-324, -1.0, 1.0]),
        st.integers(-5, 5),
    ),
    route=st.one_of(st.sampled_from(KNOWN_ROUTES), st.sampled_from(["", "oral-ish", "IVP", "rectal"])),
    offset_us=st.one_of(
        st.integers(-4 * 3600 * 10**6, 4 * 3600 * 10**6), st.sampled_from([0, 1, -1, 10**6, -(10**6)])
    ),
)
def test_a_medication_is_accepted_exactly_when_every_check_holds(
    record: RecordService,
    session_id: str,
    clock: FakeClock,
    drug: str,
    dose: float,
    route: str,
    offset_us: int,
) -> None:
    """DOC-1: accepted iff a drug is named, the dose is a positive finite number, the route is known and
    the time given is not in the future (to the microsecond); a refusal stores nothing."""
    before = len(record.medications(session_id))
    given_at = clock.now() + timedelta(microseconds=offset_us)
    valid = (
        bool(drug.strip()) and math.isfinite(dose) and dose > 0 and route in KNOWN_ROUTES and offset_us <= 0
    )
    if valid:
        med = record.add_medication(
            "rivera", session_id, drug=drug, dose=dose, unit="mg", route=route, given_at=given_at
        )
        assert med.dose == float(dose) and med.given_at == given_at
        assert len(record.medications(session_id)) == before + 1
    else:
        with pytest.raises(RecordEntryError):
            record.add_medication(
                "rivera", session_id, drug=drug, dose=dose, unit="mg", route=route, given_at=given_at
            )
        assert len(record.medications(session_id)) == before


def test_the_timeline_shows_protocol_step_medications_beside_entered_ones(
    db: Database, record: RecordService, session_id: str, clock: FakeClock
) -> None:
    """DOC-1: a medication given as a protocol step (PRO-6) is in the record already; the timeline shows
    it with the entered ones, by time given, without a second copy."""
    start = clock.now()
    with db.engine.begin() as connection:
        apply_records(
            connection,
            [
                IncidentOpenedRecord("inc-1", session_id, start, "bp-spike", "BP spike", "rivera"),
                ProtocolRunStartedRecord(
                    "run-1", "inc-1", "bp-spike", "1.0", "sha256:" + "0" * 64, start, "rivera"
                ),
                ProtocolStepRecord(
                    "run-1",
                    1,
                    start + timedelta(minutes=3),
                    "rivera",
                    "clonidine",
                    "medication_given",
                    value="clonidine 0.1 mg PO",
                    occurred_at=start + timedelta(minutes=2),
                ),
            ],
        )
    clock.advance(600)
    record.add_medication(
        "rivera",
        session_id,
        drug="ondansetron",
        dose=4,
        unit="mg",
        route="IV",
        given_at=start + timedelta(minutes=1),
    )

    timeline = record.medication_timeline(session_id)

    assert [(e.text, e.source) for e in timeline] == [
        ("ondansetron 4 mg IV", "entered"),
        ("clonidine 0.1 mg PO", "protocol step"),
    ]
    assert timeline[1].given_at == start + timedelta(minutes=2)
