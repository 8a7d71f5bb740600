"""No patient identifier ever reaches a log (issue 11, security baseline).

Issue 11 found 2 of 825 HL7 rejection log lines carrying PID fragments. This test runs a whole
session Qt-free, with every log record at every level written to one file: a registered patient
with a distinctive name, clinic id and date of birth; a session carrying them; an HL7 gateway
sending that patient's PID over a real MLLP connection, well-formed and mutated; alarms; an
incident; a note; exports in every format; a replay of a capture. Then it greps the log for every
identifier, in every spelling HL7 and the exports use.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from alarms import load_config
from bedside.app.build import DeviceSpec, make_listener
from bedside.cli.main import main
from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from bedside.workflow import AuditTrail, IdentityService, IncidentService, PatientService, Role
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.export import export_session
from bedside.workflow.record import RecordService
from drivers.clock import SystemClock
from drivers.mllp import frame
from drivers.registry import make_driver
from drivers.types import VitalKind
from simulators.encoders.hl7 import Hl7Pcd01Encoder
from simulators.model import NibpSnapshot, VitalsSnapshot
from storage import PatientDetails, SessionRepository, open_database

NAME = "Quintessa Vandermolen-Ysgard"
FAMILY, GIVEN = "Vandermolen-Ysgard", "Quintessa"
CLINIC_ID = "QV-8675309"
BIRTH = date(1951, 7, 23)
#: Every spelling an identifier takes in the record, HL7 (PID-5 family^given, PID-7 YYYYMMDD) and exports.
IDENTIFIERS = (NAME, FAMILY, GIVEN, "Vandermolen", "Ysgard", CLINIC_ID, "8675309", "1951-07-23", "19510723")
STATION = "room-9"


def _pid() -> str:
    return f"PID|||{CLINIC_ID}^^^Clinic^MR||{FAMILY}^{GIVEN}||{BIRTH:%Y%m%d}|F"


def _gateway_messages(count: int) -> list[bytes]:
    """The simulator's PCD-01 messages (unframed) with this patient's full PID, a cuff cycle in each."""
    encoder = Hl7Pcd01Encoder(patient_id=CLINIC_ID, period_s=1.0)
    start = datetime.now(UTC) - timedelta(seconds=count)
    out: list[bytes] = []
    for n in range(count):
        at = start + timedelta(seconds=n)
        snapshot = VitalsSnapshot(
            at=at, spo2=82.0 + n % 3, pulse_rate=131.0, perfusion_index=1.2, heart_rate=133.0,
            nibp=NibpSnapshot(182, 111, 135, at),
        )  # fmt: skip
        text = encoder.encode(snapshot)[1:-2].decode("utf-8")
        segments = [_pid() if s.startswith("PID|") else s for s in text.split("\r")]
        out.append("\r".join(segments).encode("utf-8"))
    return out


def _mutations(message: bytes, count: int, seed: int) -> Iterator[bytes]:
    """Messages a faulty gateway or a noisy line could send: bytes flipped, cut, repeated, versions
    changed, fields broken inside the PID itself (where the identifiers are)."""
    rng = random.Random(seed)
    text = message.decode("utf-8")
    targeted = [
        text.replace("|2.6|", "|2.1|"),
        text.replace("ORU^R01^ORU_R01", "ADT^A01^ADT_A01"),
        text.replace(f"{BIRTH:%Y%m%d}", f"{BIRTH:%Y%m%d}99"),
        text.replace(f"{FAMILY}^{GIVEN}", f"{FAMILY}\\X0G\\^{GIVEN}"),
        text.replace("PID|||", "PID|||^^^" * 40),
        text.replace("\rOBR|", f"\rPID|||{CLINIC_ID}\rOBR|"),
        text.replace("\rPID|", f"\rPID|{'|' * 300}"),
        text.split("\rOBR|")[0],
        text.replace("MSH|", f"MSH|{CLINIC_ID}"),
        text.replace("\r", "\n"),
        f"{_pid()}\r{text}",
    ]
    for each in targeted:
        yield each.encode("utf-8")
    raw = message
    pid_at = raw.index(b"PID|")
    for _ in range(count):
        data = bytearray(raw)
        for _ in range(rng.randint(1, 6)):
            where = rng.randrange(pid_at - 40, min(len(data), pid_at + 120))
            action = rng.random()
            if action < 0.4:
                data[where] = rng.randrange(256)
            elif action < 0.6:
                del data[where : where + rng.randint(1, 20)]
            elif action < 0.8:
                data[where:where] = rng.choice([b"|", b"^", b"\r", b"~", b"\\", b"&", b"\x00", b"\xff"])
            else:
                data[where:where] = data[where : where + rng.randint(1, 40)]
        yield (
            bytes(data).replace(b"\x0b", b"?").replace(b"\x1c", b"?")
        )  # MLLP framing bytes: not in a message


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Every record of every logger, at DEBUG and above, into one file (as the monitor's log file)."""
    path = tmp_path / "all.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    old_umask = os.umask(0o022)
    try:
        yield path
    finally:
        os.umask(old_umask)
        root.removeHandler(handler)
        root.setLevel(old_level)
        handler.close()


