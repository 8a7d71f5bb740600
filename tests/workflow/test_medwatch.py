"""DOC-6 MedWatch: a serious event is flagged, and a draft of the voluntary report's fields is printed
for the clinician to submit (never sent)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from bedside.workflow import AuditTrail, PatientService, SignedIn
from bedside.workflow.medwatch import (
    MedWatchError,
    MedWatchService,
    SeriousCriterion,
    age_on,
    is_serious,
    serious_criteria,
)
from drivers.clock import FakeClock
from storage import Database
from tests.workflow.followup_records import INCIDENT, registered_patient, stored_session


@pytest.fixture
def medwatch(db: Database, clock: FakeClock, audit: AuditTrail) -> MedWatchService:
    """The MedWatch service of room-1."""
    return MedWatchService(db, clock, audit)


def pdf_text(data: bytes, tmp_path: Path) -> list[str]:
    """The text of each page (pdftotext), for reading the PDF as a person would."""
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    text = subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    return [page for page in text.split("\f") if page.strip()]


@pytest.mark.req("DOC-6")
def test_the_serious_criteria_are_the_forms() -> None:
    """Issue 9 DOC-6: the six serious outcomes, in the form's order; none or an unknown one is refused."""
    assert [c.value for c in SeriousCriterion] == [
        "death",
        "life_threatening",
        "hospitalisation",
        "disability",
        "intervention_to_prevent_harm",
        "other_serious",
    ]
    assert serious_criteria(["other_serious", "hospitalisation"]) == (
        SeriousCriterion.HOSPITALISATION,
        SeriousCriterion.OTHER_SERIOUS,
    )
    assert is_serious(["intervention_to_prevent_harm"])
    assert not is_serious(["resolved", "discharged home"])
    with pytest.raises(MedWatchError, match="at least one serious criterion"):
        serious_criteria([])
    with pytest.raises(MedWatchError, match="not a MedWatch serious criterion"):
        serious_criteria(["felt dizzy"])


def test_age_in_whole_years() -> None:
    """Issue 9 DOC-6: the age on the event date, a birthday not yet reached this year not counted."""
    from datetime import date

    assert age_on(date(1984, 12, 1), date(2026, 11, 23)) == 41
    assert age_on(date(1984, 11, 23), date(2026, 11, 23)) == 42
    assert age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25


@pytest.mark.req("DOC-6")
def test_a_flagged_incident_drafts_the_voluntary_reports_fields(
    db: Database, medwatch: MedWatchService, patients: PatientService, clinician: SignedIn, audit: AuditTrail
) -> None:
    """Issue 9 DOC-6: patient identifier (never the name), age, sex, weight; event date and
    description; outcomes; relevant tests; ketamine with dose, route, dates; concomitant medications
    (the ones entered and the ones the record shows given); reporter. Flag and export are audited."""
    record = stored_session(db)
    registered_patient(patients, clinician)
    flag = medwatch.flag(
        clinician,
        INCIDENT,
        ["intervention_to_prevent_harm"],
        description="Systolic 176 mmHg during the infusion with headache; infusion stopped, labetalol given.",
        relevant_tests="ECG normal sinus rhythm; troponin pending",
        suspect_dose="0.5 mg/kg over 40 min",
        suspect_route="intravenous",
        concomitant_medications=["sertraline 100 mg daily"],
    )
    incident = record.incidents[0]
    assert flag.session_id == record.session.session_id
    assert flag.event_at == incident.opened_at
    draft = medwatch.draft(INCIDENT, "Dr. Ana Rivera")
    assert draft.patient_identifier == "MRN-20417"
    assert draft.age == "41 years"
    assert draft.sex == "female"
    assert draft.weight == "68.5 kg"
    assert draft.event_at == incident.opened_at
    assert draft.outcomes == (SeriousCriterion.INTERVENTION_TO_PREVENT_HARM,)
    assert "troponin" in draft.relevant_tests
    assert draft.suspect_product.startswith("Ketamine")
    assert (draft.suspect_dose, draft.suspect_route) == ("0.5 mg/kg over 40 min", "intravenous")
    assert draft.therapy_dates == "2026-11-23" or "2026-11-2" in draft.therapy_dates
    assert draft.concomitant_medications[0] == "sertraline 100 mg daily"
    assert any("labetalol" in m for m in draft.concomitant_medications)
    # Entered in the record (issue 9 export completeness): ondansetron goes, ketamine is the suspect.
    assert any(m.startswith("ondansetron 4 mg IV") for m in draft.concomitant_medications)
    assert not any("ketamine" in m for m in draft.concomitant_medications)
    assert draft.reporter == "Dr. Ana Rivera"
    assert draft.incident_id == INCIDENT
    assert any(cond == "bp_high" for _, cond, _ in draft.vitals_around_event)

    pdf = medwatch.draft_pdf(clinician, INCIDENT)
    assert pdf.startswith(b"%PDF")
    actions = [e.action for e in audit.entries()]
    assert "medwatch_flagged" in actions
    assert "medwatch_draft_exported" in actions


@pytest.mark.req("DOC-6")
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils (pdftotext)")
def test_the_draft_pdf_reads_as_the_form_and_never_names_the_patient(
    db: Database, medwatch: MedWatchService, patients: PatientService, clinician: SignedIn, tmp_path: Path
) -> None:
    """Issue 9 DOC-6: the PDF has the form's sections, says it is a draft not sent, names the patient
    by identifier only."""
    stored_session(db)
    registered_patient(patients, clinician)
    medwatch.flag(clinician, INCIDENT, ["hospitalisation"], description="Admitted overnight for BP control.")
    pages = pdf_text(medwatch.draft_pdf(clinician, INCIDENT), tmp_path)
    text = "\n".join(pages)
    for expected in (
        "DRAFT",
        "A. Patient information",
        "MRN-20417",
        "41 years",
        "B. Adverse event",
        "Hospitalization",
        "Admitted overnight",
        "C. Suspect product",
        "Ketamine",
        "D. Concomitant",
        "labetalol",
        "E. Reporter",
        "Dr. Ana Rivera",
        "sends nothing",
    ):
        assert expected in text, expected
    assert "Jordan Example" not in text
    assert all("DRAFT" in page for page in pages)


@pytest.mark.req("DOC-6")
def test_no_draft_for_an_event_that_is_not_flagged(
    db: Database, medwatch: MedWatchService, clinician: SignedIn
) -> None:
    """Issue 9 DOC-6: only an event meeting a serious criterion gets a draft; an unknown id says so."""
    record = stored_session(db)
    with pytest.raises(MedWatchError, match="not flagged as a serious event"):
        medwatch.draft(INCIDENT, "Dr. Ana Rivera")
    with pytest.raises(MedWatchError, match="no incident or session"):
        medwatch.draft("no-such-incident", "Dr. Ana Rivera")
    with pytest.raises(MedWatchError, match="at least one serious criterion"):
        medwatch.flag(clinician, INCIDENT, [], description="fainted")
    with pytest.raises(MedWatchError, match="describe the event"):
        medwatch.flag(clinician, INCIDENT, ["other_serious"], description="  ")
    # a session can be flagged too (an event outside any incident), found by its id
    medwatch.flag(
        clinician, record.session.session_id, ["other_serious"], description="Fall in the recovery room."
    )
    assert medwatch.draft(record.session.session_id, "Dr. Ana Rivera").incident_id == ""
    # without a registered patient the fields are left for the clinician, never guessed
    draft = medwatch.draft(record.session.session_id, "Dr. Ana Rivera")
    assert (draft.age, draft.sex, draft.weight) == ("", "", "")
