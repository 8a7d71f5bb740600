"""Opening the database: engine settings, the drill/patient split, and migrations to the newest schema."""

from __future__ import annotations

import logging
import os
import stat
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import platformdirs
from sqlalchemy import Connection, Engine, create_engine, event, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, StaticPool

from storage.errors import (
    DatabaseDriverMissingError,
    DatabaseFolderError,
    DatabasePurposeError,
    DatabaseSettingError,
    DatabaseUnreachableError,
)
from storage.files import make_owner_only_folder
from storage.schema import DatabaseInfo

log = logging.getLogger(__name__)

APP_NAME = "bedside"
PATIENT_DATABASE_FILE = "bedside.sqlite3"
#: Drills live in their own file so simulated sessions never mix with patient records (DRL-1).
DRILL_DATABASE_FILE = "bedside-drills.sqlite3"
MIGRATIONS_DIR = Path(__file__).parent / "migrations"

#: Read when a server URL carries no password (libpq itself also reads PGPASSWORD and ~/.pgpass).
PASSWORD_VARIABLE = "BEDSIDE_DB_PASSWORD"
#: The PostgreSQL driver Bedside is tested with; a bare ``postgresql://`` URL means this one.
POSTGRES_DRIVER = "psycopg"
#: Key of the PostgreSQL advisory lock that lets one monitor at a time set up the schema.
SCHEMA_LOCK_KEY = zlib.crc32(b"bedside schema setup")
#: SQLite schema setup: how long a second monitor waits for the first one's setup, and how often.
SQLITE_SETUP_BUSY_S = 30.0
SQLITE_SETUP_ATTEMPTS = 5

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


def url_from_command_line(text: str | None) -> str | None:
    """A ``--db`` value checked before use: a password in it is refused.

    Anyone on the computer can read a program's command line (``ps``), so the password comes from
    ``BEDSIDE_DB_PASSWORD`` or ``PGPASSWORD`` in the environment, or from libpq's ``~/.pgpass``.
    """
    if text is None:
        return None
    try:
        parsed = make_url(text)
    except Exception as exc:
        raise DatabaseSettingError(f"--db {text!r} is not a database URL: {exc}") from exc
    if parsed.password:
        shown = parsed.render_as_string(hide_password=True)
        raise DatabaseSettingError(
            f"--db {shown} carries a password, which anyone on this computer can read on the command "
            f"line: remove it and set {PASSWORD_VARIABLE} (or PGPASSWORD) or use ~/.pgpass instead"
        )
    return text


def _with_server_settings(parsed: URL, environ: Mapping[str, str]) -> URL:
    """The PostgreSQL driver we ship for a bare ``postgresql://``, and the password from the environment."""
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername=f"postgresql+{POSTGRES_DRIVER}")
    password = environ.get(PASSWORD_VARIABLE)
    if parsed.password is None and password:
        parsed = parsed.set(password=password)
    return parsed


def _owner_only_sqlite_file(path: Path) -> None:
    """Create the database file and its missing folders readable by the owner only (0600 / 0700).

    SQLite gives its -wal and -shm files the database file's own mode. An existing folder is only
    tightened when it is Bedside's own data folder: a URL may point into a shared folder like /tmp.
    """
    folder = path.parent
    if not folder.exists():
        make_owner_only_folder(folder)
    elif folder.resolve() == Path(platformdirs.user_data_dir(APP_NAME)).resolve():
        folder.chmod(0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    for each in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if stat.S_IMODE(each.stat().st_mode) & 0o077:
                each.chmod(0o600)
        except FileNotFoundError:
            pass


def create_storage_engine(
    url: str | URL, *, echo: bool = False, environ: Mapping[str, str] | None = None
) -> Engine:
    """An engine for any SQLAlchemy URL, with the SQLite settings storage relies on.

    A server URL without a password takes it from ``BEDSIDE_DB_PASSWORD`` (libpq also reads
    ``PGPASSWORD`` and ``~/.pgpass`` by itself). A missing driver is ``DatabaseDriverMissingError``.
    """
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"echo": echo}
    if parsed.get_backend_name() == "sqlite":
        if _is_sqlite_memory(parsed):
            # One shared connection, or every new connection would see a new, empty database.
            kwargs.update(poolclass=StaticPool, connect_args={"check_same_thread": False})
        elif parsed.database:
            path = Path(parsed.database).expanduser()
            try:
                _owner_only_sqlite_file(path)
            except OSError as exc:
                raise DatabaseFolderError(
                    f"the database file {path} cannot be created in {path.parent} "
                    f"({exc.strerror or exc}): check that the folder is writable and the disk is not "
                    "read-only, or give another place with --db"
                ) from exc
    else:
        parsed = _with_server_settings(parsed, os.environ if environ is None else environ)
        kwargs["pool_pre_ping"] = True  # a clinic server restarting must not poison the pool
    try:
        engine = create_engine(parsed, **kwargs)
    except ImportError as exc:
        backend = parsed.get_backend_name()
        extra = "bedside[postgres]" if backend == "postgresql" else f"the {parsed.drivername} driver"
        raise DatabaseDriverMissingError(
            f"the {backend} database driver ({exc.name or parsed.get_driver_name()}) is not installed: "
            f"install {extra} (pip install 'bedside[postgres]') or use a SQLite database"
        ) from exc
    if parsed.get_backend_name() == "sqlite":
        event.listen(engine, "connect", _tune_sqlite)
    return engine


