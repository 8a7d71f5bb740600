"""A monitor's storage side as a real process, for tests that need several at once or a SIGKILL.

    python -m tests.storage._worker setup URL START_AT STATION      open at START_AT (epoch s), one session
    python -m tests.storage._worker room URL START_AT STATION N     a room writing N vitals, then checks
    python -m tests.storage._worker list URL                        every session as JSON lines
    python -m tests.storage._worker record URL FLUSH_S              write until killed, logging each put

Every line printed is JSON, so the test reads results without parsing prose.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime, timedelta

from drivers.clock import SystemClock
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from storage import AlarmEventRecord, ObservationRecord, SessionRepository, StorageWriter, open_database


def _say(**fields: object) -> None:
    print(json.dumps(fields), flush=True)


def _wait_until(epoch_s: float) -> None:
    delay = epoch_s - time.time()
    if delay > 0:
        time.sleep(delay)


def _observation(value: float, at: datetime, mono: float) -> Observation:
    return Observation(
        kind=VitalKind.SPO2,
        value=value,
        unit=CANONICAL_UNIT[VitalKind.SPO2],
        measured_at=at,
        received_at=at,
        received_mono=mono,
        source="masimo-sim",
        quality=Quality.VALID,
    )


def setup(url: str, start_at: float, station: str) -> None:
    """Open (creating and migrating) the database at the same moment as the other processes."""
    _wait_until(start_at)
    db = open_database(url)
    created = SessionRepository(db).create_session(
        clinician="Dr. Rivera", started_at=datetime.now(UTC), station=station
    )
    _say(session_id=created.session_id, revision=db.schema_revision())
    db.close()


def room(url: str, start_at: float, station: str, count: int) -> None:
    """One room's monitor: its own session, ``count`` vitals, then what it would resume."""
    _wait_until(start_at)
    db = open_database(url)
    repo = SessionRepository(db)
    now = datetime.now(UTC)
    created = repo.create_session(clinician=f"RN {station}", started_at=now, station=station)
    writer = StorageWriter(
        db, SystemClock(), on_failure=lambda f: _say(failure=f.reason), flush_interval_s=0.05
    )
    for index in range(count):
        at = now + timedelta(seconds=index)
        writer.put(ObservationRecord(created.session_id, _observation(float(index % 100), at, float(index))))
        if index % 200 == 0:
            time.sleep(0.01)  # let the other room's writes interleave with ours
    flushed = writer.flush(timeout=30)
    writer.close()
    resumed = repo.latest_open_session(station=station)
    mine = [s.session_id for s in repo.sessions() if s.station == station]
    _say(
        session_id=created.session_id,
        flushed=flushed,
        resumed=None if resumed is None else resumed.session_id,
        stored=len(repo.observations(created.session_id)),
        mine=mine,
    )
    db.close()


def list_sessions(url: str) -> None:
    """The clinic's overview: every room's sessions."""
    db = open_database(url)
    for summary in SessionRepository(db).sessions():
        _say(session_id=summary.session_id, station=summary.station)
    db.close()


def record(url: str, flush_s: float) -> None:
    """Write vitals every 5 ms and an alarm every 20th, logging each put until SIGKILL arrives."""
    db = open_database(url)
    session = SessionRepository(db).create_session(
        clinician="Dr. Rivera", started_at=datetime.now(UTC), station="kill-test"
    )
    writer = StorageWriter(db, SystemClock(), on_failure=lambda f: None, flush_interval_s=flush_s)
    _say(ready=session.session_id)
    index = 0
    while True:
        now = datetime.now(UTC)
        writer.put(ObservationRecord(session.session_id, _observation(float(index), now, float(index))))
        if index % 20 == 0:
            writer.put(
                AlarmEventRecord(session.session_id, "started", "spo2-low", "high", now, message=str(index))
            )
            _say(alarm=index, mono=time.monotonic())
        _say(obs=index, mono=time.monotonic())
        index += 1
        time.sleep(0.005)


def main(argv: list[str]) -> int:
    """Dispatch one of the commands in the module docstring."""
    command, url, *rest = argv
    if command == "setup":
        setup(url, float(rest[0]), rest[1])
    elif command == "room":
        room(url, float(rest[0]), rest[1], int(rest[2]))
    elif command == "list":
        list_sessions(url)
    elif command == "record":
        record(url, float(rest[0]))
    else:
        raise SystemExit(f"unknown command {command}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
