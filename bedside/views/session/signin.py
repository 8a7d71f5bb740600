"""Sign-in (PIN or password through the identity service); on a first start, the administrator.

Also the lock overlay: after inactivity, actions wait for the PIN. The overlay covers the session
screens and the session's action buttons only, never the vitals, the alarm bar or CALL 911.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import QFormLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from bedside.views.session.context import Screen, SessionServices, button, wrapped

log = logging.getLogger(__name__)


class SignInScreen(Screen):
    """Sign in with a sign-in name and PIN; a first start creates the administrator first."""

    title = "Sign in"
    audience = "everyone at the station (the first start: the clinic's IT person)"
    signed_in = Signal(str)

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.status = wrapped(name="signInStatus")
        self.body.addWidget(self.status)
        # First start: the administrator's name and PIN (shown only while nobody exists).
        self.first_start = QWidget()
        first = QFormLayout(self.first_start)
        self.admin_name = QLineEdit()
        self.admin_name.setObjectName("adminName")
        self.admin_login = QLineEdit()
        self.admin_login.setObjectName("adminLogin")
        self.admin_secret = QLineEdit()
        self.admin_secret.setObjectName("adminSecret")
        self.admin_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.admin_again = QLineEdit()
        self.admin_again.setObjectName("adminAgain")
        self.admin_again.setEchoMode(QLineEdit.EchoMode.Password)
        first.addRow(wrapped("First start: create the clinic's administrator."))
        first.addRow("Full name", self.admin_name)
        first.addRow("Sign-in name", self.admin_login)
        first.addRow("PIN or password", self.admin_secret)
        first.addRow("Again", self.admin_again)
        first.addRow(button("Create administrator", self._create_admin, name="createAdmin"))
        self.body.addWidget(self.first_start)
        form = QFormLayout()
        self.login = QLineEdit()
        self.login.setObjectName("login")
        self.secret = QLineEdit()
        self.secret.setObjectName("secret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.returnPressed.connect(self._sign_in)
        form.addRow("Sign-in name", self.login)
        form.addRow("PIN or password", self.secret)
        self.body.addLayout(form)
        self.body.addWidget(button("Sign in", self._sign_in, name="signIn"))
        self.body.addWidget(button("Sign out", self._sign_out, name="signOut"))

    def _create_admin(self) -> None:
        if self.admin_secret.text() != self.admin_again.text():
            self.say("the two PINs differ: type the same PIN twice", problem=True)
            return
        try:
            created = self.services.identity.ensure_administrator(
                self.admin_name.text(), self.admin_secret.text(), login=self.admin_login.text() or None
            )
        except Exception as exc:  # the identity service's refusal, in words
            self.say(f"Create administrator: {exc}", problem=True)
            return
        self.admin_secret.clear()
        self.admin_again.clear()
        if created is None:
            self.say("an administrator exists already: sign in", problem=True)
        else:
            self.login.setText(created.login)
            self.say(f"administrator {created.login} created: sign in with that PIN")
        self.refresh()

    def _sign_in(self) -> None:
        try:
            signed = self.services.station.sign_in(self.login.text(), self.secret.text())
        except Exception as exc:  # refused, locked: the identity service's words
            self.say(f"Sign in: {exc}", problem=True)
            return
        finally:
            self.secret.clear()
        self.say(f"signed in: {signed.name} ({signed.role.words})")
        self.refresh()
        self.signed_in.emit(signed.who)

    def _sign_out(self) -> None:
        self.services.station.sign_out()
        self.say("signed out")
        self.refresh()

    def refresh(self) -> None:
        """Who is signed in, and whether this is a first start."""
        first = not self.services.identity.has_clinicians()
        self.first_start.setVisible(first)
        current = self.services.station.signed_in
        self.status.setText(
            "First start: nobody can sign in yet."
            if first
            else "Nobody is signed in: every action is recorded with the signed-in clinician."
            if current is None
            else f"Signed in: {current.name} ({current.who}, {current.role.words}) since {current.at:%H:%M}"
        )


class LockOverlay(QWidget):
    """Covers its parent's actions after inactivity; the signed-in clinician's PIN opens it.

    Put it over the session screens and the session's buttons only: the vitals, the alarm bar and
    CALL 911 stay outside it (issue 10: "actions lock, never the vitals or the alarms").
    """

    unlocked = Signal()

    def __init__(self, services: SessionServices, parent: QWidget) -> None:
        super().__init__(parent)
        self.services = services
        self._host = parent
        self.setObjectName("lockOverlay")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.setStyleSheet("#lockOverlay { background: rgba(11, 15, 20, 235); }")
        column = QVBoxLayout(self)
        column.addStretch(1)
        self.words = QLabel("")
        self.words.setWordWrap(True)
        self.words.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.words.setStyleSheet("font-weight: bold;")
        column.addWidget(self.words)
        self.secret = QLineEdit()
        self.secret.setObjectName("unlockSecret")
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.secret.setPlaceholderText("PIN")
        self.secret.returnPressed.connect(self._unlock)
        column.addWidget(self.secret)
        column.addWidget(button("Unlock", self._unlock, name="unlock"))
        self.message = wrapped(name="unlockMessage")
        self.message.setStyleSheet("color: #ff8080;")
        column.addWidget(self.message)
        column.addStretch(1)
        services.station.add_listener(self.follow)
        parent.installEventFilter(self)
        self.follow()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        """Keep covering the parent when it is resized."""
        if watched is self._host and event.type() == QEvent.Type.Resize:
            self.setGeometry(self._host.rect())
        return False

    def follow(self) -> None:
        """Show while the station is locked, hide when it opens."""
        station = self.services.station
        if station.locked:
            who = station.signed_in.name if station.signed_in else ""
            self.words.setText(
                f"Locked after inactivity ({who}). Vitals and alarms stay live; enter the PIN to act."
            )
            self.setGeometry(self._host.rect())
            self.show()
            self.raise_()
        else:
            self.hide()

    def _unlock(self) -> None:
        try:
            self.services.station.unlock(self.secret.text())
        except Exception as exc:  # wrong PIN, locked account: the identity service's words
            self.message.setText(str(exc))
            return
        finally:
            self.secret.clear()
        self.message.setText("")
        self.unlocked.emit()
