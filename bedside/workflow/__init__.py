"""Qt-free services, one per clinic workflow; the views only show them."""

from __future__ import annotations

from bedside.workflow.approvals import CLINIC_DEFAULTS, PROTOCOL, ApprovalService
from bedside.workflow.audit import Actor, AuditAction, AuditTrail
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
    "IdentityError",
    "IdentityService",
    "NotPermitted",
    "NotSignedIn",
    "PatientDetailsError",
    "PatientService",
    "Role",
    "SecretRejected",
    "Sex",
    "SignInDesk",
    "SignInRefused",
    "SignedIn",
    "check_patient",
    "require_role",
]
