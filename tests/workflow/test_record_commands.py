"""Commands for what had a service but no command (issue 9): record consent (DOC-5), flag and unflag
a serious event and print its draft (DOC-6), schedule a follow-up by event type (DOC-7), log a drill
with its participants (DRL-2). Each signs in with ``--as``, is audited, and answers bad input with one
sentence and exit code 2. Run through ``bedside.cli.main`` and once as a real subprocess."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from alarms import load_config
from alarms.config import FollowUpConfig
from bedside.cli.main import main
from bedside.workflow import AuditTrail, PatientService, SignedIn
from bedside.workflow.followup import FollowUpService
from bedside.workflow.referral import ReferralService
from drivers.clock import FakeClock
from storage import Database, open_database
from storage.followup import FollowUpRepository
from tests.workflow.conftest import CLINICIAN_SECRET
from tests.workflow.followup_records import INCIDENT, registered_patient, stored_session


def _main(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(CLINICIAN_SECRET + "\n"))
    code = main([*argv, "--as", "rivera", "--secret-stdin"])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _actions(audit: AuditTrail) -> list[tuple[str, str, str]]:
    return [(e.who, e.action, e.subject) for e in audit.entries()]


@pytest.mark.req("DOC-5")
def test_consent_record_command_is_audited_and_bad_input_is_one_sentence_exit_2(
    db: Database,
    db_url: str,
    clock: FakeClock,
    audit: AuditTrail,
    clinician: SignedIn,
    patients: PatientService,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9 DOC-5: `bedside consent record MRN --scope --signed-on` stores the written consent (so
    the referral summary may be printed), audited with the clinician; an unknown patient or a bad
    date is one sentence and exit 2."""
    patient = registered_patient(patients, clinician)
    argv = ["consent", "record", "MRN-20417", "--scope", "summaries to Dr. Shah", "--signed-on", "2026-11-02"]
    code, out, _ = _main([*argv, "--db", db_url], monkeypatch, capsys)
    assert code == 0 and "consent" in out and "recorded" in out
    consent = ReferralService(db, clock, audit).consent(patient.patient_id)
    assert consent is not None and consent.scope == "summaries to Dr. Shah"
    assert (clinician.who, "consent_recorded", patient.patient_id) in _actions(audit)
    code, out, err = _main(
        ["consent", "record", "MRN-0000", "--scope", "x", "--signed-on", "2026-11-02", "--db", db_url],
        monkeypatch,
        capsys,
    )
    assert (code, out) == (2, "")
    assert err.count("\n") == 1 and "no patient with clinic id" in err and "Traceback" not in err
    code, _, err = _main(
        ["consent", "record", "MRN-20417", "--scope", "x", "--signed-on", "2 Nov", "--db", db_url],
        monkeypatch,
        capsys,
    )
    assert code == 2 and "is not a date" in err and err.count("\n") == 1


