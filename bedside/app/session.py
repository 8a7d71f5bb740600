"""Composition of the session screens (issue 10): the Qt-free services on the monitor's database,
the export runner, the drill desk, and their wiring to the monitor window's Session menu.

``build_session_services`` is Qt-free apart from the types it fills; ``attach_session_screens``
is the Qt half, called by ``bedside.app.run``.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from alarms import ClinicalConfig
from bedside.views.patient_banner import PatientOnScreen
from bedside.views.session.context import DrillLauncher, DrillTiming, SessionServices
from bedside.workflow.audit import AuditTrail
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.devices import DeviceSetup, PortLister
from bedside.workflow.drills import DrillService, ResponseStep
from bedside.workflow.export import ExportFormat, ExportProgress, export_session
from bedside.workflow.followup import FollowUpService
from bedside.workflow.identity import IdentityService, SignInDesk
from bedside.workflow.incidents import IncidentService
from bedside.workflow.patients import PatientService
from bedside.workflow.protocol_desk import ProtocolDesk
from bedside.workflow.record import RecordService
from bedside.workflow.referral import ReferralService
from bedside.workflow.settings import SettingsStore
from bedside.workflow.station import Station
from drivers.clock import Clock
from storage import Database, SessionRepository, UnknownRecordError

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from bedside.views.session.hub import SessionScreens
    from bedside.views.window import MonitorWindow

log = logging.getLogger(__name__)


def _secs(step: ResponseStep | None) -> str:
    return (
        "not recorded"
        if step is None
        else f"{step.seconds:.0f} s" + (f" ({step.person})" if step.person else "")
    )


class AppDrillDesk:
    """The Drill screen's desk on the drill database: start, log, timings, report (DRL-1, DRL-2)."""

    def __init__(
        self, service: DrillService, session_id: str, *, flush: Callable[[], object] = lambda: None
    ) -> None:
        self.service = service
        self.session_id = session_id
        self._flush = flush  # the monitor's records reach the database before they are read back

    def log(self, who: str, *, drill_date: date, scenario: str, participants: Sequence[str]) -> None:
        """Log the running drill session."""
        self._flush()
        self.service.log_drill(
            who, self.session_id, drill_date=drill_date, scenario=scenario, participants=participants
        )

    def timings(self) -> list[DrillTiming]:
        """The team's response to each alarm, in seconds after it started."""
        self._flush()
        return [
            DrillTiming(
                alarm=r.alarm.message or r.alarm.condition or "",
                raised=f"{r.alarm.at.astimezone():%H:%M:%S}",
                acknowledged=_secs(r.acknowledged),
                protocol_started=_secs(r.protocol_started),
                first_step=_secs(r.steps[0] if r.steps else None),
            )
            for r in self.service.timings(self.session_id)
        ]

    def report(self, who: str, out: Path) -> Path:
        """Write the drill report PDF."""
        self._flush()
        pdf = self.service.report_pdf(who, self.session_id)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(pdf)
        return out


def launch_drill_monitor(scenario: str, speed: float) -> str:
    """A second monitor plays the drill: its simulators write device bytes to ptys that the real
    drivers read, on the drill database, with SIMULATION on every screen."""
    cmd = [sys.executable, "-m", "bedside.cli", "monitor", "--scenario", scenario, "--speed", f"{speed:g}"]
    subprocess.Popen(cmd, start_new_session=True)
    log.info("drill monitor started: %s", " ".join(cmd))
    return (
        f"Drill '{scenario}' started at {speed:g}x in its own monitor window (SIMULATION, drill "
        "database). Log the team and print the report from that window's Session > Drill."
    )


