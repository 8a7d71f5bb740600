"""What the session screens are given: the Qt-free services and who is signed in (issue 10).

The composition root (``bedside.app.session``) builds one ``SessionServices``; every screen reads
and calls those services and shows their refusals. No screen opens a database or decides a rule.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from alarms import ClinicalConfig
from bedside.views.widgets import SimulationBanner
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.devices import DeviceSetup
from bedside.workflow.export import ExportFormat, ExportProgress
from bedside.workflow.followup import FollowUpService, ThresholdSuggestion
from bedside.workflow.identity import IdentityService, SignedIn
from bedside.workflow.incidents import IncidentService
from bedside.workflow.patients import PatientService
from bedside.workflow.protocol_desk import ProtocolDesk
from bedside.workflow.record import RecordService
from bedside.workflow.referral import ReferralService
from bedside.workflow.settings import SettingsStore
from bedside.workflow.station import Station
from drivers.clock import Clock

log = logging.getLogger(__name__)

# The session screens' two message colours (the lead may move them into theme.py): words always
# come with them, so colour is never the only cue.
REFUSED_COLOUR = "#ff8080"
DONE_COLOUR = "#9be39b"

#: The screens in the order of a session; the window's Session menu lists them so.
SCREENS = (
    "Sign in",
    "Patient",
    "Devices",
    "Baseline",
    "Thresholds",
    "Checklist",
    "Incident",
    "Discharge",
    "Follow-up",
    "Export",
    "Settings",
    "Drill",
)


#: Exports one session's record (session id, format, file, progress callback) and returns the file;
#: called off the GUI thread.
ExportRunner = Callable[[str, ExportFormat, Path, Callable[[ExportProgress], None]], Path]


@dataclass(frozen=True, slots=True)
class DrillTiming:
    """One alarm's team response in a drill, in the words of the drill report."""

    alarm: str
    raised: str
    acknowledged: str
    protocol_started: str
    first_step: str


#: Starts a drill (scenario, speed) in its own monitor: simulators through the real drivers, on the
#: drill database, SIMULATION on every screen; returns what the screen says.
DrillLauncher = Callable[[str, float], str]


class DrillDesk(Protocol):
    """The drill services of a drill monitor's Drill screen (the drill database only, DRL-1/DRL-2)."""

    def log(self, who: str, *, drill_date: date, scenario: str, participants: Sequence[str]) -> None:
        """Log the drill on the running drill session."""
        ...

    def timings(self) -> list[DrillTiming]:
        """The team's response timings so far."""
        ...

    def report(self, who: str, out: Path) -> Path:
        """Write the drill report PDF (DRILL on every page) to ``out``."""
        ...


@dataclass
class SessionServices:
    """Everything the session screens show and call, for one station and one monitored session."""

    clock: Clock
    config: ClinicalConfig
    station: Station
    identity: IdentityService
    patients: PatientService
    referral: ReferralService
    records: RecordService
    incidents: IncidentService
    followups: FollowUpService
    settings: SettingsStore
    devices: DeviceSetup
    export: ExportRunner
    session_id: str
    clinical: ClinicalSession | None = None
    desk: ProtocolDesk | None = None
    simulation: str | None = None  # the scenario when the monitor runs simulators (SIMULATION)
    drill: DrillDesk | None = None  # only on a drill monitor (drill database)
    launch_drill: DrillLauncher | None = None
    scenarios: Sequence[str] = ()
    patient_id: str = ""  # the patient of this session, once chosen on the Patient screen
    #: Thresholds suggested by the patient's last follow-up outcome, waiting for a clinician (THR-1).
    suggestion: ThresholdSuggestion | None = None
    #: Waits until every record put so far is in the database (the monitor's storage writer):
    #: an alarm shown on screen is then found by its stored row (an incident links it, DOC-2).
    flush: Callable[[], object] = lambda: None
    _listeners: list[Callable[[], None]] = field(default_factory=list)

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` when the session's patient changes."""
        self._listeners.append(listener)

    def choose_patient(self, patient_id: str) -> None:
        """This session is for ``patient_id`` (chosen on the Patient screen)."""
        self.patient_id = patient_id
        for listener in list(self._listeners):
            listener()

    def patients_id_known(self) -> bool:
        """True once this session has a patient (chosen on the Patient screen)."""
        return bool(self.patient_id)

    def signer(self) -> SignedIn:
        """The clinician an action is recorded for; NotSignedIn / StationLocked otherwise."""
        return self.station.require()


class Screen(QScrollArea):
    """One session screen: a title, the SIMULATION mark when simulated, a body and a message line.

    A screen's actions go through ``act``, which records them for the signed-in clinician and shows
    any refusal in words; ``refresh`` re-reads the services.
    """

    title = ""
    #: Who the screen is for (README "Screens").
    audience = "the CRNA at the bedside"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.setWidgetResizable(True)
        self.setFrameShape(QScrollArea.Shape.NoFrame)
        inner = QWidget()
        self.setWidget(inner)
        self.outer = QVBoxLayout(inner)
        self.outer.setContentsMargins(12, 8, 12, 8)
        heading = QLabel(self.title)
        heading.setObjectName("screenTitle")
        self.outer.addWidget(heading)
        if services.simulation is not None:
            sim = SimulationBanner(services.simulation)
            sim.setObjectName("simulationMark")
            sim.setWordWrap(True)
            self.outer.addWidget(sim)
        self.body = QVBoxLayout()
        self.outer.addLayout(self.body)
        self.message = QLabel("")
        self.message.setObjectName("screenMessage")
        self.message.setWordWrap(True)
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message.setStyleSheet(f"color: {REFUSED_COLOUR};")
        self.outer.addWidget(self.message)
        self.outer.addStretch(1)

    def say(self, text: str, *, problem: bool = False) -> None:
        """Show ``text`` under the screen (red when it is a refusal)."""
        colour = REFUSED_COLOUR if problem else DONE_COLOUR
        self.message.setStyleSheet(f"color: {colour};")
        self.message.setText(text)

    def act(self, what: str, action: Callable[[SignedIn], object]) -> object | None:
        """Run ``action`` for the signed-in clinician; a refusal is shown, never raised to Qt."""
        try:
            signer = self.services.signer()
            result = action(signer)
        except Exception as exc:  # every service refusal is a sentence for the screen
            log.info("%s refused: %s", what, exc)
            self.say(f"{what}: {exc}", problem=True)
            return None
        self.say(f"{what}: done")
        self.services.station.touched()
        self.refresh()
        return result

    def refresh(self) -> None:
        """Re-read what the screen shows (called when it is shown and after each action)."""

    def showEvent(self, event: QShowEvent) -> None:
        """Each time the screen is shown it shows the services' state now."""
        self.refresh()
        super().showEvent(event)


def button(text: str, handler: Callable[[], object], *, name: str = "") -> QPushButton:
    """A push button whose whole text always shows (no eliding, issue 10)."""
    b = QPushButton(text)
    b.setObjectName(name or text)
    b.setMinimumHeight(36)
    b.clicked.connect(lambda _=False: handler())
    return b


def fit_columns(table: QTableWidget) -> None:
    """Columns follow their contents (and the text size), the last one takes the rest: no cell is
    cut short with "..." (issue 10: never elide)."""
    header = table.horizontalHeader()
    header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    header.setStretchLastSection(True)
    table.setTextElideMode(Qt.TextElideMode.ElideNone)


def wrapped(text: str = "", *, name: str = "") -> QLabel:
    """A label that wraps rather than being cut."""
    label = QLabel(text)
    label.setWordWrap(True)
    if name:
        label.setObjectName(name)
    return label
