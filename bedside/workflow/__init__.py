"""Qt-free services, one per clinic workflow; the views only show them."""

from __future__ import annotations

from bedside.workflow.approvals import CLINIC_DEFAULTS, PROTOCOL, ApprovalService
from bedside.workflow.audit import Actor, AuditAction, AuditTrail
from bedside.workflow.export import (
    ExportError,
    ExportFormat,
    ExportProgress,
    SessionNotFoundError,
    export_session,
    import_session_json,
)
from bedside.workflow.identity import (
    AccountLocked,
    Clinician,
    ClinicianDetailsError,
    IdentityError,
    IdentityService,
    NotPermitted,
    NotSignedIn,
    Role,
    SecretRejected,
    SignedIn,
    SignInDesk,
    SignInRefused,
    require_role,
)
from bedside.workflow.patients import PatientDetailsError, PatientService, Sex, check_patient

__all__ = [
    "CLINIC_DEFAULTS",
    "PROTOCOL",
    "AccountLocked",
    "Actor",
    "ApprovalService",
    "AuditAction",
    "AuditTrail",
    "Clinician",
    "ClinicianDetailsError",
    "ExportError",
    "ExportFormat",
    "ExportProgress",
    "IdentityError",
    "IdentityService",
    "NotPermitted",
    "NotSignedIn",
    "PatientDetailsError",
    "PatientService",
    "Role",
    "SecretRejected",
    "SessionNotFoundError",
    "Sex",
    "SignInDesk",
    "SignInRefused",
    "SignedIn",
    "check_patient",
    "export_session",
    "import_session_json",
    "require_role",
]