def build_session_services(
    db: Database,
    clock: Clock,
    config: ClinicalConfig,
    *,
    station: str,
    session_id: str,
    clinical: ClinicalSession | None = None,
    desk: ProtocolDesk | None = None,
    simulation: str | None = None,
    scenarios: Sequence[str] = (),
    settings: SettingsStore | None = None,
    hasher: PasswordHasher | None = None,
    port_lister: PortLister | None = None,
    drill_launcher: DrillLauncher | None = None,
    flush: Callable[[], object] = lambda: None,
) -> SessionServices:
    """Every service the session screens use, on the monitor's own database and station."""
    audit = AuditTrail(db, clock, station=station)
    identity = IdentityService(db, clock, audit, config.sign_in, hasher=hasher)
    store = settings or SettingsStore()
    try:
        lock_after_s = store.load().lock_after_s
    except Exception as exc:  # a damaged settings file must not stop the monitor
        log.error("settings: %s; the screen lock uses its default", exc)
        from bedside.workflow.settings import StationSettings

        lock_after_s = StationSettings().lock_after_s
    repo = SessionRepository(db)

    def export(sid: str, fmt: ExportFormat, out: Path, progress: Callable[[ExportProgress], None]) -> Path:
        flush()
        return export_session(repo, sid, fmt, out, progress=progress, config=config)

    drill = AppDrillDesk(DrillService(db, clock, audit), session_id, flush=flush) if db.is_drill else None
    services = SessionServices(
        clock=clock,
        config=config,
        station=Station(SignInDesk(identity, audit), clock, lock_after_s=lock_after_s),
        identity=identity,
        patients=PatientService(db, clock, audit, config.patient_record),
        referral=ReferralService(db, clock, audit),
        records=RecordService(db, clock, audit),
        incidents=IncidentService(db, clock, audit, config.incident_record),
        followups=FollowUpService(db, clock, audit, config.follow_up),
        settings=store,
        devices=DeviceSetup(clock, port_lister=port_lister),
        export=export,
        session_id=session_id,
        clinical=clinical,
        desk=desk,
        simulation=simulation,
        drill=drill,
        launch_drill=drill_launcher or launch_drill_monitor,
        scenarios=tuple(scenarios),
        flush=flush,
    )
    link_patient_to_session(services, SessionRepository(db))
    return services


def link_patient_to_session(services: SessionServices, repo: SessionRepository) -> None:
    """The patient chosen on the Patient screen is stored on the session at once, and a resumed
    session comes back with its patient (issue 9: a session belongs to a room and a patient)."""
    try:
        stored = repo.session(services.session_id).patient_id
    except UnknownRecordError:  # no such session (a screen test's made-up id): nothing to resume
        stored = ""
    if stored:
        services.patient_id = stored

    def store() -> None:
        if not services.patient_id:
            return
        details = services.patients.patient(services.patient_id).details
        repo.set_patient(
            services.session_id, services.patient_id, name=details.name, clinic_id=details.clinic_id
        )

    services.add_listener(store)


def attach_session_screens(window: MonitorWindow, services: SessionServices) -> SessionScreens:
    """The session screens beside the monitor, reached from its Session menu; the signed-in
    clinician becomes the name every monitor action is recorded with."""
    from bedside.views.session.context import SCREENS
    from bedside.views.session.hub import SessionScreens

    screens = SessionScreens(services)

    def follow_sign_in() -> None:
        # Once someone signs in, the monitor's own buttons record the signed-in clinician, never a
        # typed name; the lock disables them (the alarm bar and the protocol panel stay live).
        controls = getattr(window, "session_controls", None)
        if controls is None:
            return
        who = services.station.who()
        if who:
            controls.clinician.setText(who)
            controls.clinician.setReadOnly(True)
        elif controls.clinician.isReadOnly():  # signed out: the name goes with the person
            controls.clinician.clear()
        controls.setEnabled(not services.station.locked)

    services.station.add_listener(follow_sign_in)

    def show_patient() -> None:
        # The banner shows the patient chosen on the Patient screen (issue 10: no patient anywhere).
        if not services.patients_id_known():
            window.show_patient(None)
            return
        details = services.patients.patient(services.patient_id).details
        today = services.clock.now().date()
        born = details.date_of_birth
        age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
        window.show_patient(
            PatientOnScreen(
                name=details.name or details.clinic_id,
                age_years=age,
                weight_kg=details.weight_kg,
                allergies=", ".join(details.allergies) or "no known allergies",
            )
        )

    services.add_listener(show_patient)
    show_patient()
    window.add_session_menu(SCREENS, screens.show_screen)
    return screens
