"""The audit trail (issue 9, "Audit"; DOC-1: every record carries who made it): append-only,
hash-chained, committed at once; ``verify`` proves the chain or names the first broken entry."""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, text

from bedside.workflow import AuditTrail, IdentityService
from drivers.clock import FakeClock
from storage import AuditDetailsError, AuditWriteError, Database, open_database
from storage.audit import GENESIS_HASH, entry_hash
from storage.schema import AuditEntryRow
from tests.workflow.conftest import ADMIN_SECRET

pytestmark = pytest.mark.req("DOC-1")


def _fill(audit: AuditTrail, clock: FakeClock, n: int) -> None:
    for i in range(n):
        clock.advance(1.5)
        audit.append("rivera", "threshold_changed", f"session-{i % 3}", {"n": i, "value": 150.5 + i})


def _sql(db: Database, statement: str, **params: Any) -> None:
    with db.engine.begin() as connection:
        if params:
            connection.execute(text(statement), params)
        else:  # literal SQL: JSON in it holds colons that text() would read as parameters
            connection.exec_driver_sql(statement)


def test_an_untouched_trail_is_intact_and_counts_its_entries(audit: AuditTrail, clock: FakeClock) -> None:
    """DOC-1 / issue 9 "Audit": each entry is chained to the one before; verify proves the chain."""
    _fill(audit, clock, 6)

    result = audit.verify()

    assert result.intact
    assert result.entries == 6
    assert result.describe() == "audit chain intact: 6 entries"
    entries = list(audit.entries())
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5, 6]
    assert entries[0].prev_hash == GENESIS_HASH
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(entries))
    assert entries[2].who == "rivera" and entries[2].station == "room-1"
    assert entries[2].details == {"n": 2, "value": 152.5}


def test_an_empty_trail_is_intact_with_no_entries(audit: AuditTrail) -> None:
    """DOC-1 / issue 9 "Audit": a fresh database has nothing to prove."""
    assert audit.verify().describe() == "audit chain intact: 0 entries"


def test_the_hash_covers_every_field_and_the_link(audit: AuditTrail, clock: FakeClock) -> None:
    """DOC-1 / issue 9 "Audit": hash = sha256 over a canonical serialisation including prev_hash."""
    entry = audit.append("rivera", "note_added", "s-1", {"b": 1, "a": [1, 2]})
    same = dict(
        seq=entry.seq,
        at=entry.at,
        who="rivera",
        station="room-1",
        action="note_added",
        subject="s-1",
        details_json='{"a":[1,2],"b":1}',
        prev_hash=GENESIS_HASH,
    )
    assert entry_hash(**same) == entry.hash  # type: ignore[arg-type]
    # Key order and spacing of the details are not content; everything else is.
    assert entry_hash(**{**same, "details_json": '{ "b": 1, "a": [1, 2] }'}) == entry.hash  # type: ignore[arg-type]
    for field, other in (
        ("seq", 2),
        ("who", "lee"),
        ("station", "room-2"),
        ("action", "note_edited"),
        ("subject", "s-2"),
        ("details_json", '{"a":[1,2],"b":2}'),
        ("prev_hash", "1" * 64),
    ):
        assert entry_hash(**{**same, field: other}) != entry.hash, field  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tamper", "broken", "why"),
    [
        pytest.param(
            'UPDATE audit_entries SET details = \'{"n":99,"value":150.5}\' WHERE seq = 4',
            4,
            "content does not match its hash",
            id="details-edited",
        ),
        pytest.param(
            "UPDATE audit_entries SET who = 'lee' WHERE seq = 2", 2, "does not match its hash", id="who"
        ),
        pytest.param("DELETE FROM audit_entries WHERE seq = 3", 3, "missing (deleted?)", id="middle-deleted"),
        pytest.param("DELETE FROM audit_entries WHERE seq = 1", 1, "missing (deleted?)", id="first-deleted"),
        pytest.param(
            "DELETE FROM audit_entries WHERE seq = 6", 6, "head records 6 entries", id="last-deleted"
        ),
        pytest.param(
            "UPDATE audit_entries SET hash = '" + "ab" * 32 + "' WHERE seq = 5",
            5,
            "does not match its hash",
            id="hash-changed",
        ),
        pytest.param(
            "UPDATE audit_entries SET prev_hash = '" + "cd" * 32 + "' WHERE seq = 2",
            2,
            "does not match its hash",
            id="prev-hash-changed",
        ),
        pytest.param(
            "UPDATE audit_entries SET seq = -1 WHERE seq = 2; "
            "UPDATE audit_entries SET seq = 2 WHERE seq = 5; "
            "UPDATE audit_entries SET seq = 5 WHERE seq = -1",
            2,
            "does not match its hash",
            id="reordered",
        ),
        pytest.param("DELETE FROM audit_head", 1, "no head record", id="head-removed"),
    ],
)
def test_every_kind_of_tampering_is_found_and_named(
    db: Database, audit: AuditTrail, clock: FakeClock, tamper: str, broken: int, why: str
) -> None:
    """DOC-1 / issue 9 "Audit": tamper with a row's details, delete a row, reorder, change a hash: each is
    found and the first broken entry named with its seq and why."""
    _fill(audit, clock, 6)

    for statement in tamper.split(";"):
        _sql(db, statement.strip())
    result = audit.verify()

    assert not result.intact
    assert result.broken_seq == broken
    assert why in result.reason
    assert result.describe().startswith(f"audit chain broken at entry {broken}: ")


