"""Named clinicians: every confirmation, attestation and change is attributed to a person."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class UnnamedClinicianError(ValueError):
    """An action that needs a named clinician was attempted without a name."""


def require_clinician(name: str | None, action: str) -> str:
    """The clinician's name, stripped; raises when it is missing or blank."""
    if name is None or not name.strip():
        raise UnnamedClinicianError(f"{action} must be attributed to a named clinician")
    return name.strip()
