"""The session record as the clinician writes it (issue 9, DOC-1): notes, event markers and
medications given, each with who entered it, at which station (room) and when.

Bedside never computes a dose. A medication is stored exactly as entered once it passes plain
checks: a drug named, a positive finite dose with its unit, a route from the clinic's list, and a
time given that is not in the future. Medications given inside a protocol run are already in the
run's steps (PRO-6); ``medication_timeline`` shows both without copying either.

Every entry is an audit entry (``AuditTrail.append``) committed before the call returns.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass
from datetime import datetime

from bedside.workflow.audit import Actor, AuditTrail
from drivers.clock import Clock
from storage import Database, SessionRepository
from storage.clinical_record import ClinicalRecordRepository, EventMarker, MedicationGiven, StoredNote

log = logging.getLogger(__name__)

MAX_LABEL_LENGTH = 200  # a marker's label is a heading (the column is 200 characters)
MAX_UNIT_LENGTH = 32
PROTOCOL_MEDICATION_STEP = "medication_given"  # protocols.engine.StepKind.MEDICATION_GIVEN as stored


class RecordAction(enum.StrEnum):
    """The audit trail's words for this service's entries."""

    NOTE_ADDED = "note_added"
    MARKER_ADDED = "event_marker_added"
    MEDICATION_RECORDED = "medication_recorded"


class Route(enum.StrEnum):
    """Routes a medication may be recorded as given by (the clinic's abbreviations)."""

    IV = "IV"
    IM = "IM"
    IN = "IN"
    PO = "PO"
    SL = "SL"
    SC = "SC"
    INHALED = "inhaled"
    TOPICAL = "topical"

    @property
    def words(self) -> str:
        """The route as a note would say it."""
        return _ROUTE_WORDS[self]


_ROUTE_WORDS = {
    Route.IV: "intravenous",
    Route.IM: "intramuscular",
    Route.IN: "intranasal",
    Route.PO: "by mouth",
    Route.SL: "sublingual",
    Route.SC: "subcutaneous",
    Route.INHALED: "inhaled",
    Route.TOPICAL: "topical",
}


class RecordError(Exception):
    """Base class of record entries refused; the message says what to correct."""


class RecordEntryError(RecordError):
    """An entry (note, marker, medication) cannot be recorded as given: empty, impossible or future."""


def who_of(who: Actor | str) -> str:
    """The name that goes on a record: a signed-in clinician's sign-in name, or the name given."""
    name = (who if isinstance(who, str) else who.who).strip()
    if not name:
        raise RecordEntryError("say who is making this entry (sign in, or give a name)")
    return name


def parse_route(text: str) -> Route:
    """A route from its abbreviation or word, any case; RecordEntryError naming the known ones."""
    wanted = text.strip().lower()
    for route in Route:
        if wanted in (route.value.lower(), route.words.lower()):
            return route
    known = ", ".join(r.value for r in Route)
    raise RecordEntryError(f"route {text[:40]!r} is not one the clinic records: use one of {known}")


def check_time(at: datetime, now: datetime, what: str) -> None:
    """Refuse a naive or future time: a record says when something happened, never when it will."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise RecordEntryError(f"the {what} has no time zone: give it with one (e.g. 2026-11-27T10:05+00:00)")
    if at > now:
        raise RecordEntryError(
            f"the {what} {at:%Y-%m-%d %H:%M:%S %Z} is in the future (now {now:%H:%M:%S %Z}): check the time"
        )


@dataclass(frozen=True, slots=True)
class MedicationEntry:
    """One medication in the session's timeline: entered directly, or given as a protocol step."""

    given_at: datetime
    who: str
    text: str
    source: str  # "entered" or "protocol step"
    medication: MedicationGiven | None = None


class RecordService:
    """Notes, event markers and medications given for the sessions of one station (room)."""

    def __init__(self, db: Database, clock: Clock, audit: AuditTrail) -> None:
        self._repository = ClinicalRecordRepository(db)
        self._sessions = SessionRepository(db)
        self._clock = clock
        self._audit = audit

    @property
    def station(self) -> str:
        """The station (room) entries are made at."""
        return self._audit.station

    def add_note(
        self, who: Actor | str, session_id: str, text: str, *, at: datetime | None = None
    ) -> StoredNote:
        """Add a free-text note; ``at`` defaults to now and may not be in the future."""
        name = who_of(who)
        body = text.strip()
        if not body:
            raise RecordEntryError("the note is empty: write what should be in the record")
        now = self._clock.now()
        when = now if at is None else at
        check_time(when, now, "note's time")
        stored = self._repository.add_note(session_id, at=when, who=name, text=body)
        self._audit.append(
            who, RecordAction.NOTE_ADDED, session_id, {"note_id": stored.note_id, "at": when.isoformat()}
        )
        log.info("note %d added to session %s by %s", stored.note_id, session_id, name)
        return stored

    def add_marker(
        self, who: Actor | str, session_id: str, label: str, *, at: datetime | None = None, note: str = ""
    ) -> EventMarker:
        """Put a time-stamped event marker in the record (e.g. "patient vomited"); ``at`` defaults to now."""
        name = who_of(who)
        heading = " ".join(label.split())
        if not heading:
            raise RecordEntryError("the event marker has no label: say what happened")
        if len(heading) > MAX_LABEL_LENGTH:
            raise RecordEntryError(
                f"the event marker's label is {len(heading)} characters: keep it to {MAX_LABEL_LENGTH} "
                "and put the rest in its note"
            )
        now = self._clock.now()
        when = now if at is None else at
        check_time(when, now, "event marker's time")
        marker = self._repository.add_marker(
            session_id,
            at=when,
            recorded_at=now,
            who=name,
            station=self.station,
            label=heading,
            note=note.strip(),
        )
        self._audit.append(
            who,
            RecordAction.MARKER_ADDED,
            session_id,
            {"marker_id": marker.marker_id, "label": heading, "at": when.isoformat()},
        )
        return marker

    def add_medication(
        self,
        who: Actor | str,
        session_id: str,
        *,
        drug: str,
        dose: float,
        unit: str,
        route: Route | str,
        given_at: datetime,
        note: str = "",
    ) -> MedicationGiven:
        """Record a medication given, exactly as entered; refused (RecordEntryError) when implausible."""
        name = who_of(who)
        drug_name = " ".join(drug.split())
        if not drug_name:
            raise RecordEntryError("name the drug given")
        if len(drug_name) > MAX_LABEL_LENGTH:
            raise RecordEntryError(f"the drug's name is longer than {MAX_LABEL_LENGTH} characters")
        if (
            isinstance(dose, bool)
            or not isinstance(dose, int | float)
            or not math.isfinite(dose)
            or dose <= 0
        ):
            raise RecordEntryError(f"the dose {dose!r} is not a positive number: enter the dose given")
        unit_text = unit.strip()
        if not unit_text or len(unit_text) > MAX_UNIT_LENGTH:
            raise RecordEntryError("give the dose's unit (e.g. mg, mcg, mL), at most 32 characters")
        chosen = route if isinstance(route, Route) else parse_route(route)
        now = self._clock.now()
        check_time(given_at, now, "time given")
        medication = self._repository.add_medication(
            session_id,
            given_at=given_at,
            recorded_at=now,
            who=name,
            station=self.station,
            drug=drug_name,
            dose=float(dose),
            unit=unit_text,
            route=chosen.value,
            note=note.strip(),
        )
        self._audit.append(
            who,
            RecordAction.MEDICATION_RECORDED,
            session_id,
            {
                "medication_id": medication.medication_id,
                "drug": drug_name,
                "dose": float(dose),
                "unit": unit_text,
                "route": chosen.value,
                "given_at": given_at.isoformat(),
            },
        )
        log.info("medication %s recorded for session %s by %s", drug_name, session_id, name)
        return medication

    def notes(self, session_id: str) -> list[StoredNote]:
        """The session's notes, oldest first."""
        return self._repository.notes(session_id)

    def markers(self, session_id: str) -> list[EventMarker]:
        """The session's event markers in the order they happened."""
        return self._repository.markers(session_id)

    def medications(self, session_id: str) -> list[MedicationGiven]:
        """The medications entered for the session, in the order they were given."""
        return self._repository.medications(session_id)

    def medication_timeline(self, session_id: str) -> list[MedicationEntry]:
        """Every medication given in the session, entered or given as a protocol step, by time given."""
        entries = [
            MedicationEntry(m.given_at, m.who, f"{m.drug} {m.dose:g} {m.unit} {m.route}", "entered", m)
            for m in self._repository.medications(session_id)
        ]
        for run in self._sessions.protocol_runs(session_id):
            for step in run.steps:
                if step.kind == PROTOCOL_MEDICATION_STEP:
                    entries.append(
                        MedicationEntry(step.occurred_at or step.at, step.person, step.value, "protocol step")
                    )
        entries.sort(key=lambda e: e.given_at)
        return entries
