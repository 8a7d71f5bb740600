"""The clinical record as stored (issue 9, DOC-1..DOC-4): notes, event markers, medications given,
and everything an incident gathers after it is opened.

Rules (what may be entered, when an incident may be closed, when a review is due) live in
``bedside.workflow.record`` and ``bedside.workflow.incidents``; this module keeps the rows and
makes each change one committed transaction. Nothing here is ever updated in place except the
existing ``incidents.closed_at``/``closed_by`` columns, which a closing fills once: everything else
is inserted, so a later edit is a new row beside the old one (append-only).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from drivers.types import Observation
from storage.database import Database
from storage.errors import StorageError, UnknownRecordError
from storage.records import AlarmEventRecord, IncidentSummary, NoteRecord
from storage.repository import observation_of
from storage.schema import (
    AlarmEventRow,
    EventMarkerRow,
    IncidentAmendmentRow,
    IncidentClosureRow,
    IncidentDebriefRow,
    IncidentLinkRow,
    IncidentOriginRow,
    IncidentReviewRow,
    IncidentRow,
    MedicationGivenRow,
    NoteRow,
    ObservationRow,
    PatientToldRow,
    ProtocolRunRow,
    SessionRow,
)

log = logging.getLogger(__name__)


class IncidentAlreadyClosedError(StorageError):
    """The incident was closed already (here or at another station): a closing happens once."""


@dataclass(frozen=True, slots=True)
class StoredNote:
    """A note as stored, with its row id (what an incident links to)."""

    note_id: int
    note: NoteRecord


@dataclass(frozen=True, slots=True)
class EventMarker:
    """A time-stamped event marker: what happened (``label``) at ``at``, entered by ``who`` at ``station``."""

    marker_id: int
    session_id: str
    at: datetime
    recorded_at: datetime
    who: str
    station: str
    label: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class MedicationGiven:
    """A medication given as the clinician entered it (never computed by Bedside)."""

    medication_id: int
    session_id: str
    given_at: datetime
    recorded_at: datetime
    who: str
    station: str
    drug: str
    dose: float
    unit: str
    route: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class StoredAlarmEvent:
    """An alarm event with its row id (what an incident opened from an alarm points at)."""

    alarm_event_id: int
    event: AlarmEventRecord


@dataclass(frozen=True, slots=True)
class IncidentOrigin:
    """How an incident came to be: "alarm" (with the alarm event) or "hand"; protocol runs have none."""

    source: str
    station: str
    alarm_event_id: int | None


@dataclass(frozen=True, slots=True)
class IncidentLink:
    """Something linked to an incident: ``kind`` "alarm", "note", "marker" or "medication", and its id."""

    kind: str
    ref: str
    at: datetime
    who: str


@dataclass(frozen=True, slots=True)
class IncidentClosure:
    """The closing of an incident with its outcome."""

    at: datetime
    who: str
    station: str
    outcome: str
    outcome_text: str = ""


@dataclass(frozen=True, slots=True)
class IncidentAmendment:
    """An addition to an incident written later (after closing too)."""

    at: datetime
    who: str
    station: str
    text: str


@dataclass(frozen=True, slots=True)
class Debrief:
    """A structured debrief (DOC-3); ``serious`` holds the serious criteria met, if any."""

    at: datetime
    who: str
    station: str
    what_happened: str
    what_was_done: str
    went_well: str
    to_improve: str
    protocol_followed: str
    serious: tuple[str, ...] = ()
    serious_text: str = ""


@dataclass(frozen=True, slots=True)
class Review:
    """A formal review of a serious incident against the protocol version that ran (DOC-3)."""

    at: datetime
    who: str
    station: str
    protocol_id: str
    protocol_version: str
    protocol_hash: str
    protocol_followed: str
    needs_change: bool
    findings: str
    change_proposal: str = ""


@dataclass(frozen=True, slots=True)
class PatientTold:
    """What the patient was told (DOC-4): observed, done, what it means; who told them, when."""

    observed: str
    done: str
    meaning: str
    told_by: str
    told_at: datetime
    recorded_by: str
    recorded_at: datetime
    station: str


@dataclass(frozen=True, slots=True)
class ProtocolRunRef:
    """A protocol run of an incident, pinned to the protocol's id, version and content hash."""

    run_id: str
    protocol_id: str
    protocol_version: str
    protocol_hash: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    outcome: str


