"""Incidents, debrief and review, what the patient was told (issue 9, DOC-2, DOC-3, DOC-4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import AlarmEvent, AlarmEventKind, AlarmPriority, ClinicalConfig, ConditionId
from bedside.workflow import (
    AuditTrail,
    IncidentClosedError,
    IncidentEntryError,
    IncidentService,
    IncidentSource,
    Outcome,
    ProtocolRef,
    RecordService,
    ReviewNotDue,
    SeriousCriterion,
    SignedIn,
)
from bedside.workflow.clinical import alarm_event_record
from bedside.workflow.incidents import AlarmNotStoredError
from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from storage import (
    AlarmEventRecord,
    Database,
    IncidentClosedRecord,
    IncidentOpenedRecord,
    ObservationRecord,
    ProtocolRunStartedRecord,
    SessionRepository,
    StorageFailure,
    StorageWriter,
    StoredRecord,
    UnknownRecordError,
)
from storage._apply import apply_records
from storage.clinical_record import ClinicalRecordRepository
from storage.records import IncidentAlarmLinkRecord

HASH = "sha256:" + "ab" * 32
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def session_id(db: Database, clock: FakeClock) -> str:
    """A session in room-1."""
    return (
        SessionRepository(db)
        .create_session(clinician="rivera", started_at=clock.now(), station="room-1")
        .session_id
    )


@pytest.fixture
def incidents(db: Database, clock: FakeClock, audit: AuditTrail, config: ClinicalConfig) -> IncidentService:
    """The incident service of room-1."""
    return IncidentService(db, clock, audit, config.incident_record)


@pytest.fixture
def record(db: Database, clock: FakeClock, audit: AuditTrail) -> RecordService:
    """The record service of room-1."""
    return RecordService(db, clock, audit)


def _put(db: Database, *records: StoredRecord) -> None:
    with db.engine.begin() as connection:
        apply_records(connection, list(records))


def _alarm_id(db: Database, session_id: str) -> int:
    return ClinicalRecordRepository(db).alarm_events(session_id)[-1].alarm_event_id


def _obs(session_id: str, at_offset_s: float, clock: FakeClock, value: float = 97.0) -> ObservationRecord:
    at = clock.now() + timedelta(seconds=at_offset_s)
    kind = VitalKind.SPO2
    return ObservationRecord(
        session_id, Observation(kind, value, CANONICAL_UNIT[kind], at, at, 0.0, "masimo-1", Quality.VALID)
    )


def _desk_incident(db: Database, session_id: str, clock: FakeClock) -> str:
    """An incident the protocol desk opened for a run, as it does (IncidentOpenedRecord + run)."""
    _put(
        db,
        IncidentOpenedRecord("desk-1", session_id, clock.now(), "bp-spike", "BP spike", "rivera"),
        ProtocolRunStartedRecord("run-1", "desk-1", "bp-spike", "1.2", HASH, clock.now(), "rivera"),
    )
    return "desk-1"


# --- DOC-2: opening, linking, vitals, closing ---


@pytest.mark.req("DOC-2")
def test_an_incident_opened_by_hand_is_listed_and_audited(
    incidents: IncidentService, audit: AuditTrail, clinician: SignedIn, session_id: str
) -> None:
    """DOC-2: an incident opened by hand is its own record, separate from notes, and audited."""
    opened = incidents.open_by_hand(clinician, session_id, "  Patient  dizzy on standing ")

    assert incidents.incidents(session_id) == [opened]
    shown = incidents.show(opened.incident_id)
    assert (shown.source, shown.incident.title, shown.incident.opened_by) == (
        IncidentSource.HAND,
        "Patient dizzy on standing",
        "rivera",
    )
    assert shown.outstanding == ("closing with an outcome", "debrief")
    last = list(audit.entries())[-1]
    assert (last.action, last.subject, last.details["source"]) == (
        "incident_opened",
        opened.incident_id,
        "hand",
    )


@pytest.mark.req("DOC-2")
def test_an_alarm_marked_as_an_event_opens_an_incident_at_the_alarm_linked_to_it(
    db: Database, incidents: IncidentService, session_id: str, clock: FakeClock
) -> None:
    """DOC-2: marking an alarm as an event opens the incident at the alarm's time, linked to that alarm."""
    alarm_at = clock.now()
    _put(db, AlarmEventRecord(session_id, "started", "spo2_low", "high", alarm_at, message="SpO2 88"))
    clock.advance(90)

    opened = incidents.open_from_alarm("rivera", _alarm_id(db, session_id))

    shown = incidents.show(opened.incident_id)
    assert shown.source is IncidentSource.ALARM
    assert shown.incident.opened_at == alarm_at
    assert shown.incident.title == "spo2 low (high)"
    assert [a.event.message for a in shown.alarm_events] == ["SpO2 88"]
    with pytest.raises(UnknownRecordError):
        incidents.open_from_alarm("rivera", 999_999)