def _send(port: int, messages: list[bytes]) -> int:
    """Send MLLP-framed messages over one connection, each after the last one's ACK; ACKs read."""
    acks = 0
    with socket.create_connection(("127.0.0.1", port), timeout=10) as gateway:
        for message in messages:
            gateway.sendall(frame(message))
            reply = b""
            while not reply.endswith(b"\x1c\r"):
                chunk = gateway.recv(65536)
                if not chunk:
                    return acks
                reply += chunk
            acks += 1
    return acks


def _blast(port: int, messages: list[bytes]) -> None:
    """Send messages back to back without waiting (a broken one may never be answered)."""
    with socket.create_connection(("127.0.0.1", port), timeout=2) as gateway:
        gateway.sendall(b"".join(frame(m) for m in messages))
        try:
            while gateway.recv(65536):
                pass
        except TimeoutError:
            pass


def test_a_whole_session_logs_no_patient_identifier(
    tmp_path: Path, log_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 (security baseline): a session with a named patient, an HL7 feed carrying the
    patient's PID (well-formed and mutated), alarms, an incident, a note, exports in every format
    and a replay writes not one identifier to the log."""
    config = load_config()
    clock = SystemClock()
    url = f"sqlite:///{tmp_path / 'clinic' / 'bedside.sqlite3'}"
    db = open_database(url)
    audit = AuditTrail(db, clock, station=STATION)
    identity = IdentityService(
        db, clock, audit, config.sign_in, hasher=PasswordHasher.from_parameters(CHEAPEST)
    )
    identity.ensure_administrator("Morgan Admin", "4711-admin", login="admin")
    admin = identity.sign_in("admin", "4711-admin")
    identity.add_clinician(admin, name="Dr. Ana Rivera", login="rivera", role=Role.CLINICIAN, secret="1357")
    rivera = identity.sign_in("rivera", "1357")
    PatientService(db, clock, audit, config.patient_record).add(
        rivera, PatientDetails(NAME, CLINIC_ID, BIRTH, "female", 61.5, allergies=("latex",))
    )
    repo = SessionRepository(db)
    stored = repo.create_session(
        clinician="Dr. Ana Rivera", started_at=clock.now(), patient_name=NAME, patient_mrn=CLINIC_ID,
        station=STATION,
    )  # fmt: skip

    # The monitor: recorder, core, clinical engine, an MLLP listener with its per-connection driver.
    recorder = SessionRecorder(db, clock, clinician="Dr. Ana Rivera", station=STATION, write_hang_s=3.0)
    assert recorder.resumed and recorder.session_id == stored.session_id
    core = MonitorCore(clock)
    recorder.attach(core)
    clinical = ClinicalSession(
        clock, config, session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip
    core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
    listener = make_listener(DeviceSpec("hl7-pcd01", "mllp://127.0.0.1:0"), "hl7-pcd01-1", clock, core)
    core.add_link(listener)
    listener.start()
    try:
        good = _gateway_messages(5)
        assert _send(listener.port, good) == 5
        mutated = list(_mutations(good[0], count=120, seed=11))  # hl7apy: ~75 ms a message today
        _blast(listener.port, mutated[:30])  # over the wire too
        # All mutations through a driver as the listener's connections use it, into the same core.
        driver = make_driver("hl7-pcd01", "hl7-pcd01-2")
        sink = core.result_sink("hl7-pcd01-2")
        for message in mutated:
            sink(driver.feed(frame(message), clock.stamp()))
        deadline = clock.monotonic() + 10
        while clock.monotonic() < deadline and core.board.latest(VitalKind.SPO2) is None:
            core.pump()
        core.pump()
        clinical.tick()
        recorder.outage  # noqa: B018  # the storage tick, as the app polls it
        assert clinical.active_alarms(), "the feed should have raised alarms (SpO2 82 %, BP 182/111)"
    finally:
        listener.stop()

    sid = recorder.session_id
    RecordService(db, clock, audit).add_note(rivera, sid, "patient reports tingling in the hands")
    IncidentService(db, clock, audit, config.incident_record).open_by_hand(rivera, sid, "dizzy on standing")
    assert recorder.writer.flush(10)
    recorder.close(end_session=True)
    out = tmp_path / "exports"
    out.mkdir()
    for fmt in ("pdf", "csv", "json", "fhir"):
        export_session(SessionRepository(db), sid, fmt, out / f"record.{fmt}")
    assert main(["export", sid, "--format", "json", "--out", str(out / "cli.json"), "--db", url]) == 0
    capture = tmp_path / "gateway.hl7"
    capture.write_bytes(b"".join(frame(m) for m in [*good, *mutated[:10]]))
    assert main(["replay", "--input", f"hl7-pcd01={capture}"]) == 0
    capsys.readouterr()
    db.close()

    logged = log_file.read_text(encoding="utf-8", errors="replace")
    assert "MLLP listener hl7-pcd01-1" in logged and "refused (AR" in logged  # it was captured
    leaks = {
        word: line for word in IDENTIFIERS for line in logged.splitlines() if word.lower() in line.lower()
    }
    assert leaks == {}, f"patient identifiers in the log: {leaks}"
