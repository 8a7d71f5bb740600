"""What storage keeps: plain frozen records, one per kind of thing that happened in a session.

The clinical layers (alarms, protocols, the session core) own their own domain types; the
composition root maps them into these records before handing them to ``StorageWriter.put``.
The repository gives the same records back on restart, so what was written is what is read.
Vitals and device events travel as the drivers' own ``Observation`` / ``DeviceEvent``.
Times are timezone-aware; storage keeps them as UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from drivers.types import DeviceEvent, Observation, VitalKind


@dataclass(frozen=True, slots=True)
class SessionSummary:
    """One monitored session (a patient's infusion, or a drill), as created and as read back."""

    session_id: str
    started_at: datetime
    clinician: str
    is_drill: bool
    phase: str
    patient_name: str = ""
    patient_mrn: str = ""
    scenario: str = ""
    ended_at: datetime | None = None
    #: The room/monitor the session runs on: a monitor resumes only its own station's session (MON-8).
    station: str = ""
    #: The patient record (storage.identity) the session is for; "" until one is chosen.
    patient_id: str = ""


@dataclass(frozen=True, slots=True)
class ObservationRecord:
    """One vital value seen during a session."""

    session_id: str
    observation: Observation


@dataclass(frozen=True, slots=True)
class DeviceEventRecord:
    """One device link event (connect, disconnect, silence, frame error counts) during a session."""

    session_id: str
    event: DeviceEvent


@dataclass(frozen=True, slots=True)
class PhaseTransitionRecord:
    """The session moved from one phase to another; also sets the session's current phase."""

    session_id: str
    from_phase: str
    to_phase: str
    at: datetime
    who: str


@dataclass(frozen=True, slots=True)
class SessionEndedRecord:
    """The session is over (discharged or ended early); sets its ``ended_at``."""

    session_id: str
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class BaselineOverride:
    """A clinician replaced a computed baseline value, with the reason (THR-2)."""

    field: str
    computed: float | None
    value: float
    reason: str


@dataclass(frozen=True, slots=True)
class BaselineRecord:
    """The patient's confirmed baseline (THR-2); a later record for the session supersedes it."""

    session_id: str
    systolic: float | None
    diastolic: float | None
    mean: float | None
    spo2: float | None
    pulse: float | None
    confirmed_by: str
    confirmed_at: datetime
    overrides: tuple[BaselineOverride, ...] = ()


@dataclass(frozen=True, slots=True)
class ThresholdSetRecord:
    """The patient's own thresholds as confirmed before the IV starts (THR-1, THR-4).

    ``expected_rise_low``/``expected_rise_high`` are the band's factors (e.g. 1.15 and 1.30).
    """

    threshold_set_id: str
    session_id: str
    confirmed_by: str
    confirmed_at: datetime
    systolic_ceiling: float | None = None
    diastolic_ceiling: float | None = None
    hypotension_floor: float | None = None
    spo2_floor: float | None = None
    spo2_critical_floor: float | None = None
    pulse_floor: float | None = None
    pulse_ceiling: float | None = None
    expected_rise_low: float | None = None
    expected_rise_high: float | None = None
    #: THR-7 (revision 0003): mean-pressure floor and the allowed falls from baseline, in %.
    mean_floor: float | None = None
    systolic_fall_pct: float | None = None
    mean_fall_pct: float | None = None


@dataclass(frozen=True, slots=True)
class ThresholdChangeRecord:
    """One threshold changed after confirmation: who, when, old, new and why (THR-5)."""

    threshold_set_id: str
    session_id: str
    at: datetime
    who: str
    field: str
    old: float | None
    new: float | None
    reason: str


@dataclass(frozen=True, slots=True)
class NibpIntervalChangeRecord:
    """The NIBP cycle interval changed, by a person or by the trend rule (MON-2, MON-3)."""

    session_id: str
    at: datetime
    old_interval_s: float
    new_interval_s: float
    reason: str
    who: str


@dataclass(frozen=True, slots=True)
class AlarmEventRecord:
    """An alarm started, ended, was acknowledged, paused... (ALM-3).

    ``kind`` is the event ("started", "ended", "acknowledged", "paused", "unpaused", ...),
    ``condition`` the alarm condition's name, ``priority`` "high"/"medium"/"low".
    ``person`` is empty for events nobody caused (a condition starting or ending by itself).
    """

    session_id: str
    kind: str
    condition: str
    priority: str
    at: datetime
    person: str = ""
    message: str = ""


@dataclass(frozen=True, slots=True)
class IncidentOpenedRecord:
    """An incident record was opened for an event during the session (DOC-2)."""

    incident_id: str
    session_id: str
    opened_at: datetime
    kind: str
    title: str
    opened_by: str


@dataclass(frozen=True, slots=True)
class IncidentAlarmLinkRecord:
    """An incident is linked to the alarm event behind it (DOC-2): the protocol desk's incident for
    a protocol an alarm offered. ``alarm`` is the alarm event as it was stored; its row is looked up
    when this is written (it is earlier in the same ordered stream). An alarm not found is logged
    and the link left out: a link never stops the writer."""

    incident_id: str
    alarm: AlarmEventRecord
    at: datetime
    who: str


@dataclass(frozen=True, slots=True)
class IncidentClosedRecord:
    """An incident was closed."""

    incident_id: str
    closed_at: datetime
    closed_by: str


@dataclass(frozen=True, slots=True)
class IncidentSummary:
    """An incident as read back: when it was opened and, if so, closed."""

    incident_id: str
    session_id: str
    opened_at: datetime
    kind: str
    title: str
    opened_by: str
    closed_at: datetime | None = None
    closed_by: str = ""


@dataclass(frozen=True, slots=True)
class ProtocolRunStartedRecord:
    """A written protocol was started for an incident, pinned to its exact version and content hash."""

    run_id: str
    incident_id: str
    protocol_id: str
    protocol_version: str
    protocol_hash: str
    started_at: datetime
    started_by: str


@dataclass(frozen=True, slots=True)
class ProtocolRunEndedRecord:
    """A protocol run reached a terminal or was abandoned; ``outcome`` says which."""

    run_id: str
    ended_at: datetime
    outcome: str


@dataclass(frozen=True, slots=True)
class ProtocolStepRecord:
    """One step shown, taken, skipped or answered in a run (PRO-6).

    ``seq`` numbers the run's steps from 1 and is unique per run: a correction is a new step with
    the next number, never an edit of an old one, and ``corrects`` names the seq it corrects.
    ``occurred_at`` is when a medication was given or a reading measured, if not ``at``.
    """

    run_id: str
    seq: int
    at: datetime
    person: str
    node_id: str
    kind: str
    value: str = ""
    note: str = ""
    corrects: int | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProtocolRunSummary:
    """A protocol run as read back, with its steps in order."""

    started: ProtocolRunStartedRecord
    steps: tuple[ProtocolStepRecord, ...]
    ended_at: datetime | None = None
    outcome: str = ""


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """A free-text clinical note in the session record (DOC-1)."""

    session_id: str
    at: datetime
    who: str
    text: str


@dataclass(frozen=True, slots=True)
class AttestationRecord:
    """A named clinician attested one checklist item (readiness PRO-7, discharge DIS-1)."""

    session_id: str
    checklist: str
    item: str
    who: str
    at: datetime


@dataclass(frozen=True, slots=True)
class MonitoringGapRecord:
    """The monitor was not watching (MON-8): from the last record before a crash or closed window
    (``since``) to the first moment after the restart (``until``). Nothing was judged in between."""

    session_id: str
    since: datetime
    until: datetime
    station: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ClinicalSnapshotRecord:
    """The whole clinical state of a session at ``at`` as JSON, restored after a restart (MON-8).

    ``state`` is whatever ``bedside.workflow.session_state`` wrote (a plain JSON object with its own
    ``version``); storage keeps it opaque. The latest one of a session is the one restored.
    """

    session_id: str
    at: datetime
    state: dict[str, Any]


#: Everything ``StorageWriter.put`` accepts.
StoredRecord = (
    ObservationRecord
    | DeviceEventRecord
    | PhaseTransitionRecord
    | SessionEndedRecord
    | BaselineRecord
    | ThresholdSetRecord
    | ThresholdChangeRecord
    | NibpIntervalChangeRecord
    | AlarmEventRecord
    | IncidentOpenedRecord
    | IncidentAlarmLinkRecord
    | IncidentClosedRecord
    | ProtocolRunStartedRecord
    | ProtocolRunEndedRecord
    | ProtocolStepRecord
    | NoteRecord
    | AttestationRecord
    | MonitoringGapRecord
    | ClinicalSnapshotRecord
)

#: High-rate records the writer may shed, oldest first, when its memory bound is reached during an
#: outage. Every other record (alarms, steps, phases, notes...) is kept until it can be written.
SHEDDABLE_RECORDS: tuple[type, ...] = (ObservationRecord, DeviceEventRecord)

#: Records committed with full durability the moment they are put (an alarm must survive a crash
#: or a power cut): the writer commits them at once, with SQLite ``synchronous=FULL`` and
#: PostgreSQL ``synchronous_commit=on``. Everything else waits for its batch (``flush_interval_s``)
#: and is committed with less: see the writer's module docstring for the window.
DURABLE_RECORDS: tuple[type, ...] = (AlarmEventRecord,)


@dataclass(frozen=True, slots=True)
class TrendColumns:
    """One vital's stored values as columns, in measurement order: what a trend plot needs, without
    an object per reading (a 24-hour session holds some 260 000 of them).

    ``measured_at_s`` is seconds since the Unix epoch (UTC); ``values`` is NaN where the device sent
    no number; ``valid`` is True where the quality was "valid".
    """

    kind: VitalKind
    measured_at_s: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]
    valid: npt.NDArray[np.bool_]

    def __len__(self) -> int:
        return int(self.values.shape[0])


@dataclass(frozen=True, slots=True)
class SourceTrend:
    """One source's stored values of one continuous vital, for a resumed trend (MON-5, MON-8):
    the older history as time buckets (the lowest and highest valid value of each, what a
    peak-preserving plot draws at that scale) and the newest part at full resolution.

    Times are seconds since the Unix epoch (UTC). A bucket with readings but none valid has NaN for
    ``low`` and ``high``; a bucket without readings is absent, so a silence stays a gap. ``count``
    is how many readings each bucket holds.
    """

    kind: VitalKind
    source: str
    bucket_s: float
    bucket_start_s: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    count: npt.NDArray[np.int64]
    recent: TrendColumns

    @property
    def readings(self) -> int:
        """How many stored readings this covers (bucketed and full resolution)."""
        return int(self.count.sum()) + len(self.recent)
