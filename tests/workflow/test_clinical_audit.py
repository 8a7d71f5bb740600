"""Clinical actions at the bedside reach the audit trail (issue 9, "Audit"): the ClinicalSession's
acknowledgements, pauses and threshold changes go through its injected audit sink to the storage
trail with the clinician's name, and ``bedside audit verify`` proves the chain (or catches a change)."""

from __future__ import annotations

import argparse
import getpass
import io
import sqlite3
import sys
from pathlib import Path

import pytest

from alarms import ThresholdField, load_config
from bedside.cli.audit import run_audit
from bedside.workflow.audit import AuditTrail, trail_sink
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.identity import SignedIn
from drivers.clock import FakeClock
from storage import AuditWriteError, Database, open_database
from tests.bedside.test_clinical import NURSE, START, Room, ready_for_infusion


def _room(clock: FakeClock, db: Database) -> tuple[Room, AuditTrail]:
    trail = AuditTrail(db, clock, station="room-2")
    room = Room(clock, None)  # type: ignore[arg-type]  # the session needs the room's sinks
    room.session = ClinicalSession(
        clock,
        load_config(),
        session_id="s-1",
        record=room.records.append,
        nibp_link_send=room.sent.append,
        nibp_start_command=START,
        audit=trail_sink(trail),
    )
    return room, trail


def _verify(url: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run_audit(_args(url), out=out, err=err)
    return code, out.getvalue() + err.getvalue()


def _args(url: str) -> argparse.Namespace:
    return argparse.Namespace(action="verify", db=url)


@pytest.mark.req("ALM-3")
@pytest.mark.req("THR-5")
def test_an_acknowledgement_and_a_threshold_change_are_audited_and_the_chain_verifies(
    tmp_path: Path,
) -> None:
    """Issue 9 audit: an ack, a pause and a threshold change in a ClinicalSession each append an audit
    entry naming the clinician; `bedside audit verify` passes, and a changed entry is caught."""
    url = f"sqlite:///{tmp_path / 'bedside.sqlite3'}"
    db = open_database(url)
    clock = FakeClock()
    try:
        room, trail = _room(clock, db)
        ready_for_infusion(room)
        room.session.start_infusion("Dr Okafor")
        room.nibp(185, 100)
        room.session.pause_audio(NURSE)
        room.session.acknowledge("bp_high", NURSE)
        room.session.change_threshold(ThresholdField.SYSTOLIC_CEILING, 190, "known hypertensive", "Dr Okafor")
        entries = [(e.who, e.action, e.subject, e.details) for e in trail.entries()]
    finally:
        db.close()
    assert ("RN Diaz", "thresholds_confirmed", "s-1") in [e[:3] for e in entries]
    assert ("RN Diaz", "alarm_audio_paused", "s-1", {"duration_s": None}) in entries
    assert ("RN Diaz", "alarm_acknowledged", "s-1", {"alarm": "bp_high"}) in entries
    change = [e for e in entries if e[1] == "threshold_changed"]
    assert change == [
        (
            "Dr Okafor",
            "threshold_changed",
            "s-1",
            {"field": "systolic_ceiling", "old": 180.0, "new": 190.0, "reason": "known hypertensive"},
        )
    ]
    code, words = _verify(url)
    assert code == 0 and "intact" in words
    with sqlite3.connect(tmp_path / "bedside.sqlite3") as connection:
        connection.execute(
            "UPDATE audit_entries SET who = 'someone else' WHERE action = 'alarm_acknowledged'"
        )
    code, words = _verify(url)
    assert code == 1 and "broken" in words


def test_a_failing_audit_write_never_blocks_the_acknowledgement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 9 audit: the database refusing the audit entry is reported, the alarm is still acknowledged."""
    db = open_database(f"sqlite:///{tmp_path / 'bedside.sqlite3'}")
    clock = FakeClock()
    failures: list[str] = []
    try:
        room, trail = _room(clock, db)
        room.session._audit = trail_sink(trail, failures.append)
        ready_for_infusion(room)
        room.session.start_infusion("Dr Okafor")
        room.nibp(185, 100)

        def refuse(*_: object, **__: object) -> None:
            raise AuditWriteError("the database is read-only")

        monkeypatch.setattr(trail, "append", refuse)
        room.session.acknowledge("bp_high", NURSE)
    finally:
        db.close()
    assert [r.kind for r in room.alarm_records()][-1] == "acknowledged"
    assert failures == ["audit trail not written (alarm_acknowledged): the database is read-only"]


@pytest.mark.req("EXP-1")
def test_an_export_is_audited_with_who_and_what(tmp_path: Path) -> None:
    """Issue 9 audit: `bedside export` appends a durable audit entry (format, file) to the trail of the
    database it read; the chain stays intact."""
    from bedside.cli.main import main
    from storage.full_record import write_full_record
    from tests.workflow.sample_session import sample_record

    url = f"sqlite:///{tmp_path / 'bedside.sqlite3'}"
    db = open_database(url)
    record = sample_record(hours=0.1)
    try:
        write_full_record(db, record)
    finally:
        db.close()
    out = tmp_path / "vitals.csv"
    assert main(["export", record.session.session_id, "--format", "csv", "--out", str(out), "--db", url]) == 0
    db = open_database(url)
    try:
        trail = AuditTrail(db, FakeClock(), station="x")
        exported = [e for e in trail.entries() if e.action == "session_exported"]
        assert trail.verify().intact
    finally:
        db.close()
    assert len(exported) == 1
    assert exported[0].subject == record.session.session_id
    assert exported[0].who.startswith("os user ")
    assert exported[0].details["format"] == "csv" and exported[0].details["path"] == str(out)


@pytest.mark.req("EXP-1")
def test_an_export_as_a_signed_in_clinician_names_them_in_the_audit(
    tmp_path: Path,
    db: Database,
    db_url: str,
    clinician: SignedIn,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 10 (export): `bedside export` had no --as, so its audit entry always named the computer
    account. With --as the clinician signs in as for the other record commands and the entry names
    them; a refused sign-in writes no file and no entry (exit 1); without --as it is as before."""
    from bedside.cli.main import main
    from storage.full_record import write_full_record
    from tests.workflow.conftest import CLINICIAN_SECRET
    from tests.workflow.sample_session import sample_record

    record = sample_record(hours=0.1)
    write_full_record(db, record)
    sid = record.session.session_id

    def export(out: Path, *extra: str, secret: str = CLINICIAN_SECRET) -> int:
        monkeypatch.setattr(sys, "stdin", io.StringIO(secret + "\n"))
        argv = ["export", sid, "--format", "json", "--out", str(out), "--db", db_url, *extra]
        return main([*argv, "--station", "room-4"])

    refused = tmp_path / "refused.json"
    assert export(refused, "--as", "rivera", "--secret-stdin", secret="0000") == 1
    assert "rivera" not in capsys.readouterr().out and not refused.exists()
    signed = tmp_path / "signed.json"
    assert export(signed, "--as", "rivera", "--secret-stdin") == 0 and signed.is_file()
    assert export(tmp_path / "account.json") == 0

    trail = AuditTrail(db, FakeClock(), station="x")
    exported = [e for e in trail.entries() if e.action == "session_exported"]
    assert trail.verify().intact
    assert [(e.who, e.station, e.details["path"]) for e in exported] == [
        (clinician.who, "room-4", str(signed)),
        (f"os user {getpass.getuser()}", "room-4", str(tmp_path / "account.json")),
    ]
