"""A storage write that hangs is a technical alarm within seconds, and nothing queued is lost (ALM-5).

Issue 11, "Faults and bad input": a frozen file system or a stalled PostgreSQL server made a write
hang with no alarm and no log line. The writer thread cannot report its own hang, so ``watch()``
(called by the app's storage tick) reports it.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, create_engine, event, text

from drivers.clock import FakeClock, SystemClock
from storage import (
    AlarmEventRecord,
    Database,
    FailureKind,
    NoteRecord,
    ObservationRecord,
    SessionRepository,
    SessionSummary,
    StorageFailure,
    StorageRecovery,
    StorageWriter,
    open_database,
)
from tests.storage.samples import spo2

HANG_S = 3.0


class HangingDisk:
    """Once armed, every INSERT blocks (like a write to a frozen file system) until ``release()``."""

    def __init__(self, engine: Engine) -> None:
        self.entered = threading.Event()
        self.armed = False
        self._released = threading.Event()
        event.listen(engine, "before_cursor_execute", self._maybe_hang)

    def _maybe_hang(self, *args: Any) -> None:
        statement = str(args[2])
        if self.armed and statement.lstrip().upper().startswith("INSERT") and not self._released.is_set():
            self.entered.set()
            self._released.wait(30)

    def release(self) -> None:
        self._released.set()


class Reports:
    """What the writer reported, from whichever thread reported it."""

    def __init__(self) -> None:
        self.failures: list[StorageFailure] = []
        self.recoveries: list[StorageRecovery] = []

    def failure(self, failure: StorageFailure) -> None:
        self.failures.append(failure)

    def recovery(self, recovery: StorageRecovery) -> None:
        self.recoveries.append(recovery)

    def of(self, kind: FailureKind) -> list[StorageFailure]:
        return [f for f in self.failures if f.kind is kind]


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def hung(db: Database, clock: FakeClock, reports: Reports) -> Iterator[tuple[StorageWriter, HangingDisk]]:
    """A writer whose first write hangs on the disk."""
    disk = HangingDisk(db.engine)
    writer = StorageWriter(
        db, clock, reports.failure, on_recovery=reports.recovery, batch_max=2, max_pending=4,
        flush_interval_s=60.0, retry_initial_s=60.0, write_hang_s=HANG_S,
    )  # fmt: skip
    yield writer, disk
    disk.release()
    writer.close()


def _start_hanging_write(writer: StorageWriter, disk: HangingDisk, session_id: str, clock: FakeClock) -> None:
    disk.armed = True
    writer.put(ObservationRecord(session_id, spo2(clock, 95.0)))
    # An alarm record asks for an immediate write: the writer thread takes both and hangs.
    writer.put(AlarmEventRecord(session_id, "started", "spo2_low", "medium", clock.now()))
    assert disk.entered.wait(10), "the writer never reached the database"


@pytest.mark.req("ALM-5")
def test_a_write_hanging_past_write_hang_s_is_reported_once_with_a_log_line(
    hung: tuple[StorageWriter, HangingDisk],
    session: SessionSummary,
    clock: FakeClock,
    reports: Reports,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Issue 11 (faults): a hanging write raised no alarm and logged nothing. Fails on the old code
    (no ``watch``, no STALLED kind)."""
    writer, disk = hung
    _start_hanging_write(writer, disk, session.session_id, clock)

    clock.advance(HANG_S - 1.0)
    writer.watch()
    assert reports.of(FailureKind.STALLED) == []
    assert not writer.in_outage  # a slow write is not yet a hang

    with caplog.at_level(logging.ERROR, logger="storage.writer"):
        clock.advance(1.0)
        writer.watch()
        writer.watch()  # polled every second: still one report per hang
    stalled = reports.of(FailureKind.STALLED)
    assert len(stalled) == 1
    assert "has not finished for 3 s" in stalled[0].reason
    assert writer.in_outage
    assert any("storage write hangs" in r.getMessage() for r in caplog.records)

    disk.release()
    assert writer.flush(timeout=10)
    assert not writer.in_outage
    assert len(reports.recoveries) == 1
    repository = SessionRepository(writer._db)
    assert [o.value for o in repository.observations(session.session_id)] == [95.0]
    assert [e.kind for e in repository.alarm_events(session.session_id)] == ["started"]


