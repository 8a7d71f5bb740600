"""``bedside clinician|patient ...`` and ``bedside audit verify`` (issue 9, "Identity" and "Audit"; DOC-1)."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from bedside.cli.admin import run_admin
from bedside.cli.main import build_parser, main
from storage import AuditRepository, IdentityRepository, open_database

pytestmark = pytest.mark.req("DOC-1")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _root_log_level() -> Iterator[None]:
    """The commands quieten the root logger, as the app would; put it back for the other tests."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


def _run(
    argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_first_command_on_an_empty_database_creates_the_administrator(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DOC-1 / issue 9 "Identity": the CLI asks for the administrator when the database has no clinician,
    and never echoes the secret."""
    code, out, err = _run(
        ["clinician", "list", "--db", db_url, "--secret-stdin", "--station", "room-1"],
        "Morgan Admin\nadmin\n4711-admin\n",
        monkeypatch,
        capsys,
    )

    assert code == 0, err
    assert "create the administrator first" in err
    assert out == "admin\tMorgan Admin\tadministrator\tactive\n"
    assert "4711-admin" not in out + err


def test_clinicians_and_patients_through_the_command_line(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DOC-1 / issue 9 "Identity": clinician add, patient add/list/show, each signed in and audited."""
    common = ["--db", db_url, "--secret-stdin", "--station", "room-2"]
    assert (
        _run(["clinician", "list", *common], "Morgan Admin\nadmin\n4711-admin\n", monkeypatch, capsys)[0] == 0
    )
    code, out, err = _run(
        [
            "clinician",
            "add",
            "Dr. Ana Rivera",
            "--login",
            "rivera",
            "--role",
            "clinician",
            "--as",
            "admin",
            *common,
        ],
        "4711-admin\n1357\n",
        monkeypatch,
        capsys,
    )
    assert (code, out) == (0, "added rivera (Dr. Ana Rivera, clinician)\n"), err

    code, out, err = _run(
        [
            "patient", "add", "--as", "rivera", "--name", "Alex Morgan", "--clinic-id", "K-1",
            "--dob", "1984-03-09", "--sex", "female", "--weight-kg", "68.5", "--allergy", "penicillin",
            "--referrer", "Dr. Lee;psychiatry;fax 555-0100", *common,
        ],
        "1357\n",
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 0, err
    patient_id = out.split()[-1]

    code, out, _ = _run(
        ["patient", "show", patient_id, "--as", "rivera", *common], "1357\n", monkeypatch, capsys
    )
    assert code == 0
    assert "   referred by: Dr. Lee, psychiatry, fax 555-0100\n" in out
    assert "     allergies: penicillin\n" in out
    assert "by rivera" in out

    db = open_database(db_url)
    trail = list(AuditRepository(db).entries())
    db.close()
    assert [(e.who, e.action) for e in trail if e.action != "sign_in"] == [
        ("first start", "administrator_created"),
        ("admin", "clinician_added"),
        ("rivera", "patient_added"),
    ]
    assert {e.station for e in trail} == {"room-2"}


def test_refusals_and_bad_input_are_one_sentence_with_their_exit_code(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DOC-1 / issue 9 "Identity": a wrong PIN exits 1 with the reason; implausible details exit 2."""
    common = ["--db", db_url, "--secret-stdin"]
    _run(["clinician", "list", *common], "Morgan Admin\nadmin\n4711-admin\n", monkeypatch, capsys)

    code, out, err = _run(["patient", "list", "--as", "admin", *common], "0000\n", monkeypatch, capsys)
    assert (code, out) == (1, "")
    assert err == (
        "bedside patient list: wrong PIN or password for admin: "
        "4 more wrong tries lock the account for 15 minutes\n"
    )

    code, _, err = _run(
        [
            "patient", "add", "--as", "admin", "--name", "X", "--dob", "2999-01-01", "--sex", "male",
            "--weight-kg", "7", "--no-known-allergies", *common,
        ],
        "4711-admin\n",
        monkeypatch,
        capsys,
    )  # fmt: skip
    assert code == 2
    assert "is in the future" in err and "weight of 7 kg is implausible" in err
    assert "Traceback" not in err


def test_a_new_secret_typed_twice_must_match(db_url: str) -> None:
    """DOC-1 / issue 9 "Identity": interactively a new PIN is asked twice (without echo) and must agree."""
    answers = iter(["4711-admin", "4711-admim"])
    args = build_parser().parse_args(["clinician", "list", "--db", db_url])
    err = io.StringIO()

    code = run_admin(
        args,
        stdin=io.StringIO("Morgan Admin\nadmin\n"),
        out=io.StringIO(),
        err=err,
        ask_secret=lambda _p: next(answers),
    )

    assert code == 2
    assert "the two entries differ" in err.getvalue()
    db = open_database(db_url)
    assert IdentityRepository(db).count_clinicians() == 0
    db.close()


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "bedside.cli", *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_audit_verify_says_intact_or_names_the_first_broken_entry(
    db_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DOC-1 / issue 9 "Audit": `bedside audit verify` prints "audit chain intact: N entries" (exit 0) or the
    first broken entry (exit 1), run as the real command."""
    _run(
        ["clinician", "list", "--db", db_url, "--secret-stdin"],
        "Morgan Admin\nadmin\n4711-admin\n",
        monkeypatch,
        capsys,
    )
    db = open_database(db_url)
    count = AuditRepository(db).verify().entries
    head = AuditRepository(db).head()
    db.close()
    assert head is not None

    intact = _cli("audit", "verify", "--db", db_url)
    assert (intact.returncode, intact.stdout.splitlines()[0]) == (0, f"audit chain intact: {count} entries")
    assert intact.stdout.splitlines()[1] == f"newest entry {count}: sha256 {head[1]}"

    db = open_database(db_url)
    with db.engine.begin() as connection:
        connection.execute(text("UPDATE audit_entries SET who = 'mallory' WHERE seq = 1"))
    db.close()
    broken = _cli("audit", "verify", "--db", db_url)

    assert broken.returncode == 1
    assert broken.stdout.startswith("audit chain broken at entry 1: its content does not match its hash")
    assert "Traceback" not in broken.stderr


def test_audit_verify_of_a_database_that_is_not_there_says_so(tmp_path: Path) -> None:
    """DOC-1 / issue 9 "Audit": a mistyped --db is not "intact: 0 entries" (nor a new empty file)."""
    missing = tmp_path / "typo.sqlite3"

    result = _cli("audit", "verify", "--db", f"sqlite:///{missing}")

    assert result.returncode == 2
    assert result.stderr == f"bedside audit verify: there is no database at {missing}: check --db\n"
    assert not missing.exists()