@pytest.mark.req("DOC-2")
def test_an_incident_the_protocol_desk_opened_shows_its_run_pinned_to_the_version(
    db: Database, incidents: IncidentService, session_id: str, clock: FakeClock
) -> None:
    """DOC-2: the desk's incident (opened with its protocol run) shows its run's id, version, hash."""
    incident_id = _desk_incident(db, session_id, clock)

    shown = incidents.show(incident_id)

    assert shown.source is IncidentSource.PROTOCOL
    assert [(r.protocol_id, r.protocol_version, r.protocol_hash) for r in shown.protocol_runs] == [
        ("bp-spike", "1.2", HASH)
    ]


@pytest.mark.req("DOC-2")
def test_notes_markers_and_medications_link_only_within_their_session(
    db: Database, incidents: IncidentService, record: RecordService, session_id: str, clock: FakeClock
) -> None:
    """DOC-2: linked items show with the incident; an item of another session is refused."""
    opened = incidents.open_by_hand("rivera", session_id, "BP spike")
    note = record.add_note("rivera", session_id, "headache")
    marker = record.add_marker("rivera", session_id, "infusion paused")
    med = record.add_medication(
        "rivera", session_id, drug="labetalol", dose=10, unit="mg", route="IV", given_at=clock.now()
    )
    other = SessionRepository(db).create_session(clinician="lee", started_at=clock.now(), station="room-2")
    foreign = record.add_note("lee", other.session_id, "other room")

    incidents.link("rivera", opened.incident_id, "note", note.note_id)
    incidents.link("rivera", opened.incident_id, "marker", marker.marker_id)
    incidents.link("rivera", opened.incident_id, "medication", med.medication_id)
    with pytest.raises(IncidentEntryError, match="has no note"):
        incidents.link("rivera", opened.incident_id, "note", foreign.note_id)
    with pytest.raises(IncidentEntryError, match="cannot be linked"):
        incidents.link("rivera", opened.incident_id, "vitals", 1)

    shown = incidents.show(opened.incident_id)
    assert shown.notes == (note,) and shown.markers == (marker,) and shown.medications == (med,)


@pytest.mark.req("DOC-2")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offsets=st.lists(st.integers(-20 * 60, 30 * 60), max_size=25), edges=st.booleans())
def test_the_vitals_shown_are_those_around_the_opening_read_when_shown(
    db: Database,
    incidents: IncidentService,
    session_id: str,
    clock: FakeClock,
    config: ClinicalConfig,
    offsets: list[int],
    edges: bool,
) -> None:
    """DOC-2: the incident shows the session's vitals from vitals_before_min before its opening to
    vitals_after_min after (edges included), read fresh each time: a reading stored later appears."""
    before = int(config.incident_record.vitals_before_min * 60)
    after = int(config.incident_record.vitals_after_min * 60)
    if edges:
        offsets = [*offsets, -before, -before - 1, after, after + 1]
    opened = incidents.open_by_hand("rivera", session_id, "event")
    base = clock.now()
    _put(db, *(_obs(session_id, s, clock, value=float(i)) for i, s in enumerate(offsets)))

    shown = incidents.show(opened.incident_id)

    inside = sorted((s, float(i)) for i, s in enumerate(offsets) if -before <= s <= after)
    assert [(int((o.measured_at - base).total_seconds()), o.value) for o in shown.vitals] == inside
    _put(db, _obs(session_id, 0, clock, value=-1.0))
    assert len(incidents.show(opened.incident_id).vitals) == len(inside) + 1
    clock.advance(3600)  # the next example's incident opens an hour later, clear of this one's readings


