"""The audit trail as the clinic's services use it: who did what, where, when, chained and durable.

Any service records an action with ``AuditTrail.append(who, action, subject, details)``; ``who`` is
the ``SignedIn`` clinician (or a plain name such as "first start" for the system itself). The
entry is committed before ``append`` returns: an action whose entry cannot be written raises
``AuditWriteError`` and must not be reported as done. Secrets never go into details.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Protocol

from drivers.clock import Clock
from storage import AuditEntry, AuditRepository, Database, StorageError, VerifyResult

log = logging.getLogger(__name__)


class AuditAction(enum.StrEnum):
    """Actions this slice records; other services may record their own words (threshold_changed ...)."""

    ADMINISTRATOR_CREATED = "administrator_created"
    SIGN_IN = "sign_in"
    SIGN_IN_REFUSED = "sign_in_refused"
    ACCOUNT_LOCKED = "account_locked"
    SIGN_OUT = "sign_out"
    CLINICIAN_ADDED = "clinician_added"
    SECRET_CHANGED = "secret_changed"
    PATIENT_ADDED = "patient_added"
    PATIENT_CHANGED = "patient_changed"
    PROTOCOL_APPROVED = "protocol_approved"
    CLINIC_DEFAULTS_APPROVED = "clinic_defaults_approved"


class Actor(Protocol):
    """Anyone an entry can name: a signed-in clinician has a sign-in name (``who``)."""

    @property
    def who(self) -> str: ...


class AuditTrail:
    """The audit trail of one database as seen from one station (room)."""

    def __init__(self, db: Database, clock: Clock, station: str) -> None:
        self._repository = AuditRepository(db)
        self._clock = clock
        self.station = station

    def append(
        self,
        who: Actor | str,
        action: str,
        subject: str = "",
        details: Mapping[str, Any] | None = None,
    ) -> AuditEntry:
        """Record one action now, durably (committed before this returns)."""
        name = who if isinstance(who, str) else who.who
        entry = self._repository.append(
            at=self._clock.now(),
            who=name,
            station=self.station,
            action=str(action),
            subject=subject,
            details=details,
        )
        log.debug("audit %d: %s %s %s", entry.seq, name, action, subject)
        return entry

    def verify(self) -> VerifyResult:
        """Prove the chain or name the first broken entry (seq and why)."""
        return self._repository.verify()

    def entries(self) -> Iterator[AuditEntry]:
        """Every entry, oldest first."""
        return self._repository.entries()


#: The name an entry carries when an action had no person (a timer step the monitor itself took).
SYSTEM_ACTOR = "Bedside"


def trail_sink(
    trail: AuditTrail, on_failure: Callable[[str], None] | None = None
) -> Callable[[str, str, str, Mapping[str, Any]], None]:
    """An audit sink for ``ClinicalSession`` / ``ProtocolDesk`` that appends to ``trail``, durably.

    A failed audit write never undoes or blocks the clinical action at the bedside (an
    acknowledgement refused because the audit database is down would leave an alarm sounding):
    it is logged as an error and reported to ``on_failure`` (the app shows it), and the action's
    own record (alarm event, threshold change, protocol step) is still kept by the recorder.
    """

    def sink(who: str, action: str, subject: str, details: Mapping[str, Any]) -> None:
        try:
            trail.append(who.strip() or SYSTEM_ACTOR, action, subject, details)
        except (StorageError, ValueError) as exc:
            log.error("audit entry %s by %s could not be written: %s", action, who, exc)
            if on_failure is not None:
                on_failure(f"audit trail not written ({action}): {exc}")

    return sink
