"""Issue 9, "Storage, for real": ids that fit every backend, the PostgreSQL driver as an extra, the
password kept off the command line, owner-only files, and the trend read as columns."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy.engine import make_url

from drivers.clock import FakeClock
from drivers.types import Quality, VitalKind
from storage import (
    Database,
    ObservationRecord,
    SessionRepository,
    SessionSummary,
    StorageWriter,
    ThresholdChangeRecord,
    ThresholdSetRecord,
    open_database,
    write_owner_only,
)
from storage.database import PASSWORD_VARIABLE, create_storage_engine, url_from_command_line
from storage.errors import DatabaseDriverMissingError, DatabaseSettingError
from tests.storage.samples import spo2

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.req("MON-8")
def test_a_threshold_set_with_the_clinical_sessions_49_character_id_is_kept_with_its_changes(
    db: Database, session: SessionSummary, clock: FakeClock
) -> None:
    """Issue 9: bedside/clinical.py ids a threshold set "{session}/thresholds/{n}" (49 characters for
    a uuid session); PostgreSQL refused it in a 36-character column and the confirmed thresholds and
    every change were lost. Fails on PostgreSQL before revision 0004."""
    session_id = str(uuid.uuid4())
    SessionRepository(db).create_session(
        clinician="Dr. Rivera", started_at=clock.now(), session_id=session_id
    )
    set_id = f"{session_id}/thresholds/1"
    assert len(set_id) == 49
    writer = StorageWriter(db, clock, on_failure=lambda failure: None)
    writer.put(ThresholdSetRecord(set_id, session_id, "Dr. Rivera", clock.now(), systolic_ceiling=180.0))
    writer.put(ThresholdChangeRecord(set_id, session_id, clock.now(), "Dr. Rivera", "systolic_ceiling",
                                     180.0, 170.0, "history of stroke"))  # fmt: skip
    assert writer.flush(timeout=10)
    writer.close()

    repo = SessionRepository(db)
    assert writer.rejected_count == 0
    assert [s.threshold_set_id for s in repo.threshold_sets(session_id)] == [set_id]
    assert [(c.field, c.new) for c in repo.threshold_changes(session_id)] == [("systolic_ceiling", 170.0)]


def test_every_id_column_takes_an_id_built_from_another_id(db: Database) -> None:
    """Every column holding an id (own or referenced) is as wide as the longest id anything builds."""
    from storage.schema import ID_LEN, Base

    narrow = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if (column.name == "id" or column.name.endswith("_id"))
        and getattr(column.type, "length", None) is not None
        and column.type.length < ID_LEN  # type: ignore[attr-defined]
    ]
    assert narrow == []
    assert len(f"{uuid.uuid4()}/thresholds/1000") <= ID_LEN


def test_a_missing_postgresql_driver_is_one_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 9: PostgreSQL support is the bedside[postgres] extra; without it, say so (no traceback)."""
    monkeypatch.setitem(sys.modules, "psycopg", None)  # as if it were not installed

    with pytest.raises(DatabaseDriverMissingError, match=r"install bedside\[postgres\]"):
        create_storage_engine("postgresql://bedside@127.0.0.1/bedside")


def test_the_monitor_says_in_one_sentence_that_the_postgresql_driver_is_missing(tmp_path: Path) -> None:
    """The command line turns the missing driver into one sentence on stderr and exit code 2."""
    code = (
        "import sys; sys.modules['psycopg'] = None; from bedside.cli.main import main; "
        "sys.exit(main(['monitor', '--db', 'postgresql://bedside@127.0.0.1:1/bedside']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], check=False, cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", "HOME": str(tmp_path)},
    )  # fmt: skip

    assert done.returncode == 2
    assert "install bedside[postgres]" in done.stderr
    assert "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("bedside monitor:")]
    assert len(said) == 1
    assert "install bedside[postgres]" in said[0]


def test_a_bare_postgresql_url_uses_the_shipped_driver() -> None:
    engine = create_storage_engine("postgresql://bedside@127.0.0.1/bedside")
    assert engine.url.drivername == "postgresql+psycopg"
    engine.dispose()


def test_a_password_on_the_command_line_is_refused_with_where_to_put_it() -> None:
    """Issue 9: the database password never goes on the command line (anyone can read it with ps)."""
    with pytest.raises(DatabaseSettingError, match=f"{PASSWORD_VARIABLE}.*~/.pgpass") as caught:
        url_from_command_line("postgresql://bedside:s3cret@db.clinic/bedside")
    assert "s3cret" not in str(caught.value)
    assert url_from_command_line("postgresql://bedside@db.clinic/bedside") is not None
    assert url_from_command_line(None) is None


def test_the_password_comes_from_the_environment_when_the_url_has_none() -> None:
    engine = create_storage_engine(
        "postgresql://bedside@127.0.0.1/bedside", environ={PASSWORD_VARIABLE: "from-env"}
    )
    assert engine.url.password == "from-env"
    assert "from-env" not in engine.url.render_as_string(hide_password=True)
    engine.dispose()