@pytest.mark.req("DOC-2")
def test_a_closed_incident_cannot_be_closed_again_and_later_words_are_amendments(
    incidents: IncidentService, audit: AuditTrail, session_id: str, clock: FakeClock
) -> None:
    """DOC-2: closed once, with the outcome; a second closing is refused and changes nothing; text
    written after closing is an amendment beside the record."""
    opened = incidents.open_by_hand("rivera", session_id, "syncope")
    clock.advance(600)
    first = incidents.close("rivera", opened.incident_id, Outcome.TRANSFERRED)
    clock.advance(60)

    with pytest.raises(IncidentClosedError, match="closed"):
        incidents.close("lee", opened.incident_id, Outcome.RESOLVED_IN_CLINIC)
    incidents.amend("lee", opened.incident_id, "EMS reports patient stable at ED")

    shown = incidents.show(opened.incident_id)
    assert shown.closure == first
    assert (shown.incident.closed_at, shown.incident.closed_by) == (first.at, "rivera")
    assert [a.text for a in shown.amendments] == ["EMS reports patient stable at ED"]
    assert [e.action for e in audit.entries()][-3:] == [
        "incident_opened",
        "incident_closed",
        "incident_amended",
    ]


@pytest.mark.req("DOC-2")
def test_an_incident_the_desk_closed_cannot_be_closed_again(
    db: Database, incidents: IncidentService, session_id: str, clock: FakeClock
) -> None:
    """DOC-2: an incident closed through the writer (IncidentClosedRecord) counts as closed too."""
    incident_id = _desk_incident(db, session_id, clock)
    _put(db, IncidentClosedRecord(incident_id, clock.now(), "rivera"))

    with pytest.raises(IncidentClosedError):
        incidents.close("rivera", incident_id, "resolved_in_clinic")


