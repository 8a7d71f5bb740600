"""Opening the database: engine settings, the drill/patient split, and migrations to the newest schema."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from storage.errors import DatabasePurposeError
from storage.schema import DatabaseInfo

log = logging.getLogger(__name__)

APP_NAME = "bedside"
PATIENT_DATABASE_FILE = "bedside.sqlite3"
#: Drills live in their own file so simulated sessions never mix with patient records (DRL-1).
DRILL_DATABASE_FILE = "bedside-drills.sqlite3"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

PURPOSE_KEY = "purpose"
PATIENT_PURPOSE = "patient-records"
DRILL_PURPOSE = "drills"


def default_database_url(*, drill: bool, data_dir: Path | None = None) -> str:
    """The SQLite URL used when none is configured: the user's data directory, one file per purpose."""
    directory = data_dir if data_dir is not None else Path(platformdirs.user_data_dir(APP_NAME))
    name = DRILL_DATABASE_FILE if drill else PATIENT_DATABASE_FILE
    return URL.create("sqlite", database=str(directory / name)).render_as_string()


def _is_sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in database or url.query.get("mode") == "memory"


def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Per-connection SQLite settings: WAL (readers never block the writer), fsync at checkpoints, FKs."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
    finally:
        cursor.close()


def create_storage_engine(url: str | URL, *, echo: bool = False) -> Engine:
    """An engine for any SQLAlchemy URL, with the SQLite settings storage relies on."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if _is_sqlite_memory(parsed):
            # One shared connection, or every new connection would see a new, empty database.
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        elif parsed.database:
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    else:
        kwargs["pool_pre_ping"] = True  # a clinic server restarting must not poison the pool
    engine = create_engine(parsed, **kwargs)
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    return engine


def migrate_to_head(engine: Engine) -> None:
    """Bring the schema up to the newest alembic revision shipped in the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """An open, migrated database: the engine plus which kind of records it holds."""

    def __init__(self, engine: Engine, *, is_drill: bool) -> None:
        self.engine = engine
        self.is_drill = is_drill
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @property
    def url(self) -> str:
        """The database URL with any password hidden (safe to log and show)."""
        return self.engine.url.render_as_string(hide_password=True)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """An ORM session in one transaction: committed on success, rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    def schema_revision(self) -> str | None:
        """The alembic revision the database is at."""
        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()


def _check_purpose(engine: Engine, *, is_drill: bool) -> None:
    wanted = DRILL_PURPOSE if is_drill else PATIENT_PURPOSE
    with Session(engine) as session, session.begin():
        stored = session.scalar(select(DatabaseInfo.value).where(DatabaseInfo.key == PURPOSE_KEY))
        if stored is None:
            session.add(DatabaseInfo(key=PURPOSE_KEY, value=wanted))
        elif stored != wanted:
            url = engine.url.render_as_string(hide_password=True)
            raise DatabasePurposeError(
                f"{url} holds {stored}, but was opened for {wanted}; drills and patient records "
                "must stay in separate databases: check the configured database URL"
            )


def open_database(url: str | URL | None = None, *, drill: bool = False, echo: bool = False) -> Database:
    """Open (creating if needed) and migrate a database; ``url=None`` uses the per-user default file.

    ``drill`` selects the drill database by default and marks the database as holding drills; a
    database already marked for the other purpose is refused (DRL-1).
    """
    engine = create_storage_engine(url if url is not None else default_database_url(drill=drill), echo=echo)
    try:
        migrate_to_head(engine)
        _check_purpose(engine, is_drill=drill)
    except BaseException:
        engine.dispose()
        raise
    log.info("opened %s database %s", "drill" if drill else "patient", engine.url.render_as_string())
    return Database(engine, is_drill=drill)
