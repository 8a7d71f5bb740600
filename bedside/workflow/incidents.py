"""Incidents, their debrief and review, and what the patient was told (issue 9, DOC-2..DOC-4).

An incident is opened by an alarm the clinician marks as an event, by a protocol run (the
protocol desk opens that one itself), or by hand. Alarm events, notes, event markers and
medications can be linked to it; its protocol runs are found by their incident id; the vitals
around it are read from the session's own observations each time it is shown (from
``incident_record.vitals_before_min`` before its opening to ``vitals_after_min`` after), never
copied. It is closed once, with an outcome; anything written after that is an amendment beside
what was written, never an edit (append-only).

Every incident gets a structured debrief (DOC-3). A debrief that names a serious criterion
(death, life-threatening, hospitalisation, disability, intervention to prevent harm, other
serious) makes a formal review due: was the protocol followed, does the protocol need to change.
The review is pinned to the protocol's id, version and content hash; "needs change" produces the
text of a proposed change-log entry for that protocol file, which the medical director applies
(Bedside never edits a protocol). What the patient was told is recorded as observed, done and what
it means, with who told them and when (DOC-4).

Every change is an audit entry, committed before the call returns.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from alarms.config import FollowUpConfig, IncidentRecordConfig
from bedside.workflow.audit import Actor, AuditTrail
from bedside.workflow.followup import FollowUpService
from bedside.workflow.record import RecordEntryError, check_time, who_of
from drivers.clock import Clock
from drivers.types import Observation
from storage import AlarmEventRecord, Database, IncidentSummary, SessionRepository
from storage.clinical_record import (
    ClinicalRecordRepository,
    Debrief,
    EventMarker,
    IncidentAlreadyClosedError,
    IncidentAmendment,
    IncidentClosure,
    IncidentLink,
    IncidentOrigin,
    MedicationGiven,
    PatientTold,
    ProtocolRunRef,
    Review,
    StoredAlarmEvent,
    StoredNote,
)
from storage.followup import FollowUpRecord

log = logging.getLogger(__name__)

MAX_TITLE_LENGTH = 200

#: An alarm event as the monitor stored it (``bedside.workflow.clinical.alarm_event_record``): what
#: ``IncidentService.open_for_alarm`` takes; named here for views, which never import storage.
StoredAlarm = AlarmEventRecord


class IncidentAction(enum.StrEnum):
    """The audit trail's words for this service's entries."""

    OPENED = "incident_opened"
    LINKED = "incident_linked"
    CLOSED = "incident_closed"
    AMENDED = "incident_amended"
    DEBRIEFED = "incident_debriefed"
    REVIEWED = "incident_reviewed"
    PATIENT_TOLD = "patient_told"


class IncidentSource(enum.StrEnum):
    """What opened an incident."""

    ALARM = "alarm"
    PROTOCOL = "protocol"
    HAND = "hand"


class Outcome(enum.StrEnum):
    """How an incident ended."""

    RESOLVED_IN_CLINIC = "resolved_in_clinic"
    TRANSFERRED = "transferred_911"
    SESSION_ENDED_EARLY = "session_ended_early"
    OTHER = "other"

    @property
    def words(self) -> str:
        """The outcome as the record says it."""
        return {
            Outcome.RESOLVED_IN_CLINIC: "resolved in clinic",
            Outcome.TRANSFERRED: "transferred / 911",
            Outcome.SESSION_ENDED_EARLY: "session ended early",
            Outcome.OTHER: "other",
        }[self]


class ProtocolFollowed(enum.StrEnum):
    """Whether the written protocol was followed."""

    YES = "yes"
    NO = "no"
    PARTLY = "partly"


class SeriousCriterion(enum.StrEnum):
    """The serious criteria (as MedWatch lists them): any one makes a formal review due."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    INTERVENTION = "intervention_to_prevent_harm"
    OTHER_SERIOUS = "other_serious"


class LinkKind(enum.StrEnum):
    """What can be linked to an incident by hand (protocol runs link themselves by incident id)."""

    ALARM = "alarm"
    NOTE = "note"
    MARKER = "marker"
    MEDICATION = "medication"


class IncidentError(Exception):
    """Base class of incident entries refused; the message says what to do."""


