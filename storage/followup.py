"""What follows a session, as stored: follow-up contacts (DOC-7), the patient's consent to a referral
summary (DOC-5), events flagged for MedWatch (DOC-6) and drill logs (DRL-2).

Rules (schedules, who may do what, what a draft says) live in ``bedside.workflow``; this module keeps
the rows and makes each change one transaction. Drill logs go only into a drill database.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from storage.database import Database
from storage.errors import DrillMixingError, StorageError, UnknownRecordError
from storage.records import IncidentSummary
from storage.schema import ConsentRow, DrillLogRow, FollowUpRow, IncidentRow, SeriousEventRow

log = logging.getLogger(__name__)


class FollowUpClosedError(StorageError):
    """The follow-up was closed already (by this or another station); a closed one is never reopened."""


@dataclass(frozen=True, slots=True)
class FollowUpItem:
    """One contact owed after an event, as it is to be stored (before it has an id)."""

    session_id: str
    incident_id: str
    patient_ref: str
    event_type: str
    contact: str
    number: int
    event_at: datetime
    opens_at: datetime
    due_by: datetime


@dataclass(frozen=True, slots=True)
class FollowUpRecord:
    """A stored follow-up; ``closed_at`` None while it is open."""

    follow_up_id: str
    item: FollowUpItem
    scheduled_at: datetime
    scheduled_by: str
    closed_at: datetime | None = None
    closed_by: str = ""
    outcome: str = ""
    outcome_details: Mapping[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def is_open(self) -> bool:
        """True until it is closed with an outcome."""
        return self.closed_at is None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """A patient's written consent (scope, the date it was signed), and its withdrawal if any."""

    consent_id: str
    patient_id: str
    scope: str
    signed_on: date
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None = None
    withdrawn_by: str = ""


@dataclass(frozen=True, slots=True)
class SeriousEventRecord:
    """An event flagged as serious for MedWatch: the criteria met and the facts the draft needs."""

    flag_id: str
    subject: str
    session_id: str
    criteria: tuple[str, ...]
    event_at: datetime
    description: str
    details: Mapping[str, Any]
    flagged_at: datetime
    flagged_by: str


@dataclass(frozen=True, slots=True)
class DrillLogRecord:
    """A logged drill: its session in the drill database, date, scenario and participants."""

    drill_id: str
    session_id: str
    drill_date: date
    scenario: str
    participants: tuple[str, ...]
    logged_at: datetime
    logged_by: str


def _follow_up(row: FollowUpRow) -> FollowUpRecord:
    item = FollowUpItem(
        row.session_id,
        row.incident_id,
        row.patient_ref,
        row.event_type,
        row.contact,
        row.number,
        row.event_at,
        row.opens_at,
        row.due_by,
    )
    return FollowUpRecord(
        row.id,
        item,
        row.scheduled_at,
        row.scheduled_by,
        row.closed_at,
        row.closed_by,
        row.outcome,
        dict(row.outcome_details or {}),
        row.note,
    )


def _consent(row: ConsentRow) -> ConsentRecord:
    return ConsentRecord(
        row.id,
        row.patient_id,
        row.scope,
        row.signed_on,
        row.recorded_at,
        row.recorded_by,
        row.withdrawn_at,
        row.withdrawn_by,
    )


def _serious(row: SeriousEventRow) -> SeriousEventRecord:
    return SeriousEventRecord(
        row.id,
        row.subject,
        row.session_id,
        tuple(row.criteria),
        row.event_at,
        row.description,
        dict(row.details or {}),
        row.flagged_at,
        row.flagged_by,
    )


def _drill(row: DrillLogRow) -> DrillLogRecord:
    return DrillLogRecord(
        row.id,
        row.session_id,
        row.drill_date,
        row.scenario,
        tuple(row.participants),
        row.logged_at,
        row.logged_by,
    )


