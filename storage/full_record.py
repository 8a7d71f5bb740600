"""A session's whole record in one value: read through the repository, written back row for row.

Export (EXP-1) reads it; the JSON importer writes it into an empty database so that reading it
again gives the same value. Writing goes straight to the rows (not through ``apply_records``) so
that every column comes back exactly as it was, including a session's phase and end time.
Clinical snapshots (restart state, MON-8) are not part of the record: they are the monitor's
working memory, and everything they hold is also in the rows below.

The clinical documentation (DOC-1..4: event markers, medications given, and each incident's origin,
links, closing with its outcome, amendments, debriefs, formal reviews and what the patient was told)
is part of the record too. Row ids are the database's own and differ after an import, so whatever
points at a row (an incident's link to an alarm, note, marker or medication; the alarm it was opened
from) points at its position in the record's list instead and is turned back into the new row id
when written.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from drivers.types import DeviceEvent, Observation
from storage.clinical_record import (
    ClinicalRecordRepository,
    Debrief,
    IncidentAmendment,
    IncidentClosure,
    PatientTold,
    Review,
)
from storage.database import Database
from storage.errors import DrillMixingError, StorageError
from storage.records import (
    AlarmEventRecord,
    AttestationRecord,
    BaselineRecord,
    IncidentSummary,
    MonitoringGapRecord,
    NibpIntervalChangeRecord,
    NoteRecord,
    PhaseTransitionRecord,
    ProtocolRunSummary,
    SessionSummary,
    ThresholdChangeRecord,
    ThresholdSetRecord,
)
from storage.repository import SessionRepository
from storage.schema import (
    AlarmEventRow,
    AttestationRow,
    BaselineRow,
    DeviceEventRow,
    EventMarkerRow,
    IncidentAmendmentRow,
    IncidentClosureRow,
    IncidentDebriefRow,
    IncidentLinkRow,
    IncidentOriginRow,
    IncidentReviewRow,
    IncidentRow,
    MedicationGivenRow,
    MonitoringGapRow,
    NibpIntervalChangeRow,
    NoteRow,
    ObservationRow,
    PatientToldRow,
    PhaseTransitionRow,
    ProtocolRunRow,
    ProtocolStepRow,
    SessionRow,
    ThresholdChangeRow,
    ThresholdSetRow,
)

log = logging.getLogger(__name__)


class SessionExistsError(StorageError):
    """An imported session's id is already in the target database."""


class BrokenRecordLinkError(StorageError):
    """An incident points at an alarm, note, marker or medication that is not in the session."""


#: What an incident link may point at, and the record's list that holds it.
LINK_LISTS = {"alarm": "alarm_events", "note": "notes", "marker": "markers", "medication": "medications"}


@dataclass(frozen=True, slots=True)
class MarkerRecord:
    """A time-stamped event marker (DOC-1): ``label`` happened at ``at``; entered by ``who``."""

    at: datetime
    recorded_at: datetime
    who: str
    station: str
    label: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class MedicationRecord:
    """A medication given as the clinician entered it (DOC-1); Bedside never computes a dose."""

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
class IncidentOriginEntry:
    """How an incident was opened: ``source`` "alarm" (``alarm_item``: position in alarm_events) or "hand"."""

    source: str
    station: str
    alarm_item: int | None


@dataclass(frozen=True, slots=True)
class IncidentLinkEntry:
    """Something linked to an incident: ``kind`` (see LINK_LISTS) and its position in that list."""

    kind: str
    item: int
    at: datetime
    who: str


@dataclass(frozen=True, slots=True)
class IncidentDocumentation:
    """Everything written about one incident after it was opened (DOC-2..4), each list oldest first."""

    incident_id: str
    origin: IncidentOriginEntry | None
    links: tuple[IncidentLinkEntry, ...]
    closure: IncidentClosure | None
    amendments: tuple[IncidentAmendment, ...]
    debriefs: tuple[Debrief, ...]
    reviews: tuple[Review, ...]
    patient_told: tuple[PatientTold, ...]


