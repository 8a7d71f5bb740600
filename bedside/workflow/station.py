"""Who may act at this station now: the signed-in clinician and the inactivity lock (issue 10).

Qt-free. The screens report each touch (``touched``); after ``lock_after_s`` without one, actions
lock behind the signed-in clinician's PIN. The lock covers actions only: vitals, alarms and the
CALL 911 control are never behind it, and the views must keep them outside the lock overlay.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from bedside.workflow.identity import NotSignedIn, SignedIn, SignInDesk, SignInRefused
from drivers.clock import Clock
from storage import PatientDetails, PatientRecord, ReferringProvider

# The record types the session screens build and show: re-exported here because a view may not
# import storage itself (import-linter "Views only show").
from storage.followup import ConsentRecord, FollowUpRecord

log = logging.getLogger(__name__)

Listener = Callable[[], None]


class StationLocked(NotSignedIn):
    """An action was tried while the station is locked; the PIN unlocks it."""


class Station:
    """The sign-in desk of this station with its inactivity lock."""

    def __init__(self, desk: SignInDesk, clock: Clock, *, lock_after_s: float) -> None:
        self.desk = desk
        self._clock = clock
        self.lock_after_s = lock_after_s
        self._last_touch = clock.monotonic()
        self._locked = False
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener()`` when someone signs in or out, or the lock closes or opens."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in list(self._listeners):
            listener()

    @property
    def signed_in(self) -> SignedIn | None:
        """The clinician signed in here, if any (also while locked)."""
        return self.desk.current

    @property
    def locked(self) -> bool:
        """True while actions wait for the PIN."""
        return self._locked

    def sign_in(self, login: str, secret: str) -> SignedIn:
        """Sign in (SignInRefused / AccountLocked as the identity service says); unlocks."""
        signed_in = self.desk.sign_in(login, secret)
        self._locked = False
        self._last_touch = self._clock.monotonic()
        self._changed()
        return signed_in

    def sign_out(self) -> None:
        """Sign out; actions need a sign-in again."""
        self.desk.sign_out()
        self._locked = False
        self._changed()

    def touched(self) -> None:
        """The clinician touched the screen or the keyboard: the inactivity time starts again."""
        if not self._locked:
            self._last_touch = self._clock.monotonic()

    def tick(self) -> None:
        """Close the lock once the inactivity time has passed (call on the app's heartbeat)."""
        if self._locked or self.desk.current is None:
            return
        if self._clock.monotonic() - self._last_touch >= self.lock_after_s:
            self._locked = True
            log.info("station locked after %.0f s without a touch", self.lock_after_s)
            self._changed()

    def unlock(self, secret: str) -> SignedIn:
        """Open the lock with the signed-in clinician's PIN (counted like a sign-in)."""
        current = self.desk.current
        if current is None:
            raise NotSignedIn("nobody is signed in at this station: sign in first")
        signed_in = self.desk.sign_in(current.who, secret)
        self._locked = False
        self._last_touch = self._clock.monotonic()
        self._changed()
        return signed_in

    def require(self) -> SignedIn:
        """The clinician an action is recorded for; NotSignedIn or StationLocked when none may act."""
        if self._locked:
            raise StationLocked("the station is locked after inactivity: enter your PIN to go on")
        return self.desk.require()

    def who(self) -> str:
        """The signed-in clinician's sign-in name, or "" (for views that show it)."""
        current = self.desk.current
        return "" if current is None else current.who


__all__ = [
    "ConsentRecord",
    "FollowUpRecord",
    "PatientDetails",
    "PatientRecord",
    "ReferringProvider",
    "SignInRefused",
    "Station",
    "StationLocked",
]
