"""Turning records into SQL: one ordered list of records becomes inserts and updates on one connection.

Order is kept exactly (an incident opened and a run started for it in the same batch land in that
order); runs of the same kind of record go in as one multi-row insert.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

from sqlalchemy import Connection, Table, insert, select, update

from storage.errors import UnknownRecordError
from storage.records import (
    AlarmEventRecord,
    AttestationRecord,
    BaselineRecord,
    ClinicalSnapshotRecord,
    DeviceEventRecord,
    IncidentAlarmLinkRecord,
    IncidentClosedRecord,
    IncidentOpenedRecord,
    MonitoringGapRecord,
    NibpIntervalChangeRecord,
    NoteRecord,
    ObservationRecord,
    PhaseTransitionRecord,
    ProtocolRunEndedRecord,
    ProtocolRunStartedRecord,
    ProtocolStepRecord,
    SessionEndedRecord,
    StoredRecord,
    ThresholdChangeRecord,
    ThresholdSetRecord,
)
from storage.schema import (
    AlarmEventRow,
    AttestationRow,
    BaselineRow,
    ClinicalSnapshotRow,
    DeviceEventRow,
    IncidentLinkRow,
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

Row = dict[str, Any]


def _observation(record: Any) -> Row:
    obs = record.observation
    return {
        "session_id": record.session_id,
        "kind": obs.kind.value,
        "value": obs.value,
        "unit": obs.unit,
        "measured_at": obs.measured_at,
        "received_at": obs.received_at,
        "received_mono": obs.received_mono,
        "source": obs.source,
        "quality": obs.quality.value,
        "detail": obs.detail,
        "simulated": obs.simulated,
    }


def _device_event(record: Any) -> Row:
    event = record.event
    return {
        "session_id": record.session_id,
        "kind": event.kind.value,
        "source": event.source,
        "at": event.at.wall,
        "at_mono": event.at.mono,
        "detail": event.detail,
        "frames_ok": event.frames_ok,
        "frames_rejected": event.frames_rejected,
    }


def _baseline(record: Any) -> Row:
    row = asdict(record)
    row["overrides"] = [asdict(o) for o in record.overrides]
    return row


def _threshold_set(record: Any) -> Row:
    row = asdict(record)
    row["id"] = row.pop("threshold_set_id")
    return row


def _incident(record: Any) -> Row:
    row = asdict(record)
    row["id"] = row.pop("incident_id")
    return row


def _protocol_run(record: Any) -> Row:
    row = asdict(record)
    row["id"] = row.pop("run_id")
    return row


def _snapshot(record: Any) -> Row:
    # asdict would deep-copy the state; the writer thread owns the record, so the dict goes as is.
    return {"session_id": record.session_id, "at": record.at, "state": record.state}


#: Records that are one new row each: the table and how the record becomes that row.
_INSERTS: dict[type, tuple[Table, Callable[[Any], Row]]] = {
    ObservationRecord: (ObservationRow.__table__, _observation),  # type: ignore[dict-item]
    DeviceEventRecord: (DeviceEventRow.__table__, _device_event),  # type: ignore[dict-item]
    BaselineRecord: (BaselineRow.__table__, _baseline),  # type: ignore[dict-item]
    ThresholdSetRecord: (ThresholdSetRow.__table__, _threshold_set),  # type: ignore[dict-item]
    ThresholdChangeRecord: (ThresholdChangeRow.__table__, asdict),  # type: ignore[dict-item]
    NibpIntervalChangeRecord: (NibpIntervalChangeRow.__table__, asdict),  # type: ignore[dict-item]
    AlarmEventRecord: (AlarmEventRow.__table__, asdict),  # type: ignore[dict-item]
    IncidentOpenedRecord: (IncidentRow.__table__, _incident),  # type: ignore[dict-item]
    ProtocolRunStartedRecord: (ProtocolRunRow.__table__, _protocol_run),  # type: ignore[dict-item]
    ProtocolStepRecord: (ProtocolStepRow.__table__, asdict),  # type: ignore[dict-item]
    NoteRecord: (NoteRow.__table__, asdict),  # type: ignore[dict-item]
    AttestationRecord: (AttestationRow.__table__, asdict),  # type: ignore[dict-item]
    MonitoringGapRecord: (MonitoringGapRow.__table__, asdict),  # type: ignore[dict-item]
    ClinicalSnapshotRecord: (ClinicalSnapshotRow.__table__, _snapshot),  # type: ignore[dict-item]
}


def _must_touch_one(rowcount: int, what: str) -> None:
    if rowcount != 1:
        raise UnknownRecordError(f"{what} is not in the database: the record cannot be applied")


def _apply_change(connection: Connection, record: StoredRecord) -> None:
    """Records that change an existing row (phase, end times); each also checks its target exists."""
    if isinstance(record, PhaseTransitionRecord):
        connection.execute(insert(PhaseTransitionRow), [asdict(record)])
        result = connection.execute(
            update(SessionRow).where(SessionRow.id == record.session_id).values(phase=record.to_phase)
        )
        _must_touch_one(result.rowcount, f"session {record.session_id}")
    elif isinstance(record, SessionEndedRecord):
        result = connection.execute(
            update(SessionRow).where(SessionRow.id == record.session_id).values(ended_at=record.ended_at)
        )
        _must_touch_one(result.rowcount, f"session {record.session_id}")
    elif isinstance(record, IncidentClosedRecord):
        result = connection.execute(
            update(IncidentRow)
            .where(IncidentRow.id == record.incident_id)
            .values(closed_at=record.closed_at, closed_by=record.closed_by)
        )
        _must_touch_one(result.rowcount, f"incident {record.incident_id}")
    elif isinstance(record, IncidentAlarmLinkRecord):
        _link_alarm(connection, record)
    elif isinstance(record, ProtocolRunEndedRecord):
        result = connection.execute(
            update(ProtocolRunRow)
            .where(ProtocolRunRow.id == record.run_id)
            .values(ended_at=record.ended_at, outcome=record.outcome)
        )
        _must_touch_one(result.rowcount, f"protocol run {record.run_id}")
    else:
        raise TypeError(f"storage does not know how to store a {type(record).__name__}")


def _link_alarm(connection: Connection, record: IncidentAlarmLinkRecord) -> None:
    """The alarm's row is the one holding exactly the alarm event (see
    ``ClinicalRecordRepository.alarm_event_id_of``); linked as a by-hand link of kind "alarm"."""
    alarm = record.alarm
    rows = connection.execute(
        select(AlarmEventRow).where(
            AlarmEventRow.session_id == alarm.session_id, AlarmEventRow.at == alarm.at
        )
    )
    found = next(
        (
            row.id
            for row in sorted(rows, key=lambda r: r.id)
            if (row.kind, row.condition, row.priority, row.person, row.message)
            == (alarm.kind, alarm.condition, alarm.priority, alarm.person, alarm.message)
        ),
        None,
    )
    if found is None:
        log.error("incident %s: its alarm (%s at %s) is not stored; not linked", record.incident_id,
                  alarm.condition, alarm.at.isoformat())  # fmt: skip
        return
    connection.execute(
        insert(IncidentLinkRow),
        [
            {
                "incident_id": record.incident_id,
                "kind": "alarm",
                "ref": str(found),
                "at": record.at,
                "who": record.who,
            }
        ],
    )


def is_storable(record: object) -> bool:
    """True for every record type ``apply_records`` knows how to write."""
    return type(record) in _INSERTS or isinstance(
        record,
        PhaseTransitionRecord
        | SessionEndedRecord
        | IncidentClosedRecord
        | IncidentAlarmLinkRecord
        | ProtocolRunEndedRecord,
    )


def apply_records(connection: Connection, records: Sequence[StoredRecord]) -> None:
    """Write ``records`` in order inside the caller's transaction."""
    index = 0
    while index < len(records):
        record = records[index]
        target = _INSERTS.get(type(record))
        if target is None:
            _apply_change(connection, record)
            index += 1
            continue
        table, to_row = target
        end = index + 1
        while end < len(records) and type(records[end]) is type(record):
            end += 1
        connection.execute(insert(table), [to_row(r) for r in records[index:end]])
        index = end
