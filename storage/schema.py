"""The database tables (SQLAlchemy ORM). Every change here ships with an alembic migration.

Kinds, qualities, phases and priorities are stored as their string values, not database enums,
so a new kind in a lower layer needs no schema change. Times are UTC (``UtcDateTime``).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    false,
)
from sqlalchemy import UniqueConstraint as Unique
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from storage._utc import UtcDateTime

#: Constraint names fixed up front so later migrations (SQLite batch mode) can find them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-numbers an INTEGER PRIMARY KEY; elsewhere high-rate tables get 64-bit ids.
RowId = BigInteger().with_variant(Integer(), "sqlite")

#: Room for ids built from other ids, e.g. a threshold set's "{session uuid}/thresholds/{n}" (49
#: characters). Revision 0004 widened every id column from 36: PostgreSQL enforces the length and
#: refused such ids, losing the confirmed thresholds; SQLite ignores it, so nobody noticed there.
ID_LEN = 128
NAME_LEN = 200


class Base(DeclarativeBase):
    """Declarative base holding the schema's metadata."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


class DatabaseInfo(Base):
    """Facts about the database itself, e.g. whether it holds patient records or drills (DRL-1)."""

    __tablename__ = "database_info"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(NAME_LEN))


class SessionRow(Base):
    """One monitored session."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_started_at", "started_at"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    patient_name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    patient_mrn: Mapped[str] = mapped_column(String(64), default="")
    clinician: Mapped[str] = mapped_column(String(NAME_LEN))
    is_drill: Mapped[bool]
    scenario: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    phase: Mapped[str] = mapped_column(String(32))
    # Added in revision 0003: the room whose monitor runs the session, so a second monitor on a
    # shared database never resumes another room's patient (MON-8). Older rows hold "".
    station: Mapped[str] = mapped_column(String(NAME_LEN), default="", server_default="")
    # Added in revision 0008: the patient record this session is for ("" until one is chosen).
    patient_id: Mapped[str] = mapped_column(String(ID_LEN), default="", server_default="")


class PhaseTransitionRow(Base):
    """A phase change of a session (THR-1)."""

    __tablename__ = "phase_transitions"
    __table_args__ = (Index("ix_phase_transitions_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    from_phase: Mapped[str] = mapped_column(String(32))
    to_phase: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))


class ObservationRow(Base):
    """One vital value (MON-6: with its source, measurement time and quality)."""

    __tablename__ = "observations"
    __table_args__ = (Index("ix_observations_session_measured_at", "session_id", "measured_at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    measured_at: Mapped[datetime]
    received_at: Mapped[datetime]
    received_mono: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(NAME_LEN))
    quality: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text, default="")
    # Added in revision 0008: produced by a simulator (HL7 processing id T/D, a simulator's serial).
    simulated: Mapped[bool] = mapped_column(default=False, server_default=false())


class DeviceEventRow(Base):
    """A device link event."""

    __tablename__ = "device_events"
    __table_args__ = (Index("ix_device_events_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    kind: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(NAME_LEN))
    at: Mapped[datetime]
    at_mono: Mapped[float] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text, default="")
    frames_ok: Mapped[int] = mapped_column(BigInteger, default=0)
    frames_rejected: Mapped[int] = mapped_column(BigInteger, default=0)


class BaselineRow(Base):
    """A confirmed baseline (THR-2); overrides hold each replaced value with its reason."""

    __tablename__ = "baselines"
    __table_args__ = (Index("ix_baselines_session_at", "session_id", "confirmed_at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    systolic: Mapped[float | None] = mapped_column(Float)
    diastolic: Mapped[float | None] = mapped_column(Float)
    mean: Mapped[float | None] = mapped_column(Float)
    spo2: Mapped[float | None] = mapped_column(Float)
    pulse: Mapped[float | None] = mapped_column(Float)
    confirmed_by: Mapped[str] = mapped_column(String(NAME_LEN))
    confirmed_at: Mapped[datetime]
    overrides: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class ThresholdSetRow(Base):
    """A patient's confirmed thresholds (THR-1, THR-4)."""

    __tablename__ = "threshold_sets"
    __table_args__ = (Index("ix_threshold_sets_session_at", "session_id", "confirmed_at"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    confirmed_by: Mapped[str] = mapped_column(String(NAME_LEN))
    confirmed_at: Mapped[datetime]
    systolic_ceiling: Mapped[float | None] = mapped_column(Float)
    diastolic_ceiling: Mapped[float | None] = mapped_column(Float)
    hypotension_floor: Mapped[float | None] = mapped_column(Float)
    spo2_floor: Mapped[float | None] = mapped_column(Float)
    spo2_critical_floor: Mapped[float | None] = mapped_column(Float)
    pulse_floor: Mapped[float | None] = mapped_column(Float)
    pulse_ceiling: Mapped[float | None] = mapped_column(Float)
    expected_rise_low: Mapped[float | None] = mapped_column(Float)
    expected_rise_high: Mapped[float | None] = mapped_column(Float)
    # Added in revision 0003 (THR-7); NULL in sets confirmed before it.
    mean_floor: Mapped[float | None] = mapped_column(Float)
    systolic_fall_pct: Mapped[float | None] = mapped_column(Float)
    mean_fall_pct: Mapped[float | None] = mapped_column(Float)


class ThresholdChangeRow(Base):
    """A threshold changed after confirmation (THR-5): who, when, old, new, why."""

    __tablename__ = "threshold_changes"
    __table_args__ = (Index("ix_threshold_changes_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    threshold_set_id: Mapped[str] = mapped_column(ForeignKey("threshold_sets.id"))
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    field: Mapped[str] = mapped_column(String(64))
    old: Mapped[float | None] = mapped_column(Float)
    new: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)


class NibpIntervalChangeRow(Base):
    """The NIBP cycle interval changed (MON-3: the change is logged)."""

    __tablename__ = "nibp_interval_changes"
    __table_args__ = (Index("ix_nibp_interval_changes_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    at: Mapped[datetime]
    old_interval_s: Mapped[float] = mapped_column(Float)
    new_interval_s: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    who: Mapped[str] = mapped_column(String(NAME_LEN))


class AlarmEventRow(Base):
    """An alarm start, end, acknowledgement or pause (ALM-3)."""

    __tablename__ = "alarm_events"
    __table_args__ = (Index("ix_alarm_events_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    kind: Mapped[str] = mapped_column(String(32))
    condition: Mapped[str] = mapped_column(String(64))
    priority: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime]
    person: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    message: Mapped[str] = mapped_column(Text, default="")


class IncidentRow(Base):
    """An incident record, separate from the routine session note (DOC-2)."""

    __tablename__ = "incidents"
    __table_args__ = (Index("ix_incidents_session_opened_at", "session_id", "opened_at"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    opened_at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(NAME_LEN))
    opened_by: Mapped[str] = mapped_column(String(NAME_LEN))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str] = mapped_column(String(NAME_LEN), default="")


class ProtocolRunRow(Base):
    """A run of one written protocol, pinned to the version and content it ran."""

    __tablename__ = "protocol_runs"
    __table_args__ = (Index("ix_protocol_runs_incident_started_at", "incident_id", "started_at"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    protocol_id: Mapped[str] = mapped_column(String(NAME_LEN))
    protocol_version: Mapped[str] = mapped_column(String(64))
    protocol_hash: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime]
    started_by: Mapped[str] = mapped_column(String(NAME_LEN))
    ended_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(64), default="")


class ProtocolStepRow(Base):
    """One step of a run (PRO-6). Rows are only ever inserted; a correction is a new row."""

    __tablename__ = "protocol_steps"
    __table_args__ = (Unique("run_id", "seq", name="uq_protocol_steps_run_seq"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("protocol_runs.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]
    person: Mapped[str] = mapped_column(String(NAME_LEN))
    node_id: Mapped[str] = mapped_column(String(NAME_LEN))
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(Text, default="")
    note: Mapped[str] = mapped_column(Text, default="")
    # Added in revision 0002: the seq a correction points at, and when a medication was given or a
    # reading measured if that differs from ``at`` (when it was recorded).
    corrects: Mapped[int | None] = mapped_column(Integer)
    occurred_at: Mapped[datetime | None]


class NoteRow(Base):
    """A clinical note (DOC-1)."""

    __tablename__ = "notes"
    __table_args__ = (Index("ix_notes_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    text: Mapped[str] = mapped_column(Text)


class AttestationRow(Base):
    """A checklist item attested by a named clinician (PRO-7, DIS-1)."""

    __tablename__ = "attestations"
    __table_args__ = (Index("ix_attestations_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    checklist: Mapped[str] = mapped_column(String(64))
    item: Mapped[str] = mapped_column(String(NAME_LEN))
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    at: Mapped[datetime]


class MonitoringGapRow(Base):
    """A time the monitor was not watching the patient (a restart mid-session, MON-8)."""

    __tablename__ = "monitoring_gaps"
    __table_args__ = (Index("ix_monitoring_gaps_session_since", "session_id", "since"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    since: Mapped[datetime]
    until: Mapped[datetime]
    station: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    detail: Mapped[str] = mapped_column(Text, default="")


class ClinicalSnapshotRow(Base):
    """The session's clinical state as JSON after a change; the latest is restored on restart (MON-8)."""

    __tablename__ = "clinical_snapshots"
    __table_args__ = (Index("ix_clinical_snapshots_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    at: Mapped[datetime]
    state: Mapped[dict[str, Any]] = mapped_column(JSON)


# --- Identity and the audit trail (issue 9, revision 0005) ---

LOGIN_LEN = 64
HASH_HEX_LEN = 64  # a sha256 in hex
SECRET_HASH_LEN = 255  # an argon2 encoded hash (about 100 characters) with room for stronger settings


class ClinicianRow(Base):
    """A person who signs in: clinician, medical director or administrator (DOC-1: who recorded it)."""

    __tablename__ = "clinicians"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    login: Mapped[str] = mapped_column(String(LOGIN_LEN), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN))
    role: Mapped[str] = mapped_column(String(32))
    # Only the argon2 hash of the PIN or password is ever stored.
    secret_hash: Mapped[str] = mapped_column(String(SECRET_HASH_LEN))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(LOGIN_LEN))
    secret_changed_at: Mapped[datetime]
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    last_sign_in_at: Mapped[datetime | None]


class PatientRow(Base):
    """The minimum about a patient: who, born when, sex, weight, allergies, referring provider(s)."""

    __tablename__ = "patients"
    __table_args__ = (Index("ix_patients_clinic_id", "clinic_id"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    clinic_id: Mapped[str] = mapped_column(String(ID_LEN), default="")
    date_of_birth: Mapped[date] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(16))
    weight_kg: Mapped[float] = mapped_column(Float)
    allergies: Mapped[list[str]] = mapped_column(JSON)
    referring_providers: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(LOGIN_LEN))
    updated_at: Mapped[datetime]
    updated_by: Mapped[str] = mapped_column(String(LOGIN_LEN))


class ApprovalRow(Base):
    """A medical director's approval of a protocol file or the clinic defaults, by content hash."""

    __tablename__ = "approvals"
    __table_args__ = (Index("ix_approvals_kind_subject", "kind", "subject"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(NAME_LEN))
    version: Mapped[str] = mapped_column(String(64), default="")
    content_hash: Mapped[str] = mapped_column(String(80))
    approved_by: Mapped[str] = mapped_column(String(LOGIN_LEN))
    approved_by_name: Mapped[str] = mapped_column(String(NAME_LEN))
    at: Mapped[datetime]


class AuditEntryRow(Base):
    """One entry of the append-only audit trail, hash-chained to the one before.

    ``seq`` is assigned by the appender (1, 2, 3 ...), never by the database, so a deleted entry
    leaves a visible gap. ``details`` is the canonical JSON text the hash was taken over.
    """

    __tablename__ = "audit_entries"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    station: Mapped[str] = mapped_column(String(NAME_LEN))
    action: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(String(NAME_LEN))
    details: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(HASH_HEX_LEN))
    hash: Mapped[str] = mapped_column(String(HASH_HEX_LEN))


class AuditHeadRow(Base):
    """The newest entry of the audit trail (one row): a removed tail is then visible, and locking
    this row serialises appenders from several stations."""

    __tablename__ = "audit_head"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(HASH_HEX_LEN))


# --- The clinical record (issue 9, DOC-1..DOC-4). Rows are only ever inserted: an edit is a new row.


class EventMarkerRow(Base):
    """A time-stamped event marker the clinician put in the session record (DOC-1)."""

    __tablename__ = "event_markers"
    __table_args__ = (Index("ix_event_markers_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    station: Mapped[str] = mapped_column(String(NAME_LEN))
    label: Mapped[str] = mapped_column(String(NAME_LEN))
    note: Mapped[str] = mapped_column(Text, default="")


class MedicationGivenRow(Base):
    """A medication given, as the clinician entered it; Bedside never computes a dose (DOC-1)."""

    __tablename__ = "medications_given"
    __table_args__ = (Index("ix_medications_given_session_given_at", "session_id", "given_at"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id"))
    given_at: Mapped[datetime]
    recorded_at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    station: Mapped[str] = mapped_column(String(NAME_LEN))
    drug: Mapped[str] = mapped_column(String(NAME_LEN))
    dose: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    route: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")


class IncidentOriginRow(Base):
    """How an incident opened by hand or from an alarm came to be (DOC-2); protocol runs have none."""

    __tablename__ = "incident_origins"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    station: Mapped[str] = mapped_column(String(NAME_LEN))
    alarm_event_id: Mapped[int | None] = mapped_column(BigInteger)


class IncidentLinkRow(Base):
    """An alarm event, note, marker or medication linked to an incident (DOC-2)."""

    __tablename__ = "incident_links"
    __table_args__ = (Index("ix_incident_links_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    kind: Mapped[str] = mapped_column(String(32))
    ref: Mapped[str] = mapped_column(String(ID_LEN))
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))


class IncidentClosureRow(Base):
    """An incident's closing with its outcome; the primary key makes a second closing impossible."""

    __tablename__ = "incident_closures"

    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"), primary_key=True)
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    station: Mapped[str] = mapped_column(String(NAME_LEN))
    outcome: Mapped[str] = mapped_column(String(32))
    outcome_text: Mapped[str] = mapped_column(Text, default="")


class IncidentAmendmentRow(Base):
    """A later addition to an incident (after closing too): never an edit of what was written."""

    __tablename__ = "incident_amendments"
    __table_args__ = (Index("ix_incident_amendments_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    station: Mapped[str] = mapped_column(String(NAME_LEN))
    text: Mapped[str] = mapped_column(Text)


class IncidentDebriefRow(Base):
    """A structured debrief of an incident (DOC-3); a newer row supersedes an older one."""

    __tablename__ = "incident_debriefs"
    __table_args__ = (Index("ix_incident_debriefs_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    station: Mapped[str] = mapped_column(String(NAME_LEN))
    what_happened: Mapped[str] = mapped_column(Text)
    what_was_done: Mapped[str] = mapped_column(Text)
    went_well: Mapped[str] = mapped_column(Text)
    to_improve: Mapped[str] = mapped_column(Text)
    protocol_followed: Mapped[str] = mapped_column(String(16))
    serious: Mapped[list[str]] = mapped_column(JSON)
    serious_text: Mapped[str] = mapped_column(Text, default="")


class IncidentReviewRow(Base):
    """A formal review of a serious incident against the protocol version that ran (DOC-3)."""

    __tablename__ = "incident_reviews"
    __table_args__ = (Index("ix_incident_reviews_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    at: Mapped[datetime]
    who: Mapped[str] = mapped_column(String(NAME_LEN))
    station: Mapped[str] = mapped_column(String(NAME_LEN))
    protocol_id: Mapped[str] = mapped_column(String(NAME_LEN))
    protocol_version: Mapped[str] = mapped_column(String(64))
    protocol_hash: Mapped[str] = mapped_column(String(128))
    protocol_followed: Mapped[str] = mapped_column(String(16))
    needs_change: Mapped[bool]
    findings: Mapped[str] = mapped_column(Text)
    change_proposal: Mapped[str] = mapped_column(Text, default="")


class PatientToldRow(Base):
    """What the patient was told about an incident, by whom and when (DOC-4)."""

    __tablename__ = "patient_told"
    __table_args__ = (Index("ix_patient_told_incident", "incident_id"),)

    id: Mapped[int] = mapped_column(RowId, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id"))
    observed: Mapped[str] = mapped_column(Text)
    done: Mapped[str] = mapped_column(Text)
    meaning: Mapped[str] = mapped_column(Text)
    told_by: Mapped[str] = mapped_column(String(NAME_LEN))
    told_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(NAME_LEN))
    recorded_at: Mapped[datetime]
    station: Mapped[str] = mapped_column(String(NAME_LEN))


class FollowUpRow(Base):
    """One contact owed after an event (DOC-7): open until closed with an outcome."""

    __tablename__ = "follow_ups"
    __table_args__ = (
        Index("ix_follow_ups_due_by", "due_by"),
        Index("ix_follow_ups_session_id", "session_id"),
    )

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(ID_LEN))
    incident_id: Mapped[str] = mapped_column(String(ID_LEN), default="")
    patient_ref: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    event_type: Mapped[str] = mapped_column(String(64))
    contact: Mapped[str] = mapped_column(String(32))
    number: Mapped[int] = mapped_column(Integer, default=1)
    event_at: Mapped[datetime]
    opens_at: Mapped[datetime]
    due_by: Mapped[datetime]
    scheduled_at: Mapped[datetime]
    scheduled_by: Mapped[str] = mapped_column(String(NAME_LEN))
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str] = mapped_column(String(NAME_LEN), default="")
    outcome: Mapped[str] = mapped_column(String(16), default="")
    outcome_details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str] = mapped_column(Text, default="")


class ConsentRow(Base):
    """A patient's written consent to share a summary with the referring provider (DOC-5)."""

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_patient_id", "patient_id"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(ID_LEN))
    scope: Mapped[str] = mapped_column(String(NAME_LEN))
    signed_on: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[str] = mapped_column(String(NAME_LEN))
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str] = mapped_column(String(NAME_LEN), default="")


class SeriousEventRow(Base):
    """An event flagged as meeting the FDA MedWatch serious criteria (DOC-6), with the draft's facts."""

    __tablename__ = "serious_events"
    __table_args__ = (Index("ix_serious_events_subject", "subject"),)

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    subject: Mapped[str] = mapped_column(String(ID_LEN))
    session_id: Mapped[str] = mapped_column(String(ID_LEN))
    criteria: Mapped[list[str]] = mapped_column(JSON)
    event_at: Mapped[datetime]
    description: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    flagged_at: Mapped[datetime]
    flagged_by: Mapped[str] = mapped_column(String(NAME_LEN))


class DrillLogRow(Base):
    """A drill as logged (DRL-2): date, scenario, participants; only ever in a drill database."""

    __tablename__ = "drill_logs"

    id: Mapped[str] = mapped_column(String(ID_LEN), primary_key=True)
    session_id: Mapped[str] = mapped_column(String(ID_LEN))
    drill_date: Mapped[date] = mapped_column(Date)
    scenario: Mapped[str] = mapped_column(String(NAME_LEN))
    participants: Mapped[list[str]] = mapped_column(JSON)
    logged_at: Mapped[datetime]
    logged_by: Mapped[str] = mapped_column(String(NAME_LEN))
