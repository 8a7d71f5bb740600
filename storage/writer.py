"""The storage writer: records are queued without blocking and committed in batches by one thread.

A crash loses at most the batch being collected (``flush_interval_s`` of data). Durability window:

- Alarm records (``DURABLE_RECORDS``) are committed the moment they are put, with full durability
  (SQLite ``synchronous=FULL``: fsync of the WAL at commit; PostgreSQL ``synchronous_commit=on``):
  only an alarm put in the few milliseconds before a crash can be lost.
- Everything else (vitals, device events, notes, steps...) waits up to ``flush_interval_s`` for its
  batch, and is then committed with less: SQLite ``synchronous=NORMAL`` in WAL mode survives the
  application being killed but a power cut can lose the commits since the last checkpoint;
  PostgreSQL ``synchronous_commit=off`` survives the application being killed but a server crash
  can lose up to three ``wal_writer_delay`` (600 ms by default) of commits. Neither corrupts the
  database.

When the database
cannot be written (disk full, locked, server gone) the writer reports it once per outage, keeps the
records in memory and retries with backoff; when writing works again it reports the recovery and
writes everything it kept, in the order it was put.

Memory bound (``max_pending``): while the database is out, records pile up. Once ``max_pending`` are
waiting, each new record sheds the OLDEST waiting vital or device event (``SHEDDABLE_RECORDS``), so
the most recent trend survives; every shed record is counted (``dropped_count``) and the first shed
of an outage is reported (``FailureKind.OVERFLOW``). Clinical records (alarms, protocol steps,
phases, thresholds, notes...) are never shed: they are few, and losing one is worse than memory.

A write that hangs (a frozen file system, a stalled PostgreSQL server, a lock nobody releases)
never raises anything, so it is watched from outside the writer thread: ``watch()``, called about
once a second by the app, reports a write that has not finished after ``write_hang_s`` as
``FailureKind.STALLED`` (a technical alarm, ALM-5) and logs it; the records keep queueing in memory
under the same bound, and an overflow the hung thread cannot report is reported by ``watch()`` too.
When the write finally finishes, the usual recovery (or outage) report follows.

A record the database refuses outright (an unknown session, a duplicate protocol step number) cannot
succeed by retrying: it is logged, counted (``rejected_count``), reported (``FailureKind.REJECTED``)
and skipped, so one bad record never stalls everything behind it.

Callbacks run on the writer thread; the app bridges them to its GUI thread.
"""

from __future__ import annotations

import enum
import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

from drivers.clock import Clock
from storage._apply import apply_records, is_storable
from storage.database import Database
from storage.errors import WriterClosedError
from storage.records import DURABLE_RECORDS, SHEDDABLE_RECORDS, StoredRecord

log = logging.getLogger(__name__)


class FailureKind(enum.StrEnum):
    """What went wrong with storage."""

    #: The database cannot be written right now; records are kept and retried.
    OUTAGE = "outage"
    #: The outage has lasted so long that the oldest waiting vitals are being shed.
    OVERFLOW = "overflow"
    #: The database refused a record for good (a bug upstream); it was skipped.
    REJECTED = "rejected"
    #: A write has not finished for ``write_hang_s``: the database or its disk hangs (ALM-5).
    STALLED = "stalled"


@dataclass(frozen=True, slots=True)
class StorageFailure:
    """A storage problem the app shows as a technical alarm."""

    reason: str
    pending_count: int
    at: datetime
    kind: FailureKind = FailureKind.OUTAGE
    dropped_count: int = 0


@dataclass(frozen=True, slots=True)
class StorageRecovery:
    """Writing works again after an outage; what was kept has been (or is being) written."""

    down_since: datetime
    recovered_at: datetime
    dropped_count: int


def _is_transient(exc: BaseException) -> bool:
    """True when retrying later can succeed (disk full, locked, connection lost, pool exhausted)."""
    if isinstance(exc, IntegrityError | DataError):
        return False
    return isinstance(exc, DBAPIError | PoolTimeoutError | OSError)


