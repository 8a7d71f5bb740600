"""Qt-free services, one per clinic workflow; the views only show them.

The package's names are imported on first use (PEP 562): importing one service, or the monitor
window through ``workflow.protocol_desk``, must not load SQLAlchemy, reportlab and the FHIR
models that other services need (issue 10: cold start to the first number under 1 s).
``from bedside.workflow import AuditTrail`` works as before.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from drivers.lazy import lazy_package

if TYPE_CHECKING:
    from bedside.workflow.approvals import (
        CLINIC_DEFAULTS,
        PROTOCOL,
        ApprovalService,
    )
    from bedside.workflow.audit import (
        Actor,
        AuditAction,
        AuditTrail,
    )
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
    from bedside.workflow.incidents import (
        IncidentClosedError,
        IncidentEntryError,
        IncidentError,
        IncidentRecord,
        IncidentService,
        IncidentSource,
        LinkKind,
        Outcome,
        ProtocolFollowed,
        ProtocolRef,
        ReviewNotDue,
        SeriousCriterion,
    )
    from bedside.workflow.patients import (
        PatientDetailsError,
        PatientService,
        Sex,
        check_patient,
    )
    from bedside.workflow.record import (
        MedicationEntry,
        RecordEntryError,
        RecordError,
        RecordService,
        Route,
    )

#: Where each public name lives: its module is imported when the name is first asked for.
_SOURCE_MODULE: dict[str, str] = {
    "CLINIC_DEFAULTS": "approvals",
    "PROTOCOL": "approvals",
    "ApprovalService": "approvals",
    "Actor": "audit",
    "AuditAction": "audit",
    "AuditTrail": "audit",
    "ExportError": "export",
    "ExportFormat": "export",
    "ExportProgress": "export",
    "SessionNotFoundError": "export",
    "export_session": "export",
    "import_session_json": "export",
    "AccountLocked": "identity",
    "Clinician": "identity",
    "ClinicianDetailsError": "identity",
    "IdentityError": "identity",
    "IdentityService": "identity",
    "NotPermitted": "identity",
    "NotSignedIn": "identity",
    "Role": "identity",
    "SecretRejected": "identity",
    "SignedIn": "identity",
    "SignInDesk": "identity",
    "SignInRefused": "identity",
    "require_role": "identity",
    "IncidentClosedError": "incidents",
    "IncidentEntryError": "incidents",
    "IncidentError": "incidents",
    "IncidentRecord": "incidents",
    "IncidentService": "incidents",
    "IncidentSource": "incidents",
    "LinkKind": "incidents",
    "Outcome": "incidents",
    "ProtocolFollowed": "incidents",
    "ProtocolRef": "incidents",
    "ReviewNotDue": "incidents",
    "SeriousCriterion": "incidents",
    "PatientDetailsError": "patients",
    "PatientService": "patients",
    "Sex": "patients",
    "check_patient": "patients",
    "MedicationEntry": "record",
    "RecordEntryError": "record",
    "RecordError": "record",
    "RecordService": "record",
    "Route": "record",
}

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
    "IncidentClosedError",
    "IncidentEntryError",
    "IncidentError",
    "IncidentRecord",
    "IncidentService",
    "IncidentSource",
    "LinkKind",
    "MedicationEntry",
    "NotPermitted",
    "NotSignedIn",
    "Outcome",
    "PatientDetailsError",
    "PatientService",
    "ProtocolFollowed",
    "ProtocolRef",
    "RecordEntryError",
    "RecordError",
    "RecordService",
    "ReviewNotDue",
    "Role",
    "Route",
    "SecretRejected",
    "SeriousCriterion",
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


__getattr__, __dir__ = lazy_package(__name__, _SOURCE_MODULE, globals(), __all__)