@pytest.mark.req("ALM-5")
def test_during_a_hang_put_returns_at_once_records_are_kept_and_shedding_is_an_alarm(
    hung: tuple[StorageWriter, HangingDisk], session: SessionSummary, clock: FakeClock, reports: Reports
) -> None:
    """Issue 11 (faults): the screen never waits on storage, the queue stays bounded, and vitals shed
    while the writer thread hangs are reported (the hung thread cannot report them itself)."""
    writer, disk = hung
    sid = session.session_id
    _start_hanging_write(writer, disk, sid, clock)

    started = time.perf_counter()
    for i in range(1, 11):
        writer.put(ObservationRecord(sid, spo2(clock, float(i), offset_s=i)))
    writer.put(AlarmEventRecord(sid, "acknowledged", "spo2_low", "medium", clock.now(), person="RN Lee"))
    assert time.perf_counter() - started < 0.5  # eleven puts against a hung database: no waiting

    clock.advance(HANG_S)
    writer.watch()
    assert len(reports.of(FailureKind.STALLED)) == 1
    overflow = reports.of(FailureKind.OVERFLOW)
    assert len(overflow) == 1 and overflow[0].dropped_count >= 1
    assert writer.pending_count == 4  # the bound holds: the two in flight, then the newest

    disk.release()
    assert writer.flush(timeout=10)
    repository = SessionRepository(writer._db)
    # The two being written when it hung, then the newest vital; the clinical record is never shed.
    assert [o.value for o in repository.observations(sid)] == [95.0, 10.0]
    assert [e.kind for e in repository.alarm_events(sid)] == ["started", "acknowledged"]
    assert reports.recoveries[0].dropped_count == writer.dropped_count == 9


@pytest.mark.req("ALM-5")
@pytest.mark.parametrize("hang_s", [0.5, 3.0, 30.0])
def test_no_hang_is_reported_while_writes_finish_in_time(
    db: Database, session: SessionSummary, clock: FakeClock, reports: Reports, hang_s: float
) -> None:
    """Issue 11 (faults): an idle or healthy writer is never a hang, however much time passes."""
    writer = StorageWriter(db, clock, reports.failure, flush_interval_s=60.0, write_hang_s=hang_s)
    try:
        for i in range(3):
            writer.put(ObservationRecord(session.session_id, spo2(clock, 90.0 + i, offset_s=i)))
            assert writer.flush(timeout=10)
            clock.advance(hang_s * 10)
            writer.watch()
        assert reports.failures == []
        assert not writer.in_outage
    finally:
        writer.close()


def _poll_until_stalled(writer: StorageWriter, reports: Reports, limit_s: float) -> float:
    """Poll ``watch`` as the app's tick does; seconds until the hang was reported."""
    started = time.monotonic()
    tick = threading.Event()
    while not reports.of(FailureKind.STALLED) and time.monotonic() - started < limit_s:
        writer.watch()
        tick.wait(0.05)
    return time.monotonic() - started


@pytest.mark.req("ALM-5")
def test_a_real_sqlite_locked_by_another_connection_is_reported_within_seconds(
    tmp_path: Path, reports: Reports
) -> None:
    """Issue 11 (faults): another program holding the SQLite write lock makes the write wait (here
    up to 30 s of busy timeout); the hang is an alarm within ``write_hang_s``, and the records are
    written once the lock goes."""
    path = tmp_path / "locked.sqlite3"
    clock = SystemClock()
    locked_db = open_database(f"sqlite:///{path}?timeout=30")
    created = SessionRepository(locked_db).create_session(clinician="Dr. Rivera", started_at=clock.now())
    writer = StorageWriter(
        locked_db, clock, reports.failure, on_recovery=reports.recovery, flush_interval_s=60.0,
        retry_initial_s=0.1, write_hang_s=1.0,
    )  # fmt: skip
    other_program = sqlite3.connect(path, isolation_level=None)
    try:
        other_program.execute("BEGIN EXCLUSIVE")
        writer.put(AlarmEventRecord(created.session_id, "started", "spo2_low", "medium", clock.now()))
        waited = _poll_until_stalled(writer, reports, limit_s=10)
        assert reports.of(FailureKind.STALLED), "no alarm for a write held by another program's lock"
        assert waited < 3.0
        other_program.execute("COMMIT")
        assert writer.flush(timeout=30)
        assert [e.kind for e in SessionRepository(locked_db).alarm_events(created.session_id)] == ["started"]
        assert reports.recoveries
    finally:
        other_program.close()
        writer.close()
        locked_db.close()


