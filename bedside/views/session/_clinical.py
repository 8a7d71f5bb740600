"""Shared by the screens that act on the monitored session: "no session" in words."""

from __future__ import annotations

import logging

from bedside.workflow.clinical import ClinicalSession

log = logging.getLogger(__name__)

NO_SESSION = "This station is not monitoring a session: start `bedside monitor` first."


class NoSessionError(RuntimeError):
    """The screen needs the monitored session and there is none."""


def need(clinical: ClinicalSession | None) -> ClinicalSession:
    """The monitored session, or NoSessionError in words."""
    if clinical is None:
        raise NoSessionError(NO_SESSION)
    return clinical
