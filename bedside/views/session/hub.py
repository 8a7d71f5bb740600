"""The session screens in one window beside the monitor: a list of screens, the screen, the
signed-in clinician and the session's patient, and the lock overlay over the screens only.

The monitor window stays live and uncovered (alarms, CALL 911); the Session menu of the monitor
window opens this window at a screen (``show_screen``).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QCloseEvent, QResizeEvent
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

#: The screens' look: dark like the monitor, fields and buttons with visible edges (a dim room).
SCREEN_STYLE = """
QWidget { background: #0b0f14; color: #d8dee9; font-size: FONTpx; }
QLabel#screenTitle { font-size: TITLEpx; font-weight: bold; }
QLabel#sessionBanner { font-weight: bold; padding: 4px; background: #11161c; }
QLineEdit, QComboBox, QAbstractSpinBox, QPlainTextEdit, QListWidget, QTableWidget {
    background: #161d26; border: 1px solid #4a5668; border-radius: 3px; padding: 3px; }
QLineEdit:focus, QComboBox:focus, QAbstractSpinBox:focus, QPlainTextEdit:focus { border: 2px solid #00b8d4; }
QPushButton { background: #1f2a36; border: 1px solid #6b7a8f; border-radius: 4px; padding: 6px 14px; }
QPushButton:hover { background: #2a3848; }
QPushButton:disabled { color: #6b7a8f; }
QGroupBox { border: 1px solid #2e3a48; border-radius: 4px; margin-top: 18px; padding-top: 6px; }
QGroupBox::title { subcontrol-origin: margin; left: 8px; color: #9fb3c8; }
QHeaderView::section { background: #1a222c; color: #9fb3c8; border: none; padding: 3px; }
QListWidget::item:selected, QTableWidget::item:selected { background: #00607a; }
QCheckBox::indicator {
    width: 18px; height: 18px; border: 2px solid #9fb3c8; border-radius: 3px; background: #161d26; }
QCheckBox::indicator:checked { background: #00b8d4; border-color: #00b8d4; }
"""

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
        self._font_px = 0
        self.resize(1280, 720)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self.banner = QLabel("")
        self.banner.setObjectName("sessionBanner")
        self.banner.setWordWrap(True)
        outer.addWidget(self.banner)
        row = QHBoxLayout()
        outer.addLayout(row, 1)
        self.nav = QListWidget()
        self.nav.setObjectName("screenList")
        self.nav.addItems(list(SCREENS))
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
        self._scale_text()
        self.nav.setCurrentRow(0)
        self.lock = LockOverlay(services, self.stack_holder)
        self._watch = _ActivityWatch(services)
        app = QApplication.instance()
        if app is not None:
            app.installEventFilter(self._watch)
        services.station.add_listener(self.show_banner)
        services.add_listener(self.show_banner)
        self.show_banner()

    def _scale_text(self) -> None:
        """Text grows with the window: 15 px at 768 px high, about 21 px at 1080 (read from the chair)."""
        font_px = max(15, round(self.height() / 51))
        if font_px != self._font_px:
            self._font_px = font_px
            title_px = round(font_px * 1.5)
            self.setStyleSheet(SCREEN_STYLE.replace("FONT", str(font_px)).replace("TITLE", str(title_px)))
            self.nav.setFixedWidth(font_px * 10)

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Re-scale the text to the new size."""
        super().resizeEvent(event)
        self._scale_text()

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

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the screens stops any connection test (the ports go back to the monitor)."""
        self.services.devices.stop_all()
        super().closeEvent(event)
