"""Opening databases: defaults, SQLite settings, migrations, and drills kept apart from patients."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import String, inspect, text

from drivers.clock import FakeClock
from storage import (
    DRILL_DATABASE_FILE,
    PATIENT_DATABASE_FILE,
    Database,
    DatabasePurposeError,
    DrillMixingError,
    ObservationRecord,
    SessionRepository,
    StorageWriter,
    default_database_url,
    open_database,
)
from storage.database import MIGRATIONS_DIR
from storage.schema import Base
from tests.storage.samples import spo2


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def _head() -> str | None:
    return ScriptDirectory.from_config(_alembic_config()).get_current_head()


def test_default_files_live_in_the_users_data_directory_one_per_purpose(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    patient = default_database_url(drill=False)
    drill = default_database_url(drill=True)

    assert patient == f"sqlite:///{tmp_path / 'bedside' / PATIENT_DATABASE_FILE}"
    assert drill == f"sqlite:///{tmp_path / 'bedside' / DRILL_DATABASE_FILE}"


@pytest.mark.req("DRL-1")
def test_opening_without_a_url_creates_separate_patient_and_drill_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))

    patient = open_database()
    drill = open_database(drill=True)
    patient.close()
    drill.close()

    assert (tmp_path / "bedside" / PATIENT_DATABASE_FILE).is_file()
    assert (tmp_path / "bedside" / DRILL_DATABASE_FILE).is_file()
    assert not patient.is_drill
    assert drill.is_drill


@pytest.mark.sqlite_only  # SQLite PRAGMAs make the fault
def test_sqlite_connections_use_wal_normal_sync_and_foreign_keys(db: Database) -> None:
    with db.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert connection.execute(text("PRAGMA synchronous")).scalar() == 1  # NORMAL
        assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_a_fresh_file_is_migrated_to_the_newest_revision(db: Database) -> None:
    assert db.schema_revision() == _head()
    assert "observations" in inspect(db.engine).get_table_names()


def _only_a_varchar_length(difference: object) -> bool:
    """A ("modify_type", ..., String(36), String(128)) diff: SQLite ignores VARCHAR lengths (rev. 0004)."""
    if not (isinstance(difference, list) and len(difference) == 1):
        return False
    change = difference[0]
    return change[0] == "modify_type" and isinstance(change[5], String) and isinstance(change[6], String)


def test_the_migrations_produce_exactly_the_orm_schema(db: Database) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    if db.engine.dialect.name == "sqlite":
        differences = [d for d in differences if not _only_a_varchar_length(d)]
    assert differences == []


def test_an_older_schema_is_brought_up_to_date_on_open(db_url: str) -> None:
    open_database(db_url).close()
    older = open_database(db_url)
    config = _alembic_config()
    with older.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert older.schema_revision() is None
    assert "sessions" not in inspect(older.engine).get_table_names()
    older.close()

    reopened = open_database(db_url)

    assert reopened.schema_revision() == _head()
    assert "sessions" in inspect(reopened.engine).get_table_names()
    reopened.close()


def test_reopening_an_up_to_date_database_keeps_its_data(db_url: str, clock: FakeClock) -> None:
    first = open_database(db_url)
    created = SessionRepository(first).create_session(clinician="Dr. Rivera", started_at=clock.now())
    first.close()

    second = open_database(db_url)

    assert SessionRepository(second).session(created.session_id) == created
    second.close()


def test_an_in_memory_url_works_with_the_writer_thread_too(clock: FakeClock) -> None:
    memory = open_database("sqlite://")
    repository = SessionRepository(memory)
    created = repository.create_session(clinician="Dr. Rivera", started_at=clock.now())
    writer = StorageWriter(memory, clock, on_failure=lambda failure: None)

    writer.put(ObservationRecord(created.session_id, spo2(clock, 97.0)))
    assert writer.flush(timeout=5)
    writer.close()

    assert memory.schema_revision() == _head()
    assert repository.latest_open_session() == created
    assert [o.value for o in repository.observations(created.session_id)] == [97.0]
    memory.close()


@pytest.mark.req("DRL-1")
def test_a_patient_database_cannot_be_opened_as_the_drill_database(db_url: str) -> None:
    open_database(db_url).close()

    with pytest.raises(DatabasePurposeError, match="drills and patient records must stay in separate"):
        open_database(db_url, drill=True)


@pytest.mark.req("DRL-1")
def test_a_drill_session_cannot_be_created_in_the_patient_database(db: Database, clock: FakeClock) -> None:
    repository = SessionRepository(db)

    with pytest.raises(DrillMixingError, match="drill session in the patient database"):
        repository.create_session(clinician="Dr. Rivera", started_at=clock.now(), is_drill=True)
    assert repository.sessions() == []


@pytest.mark.req("DRL-1")
def test_sessions_in_the_drill_database_are_drills(tmp_path: Path, clock: FakeClock) -> None:
    drills = open_database(f"sqlite:///{tmp_path / 'drills.sqlite3'}", drill=True)
    repository = SessionRepository(drills)

    created = repository.create_session(clinician="Dr. Rivera", started_at=clock.now(), scenario="bp-spike")

    assert created.is_drill
    assert repository.latest_open_session() == created
    assert repository.latest_open_session(is_drill=False) is None
    drills.close()


def test_a_database_at_the_shipped_head_opens_without_loading_alembic(tmp_path: Path) -> None:
    """Issue 10 (cold start under 1 s): alembic costs a third of a second to import; a database
    already at the newest shipped revision is opened without it, an older one is still migrated."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'head.sqlite3'}"
    open_database(url).close()  # created and migrated here
    code = (
        "import sys; from storage import open_database; "
        f"db = open_database({url!r}); db.close(); print('alembic' in sys.modules)"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False", done.stderr
    from storage.database import shipped_head

    assert open_database(url).schema_revision() == shipped_head()