class IncidentEntryError(IncidentError):
    """An incident entry is incomplete or impossible (empty text, unknown outcome, future time)."""


class IncidentClosedError(IncidentError):
    """The incident is closed already: it cannot be closed again (add an amendment instead)."""


class AlarmNotStoredError(IncidentError):
    """The alarm an incident is opened for is not in the database yet (storage behind or down)."""


class ReviewNotDue(IncidentError):
    """A formal review was asked for an incident whose current debrief names no serious criterion."""


@dataclass(frozen=True, slots=True)
class ProtocolRef:
    """The exact protocol a review judges: id, version and content hash."""

    protocol_id: str
    version: str
    content_hash: str


@dataclass(frozen=True, slots=True)
class IncidentRecord:
    """Everything about one incident, gathered when shown (the vitals read fresh each time)."""

    incident: IncidentSummary
    source: IncidentSource
    origin: IncidentOrigin | None
    closure: IncidentClosure | None
    links: tuple[IncidentLink, ...]
    alarm_events: tuple[StoredAlarmEvent, ...]
    notes: tuple[StoredNote, ...]
    markers: tuple[EventMarker, ...]
    medications: tuple[MedicationGiven, ...]
    protocol_runs: tuple[ProtocolRunRef, ...]
    debriefs: tuple[Debrief, ...]
    reviews: tuple[Review, ...]
    patient_told: tuple[PatientTold, ...]
    amendments: tuple[IncidentAmendment, ...]
    vitals_from: datetime
    vitals_to: datetime
    vitals: tuple[Observation, ...]

    @property
    def is_closed(self) -> bool:
        """Closed here (with an outcome) or by the protocol desk's own closing."""
        return self.closure is not None or self.incident.closed_at is not None

    @property
    def debrief(self) -> Debrief | None:
        """The current debrief: the newest one (older ones stay in ``debriefs``)."""
        return self.debriefs[-1] if self.debriefs else None

    @property
    def serious(self) -> tuple[SeriousCriterion, ...]:
        """The serious criteria the current debrief names."""
        current = self.debrief
        return () if current is None else tuple(SeriousCriterion(s) for s in current.serious)

    @property
    def review_due(self) -> bool:
        """A serious incident without a formal review yet."""
        return bool(self.serious) and not self.reviews

    @property
    def outstanding(self) -> tuple[str, ...]:
        """What the record still lacks, in the clinic's words."""
        missing = []
        if not self.is_closed:
            missing.append("closing with an outcome")
        if self.debrief is None:
            missing.append("debrief")
        if self.review_due:
            missing.append("formal review")
        return tuple(missing)


def _text(value: str, what: str) -> str:
    text = value.strip()
    if not text:
        raise IncidentEntryError(f"{what} is empty: write it down (a word such as 'nothing' is fine)")
    return text


def next_version(version: str) -> str:
    """The version a change would carry: the last number raised by one (1.2 -> 1.3, 4 -> 5)."""
    if not re.fullmatch(r"[0-9]+(\.[0-9]+){0,3}", version):
        return f"(after {version})"
    parts = version.split(".")
    parts[-1] = str(int(parts[-1]) + 1)
    return ".".join(parts)


def change_log_proposal(
    protocol: ProtocolRef, *, incident_id: str, reviewer: str, on: datetime, change: str
) -> str:
    """The text of a change-log entry proposed for a protocol file; the medical director applies it."""
    what = " ".join(change.split())
    escaped = what.replace("\\", "\\\\").replace('"', '\\"')
    return (
        f"# Proposed for protocol {protocol.protocol_id} (reviewed version {protocol.version}, "
        f"{protocol.content_hash}).\n"
        f"# From the formal review of incident {incident_id}. Not applied: edit the protocol file,\n"
        "# raise its version and have the medical director approve it.\n"
        "changelog:\n"
        f'  - version: "{next_version(protocol.version)}"\n'
        f"    date: {on:%Y-%m-%d}\n"
        f'    who: "{reviewer}"\n'
        f'    what: "{escaped}"\n'
    )


