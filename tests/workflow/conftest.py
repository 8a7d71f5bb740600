"""Workflow fixtures: a migrated SQLite file, the clinic config, cheap argon2 settings, the services."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from alarms import ClinicalConfig, load_config
from bedside.workflow import AuditTrail, IdentityService, PatientService, Role, SignedIn
from drivers.clock import FakeClock
from storage import Database, open_database

ADMIN_SECRET = "4711-admin"
DIRECTOR_SECRET = "2468"
CLINICIAN_SECRET = "1357"


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
def config() -> ClinicalConfig:
    """The packaged clinic defaults."""
    return load_config()


@pytest.fixture
def hasher() -> PasswordHasher:
    """argon2 at its cheapest: the same code path, milliseconds instead of a tenth of a second."""
    return PasswordHasher.from_parameters(CHEAPEST)


@pytest.fixture
def audit(db: Database, clock: FakeClock) -> AuditTrail:
    """The audit trail as room-1 sees it."""
    return AuditTrail(db, clock, station="room-1")


@pytest.fixture
def identity(
    db: Database, clock: FakeClock, audit: AuditTrail, config: ClinicalConfig, hasher: PasswordHasher
) -> IdentityService:
    """The identity service of room-1."""
    return IdentityService(db, clock, audit, config.sign_in, hasher=hasher)


@pytest.fixture
def admin(identity: IdentityService) -> SignedIn:
    """The first-start administrator, signed in."""
    identity.ensure_administrator("Morgan Admin", ADMIN_SECRET, login="admin")
    return identity.sign_in("admin", ADMIN_SECRET)


@pytest.fixture
def director(identity: IdentityService, admin: SignedIn) -> SignedIn:
    """A medical director, signed in."""
    identity.add_clinician(
        admin, name="Dr. Dana Director", login="director", role=Role.MEDICAL_DIRECTOR, secret=DIRECTOR_SECRET
    )
    return identity.sign_in("director", DIRECTOR_SECRET)


@pytest.fixture
def clinician(identity: IdentityService, admin: SignedIn) -> SignedIn:
    """A clinician, signed in."""
    identity.add_clinician(
        admin, name="Dr. Ana Rivera", login="rivera", role=Role.CLINICIAN, secret=CLINICIAN_SECRET
    )
    return identity.sign_in("rivera", CLINICIAN_SECRET)


@pytest.fixture
def patients(db: Database, clock: FakeClock, audit: AuditTrail, config: ClinicalConfig) -> PatientService:
    """The patient service of room-1."""
    return PatientService(db, clock, audit, config.patient_record)
