"""Clinicians, patients and approvals as stored. Rules (roles, lockout, plausibility) live in
``bedside.workflow``; this module keeps the rows and makes each change one transaction."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from storage.database import Database
from storage.errors import StorageError, UnknownRecordError
from storage.schema import ApprovalRow, ClinicianRow, DatabaseInfo, PatientRow

log = logging.getLogger(__name__)

#: Inserted with the first administrator: a second station creating one at the same time collides
#: on this key instead of leaving the clinic with two "first" administrators.
FIRST_ADMINISTRATOR_KEY = "first_administrator"


class DuplicateLoginError(StorageError):
    """A clinician with this sign-in name exists already."""


class DuplicatePatientError(StorageError):
    """A patient with this clinic id exists already."""


class AdministratorExistsError(StorageError):
    """The first administrator was already created (by this or another station)."""


@dataclass(frozen=True, slots=True)
class ClinicianRecord:
    """A clinician as stored; ``secret_hash`` is the argon2 hash, never the secret."""

    clinician_id: str
    login: str
    name: str
    role: str
    active: bool
    created_at: datetime
    created_by: str
    secret_changed_at: datetime
    failed_sign_ins: int
    locked_until: datetime | None
    last_sign_in_at: datetime | None
    secret_hash: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class ReferringProvider:
    """Who referred the patient and how to reach them for the written summary (DOC-5)."""

    name: str
    specialty: str = ""
    contact: str = ""


@dataclass(frozen=True, slots=True)
class PatientDetails:
    """The minimum kept about a patient; an empty ``allergies`` means no known allergies."""

    name: str
    clinic_id: str
    date_of_birth: date
    sex: str
    weight_kg: float
    allergies: tuple[str, ...] = ()
    referring_providers: tuple[ReferringProvider, ...] = ()


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """A stored patient: the details plus who created and last changed them, and when."""

    patient_id: str
    details: PatientDetails
    created_at: datetime
    created_by: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class ApprovalRecord:
    """A medical director's approval of content identified by its hash."""

    kind: str
    subject: str
    version: str
    content_hash: str
    approved_by: str
    approved_by_name: str
    at: datetime


def _clinician(row: ClinicianRow) -> ClinicianRecord:
    return ClinicianRecord(
        clinician_id=row.id,
        login=row.login,
        name=row.name,
        role=row.role,
        active=row.active,
        created_at=row.created_at,
        created_by=row.created_by,
        secret_changed_at=row.secret_changed_at,
        failed_sign_ins=row.failed_sign_ins,
        locked_until=row.locked_until,
        last_sign_in_at=row.last_sign_in_at,
        secret_hash=row.secret_hash,
    )


def _patient(row: PatientRow) -> PatientRecord:
    details = PatientDetails(
        name=row.name,
        clinic_id=row.clinic_id,
        date_of_birth=row.date_of_birth,
        sex=row.sex,
        weight_kg=row.weight_kg,
        allergies=tuple(row.allergies),
        referring_providers=tuple(
            ReferringProvider(p.get("name", ""), p.get("specialty", ""), p.get("contact", ""))
            for p in row.referring_providers
        ),
    )
    return PatientRecord(row.id, details, row.created_at, row.created_by, row.updated_at, row.updated_by)


def _approval(row: ApprovalRow) -> ApprovalRecord:
    return ApprovalRecord(
        row.kind, row.subject, row.version, row.content_hash, row.approved_by, row.approved_by_name, row.at
    )


def _write_details(row: PatientRow, details: PatientDetails) -> None:
    row.name = details.name
    row.clinic_id = details.clinic_id
    row.date_of_birth = details.date_of_birth
    row.sex = details.sex
    row.weight_kg = details.weight_kg
    row.allergies = list(details.allergies)
    row.referring_providers = [
        {"name": p.name, "specialty": p.specialty, "contact": p.contact} for p in details.referring_providers
    ]


