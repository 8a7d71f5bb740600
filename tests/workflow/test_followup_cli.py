"""The command line of DOC-5, DOC-6, DOC-7 and DRL-2: ``bedside followup list|close``, ``medwatch
draft``, ``referral`` and ``drill report``: exit codes, one sentence on refusal, owner-only PDFs."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from alarms import ClinicalConfig
from bedside.cli.followup import run_followup
from bedside.cli.main import build_parser
from bedside.workflow import AuditTrail, PatientService, SignedIn
from bedside.workflow.followup import FollowUpService
from bedside.workflow.medwatch import MedWatchService
from bedside.workflow.referral import ReferralService
from drivers.clock import FakeClock
from storage import Database
from tests.workflow.conftest import CLINICIAN_SECRET
from tests.workflow.followup_records import INCIDENT, registered_patient, stored_session


def _run(argv: list[str], clock: FakeClock, secret: str = CLINICIAN_SECRET) -> tuple[int, str, str]:
    args = build_parser().parse_args(argv)
    out, err = io.StringIO(), io.StringIO()
    code = run_followup(args, clock=clock, stdin=io.StringIO(secret + "\n"), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.req("DOC-7")
def test_followup_list_due_overdue_and_close(
    db: Database,
    db_url: str,
    clock: FakeClock,
    audit: AuditTrail,
    config: ClinicalConfig,
    clinician: SignedIn,
) -> None:
    """Issue 9 DOC-7: the list filters by due and overdue on the clock; close records the outcome,
    shows the suggested earlier threshold for the next session, and refuses a second close."""
    record = stored_session(db)
    service = FollowUpService(db, clock, audit, config.follow_up)
    call, visit = service.schedule(
        clinician, event_type="bp-spike", event_at=clock.now(), session_id=record.session.session_id
    )
    code, out, _ = _run(["followup", "list", "--due", "--db", db_url], clock)
    assert code == 0
    assert call.follow_up_id in out
    assert "DUE" in out
    assert visit.follow_up_id not in out
    code, out, _ = _run(["followup", "list", "--overdue", "--db", db_url], clock)
    assert (code, out) == (0, "no follow-up overdue\n")
    clock.advance(25 * 3600)
    code, out, _ = _run(["followup", "list", "--overdue", "--db", db_url], clock)
    assert call.follow_up_id in out
    assert "OVERDUE" in out

    argv = ["followup", "close", call.follow_up_id, "--outcome", "adjust", "--adjust", "earlier_bp_threshold"]
    argv += ["--db", db_url, "--as", "rivera", "--secret-stdin"]
    code, out, err = _run(argv, clock)
    assert code == 0, err
    assert f"follow-up {call.follow_up_id} closed: adjust" in out
    assert "suggested for the patient's next session, to be confirmed there" in out
    assert "systolic 160 -> 150" in out  # the session's confirmed ceiling 160, 10 mmHg earlier
    code, _, err = _run(argv, clock)
    assert code == 2
    assert "closed already" in err
    code, _, err = _run(argv, clock, secret="0000")  # a wrong PIN: refused before anything
    assert code == 1
    code, _, err = _run(
        [
            "followup",
            "close",
            visit.follow_up_id,
            "--outcome",
            "pause",
            "--db",
            db_url,
            "--as",
            "rivera",
            "--secret-stdin",
        ],
        clock,
    )
    assert code == 2
    assert "workup" in err
    assert "\n" not in err.rstrip("\n")


@pytest.mark.req("DOC-5")
@pytest.mark.req("DOC-6")
def test_referral_and_medwatch_print_owner_only_pdfs(
    db: Database,
    db_url: str,
    clock: FakeClock,
    audit: AuditTrail,
    patients: PatientService,
    clinician: SignedIn,
    tmp_path: Path,
) -> None:
    """Issue 9 DOC-5: the referral is refused (exit 1, one sentence) until consent is recorded;
    DOC-6: the MedWatch draft of a flagged incident is written, readable by its owner only."""
    record = stored_session(db)
    patient = registered_patient(patients, clinician)
    out_pdf = tmp_path / "out" / "referral.pdf"
    argv = [
        "referral",
        record.session.session_id,
        "--out",
        str(out_pdf),
        "--db",
        db_url,
        "--as",
        "rivera",
        "--secret-stdin",
    ]
    code, _, err = _run(argv, clock)
    assert code == 1
    assert "written consent" in err
    assert not out_pdf.exists()
    ReferralService(db, clock, audit).record_consent(
        clinician, patient.patient_id, scope="summaries", signed_on=clock.now().date()
    )
    code, out, err = _run(argv, clock)
    assert code == 0, err
    assert out_pdf.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(os.stat(out_pdf).st_mode) == 0o600

    draft = tmp_path / "medwatch.pdf"
    margv = [
        "medwatch",
        "draft",
        INCIDENT,
        "--out",
        str(draft),
        "--db",
        db_url,
        "--as",
        "rivera",
        "--secret-stdin",
    ]
    code, _, err = _run(margv, clock)
    assert code == 2
    assert "not flagged" in err
    MedWatchService(db, clock, audit).flag(clinician, INCIDENT, ["hospitalisation"], description="Admitted.")
    code, out, err = _run(margv, clock)
    assert code == 0, err
    assert "not sent anywhere" in out
    assert stat.S_IMODE(os.stat(draft).st_mode) == 0o600


@pytest.mark.req("DRL-2")
def test_drill_report_refuses_the_patient_database(
    db: Database, db_url: str, clinician: SignedIn, tmp_path: Path
) -> None:
    """Issue 9 DRL-2: `bedside drill report` on the patient database is refused with one sentence
    (through `bedside` itself, in a subprocess) and writes nothing."""
    record = stored_session(db)
    out_pdf = tmp_path / "drill.pdf"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bedside.cli",
            "drill",
            "report",
            record.session.session_id,
            "--out",
            str(out_pdf),
            "--db",
            db_url,
            "--as",
            "rivera",
            "--secret-stdin",
        ],
        input=CLINICIAN_SECRET + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert "drill data never mixes with patient records" in done.stderr
    assert "Traceback" not in done.stderr
    assert not out_pdf.exists()