def _rehash(db: Database, seq: int) -> None:
    """What a forger who knows the algorithm does after an edit: recompute the entry's own hash."""
    with db.session() as session:
        row = session.get(AuditEntryRow, seq)
        assert row is not None
        row.hash = entry_hash(
            seq=seq,
            at=row.at,
            who=row.who,
            station=row.station,
            action=row.action,
            subject=row.subject,
            details_json=row.details,
            prev_hash=row.prev_hash,
        )


def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(
    db: Database, audit: AuditTrail, clock: FakeClock
) -> None:
    """DOC-1 / issue 9 "Audit": an entry rewritten with its own hash is caught by the next entry's link."""
    _fill(audit, clock, 5)
    _sql(db, "UPDATE audit_entries SET subject = 'other-session' WHERE seq = 3")
    _rehash(db, 3)

    result = audit.verify()

    assert result.broken_seq == 4
    assert "prev_hash" in result.reason


def test_rewriting_the_newest_entry_with_its_hash_is_caught_by_the_head(
    db: Database, audit: AuditTrail, clock: FakeClock
) -> None:
    """DOC-1 / issue 9 "Audit": the newest entry has no successor; the head record still names it."""
    _fill(audit, clock, 4)
    _sql(db, "UPDATE audit_entries SET who = 'someone-else' WHERE seq = 4")
    _rehash(db, 4)

    result = audit.verify()

    assert result.broken_seq == 4
    assert "head" in result.reason


def test_an_entry_slipped_in_after_the_head_is_named(
    db: Database, audit: AuditTrail, clock: FakeClock
) -> None:
    """DOC-1 / issue 9 "Audit": a forged entry appended without the head is found."""
    _fill(audit, clock, 3)
    last = list(audit.entries())[-1]
    forged_hash = entry_hash(
        seq=4,
        at=clock.now(),
        who="x",
        station="room-9",
        action="sign_in",
        subject="",
        details_json="{}",
        prev_hash=last.hash,
    )
    with db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO audit_entries "
                "(seq, at, who, station, action, subject, details, prev_hash, hash) "
                "VALUES (4, :at, 'x', 'room-9', 'sign_in', '', '{}', :prev, :hash)"
            ),
            {"at": clock.now().replace(tzinfo=None), "prev": last.hash, "hash": forged_hash},
        )

    result = audit.verify()

    assert result.broken_seq == 4
    assert "added afterwards" in result.reason


def test_an_append_is_committed_before_it_returns_and_fully_synced(
    db_url: str, db: Database, audit: AuditTrail, clock: FakeClock
) -> None:
    """DOC-1 / issue 9 "Audit": committed with full durability at once, never batched: another connection
    (another process's view) sees it as soon as append returns, and SQLite syncs it (FULL)."""
    statements: list[str] = []

    def remember(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", remember)
    entry = audit.append("rivera", "sign_in", "rivera")
    event.remove(db.engine, "before_cursor_execute", remember)

    other = open_database(db_url)
    try:
        with other.engine.connect() as connection:
            seqs = connection.execute(text("SELECT seq, hash FROM audit_entries")).all()
    finally:
        other.close()
    assert [tuple(r) for r in seqs] == [(1, entry.hash)]
    assert "PRAGMA synchronous=FULL" in statements
    assert statements.index("PRAGMA synchronous=FULL") < next(
        i for i, s in enumerate(statements) if s.startswith("INSERT INTO audit_entries")
    )
    # The rest of storage keeps its own setting afterwards.
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1


def test_two_stations_appending_at_once_keep_one_unbroken_chain(
    db_url: str, db: Database, clock: FakeClock
) -> None:
    """DOC-1 / issue 9 "Audit": two rooms on one database race for the next entry; none is lost or doubled."""
    rooms = [open_database(db_url), open_database(db_url)]
    trails = [AuditTrail(room, clock, station=f"room-{i + 1}") for i, room in enumerate(rooms)]
    errors: list[BaseException] = []

    def work(trail: AuditTrail) -> None:
        try:
            for i in range(25):
                trail.append("rivera", "note_added", trail.station, {"i": i})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in trails]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for room in rooms:
        room.close()

    assert errors == []
    result = AuditTrail(db, clock, "room-3").verify()
    assert result.intact, result.describe()
    assert result.entries == 50
    by_room = [e.station for e in AuditTrail(db, clock, "room-3").entries()]
    assert by_room.count("room-1") == 25 and by_room.count("room-2") == 25