class FollowUpRepository:
    """Reads and changes follow-ups, consents, MedWatch flags and drill logs; one transaction each."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def is_drill(self) -> bool:
        """True for a drill database (DRL-1)."""
        return self._db.is_drill

    def incident(self, incident_id: str) -> IncidentSummary | None:
        """The incident with this id (any session), if any: MedWatch drafts name one by id."""
        with self._db.session() as session:
            row = session.get(IncidentRow, incident_id)
            if row is None:
                return None
            return IncidentSummary(
                row.id,
                row.session_id,
                row.opened_at,
                row.kind,
                row.title,
                row.opened_by,
                row.closed_at,
                row.closed_by,
            )

    # --- follow-up (DOC-7) ---

    def add_follow_ups(self, items: Sequence[FollowUpItem], *, at: datetime, by: str) -> list[FollowUpRecord]:
        """Store the contacts owed after one event, all or none."""
        rows = [
            FollowUpRow(
                id=str(uuid.uuid4()),
                session_id=i.session_id,
                incident_id=i.incident_id,
                patient_ref=i.patient_ref,
                event_type=i.event_type,
                contact=i.contact,
                number=i.number,
                event_at=i.event_at,
                opens_at=i.opens_at,
                due_by=i.due_by,
                scheduled_at=at,
                scheduled_by=by,
                closed_at=None,
                closed_by="",
                outcome="",
                outcome_details={},
                note="",
            )
            for i in items
        ]
        with self._db.session() as session:
            session.add_all(rows)
        return [_follow_up(r) for r in rows]

    def follow_up(self, follow_up_id: str) -> FollowUpRecord:
        """One follow-up; UnknownRecordError when there is none."""
        with self._db.session() as session:
            row = session.get(FollowUpRow, follow_up_id)
            if row is None:
                raise UnknownRecordError(
                    f"no follow-up with id {follow_up_id!r}: `bedside followup list` shows them"
                )
            return _follow_up(row)

    def follow_ups(self, *, open_only: bool = False, session_id: str | None = None) -> list[FollowUpRecord]:
        """Follow-ups by due time (then contact number), optionally only the open ones or one session's."""
        query = select(FollowUpRow).order_by(FollowUpRow.due_by, FollowUpRow.number, FollowUpRow.id)
        if open_only:
            query = query.where(FollowUpRow.closed_at.is_(None))
        if session_id is not None:
            query = query.where(FollowUpRow.session_id == session_id)
        with self._db.session() as session:
            return [_follow_up(r) for r in session.scalars(query)]

    def close_follow_up(
        self,
        follow_up_id: str,
        *,
        at: datetime,
        by: str,
        outcome: str,
        details: Mapping[str, Any],
        note: str,
    ) -> FollowUpRecord:
        """Close an open follow-up with its outcome; FollowUpClosedError if it was closed already."""
        with self._db.session() as session:
            row = session.get(FollowUpRow, follow_up_id, with_for_update=True)
            if row is None:
                raise UnknownRecordError(
                    f"no follow-up with id {follow_up_id!r}: `bedside followup list` shows them"
                )
            if row.closed_at is not None:
                raise FollowUpClosedError(
                    f"follow-up {follow_up_id} was closed already by {row.closed_by} ({row.outcome})"
                )
            row.closed_at = at
            row.closed_by = by
            row.outcome = outcome
            row.outcome_details = dict(details)
            row.note = note
            return _follow_up(row)

    def move_follow_up(self, follow_up_id: str, *, opens_at: datetime, due_by: datetime) -> FollowUpRecord:
        """Move an open follow-up's window (the patient asked for another day); closed ones stay."""
        with self._db.session() as session:
            row = session.get(FollowUpRow, follow_up_id, with_for_update=True)
            if row is None:
                raise UnknownRecordError(
                    f"no follow-up with id {follow_up_id!r}: `bedside followup list` shows them"
                )
            if row.closed_at is not None:
                raise FollowUpClosedError(f"follow-up {follow_up_id} was closed already: it cannot be moved")
            row.opens_at = opens_at
            row.due_by = due_by
            return _follow_up(row)

    # --- consent (DOC-5) ---

    def add_consent(
        self, *, patient_id: str, scope: str, signed_on: date, at: datetime, by: str
    ) -> ConsentRecord:
        """Store a patient's written consent."""
        row = ConsentRow(
            id=str(uuid.uuid4()),
            patient_id=patient_id,
            scope=scope,
            signed_on=signed_on,
            recorded_at=at,
            recorded_by=by,
            withdrawn_at=None,
            withdrawn_by="",
        )
        with self._db.session() as session:
            session.add(row)
        return _consent(row)

    def withdraw_consent(self, consent_id: str, *, at: datetime, by: str) -> ConsentRecord:
        """Mark a consent withdrawn (kept, never deleted)."""
        with self._db.session() as session:
            row = session.get(ConsentRow, consent_id)
            if row is None:
                raise UnknownRecordError(f"no consent with id {consent_id!r}")
            if row.withdrawn_at is None:
                row.withdrawn_at = at
                row.withdrawn_by = by
            return _consent(row)

    def consents(self, patient_id: str) -> list[ConsentRecord]:
        """A patient's consents, oldest first (withdrawn ones included)."""
        query = select(ConsentRow).where(ConsentRow.patient_id == patient_id).order_by(ConsentRow.recorded_at)
        with self._db.session() as session:
            return [_consent(r) for r in session.scalars(query)]

    # --- MedWatch (DOC-6) ---

    def add_serious_event(
        self,
        *,
        subject: str,
        session_id: str,
        criteria: Sequence[str],
        event_at: datetime,
        description: str,
        details: Mapping[str, Any],
        at: datetime,
        by: str,
    ) -> SeriousEventRecord:
        """Store an event's serious flag with the facts the MedWatch draft needs."""
        row = SeriousEventRow(
            id=str(uuid.uuid4()),
            subject=subject,
            session_id=session_id,
            criteria=list(criteria),
            event_at=event_at,
            description=description,
            details=dict(details),
            flagged_at=at,
            flagged_by=by,
        )
        with self._db.session() as session:
            session.add(row)
        return _serious(row)

    def serious_events(self, subject: str | None = None) -> list[SeriousEventRecord]:
        """Flagged events (for one incident or session id when given), newest flag last."""
        query = select(SeriousEventRow).order_by(SeriousEventRow.flagged_at, SeriousEventRow.id)
        if subject is not None:
            query = query.where(
                (SeriousEventRow.subject == subject) | (SeriousEventRow.session_id == subject)
            )
        with self._db.session() as session:
            return [_serious(r) for r in session.scalars(query)]

    # --- drills (DRL-2) ---

    def add_drill_log(
        self,
        *,
        session_id: str,
        drill_date: date,
        scenario: str,
        participants: Sequence[str],
        at: datetime,
        by: str,
    ) -> DrillLogRecord:
        """Store a drill log; DrillMixingError on a patient database (drills never mix with patients)."""
        if not self._db.is_drill:
            raise DrillMixingError(
                "drill logs go only into the drill database: open it with --drill (or a drill --db URL)"
            )
        row = DrillLogRow(
            id=str(uuid.uuid4()),
            session_id=session_id,
            drill_date=drill_date,
            scenario=scenario,
            participants=list(participants),
            logged_at=at,
            logged_by=by,
        )
        with self._db.session() as session:
            session.add(row)
        return _drill(row)

    def drill_logs(self, session_id: str | None = None) -> list[DrillLogRecord]:
        """Drill logs by date (one session's when given)."""
        query = select(DrillLogRow).order_by(DrillLogRow.drill_date, DrillLogRow.logged_at)
        if session_id is not None:
            query = query.where(DrillLogRow.session_id == session_id)
        with self._db.session() as session:
            return [_drill(r) for r in session.scalars(query)]
