"""Durable storage: migrated SQL database, a batching writer thread, and a repository to read back.

Names are imported on first use (PEP 562): a record type such as ``ProtocolStepRecord`` costs
no SQLAlchemy, so the monitor window shows its first number before the database is opened
(issue 10). ``from storage import X`` works as before.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from storage._utc import (
        NaiveTimeError,
    )
    from storage.audit import (
        AuditDetailsError,
        AuditEntry,
        AuditRepository,
        AuditWriteError,
        VerifyResult,
    )
    from storage.database import (
        APP_NAME,
        DRILL_DATABASE_FILE,
        PATIENT_DATABASE_FILE,
        Database,
        create_storage_engine,
        default_database_url,
        migrate_to_head,
        open_database,
        url_from_command_line,
    )
    from storage.errors import (
        DatabaseDriverMissingError,
        DatabaseFolderError,
        DatabasePurposeError,
        DatabaseSettingError,
        DatabaseUnreachableError,
        DrillMixingError,
        StorageError,
        UnknownRecordError,
        WriterClosedError,
    )
    from storage.files import (
        make_owner_only_folder,
        write_owner_only,
    )
    from storage.identity import (
        AdministratorExistsError,
        ApprovalRecord,
        ClinicianRecord,
        DuplicateLoginError,
        DuplicatePatientError,
        IdentityRepository,
        PatientDetails,
        PatientRecord,
        ReferringProvider,
    )
    from storage.records import (
        DURABLE_RECORDS,
        SHEDDABLE_RECORDS,
        AlarmEventRecord,
        AttestationRecord,
        BaselineOverride,
        BaselineRecord,
        ClinicalSnapshotRecord,
        DeviceEventRecord,
        IncidentClosedRecord,
        IncidentOpenedRecord,
        IncidentSummary,
        MonitoringGapRecord,
        NibpIntervalChangeRecord,
        NoteRecord,
        ObservationRecord,
        PhaseTransitionRecord,
        ProtocolRunEndedRecord,
        ProtocolRunStartedRecord,
        ProtocolRunSummary,
        ProtocolStepRecord,
        SessionEndedRecord,
        SessionSummary,
        SourceTrend,
        StoredRecord,
        ThresholdChangeRecord,
        ThresholdSetRecord,
        TrendColumns,
    )
    from storage.repository import (
        SessionRepository,
    )
    from storage.writer import (
        FailureKind,
        StorageFailure,
        StorageRecovery,
        StorageWriter,
    )

#: Where each public name lives: its module is imported when the name is first asked for.
_SOURCE_MODULE: dict[str, str] = {
    "NaiveTimeError": "_utc",
    "AuditDetailsError": "audit",
    "AuditEntry": "audit",
    "AuditRepository": "audit",
    "AuditWriteError": "audit",
    "VerifyResult": "audit",
    "APP_NAME": "database",
    "DRILL_DATABASE_FILE": "database",
    "PATIENT_DATABASE_FILE": "database",
    "Database": "database",
    "create_storage_engine": "database",
    "default_database_url": "database",
    "migrate_to_head": "database",
    "open_database": "database",
    "url_from_command_line": "database",
    "DatabaseDriverMissingError": "errors",
    "DatabaseFolderError": "errors",
    "DatabasePurposeError": "errors",
    "DatabaseSettingError": "errors",
    "DatabaseUnreachableError": "errors",
    "DrillMixingError": "errors",
    "StorageError": "errors",
    "UnknownRecordError": "errors",
    "WriterClosedError": "errors",
    "make_owner_only_folder": "files",
    "write_owner_only": "files",
    "AdministratorExistsError": "identity",
    "ApprovalRecord": "identity",
    "ClinicianRecord": "identity",
    "DuplicateLoginError": "identity",
    "DuplicatePatientError": "identity",
    "IdentityRepository": "identity",
    "PatientDetails": "identity",
    "PatientRecord": "identity",
    "ReferringProvider": "identity",
    "DURABLE_RECORDS": "records",
    "SHEDDABLE_RECORDS": "records",
    "AlarmEventRecord": "records",
    "AttestationRecord": "records",
    "BaselineOverride": "records",
    "BaselineRecord": "records",
    "ClinicalSnapshotRecord": "records",
    "DeviceEventRecord": "records",
    "IncidentClosedRecord": "records",
    "IncidentOpenedRecord": "records",
    "IncidentSummary": "records",
    "MonitoringGapRecord": "records",
    "NibpIntervalChangeRecord": "records",
    "NoteRecord": "records",
    "ObservationRecord": "records",
    "PhaseTransitionRecord": "records",
    "ProtocolRunEndedRecord": "records",
    "ProtocolRunStartedRecord": "records",
    "ProtocolRunSummary": "records",
    "ProtocolStepRecord": "records",
    "SessionEndedRecord": "records",
    "SessionSummary": "records",
    "SourceTrend": "records",
    "StoredRecord": "records",
    "ThresholdChangeRecord": "records",
    "ThresholdSetRecord": "records",
    "TrendColumns": "records",
    "SessionRepository": "repository",
    "FailureKind": "writer",
    "StorageFailure": "writer",
    "StorageRecovery": "writer",
    "StorageWriter": "writer",
}

__all__ = [
    "APP_NAME",
    "DRILL_DATABASE_FILE",
    "DURABLE_RECORDS",
    "PATIENT_DATABASE_FILE",
    "SHEDDABLE_RECORDS",
    "AdministratorExistsError",
    "AlarmEventRecord",
    "ApprovalRecord",
    "AttestationRecord",
    "AuditDetailsError",
    "AuditEntry",
    "AuditRepository",
    "AuditWriteError",
    "BaselineOverride",
    "BaselineRecord",
    "ClinicalSnapshotRecord",
    "ClinicianRecord",
    "Database",
    "DatabaseDriverMissingError",
    "DatabaseFolderError",
    "DatabasePurposeError",
    "DatabaseSettingError",
    "DatabaseUnreachableError",
    "DeviceEventRecord",
    "DrillMixingError",
    "DuplicateLoginError",
    "DuplicatePatientError",
    "FailureKind",
    "IdentityRepository",
    "IncidentClosedRecord",
    "IncidentOpenedRecord",
    "IncidentSummary",
    "MonitoringGapRecord",
    "NaiveTimeError",
    "NibpIntervalChangeRecord",
    "NoteRecord",
    "ObservationRecord",
    "PatientDetails",
    "PatientRecord",
    "PhaseTransitionRecord",
    "ProtocolRunEndedRecord",
    "ProtocolRunStartedRecord",
    "ProtocolRunSummary",
    "ProtocolStepRecord",
    "ReferringProvider",
    "SessionEndedRecord",
    "SessionRepository",
    "SessionSummary",
    "SourceTrend",
    "StorageError",
    "StorageFailure",
    "StorageRecovery",
    "StorageWriter",
    "StoredRecord",
    "ThresholdChangeRecord",
    "ThresholdSetRecord",
    "TrendColumns",
    "UnknownRecordError",
    "VerifyResult",
    "WriterClosedError",
    "create_storage_engine",
    "default_database_url",
    "make_owner_only_folder",
    "migrate_to_head",
    "open_database",
    "url_from_command_line",
    "write_owner_only",
]


def __getattr__(name: str) -> object:
    """Import the module that defines ``name`` on first use, then keep the name here."""
    module = _SOURCE_MODULE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and the ones already loaded, as for an eager package."""
    return sorted(set(globals()) | set(__all__))