@pytest.mark.parametrize(
    "details",
    [{"value": float("nan")}, {"value": float("inf")}, {"object": object()}, {1: "not a text key"}],
)
def test_details_that_cannot_be_recorded_exactly_are_refused(
    audit: AuditTrail, details: dict[Any, Any]
) -> None:
    """DOC-1 / issue 9 "Audit": what is hashed is what is stored; NaN or objects have no exact JSON."""
    with pytest.raises(AuditDetailsError):
        audit.append("rivera", "note_added", "s-1", details)
    assert audit.verify().entries == 0


# --- property: any sequence of appends and one tamper ---


@dataclass(frozen=True)
class Tamper:
    """One way to break the trail and the entry verify must name."""

    kind: str
    seq: int


_details = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(
        st.integers(-(2**53), 2**53), st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=20)
    ),
    max_size=4,
)
_appends = st.lists(
    st.tuples(
        st.sampled_from(["rivera", "lee", "admin"]), st.sampled_from(["sign_in", "note_added"]), _details
    ),
    min_size=1,
    max_size=12,
)


@st.composite
def _case(draw: st.DrawFn) -> tuple[list[tuple[str, str, dict[str, Any]]], Tamper | None]:
    appends = draw(_appends)
    if draw(st.booleans()):
        kind = draw(st.sampled_from(["details", "delete", "hash", "swap", "at"]))
        n = len(appends)
        if kind == "swap" and n < 2:
            kind = "hash"
        seq = draw(st.integers(1, n - 1 if kind == "swap" else n))
        return appends, Tamper(kind, seq)
    return appends, None


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=_case())
def test_any_tamper_after_any_appends_is_found_at_its_entry(
    db: Database,
    audit: AuditTrail,
    clock: FakeClock,
    case: tuple[list[tuple[str, str, dict[str, Any]]], Tamper | None],
) -> None:
    """DOC-1 / issue 9 "Audit" (hypothesis): random appends then at most one tamper; verify is intact exactly
    when nothing was touched, and otherwise names the tampered entry."""
    appends, tamper = case
    _sql(db, "DELETE FROM audit_entries")
    _sql(db, "DELETE FROM audit_head")
    for who, action, details in appends:
        clock.advance(0.25)
        audit.append(who, action, "s", details)

    if tamper is not None:
        if tamper.kind == "details":
            _sql(
                db,
                "UPDATE audit_entries SET details = :d WHERE seq = :s",
                d='{"tampered":true}',
                s=tamper.seq,
            )
        elif tamper.kind == "delete":
            _sql(db, "DELETE FROM audit_entries WHERE seq = :s", s=tamper.seq)
        elif tamper.kind == "hash":
            _sql(db, "UPDATE audit_entries SET hash = :h WHERE seq = :s", h="f" * 64, s=tamper.seq)
        elif tamper.kind == "at":
            _sql(
                db, "UPDATE audit_entries SET at = '1999-01-01 00:00:00.000000' WHERE seq = :s", s=tamper.seq
            )
        else:
            # Swap two neighbours (one at a time: the seq is unique at every step).
            _sql(db, "UPDATE audit_entries SET seq = -1 WHERE seq = :a", a=tamper.seq)
            _sql(db, "UPDATE audit_entries SET seq = :a WHERE seq = :b", a=tamper.seq, b=tamper.seq + 1)
            _sql(db, "UPDATE audit_entries SET seq = :b WHERE seq = -1", b=tamper.seq + 1)

    result = audit.verify()

    if tamper is None:
        assert result.intact and result.entries == len(appends)
        return
    # A swap of two identical-content entries is impossible: seq is hashed, so each moved entry breaks.
    assert not result.intact
    assert result.broken_seq == tamper.seq
    assert result.entries == tamper.seq - 1


def test_an_entry_that_cannot_be_written_stops_the_action(
    db: Database, identity: IdentityService, audit: AuditTrail
) -> None:
    """DOC-1 / issue 9 "Audit": an action whose audit entry cannot be committed is not reported as
    done: the sign-in raises AuditWriteError, with a message naming the database, and no SignedIn."""
    identity.ensure_administrator("Morgan Admin", ADMIN_SECRET, login="admin")
    _sql(db, "ALTER TABLE audit_entries RENAME TO audit_entries_gone")

    with pytest.raises(AuditWriteError, match=r"could not record 'sign_in' in the audit trail of sqlite:///"):
        identity.sign_in("admin", ADMIN_SECRET)
