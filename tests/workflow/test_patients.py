"""Patients with the minimum, checked for plausibility (issue 9, "Identity"; DOC-1: patient and
clinician on every record)."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import ClinicalConfig
from bedside.workflow import AuditTrail, PatientDetailsError, PatientService, SignedIn, check_patient
from drivers.clock import FakeClock
from storage import DuplicatePatientError, PatientDetails, ReferringProvider, UnknownRecordError

pytestmark = pytest.mark.req("DOC-1")

TODAY = date(2026, 11, 23)  # FakeClock's default start

ALEX = PatientDetails(
    name="Alex  Morgan",
    clinic_id="K-1042",
    date_of_birth=date(1984, 3, 9),
    sex="female",
    weight_kg=68.5,
    allergies=("penicillin",),
    referring_providers=(ReferringProvider("Dr. Lee", "psychiatry", "fax 555-0100"),),
)


def test_a_patient_is_stored_with_who_added_them(
    patients: PatientService, clinician: SignedIn, audit: AuditTrail, clock: FakeClock
) -> None:
    """DOC-1 / issue 9 "Identity": name or clinic id, date of birth, sex, weight, allergies,
    referring provider(s); the record carries the clinician signed in."""
    record = patients.add(clinician, ALEX)

    assert record.details == replace(ALEX, name="Alex Morgan")
    assert (record.created_by, record.created_at) == ("rivera", clock.now())
    assert patients.patient(record.patient_id) == record
    assert patients.by_clinic_id(" K-1042 ") == record
    last = list(audit.entries())[-1]
    assert (last.who, last.action, last.subject) == ("rivera", "patient_added", record.patient_id)
    assert last.details["details"]["weight_kg"] == 68.5


def test_a_change_records_who_changed_what(
    patients: PatientService, clinician: SignedIn, director: SignedIn, audit: AuditTrail, clock: FakeClock
) -> None:
    """DOC-1 / issue 9 "Audit": a patient change is audited with each field's old and new value."""
    record = patients.add(clinician, ALEX)
    clock.advance(3600)

    changed = patients.update(director, record.patient_id, replace(ALEX, weight_kg=71.0, allergies=()))

    assert (changed.updated_by, changed.updated_at) == ("director", clock.now())
    assert (changed.created_by, changed.created_at) == ("rivera", record.created_at)
    last = list(audit.entries())[-1]
    assert (last.who, last.action) == ("director", "patient_changed")
    assert last.details == {
        "changes": {
            "weight_kg": {"from": 68.5, "to": 71.0},
            "allergies": {"from": ["penicillin"], "to": []},
        }
    }


def test_a_name_or_a_clinic_id_is_enough(patients: PatientService, clinician: SignedIn) -> None:
    """DOC-1 / issue 9 "Identity": "name or clinic id"."""
    patients.add(clinician, replace(ALEX, name="", clinic_id="K-7"))
    patients.add(clinician, replace(ALEX, name="Sam Lee", clinic_id=""))
    with pytest.raises(PatientDetailsError, match="give the patient's name or clinic id"):
        patients.add(clinician, replace(ALEX, name="  ", clinic_id=""))


def test_a_clinic_id_belongs_to_one_patient(patients: PatientService, clinician: SignedIn) -> None:
    """DOC-1 / issue 9 "Identity": two records for one clinic id would split a patient's history."""
    patients.add(clinician, ALEX)
    with pytest.raises(DuplicatePatientError, match="K-1042"):
        patients.add(clinician, replace(ALEX, name="Other"))


def test_an_unknown_patient_is_a_clear_error(patients: PatientService, clinician: SignedIn) -> None:
    """DOC-1 / issue 9 "Identity": a wrong id is named."""
    with pytest.raises(UnknownRecordError, match="no patient with id"):
        patients.update(clinician, "no-such-id", ALEX)


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"date_of_birth": TODAY + timedelta(days=1)}, "is in the future"),
        ({"date_of_birth": date(1890, 1, 1)}, "more than 120 years ago"),
        ({"weight_kg": 0.0}, "weight of 0 kg is implausible"),
        ({"weight_kg": 700.0}, "weight of 700 kg is implausible"),
        ({"weight_kg": math.nan}, "is implausible"),
        ({"sex": "f"}, "sex 'f' is not one of female, male, other, unknown"),
        ({"allergies": ("",)}, "each allergy"),
        ({"referring_providers": (ReferringProvider(""),)}, "each referring provider needs a name"),
        ({"name": "Alex\x00Morgan"}, "printable"),
    ],
)
def test_implausible_details_are_refused_with_the_reason(
    patients: PatientService, clinician: SignedIn, change: dict[str, object], words: str
) -> None:
    """DOC-1 / issue 9 "Identity": validation (plausible weight, date of birth not in the future)."""
    with pytest.raises(PatientDetailsError, match=words.replace("(", r"\(")):
        patients.add(clinician, replace(ALEX, **change))  # type: ignore[arg-type]
    assert patients.patients() == []


def test_every_problem_is_named_at_once(config: ClinicalConfig) -> None:
    """DOC-1 / issue 9 "Identity": the person at the desk fixes everything in one go."""
    bad = replace(ALEX, name="", clinic_id="", weight_kg=5.0, date_of_birth=TODAY + timedelta(days=3))
    with pytest.raises(PatientDetailsError) as refused:
        check_patient(bad, config.patient_record, TODAY)
    assert str(refused.value).count(";") == 2


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    weight=st.floats(allow_nan=True, allow_infinity=True, width=32),
    born_days_ago=st.integers(-400, 130 * 366),
)
def test_weight_and_date_of_birth_are_accepted_exactly_within_the_clinic_limits(
    config: ClinicalConfig, weight: float, born_days_ago: int
) -> None:
    """DOC-1 / issue 9 "Identity" (hypothesis): weight in [weight_kg_min, weight_kg_max] and a date of birth
    from today back to max_age_years are accepted; everything else is refused."""
    limits = config.patient_record
    born = TODAY - timedelta(days=born_days_ago)
    oldest = TODAY.replace(year=TODAY.year - limits.max_age_years)
    plausible = math.isfinite(weight) and limits.weight_kg_min <= weight <= limits.weight_kg_max
    plausible = plausible and oldest <= born <= TODAY
    details = replace(ALEX, weight_kg=weight, date_of_birth=born)
    if plausible:
        assert check_patient(details, limits, TODAY).weight_kg == weight
    else:
        with pytest.raises(PatientDetailsError):
            check_patient(details, limits, TODAY)
