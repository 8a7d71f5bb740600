"""DOC-5 consent and referral: with the patient's written consent recorded (scope, date), a written
summary for the referring provider is printed; without it, it is refused with one clear sentence."""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest

from alarms import ClinicalConfig
from bedside.workflow import AuditTrail, PatientService, SignedIn
from bedside.workflow.followup import FollowUpService
from bedside.workflow.referral import ConsentMissing, ReferralError, ReferralService, consent_in_force
from drivers.clock import FakeClock
from storage import Database
from tests.workflow.followup_records import INCIDENT, registered_patient, stored_session
from tests.workflow.test_medwatch import pdf_text


@pytest.fixture
def referral(db: Database, clock: FakeClock, audit: AuditTrail) -> ReferralService:
    """The referral service of room-1."""
    return ReferralService(db, clock, audit)


@pytest.mark.req("DOC-5")
def test_no_summary_without_written_consent(
    db: Database, referral: ReferralService, patients: PatientService, clinician: SignedIn, audit: AuditTrail
) -> None:
    """Issue 9 DOC-5: without a recorded consent the summary is refused with a sentence naming the
    patient and what is missing; nothing is exported (no audit entry of an export)."""
    record = stored_session(db)
    registered_patient(patients, clinician)
    with pytest.raises(ConsentMissing) as refused:
        referral.summary_pdf(clinician, record.session.session_id)
    message = str(refused.value)
    assert message.startswith("No summary for Jordan Example")
    assert "written consent" in message
    assert "\n" not in message
    assert "referral_summary_exported" not in [e.action for e in audit.entries()]


@pytest.mark.req("DOC-5")
def test_consent_recorded_then_the_summary_is_printed(
    db: Database,
    referral: ReferralService,
    patients: PatientService,
    clinician: SignedIn,
    audit: AuditTrail,
    clock: FakeClock,
    config: ClinicalConfig,
    tmp_path: Path,
) -> None:
    """Issue 9 DOC-5: the consent's scope and date are recorded (audited); then the summary names the
    referring provider, the patient, the session's vitals, the event, medications and the follow-up."""
    record = stored_session(db)
    patient = registered_patient(patients, clinician)
    consent = referral.record_consent(
        clinician, patient.patient_id, scope="session summaries to Dr. Shah", signed_on=clock.now().date()
    )
    assert (consent.scope, consent.signed_on, consent.recorded_by) == (
        "session summaries to Dr. Shah",
        clock.now().date(),
        "rivera",
    )
    assert referral.consent(patient.patient_id) == consent
    FollowUpService(db, clock, audit, config.follow_up).schedule(
        clinician,
        event_type="bp-spike",
        event_at=record.incidents[0].opened_at,
        session_id=record.session.session_id,
        incident_id=INCIDENT,
    )
    pdf = referral.summary_pdf(clinician, record.session.session_id)
    actions = [e.action for e in audit.entries()]
    assert "consent_recorded" in actions
    assert actions[-1] == "referral_summary_exported"
    if shutil.which("pdftotext") is None:
        pytest.skip("needs poppler-utils (pdftotext) to read the PDF")
    text = "\n".join(pdf_text(pdf, tmp_path))
    for expected in (
        "Session summary for the referring provider",
        "written consent",
        "session summaries to Dr. Shah",
        "Dr. Priya Shah",
        "Jordan Example",
        "MRN-20417",
        "penicillin",
        "BP spike during infusion",
        "labetalol",
        "phone call",
        "Dr. Ana Rivera",
    ):
        assert expected in text, expected


@pytest.mark.req("DOC-5")
def test_a_withdrawn_or_future_consent_does_not_count(
    db: Database, referral: ReferralService, patients: PatientService, clinician: SignedIn, clock: FakeClock
) -> None:
    """Issue 9 DOC-5: a withdrawn consent no longer allows a summary; a consent dated in the future
    is refused; an empty scope is refused."""
    record = stored_session(db)
    patient = registered_patient(patients, clinician)
    today = clock.now().date()
    consent = referral.record_consent(clinician, patient.patient_id, scope="summaries", signed_on=today)
    referral.summary(record.session.session_id, "Dr. Ana Rivera")
    referral.withdraw_consent(clinician, consent.consent_id)
    with pytest.raises(ConsentMissing):
        referral.summary(record.session.session_id, "Dr. Ana Rivera")
    with pytest.raises(ReferralError, match="future"):
        referral.record_consent(
            clinician, patient.patient_id, scope="summaries", signed_on=today + timedelta(days=1)
        )
    with pytest.raises(ReferralError, match="what the consent covers"):
        referral.record_consent(clinician, patient.patient_id, scope=" ", signed_on=today)
    with pytest.raises(ReferralError, match="no patient"):
        referral.record_consent(clinician, "nobody", scope="summaries", signed_on=today)


@pytest.mark.req("DOC-5")
def test_the_consent_in_force_is_the_newest_signed_and_not_withdrawn() -> None:
    """Issue 9 DOC-5: the pure rule over several consents."""
    from datetime import UTC, datetime

    from storage.followup import ConsentRecord

    at = datetime(2026, 11, 1, tzinfo=UTC)
    old = ConsentRecord("a", "p", "old", date(2026, 1, 1), at, "rivera")
    new = ConsentRecord("b", "p", "new", date(2026, 6, 1), at, "rivera")
    gone = ConsentRecord(
        "c", "p", "gone", date(2026, 9, 1), at, "rivera", withdrawn_at=at, withdrawn_by="rivera"
    )
    later = ConsentRecord("d", "p", "later", date(2026, 12, 1), at, "rivera")
    assert consent_in_force([old, new, gone, later], date(2026, 11, 23)) == new
    assert consent_in_force([gone], date(2026, 11, 23)) is None
    assert consent_in_force([later], date(2026, 11, 30)) is None
    assert consent_in_force([later], date(2026, 12, 1)) == later


@pytest.mark.req("DOC-5")
def test_a_session_without_a_registered_patient_is_refused(db: Database, referral: ReferralService) -> None:
    """Issue 9 DOC-5: a session whose patient is not registered cannot be summarised (nobody to ask)."""
    record = stored_session(db)
    with pytest.raises(ReferralError, match="names no registered patient"):
        referral.summary(record.session.session_id, "Dr. Ana Rivera")
    with pytest.raises(ReferralError, match="no session"):
        referral.summary("no-such-session", "Dr. Ana Rivera")
