"""Qt-free services, one per clinic workflow, that the app's views and the command line call."""

from __future__ import annotations

from bedside.workflow.export import (
    ExportError,
    ExportFormat,
    ExportProgress,
    SessionNotFoundError,
    export_session,
    import_session_json,
)

__all__ = [
    "ExportError",
    "ExportFormat",
    "ExportProgress",
    "SessionNotFoundError",
    "export_session",
    "import_session_json",
]