@pytest.mark.req("DOC-6")
def test_medwatch_flag_draft_and_unflag_commands(
    db: Database,
    db_url: str,
    audit: AuditTrail,
    clinician: SignedIn,
    patients: PatientService,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9 DOC-6: flag an incident as serious from the command line, print its draft, withdraw
    the flag (with a reason): then no draft is made; each change is audited; an unknown criterion or
    an unflag of an unflagged event is one sentence and exit 2."""
    stored_session(db)
    registered_patient(patients, clinician)
    flag = [
        "medwatch", "flag", INCIDENT, "--criterion", "intervention_to_prevent_harm",
        "--description", "BP 176/104 with headache; labetalol 10 mg IV", "--dose", "0.5 mg/kg",
        "--concomitant", "sertraline 100 mg daily", "--db", db_url,
    ]  # fmt: skip
    code, out, _ = _main(flag, monkeypatch, capsys)
    assert code == 0 and "flagged as serious" in out
    draft = tmp_path / "draft.pdf"
    code, _, _ = _main(
        ["medwatch", "draft", INCIDENT, "--out", str(draft), "--db", db_url], monkeypatch, capsys
    )
    assert code == 0 and draft.read_bytes().startswith(b"%PDF")
    code, out, _ = _main(
        ["medwatch", "unflag", INCIDENT, "--reason", "flagged on the wrong incident", "--db", db_url],
        monkeypatch,
        capsys,
    )
    assert code == 0 and "withdrawn" in out
    code, _, err = _main(
        ["medwatch", "draft", INCIDENT, "--out", str(draft), "--db", db_url], monkeypatch, capsys
    )
    assert code == 2 and "withdrawn" in err and err.count("\n") == 1
    code, _, err = _main(
        ["medwatch", "unflag", INCIDENT, "--reason", "again", "--db", db_url], monkeypatch, capsys
    )
    assert code == 2 and "not flagged" in err
    actions = _actions(audit)
    assert (clinician.who, "medwatch_flagged", INCIDENT) in actions
    assert (clinician.who, "medwatch_unflagged", INCIDENT) in actions
    with pytest.raises(SystemExit) as bad:
        main(["medwatch", "flag", INCIDENT, "--criterion", "bad_day", "--description", "x", "--as", "c"])
    assert bad.value.code == 2  # argparse: one line naming the allowed criteria


@pytest.mark.req("DOC-7")
def test_followup_schedule_command_uses_the_event_types_schedule_audited(
    db: Database,
    db_url: str,
    clock: FakeClock,
    audit: AuditTrail,
    clinician: SignedIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 9 DOC-7: `bedside followup schedule SESSION --event-type bp-spike` stores a phone call and
    an extra visit for the session's patient, audited; an unknown session is one sentence, exit 2."""
    record = stored_session(db)
    sid = record.session.session_id
    argv = ["followup", "schedule", sid, "--event-type", "bp-spike", "--incident", INCIDENT]
    code, out, _ = _main([*argv, "--event-at", "2026-11-23T14:30+00:00", "--db", db_url], monkeypatch, capsys)
    assert code == 0 and "phone call #1" in out and "extra visit #1" in out
    stored = FollowUpRepository(db).follow_ups(open_only=True)
    assert [(f.item.contact, f.item.patient_ref) for f in stored] == [
        ("phone_call", "MRN-20417"),
        ("extra_visit", "MRN-20417"),
    ]
    assert (clinician.who, "follow_up_scheduled", INCIDENT) in _actions(audit)
    code, out, err = _main(
        ["followup", "schedule", "no-such", "--event-type", "x", "--db", db_url], monkeypatch, capsys
    )
    assert (code, out) == (2, "") and "no-such" in err and err.count("\n") == 1
    code, _, err = _main([*argv, "--event-at", "yesterday", "--db", db_url], monkeypatch, capsys)
    assert code == 2 and "is not a time" in err
    assert len(FollowUpService(db, clock, audit, _config()).open_follow_ups()) == 2


def _config() -> FollowUpConfig:
    return load_config().follow_up


@pytest.mark.req("DRL-2")
def test_drill_log_command_through_a_subprocess(
    db: Database, clinician: SignedIn, tmp_path: Path, clock: FakeClock
) -> None:
    """Issue 9 DRL-2: `bedside drill log` (a real subprocess of `bedside`) logs a drill with its
    participants in the drill database, audited there; no participant is one sentence and exit 2."""
    from storage.identity import IdentityRepository

    drill_url = f"sqlite:///{tmp_path / 'drills.sqlite3'}"
    drill_db = open_database(drill_url, drill=True)
    try:
        # The drill database has its own clinicians: the same login, copied for this test.
        login = IdentityRepository(db).clinician("rivera")
        assert login is not None
        drill_ids = IdentityRepository(drill_db)
        drill_ids.add_clinician(
            name=login.name,
            login=login.login,
            role=login.role,
            secret_hash=login.secret_hash,
            at=clock.now(),
            created_by="test",
        )
        record = stored_session(drill_db, drill=True)
    finally:
        drill_db.close()
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-m", "bedside.cli", "drill", "log", record.session.session_id,
                "--date", "2026-11-23", "--scenario", "BP spike with headache", *extra,
                "--db", drill_url, "--as", "rivera", "--secret-stdin"]  # fmt: skip
        return subprocess.run(
            argv,
            check=False,
            input=CLINICIAN_SECRET + "\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    done = run("--participant", "Dr. Ana Rivera", "--participant", "RN Sam Okafor")
    assert done.returncode == 0, done.stderr
    assert "logged with 2 participant(s)" in done.stdout
    done = run("--participant", " ")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0
    drill_db = open_database(drill_url, drill=True)
    try:
        actions = [(e.who, e.action) for e in AuditTrail(drill_db, clock, "x").entries()]
    finally:
        drill_db.close()
    assert ("rivera", "drill_logged") in actions