@pytest.mark.req("DOC-2")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    attempts=st.lists(
        st.tuples(
            st.sampled_from([*(o.value for o in Outcome), "cured", ""]),
            st.sampled_from(["", "  ", "left against advice"]),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_only_the_first_valid_closing_counts(
    incidents: IncidentService, session_id: str, attempts: list[tuple[str, str]]
) -> None:
    """DOC-2: over any sequence of closings, an unknown outcome or "other" without words is refused and
    leaves the incident open; the first valid one closes it; every later one is refused."""
    opened = incidents.open_by_hand("rivera", session_id, "event")
    winner: tuple[str, str] | None = None
    for outcome, text in attempts:
        valid = outcome in {o.value for o in Outcome} and (outcome != "other" or text.strip() != "")
        if winner is None and valid:
            incidents.close("rivera", opened.incident_id, outcome, text)
            winner = (outcome, " ".join(text.split()))
        elif winner is None:
            with pytest.raises(IncidentEntryError):
                incidents.close("rivera", opened.incident_id, outcome, text)
        else:
            with pytest.raises((IncidentClosedError, IncidentEntryError)):
                incidents.close("rivera", opened.incident_id, outcome, text)
    closure = incidents.show(opened.incident_id).closure
    assert (None if closure is None else (closure.outcome, closure.outcome_text)) == winner


# --- DOC-3: debrief and review ---


def _debrief(incidents: IncidentService, incident_id: str, *serious: str, other: str = "") -> None:
    incidents.debrief(
        "rivera",
        incident_id,
        what_happened="BP 192/110 at 25 min",
        what_was_done="infusion paused, clonidine 0.1 mg PO",
        went_well="protocol started within a minute",
        to_improve="earlier BP cycle after the rise",
        protocol_followed="partly",
        serious=serious,
        serious_text=other,
    )


@pytest.mark.req("DOC-3")
def test_every_incident_gets_a_structured_debrief_and_a_new_one_supersedes(
    incidents: IncidentService, session_id: str, clock: FakeClock
) -> None:
    """DOC-3: the debrief's fields are all required; a later debrief is current and the first is kept."""
    opened = incidents.open_by_hand("rivera", session_id, "BP spike")
    with pytest.raises(IncidentEntryError, match="what went well"):
        incidents.debrief(
            "rivera",
            opened.incident_id,
            what_happened="x",
            what_was_done="y",
            went_well=" ",
            to_improve="z",
            protocol_followed="yes",
        )
    with pytest.raises(IncidentEntryError, match="yes, no or partly"):
        incidents.debrief(
            "rivera",
            opened.incident_id,
            what_happened="x",
            what_was_done="y",
            went_well="w",
            to_improve="z",
            protocol_followed="mostly",
        )
    _debrief(incidents, opened.incident_id)
    clock.advance(60)
    _debrief(incidents, opened.incident_id, "hospitalisation")

    shown = incidents.show(opened.incident_id)
    assert len(shown.debriefs) == 2
    assert shown.serious == (SeriousCriterion.HOSPITALISATION,)
    assert shown.review_due


@pytest.mark.req("DOC-3")
def test_a_formal_review_is_only_for_a_serious_event(incidents: IncidentService, session_id: str) -> None:
    """DOC-3: without a serious criterion there is no review due, and one asked for is refused."""
    opened = incidents.open_by_hand("rivera", session_id, "brief nausea")
    _debrief(incidents, opened.incident_id)
    assert not incidents.show(opened.incident_id).review_due
    with pytest.raises(ReviewNotDue):
        incidents.review(
            "director",
            opened.incident_id,
            protocol_followed="yes",
            needs_change=False,
            findings="fine",
            protocol=ProtocolRef("bp-spike", "1.2", HASH),
        )
    with pytest.raises(IncidentEntryError, match="other serious"):
        _debrief(incidents, opened.incident_id, "other_serious")


@pytest.mark.req("DOC-3")
def test_a_needs_change_review_pins_the_run_version_and_proposes_a_change_log_entry(
    db: Database, incidents: IncidentService, audit: AuditTrail, session_id: str, clock: FakeClock
) -> None:
    """DOC-3: the review is pinned to the protocol run's id, version and content hash; "needs change"
    produces a proposed change-log entry for that protocol (text only: no file is edited)."""
    incident_id = _desk_incident(db, session_id, clock)
    _debrief(incidents, incident_id, "intervention_to_prevent_harm")
    library = sorted((ROOT / "protocols" / "library").rglob("*"))
    before = {p: p.read_bytes() for p in library if p.is_file()}
    with pytest.raises(IncidentEntryError, match="what should change"):
        incidents.review(
            "director", incident_id, protocol_followed="partly", needs_change=True, findings="late"
        )

    review = incidents.review(
        "director",
        incident_id,
        protocol_followed="partly",
        needs_change=True,
        findings="BP recheck came late",
        proposed_change='Recheck BP after 5 min, not 10 ("sooner")',
    )

    assert (review.protocol_id, review.protocol_version, review.protocol_hash) == ("bp-spike", "1.2", HASH)
    assert "protocol bp-spike" in review.change_proposal and HASH in review.change_proposal
    assert 'version: "1.3"' in review.change_proposal
    assert '\\"sooner\\"' in review.change_proposal and 'who: "director"' in review.change_proposal
    shown = incidents.show(incident_id)
    assert shown.reviews == (review,) and not shown.review_due
    assert {p: p.read_bytes() for p in library if p.is_file()} == before
    assert list(audit.entries())[-1].details["protocol_hash"] == HASH


@pytest.mark.req("DOC-3")
def test_a_review_of_an_incident_without_a_run_names_the_protocol(
    incidents: IncidentService, session_id: str
) -> None:
    """DOC-3: an incident opened by hand ran no protocol: the review must say which version it judged."""
    opened = incidents.open_by_hand("rivera", session_id, "apnoea")
    _debrief(incidents, opened.incident_id, "life_threatening")
    with pytest.raises(IncidentEntryError, match="ran no protocol"):
        incidents.review(
            "director", opened.incident_id, protocol_followed="no", needs_change=False, findings="f"
        )

    review = incidents.review(
        "director",
        opened.incident_id,
        protocol_followed="no",
        needs_change=False,
        findings="airway protocol not opened",
        protocol=ProtocolRef("desaturation", "2", HASH),
    )
    assert review.change_proposal == "" and review.protocol_version == "2"


# --- DOC-4: what the patient was told ---


@pytest.mark.req("DOC-4")
def test_what_the_patient_was_told_is_kept_with_who_told_them_and_when(
    incidents: IncidentService, audit: AuditTrail, clinician: SignedIn, session_id: str, clock: FakeClock
) -> None:
    """DOC-4: observed, done, what it means; who told the patient and when (the recorder by default)."""
    opened = incidents.open_by_hand(clinician, session_id, "BP spike")
    clock.advance(900)
    told_at = clock.now() - timedelta(minutes=5)

    told = incidents.patient_told(
        clinician,
        opened.incident_id,
        observed="your blood pressure rose to 192/110",
        done="we paused the infusion and gave clonidine",
        meaning="next time we start lower and check BP sooner",
        told_at=told_at,
    )
    by_nurse = incidents.patient_told(
        clinician,
        opened.incident_id,
        observed="o",
        done="d",
        meaning="m",
        told_at=told_at,
        told_by="Nurse Kim",
    )

    shown = incidents.show(opened.incident_id)
    assert shown.patient_told == (told, by_nurse)
    assert (told.told_by, told.told_at, told.recorded_at) == ("rivera", told_at, clock.now())
    assert by_nurse.told_by == "Nurse Kim" and by_nurse.recorded_by == "rivera"
    assert list(audit.entries())[-1].action == "patient_told"


@pytest.mark.req("DOC-4")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset_s=st.one_of(st.integers(-3600, 3600), st.sampled_from([-1, 0, 1, -600, -601])))
def test_the_time_told_lies_between_the_opening_and_now(
    incidents: IncidentService, session_id: str, clock: FakeClock, offset_s: int
) -> None:
    """DOC-4: the patient is told after the incident opened and not in the future (both edges allowed)."""
    opened = incidents.open_by_hand("rivera", session_id, "event", at=clock.now() - timedelta(seconds=600))
    told_at = clock.now() + timedelta(seconds=offset_s)
    if -600 <= offset_s <= 0:
        incidents.patient_told(
            "rivera", opened.incident_id, observed="o", done="d", meaning="m", told_at=told_at
        )
    else:
        with pytest.raises(IncidentEntryError):
            incidents.patient_told(
                "rivera", opened.incident_id, observed="o", done="d", meaning="m", told_at=told_at
            )
    with pytest.raises(IncidentEntryError, match="what it means"):
        incidents.patient_told(
            "rivera", opened.incident_id, observed="o", done="d", meaning=" ", told_at=clock.now()
        )
    clock.advance(7200)


@pytest.mark.req("DOC-2")
def test_every_change_is_in_the_audit_chain(
    incidents: IncidentService, audit: AuditTrail, session_id: str, clock: FakeClock
) -> None:
    """DOC-2..DOC-4 / issue 9 "Audit": open, debrief, review, told, close and amend each append an entry
    and the chain verifies."""
    opened = incidents.open_by_hand("rivera", session_id, "event")
    _debrief(incidents, opened.incident_id, "disability")
    incidents.review(
        "director",
        opened.incident_id,
        protocol_followed="yes",
        needs_change=False,
        findings="ok",
        protocol=ProtocolRef("bp-spike", "1.2", HASH),
    )
    incidents.patient_told(
        "rivera", opened.incident_id, observed="o", done="d", meaning="m", told_at=clock.now()
    )
    incidents.close("rivera", opened.incident_id, "other", "left against advice")
    incidents.amend("rivera", opened.incident_id, "called next day")

    actions = [e.action for e in audit.entries() if e.subject == opened.incident_id]
    assert actions == [
        "incident_opened",
        "incident_debriefed",
        "incident_reviewed",
        "patient_told",
        "incident_closed",
        "incident_amended",
    ]
    assert audit.verify().intact


@pytest.mark.req("DOC-3")
def test_an_incident_stays_outstanding_until_closed_debriefed_and_if_serious_reviewed(
    incidents: IncidentService, session_id: str
) -> None:
    """DOC-3: "every event reviewed": the session lists an incident until it is closed, debriefed and,
    when serious, formally reviewed."""
    minor = incidents.open_by_hand("rivera", session_id, "nausea").incident_id
    serious = incidents.open_by_hand("rivera", session_id, "apnoea").incident_id
    for incident_id in (minor, serious):
        incidents.close("rivera", incident_id, "resolved_in_clinic")
    _debrief(incidents, minor)
    _debrief(incidents, serious, "life_threatening")

    assert [(r.incident.incident_id, r.outstanding) for r in incidents.outstanding(session_id)] == [
        (serious, ("formal review",))
    ]
    incidents.review(
        "director",
        serious,
        protocol_followed="yes",
        needs_change=False,
        findings="handled well",
        protocol=ProtocolRef("desaturation", "2", HASH),
    )
    assert incidents.outstanding(session_id) == []


# --- DOC-2: an alarm on screen finds its stored row (issue 10, incident from any alarm) ---

_CONDITIONS = ("spo2_low", "bp_high", "pulse_high", "device_disconnected")


@st.composite
def _alarm_streams(draw: st.DrawFn) -> list[AlarmEvent]:
    """Alarm events as the alarm system emits them: interleaved conditions and sources, several at
    one instant, acknowledgements and ends of the same alarm, audio pauses without a condition."""
    events: list[AlarmEvent] = []
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for n in range(draw(st.integers(1, 12))):
        at += timedelta(microseconds=draw(st.sampled_from([0, 0, 1, 250_000, 5_000_000])))
        kind = draw(st.sampled_from(list(AlarmEventKind)))
        audio = kind in (AlarmEventKind.PAUSED, AlarmEventKind.UNPAUSED)
        condition = None if audio else ConditionId(draw(st.sampled_from(_CONDITIONS)))
        source = draw(st.sampled_from(["oximeter", "nibp-1", "ecg"]))
        key = "" if condition is None else f"{condition.value}@{source}#{draw(st.integers(1, 3))}"
        events.append(
            AlarmEvent(
                kind,
                condition,
                key,
                None if audio else draw(st.sampled_from(list(AlarmPriority))),
                at.astimezone(timezone(timedelta(hours=draw(st.sampled_from([-5, 0, 1]))))),
                draw(st.sampled_from([None, "rivera"])),
                draw(st.sampled_from(["SpO2 84 % below floor 90 %", "BP 190/112", f"event {n}"])),
                source,
            )
        )
    return events


@pytest.mark.req("DOC-2")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(events=_alarm_streams(), pick=st.integers(0, 100))
def test_an_alarm_event_on_screen_finds_its_own_stored_row(
    db: Database,
    clock: FakeClock,
    incidents: IncidentService,
    session_id: str,
    events: list[AlarmEvent],
    pick: int,
) -> None:
    """Issue 10 (DOC-2): the monitor shows alarm events, storage keeps rows with ids, and nothing
    joined them, so "Open incident" on an alarm could not link it. Written through the real
    storage writer, every event's record (``alarm_event_record``) finds the row holding exactly it,
    whatever else happened at the same instant; the incident opened for it is linked to that row."""
    writer = StorageWriter(db, clock, lambda failure: None)
    try:
        for event in events:
            writer.put(alarm_event_record(session_id, event))
        writer.flush()
    finally:
        writer.close()
    stored = ClinicalRecordRepository(db).alarm_events(session_id)
    by_id = {a.alarm_event_id: a.event for a in stored}
    for event in events:
        record = alarm_event_record(session_id, event)
        found = incidents.stored_alarm_id(record)
        assert found is not None and by_id[found] == record
        assert found == min(i for i, e in by_id.items() if e == record)  # identical events: the first
    event = events[pick % len(events)]
    opened = incidents.open_for_alarm("rivera", alarm_event_record(session_id, event))
    shown = incidents.show(opened.incident_id)
    assert shown.source is IncidentSource.ALARM and shown.origin is not None
    assert by_id[shown.origin.alarm_event_id or -1] == alarm_event_record(session_id, event)
    assert shown.incident.opened_at == event.at


@pytest.mark.req("DOC-2")
def test_an_alarm_not_stored_yet_is_said_not_guessed(
    db: Database, incidents: IncidentService, session_id: str, clock: FakeClock
) -> None:
    """Issue 10 (DOC-2): an alarm whose row is not in the database (storage behind or down) is not
    linked to another row that looks alike: AlarmNotStoredError, and no incident is opened."""
    kept = AlarmEventRecord(session_id, "started", "spo2_low", "high", clock.now(), message="a: SpO2 88")
    _put(db, kept)
    for lost in (
        replace(kept, message="a: SpO2 87"),
        replace(kept, at=kept.at + timedelta(microseconds=1)),
        replace(kept, kind="ended"),
        replace(kept, session_id="another-session"),
    ):
        with pytest.raises(AlarmNotStoredError, match="not in the database yet"):
            incidents.open_for_alarm("rivera", lost)
    assert incidents.incidents(session_id) == []
    assert incidents.stored_alarm_id(kept) == _alarm_id(db, session_id)


@pytest.mark.req("DOC-2")
def test_the_desks_incident_links_the_alarm_that_offered_it_and_a_lost_alarm_never_stops_the_writer(
    db: Database, incidents: IncidentService, session_id: str, clock: FakeClock
) -> None:
    """Issue 10 (DOC-2): a protocol run an alarm offered opens its incident through the writer; the
    link to the alarm goes the same way, after the incident, and storage finds the alarm's row. An
    alarm that is not stored (never put) is left unlinked and logged: the writer goes on."""
    failures: list[StorageFailure] = []
    alarm = AlarmEventRecord(session_id, "started", "spo2_low", "high", clock.now(), message="a: SpO2 86")
    lost = replace(alarm, message="a: SpO2 85")
    writer = StorageWriter(db, clock, failures.append)
    try:
        writer.put(alarm)
        writer.put(IncidentOpenedRecord("desk-1", session_id, clock.now(), "resp", "SpO2 low", "rivera"))
        writer.put(IncidentAlarmLinkRecord("desk-1", alarm, clock.now(), "rivera"))
        writer.put(IncidentAlarmLinkRecord("desk-1", lost, clock.now(), "rivera"))
        writer.put(IncidentOpenedRecord("desk-2", session_id, clock.now(), "resp", "after", "rivera"))
        assert writer.flush(5.0)
    finally:
        writer.close()
    assert failures == []
    shown = incidents.show("desk-1")
    assert [a.event for a in shown.alarm_events] == [alarm]
    assert [(link.kind, link.who) for link in shown.links] == [("alarm", "rivera")]
    assert [i.incident_id for i in incidents.incidents(session_id)] == ["desk-1", "desk-2"]