class IdentityRepository:
    """Reads and changes clinicians, patients and approvals; each method is one transaction."""

    def __init__(self, db: Database) -> None:
        self._db = db

    # --- clinicians ---

    def count_clinicians(self) -> int:
        """How many clinicians exist (0 on a first start)."""
        with self._db.session() as session:
            return int(session.scalar(select(func.count()).select_from(ClinicianRow)) or 0)

    def add_clinician(
        self, *, login: str, name: str, role: str, secret_hash: str, at: datetime, created_by: str
    ) -> ClinicianRecord:
        """Store a new clinician; raises DuplicateLoginError when the sign-in name is taken."""
        row = ClinicianRow(
            id=str(uuid.uuid4()),
            login=login,
            name=name,
            role=role,
            secret_hash=secret_hash,
            active=True,
            created_at=at,
            created_by=created_by,
            secret_changed_at=at,
            failed_sign_ins=0,
            locked_until=None,
            last_sign_in_at=None,
        )
        try:
            with self._db.session() as session:
                session.add(row)
        except IntegrityError:
            raise DuplicateLoginError(
                f"a clinician signs in as {login!r} already: choose another sign-in name"
            ) from None
        return _clinician(row)

    def add_first_administrator(
        self, *, login: str, name: str, role: str, secret_hash: str, at: datetime
    ) -> ClinicianRecord:
        """Store the first clinician, only while there is none; AdministratorExistsError otherwise."""
        row = ClinicianRow(
            id=str(uuid.uuid4()),
            login=login,
            name=name,
            role=role,
            secret_hash=secret_hash,
            active=True,
            created_at=at,
            created_by="first start",
            secret_changed_at=at,
            failed_sign_ins=0,
            locked_until=None,
            last_sign_in_at=None,
        )
        try:
            with self._db.session() as session:
                if session.scalar(select(func.count()).select_from(ClinicianRow)):
                    raise AdministratorExistsError("the database has clinicians already")
                session.add(DatabaseInfo(key=FIRST_ADMINISTRATOR_KEY, value=login))
                session.add(row)
        except IntegrityError:
            raise AdministratorExistsError(
                "another station created the first administrator at the same time"
            ) from None
        return _clinician(row)

    def clinician(self, login: str) -> ClinicianRecord | None:
        """The clinician who signs in as ``login``, if any."""
        with self._db.session() as session:
            row = session.scalar(select(ClinicianRow).where(ClinicianRow.login == login))
            return None if row is None else _clinician(row)

    def clinicians(self) -> list[ClinicianRecord]:
        """Every clinician, by sign-in name."""
        with self._db.session() as session:
            return [_clinician(r) for r in session.scalars(select(ClinicianRow).order_by(ClinicianRow.login))]

    def set_secret(self, login: str, secret_hash: str, at: datetime) -> None:
        """Replace the secret's hash; a new secret also clears wrong tries and any lock."""
        with self._db.session() as session:
            row = self._locked_row(session, login)
            row.secret_hash = secret_hash
            row.secret_changed_at = at
            row.failed_sign_ins = 0
            row.locked_until = None

    def record_failed_sign_in(self, login: str, *, max_tries: int, lock_until: datetime) -> ClinicianRecord:
        """Count a wrong secret; the ``max_tries``-th wrong one in a row locks until ``lock_until``."""
        with self._db.session() as session:
            row = self._locked_row(session, login)
            row.failed_sign_ins += 1
            if row.failed_sign_ins >= max_tries:
                row.locked_until = lock_until
                row.failed_sign_ins = 0
            return _clinician(row)

    def record_sign_in(self, login: str, at: datetime, *, secret_hash: str | None = None) -> ClinicianRecord:
        """A successful sign-in clears the wrong tries; ``secret_hash`` re-hashes with newer settings."""
        with self._db.session() as session:
            row = self._locked_row(session, login)
            row.failed_sign_ins = 0
            row.locked_until = None
            row.last_sign_in_at = at
            if secret_hash is not None:
                row.secret_hash = secret_hash
            return _clinician(row)

    @staticmethod
    def _locked_row(session: Session, login: str) -> ClinicianRow:
        # FOR UPDATE: two stations counting wrong tries at once must not lose a count (PostgreSQL).
        row = session.scalar(select(ClinicianRow).where(ClinicianRow.login == login).with_for_update())
        if row is None:
            raise UnknownRecordError(f"no clinician signs in as {login!r}")
        return row

    # --- patients ---

    def add_patient(self, details: PatientDetails, *, at: datetime, by: str) -> PatientRecord:
        """Store a new patient; raises DuplicatePatientError when the clinic id is taken."""
        with self._db.session() as session:
            if details.clinic_id and session.scalar(
                select(PatientRow.id).where(PatientRow.clinic_id == details.clinic_id)
            ):
                raise DuplicatePatientError(
                    f"a patient with clinic id {details.clinic_id!r} exists already: open that record"
                )
            row = PatientRow(id=str(uuid.uuid4()), created_at=at, created_by=by, updated_at=at, updated_by=by)
            _write_details(row, details)
            session.add(row)
            return _patient(row)

    def update_patient(
        self, patient_id: str, details: PatientDetails, *, at: datetime, by: str
    ) -> PatientRecord:
        """Replace a patient's details, recording who changed them and when."""
        with self._db.session() as session:
            row = session.get(PatientRow, patient_id, with_for_update=True)
            if row is None:
                raise UnknownRecordError(f"no patient with id {patient_id!r}")
            if details.clinic_id and session.scalar(
                select(PatientRow.id).where(
                    PatientRow.clinic_id == details.clinic_id, PatientRow.id != patient_id
                )
            ):
                raise DuplicatePatientError(f"another patient has clinic id {details.clinic_id!r}")
            _write_details(row, details)
            row.updated_at = at
            row.updated_by = by
            return _patient(row)

    def patient(self, patient_id: str) -> PatientRecord:
        """One patient by id; UnknownRecordError when there is none."""
        with self._db.session() as session:
            row = session.get(PatientRow, patient_id)
            if row is None:
                raise UnknownRecordError(f"no patient with id {patient_id!r}")
            return _patient(row)

    def patient_by_clinic_id(self, clinic_id: str) -> PatientRecord | None:
        """The patient with this clinic id, if any."""
        with self._db.session() as session:
            row = session.scalar(select(PatientRow).where(PatientRow.clinic_id == clinic_id))
            return None if row is None else _patient(row)

    def patients(self) -> list[PatientRecord]:
        """Every patient, by name then clinic id."""
        with self._db.session() as session:
            rows = session.scalars(select(PatientRow).order_by(PatientRow.name, PatientRow.clinic_id))
            return [_patient(r) for r in rows]

    # --- approvals ---

    def add_approval(
        self,
        *,
        kind: str,
        subject: str,
        version: str,
        content_hash: str,
        approved_by: str,
        approved_by_name: str,
        at: datetime,
    ) -> ApprovalRecord:
        """Record an approval."""
        row = ApprovalRow(
            kind=kind,
            subject=subject,
            version=version,
            content_hash=content_hash,
            approved_by=approved_by,
            approved_by_name=approved_by_name,
            at=at,
        )
        with self._db.session() as session:
            session.add(row)
        return _approval(row)

    def approvals(self, kind: str | None = None, subject: str | None = None) -> list[ApprovalRecord]:
        """Approvals, oldest first, optionally of one kind and subject."""
        query = select(ApprovalRow).order_by(ApprovalRow.at, ApprovalRow.id)
        if kind is not None:
            query = query.where(ApprovalRow.kind == kind)
        if subject is not None:
            query = query.where(ApprovalRow.subject == subject)
        with self._db.session() as session:
            return [_approval(r) for r in session.scalars(query)]
