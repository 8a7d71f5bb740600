"""A medical director approves protocols and clinic defaults (issue 9, Identity), by content hash.

An approval records exactly what was approved: a protocol's content hash (the value its
``approved_hash`` must carry, see protocols/FORMAT.md) or the sha256 of a clinic defaults file,
with who approved it and when, in the approvals table and the audit trail. The file itself is
validated first: nothing invalid can be approved.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from alarms import load_config
from bedside.workflow.audit import AuditAction, AuditTrail
from bedside.workflow.identity import Role, SignedIn, require_role
from drivers.clock import Clock
from protocols import load_protocol
from storage import ApprovalRecord, Database, IdentityRepository

log = logging.getLogger(__name__)

PROTOCOL = "protocol"
CLINIC_DEFAULTS = "clinic_defaults"


class ApprovalService:
    """Records approvals; only a medical director may approve."""

    def __init__(self, db: Database, clock: Clock, audit: AuditTrail) -> None:
        self._repository = IdentityRepository(db)
        self._clock = clock
        self._audit = audit

    def approve_protocol(self, by: SignedIn, path: Path) -> ApprovalRecord:
        """Approve the protocol file at ``path`` as it stands (ProtocolFileError if it is invalid)."""
        require_role(by, Role.MEDICAL_DIRECTOR)
        loaded = load_protocol(Path(path))
        return self._record(
            by,
            PROTOCOL,
            loaded.id,
            version=loaded.protocol.version,
            digest=loaded.content_hash,
            action=AuditAction.PROTOCOL_APPROVED,
        )

    def approve_clinic_defaults(self, by: SignedIn, path: Path) -> ApprovalRecord:
        """Approve a clinic defaults file as it stands (ConfigError if it is invalid)."""
        require_role(by, Role.MEDICAL_DIRECTOR)
        load_config(Path(path))  # validates: an invalid file cannot be approved
        digest = "sha256:" + hashlib.sha256(Path(path).read_bytes()).hexdigest()
        return self._record(
            by,
            CLINIC_DEFAULTS,
            Path(path).name,
            version="",
            digest=digest,
            action=AuditAction.CLINIC_DEFAULTS_APPROVED,
        )

    def _record(
        self, by: SignedIn, kind: str, subject: str, *, version: str, digest: str, action: AuditAction
    ) -> ApprovalRecord:
        record = self._repository.add_approval(
            kind=kind,
            subject=subject,
            version=version,
            content_hash=digest,
            approved_by=by.who,
            approved_by_name=by.name,
            at=self._clock.now(),
        )
        self._audit.append(by, action, subject, {"version": version, "content_hash": digest})
        log.info("%s approved %s %s (%s)", by.who, kind, subject, digest)
        return record

    def approvals(self, kind: str | None = None, subject: str | None = None) -> list[ApprovalRecord]:
        """Approvals, oldest first."""
        return self._repository.approvals(kind, subject)

    def is_approved(self, kind: str, subject: str, content_hash: str) -> bool:
        """True when the newest approval of ``subject`` is of exactly this content."""
        found = self._repository.approvals(kind, subject)
        return bool(found) and found[-1].content_hash == content_hash
