"""The clinical record's tables (migration 0006) and closing an incident from two stations at once
(issue 9, DOC-1, DOC-2)."""

from __future__ import annotations

import threading

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from alarms import ClinicalConfig
from bedside.workflow import AuditTrail, IncidentClosedError, IncidentService, Outcome
from drivers.clock import FakeClock
from storage import Database, SessionRepository, open_database
from storage.database import MIGRATIONS_DIR
from storage.schema import Base

RECORD_TABLES = {
    "event_markers",
    "medications_given",
    "incident_origins",
    "incident_links",
    "incident_closures",
    "incident_amendments",
    "incident_debriefs",
    "incident_reviews",
    "patient_told",
}


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


@pytest.mark.req("DOC-1")
def test_migration_0006_creates_exactly_the_models_tables_and_goes_back_cleanly(
    db: Database, db_url: str
) -> None:
    """DOC-1, DOC-2: revision 0006 adds the record's tables as the models declare them (nothing for
    them left to autogenerate), and downgrading to 0005 removes only them."""
    assert set(inspect(db.engine).get_table_names()) >= RECORD_TABLES
    with db.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    mine = [d for d in diff if any(table in repr(d) for table in RECORD_TABLES)]
    assert mine == []

    config = _config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0005")
    tables = set(inspect(db.engine).get_table_names())
    assert not RECORD_TABLES & tables
    assert {"incidents", "notes", "audit_entries"} <= tables
    db.close()

    again = open_database(db_url)
    assert set(inspect(again.engine).get_table_names()) >= RECORD_TABLES
    again.close()


@pytest.mark.req("DOC-2")
def test_two_stations_closing_at_once_close_it_once(
    db: Database, db_url: str, clock: FakeClock, config: ClinicalConfig
) -> None:
    """DOC-2: two stations close the same incident at the same moment: exactly one closing is kept,
    the other is told it was closed already."""
    session_id = SessionRepository(db).create_session(clinician="rivera", started_at=clock.now()).session_id
    first = IncidentService(db, clock, AuditTrail(db, clock, "room-1"), config.incident_record)
    incident_id = first.open_by_hand("rivera", session_id, "syncope").incident_id
    other_db = open_database(db_url)
    second = IncidentService(other_db, clock, AuditTrail(other_db, clock, "room-2"), config.incident_record)
    barrier = threading.Barrier(2)
    results: list[str] = []

    def close(service: IncidentService, outcome: Outcome) -> None:
        barrier.wait()
        try:
            service.close("rivera", incident_id, outcome)
            results.append(outcome.value)
        except IncidentClosedError:
            results.append("refused")

    threads = [
        threading.Thread(target=close, args=(first, Outcome.RESOLVED_IN_CLINIC)),
        threading.Thread(target=close, args=(second, Outcome.TRANSFERRED)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    other_db.close()

    assert sorted(results).count("refused") == 1
    (kept,) = [r for r in results if r != "refused"]
    closure = first.show(incident_id).closure
    assert closure is not None and closure.outcome == kept