class IncidentService:
    """Incidents of the sessions of one station (room): open, link, close, debrief, review, tell."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        audit: AuditTrail,
        config: IncidentRecordConfig,
        follow_up: FollowUpConfig | None = None,
    ) -> None:
        """With ``follow_up`` (the clinic's schedules) closing an incident schedules the follow-ups
        its event type calls for (DOC-7); in a drill database it never does (no patient to call)."""
        self._repository = ClinicalRecordRepository(db)
        self._db = db
        self._clock = clock
        self._audit = audit
        self._config = config
        self._follow_ups = (
            None if follow_up is None or db.is_drill else FollowUpService(db, clock, audit, follow_up)
        )
        #: The follow-ups the last ``close`` scheduled (for the caller to show).
        self.scheduled: list[FollowUpRecord] = []

    @property
    def station(self) -> str:
        """The station (room) entries are made at."""
        return self._audit.station

    # --- opening (DOC-2) ---

    def open_by_hand(
        self, who: Actor | str, session_id: str, title: str, *, at: datetime | None = None
    ) -> IncidentSummary:
        """Open an incident for something the clinician saw; ``at`` defaults to now."""
        name = who_of(who)
        heading = self._title(title)
        now = self._clock.now()
        when = now if at is None else at
        self._check_time(when, now, "incident's time")
        incident = self._repository.open_incident(
            session_id,
            at=when,
            kind=IncidentSource.HAND.value,
            title=heading,
            who=name,
            station=self.station,
            source=IncidentSource.HAND.value,
            alarm_event_id=None,
        )
        self._audit.append(
            who,
            IncidentAction.OPENED,
            incident.incident_id,
            {"session_id": session_id, "source": "hand", "title": heading},
        )
        return incident

    def open_from_alarm(self, who: Actor | str, alarm_event_id: int, title: str = "") -> IncidentSummary:
        """Open an incident for an alarm the clinician marks as an event; linked to that alarm event.

        The incident opens at the alarm event's time, so the vitals shown are those around the alarm.
        """
        name = who_of(who)
        alarm = self._repository.alarm_event(alarm_event_id)
        heading = self._title(title or f"{alarm.event.condition.replace('_', ' ')} ({alarm.event.priority})")
        incident = self._repository.open_incident(
            alarm.event.session_id,
            at=alarm.event.at,
            kind=alarm.event.condition,
            title=heading,
            who=name,
            station=self.station,
            source=IncidentSource.ALARM.value,
            alarm_event_id=alarm_event_id,
        )
        self._audit.append(
            who,
            IncidentAction.OPENED,
            incident.incident_id,
            {
                "session_id": incident.session_id,
                "source": "alarm",
                "alarm_event_id": alarm_event_id,
                "title": heading,
            },
        )
        return incident

    def stored_alarm_id(self, alarm: StoredAlarm) -> int | None:
        """The stored row of an alarm event as the monitor recorded it, or None while not stored."""
        return self._repository.alarm_event_id_of(alarm)

    def incident_of_alarm(self, alarm: StoredAlarm) -> IncidentSummary | None:
        """The incident already linked to this alarm's stored row (opened from it, or the run its
        offer started), oldest first; None when it has none or is not stored yet."""
        alarm_event_id = self.stored_alarm_id(alarm)
        if alarm_event_id is None:
            return None
        ref = str(alarm_event_id)
        for incident in self._repository.incidents(alarm.session_id):
            links = self._repository.links(incident.incident_id)
            if any(link.kind == LinkKind.ALARM.value and link.ref == ref for link in links):
                return incident
        return None

    def open_for_alarm(self, who: Actor | str, alarm: StoredAlarm, title: str = "") -> IncidentSummary:
        """Open an incident for an alarm shown on the monitor, linked to that alarm's stored row
        (DOC-2): the record, its PDF and JSON then show the alarm.

        ``alarm`` is the record the monitor stored for the event
        (``bedside.workflow.clinical.alarm_event_record``). AlarmNotStoredError when the row is
        not in the database (yet): the caller flushes the writer first and may open by hand.
        """
        alarm_event_id = self.stored_alarm_id(alarm)
        if alarm_event_id is None:
            raise AlarmNotStoredError(
                f"the alarm of {alarm.at.astimezone():%H:%M:%S} ({alarm.condition.replace('_', ' ')}) "
                "is not in the database yet: storage is behind or not writing (see the recording "
                "alarm); open the incident by hand or try again once it records"
            )
        return self.open_from_alarm(who, alarm_event_id, title)

    @staticmethod
    def _title(title: str) -> str:
        heading = " ".join(title.split())
        if not heading:
            raise IncidentEntryError("the incident has no title: say in a few words what happened")
        if len(heading) > MAX_TITLE_LENGTH:
            raise IncidentEntryError(f"the incident's title is longer than {MAX_TITLE_LENGTH} characters")
        return heading

    @staticmethod
    def _check_time(at: datetime, now: datetime, what: str) -> None:
        try:
            check_time(at, now, what)
        except RecordEntryError as exc:
            raise IncidentEntryError(str(exc)) from None

    # --- linking, closing, amending ---

    def link(self, who: Actor | str, incident_id: str, kind: LinkKind | str, ref: int) -> IncidentLink:
        """Link an alarm event, note, event marker or medication of the same session to the incident."""
        name = who_of(who)
        try:
            link_kind = LinkKind(kind)
        except ValueError:
            known = ", ".join(k.value for k in LinkKind)
            raise IncidentEntryError(
                f"{kind!r} cannot be linked to an incident: link one of {known}"
            ) from None
        incident = self._repository.incident(incident_id)
        if ref not in self._ids_in_session(link_kind, incident.session_id):
            raise IncidentEntryError(
                f"session {incident.session_id} has no {link_kind.value} {ref}: check the id"
            )
        link = self._repository.add_link(
            incident_id, kind=link_kind.value, ref=str(ref), at=self._clock.now(), who=name
        )
        self._audit.append(who, IncidentAction.LINKED, incident_id, {"kind": link_kind.value, "ref": ref})
        return link

    def _ids_in_session(self, kind: LinkKind, session_id: str) -> set[int]:
        repo = self._repository
        if kind is LinkKind.ALARM:
            return {a.alarm_event_id for a in repo.alarm_events(session_id)}
        if kind is LinkKind.NOTE:
            return {n.note_id for n in repo.notes(session_id)}
        if kind is LinkKind.MARKER:
            return {m.marker_id for m in repo.markers(session_id)}
        return {m.medication_id for m in repo.medications(session_id)}

    def close(
        self, who: Actor | str, incident_id: str, outcome: Outcome | str, outcome_text: str = ""
    ) -> IncidentClosure:
        """Close the incident with its outcome, once; "other" needs ``outcome_text`` saying what."""
        name = who_of(who)
        try:
            chosen = Outcome(outcome)
        except ValueError:
            known = ", ".join(o.value for o in Outcome)
            raise IncidentEntryError(f"outcome {outcome!r} is not one of {known}") from None
        text = " ".join(outcome_text.split())
        if chosen is Outcome.OTHER and not text:
            raise IncidentEntryError('the outcome is "other": say what the outcome was')
        try:
            closure = self._repository.close_incident(
                incident_id,
                at=self._clock.now(),
                who=name,
                station=self.station,
                outcome=chosen.value,
                outcome_text=text,
            )
        except IncidentAlreadyClosedError as exc:
            raise IncidentClosedError(str(exc)) from None
        self._audit.append(
            who, IncidentAction.CLOSED, incident_id, {"outcome": chosen.value, "outcome_text": text}
        )
        log.info("incident %s closed by %s: %s", incident_id, name, chosen.words)
        self.scheduled = self._schedule_follow_ups(who, incident_id)
        return closure

    def _schedule_follow_ups(self, who: Actor | str, incident_id: str) -> list[FollowUpRecord]:
        """The contacts the incident's event type calls for, from its opening (audited by the service)."""
        if self._follow_ups is None:
            return []
        incident = self._repository.incident(incident_id)
        session = SessionRepository(self._db).session(incident.session_id)
        # The event type is the protocol that ran (the schedules are named by protocol), else the
        # incident's own kind (an alarm condition, "hand"), which the default schedule covers.
        runs = self._repository.protocol_runs(incident_id)
        return self._follow_ups.schedule(
            who,
            event_type=runs[0].protocol_id if runs else incident.kind,
            event_at=incident.opened_at,
            session_id=incident.session_id,
            incident_id=incident_id,
            patient_ref=session.patient_mrn,
        )

    def amend(self, who: Actor | str, incident_id: str, text: str) -> IncidentAmendment:
        """Add to an incident (open or closed) without changing what was written."""
        name = who_of(who)
        body = _text(text, "the amendment")
        amendment = self._repository.add_amendment(
            incident_id, at=self._clock.now(), who=name, station=self.station, text=body
        )
        self._audit.append(who, IncidentAction.AMENDED, incident_id, {"length": len(body)})
        return amendment

    # --- debrief and review (DOC-3) ---

    def debrief(
        self,
        who: Actor | str,
        incident_id: str,
        *,
        what_happened: str,
        what_was_done: str,
        went_well: str,
        to_improve: str,
        protocol_followed: ProtocolFollowed | str,
        serious: tuple[SeriousCriterion | str, ...] = (),
        serious_text: str = "",
    ) -> Debrief:
        """Record the structured debrief; a second one supersedes the first when shown (both kept)."""
        name = who_of(who)
        self._repository.incident(incident_id)  # an unknown incident is named before the texts are judged
        try:
            followed = ProtocolFollowed(protocol_followed)
            criteria = tuple(dict.fromkeys(SeriousCriterion(s) for s in serious))
        except ValueError as exc:
            raise IncidentEntryError(
                f"{exc}: protocol followed is yes, no or partly; serious criteria are "
                + ", ".join(s.value for s in SeriousCriterion)
            ) from None
        detail = " ".join(serious_text.split())
        if SeriousCriterion.OTHER_SERIOUS in criteria and not detail:
            raise IncidentEntryError('"other serious" was chosen: say what made the event serious')
        debrief = Debrief(
            at=self._clock.now(),
            who=name,
            station=self.station,
            what_happened=_text(what_happened, "what happened"),
            what_was_done=_text(what_was_done, "what was done"),
            went_well=_text(went_well, "what went well"),
            to_improve=_text(to_improve, "what to improve"),
            protocol_followed=followed.value,
            serious=tuple(c.value for c in criteria),
            serious_text=detail,
        )
        self._repository.add_debrief(incident_id, debrief)
        self._audit.append(
            who,
            IncidentAction.DEBRIEFED,
            incident_id,
            {"protocol_followed": followed.value, "serious": list(debrief.serious)},
        )
        return debrief

    def review(
        self,
        who: Actor | str,
        incident_id: str,
        *,
        protocol_followed: ProtocolFollowed | str,
        needs_change: bool,
        findings: str,
        proposed_change: str = "",
        protocol: ProtocolRef | None = None,
    ) -> Review:
        """The formal review of a serious incident (ReviewNotDue for one whose debrief names none).

        ``protocol`` defaults to the one the incident's latest protocol run ran (its exact
        version and hash); an incident opened without a run must name it.
        """
        name = who_of(who)
        shown = self.show(incident_id)
        if not shown.serious:
            raise ReviewNotDue(
                f"incident {incident_id}'s debrief names no serious criterion: a formal review is for "
                "serious events (debrief it again with the criterion if it was serious)"
            )
        try:
            followed = ProtocolFollowed(protocol_followed)
        except ValueError:
            raise IncidentEntryError("protocol followed is yes, no or partly") from None
        pinned = protocol
        if pinned is None and shown.protocol_runs:
            run = shown.protocol_runs[-1]
            pinned = ProtocolRef(run.protocol_id, run.protocol_version, run.protocol_hash)
        if pinned is None:
            raise IncidentEntryError(
                f"incident {incident_id} ran no protocol: "
                "name the protocol reviewed (id, version, content hash)"
            )
        now = self._clock.now()
        change = " ".join(proposed_change.split())
        proposal = ""
        if needs_change:
            if not change:
                raise IncidentEntryError("the protocol needs a change: say what should change")
            proposal = change_log_proposal(
                pinned, incident_id=incident_id, reviewer=name, on=now, change=change
            )
        review = Review(
            at=now,
            who=name,
            station=self.station,
            protocol_id=pinned.protocol_id,
            protocol_version=pinned.version,
            protocol_hash=pinned.content_hash,
            protocol_followed=followed.value,
            needs_change=needs_change,
            findings=_text(findings, "the review's findings"),
            change_proposal=proposal,
        )
        self._repository.add_review(incident_id, review)
        self._audit.append(
            who,
            IncidentAction.REVIEWED,
            incident_id,
            {
                "protocol_id": pinned.protocol_id,
                "protocol_version": pinned.version,
                "protocol_hash": pinned.content_hash,
                "protocol_followed": followed.value,
                "needs_change": needs_change,
            },
        )
        return review

    # --- what the patient was told (DOC-4) ---

    def patient_told(
        self,
        who: Actor | str,
        incident_id: str,
        *,
        observed: str,
        done: str,
        meaning: str,
        told_at: datetime,
        told_by: str = "",
    ) -> PatientTold:
        """Record what the patient was told; ``told_by`` defaults to whoever records it."""
        name = who_of(who)
        incident = self._repository.incident(incident_id)
        now = self._clock.now()
        self._check_time(told_at, now, "time the patient was told")
        if told_at < incident.opened_at:
            raise IncidentEntryError(
                f"the patient cannot have been told at {told_at:%H:%M:%S}, before the incident opened "
                f"({incident.opened_at:%H:%M:%S}): check the time"
            )
        told = PatientTold(
            observed=_text(observed, "what was observed"),
            done=_text(done, "what was done"),
            meaning=_text(meaning, "what it means"),
            told_by=" ".join(told_by.split()) or name,
            told_at=told_at,
            recorded_by=name,
            recorded_at=now,
            station=self.station,
        )
        self._repository.add_patient_told(incident_id, told)
        self._audit.append(
            who,
            IncidentAction.PATIENT_TOLD,
            incident_id,
            {"told_by": told.told_by, "told_at": told_at.isoformat()},
        )
        return told

    # --- reading ---

    def incidents(self, session_id: str) -> list[IncidentSummary]:
        """The session's incidents in the order they were opened."""
        return self._repository.incidents(session_id)

    def outstanding(self, session_id: str) -> list[IncidentRecord]:
        """The session's incidents still open, without a debrief, or serious without a review."""
        shown = (self.show(i.incident_id) for i in self._repository.incidents(session_id))
        return [record for record in shown if record.outstanding]

    def show(self, incident_id: str) -> IncidentRecord:
        """The incident with everything linked to it and the vitals around its opening, read now."""
        repo = self._repository
        incident = repo.incident(incident_id)
        origin = repo.origin(incident_id)
        runs = tuple(repo.protocol_runs(incident_id))
        if origin is not None:
            source = IncidentSource(origin.source)
        else:
            source = IncidentSource.PROTOCOL if runs else IncidentSource.HAND
        links = tuple(repo.links(incident_id))
        wanted: dict[str, set[str]] = {k.value: set() for k in LinkKind}
        for link in links:
            wanted.setdefault(link.kind, set()).add(link.ref)
        sid = incident.session_id
        before = timedelta(minutes=self._config.vitals_before_min)
        after = timedelta(minutes=self._config.vitals_after_min)
        start, end = incident.opened_at - before, incident.opened_at + after
        return IncidentRecord(
            incident=incident,
            source=source,
            origin=origin,
            closure=repo.closure(incident_id),
            links=links,
            alarm_events=tuple(a for a in repo.alarm_events(sid) if str(a.alarm_event_id) in wanted["alarm"]),
            notes=tuple(n for n in repo.notes(sid) if str(n.note_id) in wanted["note"]),
            markers=tuple(m for m in repo.markers(sid) if str(m.marker_id) in wanted["marker"]),
            medications=tuple(
                m for m in repo.medications(sid) if str(m.medication_id) in wanted["medication"]
            ),
            protocol_runs=runs,
            debriefs=tuple(repo.debriefs(incident_id)),
            reviews=tuple(repo.reviews(incident_id)),
            patient_told=tuple(repo.patient_told(incident_id)),
            amendments=tuple(repo.amendments(incident_id)),
            vitals_from=start,
            vitals_to=end,
            vitals=tuple(repo.observations_between(sid, start, end)),
        )
