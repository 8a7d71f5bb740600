"""Approval metadata rules and change-control flags (PRO-1).

Errors (the file is rejected): an ``approved`` file without who/when/review date/hash, a review
date before the approval, a version missing from the change log, an id that does not match the
file name.

Flags (the file loads but is marked, and a run needs the clinician's acknowledgement):
``CHANGED_WITHOUT_APPROVAL`` when the content hash differs from ``approved_hash``: someone edited
the steps without a new version being approved and its hash recorded. ``TEMPLATE`` while the
medical director has not approved it, and ``REVIEW_OVERDUE`` past ``review_due``.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import date

from protocols.graph import Finding
from protocols.model import ProtocolHeader, ProtocolStatus

log = logging.getLogger(__name__)


class ProtocolFlag(enum.StrEnum):
    """Why a loaded protocol is shown marked rather than simply used."""

    TEMPLATE = "template"
    CHANGED_WITHOUT_APPROVAL = "changed_without_approval"
    REVIEW_OVERDUE = "review_overdue"

    @property
    def blocks_silent_use(self) -> bool:
        """True when even the engine refuses a run until a named clinician acknowledges the flag.

        (The app's desk refuses every protocol that is not approved, templates too: PRO-8.)
        """
        return self is ProtocolFlag.CHANGED_WITHOUT_APPROVAL


@dataclass(frozen=True, slots=True)
class FlagNote:
    """A flag with the line it concerns and a sentence for the screen and the binder."""

    flag: ProtocolFlag
    line: int
    message: str


def approval_findings(header: ProtocolHeader, file_stem: str) -> list[Finding]:
    """Rule violations in the approval metadata (each rejects the file)."""
    findings: list[Finding] = []
    if header.id != file_stem:
        findings.append(Finding(("id",), f"id {header.id!r} does not match the file name {file_stem!r}.yaml"))
    if not any(entry.version == header.version for entry in header.changelog):
        findings.append(Finding(("version",), f"version {header.version!r} has no entry in the changelog"))
    if header.status is ProtocolStatus.APPROVED:
        if header.approved_by.strip().upper().startswith("PENDING"):
            findings.append(
                Finding(("approved_by",), "status is approved but approved_by still says PENDING")
            )
        for name in ("approved_on", "review_due", "approved_hash"):
            if getattr(header, name) is None:
                findings.append(Finding(("status",), f"status is approved but {name} is missing"))
    if header.approved_on and header.review_due and header.review_due <= header.approved_on:
        findings.append(
            Finding(
                ("review_due",),
                f"review_due {header.review_due} is not after approved_on {header.approved_on}",
            )
        )
    return findings


def approval_flags(
    header: ProtocolHeader, computed_hash: str, today: date | None, line_of: dict[str, int]
) -> tuple[FlagNote, ...]:
    """Flags for a valid file; ``line_of`` gives the line of each top-level key."""
    notes: list[FlagNote] = []
    if header.status is ProtocolStatus.TEMPLATE:
        notes.append(
            FlagNote(
                ProtocolFlag.TEMPLATE,
                line_of.get("status", 1),
                "template awaiting the clinic medical director's approval: not the clinic's protocol yet",
            )
        )
    if header.approved_hash is not None and header.approved_hash != computed_hash:
        notes.append(
            FlagNote(
                ProtocolFlag.CHANGED_WITHOUT_APPROVAL,
                line_of.get("approved_hash", 1),
                f"content changed since version {header.version} was "
                f"{'approved' if header.status is ProtocolStatus.APPROVED else 'issued'}: "
                f"approved_hash is {header.approved_hash} but the content hashes to {computed_hash}; "
                "raise the version, have it approved and record the new hash",
            )
        )
    if today is not None and header.review_due is not None and header.review_due < today:
        notes.append(
            FlagNote(
                ProtocolFlag.REVIEW_OVERDUE,
                line_of.get("review_due", 1),
                f"review was due on {header.review_due}",
            )
        )
    return tuple(notes)