@pytest.mark.req("ALM-5")
def test_a_stalled_postgresql_server_is_reported_within_seconds(postgres_url: str, reports: Reports) -> None:
    """Issue 11 (faults): a PostgreSQL table locked by another session stalls the insert with no
    error at all; the hang is an alarm within ``write_hang_s`` and nothing is lost."""
    clock = SystemClock()
    database = open_database(postgres_url)
    created = SessionRepository(database).create_session(clinician="Dr. Rivera", started_at=clock.now())
    writer = StorageWriter(
        database, clock, reports.failure, on_recovery=reports.recovery, flush_interval_s=60.0,
        retry_initial_s=0.1, write_hang_s=1.0,
    )  # fmt: skip
    other = create_engine(postgres_url)
    try:
        with other.connect() as connection:
            transaction = connection.begin()
            connection.execute(text("LOCK TABLE alarm_events IN ACCESS EXCLUSIVE MODE"))
            writer.put(AlarmEventRecord(created.session_id, "started", "spo2_low", "medium", clock.now()))
            waited = _poll_until_stalled(writer, reports, limit_s=10)
            assert reports.of(FailureKind.STALLED), "no alarm for a write stalled on the server"
            assert waited < 3.0
            transaction.rollback()
        assert writer.flush(timeout=30)
        assert [e.kind for e in SessionRepository(database).alarm_events(created.session_id)] == ["started"]
        assert reports.recoveries
    finally:
        writer.close()
        other.dispose()
        database.close()


def test_watch_from_the_writer_thread_itself_is_refused(db: Database, clock: FakeClock) -> None:
    """A hung writer thread cannot watch itself: asking it to would hide the hang."""
    caught: list[BaseException] = []

    def watch_from_callback(_failure: StorageFailure) -> None:
        try:
            writer.watch()
        except RuntimeError as exc:
            caught.append(exc)

    writer = StorageWriter(db, clock, watch_from_callback, flush_interval_s=60.0, write_hang_s=1.0)
    try:
        writer.put(NoteRecord("no-such-session", clock.now(), "Dr. Rivera", "refused"))
        writer.flush(timeout=10)
        assert caught and "outside the writer thread" in str(caught[0])
    finally:
        writer.close()


class FrozenDatabase:
    """A database whose every transaction blocks until ``thaw()`` and then fails like a lost disk.

    Stands in for ``storage.Database`` (the writer uses only ``engine.begin()`` and ``url``), so a
    hypothesis example costs a thread, not a database.
    """

    url = "sqlite:////frozen/bedside.sqlite3"

    def __init__(self) -> None:
        self.engine = self
        self.entered = threading.Event()
        self._thawed = threading.Event()

    @contextmanager
    def begin(self) -> Iterator[None]:
        self.entered.set()
        self._thawed.wait(30)
        raise OSError(5, "Input/output error")
        yield  # pragma: no cover  # a generator, so this is a context manager

    def thaw(self) -> None:
        self._thawed.set()


@pytest.mark.req("ALM-5")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    hang_s=st.floats(min_value=0.1, max_value=60.0),
    steps=st.lists(st.floats(min_value=0.0, max_value=20.0), min_size=1, max_size=12),
)
def test_a_hang_is_reported_exactly_once_and_never_before_write_hang_s(
    hang_s: float, steps: list[float]
) -> None:
    """Issue 11 (faults): however the storage tick's polls fall (early, late, bunched, long gaps),
    a hang is reported at the first poll at or past ``write_hang_s``, once, and never before."""
    clock = FakeClock()
    reports = Reports()
    frozen = FrozenDatabase()
    writer = StorageWriter(
        frozen,  # type: ignore[arg-type]  # a stand-in with the two members the writer uses
        clock, reports.failure, flush_interval_s=60.0, retry_initial_s=60.0, write_hang_s=hang_s,
    )  # fmt: skip
    try:
        started = clock.monotonic()
        writer.put(AlarmEventRecord("s-1", "started", "spo2_low", "medium", clock.now()))
        assert frozen.entered.wait(10)
        for step in steps:
            clock.advance(step)
            writer.watch()
            expected = 1 if clock.monotonic() - started >= hang_s else 0
            assert len(reports.of(FailureKind.STALLED)) == expected
            assert writer.in_outage == bool(expected)
    finally:
        frozen.thaw()
        writer.close(timeout=5)
