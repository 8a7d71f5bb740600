"""The session screens in one window beside the monitor: a list of screens, the screen, the
signed-in clinician and the session's patient, and the lock overlay over the screens only.

The monitor window stays live and uncovered (alarms, CALL 911); the Session menu of the monitor
window opens this window at a screen (``show_screen``).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from bedside.views.session.baseline import BaselineScreen
from bedside.views.session.checklist import ChecklistScreen
from bedside.views.session.context import SCREENS, Screen, SessionServices
from bedside.views.session.devices import DevicesScreen
from bedside.views.session.discharge import DischargeScreen
from bedside.views.session.drill import DrillScreen
from bedside.views.session.export import ExportScreen
from bedside.views.session.followup import FollowUpScreen
from bedside.views.session.incident import IncidentScreen
from bedside.views.session.patient import PatientScreen, patient_words
from bedside.views.session.settings import SettingsScreen
from bedside.views.session.signin import LockOverlay, SignInScreen
from bedside.views.session.thresholds import ThresholdsScreen

log = logging.getLogger(__name__)

_SCREEN_TYPES: dict[str, type[Screen]] = {
    "Sign in": SignInScreen,
    "Patient": PatientScreen,
    "Devices": DevicesScreen,
    "Baseline": BaselineScreen,
    "Thresholds": ThresholdsScreen,
    "Checklist": ChecklistScreen,
    "Incident": IncidentScreen,
    "Discharge": DischargeScreen,
    "Follow-up": FollowUpScreen,
    "Export": ExportScreen,
    "Settings": SettingsScreen,
    "Drill": DrillScreen,
}
assert tuple(_SCREEN_TYPES) == SCREENS


class _ActivityWatch(QObject):
    """Every key press and click in the app counts as a touch for the inactivity lock."""

    _TOUCHES = (QEvent.Type.KeyPress, QEvent.Type.MouseButtonPress, QEvent.Type.TouchBegin)

    def __init__(self, services: SessionServices) -> None:
        super().__init__()
        self.services = services

    def eventFilter(self, _watched: QObject, event: QEvent) -> bool:
        """Report a touch; never consumes the event."""
        if event.type() in self._TOUCHES:
            self.services.station.touched()
        return False


class SessionScreens(QWidget):
    """Every session screen, one at a time, beside the monitor."""

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        title = "Bedside — session" + (" — SIMULATION" if services.simulation else "")
        self.setWindowTitle(title)
        self.setStyleSheet("background: #0b0f14; color: #d8dee9; font-size: 14px;")
        self.resize(1280, 720)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self.banner = QLabel("")
        self.banner.setObjectName("sessionBanner")
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet("font-size: 16px; font-weight: bold; padding: 4px; background: #11161c;")
        outer.addWidget(self.banner)
        row = QHBoxLayout()
        outer.addLayout(row, 1)
        self.nav = QListWidget()
        self.nav.setObjectName("screenList")
        self.nav.addItems(list(SCREENS))
        self.nav.setFixedWidth(150)
        self.nav.setStyleSheet("font-size: 16px;")
        row.addWidget(self.nav)
        self.stack_holder = QWidget()
        holder = QVBoxLayout(self.stack_holder)
        holder.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget()
        holder.addWidget(self.stack)
        row.addWidget(self.stack_holder, 1)
        self.screens: dict[str, Screen] = {}
        for name, kind in _SCREEN_TYPES.items():
            screen = kind(services)
            self.screens[name] = screen
            self.stack.addWidget(screen)
        self.nav.currentRowChanged.connect(self.stack.setCurrentIndex)
        self.nav.setCurrentRow(0)
        self.lock = LockOverlay(services, self.stack_holder)
        self._watch = _ActivityWatch(services)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._watch)
        services.station.add_listener(self.show_banner)
        services.add_listener(self.show_banner)
        self.show_banner()

    def show_screen(self, name: str) -> Screen:
        """Bring this window up at the screen ``name`` (one of ``SCREENS``)."""
        self.nav.setCurrentRow(SCREENS.index(name))
        self.show()
        self.raise_()
        self.activateWindow()
        return self.screens[name]

    def show_banner(self) -> None:
        """The signed-in clinician and the session's patient, always at the top."""
        s = self.services
        who = s.station.signed_in
        signed = f"{who.name} ({who.role.words})" if who else "nobody signed in"
        if s.station.locked:
            signed += " — LOCKED"
        patient = "no patient chosen"
        if s.patient_id:
            try:
                patient = patient_words(s.patients.patient(s.patient_id), s.clock.now().date())
            except Exception as exc:  # a patient that cannot be read: say so in the banner
                patient = f"patient cannot be read ({exc})"
        sim = "SIMULATION — " if s.simulation else ""
        self.banner.setText(f"{sim}Clinician: {signed}  |  Patient: {patient}")

    def tick(self) -> None:
        """The app's heartbeat: the inactivity lock closes when its time has passed."""
        self.services.station.tick()

    def closeEvent(self, event: object) -> None:
        """Closing the screens stops any connection test (the ports go back to the monitor)."""
        self.services.devices.stop_all()
        super().closeEvent(event)  # type: ignore[arg-type]
