"""``bedside incident|note|medication ...`` (issue 9, DOC-1..DOC-4 from the command line)."""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bedside.cli.main import main
from bedside.workflow import SignedIn
from drivers.clock import FakeClock
from storage import Database, SessionRepository
from storage.clinical_record import ClinicalRecordRepository
from tests.workflow.conftest import CLINICIAN_SECRET


@pytest.fixture(autouse=True)
def _root_log_level() -> Iterator[None]:
    """The commands quieten the root logger, as the app would; put it back for the other tests."""
    root = logging.getLogger()
    level = root.level
    yield
    root.setLevel(level)


@pytest.fixture
def session_id(db: Database, clock: FakeClock, clinician: SignedIn) -> str:
    """A session in room-1, with clinician rivera registered."""
    return (
        SessionRepository(db)
        .create_session(clinician="rivera", started_at=clock.now(), station="room-1")
        .session_id
    )


def _run(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], stdin: str = ""
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _signed(db_url: str) -> list[str]:
    return ["--db", db_url, "--as", "rivera", "--secret-stdin", "--station", "room-1"]


@pytest.mark.req("DOC-1")
def test_notes_and_medications_are_added_from_the_command_line(
    db: Database,
    db_url: str,
    session_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """DOC-1: ``bedside note add`` and ``bedside medication add`` sign in, store as entered, and refuse a
    future time with one sentence (exit 2), never a traceback."""
    secret = CLINICIAN_SECRET + "\n"
    code, out, err = _run(
        ["note", "add", session_id, "patient calm", *_signed(db_url)], monkeypatch, capsys, secret
    )
    assert (code, err) == (0, "") and out.startswith("note ")
    given = (datetime.now(UTC) - timedelta(minutes=2)).isoformat()
    argv = ["medication", "add", session_id, "--drug", "ondansetron", "--dose", "4", "--unit", "mg"]
    code, out, err = _run(
        [*argv, "--route", "IV", "--given-at", given, *_signed(db_url)], monkeypatch, capsys, secret
    )
    assert code == 0, err
    assert "ondansetron 4 mg IV" in out
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    code, out, err = _run(
        [*argv, "--route", "IV", "--given-at", future, *_signed(db_url)], monkeypatch, capsys, secret
    )
    assert code == 2 and "in the future" in err and "Traceback" not in err

    repository = ClinicalRecordRepository(db)
    assert [n.note.text for n in repository.notes(session_id)] == ["patient calm"]
    (med,) = repository.medications(session_id)
    assert (med.who, med.station, med.dose) == ("rivera", "room-1", 4.0)


@pytest.mark.req("DOC-2")
@pytest.mark.req("DOC-3")
def test_an_incident_is_opened_closed_once_and_debriefed_from_the_command_line(
    db_url: str, session_id: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DOC-2, DOC-3: open, list, close (a second closing exits 1), debrief as serious, show what is left."""
    secret = CLINICIAN_SECRET + "\n"
    code, out, err = _run(
        ["incident", "open", session_id, "--title", "BP spike", *_signed(db_url)], monkeypatch, capsys, secret
    )
    assert code == 0, err
    incident_id = out.split()[1]
    prefix = incident_id[:8]

    code, out, _ = _run(["incident", "list", session_id, "--db", db_url], monkeypatch, capsys)
    assert code == 0
    assert out.split("\t")[2:5] == ["hand", "open", "BP spike"]

    close = ["incident", "close", session_id, prefix, "--outcome", "resolved_in_clinic", *_signed(db_url)]
    code, out, err = _run(close, monkeypatch, capsys, secret)
    assert code == 0 and "resolved in clinic" in out, err
    code, out, err = _run(close, monkeypatch, capsys, secret)
    assert code == 1 and "closed" in err and "Traceback" not in err

    debrief = ["incident", "debrief", session_id, prefix, "--what-happened", "BP 190/110", "--what-was-done"]
    debrief += [
        "paused",
        "--went-well",
        "fast",
        "--to-improve",
        "earlier cycle",
        "--protocol-followed",
        "yes",
    ]
    code, out, err = _run(
        [*debrief, "--serious", "hospitalisation", *_signed(db_url)], monkeypatch, capsys, secret
    )
    assert code == 0 and "formal review is due" in out, err

    code, out, _ = _run(["incident", "show", session_id, prefix, "--db", db_url], monkeypatch, capsys)
    assert code == 0
    assert f"incident {incident_id}: BP spike" in out
    assert "closed" in out and "serious: hospitalisation" in out
    assert out.rstrip().endswith("still to do: formal review")


@pytest.mark.req("DOC-1")
def test_a_wrong_secret_writes_nothing(
    db: Database,
    db_url: str,
    session_id: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """DOC-1 / issue 9 "Identity": a record entry needs the person signed in; a wrong PIN exits 1."""
    code, _, err = _run(["note", "add", session_id, "text", *_signed(db_url)], monkeypatch, capsys, "0000\n")
    assert code == 1 and "Traceback" not in err
    assert ClinicalRecordRepository(db).notes(session_id) == []
    code, _, err = _run(["incident", "show", session_id, "nope", "--db", db_url], monkeypatch, capsys)
    assert code == 2 and "no incident" in err
    code, _, err = _run(["incident", "list", "no-such-session", "--db", db_url], monkeypatch, capsys)
    assert code == 2 and "no session" in err


@pytest.mark.req("DOC-3")
@pytest.mark.req("DOC-4")
def test_review_and_what_the_patient_was_told_from_the_command_line(
    db_url: str, session_id: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """DOC-3: a review naming the protocol prints the proposed change-log entry; DOC-4: told is recorded."""
    secret = CLINICIAN_SECRET + "\n"
    _, out, _ = _run(
        ["incident", "open", session_id, "--title", "apnoea", *_signed(db_url)], monkeypatch, capsys, secret
    )
    incident_id = out.split()[1]
    debrief = ["incident", "debrief", session_id, incident_id, "--what-happened", "a", "--what-was-done", "b"]
    debrief += [
        "--went-well",
        "c",
        "--to-improve",
        "d",
        "--protocol-followed",
        "partly",
        "--serious",
        "life_threatening",
    ]
    assert _run([*debrief, *_signed(db_url)], monkeypatch, capsys, secret)[0] == 0
    ref = "desaturation@2.0@sha256:" + "cd" * 32
    review = [
        "incident",
        "review",
        session_id,
        incident_id,
        "--protocol-followed",
        "partly",
        "--findings",
        "late",
    ]
    code, out, err = _run(
        [*review, "--needs-change", "jaw thrust first", "--protocol", ref, *_signed(db_url)],
        monkeypatch,
        capsys,
        secret,
    )
    assert code == 0, err
    assert "desaturation 2.0" in out and 'version: "2.1"' in out and 'what: "jaw thrust first"' in out

    told = [
        "incident",
        "told",
        session_id,
        incident_id,
        "--observed",
        "breathing paused",
        "--done",
        "jaw thrust",
    ]
    told += [
        "--meaning",
        "we will watch closely",
        "--told-at",
        datetime.now(UTC).isoformat(),
        "--told-by",
        "Dr. Lee",
    ]
    code, out, err = _run([*told, *_signed(db_url)], monkeypatch, capsys, secret)
    assert code == 0, err
    _, shown, _ = _run(["incident", "show", session_id, incident_id, "--db", db_url], monkeypatch, capsys)
    assert "by Dr. Lee" in shown and "what it means: we will watch closely" in shown
