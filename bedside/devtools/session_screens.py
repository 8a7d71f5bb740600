"""Screenshots of every session screen (issue 10) for docs/: a scripted session on a FakeClock.

The screens show a session as a clinic would have it half-way: a signed-in CRNA, a patient with
consent, a confirmed baseline and thresholds, the checklist, a BP spike with its protocol, an
incident with its debrief, the follow-ups. A drill database gives the Drill screen its timings.
Run by ``bedside.devtools.screenshots`` (``scripts/dev.sh screenshots``).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from alarms import ChecklistItem, ThresholdSet, load_config
from bedside.app.session import build_session_services
from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from bedside.views.session.context import SCREENS, SessionServices
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.devices import SerialPortInfo
from bedside.workflow.protocol_desk import ProtocolDesk
from bedside.workflow.settings import SettingsStore
from bedside.workflow.station import PatientDetails, ReferringProvider
from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, DecodeResult, Observation, Quality, VitalKind
from protocols import LIBRARY_DIR, load_library
from storage import open_database

log = logging.getLogger(__name__)

PIN = "2580"
SIZES = ((1366, 768), (1920, 1080))
#: Ports as a clinic's PC shows them (the screenshot machine has none).
EXAMPLE_PORTS = [
    SerialPortInfo("/dev/ttyUSB0", "FT232R USB UART", "0403:6001", "A5XK3RJT", "FTDI"),
    SerialPortInfo("/dev/ttyUSB1", "USB-Serial Controller D", "067b:2303", "", "Prolific"),
]


@dataclass
class _Scripted:
    services: SessionServices
    recorder: SessionRecorder
    core: MonitorCore
    clock: FakeClock


def _obs(clock: FakeClock, kind: VitalKind, value: float) -> Observation:
    now = clock.now()
    return Observation(
        kind, value, CANONICAL_UNIT[kind], now, now, clock.monotonic(), "sim-masimo-ascii-1", Quality.VALID
    )


def _deliver(s: _Scripted, observations: Iterable[Observation]) -> None:
    s.core.on_result(DecodeResult(observations=tuple(observations), frames=1), "sim-masimo-ascii-1")
    s.core.pump()


def _vitals(s: _Scripted, systolic: float, diastolic: float, spo2: float = 98, pulse: float = 74) -> None:
    mean = round((systolic + 2 * diastolic) / 3)
    nibp = (
        (VitalKind.NIBP_SYSTOLIC, systolic),
        (VitalKind.NIBP_DIASTOLIC, diastolic),
        (VitalKind.NIBP_MEAN, mean),
    )
    _deliver(s, [_obs(s.clock, k, v) for k, v in nibp])
    _deliver(s, [_obs(s.clock, VitalKind.SPO2, spo2), _obs(s.clock, VitalKind.PULSE_RATE, pulse)])


def _minutes(s: _Scripted, minutes: float, systolic: float, diastolic: float, pulse: float = 74) -> None:
    """Oximetry every 5 s (so no "no valid SpO2" alarm), one NIBP cycle at the end."""
    for _ in range(int(minutes * 12)):
        s.clock.advance(5)
        _deliver(s, [_obs(s.clock, VitalKind.SPO2, 98), _obs(s.clock, VitalKind.PULSE_RATE, pulse)])
    _vitals(s, systolic, diastolic, pulse=pulse)


def _drill_started(scenario: str, speed: float) -> str:
    return f"Drill '{scenario}' started at {speed:g}x"


def scripted_session(folder: Path, *, drill: bool) -> _Scripted:
    """A session taken as far as an incident with its debrief and follow-ups."""
    clock = FakeClock()
    db = open_database(f"sqlite:///{folder / ('drill.sqlite3' if drill else 'clinic.sqlite3')}", drill=drill)
    config = load_config()
    core = MonitorCore(clock)
    scenario = "bp-spike" if drill else ""
    recorder = SessionRecorder(db, clock, clinician="unassigned", scenario=scenario, station="room-2")
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
    services = build_session_services(
        db, clock, config, station="room-2", session_id=recorder.session_id, clinical=clinical, desk=desk,
        simulation=scenario or None, scenarios=["bp-spike", "desaturation", "bradycardia", "full-session"],
        settings=SettingsStore(folder / "settings.json"), hasher=PasswordHasher.from_parameters(CHEAPEST),
        port_lister=lambda: list(EXAMPLE_PORTS), drill_launcher=_drill_started,
        flush=recorder.writer.flush,
    )  # fmt: skip
    s = _Scripted(services, recorder, core, clock)
    services.identity.ensure_administrator("Robin Diaz, CRNA", PIN, login="rdiaz")
    services.station.sign_in("rdiaz", PIN)
    me = services.station.require()
    patient = services.patients.add(
        me,
        PatientDetails(
            name="Alex Morgan", clinic_id="K-1042", date_of_birth=date(1984, 5, 17), sex="female",
            weight_kg=68.5, allergies=("penicillin",),
            referring_providers=(ReferringProvider("Dr. Lee", "psychiatry", "555-0100"),),
        ),
    )  # fmt: skip
    services.choose_patient(patient.patient_id)
    services.referral.record_consent(
        me, patient.patient_id, scope="session summaries to Dr. Lee", signed_on=clock.now().date()
    )
    clinical.begin_baseline(me.who)
    _vitals(s, 122, 78)
    _minutes(s, 2.5, 118, 76)
    clinical.confirm_baseline(me.who)
    clinical.confirm_thresholds(me.who, ThresholdSet.clinic_default(config))
    for item in ChecklistItem:
        clinical.attest(item, me.who)
    clinical.start_infusion(me.who)
    for _ in range(4):
        _minutes(s, 5, 128, 80)
    _minutes(s, 1, 192, 114, pulse=96)
    for offer in clinical.offered_protocols:
        desk.offer(offer.protocol_id, offer.reason)
    clock.advance(20)
    for alarm in clinical.active_alarms():
        clinical.acknowledge(alarm.key, me.who)
    clock.advance(15)
    run = desk.start("bp-spike", me.who, acknowledge_flags=True)
    services.records.add_note(me, recorder.session_id, "headache; reassured; lights dimmed")
    services.records.add_medication(
        me, recorder.session_id, drug="labetalol", dose=10, unit="mg", route="IV", given_at=clock.now()
    )
    recorder.writer.flush()
    services.incidents.debrief(
        me, run.incident_id, what_happened="BP 192/114 at 20 min, headache",
        what_was_done="bp-spike protocol, labetalol 10 mg IV, recheck in 5 min",
        went_well="alarm seen at once", to_improve="start the recheck timer earlier", protocol_followed="yes",
    )  # fmt: skip
    services.followups.schedule(
        me, event_type="bp-spike", event_at=clock.now(), session_id=recorder.session_id,
        incident_id=run.incident_id, patient_ref=patient.patient_id,
    )  # fmt: skip
    _minutes(s, 4, 132, 82)
    return s


def save_screens(out: Path, *, sizes: Iterable[tuple[int, int]] = SIZES) -> list[Path]:
    """Save ``session-<screen>.png`` (1366x768) and ``session-<screen>-1080p.png`` for every screen,
    plus the lock overlay and the Drill screen on a drill database; returns the files written."""
    from PySide6.QtWidgets import QApplication

    from bedside.views.session.hub import SessionScreens

    app = QApplication.instance() or QApplication([])
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory() as tmp:
        for drill in (False, True):
            scripted = scripted_session(Path(tmp), drill=drill)
            hub = SessionScreens(scripted.services)
            names = ["Drill"] if drill else [n for n in SCREENS if n != "Drill"]
            for width, height in sizes:
                suffix = "" if (width, height) == (1366, 768) else f"-{height}p"
                hub.resize(width, height)
                hub.show()
                for name in names:
                    hub.show_screen(name)
                    if name == "Devices":
                        devices = hub.screens["Devices"]
                        combo = devices.rows["/dev/ttyUSB0"]  # type: ignore[attr-defined]
                        combo.setCurrentIndex(combo.findData("masimo-ascii"))
                    if name == "Patient":
                        hub.screens["Patient"].search.setText("Morgan")  # type: ignore[attr-defined]
                    if name == "Drill" and drill:
                        drill_screen = hub.screens["Drill"]
                        drill_screen.participants.setText("Robin Diaz, Sam Okafor, Dr. Lee")  # type: ignore[attr-defined]
                    app.processEvents()
                    path = out / f"session-{name.lower().replace(' ', '-')}{suffix}.png"
                    hub.grab().save(str(path))
                    written.append(path)
                if not drill:
                    hub.show_screen("Patient")
                    scripted.services.station.lock_after_s = 1
                    scripted.clock.advance(2)
                    hub.tick()
                    app.processEvents()
                    path = out / f"session-locked{suffix}.png"
                    hub.grab().save(str(path))
                    written.append(path)
                    scripted.services.station.unlock(PIN)
            hub.close()
            scripted.recorder.close(end_session=False)
    return written
