"""Reading a session back: on restart (the session so far) and later for export and follow-up.

Everything comes back as the records it was written as (``storage.records``), vitals and device
events as the drivers' own ``Observation`` and ``DeviceEvent``, in the order they happened.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import numpy as np
from sqlalchemy import Float, Integer, case, cast, func, select

from drivers.types import DeviceEvent, DeviceEventKind, Observation, Quality, Stamp, VitalKind
from storage.database import Database
from storage.errors import DrillMixingError, UnknownRecordError
from storage.records import (
    AlarmEventRecord,
    AttestationRecord,
    BaselineOverride,
    BaselineRecord,
    ClinicalSnapshotRecord,
    IncidentSummary,
    MonitoringGapRecord,
    NibpIntervalChangeRecord,
    NoteRecord,
    PhaseTransitionRecord,
    ProtocolRunStartedRecord,
    ProtocolRunSummary,
    ProtocolStepRecord,
    SessionSummary,
    SourceTrend,
    ThresholdChangeRecord,
    ThresholdSetRecord,
    TrendColumns,
)
from storage.schema import (
    AlarmEventRow,
    AttestationRow,
    BaselineRow,
    ClinicalSnapshotRow,
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

INITIAL_PHASE = "setup"
#: The most readings one trend read returns (the newest): half again a 24-hour session's ~260 000,
#: and a fixed ceiling on memory whatever the database holds.
TREND_MAX_ROWS = 400_000
TREND_CHUNK_ROWS = 20_000
#: ``source_trends``: the newest this long at full resolution (what the trend shows first), and
#: older history as per-minute buckets, each its lowest and highest valid value.
TREND_RECENT_S = 3600.0
TREND_BUCKET_S = 60.0


def _summary(row: SessionRow) -> SessionSummary:
    return SessionSummary(
        session_id=row.id,
        started_at=row.started_at,
        clinician=row.clinician,
        is_drill=row.is_drill,
        phase=row.phase,
        patient_name=row.patient_name,
        patient_mrn=row.patient_mrn,
        scenario=row.scenario,
        ended_at=row.ended_at,
        station=row.station,
        patient_id=row.patient_id,
    )


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


def _override(item: dict[str, Any]) -> BaselineOverride:
    return BaselineOverride(
        field=str(item["field"]),
        computed=None if item.get("computed") is None else float(item["computed"]),
        value=float(item["value"]),
        reason=str(item["reason"]),
    )


def observation_of(row: ObservationRow) -> Observation:
    """A stored observation row as the domain Observation (the one mapping, used by every reader)."""
    return Observation(
        kind=VitalKind(row.kind),
        value=row.value,
        unit=row.unit,
        measured_at=row.measured_at,
        received_at=row.received_at,
        received_mono=row.received_mono,
        source=row.source,
        quality=Quality(row.quality),
        detail=row.detail,
        simulated=row.simulated,
    )


class SessionRepository:
    """Creates sessions and reads back everything recorded in them."""

    def __init__(self, db: Database) -> None:
        self._db = db

    @property
    def database(self) -> Database:
        """The database this repository reads (for readers of the rest of the record)."""
        return self._db

    def create_session(
        self,
        *,
        clinician: str,
        started_at: datetime,
        patient_name: str = "",
        patient_mrn: str = "",
        scenario: str = "",
        phase: str = INITIAL_PHASE,
        is_drill: bool | None = None,
        session_id: str | None = None,
        station: str = "",
    ) -> SessionSummary:
        """Write a new session now (synchronously) and return it; ``is_drill`` defaults to the database's.

        Raises ``DrillMixingError`` when a drill would go into the patient database or the reverse (DRL-1).
        """
        drill = self._db.is_drill if is_drill is None else is_drill
        if drill != self._db.is_drill:
            kind, target = ("a drill", "the patient") if drill else ("a patient", "the drill")
            raise DrillMixingError(
                f"refusing to record {kind} session in {target} database ({self._db.url}): "
                "open the database for the right purpose (open_database(drill=...))"
            )
        row = SessionRow(
            id=session_id or str(uuid.uuid4()),
            patient_name=patient_name,
            patient_mrn=patient_mrn,
            clinician=clinician,
            is_drill=drill,
            scenario=scenario,
            started_at=started_at,
            ended_at=None,
            phase=phase,
            station=station,
        )
        with self._db.session() as session:
            session.add(row)
        log.info("session %s started (%s)", row.id, "drill" if drill else "patient")
        return _summary(row)

    def set_patient(self, session_id: str, patient_id: str, *, name: str, clinic_id: str) -> SessionSummary:
        """The session is for this patient record (chosen at the monitor): stored at once, so a
        restart, the exports and the EMS hand-off name the same patient."""
        with self._db.session() as session:
            row = session.get(SessionRow, session_id)
            if row is None:
                raise UnknownRecordError(f"no session {session_id} in {self._db.url}")
            row.patient_id, row.patient_name, row.patient_mrn = patient_id, name, clinic_id
            summary = _summary(row)
        log.info("session %s linked to patient record %s", session_id, patient_id)
        return summary

    def session(self, session_id: str) -> SessionSummary:
        """One session by id; ``UnknownRecordError`` if there is none."""
        with self._db.session() as session:
            row = session.get(SessionRow, session_id)
            if row is None:
                raise UnknownRecordError(f"no session {session_id} in {self._db.url}")
            return _summary(row)

    def sessions(self, *, limit: int | None = None) -> list[SessionSummary]:
        """Sessions, newest first."""
        query = select(SessionRow).order_by(SessionRow.started_at.desc(), SessionRow.id).limit(limit)
        with self._db.session() as session:
            return [_summary(row) for row in session.scalars(query)]

    def latest_open_session(
        self, is_drill: bool | None = None, station: str | None = None
    ) -> SessionSummary | None:
        """The most recently started session that has not ended (the one to resume after a restart).

        With ``station`` only that station's sessions count: monitors in several rooms may share one
        database, and a monitor must never resume another room's patient (MON-8).
        """
        drill = self._db.is_drill if is_drill is None else is_drill
        query = select(SessionRow).where(SessionRow.ended_at.is_(None), SessionRow.is_drill == drill)
        if station is not None:
            query = query.where(SessionRow.station == station)
        query = query.order_by(SessionRow.started_at.desc()).limit(1)
        with self._db.session() as session:
            row = session.scalars(query).first()
            return None if row is None else _summary(row)

    def observations(
        self,
        session_id: str,
        since: datetime | None = None,
        kinds: Iterable[VitalKind] | None = None,
    ) -> list[Observation]:
        """The session's observations in measurement order, optionally from ``since`` and of ``kinds``."""
        query = select(ObservationRow).where(ObservationRow.session_id == session_id)
        if since is not None:
            query = query.where(ObservationRow.measured_at >= since)
        if kinds is not None:
            query = query.where(ObservationRow.kind.in_([kind.value for kind in kinds]))
        query = query.order_by(ObservationRow.measured_at, ObservationRow.id)
        with self._db.session() as session:
            return [observation_of(row) for row in session.scalars(query)]

    def trend_columns(
        self,
        session_id: str,
        *,
        since: datetime | None = None,
        kinds: Iterable[VitalKind] | None = None,
        max_rows: int = TREND_MAX_ROWS,
    ) -> dict[VitalKind, TrendColumns]:
        """The session's vitals as columns per kind, for the trend on resume (no object per reading).

        One bounded query: at most ``max_rows`` readings (the newest), from ``since`` if given. Times
        are converted to epoch seconds in the database, so no datetime is built per row.
        """
        at = ObservationRow.measured_at
        if self._db.engine.dialect.name == "sqlite":
            epoch_s: Any = (func.julianday(at) - 2440587.5) * 86400.0
        else:
            epoch_s = cast(func.extract("epoch", at), Float)
        query = select(ObservationRow.kind, epoch_s, ObservationRow.value, ObservationRow.quality).where(
            ObservationRow.session_id == session_id
        )
        if since is not None:
            query = query.where(at >= since)
        if kinds is not None:
            query = query.where(ObservationRow.kind.in_([kind.value for kind in kinds]))
        # The newest max_rows, read newest first and turned round below.
        query = query.order_by(at.desc(), ObservationRow.id.desc()).limit(max_rows)
        kinds_parts: list[Any] = []
        times_parts: list[Any] = []
        values_parts: list[Any] = []
        valid_parts: list[Any] = []
        with self._db.engine.connect() as connection:
            # Streamed in chunks turned into arrays at once: memory stays near the arrays' own size.
            result = connection.execution_options(yield_per=TREND_CHUNK_ROWS).execute(query)
            for part in result.partitions():
                kind_col, time_col, value_col, quality_col = zip(*part, strict=True)
                kinds_parts.append(np.asarray(kind_col))
                times_parts.append(np.asarray(time_col, dtype=np.float64))
                values_parts.append(np.asarray(value_col, dtype=np.float64))  # None becomes NaN
                valid_parts.append(np.asarray(quality_col) == Quality.VALID.value)
        if not kinds_parts:
            return {}
        kind_arr = np.concatenate(kinds_parts)[::-1]
        times = np.concatenate(times_parts)[::-1]
        values = np.concatenate(values_parts)[::-1]
        valid = np.concatenate(valid_parts)[::-1]
        columns: dict[VitalKind, TrendColumns] = {}
        for name in np.unique(kind_arr):
            mask = kind_arr == name
            kind = VitalKind(str(name))
            columns[kind] = TrendColumns(kind, times[mask], values[mask], valid[mask])
        return columns

    def _epoch_s(self) -> Any:
        """``measured_at`` as seconds since the Unix epoch, computed in the database."""
        at = ObservationRow.measured_at
        if self._db.engine.dialect.name == "sqlite":
            return (func.julianday(at) - 2440587.5) * 86400.0
        return cast(func.extract("epoch", at), Float)

    def source_trends(
        self,
        session_id: str,
        *,
        kinds: Iterable[VitalKind],
        recent_s: float = TREND_RECENT_S,
        bucket_s: float = TREND_BUCKET_S,
        max_rows: int = TREND_MAX_ROWS,
    ) -> dict[tuple[VitalKind, str], SourceTrend]:
        """The whole session's trend of ``kinds``, per kind and source, for a resumed monitor (MON-5).

        The newest ``recent_s`` (counted back from the session's newest reading, to a bucket's
        start) at full resolution, at most ``max_rows`` of them; everything older as ``bucket_s``
        buckets, each with its lowest and highest valid value, computed in the database (GROUP BY,
        SQLite and PostgreSQL), so a 24-hour session is read as a few thousand rows, and a peak
        of one second hours ago is still there at its value. Bucket edges are whole multiples of
        ``bucket_s`` since the epoch.
        """
        if bucket_s <= 0 or recent_s < 0:
            raise ValueError("bucket_s must be positive and recent_s not negative")
        row = ObservationRow
        names = [kind.value for kind in kinds]
        with self._db.session() as session:
            newest = session.scalar(select(func.max(row.measured_at)).where(row.session_id == session_id))
        if newest is None:
            return {}
        newest_s = newest.timestamp()
        cutoff_s = float(np.floor((newest_s - recent_s) / bucket_s) * bucket_s)
        cutoff = datetime.fromtimestamp(cutoff_s, UTC)
        epoch_s = self._epoch_s()
        if self._db.engine.dialect.name == "sqlite":
            # Epoch seconds are positive: truncation is the floor.
            bucket: Any = cast(epoch_s / bucket_s, Integer)
        else:
            bucket = func.floor(epoch_s / bucket_s)
        valid_value = case((row.quality == Quality.VALID.value, row.value))
        older = (
            select(
                row.kind,
                row.source,
                bucket.label("bucket"),
                func.min(valid_value),
                func.max(valid_value),
                func.count(),
            )
            .where(row.session_id == session_id, row.kind.in_(names), row.measured_at < cutoff)
            # Time first: the rows arrive in time order, and SQLite sorts them faster so (~40 %).
            .group_by(bucket, row.kind, row.source)
        )
        buckets: dict[tuple[str, str], list[tuple[float, float, float, int]]] = {}
        with self._db.engine.connect() as connection:
            for kind, source, b, low, high, n in connection.execute(older):
                buckets.setdefault((kind, source), []).append(
                    (
                        float(b) * bucket_s,
                        np.nan if low is None else float(low),
                        np.nan if high is None else float(high),
                        int(n),
                    )
                )
            newest_first = (
                select(row.kind, row.source, epoch_s, row.value, row.quality)
                .where(row.session_id == session_id, row.kind.in_(names), row.measured_at >= cutoff)
                .order_by(row.measured_at.desc(), row.id.desc())
                .limit(max_rows)
            )
            recent_rows = connection.execute(newest_first).all()[::-1]
        recent: dict[tuple[str, str], list[tuple[float, float, bool]]] = {}
        for kind, source, t, value, quality in recent_rows:
            recent.setdefault((kind, source), []).append(
                (float(t), np.nan if value is None else float(value), quality == Quality.VALID.value)
            )
        out: dict[tuple[VitalKind, str], SourceTrend] = {}
        for key in sorted(buckets.keys() | recent.keys()):
            kind = VitalKind(key[0])
            parts = sorted(buckets.get(key, ()))
            rows = recent.get(key, [])
            out[(kind, key[1])] = SourceTrend(
                kind=kind,
                source=key[1],
                bucket_s=bucket_s,
                bucket_start_s=np.array([p[0] for p in parts], dtype=np.float64),
                low=np.array([p[1] for p in parts], dtype=np.float64),
                high=np.array([p[2] for p in parts], dtype=np.float64),
                count=np.array([p[3] for p in parts], dtype=np.int64),
                recent=TrendColumns(
                    kind,
                    np.array([r[0] for r in rows], dtype=np.float64),
                    np.array([r[1] for r in rows], dtype=np.float64),
                    np.array([r[2] for r in rows], dtype=np.bool_),
                ),
            )
        return out

    def observations_for_export(self, session_id: str) -> list[Observation]:
        """The same as ``observations(session_id)``, read as plain rows instead of ORM objects.

        For reading a whole long session at once (export, EXP-1): an 8-hour session's 60 k rows
        come back in a fraction of the ORM's time, because no identity map is kept.
        """
        row = ObservationRow
        query = (
            select(
                row.kind,
                row.value,
                row.unit,
                row.measured_at,
                row.received_at,
                row.received_mono,
                row.source,
                row.quality,
                row.detail,
            )
            .where(row.session_id == session_id)
            .order_by(row.measured_at, row.id)
        )
        kinds = {kind.value: kind for kind in VitalKind}
        qualities = {quality.value: quality for quality in Quality}
        with self._db.session() as session:
            return [
                Observation(
                    kinds[kind], value, unit, measured, received, mono, source, qualities[quality], detail
                )
                for kind, value, unit, measured, received, mono, source, quality, detail in session.execute(
                    query
                )
            ]

    def device_events(self, session_id: str) -> list[DeviceEvent]:
        """The session's device link events in order."""
        query = (
            select(DeviceEventRow)
            .where(DeviceEventRow.session_id == session_id)
            .order_by(DeviceEventRow.at, DeviceEventRow.id)
        )
        with self._db.session() as session:
            return [
                DeviceEvent(
                    kind=DeviceEventKind(row.kind),
                    source=row.source,
                    at=Stamp(wall=row.at, mono=row.at_mono),
                    detail=row.detail,
                    frames_ok=row.frames_ok,
                    frames_rejected=row.frames_rejected,
                )
                for row in session.scalars(query)
            ]

    def phase_transitions(self, session_id: str) -> list[PhaseTransitionRecord]:
        """The session's phase changes in order (DOC-1: times of each phase)."""
        query = (
            select(PhaseTransitionRow)
            .where(PhaseTransitionRow.session_id == session_id)
            .order_by(PhaseTransitionRow.at, PhaseTransitionRow.id)
        )
        with self._db.session() as session:
            return [
                PhaseTransitionRecord(row.session_id, row.from_phase, row.to_phase, row.at, row.who)
                for row in session.scalars(query)
            ]

    def baselines(self, session_id: str) -> list[BaselineRecord]:
        """Every baseline confirmed in the session, oldest first (the last one is in force)."""
        query = (
            select(BaselineRow)
            .where(BaselineRow.session_id == session_id)
            .order_by(BaselineRow.confirmed_at, BaselineRow.id)
        )
        with self._db.session() as session:
            return [
                BaselineRecord(
                    session_id=row.session_id,
                    systolic=row.systolic,
                    diastolic=row.diastolic,
                    mean=row.mean,
                    spo2=row.spo2,
                    pulse=row.pulse,
                    confirmed_by=row.confirmed_by,
                    confirmed_at=row.confirmed_at,
                    overrides=tuple(_override(item) for item in row.overrides),
                )
                for row in session.scalars(query)
            ]

    def threshold_sets(self, session_id: str) -> list[ThresholdSetRecord]:
        """Threshold sets confirmed in the session, oldest first, as confirmed (changes are separate)."""
        query = (
            select(ThresholdSetRow)
            .where(ThresholdSetRow.session_id == session_id)
            .order_by(ThresholdSetRow.confirmed_at, ThresholdSetRow.id)
        )
        with self._db.session() as session:
            return [
                ThresholdSetRecord(
                    threshold_set_id=row.id,
                    session_id=row.session_id,
                    confirmed_by=row.confirmed_by,
                    confirmed_at=row.confirmed_at,
                    systolic_ceiling=row.systolic_ceiling,
                    diastolic_ceiling=row.diastolic_ceiling,
                    hypotension_floor=row.hypotension_floor,
                    spo2_floor=row.spo2_floor,
                    spo2_critical_floor=row.spo2_critical_floor,
                    pulse_floor=row.pulse_floor,
                    pulse_ceiling=row.pulse_ceiling,
                    expected_rise_low=row.expected_rise_low,
                    expected_rise_high=row.expected_rise_high,
                    mean_floor=row.mean_floor,
                    systolic_fall_pct=row.systolic_fall_pct,
                    mean_fall_pct=row.mean_fall_pct,
                )
                for row in session.scalars(query)
            ]

    def threshold_changes(self, session_id: str) -> list[ThresholdChangeRecord]:
        """Threshold changes after confirmation, in order (THR-5)."""
        query = (
            select(ThresholdChangeRow)
            .where(ThresholdChangeRow.session_id == session_id)
            .order_by(ThresholdChangeRow.at, ThresholdChangeRow.id)
        )
        with self._db.session() as session:
            return [
                ThresholdChangeRecord(
                    threshold_set_id=row.threshold_set_id,
                    session_id=row.session_id,
                    at=row.at,
                    who=row.who,
                    field=row.field,
                    old=row.old,
                    new=row.new,
                    reason=row.reason,
                )
                for row in session.scalars(query)
            ]

    def nibp_interval_changes(self, session_id: str) -> list[NibpIntervalChangeRecord]:
        """NIBP interval changes in order (MON-3)."""
        query = (
            select(NibpIntervalChangeRow)
            .where(NibpIntervalChangeRow.session_id == session_id)
            .order_by(NibpIntervalChangeRow.at, NibpIntervalChangeRow.id)
        )
        with self._db.session() as session:
            return [
                NibpIntervalChangeRecord(
                    row.session_id, row.at, row.old_interval_s, row.new_interval_s, row.reason, row.who
                )
                for row in session.scalars(query)
            ]

    def alarm_events(self, session_id: str) -> list[AlarmEventRecord]:
        """Alarm starts, ends, acknowledgements and pauses in order (ALM-3)."""
        query = (
            select(AlarmEventRow)
            .where(AlarmEventRow.session_id == session_id)
            .order_by(AlarmEventRow.at, AlarmEventRow.id)
        )
        with self._db.session() as session:
            return [
                AlarmEventRecord(
                    row.session_id, row.kind, row.condition, row.priority, row.at, row.person, row.message
                )
                for row in session.scalars(query)
            ]

    def incidents(self, session_id: str) -> list[IncidentSummary]:
        """The session's incidents in the order they were opened (DOC-2)."""
        query = (
            select(IncidentRow)
            .where(IncidentRow.session_id == session_id)
            .order_by(IncidentRow.opened_at, IncidentRow.id)
        )
        with self._db.session() as session:
            return [_incident(row) for row in session.scalars(query)]

    def protocol_runs(self, session_id: str) -> list[ProtocolRunSummary]:
        """Every protocol run of the session's incidents, in start order, each with its steps (PRO-6)."""
        runs_query = (
            select(ProtocolRunRow)
            .join(IncidentRow, ProtocolRunRow.incident_id == IncidentRow.id)
            .where(IncidentRow.session_id == session_id)
            .order_by(ProtocolRunRow.started_at, ProtocolRunRow.id)
        )
        with self._db.session() as session:
            runs = list(session.scalars(runs_query))
            steps_query = (
                select(ProtocolStepRow)
                .where(ProtocolStepRow.run_id.in_([run.id for run in runs]))
                .order_by(ProtocolStepRow.run_id, ProtocolStepRow.seq)
            )
            steps: dict[str, list[ProtocolStepRecord]] = {run.id: [] for run in runs}
            for row in session.scalars(steps_query):
                steps[row.run_id].append(
                    ProtocolStepRecord(
                        row.run_id,
                        row.seq,
                        row.at,
                        row.person,
                        row.node_id,
                        row.kind,
                        row.value,
                        row.note,
                        corrects=row.corrects,
                        occurred_at=row.occurred_at,
                    )
                )
            return [
                ProtocolRunSummary(
                    started=ProtocolRunStartedRecord(
                        run_id=run.id,
                        incident_id=run.incident_id,
                        protocol_id=run.protocol_id,
                        protocol_version=run.protocol_version,
                        protocol_hash=run.protocol_hash,
                        started_at=run.started_at,
                        started_by=run.started_by,
                    ),
                    steps=tuple(steps[run.id]),
                    ended_at=run.ended_at,
                    outcome=run.outcome,
                )
                for run in runs
            ]

    def notes(self, session_id: str) -> list[NoteRecord]:
        """Clinical notes in order (DOC-1)."""
        query = select(NoteRow).where(NoteRow.session_id == session_id).order_by(NoteRow.at, NoteRow.id)
        with self._db.session() as session:
            return [NoteRecord(row.session_id, row.at, row.who, row.text) for row in session.scalars(query)]

    def attestations(self, session_id: str, checklist: str | None = None) -> list[AttestationRecord]:
        """Checklist attestations in order, optionally of one checklist (PRO-7, DIS-1)."""
        query = select(AttestationRow).where(AttestationRow.session_id == session_id)
        if checklist is not None:
            query = query.where(AttestationRow.checklist == checklist)
        query = query.order_by(AttestationRow.at, AttestationRow.id)
        with self._db.session() as session:
            return [
                AttestationRecord(row.session_id, row.checklist, row.item, row.who, row.at)
                for row in session.scalars(query)
            ]

    def monitoring_gaps(self, session_id: str) -> list[MonitoringGapRecord]:
        """Times the monitor was not watching during the session, oldest first (MON-8)."""
        query = (
            select(MonitoringGapRow)
            .where(MonitoringGapRow.session_id == session_id)
            .order_by(MonitoringGapRow.since, MonitoringGapRow.id)
        )
        with self._db.session() as session:
            return [
                MonitoringGapRecord(row.session_id, row.since, row.until, row.station, row.detail)
                for row in session.scalars(query)
            ]

    def latest_clinical_snapshot(self, session_id: str) -> ClinicalSnapshotRecord | None:
        """The newest clinical-state snapshot of the session (the one a restart restores), or None."""
        query = (
            select(ClinicalSnapshotRow)
            .where(ClinicalSnapshotRow.session_id == session_id)
            .order_by(ClinicalSnapshotRow.id.desc())
            .limit(1)
        )
        with self._db.session() as session:
            row = session.scalars(query).first()
            return None if row is None else ClinicalSnapshotRecord(row.session_id, row.at, dict(row.state))

    def last_record_at(self, session_id: str) -> datetime | None:
        """The time of the newest thing recorded in the session (vitals, events, alarms, steps...).

        After a crash this is when the monitor was last known to be watching: the start of the gap.
        """
        stamped: list[tuple[Any, Any]] = [
            (ObservationRow.received_at, ObservationRow.session_id),
            (DeviceEventRow.at, DeviceEventRow.session_id),
            (AlarmEventRow.at, AlarmEventRow.session_id),
            (PhaseTransitionRow.at, PhaseTransitionRow.session_id),
            (ThresholdChangeRow.at, ThresholdChangeRow.session_id),
            (NibpIntervalChangeRow.at, NibpIntervalChangeRow.session_id),
            (AttestationRow.at, AttestationRow.session_id),
            (NoteRow.at, NoteRow.session_id),
            (ClinicalSnapshotRow.at, ClinicalSnapshotRow.session_id),
            (MonitoringGapRow.until, MonitoringGapRow.session_id),
        ]
        with self._db.session() as session:
            found = [session.scalar(select(func.max(at)).where(sid == session_id)) for at, sid in stamped]
            step = session.scalar(
                select(func.max(ProtocolStepRow.at))
                .join(ProtocolRunRow, ProtocolStepRow.run_id == ProtocolRunRow.id)
                .join(IncidentRow, ProtocolRunRow.incident_id == IncidentRow.id)
                .where(IncidentRow.session_id == session_id)
            )
        times = [t for t in (*found, step) if t is not None]
        return max(times) if times else None
