"""The append-only audit trail: each entry hash-chained to the one before, committed at once.

An entry's hash is sha256 over a canonical serialisation of (seq, at, who, station, action,
subject, details, prev_hash): compact JSON with sorted keys, UTF-8, times as ISO UTC with
microseconds. The first entry's ``prev_hash`` is 64 zeros. A one-row head (``audit_head``)
holds the newest seq and hash, updated in the same transaction as the entry, so removing the
newest entries is found too; whoever can also rewrite the head and every later hash can forge
the trail, which is why the head hash is worth copying somewhere else from time to time.

Appends are durable at once (never batched): on SQLite the append's transaction runs with
``synchronous=FULL`` (the rest of storage uses NORMAL in WAL mode, which may lose the last
commits on a power cut), on PostgreSQL with ``synchronous_commit = on``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError, OperationalError

from storage._utc import NaiveTimeError
from storage.database import Database
from storage.errors import StorageError
from storage.schema import NAME_LEN, AuditEntryRow, AuditHeadRow

log = logging.getLogger(__name__)

GENESIS_HASH = "0" * 64
HEAD_NAME = "trail"
#: Appends from several stations race for the next seq; the loser retries with the new head.
APPEND_ATTEMPTS = 20
BUSY_ATTEMPTS = 3
ACTION_LEN = 64


class AuditWriteError(StorageError):
    """An audit entry could not be committed; the action it records must not go ahead unrecorded."""


class AuditDetailsError(StorageError, ValueError):
    """Audit details that cannot be recorded exactly (not JSON, NaN, a naive time, too long a field)."""


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One committed audit entry as stored."""

    seq: int
    at: datetime
    who: str
    station: str
    action: str
    subject: str
    details: Mapping[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """The outcome of checking the chain: intact with ``entries`` entries, or the first broken one."""

    entries: int
    broken_seq: int | None = None
    reason: str = ""
    head_hash: str = field(default=GENESIS_HASH)

    @property
    def intact(self) -> bool:
        """True when every entry matches its hash and links to the one before, up to the head."""
        return self.broken_seq is None

    def describe(self) -> str:
        """One line for a person: the count when intact, else the first broken entry and why."""
        if self.intact:
            return f"audit chain intact: {self.entries} entries"
        return f"audit chain broken at entry {self.broken_seq}: {self.reason}"


def _iso(at: datetime) -> str:
    if at.tzinfo is None or at.utcoffset() is None:
        raise NaiveTimeError(f"refusing an audit time without a zone: {at.isoformat()}")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def _text_keys(value: object) -> None:
    """JSON turns a key 1 into "1": refuse it, so what is read back is what was given."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise AuditDetailsError(f"audit details key {key!r} is not text; JSON would change it")
            _text_keys(item)
    elif isinstance(value, list | tuple):
        for item in value:
            _text_keys(item)


def canonical_details(details: Mapping[str, Any] | None) -> str:
    """The details as canonical JSON text (sorted keys, compact); refuses what JSON cannot hold exactly."""
    _text_keys(details or {})

    def refuse(value: object) -> Any:
        if isinstance(value, datetime):
            return _iso(value)
        raise AuditDetailsError(
            f"audit details hold a {type(value).__name__}, which JSON cannot record: pass text, numbers, "
            "true/false, lists or mappings"
        )

    try:
        return json.dumps(
            dict(details or {}),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
            default=refuse,
        )
    except ValueError as exc:
        if isinstance(exc, AuditDetailsError):
            raise
        raise AuditDetailsError(f"audit details cannot be recorded exactly: {exc}") from None
    except TypeError as exc:  # e.g. a mapping key that is not text
        raise AuditDetailsError(f"audit details cannot be recorded: {exc}") from None


def entry_hash(
    *,
    seq: int,
    at: datetime,
    who: str,
    station: str,
    action: str,
    subject: str,
    details_json: str,
    prev_hash: str,
) -> str:
    """sha256 (hex) over the canonical serialisation of an entry, prev_hash included."""
    body = {
        "seq": seq,
        "at": _iso(at),
        "who": who,
        "station": station,
        "action": action,
        "subject": subject,
        # Re-serialised from the parsed value, so only the content counts, not its spacing.
        "details": json.loads(details_json),
        "prev_hash": prev_hash,
    }
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _check_text(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise AuditDetailsError(f"audit {name} is {len(value)} characters; at most {limit} are kept")


def _durable(connection: Connection) -> str | None:
    """Make this connection's next commit fully durable; returns the SQLite setting to restore."""
    dialect = connection.dialect.name
    # An in-memory database has nothing to sync, and shares one connection with the writer thread.
    if dialect == "sqlite" and connection.engine.url.database not in (None, "", ":memory:"):
        previous = connection.exec_driver_sql("PRAGMA synchronous").scalar()
        connection.exec_driver_sql("PRAGMA synchronous=FULL")
        connection.commit()  # PRAGMA runs outside a transaction; end SQLAlchemy's autobegun one
        return str(previous)
    return None


def _restore(connection: Connection, previous: str | None) -> None:
    if previous is not None and connection.dialect.name == "sqlite":
        connection.exec_driver_sql(f"PRAGMA synchronous={int(previous)}")
        connection.commit()


class AuditRepository:
    """Appends to and reads back the audit trail of one database."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def append(
        self,
        *,
        at: datetime,
        who: str,
        station: str,
        action: str,
        subject: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Commit one entry at once, chained to the newest; raises AuditWriteError if it cannot."""
        details_json = canonical_details(details)
        _iso(at)
        for name, value, limit in (
            ("who", who, NAME_LEN),
            ("station", station, NAME_LEN),
            ("subject", subject, NAME_LEN),
            ("action", action, ACTION_LEN),
        ):
            _check_text(name, value, limit)
        at = at.astimezone(UTC)
        last_error: Exception | None = None
        busy = 0
        for _attempt in range(APPEND_ATTEMPTS):
            try:
                return self._append_once(at, who, station, action, subject=subject, details_json=details_json)
            except IntegrityError as exc:
                # Another station took the same seq first: read the new head and try again.
                last_error = exc
                log.debug("audit append raced another station; retrying: %s", exc)
            except OperationalError as exc:
                # SQLite refuses a write whose snapshot is stale at once; a lock held past the busy
                # timeout (or a lost server) is not worth more than a few tries.
                last_error = exc
                busy += 1
                if busy >= BUSY_ATTEMPTS:
                    break
                log.debug("audit append found the database busy; retrying: %s", exc)
        raise AuditWriteError(
            f"could not record {action!r} in the audit trail of {self._db.url} ({last_error}); check that "
            "the database is reachable and writable"
        ) from last_error

    def _append_once(
        self, at: datetime, who: str, station: str, action: str, *, subject: str, details_json: str
    ) -> AuditEntry:
        with self._db.engine.connect() as connection:
            previous = _durable(connection)
            try:
                with connection.begin():
                    if connection.dialect.name == "postgresql":
                        connection.exec_driver_sql("SET LOCAL synchronous_commit = on")
                    elif connection.dialect.name == "sqlite":
                        # Take the write lock before reading the head: otherwise another station can
                        # commit between our read and our insert, again and again (SQLite ignores
                        # FOR UPDATE), and this append loses every retry.
                        connection.exec_driver_sql("BEGIN IMMEDIATE")
                    head = connection.execute(
                        select(AuditHeadRow.last_seq, AuditHeadRow.last_hash)
                        .where(AuditHeadRow.name == HEAD_NAME)
                        .with_for_update()
                    ).one_or_none()
                    last_seq, prev_hash = (0, GENESIS_HASH) if head is None else (head[0], head[1])
                    seq = last_seq + 1
                    digest = entry_hash(
                        seq=seq,
                        at=at,
                        who=who,
                        station=station,
                        action=action,
                        subject=subject,
                        details_json=details_json,
                        prev_hash=prev_hash,
                    )
                    connection.execute(
                        insert(AuditEntryRow).values(
                            seq=seq,
                            at=at,
                            who=who,
                            station=station,
                            action=action,
                            subject=subject,
                            details=details_json,
                            prev_hash=prev_hash,
                            hash=digest,
                        )
                    )
                    if head is None:
                        connection.execute(
                            insert(AuditHeadRow).values(name=HEAD_NAME, last_seq=seq, last_hash=digest)
                        )
                    else:
                        moved = connection.execute(
                            update(AuditHeadRow)
                            .where(AuditHeadRow.name == HEAD_NAME, AuditHeadRow.last_seq == last_seq)
                            .values(last_seq=seq, last_hash=digest)
                        )
                        if moved.rowcount != 1:
                            raise IntegrityError("audit head moved", None, Exception("concurrent append"))
            finally:
                _restore(connection, previous)
        return AuditEntry(seq, at, who, station, action, subject, json.loads(details_json), prev_hash, digest)

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry in seq order, read in batches (a year's trail never sits in memory at once)."""
        for row in self._raw_rows():
            yield _entry(row)

    def head(self) -> tuple[int, str] | None:
        """The newest (seq, hash) the head records, None for an empty trail."""
        with self._db.session() as session:
            row = session.get(AuditHeadRow, HEAD_NAME)
            return None if row is None else (row.last_seq, row.last_hash)

    def verify(self) -> VerifyResult:
        """Prove the chain from the first entry to the head, or name the first broken entry and why."""
        return verify_chain(self._raw_rows(), self.head())

    def _raw_rows(self, batch: int = 1000) -> Iterator[AuditEntryRow]:
        after: int | None = None
        while True:
            with self._db.session() as session:
                query = select(AuditEntryRow).order_by(AuditEntryRow.seq).limit(batch)
                if after is not None:
                    query = query.where(AuditEntryRow.seq > after)
                rows = session.scalars(query).all()
            if not rows:
                return
            yield from rows
            after = rows[-1].seq


def _entry(row: AuditEntryRow) -> AuditEntry:
    return AuditEntry(
        seq=row.seq,
        at=row.at,
        who=row.who,
        station=row.station,
        action=row.action,
        subject=row.subject,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def verify_chain(rows: Iterable[AuditEntryRow], head: tuple[int, str] | None) -> VerifyResult:
    """Check rows (in seq order) against their hashes, their links and the head."""
    expected_seq = 1
    prev_hash = GENESIS_HASH
    count = 0
    for row in rows:
        if row.seq < expected_seq:  # cannot happen for a primary key read in order; kept for safety
            return VerifyResult(count, row.seq, "appears twice or out of order")
        if row.seq > expected_seq:
            return VerifyResult(
                count,
                expected_seq,
                f"missing (deleted?): entry {row.seq} follows entry {expected_seq - 1}",
            )
        try:
            recomputed = entry_hash(
                seq=row.seq,
                at=row.at,
                who=row.who,
                station=row.station,
                action=row.action,
                subject=row.subject,
                details_json=row.details,
                prev_hash=row.prev_hash,
            )
        except (ValueError, TypeError) as exc:
            return VerifyResult(count, row.seq, f"its details are not valid JSON ({exc}): edited")
        if recomputed != row.hash:
            return VerifyResult(
                count, row.seq, "its content does not match its hash: the entry or its hash was edited"
            )
        if row.prev_hash != prev_hash:
            return VerifyResult(
                count,
                row.seq,
                f"its link (prev_hash) does not match entry {row.seq - 1}'s hash: an entry before it "
                "was rewritten, or it was moved",
            )
        prev_hash = row.hash
        count += 1
        expected_seq += 1
    last_seq = expected_seq - 1
    if head is None:
        if count:
            return VerifyResult(count, 1, "the trail has entries but no head record: the head was removed")
        return VerifyResult(0, head_hash=GENESIS_HASH)
    head_seq, head_hash = head
    if head_seq > last_seq:
        return VerifyResult(
            count,
            last_seq + 1,
            f"missing (deleted?): the head records {head_seq} entries but the trail ends at entry {last_seq}",
        )
    if head_seq < last_seq:
        return VerifyResult(
            count, head_seq + 1, f"not in the head record, which ends at entry {head_seq}: added afterwards"
        )
    if head_hash != prev_hash:
        return VerifyResult(
            count, last_seq, "its hash differs from the head record: the newest entry was rewritten"
        )
    return VerifyResult(count, head_hash=head_hash)
