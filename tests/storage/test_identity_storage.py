"""Storage of clinicians, patients, approvals and the audit trail (issue 9, "Identity" and "Audit";
DOC-1), and migration 0005."""

from __future__ import annotations

from datetime import date

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from drivers.clock import FakeClock
from storage import (
    AdministratorExistsError,
    AuditRepository,
    Database,
    DuplicateLoginError,
    IdentityRepository,
    PatientDetails,
    ReferringProvider,
    UnknownRecordError,
    open_database,
)
from storage.database import MIGRATIONS_DIR

pytestmark = pytest.mark.req("DOC-1")

NEW_TABLES = {"clinicians", "patients", "approvals", "audit_entries", "audit_head"}


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def test_migration_0005_adds_the_identity_tables_and_goes_back_cleanly(db_url: str, clock: FakeClock) -> None:
    """DOC-1 / issue 9: revision 0005 adds only its own tables; downgrading to 0003 removes them."""
    db = open_database(db_url)
    assert set(inspect(db.engine).get_table_names()) >= NEW_TABLES
    AuditRepository(db).append(at=clock.now(), who="admin", station="room-1", action="sign_in")
    config = _config()
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")
    assert not NEW_TABLES & set(inspect(db.engine).get_table_names())
    assert "sessions" in inspect(db.engine).get_table_names()
    db.close()

    again = open_database(db_url)

    # Back at the newest revision (0005 or a later slice's), not pinned to 0005.
    assert again.schema_revision() == ScriptDirectory.from_config(config).get_current_head()
    assert AuditRepository(again).verify().entries == 0
    again.close()


def test_a_sign_in_name_is_taken_once(db: Database, clock: FakeClock) -> None:
    """DOC-1 / issue 9 "Identity": sign-in names are unique."""
    repository = IdentityRepository(db)
    repository.add_clinician(
        login="lee", name="Dr. Lee", role="clinician", secret_hash="h", at=clock.now(), created_by="a"
    )
    with pytest.raises(DuplicateLoginError, match="'lee'"):
        repository.add_clinician(
            login="lee", name="Dr. Lee 2", role="clinician", secret_hash="h", at=clock.now(), created_by="a"
        )


def test_there_is_only_one_first_administrator(db_url: str, clock: FakeClock) -> None:
    """DOC-1 / issue 9 "Identity": two stations starting at once do not both create "the" administrator."""
    rooms = [open_database(db_url), open_database(db_url)]
    first, second = (IdentityRepository(r) for r in rooms)
    first.add_first_administrator(
        login="a1", name="A One", role="administrator", secret_hash="h", at=clock.now()
    )
    with pytest.raises(AdministratorExistsError):
        second.add_first_administrator(
            login="a2", name="A Two", role="administrator", secret_hash="h", at=clock.now()
        )
    assert [c.login for c in second.clinicians()] == ["a1"]
    for room in rooms:
        room.close()


def test_wrong_tries_are_counted_in_the_database(db: Database, clock: FakeClock) -> None:
    """DOC-1 / issue 9 "Identity": every station sees one count; the Nth wrong try sets the lock."""
    repository = IdentityRepository(db)
    repository.add_clinician(
        login="lee", name="Dr. Lee", role="clinician", secret_hash="h", at=clock.now(), created_by="a"
    )
    until = clock.now().replace(hour=10)
    counts = [repository.record_failed_sign_in("lee", max_tries=3, lock_until=until) for _ in range(3)]
    assert [(c.failed_sign_ins, c.locked_until) for c in counts] == [(1, None), (2, None), (0, until)]
    assert repository.clinician("lee") == counts[-1]
    with pytest.raises(UnknownRecordError):
        repository.record_failed_sign_in("nobody", max_tries=3, lock_until=until)


def test_a_patient_round_trips_exactly(db: Database, clock: FakeClock) -> None:
    """DOC-1 / issue 9 "Identity": the minimum about a patient is stored and read back unchanged."""
    repository = IdentityRepository(db)
    details = PatientDetails(
        name="Alex Morgan",
        clinic_id="K-1",
        date_of_birth=date(1984, 2, 29),
        sex="male",
        weight_kg=80.25,
        allergies=("latex", "sulfa"),
        referring_providers=(
            ReferringProvider("Dr. Lee", "psychiatry", "555-0100"),
            ReferringProvider("Dr. Ray"),
        ),
    )
    stored = repository.add_patient(details, at=clock.now(), by="rivera")

    assert repository.patient(stored.patient_id) == stored
    assert repository.patient(stored.patient_id).details == details
    assert repository.patients() == [stored]