def shipped_head() -> str:
    """The newest migration shipped in the package (the file names carry the revision: 0008_...)."""
    return max(p.name.split("_", 1)[0] for p in (MIGRATIONS_DIR / "versions").glob("[0-9]*_*.py"))


def _revision_of(connection: Connection) -> str | None:
    """The revision the database is at, read with plain SQL (None: no schema yet)."""
    try:
        with connection.begin_nested():
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (OperationalError, ProgrammingError):
        return None


def _upgrade(connection: Connection) -> None:
    # A database already at the shipped head needs nothing: alembic (a third of a second to import)
    # is loaded only when there is something to migrate, so the monitor's first number comes sooner.
    if _revision_of(connection) == shipped_head():
        return
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


@contextmanager
def _schema_setup(engine: Engine) -> Iterator[Connection]:
    """One transaction that only one process at a time holds: monitors starting together on an empty
    database would otherwise both create the tables, and the second one crash.

    PostgreSQL: an advisory lock held until the transaction ends (its DDL is transactional).
    SQLite file: a separate connection whose transaction starts with BEGIN IMMEDIATE, so the whole
    setup (DDL included: pysqlite would commit each DDL statement on its own) holds the write lock
    and a second monitor waits for it; an in-memory database has only one user.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite" or _is_sqlite_memory(url):
        with engine.begin() as connection:
            if url.get_backend_name() == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK_KEY})
            yield connection
        return
    setup = create_engine(url, poolclass=NullPool, connect_args={"timeout": SQLITE_SETUP_BUSY_S})

    @event.listens_for(setup, "connect")
    def _manual_transactions(dbapi_connection: Any, _record: Any) -> None:
        _tune_sqlite(dbapi_connection, _record)
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves, below

    @event.listens_for(setup, "begin")
    def _begin_immediate(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    try:
        with setup.begin() as connection:
            yield connection
    finally:
        setup.dispose()


def migrate_to_head(engine: Engine) -> None:
    """Bring the schema up to the newest alembic revision shipped in the package (one process at a time)."""
    with _schema_setup(engine) as connection:
        _upgrade(connection)


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
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()


def _check_purpose(connection: Connection, *, is_drill: bool) -> None:
    wanted = DRILL_PURPOSE if is_drill else PATIENT_PURPOSE
    with Session(connection) as session:
        stored = session.scalar(select(DatabaseInfo.value).where(DatabaseInfo.key == PURPOSE_KEY))
        if stored is None:
            session.add(DatabaseInfo(key=PURPOSE_KEY, value=wanted))
            session.flush()
        elif stored != wanted:
            url = connection.engine.url.render_as_string(hide_password=True)
            raise DatabasePurposeError(
                f"{url} holds {stored}, but was opened for {wanted}; drills and patient records "
                "must stay in separate databases: check the configured database URL"
            )


def _set_up(engine: Engine, *, is_drill: bool) -> None:
    """Migrate and mark the database's purpose in one serialised transaction, retrying a busy SQLite.

    SQLite may still report "database is locked" while another monitor switches the file to WAL;
    that passes, so it is retried a few times before giving up.
    """
    for attempt in range(1, SQLITE_SETUP_ATTEMPTS + 1):
        try:
            with _schema_setup(engine) as connection:
                _upgrade(connection)
                _check_purpose(connection, is_drill=is_drill)
            return
        except (OperationalError, IntegrityError) as exc:
            if engine.url.get_backend_name() != "sqlite" or attempt == SQLITE_SETUP_ATTEMPTS:
                raise
            log.warning("database setup busy (%s); retrying (%d)", str(exc.orig).splitlines()[0], attempt)
            time.sleep(0.1 * attempt)


def open_database(url: str | URL | None = None, *, drill: bool = False, echo: bool = False) -> Database:
    """Open (creating if needed) and migrate a database; ``url=None`` uses the per-user default file.

    ``drill`` selects the drill database by default and marks the database as holding drills; a
    database already marked for the other purpose is refused (DRL-1).
    """
    engine = create_storage_engine(url if url is not None else default_database_url(drill=drill), echo=echo)
    try:
        _set_up(engine, is_drill=drill)
    except OperationalError as exc:
        engine.dispose()
        if engine.url.get_backend_name() == "sqlite":
            raise
        said = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        raise DatabaseUnreachableError(
            f"the database server cannot be reached ({said}): check that it is running, that this "
            "computer can reach it, and the user name and password"
        ) from exc
    except BaseException:
        engine.dispose()
        raise
    log.info("opened %s database %s", "drill" if drill else "patient", engine.url.render_as_string())
    return Database(engine, is_drill=drill)