@dataclass(frozen=True, slots=True)
class FullSessionRecord:
    """Everything the database holds about one session, each list in the order it happened."""

    session: SessionSummary
    observations: tuple[Observation, ...]
    device_events: tuple[DeviceEvent, ...]
    phase_transitions: tuple[PhaseTransitionRecord, ...]
    baselines: tuple[BaselineRecord, ...]
    threshold_sets: tuple[ThresholdSetRecord, ...]
    threshold_changes: tuple[ThresholdChangeRecord, ...]
    nibp_interval_changes: tuple[NibpIntervalChangeRecord, ...]
    alarm_events: tuple[AlarmEventRecord, ...]
    incidents: tuple[IncidentSummary, ...]
    protocol_runs: tuple[ProtocolRunSummary, ...]
    notes: tuple[NoteRecord, ...]
    attestations: tuple[AttestationRecord, ...]
    monitoring_gaps: tuple[MonitoringGapRecord, ...]
    markers: tuple[MarkerRecord, ...] = ()
    medications: tuple[MedicationRecord, ...] = ()
    incident_documentation: tuple[IncidentDocumentation, ...] = ()


def _documentation(
    clinical: ClinicalRecordRepository, incident_id: str, positions: dict[str, dict[int, int]]
) -> IncidentDocumentation:
    def position(kind: str, row_id: int) -> int:
        try:
            return positions[kind][row_id]
        except KeyError:
            raise BrokenRecordLinkError(
                f"incident {incident_id} points at {kind} {row_id}, which is not in its session: "
                "the database was edited by hand; restore it from a backup"
            ) from None

    origin = clinical.origin(incident_id)
    return IncidentDocumentation(
        incident_id=incident_id,
        origin=None
        if origin is None
        else IncidentOriginEntry(
            origin.source,
            origin.station,
            None if origin.alarm_event_id is None else position("alarm", origin.alarm_event_id),
        ),
        links=tuple(
            IncidentLinkEntry(link.kind, position(link.kind, int(link.ref)), link.at, link.who)
            for link in clinical.links(incident_id)
        ),
        closure=clinical.closure(incident_id),
        amendments=tuple(clinical.amendments(incident_id)),
        debriefs=tuple(clinical.debriefs(incident_id)),
        reviews=tuple(clinical.reviews(incident_id)),
        patient_told=tuple(clinical.patient_told(incident_id)),
    )


def read_full_record(repo: SessionRepository, session_id: str) -> FullSessionRecord:
    """The session's whole record; ``UnknownRecordError`` if there is no such session."""
    summary = repo.session(session_id)
    clinical = ClinicalRecordRepository(repo.database)
    markers = clinical.markers(session_id)
    medications = clinical.medications(session_id)
    positions = {
        "alarm": {a.alarm_event_id: n for n, a in enumerate(clinical.alarm_events(session_id))},
        "note": {note.note_id: n for n, note in enumerate(clinical.notes(session_id))},
        "marker": {m.marker_id: n for n, m in enumerate(markers)},
        "medication": {m.medication_id: n for n, m in enumerate(medications)},
    }
    incidents = tuple(repo.incidents(session_id))
    return FullSessionRecord(
        session=summary,
        observations=tuple(repo.observations_for_export(session_id)),
        device_events=tuple(repo.device_events(session_id)),
        phase_transitions=tuple(repo.phase_transitions(session_id)),
        baselines=tuple(repo.baselines(session_id)),
        threshold_sets=tuple(repo.threshold_sets(session_id)),
        threshold_changes=tuple(repo.threshold_changes(session_id)),
        nibp_interval_changes=tuple(repo.nibp_interval_changes(session_id)),
        alarm_events=tuple(repo.alarm_events(session_id)),
        incidents=incidents,
        protocol_runs=tuple(repo.protocol_runs(session_id)),
        notes=tuple(repo.notes(session_id)),
        attestations=tuple(repo.attestations(session_id)),
        monitoring_gaps=tuple(repo.monitoring_gaps(session_id)),
        markers=tuple(MarkerRecord(m.at, m.recorded_at, m.who, m.station, m.label, m.note) for m in markers),
        medications=tuple(
            MedicationRecord(
                m.given_at, m.recorded_at, m.who, m.station, m.drug, m.dose, m.unit, m.route, m.note
            )
            for m in medications
        ),
        incident_documentation=tuple(_documentation(clinical, i.incident_id, positions) for i in incidents),
    )


