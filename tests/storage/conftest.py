"""Storage fixtures: a migrated SQLite file per test and a session in it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.clock import FakeClock
from storage import Database, SessionRepository, SessionSummary, open_database


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A SQLite file URL in the test's own directory."""
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
