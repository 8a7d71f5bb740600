"""Session-screen fixtures: a monitored session on a real SQLite file, FakeClock, cheap argon2."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from alarms import ClinicalConfig, ConditionId, load_config
from bedside.app.session import build_session_services
from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from bedside.views.session.context import SessionServices
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.devices import SerialPortInfo
from bedside.workflow.protocol_desk import ProtocolDesk
from bedside.workflow.settings import SettingsStore
from drivers.clock import FakeClock
from protocols import LIBRARY_DIR, load_library
from storage import open_database

ADMIN_PIN = "4711"

PORTS = [
    SerialPortInfo("/dev/ttyUSB0", "FT232R USB UART", "0403:6001", "A5XK3RJT", "FTDI"),
    SerialPortInfo("/dev/ttyUSB1", "USB-Serial Controller", "067b:2303", "", "Prolific"),
]


def clinic_config() -> ClinicalConfig:
    """The packaged defaults with the SpO2 alarm raised at once (no waiting in a test)."""
    base = load_config()
    return base.model_copy(update={"alarm_delays_s": {**base.alarm_delays_s, ConditionId.SPO2_LOW: 0.0}})


@dataclass
class Rig:
    """A monitored session as `bedside monitor` wires it, without a window."""

    clock: FakeClock
    core: MonitorCore
    recorder: SessionRecorder
    clinical: ClinicalSession
    desk: ProtocolDesk
    services: SessionServices
    launched: list[tuple[str, float]]


def make_rig(tmp_path: Path, *, drill: bool, clock: FakeClock) -> Rig:
    """Database, recorder, clinical session, protocol desk and the session services on them."""
    db = open_database(
        f"sqlite:///{tmp_path / ('drill.sqlite3' if drill else 'bedside.sqlite3')}", drill=drill
    )
    config = clinic_config()
    core = MonitorCore(clock)
    recorder = SessionRecorder(
        db, clock, clinician="unassigned", scenario="bp-spike" if drill else "", station="room-1"
    )
    recorder.attach(core)
    library = load_library(LIBRARY_DIR, today=clock.now().date())
    clinical = ClinicalSession(
        clock, config, session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=None, nibp_start_command=None,
        protocols_for=lambda condition: [p.id for p in library.offered_for(condition)],
    )  # fmt: skip
    core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
    desk = ProtocolDesk(
        clock, library, session_id=recorder.session_id, put=recorder.writer.put,
        latest=core.board.latest, request_nibp=lambda: False,
    )  # fmt: skip
    core.subscribe(on_observation=desk.on_observation)
    launched: list[tuple[str, float]] = []

    def launcher(scenario: str, speed: float) -> str:
        launched.append((scenario, speed))
        return f"Drill '{scenario}' started at {speed:g}x (SIMULATION)"

    services = build_session_services(
        db, clock, config, station="room-1", session_id=recorder.session_id, clinical=clinical, desk=desk,
        simulation="bp-spike" if drill else None, scenarios=["bp-spike", "desaturation"],
        settings=SettingsStore(tmp_path / "config" / "settings.json"),
        hasher=PasswordHasher.from_parameters(CHEAPEST), port_lister=lambda: list(PORTS),
        drill_launcher=launcher, flush=recorder.writer.flush,
    )  # fmt: skip
    return Rig(clock, core, recorder, clinical, desk, services, launched)


@pytest.fixture
def rig(tmp_path: Path, clock: FakeClock) -> Iterator[Rig]:
    """A patient session (patient database)."""
    made = make_rig(tmp_path, drill=False, clock=clock)
    yield made
    made.recorder.close(end_session=False)


@pytest.fixture
def drill_rig(tmp_path: Path, clock: FakeClock) -> Iterator[Rig]:
    """A drill session (drill database, SIMULATION)."""
    made = make_rig(tmp_path, drill=True, clock=clock)
    yield made
    made.recorder.close(end_session=False)
