"""A BP spike through the real path, the bp-spike protocol walked to its end, and the record read back.

An Ivy 450C ANSAR-B encoder writes a frame with a high NIBP to a real pty; a real ``SerialLink``
reads it through the real Ivy driver into ``MonitorCore``; ``ClinicalSession`` judges it against
the patient's baseline and band and offers ``bp-spike``; the ``ProtocolDesk`` starts it and every
record goes through a real ``StorageWriter`` into a SQLite file that ``SessionRepository`` reads
back (PRO-2, PRO-6).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import pytest

from alarms import ChecklistItem, ThresholdSet, load_config
from bedside.monitor.core import MonitorCore
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.protocol_desk import ProtocolDesk
from drivers.clock import FakeClock, SystemClock
from drivers.ivy import IvyAnsarDriver
from drivers.transports.pty_pair import PtyPair, open_pty_pair
from drivers.transports.serial import SerialLink
from drivers.types import DeviceEvent, DeviceEventKind, Observation, VitalKind
from protocols import LIBRARY_DIR, load_library
from simulators.encoders.ivy import IvyAnsarEncoder
from simulators.model import NibpSnapshot, VitalsSnapshot
from storage import (
    IncidentOpenedRecord,
    ProtocolRunStartedRecord,
    ProtocolStepRecord,
    SessionRepository,
    StorageWriter,
    open_database,
)
from storage.records import StoredRecord
from tests.alarms.helpers import nibp_obs

NURSE = "RN Diaz"
DOCTOR = "Dr Okafor"
SETTLE_S = 3.0


@dataclass
class Room:
    """The monitor on a pty, the clinical session, and the latest value of each kind."""

    clock: FakeClock
    pty: PtyPair
    core: MonitorCore
    clinical: ClinicalSession
    latest: dict[VitalKind, Observation] = field(default_factory=dict)
    nibp_seen: int = 0
    connected: bool = False
    real: SystemClock = field(default_factory=SystemClock)

    def seen(self, obs: Observation) -> None:
        self.latest[obs.kind] = obs
        if obs.kind is VitalKind.NIBP_SYSTOLIC:
            self.nibp_seen += 1

    def link_event(self, event: DeviceEvent) -> None:
        if event.kind is DeviceEventKind.CONNECTED:
            self.connected = True

    def monitor_frame(self, systolic: float, diastolic: float, mean: float) -> None:
        """The Ivy shows a new NIBP reading: one ANSAR-B frame through the pty, pumped into the core."""
        now = self.clock.now()
        snapshot = VitalsSnapshot(
            at=now,
            spo2=97,
            pulse_rate=96,
            heart_rate=96,
            nibp=NibpSnapshot(systolic, diastolic, mean, measured_at=now),
        )
        expected = self.nibp_seen + 1
        self.pty.write(IvyAnsarEncoder().encode(snapshot))
        deadline = self.real.monotonic() + SETTLE_S
        while self.nibp_seen < expected:
            self.core.pump()
            assert self.real.monotonic() < deadline, "the Ivy frame did not arrive through the pty"
            self.pty.read(timeout_s=0.01)


@pytest.fixture
def room() -> Iterator[Room]:
    clock = FakeClock()
    pty = open_pty_pair()
    core = MonitorCore(clock)
    records: list[object] = []
    clinical = ClinicalSession(
        clock,
        load_config(),
        session_id="e2e",
        record=records.append,
        nibp_link_send=None,
        nibp_start_command=None,
    )
    r = Room(clock, pty, core, clinical)
    core.subscribe(on_observation=r.seen, on_event=r.link_event)
    core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
    core.add_link(
        SerialLink(
            "monitor", pty.device_path, IvyAnsarDriver("monitor"), clock, core.on_result, core.on_event
        )
    )
    core.start()
    try:
        deadline = r.real.monotonic() + SETTLE_S
        while not r.connected:
            core.pump()
            assert r.real.monotonic() < deadline, "the serial link did not open the pty"
            pty.read(timeout_s=0.01)
        yield r
    finally:
        core.stop()
        pty.close()


def into_infusion(room: Room) -> None:
    """Baseline 120/78 from two readings 3 minutes apart, thresholds, checklist, infusion started."""
    session, clock = room.clinical, room.clock
    session.begin_baseline(NURSE)
    for systolic, diastolic in ((118, 77), (122, 79)):
        clock.advance(180)
        for o in nibp_obs(clock, systolic, diastolic, round((systolic + 2 * diastolic) / 3)):
            session.on_observation(o)
    session.confirm_baseline(NURSE)
    session.confirm_thresholds(NURSE, ThresholdSet(180, 110, 90, 45, 130, 85, 65, 20, 20))
    for item in ChecklistItem:
        session.attest(item, NURSE)
    session.start_infusion(DOCTOR)
    clock.advance(600)


@pytest.mark.req("PRO-2")
@pytest.mark.req("PRO-6")
def test_bp_spike_offered_walked_and_read_back_from_sqlite(room: Room, tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'bedside.db'}", drill=True)
    repo = SessionRepository(db)
    session_id = repo.create_session(clinician=DOCTOR, started_at=room.clock.now()).session_id
    failures: list[object] = []
    writer = StorageWriter(db, room.clock, failures.append, flush_interval_s=0.05)
    stored: list[object] = []

    def put(record: object) -> None:
        stored.append(record)
        writer.put(cast(StoredRecord, record))

    nibp_starts: list[bool] = []

    def request_nibp() -> bool:
        # The Ivy cannot be started remotely: the clinician presses start on the monitor.
        nibp_starts.append(False)
        return False

    desk = ProtocolDesk(
        room.clock,
        load_library(LIBRARY_DIR),
        session_id=session_id,
        put=put,
        latest=room.latest.get,
        request_nibp=request_nibp,
    )
    room.core.subscribe(on_observation=desk.on_observation)
    into_infusion(room)

    room.monitor_frame(182, 104, 130)
    [offered] = room.clinical.offered_protocols
    assert offered.protocol_id == "bp-spike"
    offer = desk.offer(offered.protocol_id, offered.reason)
    assert offer is not None

    room.clock.advance(20)
    # The shipped bp-spike is a template: starting it takes a named acknowledgement (PRO-8).
    run = desk.start("bp-spike", NURSE, acknowledged_unapproved_by=DOCTOR)
    run.done(NURSE)
    run.answer(DOCTOR, "no")
    assert nibp_starts == [False]
    room.clock.advance(45)
    room.monitor_frame(150, 92, 111)
    run.done(NURSE)
    run.answer(DOCTOR, "no")
    run.done(NURSE)
    run.decide(DOCTOR, "continue_session")
    run.done(NURSE)
    assert run.outcome == "resolved"

    assert writer.flush(timeout=5.0)
    writer.close()
    assert failures == []

    [incident] = repo.incidents(session_id)
    opened = stored[0]
    assert isinstance(opened, IncidentOpenedRecord)
    assert (incident.incident_id, incident.kind, incident.opened_by, incident.opened_at) == (
        run.incident_id,
        "bp-spike",
        NURSE,
        opened.opened_at,
    )
    assert offered.reason in incident.title
    [summary] = repo.protocol_runs(session_id)
    assert summary.started == next(r for r in stored if isinstance(r, ProtocolRunStartedRecord))
    assert (summary.outcome, summary.ended_at) == ("resolved", room.clock.now())
    assert list(summary.steps) == [r for r in stored if isinstance(r, ProtocolStepRecord)]
    assert [(s.kind, s.node_id) for s in summary.steps] == [
        ("run_started", "slow_or_pause"),
        ("flags_acknowledged", "slow_or_pause"),
        ("shown", "slow_or_pause"),
        ("done", "slow_or_pause"),
        ("shown", "emergency_signs"),
        ("answered", "emergency_signs"),
        ("shown", "recheck_bp"),
        ("nibp_requested", "recheck_bp"),
        ("vitals_recorded", "recheck_bp"),
        ("done", "recheck_bp"),
        ("shown", "still_high"),
        ("answered", "still_high"),
        ("shown", "document"),
        ("done", "document"),
        ("shown", "decide_session"),
        ("decided", "decide_session"),
        ("shown", "resume_infusion"),
        ("done", "resume_infusion"),
        ("shown", "resolved_continue"),
        ("ended", "resolved_continue"),
    ]
    acknowledged = summary.steps[1]
    assert acknowledged.person == DOCTOR and summary.started.protocol_hash in acknowledged.note
    reading = summary.steps[8]
    assert reading.person == "device:monitor"
    assert reading.occurred_at is not None
    assert "nibp_systolic 150 mm[Hg]" in reading.value
    assert {s.person for s in summary.steps if s.kind in ("answered", "decided")} == {DOCTOR}
    db.close()