class _Outage(Exception):
    """Internal: a write failed in a way retrying can fix."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.cause = cause


class StorageWriter:
    """Queues records from any thread and commits them in batches on its own thread.

    The thread starts at construction and touches the database only when records arrive.
    """

    def __init__(
        self,
        db: Database,
        clock: Clock,
        on_failure: Callable[[StorageFailure], None],
        batch_max: int = 500,
        flush_interval_s: float = 0.5,
        *,
        on_recovery: Callable[[StorageRecovery], None] | None = None,
        max_pending: int = 100_000,
        retry_initial_s: float = 0.5,
        retry_max_s: float = 30.0,
        write_hang_s: float | None = None,
    ) -> None:
        if batch_max < 1 or max_pending < batch_max:
            raise ValueError("need 1 <= batch_max <= max_pending")
        if write_hang_s is not None and write_hang_s <= 0:
            raise ValueError("write_hang_s must be positive (or None: no hang watch)")
        self._db = db
        self._clock = clock
        self._on_failure = on_failure
        self._on_recovery = on_recovery
        self._batch_max = batch_max
        self._flush_interval_s = flush_interval_s
        self._max_pending = max_pending
        self._retry_initial_s = retry_initial_s
        self._retry_max_s = retry_max_s
        self._write_hang_s = write_hang_s

        self._cond = threading.Condition()
        self._pending: deque[tuple[int, StoredRecord]] = deque()
        self._next_seq = 0
        self._in_flight = 0  # leading pending records the thread is writing: never shed
        self._flush_requested = False
        self._stopping = False
        self._closed = False
        self._attempts = 0
        self._attempting = False
        self._attempt_started_mono = 0.0
        self._hang_reported = False
        self._last_attempt_ok = True
        self._outage_since: datetime | None = None
        self._outage_dropped = 0
        self._overflow_unreported = False
        self._retry_s = retry_initial_s
        self._written = 0
        self._dropped = 0
        self._rejected = 0

        self._thread = threading.Thread(target=self._run, name="bedside-storage-writer", daemon=True)
        self._thread.start()

    # -- callers' side (any thread) -------------------------------------------------------------

    def put(self, record: StoredRecord) -> None:
        """Queue one record for writing; returns at once, whatever the database is doing."""
        if not is_storable(record):
            raise TypeError(f"storage does not store {type(record).__name__}")
        with self._cond:
            if self._closed:
                raise WriterClosedError("the storage writer is closed; the record was not queued")
            if len(self._pending) >= self._max_pending:
                self._shed_oldest_vital()
            self._pending.append((self._next_seq, record))
            self._next_seq += 1
            if isinstance(record, DURABLE_RECORDS):
                self._flush_requested = True  # an alarm does not wait for the batch interval
                self._cond.notify_all()
            elif len(self._pending) == 1 or len(self._pending) >= self._batch_max:
                self._cond.notify_all()

    def flush(self, timeout: float = 5.0) -> bool:
        """Write everything put so far now; True once it is committed, False on failure or timeout.

        Blocks the caller up to ``timeout``: for shutdown and tests, not for the GUI thread.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("flush() called from a storage callback would wait for itself")
        with self._cond:
            target = self._next_seq - 1
            # An attempt already under way may have taken its batch before our records arrived.
            needed = self._attempts + (2 if self._attempting else 1)
            self._flush_requested = True
            self._cond.notify_all()

            def settled() -> bool:
                return (
                    self._written_up_to(target)
                    or (self._attempts >= needed and not self._last_attempt_ok)
                    or not self._thread.is_alive()
                )

            self._cond.wait_for(settled, timeout)
            return self._written_up_to(target)

    def close(self, timeout: float = 5.0) -> int:
        """Write what is waiting (one last attempt), stop the thread; returns how many records were lost."""
        with self._cond:
            self._closed = True
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)
        with self._cond:
            lost = len(self._pending)
        if lost:
            log.error("storage writer closed with %d records not written to %s", lost, self._db.url)
        return lost

    @property
    def pending_count(self) -> int:
        """Records waiting to be written."""
        with self._cond:
            return len(self._pending)

    @property
    def written_count(self) -> int:
        """Records committed since the writer started."""
        with self._cond:
            return self._written

    @property
    def dropped_count(self) -> int:
        """Vitals/device events shed because the memory bound was reached during an outage."""
        with self._cond:
            return self._dropped

    @property
    def rejected_count(self) -> int:
        """Records the database refused for good and that were skipped."""
        with self._cond:
            return self._rejected

    @property
    def in_outage(self) -> bool:
        """True while the database cannot be written (or a write hangs, once ``watch()`` saw it)."""
        with self._cond:
            return self._outage_since is not None

    def watch(self) -> None:
        """Report a write hanging for ``write_hang_s`` and any unreported overflow; call about once a
        second from any thread but the writer's (the app's storage tick).

        A hung writer thread cannot report anything itself, so this is the only way the clinic learns
        that records are not being kept. Each hang is reported once, as ``FailureKind.STALLED``.
        """
        if threading.current_thread() is self._thread:
            raise RuntimeError("watch() runs outside the writer thread: that thread may be the one hung")
        stalled: StorageFailure | None = None
        with self._cond:
            overflow = self._report_overflow_locked()
            hung_for = self._clock.monotonic() - self._attempt_started_mono
            if (
                self._write_hang_s is not None
                and self._attempting
                and not self._hang_reported
                and hung_for >= self._write_hang_s
            ):
                self._hang_reported = True
                now = self._clock.now()
                if self._outage_since is None:
                    self._outage_since = now
                stalled = StorageFailure(
                    reason=f"a write to {self._db.url} has not finished for {hung_for:.0f} s "
                    "(the database server or its disk is not answering)",
                    pending_count=len(self._pending),
                    at=now,
                    kind=FailureKind.STALLED,
                    dropped_count=self._dropped,
                )
        if stalled is not None:
            log.error(
                "storage write hangs: %s (%d records kept in memory)", stalled.reason, stalled.pending_count
            )
            self._notify_failure(stalled)
        if overflow is not None:
            log.error("storage overflow: %s", overflow.reason)
            self._notify_failure(overflow)

    # -- helpers that run with self._cond held ---------------------------------------------------

    def _written_up_to(self, seq: int) -> bool:
        return not self._pending or self._pending[0][0] > seq

    def _shed_oldest_vital(self) -> None:
        for index, (_, waiting) in enumerate(itertools.islice(self._pending, self._in_flight, None)):
            if isinstance(waiting, SHEDDABLE_RECORDS):
                del self._pending[self._in_flight + index]
                self._dropped += 1
                self._outage_dropped += 1
                if self._outage_dropped == 1:
                    self._overflow_unreported = True
                    self._cond.notify_all()
                return
        # Only clinical records are waiting: keep them all (see the module docstring).

    def _urgent(self) -> bool:
        return self._stopping or self._flush_requested or self._overflow_unreported

    # -- the writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._cond:
                if self._outage_since is not None:
                    self._cond.wait_for(self._urgent, self._retry_s)
                else:
                    self._cond.wait_for(lambda: self._urgent() or bool(self._pending))
                    self._cond.wait_for(
                        lambda: self._urgent() or len(self._pending) >= self._batch_max,
                        self._flush_interval_s,
                    )
                asked = self._flush_requested or self._stopping
                self._flush_requested = False
                stopping = self._stopping
                in_outage = self._outage_since is not None
                overflow = self._report_overflow_locked()
            if overflow is not None:
                self._notify_failure(overflow)
                if in_outage and not asked:
                    continue  # woken only to report the overflow: the next retry keeps its backoff
            drained = self._drain()
            if stopping:
                if not drained:
                    log.error("storage writer stopping during an outage; unwritten records are lost")
                with self._cond:
                    self._cond.notify_all()
                return

    def _report_overflow_locked(self) -> StorageFailure | None:
        if not self._overflow_unreported:
            return None
        self._overflow_unreported = False
        return StorageFailure(
            reason=f"storage memory bound of {self._max_pending} records reached: shedding the oldest vitals",
            pending_count=len(self._pending),
            at=self._clock.now(),
            kind=FailureKind.OVERFLOW,
            dropped_count=self._dropped,
        )

    def _drain(self) -> bool:
        """Write every waiting record batch by batch; False when an outage stops it."""
        while True:
            with self._cond:
                if not self._pending:
                    return True
                batch = [record for _, record in itertools.islice(self._pending, self._batch_max)]
                self._in_flight = len(batch)
                self._attempting = True
                self._attempt_started_mono = self._clock.monotonic()
            try:
                rejected = self._write(batch)
            except _Outage as outage:
                self._finish_attempt(0, ok=False, cause=outage.cause)
                return False
            self._finish_attempt(len(batch), ok=True, rejected=rejected)

    def _write(self, batch: Sequence[StoredRecord]) -> list[tuple[StoredRecord, BaseException]]:
        """Commit ``batch`` in one transaction; if the database refuses some record, go one by one."""
        try:
            with self._db.engine.begin() as connection:
                _set_durability(connection, batch)
                apply_records(connection, batch)
            return []
        except Exception as exc:
            if _is_transient(exc):
                raise _Outage(exc) from exc
            log.warning("a batch of %d records was refused (%s); writing them one by one", len(batch), exc)
        rejected: list[tuple[StoredRecord, BaseException]] = []
        for done, record in enumerate(batch):
            try:
                with self._db.engine.begin() as connection:
                    _set_durability(connection, [record])
                    apply_records(connection, [record])
            except Exception as exc:
                if _is_transient(exc):
                    # Keep what was committed one by one out of the retry, then wait for the outage.
                    self._finish_attempt(done, ok=True, rejected=rejected)
                    raise _Outage(exc) from exc
                log.error("storage refused %r: %s", record, exc)
                rejected.append((record, exc))
        return rejected

    def _finish_attempt(
        self,
        done: int,
        *,
        ok: bool,
        rejected: Sequence[tuple[StoredRecord, BaseException]] = (),
        cause: BaseException | None = None,
    ) -> None:
        """Account for one write attempt: report what changed, then release ``flush`` waiters.

        Reports go out before the written records leave the queue, so a ``flush`` that returns has
        seen every report its records caused.
        """
        failure: StorageFailure | None = None
        recovery: StorageRecovery | None = None
        refused: StorageFailure | None = None
        with self._cond:
            now = self._clock.now()
            left = len(self._pending) - done
            hung, self._hang_reported = self._hang_reported, False
            if ok and self._outage_since is not None:
                recovery = StorageRecovery(self._outage_since, now, self._outage_dropped)
                self._outage_since = None
                self._outage_dropped = 0
                self._retry_s = self._retry_initial_s
            elif not ok and (self._outage_since is None or hung):
                # After a hang, the error the write finally ended with says more than "hangs".
                self._outage_since = self._outage_since or now
                failure = StorageFailure(
                    reason=f"cannot write to {self._db.url}: {_first_line(cause)}",
                    pending_count=left,
                    at=now,
                )
            elif not ok:
                self._retry_s = min(self._retry_s * 2, self._retry_max_s)
            if rejected:
                record, exc = rejected[0]
                example = f"{type(record).__name__}: {_first_line(exc)}"
                refused = StorageFailure(
                    reason=f"{len(rejected)} record(s) refused by the database, e.g. {example}",
                    pending_count=left,
                    at=now,
                    kind=FailureKind.REJECTED,
                )
        if refused is not None:
            self._notify_failure(refused)
        if failure is not None:
            log.error("storage outage: %s (%d records kept in memory)", failure.reason, failure.pending_count)
            self._notify_failure(failure)
        if recovery is not None:
            log.warning(
                "storage writable again after an outage since %s (%d vitals shed)",
                recovery.down_since.isoformat(),
                recovery.dropped_count,
            )
            if self._on_recovery is not None:
                try:
                    self._on_recovery(recovery)
                except Exception:
                    log.exception("the storage recovery callback failed")
        with self._cond:
            for _ in range(done):
                self._pending.popleft()
            self._written += done - len(rejected)
            self._rejected += len(rejected)
            self._in_flight = 0
            self._attempting = False
            self._attempts += 1
            self._last_attempt_ok = ok
            self._cond.notify_all()

    def _notify_failure(self, failure: StorageFailure) -> None:
        try:
            self._on_failure(failure)
        except Exception:
            # The callback is the app's; the writer must keep running whatever it does.
            log.exception("the storage failure callback failed")


def _set_durability(connection: Connection, batch: Sequence[StoredRecord]) -> None:
    """Full durability for a transaction holding an alarm, less for the rest (module docstring)."""
    durable = any(isinstance(record, DURABLE_RECORDS) for record in batch)
    backend = connection.dialect.name
    if backend == "sqlite":
        # Issued before the first insert, so before pysqlite opens the transaction.
        connection.exec_driver_sql(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
    elif backend == "postgresql":
        connection.exec_driver_sql(f"SET LOCAL synchronous_commit = {'on' if durable else 'off'}")


def _first_line(exc: BaseException | None) -> str:
    if exc is None:
        return "unknown error"
    # A DBAPIError's own text carries the SQL and parameters; the driver's message is what matters.
    text = str(exc.orig) if isinstance(exc, DBAPIError) else str(exc)
    return text.splitlines()[0] if text else type(exc).__name__
