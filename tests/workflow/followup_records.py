"""A stored session with its registered patient, for the MedWatch, referral and drill tests."""

from __future__ import annotations

from datetime import date

from bedside.workflow import PatientService, SignedIn
from storage import Database, PatientDetails, PatientRecord, ReferringProvider
from storage.full_record import FullSessionRecord, write_full_record
from tests.workflow.sample_session import sample_record

INCIDENT = "9a1e2c3d-4b5f-4061-8a7b-1c2d3e4f5a6b"


def stored_session(db: Database, *, drill: bool = False) -> FullSessionRecord:
    """The sample 1-hour session (BP spike, protocol run, medication) written into ``db``."""
    record = sample_record(drill=drill)
    write_full_record(db, record)
    return record


def registered_patient(patients: PatientService, by: SignedIn) -> PatientRecord:
    """The sample session's patient (clinic id MRN-20417) with a referring psychiatrist."""
    return patients.add(
        by,
        PatientDetails(
            name="Jordan Example",
            clinic_id="MRN-20417",
            date_of_birth=date(1984, 12, 1),
            sex="female",
            weight_kg=68.5,
            allergies=("penicillin",),
            referring_providers=(
                ReferringProvider("Dr. Priya Shah", "psychiatry", "Lakeside Psychiatry, fax 555-0142"),
            ),
        ),
    )
