"""A session's whole record in one value: read through the repository, written back row for row.

Export (EXP-1) reads it; the JSON importer writes it into an empty database so that reading it
again gives the same value. Writing goes straight to the rows (not through ``apply_records``) so
that every column comes back exactly as it was, including a session's phase and end time.
Clinical snapshots (restart state, MON-8) are not part of the record: they are the monitor's
working memory, and everything they hold is also in the rows below.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session

from drivers.types import DeviceEvent, Observation
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
    IncidentRow,
    MonitoringGapRow,
    NibpIntervalChangeRow,
    NoteRow,
    ObservationRow,
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


def read_full_record(repo: SessionRepository, session_id: str) -> FullSessionRecord:
    """The session's whole record; ``UnknownRecordError`` if there is no such session."""
    summary = repo.session(session_id)
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
        incidents=tuple(repo.incidents(session_id)),
        protocol_runs=tuple(repo.protocol_runs(session_id)),
        notes=tuple(repo.notes(session_id)),
        attestations=tuple(repo.attestations(session_id)),
        monitoring_gaps=tuple(repo.monitoring_gaps(session_id)),
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
    log.info("imported session %s into %s", s.session_id, db.url)


def _insert(session: Session, table: type, rows: list[dict[str, object]]) -> None:
    # A multi-row insert in list order: ids (and so the repository's tie-break order) follow it.
    if rows:
        session.execute(insert(table), rows)