def write_full_record(db: Database, record: FullSessionRecord) -> None:
    """Write a whole session record in one transaction (the importer's half of EXP-1).

    Rows go in in the record's order, so the repository reads them back in the same order.
    Raises ``DrillMixingError`` for a drill into the patient database (or the reverse) and
    ``SessionExistsError`` when the session is already there; nothing is written then.
    """
    s = record.session
    if s.is_drill != db.is_drill:
        kind, target = ("a drill", "the patient") if s.is_drill else ("a patient", "the drill")
        raise DrillMixingError(
            f"refusing to import {kind} session into {target} database ({db.url}): "
            "open the database for the right purpose"
        )
    with db.session() as session:
        if session.get(SessionRow, s.session_id) is not None:
            raise SessionExistsError(
                f"session {s.session_id} is already in {db.url}: import into an empty database"
            )
        session.add(
            SessionRow(
                id=s.session_id,
                patient_name=s.patient_name,
                patient_mrn=s.patient_mrn,
                clinician=s.clinician,
                is_drill=s.is_drill,
                scenario=s.scenario,
                started_at=s.started_at,
                ended_at=s.ended_at,
                phase=s.phase,
                station=s.station,
                patient_id=s.patient_id,
            )
        )
        session.flush()
        sid = s.session_id
        _insert(
            session,
            ObservationRow,
            [
                {
                    "session_id": sid,
                    "kind": o.kind.value,
                    "value": o.value,
                    "unit": o.unit,
                    "measured_at": o.measured_at,
                    "received_at": o.received_at,
                    "received_mono": o.received_mono,
                    "source": o.source,
                    "quality": o.quality.value,
                    "detail": o.detail,
                    "simulated": o.simulated,
                }
                for o in record.observations
            ],
        )
        _insert(
            session,
            DeviceEventRow,
            [
                {
                    "session_id": sid,
                    "kind": e.kind.value,
                    "source": e.source,
                    "at": e.at.wall,
                    "at_mono": e.at.mono,
                    "detail": e.detail,
                    "frames_ok": e.frames_ok,
                    "frames_rejected": e.frames_rejected,
                }
                for e in record.device_events
            ],
        )
        _insert(
            session,
            PhaseTransitionRow,
            [
                {
                    "session_id": sid,
                    "from_phase": p.from_phase,
                    "to_phase": p.to_phase,
                    "at": p.at,
                    "who": p.who,
                }
                for p in record.phase_transitions
            ],
        )
        _insert(
            session,
            BaselineRow,
            [
                {
                    "session_id": sid,
                    "systolic": b.systolic,
                    "diastolic": b.diastolic,
                    "mean": b.mean,
                    "spo2": b.spo2,
                    "pulse": b.pulse,
                    "confirmed_by": b.confirmed_by,
                    "confirmed_at": b.confirmed_at,
                    "overrides": [
                        {"field": o.field, "computed": o.computed, "value": o.value, "reason": o.reason}
                        for o in b.overrides
                    ],
                }
                for b in record.baselines
            ],
        )
        _insert(
            session,
            ThresholdSetRow,
            [
                {
                    "id": t.threshold_set_id,
                    "session_id": sid,
                    "confirmed_by": t.confirmed_by,
                    "confirmed_at": t.confirmed_at,
                    "systolic_ceiling": t.systolic_ceiling,
                    "diastolic_ceiling": t.diastolic_ceiling,
                    "hypotension_floor": t.hypotension_floor,
                    "spo2_floor": t.spo2_floor,
                    "spo2_critical_floor": t.spo2_critical_floor,
                    "pulse_floor": t.pulse_floor,
                    "pulse_ceiling": t.pulse_ceiling,
                    "expected_rise_low": t.expected_rise_low,
                    "expected_rise_high": t.expected_rise_high,
                    "mean_floor": t.mean_floor,
                    "systolic_fall_pct": t.systolic_fall_pct,
                    "mean_fall_pct": t.mean_fall_pct,
                }
                for t in record.threshold_sets
            ],
        )
        _insert(
            session,
            ThresholdChangeRow,
            [
                {
                    "threshold_set_id": c.threshold_set_id,
                    "session_id": sid,
                    "at": c.at,
                    "who": c.who,
                    "field": c.field,
                    "old": c.old,
                    "new": c.new,
                    "reason": c.reason,
                }
                for c in record.threshold_changes
            ],
        )
        _insert(
            session,
            NibpIntervalChangeRow,
            [
                {
                    "session_id": sid,
                    "at": n.at,
                    "old_interval_s": n.old_interval_s,
                    "new_interval_s": n.new_interval_s,
                    "reason": n.reason,
                    "who": n.who,
                }
                for n in record.nibp_interval_changes
            ],
        )
        _insert(
            session,
            AlarmEventRow,
            [
                {
                    "session_id": sid,
                    "kind": a.kind,
                    "condition": a.condition,
                    "priority": a.priority,
                    "at": a.at,
                    "person": a.person,
                    "message": a.message,
                }
                for a in record.alarm_events
            ],
        )
        _insert(
            session,
            IncidentRow,
            [
                {
                    "id": i.incident_id,
                    "session_id": sid,
                    "opened_at": i.opened_at,
                    "kind": i.kind,
                    "title": i.title,
                    "opened_by": i.opened_by,
                    "closed_at": i.closed_at,
                    "closed_by": i.closed_by,
                }
                for i in record.incidents
            ],
        )
        _insert(
            session,
            ProtocolRunRow,
            [
                {
                    "id": r.started.run_id,
                    "incident_id": r.started.incident_id,
                    "protocol_id": r.started.protocol_id,
                    "protocol_version": r.started.protocol_version,
                    "protocol_hash": r.started.protocol_hash,
                    "started_at": r.started.started_at,
                    "started_by": r.started.started_by,
                    "ended_at": r.ended_at,
                    "outcome": r.outcome,
                }
                for r in record.protocol_runs
            ],
        )
        _insert(
            session,
            ProtocolStepRow,
            [
                {
                    "run_id": step.run_id,
                    "seq": step.seq,
                    "at": step.at,
                    "person": step.person,
                    "node_id": step.node_id,
                    "kind": step.kind,
                    "value": step.value,
                    "note": step.note,
                    "corrects": step.corrects,
                    "occurred_at": step.occurred_at,
                }
                for r in record.protocol_runs
                for step in r.steps
            ],
        )
        _insert(
            session,
            NoteRow,
            [{"session_id": sid, "at": n.at, "who": n.who, "text": n.text} for n in record.notes],
        )
        _insert(
            session,
            AttestationRow,
            [
                {"session_id": sid, "checklist": a.checklist, "item": a.item, "who": a.who, "at": a.at}
                for a in record.attestations
            ],
        )
        _insert(
            session,
            MonitoringGapRow,
            [
                {
                    "session_id": sid,
                    "since": g.since,
                    "until": g.until,
                    "station": g.station,
                    "detail": g.detail,
                }
                for g in record.monitoring_gaps
            ],
        )
        _write_documentation(session, record)
    log.info("imported session %s into %s", s.session_id, db.url)


