"""Storage with real processes (issue 9, "Storage, for real"): monitors starting together, two rooms
on one database, and a writer killed with SIGKILL at random moments.

Each runs on SQLite and on the PostgreSQL server CI starts (see conftest.py).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select, text

from storage import SessionRepository, open_database
from storage.schema import AlarmEventRow, ObservationRow, SessionRow

ROOT = Path(__file__).resolve().parents[2]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    return env


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.storage._worker", *args],
        cwd=ROOT,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _results(process: subprocess.Popen[str], timeout: float = 90) -> list[dict[str, object]]:
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, f"worker failed:\n{err[-3000:]}"
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_monitors_starting_together_on_an_empty_database_all_start(db_url: str) -> None:
    """Issue 9: two monitors starting at once on an empty database crashed (both created the tables).

    Three real processes open the same empty database at the same instant: all start, each with its
    own session, and the schema is at the newest revision. Without the serialised setup this fails
    ("table alembic_version already exists" on SQLite, a duplicate pg_type on PostgreSQL).
    """
    start_at = time.time() + 2.0  # after every process has imported what it needs
    processes = [_start("setup", db_url, str(start_at), f"room-{n}") for n in range(3)]
    results = [_results(p)[-1] for p in processes]

    assert len({r["session_id"] for r in results}) == 3
    db = open_database(db_url)
    assert {r["revision"] for r in results} == {db.schema_revision()}
    assert sorted(s.station for s in SessionRepository(db).sessions()) == ["room-0", "room-1", "room-2"]
    db.close()


@pytest.mark.req("MON-8")
def test_two_rooms_write_at_once_each_sees_only_its_own_session_and_a_third_lists_both(
    db_url: str,
) -> None:
    """Issue 9 (MON-8): two monitors in two rooms write to one database at the same time; each
    resumes only its own session with only its own vitals, and a third process lists both rooms."""
    count = 1500
    start_at = time.time() + 2.0
    rooms = {"room-a": _start("room", db_url, str(start_at), "room-a", str(count))}
    rooms["room-b"] = _start("room", db_url, str(start_at), "room-b", str(count))
    results = {station: _results(process)[-1] for station, process in rooms.items()}

    for station, result in results.items():
        assert result["flushed"] is True
        assert result["resumed"] == result["session_id"], f"{station} would resume another room's session"
        assert result["stored"] == count
        assert result["mine"] == [result["session_id"]]
    listed = _results(_start("list", db_url))
    assert {(r["session_id"], r["station"]) for r in listed} == {
        (results["room-a"]["session_id"], "room-a"),
        (results["room-b"]["session_id"], "room-b"),
    }


class _PutLog:
    """Reads the worker's "put" lines as they come, so the test knows what was put before the kill."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.ready = threading.Event()
        self.session_id = ""
        self.observations: list[tuple[int, float]] = []
        self.alarms: list[tuple[int, float]] = []
        self._thread = threading.Thread(target=self._read, args=(process,), daemon=True)
        self._thread.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            item = json.loads(line)
            if "ready" in item:
                self.session_id = str(item["ready"])
                self.ready.set()
            elif "obs" in item:
                self.observations.append((int(item["obs"]), float(item["mono"])))
            elif "alarm" in item:
                self.alarms.append((int(item["alarm"]), float(item["mono"])))

    def join(self) -> None:
        self._thread.join(timeout=10)


#: SQLite gets the full 30 kills the issue asks for; PostgreSQL (whose crash safety is the server's) 10,
#: to keep the two under a minute together.
KILLS = {"sqlite": 30, "postgresql": 10}
#: The worker's batch interval: vitals put longer ago than this (plus slack) must be on disk.
FLUSH_S = 0.4
#: Slack for a loaded machine: how long a commit may take after its put.
COMMIT_SLACK_S = 0.3


@pytest.mark.req("MON-8")
def test_a_writer_killed_at_random_moments_keeps_every_batch_and_every_alarm(
    db_url: str, tmp_path: Path
) -> None:
    """Issue 9 "Done when": SIGKILL the writing process 30 times at random moments. Every vital put
    more than one batch interval before the kill is on disk, every alarm put before the last commit
    could finish is on disk (alarms are committed at once), and the database passes its integrity
    check. The window of everything else is the batch interval (storage/writer.py)."""
    rng = random.Random(9)
    engine = create_engine(db_url)
    kills = KILLS[engine.dialect.name]
    open_database(db_url).close()  # migrated once; each run then opens it as a restarted monitor would
    checked_alarms = checked_vitals = 0
    for _ in range(kills):
        worker = _start("record", db_url, str(FLUSH_S))
        puts = _PutLog(worker)
        assert puts.ready.wait(30), worker.stderr.read() if worker.stderr else ""
        time.sleep(rng.uniform(0.3, 1.2))
        killed_at = time.monotonic()
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
        puts.join()
        assert worker.returncode == -signal.SIGKILL
        if worker.stderr is not None:
            worker.stderr.close()
        if worker.stdout is not None:
            worker.stdout.close()

        with engine.connect() as connection:
            stored_vitals = set(
                connection.scalars(
                    select(ObservationRow.value).where(ObservationRow.session_id == puts.session_id)
                )
            )
            stored_alarms = set(
                connection.scalars(
                    select(AlarmEventRow.message).where(AlarmEventRow.session_id == puts.session_id)
                )
            )
        old_vitals = [i for i, at in puts.observations if at < killed_at - FLUSH_S - COMMIT_SLACK_S]
        old_alarms = [i for i, at in puts.alarms if at < killed_at - COMMIT_SLACK_S]
        assert [i for i in old_vitals if float(i) not in stored_vitals] == []
        assert [i for i in old_alarms if str(i) not in stored_alarms] == []
        checked_vitals += len(old_vitals)
        checked_alarms += len(old_alarms)

    with engine.connect() as connection:
        sessions = connection.scalar(select(SessionRow.id).where(SessionRow.station == "kill-test").limit(1))
        assert sessions is not None
        if engine.dialect.name == "sqlite":
            assert connection.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert connection.execute(text("PRAGMA foreign_key_check")).fetchall() == []
    engine.dispose()
    assert checked_vitals > kills * 5  # the runs were long enough to prove something
    assert checked_alarms > kills