def test_the_server_is_reached_with_the_password_from_the_environment_only(
    postgres_admin_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real login: URL without password, password in BEDSIDE_DB_PASSWORD (PGPASSWORD removed)."""
    import os

    password = os.environ.get("PGPASSWORD") or make_url(postgres_admin_url).password
    if not password:
        pytest.skip("the test server needs no password")
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv(PASSWORD_VARIABLE, password)
    url = make_url(postgres_admin_url).set(password=None).render_as_string(hide_password=False)

    db = open_database(url)
    assert db.schema_revision() is not None
    db.close()


@pytest.mark.req("EXP-1")
@pytest.mark.sqlite_only
def test_the_database_file_and_its_folder_are_readable_by_the_owner_only(
    tmp_path: Path, clock: FakeClock, backend: str
) -> None:
    """Issue 9, Export: "exports and the database are readable by their owner only": the SQLite file,
    its WAL and the folders storage creates are 0600 / 0700."""
    folder = tmp_path / "records" / "bedside"
    db = open_database(f"sqlite:///{folder / 'bedside.sqlite3'}")
    session = SessionRepository(db).create_session(clinician="Dr. Rivera", started_at=clock.now())
    writer = StorageWriter(db, clock, on_failure=lambda failure: None)
    writer.put(ObservationRecord(session.session_id, spo2(clock, 97.0)))
    assert writer.flush(timeout=5)

    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in folder.iterdir()}
    writer.close()
    db.close()
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "records").stat().st_mode) == 0o700
    assert modes["bedside.sqlite3"] == 0o600
    assert modes["bedside.sqlite3-wal"] == 0o600
    assert all(mode == 0o600 for mode in modes.values()), modes


@pytest.mark.sqlite_only
def test_an_existing_database_file_open_to_others_is_tightened(tmp_path: Path, backend: str) -> None:
    path = tmp_path / "old.sqlite3"
    open_database(f"sqlite:///{path}").close()
    path.chmod(0o644)

    open_database(f"sqlite:///{path}").close()

    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_the_trend_comes_back_as_columns_per_kind_in_measurement_order(
    db: Database, session: SessionSummary, clock: FakeClock
) -> None:
    """Issue 9: resuming reads the trend as columns, not one object per row; same values as the rows."""
    writer = StorageWriter(db, clock, on_failure=lambda failure: None)
    offsets = list(range(0, 600, 3))
    for offset in reversed(offsets):  # written out of order: the read puts them in time order
        writer.put(ObservationRecord(session.session_id, spo2(clock, 90.0 + offset % 7, offset_s=offset)))
    writer.put(ObservationRecord(session.session_id, spo2(clock, None, offset_s=601)))
    assert writer.flush(timeout=10)
    writer.close()
    repo = SessionRepository(db)

    columns = repo.trend_columns(session.session_id)

    rows = repo.observations(session.session_id)
    trend = columns[VitalKind.SPO2]
    assert list(columns) == [VitalKind.SPO2]
    assert len(trend) == len(rows) == len(offsets) + 1
    assert np.allclose(trend.measured_at_s, [o.measured_at.timestamp() for o in rows], atol=1e-3)
    assert np.array_equal(trend.values[:-1], [o.value for o in rows[:-1]])
    assert np.isnan(trend.values[-1])
    assert trend.valid.tolist() == [o.quality is Quality.VALID for o in rows]


def test_the_trend_read_is_bounded_to_the_newest_rows_and_a_time_window(
    db: Database, session: SessionSummary, clock: FakeClock
) -> None:
    writer = StorageWriter(db, clock, on_failure=lambda failure: None)
    for offset in range(100):
        writer.put(ObservationRecord(session.session_id, spo2(clock, float(offset), offset_s=offset)))
    assert writer.flush(timeout=10)
    writer.close()
    repo = SessionRepository(db)

    newest = repo.trend_columns(session.session_id, max_rows=10)[VitalKind.SPO2]
    window = repo.trend_columns(session.session_id, since=clock.now() + timedelta(seconds=95))[VitalKind.SPO2]

    assert newest.values.tolist() == [float(v) for v in range(90, 100)]
    assert window.values.tolist() == [95.0, 96.0, 97.0, 98.0, 99.0]
    assert repo.trend_columns(session.session_id, kinds=[VitalKind.PULSE_RATE]) == {}


@pytest.mark.req("EXP-1")
def test_an_export_written_through_storage_is_readable_by_the_owner_only(tmp_path: Path) -> None:
    """Issue 9, Export: an export file is 0600 in a new 0700 folder, even under a permissive umask,
    and replaces an older export that was open to others."""
    target = tmp_path / "exports" / "session.csv"
    old_umask = os.umask(0o022)
    try:
        write_owner_only(target, b"first")
        target.chmod(0o644)
        write_owner_only(target, b"kind,value\nspo2,97\n")
    finally:
        os.umask(old_umask)

    assert target.read_bytes() == b"kind,value\nspo2,97\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert [p.name for p in target.parent.iterdir()] == ["session.csv"]