def _row_ids(session: Session, table: Any, session_id: str) -> list[int]:
    # The session is new, so its rows' ids ascend in the order they were just inserted: the record's.
    query = select(table.id).where(table.session_id == session_id).order_by(table.id)
    return list(session.scalars(query))


def _write_documentation(session: Session, record: FullSessionRecord) -> None:
    """Markers, medications and each incident's documentation, with positions turned into row ids."""
    sid = record.session.session_id
    _insert(
        session,
        EventMarkerRow,
        [
            {
                "session_id": sid,
                "at": m.at,
                "recorded_at": m.recorded_at,
                "who": m.who,
                "station": m.station,
                "label": m.label,
                "note": m.note,
            }
            for m in record.markers
        ],
    )
    _insert(
        session,
        MedicationGivenRow,
        [
            {
                "session_id": sid,
                "given_at": m.given_at,
                "recorded_at": m.recorded_at,
                "who": m.who,
                "station": m.station,
                "drug": m.drug,
                "dose": m.dose,
                "unit": m.unit,
                "route": m.route,
                "note": m.note,
            }
            for m in record.medications
        ],
    )
    if not record.incident_documentation:
        return
    ids = {
        "alarm": _row_ids(session, AlarmEventRow, sid),
        "note": _row_ids(session, NoteRow, sid),
        "marker": _row_ids(session, EventMarkerRow, sid),
        "medication": _row_ids(session, MedicationGivenRow, sid),
    }

    def row_id(kind: str, item: int, incident_id: str) -> int:
        if kind not in ids or not 0 <= item < len(ids[kind]):
            raise BrokenRecordLinkError(
                f"incident {incident_id} points at {kind} #{item}, which is not in the record"
            )
        return ids[kind][item]

    origins: list[dict[str, object]] = []
    links: list[dict[str, object]] = []
    closures: list[dict[str, object]] = []
    amendments: list[dict[str, object]] = []
    debriefs: list[dict[str, object]] = []
    reviews: list[dict[str, object]] = []
    told: list[dict[str, object]] = []
    for doc in record.incident_documentation:
        iid = doc.incident_id
        if doc.origin is not None:
            alarm = doc.origin.alarm_item
            origins.append(
                {
                    "incident_id": iid,
                    "source": doc.origin.source,
                    "station": doc.origin.station,
                    "alarm_event_id": None if alarm is None else row_id("alarm", alarm, iid),
                }
            )
        links += [
            {
                "incident_id": iid,
                "kind": link.kind,
                "ref": str(row_id(link.kind, link.item, iid)),
                "at": link.at,
                "who": link.who,
            }
            for link in doc.links
        ]
        if doc.closure is not None:
            c = doc.closure
            closures.append(
                {
                    "incident_id": iid,
                    "at": c.at,
                    "who": c.who,
                    "station": c.station,
                    "outcome": c.outcome,
                    "outcome_text": c.outcome_text,
                }
            )
        amendments += [
            {"incident_id": iid, "at": a.at, "who": a.who, "station": a.station, "text": a.text}
            for a in doc.amendments
        ]
        debriefs += [
            {
                "incident_id": iid,
                "at": d.at,
                "who": d.who,
                "station": d.station,
                "what_happened": d.what_happened,
                "what_was_done": d.what_was_done,
                "went_well": d.went_well,
                "to_improve": d.to_improve,
                "protocol_followed": d.protocol_followed,
                "serious": list(d.serious),
                "serious_text": d.serious_text,
            }
            for d in doc.debriefs
        ]
        reviews += [
            {
                "incident_id": iid,
                "at": r.at,
                "who": r.who,
                "station": r.station,
                "protocol_id": r.protocol_id,
                "protocol_version": r.protocol_version,
                "protocol_hash": r.protocol_hash,
                "protocol_followed": r.protocol_followed,
                "needs_change": r.needs_change,
                "findings": r.findings,
                "change_proposal": r.change_proposal,
            }
            for r in doc.reviews
        ]
        told += [
            {
                "incident_id": iid,
                "observed": t.observed,
                "done": t.done,
                "meaning": t.meaning,
                "told_by": t.told_by,
                "told_at": t.told_at,
                "recorded_by": t.recorded_by,
                "recorded_at": t.recorded_at,
                "station": t.station,
            }
            for t in doc.patient_told
        ]
    tables: tuple[tuple[type, list[dict[str, object]]], ...] = (
        (IncidentOriginRow, origins),
        (IncidentLinkRow, links),
        (IncidentClosureRow, closures),
        (IncidentAmendmentRow, amendments),
        (IncidentDebriefRow, debriefs),
        (IncidentReviewRow, reviews),
        (PatientToldRow, told),
    )
    for table, rows in tables:
        _insert(session, table, rows)


def _insert(session: Session, table: type, rows: list[dict[str, object]]) -> None:
    # A multi-row insert in list order: ids (and so the repository's tie-break order) follow it.
    if rows:
        session.execute(insert(table), rows)