def _incident(row: IncidentRow) -> IncidentSummary:
    return IncidentSummary(
        incident_id=row.id,
        session_id=row.session_id,
        opened_at=row.opened_at,
        kind=row.kind,
        title=row.title,
        opened_by=row.opened_by,
        closed_at=row.closed_at,
        closed_by=row.closed_by,
    )


def _marker(row: EventMarkerRow) -> EventMarker:
    return EventMarker(
        row.id, row.session_id, row.at, row.recorded_at, row.who, row.station, row.label, row.note
    )


def _medication(row: MedicationGivenRow) -> MedicationGiven:
    return MedicationGiven(
        row.id,
        row.session_id,
        row.given_at,
        row.recorded_at,
        row.who,
        row.station,
        row.drug,
        row.dose,
        row.unit,
        row.route,
        row.note,
    )


def _alarm(row: AlarmEventRow) -> StoredAlarmEvent:
    return StoredAlarmEvent(
        row.id,
        AlarmEventRecord(
            row.session_id, row.kind, row.condition, row.priority, row.at, row.person, row.message
        ),
    )


class ClinicalRecordRepository:
    """Reads and adds to the clinical record; each method is one transaction, committed on return."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- session record (DOC-1) ---

    @staticmethod
    def _require_session(session: Session, session_id: str) -> None:
        if session.get(SessionRow, session_id) is None:
            raise UnknownRecordError(f"no session with id {session_id!r}: check the id with 'bedside export'")

    def add_note(self, session_id: str, *, at: datetime, who: str, text: str) -> StoredNote:
        """Store a note in the session's existing notes table."""
        with self._db.session() as session:
            self._require_session(session, session_id)
            row = NoteRow(session_id=session_id, at=at, who=who, text=text)
            session.add(row)
            session.flush()
            return StoredNote(row.id, NoteRecord(session_id, at, who, text))

    def notes(self, session_id: str) -> list[StoredNote]:
        """The session's notes, oldest first, with their ids."""
        query = select(NoteRow).where(NoteRow.session_id == session_id).order_by(NoteRow.at, NoteRow.id)
        with self._db.session() as session:
            return [
                StoredNote(r.id, NoteRecord(r.session_id, r.at, r.who, r.text))
                for r in session.scalars(query)
            ]

    def add_marker(
        self,
        session_id: str,
        *,
        at: datetime,
        recorded_at: datetime,
        who: str,
        station: str,
        label: str,
        note: str,
    ) -> EventMarker:
        """Store an event marker."""
        with self._db.session() as session:
            self._require_session(session, session_id)
            row = EventMarkerRow(
                session_id=session_id,
                at=at,
                recorded_at=recorded_at,
                who=who,
                station=station,
                label=label,
                note=note,
            )
            session.add(row)
            session.flush()
            return _marker(row)

    def markers(self, session_id: str) -> list[EventMarker]:
        """The session's event markers in the order they happened."""
        query = (
            select(EventMarkerRow)
            .where(EventMarkerRow.session_id == session_id)
            .order_by(EventMarkerRow.at, EventMarkerRow.id)
        )
        with self._db.session() as session:
            return [_marker(r) for r in session.scalars(query)]

    def add_medication(
        self,
        session_id: str,
        *,
        given_at: datetime,
        recorded_at: datetime,
        who: str,
        station: str,
        drug: str,
        dose: float,
        unit: str,
        route: str,
        note: str,
    ) -> MedicationGiven:
        """Store a medication given."""
        with self._db.session() as session:
            self._require_session(session, session_id)
            row = MedicationGivenRow(
                session_id=session_id,
                given_at=given_at,
                recorded_at=recorded_at,
                who=who,
                station=station,
                drug=drug,
                dose=dose,
                unit=unit,
                route=route,
                note=note,
            )
            session.add(row)
            session.flush()
            return _medication(row)

    def medications(self, session_id: str) -> list[MedicationGiven]:
        """The session's medications in the order they were given."""
        query = (
            select(MedicationGivenRow)
            .where(MedicationGivenRow.session_id == session_id)
            .order_by(MedicationGivenRow.given_at, MedicationGivenRow.id)
        )
        with self._db.session() as session:
            return [_medication(r) for r in session.scalars(query)]

    def alarm_events(self, session_id: str) -> list[StoredAlarmEvent]:
        """The session's alarm events with their ids, oldest first."""
        query = (
            select(AlarmEventRow)
            .where(AlarmEventRow.session_id == session_id)
            .order_by(AlarmEventRow.at, AlarmEventRow.id)
        )
        with self._db.session() as session:
            return [_alarm(r) for r in session.scalars(query)]

    def alarm_event(self, alarm_event_id: int) -> StoredAlarmEvent:
        """One alarm event by id; UnknownRecordError when there is none."""
        with self._db.session() as session:
            row = session.get(AlarmEventRow, alarm_event_id)
            if row is None:
                raise UnknownRecordError(f"no alarm event with id {alarm_event_id}")
            return _alarm(row)

    def alarm_event_id_of(self, record: AlarmEventRecord) -> int | None:
        """The row id an alarm event record was stored under, or None while it is not stored yet.

        The record itself is the key: the monitor builds it the same way each time from the alarm
        event it shows (session, time, kind, condition, priority, person and the message with the
        alarm's key), so the app finds the stored row without the writer handing ids back. Two
        identical records (never made by one alarm system) would be the same event: the first wins.
        """
        query = (
            select(AlarmEventRow)
            .where(AlarmEventRow.session_id == record.session_id, AlarmEventRow.at == record.at)
            .order_by(AlarmEventRow.id)
        )
        with self._db.session() as session:
            for row in session.scalars(query):
                if _alarm(row).event == record:
                    return row.id
        return None

    def observations_between(self, session_id: str, start: datetime, end: datetime) -> list[Observation]:
        """The session's vitals measured from ``start`` to ``end`` (inclusive), in measurement order.

        Read straight from the observations table each time: an incident shows the vitals around
        it without a copy that could disagree with the session's own record.
        """
        query = (
            select(ObservationRow)
            .where(
                ObservationRow.session_id == session_id,
                ObservationRow.measured_at >= start,
                ObservationRow.measured_at <= end,
            )
            .order_by(ObservationRow.measured_at, ObservationRow.id)
        )
        with self._db.session() as session:
            return [observation_of(r) for r in session.scalars(query)]

    # --- incidents (DOC-2) ---

    def open_incident(
        self,
        session_id: str,
        *,
        at: datetime,
        kind: str,
        title: str,
        who: str,
        station: str,
        source: str,
        alarm_event_id: int | None,
    ) -> IncidentSummary:
        """Open an incident by hand or from an alarm event (protocol runs open theirs in the desk)."""
        incident_id = str(uuid.uuid4())
        with self._db.session() as session:
            self._require_session(session, session_id)
            if alarm_event_id is not None:
                alarm = session.get(AlarmEventRow, alarm_event_id)
                if alarm is None or alarm.session_id != session_id:
                    raise UnknownRecordError(f"session {session_id} has no alarm event {alarm_event_id}")
            row = IncidentRow(
                id=incident_id,
                session_id=session_id,
                opened_at=at,
                kind=kind,
                title=title,
                opened_by=who,
                closed_at=None,
                closed_by="",
            )
            session.add(row)
            session.flush()  # the incident row first: the origin and link reference it
            session.add(
                IncidentOriginRow(
                    incident_id=incident_id, source=source, station=station, alarm_event_id=alarm_event_id
                )
            )
            if alarm_event_id is not None:
                session.add(
                    IncidentLinkRow(
                        incident_id=incident_id, kind="alarm", ref=str(alarm_event_id), at=at, who=who
                    )
                )
            return _incident(row)

    def incident(self, incident_id: str) -> IncidentSummary:
        """One incident by id; UnknownRecordError when there is none."""
        with self._db.session() as session:
            row = session.get(IncidentRow, incident_id)
            if row is None:
                raise UnknownRecordError(
                    f"no incident with id {incident_id!r}: list them with 'bedside incident list'"
                )
            return _incident(row)

    def incidents(self, session_id: str) -> list[IncidentSummary]:
        """The session's incidents in the order they were opened (protocol runs' ones too)."""
        query = (
            select(IncidentRow)
            .where(IncidentRow.session_id == session_id)
            .order_by(IncidentRow.opened_at, IncidentRow.id)
        )
        with self._db.session() as session:
            self._require_session(session, session_id)  # an unknown session is named, not shown as empty
            return [_incident(r) for r in session.scalars(query)]

    def origin(self, incident_id: str) -> IncidentOrigin | None:
        """How the incident was opened; None for one opened by a protocol run."""
        with self._db.session() as session:
            row = session.get(IncidentOriginRow, incident_id)
            return None if row is None else IncidentOrigin(row.source, row.station, row.alarm_event_id)

    def add_link(self, incident_id: str, *, kind: str, ref: str, at: datetime, who: str) -> IncidentLink:
        """Link something to an incident."""
        with self._db.session() as session:
            self._require_incident(session, incident_id)
            session.add(IncidentLinkRow(incident_id=incident_id, kind=kind, ref=ref, at=at, who=who))
        return IncidentLink(kind, ref, at, who)

    def links(self, incident_id: str) -> list[IncidentLink]:
        """What is linked to the incident, in the order it was linked."""
        query = (
            select(IncidentLinkRow)
            .where(IncidentLinkRow.incident_id == incident_id)
            .order_by(IncidentLinkRow.id)
        )
        with self._db.session() as session:
            return [IncidentLink(r.kind, r.ref, r.at, r.who) for r in session.scalars(query)]

    def protocol_runs(self, incident_id: str) -> list[ProtocolRunRef]:
        """The protocol runs started for the incident, oldest first."""
        query = (
            select(ProtocolRunRow)
            .where(ProtocolRunRow.incident_id == incident_id)
            .order_by(ProtocolRunRow.started_at, ProtocolRunRow.id)
        )
        with self._db.session() as session:
            return [
                ProtocolRunRef(
                    r.id,
                    r.protocol_id,
                    r.protocol_version,
                    r.protocol_hash,
                    r.started_at,
                    r.started_by,
                    r.ended_at,
                    r.outcome,
                )
                for r in session.scalars(query)
            ]

    def close_incident(
        self, incident_id: str, *, at: datetime, who: str, station: str, outcome: str, outcome_text: str
    ) -> IncidentClosure:
        """Close the incident once; IncidentAlreadyClosedError when it is closed already."""
        try:
            with self._db.session() as session:
                # FOR UPDATE: two stations closing at once must not both see it open (PostgreSQL).
                row = session.get(IncidentRow, incident_id, with_for_update=True)
                if row is None:
                    raise UnknownRecordError(f"no incident with id {incident_id!r}")
                if row.closed_at is not None or session.get(IncidentClosureRow, incident_id) is not None:
                    raise IncidentAlreadyClosedError(self._closed_message(row))
                row.closed_at = at
                row.closed_by = who
                session.add(
                    IncidentClosureRow(
                        incident_id=incident_id,
                        at=at,
                        who=who,
                        station=station,
                        outcome=outcome,
                        outcome_text=outcome_text,
                    )
                )
        except IntegrityError:
            # The closure's primary key: another station closed it between our read and our write.
            raise IncidentAlreadyClosedError(
                f"incident {incident_id} was closed at another station just now: add to it instead"
            ) from None
        return IncidentClosure(at, who, station, outcome, outcome_text)

    @staticmethod
    def _closed_message(row: IncidentRow) -> str:
        when = f"{row.closed_at:%Y-%m-%d %H:%M} UTC" if row.closed_at is not None else "earlier"
        by = f" by {row.closed_by}" if row.closed_by else ""
        return f"incident {row.id} was closed {when}{by}: add an amendment instead of closing it again"

    def closure(self, incident_id: str) -> IncidentClosure | None:
        """The incident's closing with its outcome, if it was closed here (None otherwise)."""
        with self._db.session() as session:
            row = session.get(IncidentClosureRow, incident_id)
            if row is None:
                return None
            return IncidentClosure(row.at, row.who, row.station, row.outcome, row.outcome_text)

    def add_amendment(
        self, incident_id: str, *, at: datetime, who: str, station: str, text: str
    ) -> IncidentAmendment:
        """Add to an incident (before or after closing) without touching what was written."""
        with self._db.session() as session:
            self._require_incident(session, incident_id)
            session.add(
                IncidentAmendmentRow(incident_id=incident_id, at=at, who=who, station=station, text=text)
            )
        return IncidentAmendment(at, who, station, text)

    def amendments(self, incident_id: str) -> list[IncidentAmendment]:
        """The incident's amendments, oldest first."""
        query = (
            select(IncidentAmendmentRow)
            .where(IncidentAmendmentRow.incident_id == incident_id)
            .order_by(IncidentAmendmentRow.id)
        )
        with self._db.session() as session:
            return [IncidentAmendment(r.at, r.who, r.station, r.text) for r in session.scalars(query)]

    @staticmethod
    def _require_incident(session: Session, incident_id: str) -> None:
        if session.get(IncidentRow, incident_id) is None:
            raise UnknownRecordError(
                f"no incident with id {incident_id!r}: list them with 'bedside incident list'"
            )

    # --- debrief and review (DOC-3), what the patient was told (DOC-4) ---

    def add_debrief(self, incident_id: str, debrief: Debrief) -> Debrief:
        """Store a debrief; a later one supersedes it when shown, the old one stays."""
        with self._db.session() as session:
            self._require_incident(session, incident_id)
            session.add(
                IncidentDebriefRow(
                    incident_id=incident_id,
                    at=debrief.at,
                    who=debrief.who,
                    station=debrief.station,
                    what_happened=debrief.what_happened,
                    what_was_done=debrief.what_was_done,
                    went_well=debrief.went_well,
                    to_improve=debrief.to_improve,
                    protocol_followed=debrief.protocol_followed,
                    serious=list(debrief.serious),
                    serious_text=debrief.serious_text,
                )
            )
        return debrief

    def debriefs(self, incident_id: str) -> list[Debrief]:
        """Every debrief of the incident, oldest first (the last one is current)."""
        query = (
            select(IncidentDebriefRow)
            .where(IncidentDebriefRow.incident_id == incident_id)
            .order_by(IncidentDebriefRow.id)
        )
        with self._db.session() as session:
            return [
                Debrief(
                    r.at,
                    r.who,
                    r.station,
                    r.what_happened,
                    r.what_was_done,
                    r.went_well,
                    r.to_improve,
                    r.protocol_followed,
                    tuple(r.serious),
                    r.serious_text,
                )
                for r in session.scalars(query)
            ]

    def add_review(self, incident_id: str, review: Review) -> Review:
        """Store a formal review."""
        with self._db.session() as session:
            self._require_incident(session, incident_id)
            session.add(
                IncidentReviewRow(
                    incident_id=incident_id,
                    at=review.at,
                    who=review.who,
                    station=review.station,
                    protocol_id=review.protocol_id,
                    protocol_version=review.protocol_version,
                    protocol_hash=review.protocol_hash,
                    protocol_followed=review.protocol_followed,
                    needs_change=review.needs_change,
                    findings=review.findings,
                    change_proposal=review.change_proposal,
                )
            )
        return review

    def reviews(self, incident_id: str) -> list[Review]:
        """Every formal review of the incident, oldest first."""
        query = (
            select(IncidentReviewRow)
            .where(IncidentReviewRow.incident_id == incident_id)
            .order_by(IncidentReviewRow.id)
        )
        with self._db.session() as session:
            return [
                Review(
                    r.at,
                    r.who,
                    r.station,
                    r.protocol_id,
                    r.protocol_version,
                    r.protocol_hash,
                    r.protocol_followed,
                    r.needs_change,
                    r.findings,
                    r.change_proposal,
                )
                for r in session.scalars(query)
            ]

    def add_patient_told(self, incident_id: str, told: PatientTold) -> PatientTold:
        """Store what the patient was told."""
        with self._db.session() as session:
            self._require_incident(session, incident_id)
            session.add(
                PatientToldRow(
                    incident_id=incident_id,
                    observed=told.observed,
                    done=told.done,
                    meaning=told.meaning,
                    told_by=told.told_by,
                    told_at=told.told_at,
                    recorded_by=told.recorded_by,
                    recorded_at=told.recorded_at,
                    station=told.station,
                )
            )
        return told

    def patient_told(self, incident_id: str) -> list[PatientTold]:
        """What the patient was told about the incident, in the order it was recorded."""
        query = (
            select(PatientToldRow)
            .where(PatientToldRow.incident_id == incident_id)
            .order_by(PatientToldRow.id)
        )
        with self._db.session() as session:
            return [
                PatientTold(
                    r.observed,
                    r.done,
                    r.meaning,
                    r.told_by,
                    r.told_at,
                    r.recorded_by,
                    r.recorded_at,
                    r.station,
                )
                for r in session.scalars(query)
            ]
