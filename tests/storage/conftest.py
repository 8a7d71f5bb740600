"""Storage fixtures: a migrated database per test, on SQLite AND on a real PostgreSQL server.

Every test that asks for ``db_url`` / ``db`` / ``session`` runs twice: once on a SQLite file, once
on a fresh PostgreSQL database. The server comes from ``BEDSIDE_TEST_POSTGRES_URL`` (``.ci/run``
starts one on loopback and sets it; the password travels in ``PGPASSWORD``, never in the URL).
Without that variable the PostgreSQL variants are skipped locally, but fail under CI (``CI=true``):
a CI run that silently tested only SQLite would prove nothing about the clinic's server.
Tests of SQLite's own behaviour (PRAGMAs, file locks) carry ``@pytest.mark.sqlite_only``.
"""

from __future__ import annotations

import os
import time
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy.exc
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from drivers.clock import FakeClock
from storage import Database, SessionRepository, SessionSummary, open_database

POSTGRES_URL_VARIABLE = "BEDSIDE_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgresql")


def in_ci() -> bool:
    """True on the CI machine, where a missing PostgreSQL server is a failure, not a skip."""
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run every backend-using test on both backends, SQLite-only tests on SQLite alone."""
    if "backend" in metafunc.fixturenames:
        only_sqlite = metafunc.definition.get_closest_marker("sqlite_only") is not None
        metafunc.parametrize("backend", ["sqlite"] if only_sqlite else list(BACKENDS), scope="function")


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """The test server's URL (its own database); skipped locally, a failure in CI when absent."""
    url = os.environ.get(POSTGRES_URL_VARIABLE, "").strip()
    reason = ""
    if not url:
        reason = f"no PostgreSQL server: set {POSTGRES_URL_VARIABLE} (.ci/run starts one)"
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            reason = "the PostgreSQL driver is not installed: pip install -e '.[postgres]'"
    if reason:
        if in_ci():
            pytest.fail(f"CI must test PostgreSQL: {reason}")
        pytest.skip(reason)
    return url


def _admin_engine(admin_url: str):  # type: ignore[no-untyped-def]
    return create_engine(admin_url, isolation_level="AUTOCOMMIT")


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A URL to a brand-new, empty PostgreSQL database, dropped after the test."""
    name = f"bedside_t_{uuid.uuid4().hex[:16]}"
    admin = _admin_engine(postgres_admin_url)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        _drop_database(admin, name)
        admin.dispose()


def _drop_database(admin, name: str) -> None:  # type: ignore[no-untyped-def]
    """Drop a test database. FORCE ends the test's own leftover connections, but not a server
    process of another role (an autovacuum worker that has just started on it: a CI run saw
    "must be a member of the role whose process is being terminated"); that one ends by itself,
    so the drop is tried again for a few seconds, then left with a warning (never a test error)."""
    for attempt in range(40):
        try:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            return
        except sqlalchemy.exc.DBAPIError as error:
            last = error
            time.sleep(0.1 * min(attempt + 1, 5))  # a server process ending, not the code under test
    warnings.warn(f"test database {name} left behind: {last.orig}", stacklevel=1)


@pytest.fixture
def db_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty database of the test's backend: a SQLite file in its own directory, or PostgreSQL."""
    if backend == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return f"sqlite:///{tmp_path / 'bedside.sqlite3'}"


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A freshly migrated patient database."""
    database = open_database(db_url)
    yield database
    database.close()


@pytest.fixture
def session(db: Database, clock: FakeClock) -> SessionSummary:
    """One open patient session."""
    return SessionRepository(db).create_session(
        clinician="Dr. Rivera", started_at=clock.now(), patient_name="Test Patient", patient_mrn="MRN-1"
    )
