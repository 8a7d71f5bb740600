"""A stored session with its registered patient, for the MedWatch, referral and drill tests."""

from __future__ import annotations

from datetime import date
from pathlib import Path

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


def make_sample_documents(folder: Path) -> list[Path]:
    """Write the sample referral summary, MedWatch draft and drill report PDFs of ``docs/``.

    ``PYTHONPATH=. python -c "from pathlib import Path; from tests.workflow.followup_records import
    make_sample_documents; make_sample_documents(Path('docs'))"``
    """
    from datetime import UTC, datetime, timedelta
    from tempfile import TemporaryDirectory

    from argon2 import PasswordHasher
    from argon2.profiles import CHEAPEST

    from alarms import load_config
    from bedside.workflow import AuditTrail, IdentityService, Role
    from bedside.workflow.drills import DrillService
    from bedside.workflow.followup import FollowUpService
    from bedside.workflow.medwatch import MedWatchService
    from bedside.workflow.referral import ReferralService
    from drivers.clock import FakeClock
    from storage import open_database

    config = load_config()
    clock = FakeClock(datetime(2026, 11, 23, 16, 0, tzinfo=UTC))
    written = []
    with TemporaryDirectory() as tmp:
        db = open_database(f"sqlite:///{tmp}/patients.sqlite3")
        drill_db = open_database(f"sqlite:///{tmp}/drills.sqlite3", drill=True)
        try:
            audit = AuditTrail(db, clock, station="room-2")
            identity = IdentityService(
                db, clock, audit, config.sign_in, hasher=PasswordHasher.from_parameters(CHEAPEST)
            )
            identity.ensure_administrator("Morgan Admin", "4711-admin", login="admin")
            admin = identity.sign_in("admin", "4711-admin")
            identity.add_clinician(
                admin, name="Dr. Ana Rivera", login="rivera", role=Role.CLINICIAN, secret="1357"
            )
            rivera = identity.sign_in("rivera", "1357")
            record = stored_session(db)
            patient = registered_patient(PatientService(db, clock, audit, config.patient_record), rivera)
            sid = record.session.session_id
            FollowUpService(db, clock, audit, config.follow_up).schedule(
                rivera,
                event_type="bp-spike",
                event_at=record.incidents[0].opened_at,
                session_id=sid,
                incident_id=INCIDENT,
            )
            referral = ReferralService(db, clock, audit)
            referral.record_consent(
                rivera,
                patient.patient_id,
                scope="session summaries to Dr. Priya Shah (psychiatry)",
                signed_on=date(2026, 11, 2),
            )
            medwatch = MedWatchService(db, clock, audit)
            medwatch.flag(
                rivera,
                INCIDENT,
                ["intervention_to_prevent_harm"],
                description=(
                    "Systolic BP rose to 176 mmHg 27 minutes into the infusion with a headache. The infusion "
                    "was stopped, labetalol 10 mg IV given; BP back to 142/88 within 14 minutes, headache "
                    "resolved. Discharged home with a driver after 2 hours."
                ),
                relevant_tests="NIBP 176/104 at the peak, 142/88 after 14 min; ECG sinus rhythm 88/min",
                suspect_dose="0.5 mg/kg (34 mg) over 40 minutes",
                suspect_route="intravenous infusion",
                concomitant_medications=["sertraline 100 mg by mouth daily"],
            )
            clock.advance(timedelta(hours=1).total_seconds())
            drill_audit = AuditTrail(drill_db, clock, station="room-2")
            drill = stored_session(drill_db, drill=True)
            drills = DrillService(drill_db, clock, drill_audit)
            drills.log_drill(
                "rivera",
                drill.session.session_id,
                drill_date=date(2026, 11, 23),
                scenario="BP spike to 176/104 with headache during the infusion",
                participants=["Dr. Ana Rivera", "RN Sam Okafor", "Front desk: Lee Park"],
            )
            for name, pdf in (
                ("sample-referral-summary.pdf", referral.summary_pdf(rivera, sid)),
                ("sample-medwatch-draft.pdf", medwatch.draft_pdf(rivera, INCIDENT)),
                ("sample-drill-report.pdf", drills.report_pdf("rivera", drill.session.session_id)),
            ):
                path = folder / name
                path.write_bytes(pdf)
                written.append(path)
        finally:
            db.close()
            drill_db.close()
    return written
