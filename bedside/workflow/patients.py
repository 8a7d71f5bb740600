"""Patients with the minimum (issue 9, Identity): name or clinic id, date of birth, sex, weight,
allergies, referring provider(s). Nothing more.

Details are checked before they are stored: a name or a clinic id, a date of birth neither in the
future nor more than ``patient_record.max_age_years`` ago, a sex the MedWatch form can carry, a
weight within ``patient_record.weight_kg_min..max`` (alarms/defaults.yaml). Every change names the
signed-in clinician and goes to the audit trail with what changed.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import asdict, replace
from datetime import date
from typing import Any

from alarms.config import PatientRecordConfig
from bedside.workflow.audit import AuditAction, AuditTrail
from bedside.workflow.identity import SignedIn
from drivers.clock import Clock
from storage import Database, IdentityRepository, PatientDetails, PatientRecord, ReferringProvider

log = logging.getLogger(__name__)

MAX_TEXT = 200
MAX_CLINIC_ID = 64
MAX_ITEMS = 50


class Sex(enum.StrEnum):
    """Sex as recorded (the MedWatch draft carries it)."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class PatientDetailsError(ValueError):
    """Patient details that cannot be stored; the message lists every problem."""


def _clean(text: str) -> str:
    return " ".join(text.split())


def _years_before(today: date, years: int) -> date:
    try:
        return today.replace(year=today.year - years)
    except ValueError:  # 29 February
        return today.replace(year=today.year - years, day=28)


def check_patient(details: PatientDetails, limits: PatientRecordConfig, today: date) -> PatientDetails:
    """The details tidied (spaces collapsed); PatientDetailsError naming every implausible value."""
    problems: list[str] = []
    name = _clean(details.name)
    clinic_id = details.clinic_id.strip()
    if not name and not clinic_id:
        problems.append("give the patient's name or clinic id (or both)")
    if len(name) > MAX_TEXT or not name.isprintable():
        problems.append(f"the name is at most {MAX_TEXT} printable characters")
    if len(clinic_id) > MAX_CLINIC_ID or not clinic_id.isprintable():
        problems.append(f"the clinic id is at most {MAX_CLINIC_ID} printable characters")
    if details.date_of_birth > today:
        problems.append(f"the date of birth {details.date_of_birth.isoformat()} is in the future")
    elif details.date_of_birth < _years_before(today, limits.max_age_years):
        problems.append(
            f"the date of birth {details.date_of_birth.isoformat()} is more than "
            f"{limits.max_age_years} years ago: check the year"
        )
    if details.sex not in set(Sex):
        problems.append(f"sex {details.sex!r} is not one of {', '.join(s.value for s in Sex)}")
    weight = details.weight_kg
    if not math.isfinite(weight) or not limits.weight_kg_min <= weight <= limits.weight_kg_max:
        problems.append(
            f"a weight of {weight:g} kg is implausible: give kilograms between {limits.weight_kg_min:g} and "
            f"{limits.weight_kg_max:g} (pounds / 2.2046)"
        )
    allergies = tuple(_clean(a) for a in details.allergies)
    if len(allergies) > MAX_ITEMS or any(
        not a or len(a) > MAX_TEXT or not a.isprintable() for a in allergies
    ):
        problems.append(f"each allergy is 1 to {MAX_TEXT} printable characters (at most {MAX_ITEMS})")
    providers = tuple(
        ReferringProvider(_clean(p.name), _clean(p.specialty), _clean(p.contact))
        for p in details.referring_providers
    )
    if len(providers) > MAX_ITEMS or any(
        not p.name or any(len(t) > MAX_TEXT or not t.isprintable() for t in (p.name, p.specialty, p.contact))
        for p in providers
    ):
        problems.append(f"each referring provider needs a name; every field at most {MAX_TEXT} characters")
    if problems:
        raise PatientDetailsError("; ".join(problems))
    return replace(
        details,
        name=name,
        clinic_id=clinic_id,
        sex=Sex(details.sex).value,
        allergies=allergies,
        referring_providers=providers,
    )


def _as_json(details: PatientDetails) -> dict[str, Any]:
    data = asdict(details)
    data["date_of_birth"] = details.date_of_birth.isoformat()
    data["allergies"] = list(details.allergies)
    data["referring_providers"] = [asdict(p) for p in details.referring_providers]
    return data


def changes(before: PatientDetails, after: PatientDetails) -> dict[str, dict[str, Any]]:
    """What changed, field by field ({"weight_kg": {"from": 70.0, "to": 72.5}})."""
    old, new = _as_json(before), _as_json(after)
    return {key: {"from": old[key], "to": new[key]} for key in new if old[key] != new[key]}


class PatientService:
    """Adds, changes and reads patients; every change carries the clinician signed in."""

    def __init__(self, db: Database, clock: Clock, audit: AuditTrail, limits: PatientRecordConfig) -> None:
        self._repository = IdentityRepository(db)
        self._clock = clock
        self._audit = audit
        self._limits = limits

    def add(self, by: SignedIn, details: PatientDetails) -> PatientRecord:
        """Store a new patient after checking the details."""
        checked = check_patient(details, self._limits, self._clock.now().date())
        record = self._repository.add_patient(checked, at=self._clock.now(), by=by.who)
        self._audit.append(by, AuditAction.PATIENT_ADDED, record.patient_id, {"details": _as_json(checked)})
        return record

    def update(self, by: SignedIn, patient_id: str, details: PatientDetails) -> PatientRecord:
        """Replace a patient's details; the audit entry holds each changed field's old and new value."""
        before = self._repository.patient(patient_id)
        checked = check_patient(details, self._limits, self._clock.now().date())
        record = self._repository.update_patient(patient_id, checked, at=self._clock.now(), by=by.who)
        self._audit.append(
            by, AuditAction.PATIENT_CHANGED, patient_id, {"changes": changes(before.details, checked)}
        )
        return record

    def patient(self, patient_id: str) -> PatientRecord:
        """One patient by id (UnknownRecordError when none)."""
        return self._repository.patient(patient_id)

    def by_clinic_id(self, clinic_id: str) -> PatientRecord | None:
        """The patient with this clinic id, if any."""
        return self._repository.patient_by_clinic_id(clinic_id.strip())

    def patients(self) -> list[PatientRecord]:
        """Every patient."""
        return self._repository.patients()
