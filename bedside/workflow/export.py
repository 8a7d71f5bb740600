"""Exporting a session record (EXP-1): the Qt-free service the app and ``bedside export`` call.

``export_session`` reads everything the database holds about a session, renders it in one format
and writes the file readable by its owner only (0600): an export holds a patient's health record.
Progress goes to a callback (on the caller's thread), so a window can show a bar.
"""

from __future__ import annotations

import enum
import logging
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import tzinfo
from pathlib import Path
from typing import Any

from alarms import ClinicalConfig, load_config
from storage.database import Database
from storage.errors import UnknownRecordError
from storage.full_record import FullSessionRecord, read_full_record, write_full_record
from storage.repository import SessionRepository

log = logging.getLogger(__name__)

#: Owner read/write only: exports are health records.
EXPORT_FILE_MODE = 0o600


class ExportFormat(enum.StrEnum):
    """The formats a session can be exported in."""

    CSV = "csv"
    JSON = "json"
    PDF = "pdf"
    FHIR = "fhir"

    @property
    def suffix(self) -> str:
        """The file name ending for this format."""
        return {"csv": ".csv", "json": ".json", "pdf": ".pdf", "fhir": ".fhir.json"}[self.value]


class ExportError(Exception):
    """An export could not be made; the message says why in a sentence."""


class SessionNotFoundError(ExportError):
    """There is no session with the id asked for."""


@dataclass(frozen=True, slots=True)
class ExportProgress:
    """How far an export is: ``done`` of ``total`` steps, now at ``stage`` (e.g. "reading the record")."""

    stage: str
    done: int
    total: int

    @property
    def fraction(self) -> float:
        """Done as a fraction 0..1."""
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[ExportProgress], None]


def default_export_path(session_id: str, fmt: ExportFormat, directory: Path | None = None) -> Path:
    """Where an export goes when no path is given: ``session-<id><suffix>`` in ``directory`` (or here)."""
    return (directory or Path.cwd()) / f"session-{session_id}{fmt.suffix}"


def render_record(
    record: FullSessionRecord,
    fmt: ExportFormat,
    *,
    config: ClinicalConfig | None = None,
    zone: tzinfo | None = None,
    fhir_interval_s: float | None = None,
) -> bytes:
    """The record rendered in ``fmt`` as the bytes of the file."""
    if fmt is ExportFormat.CSV:
        from bedside.workflow.export_csv import vitals_csv

        return vitals_csv(record.observations).encode("utf-8")
    if fmt is ExportFormat.JSON:
        from bedside.workflow.export_json import record_to_json

        return record_to_json(record).encode("utf-8")
    if fmt is ExportFormat.FHIR:
        from bedside.workflow.export_fhir import DEFAULT_INTERVAL_S, session_bundle_json

        interval = DEFAULT_INTERVAL_S if fhir_interval_s is None else fhir_interval_s
        return session_bundle_json(record, interval).encode("utf-8")
    from bedside.workflow.export_pdf import session_pdf

    return session_pdf(record, config or load_config(), zone=zone)


def write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` with mode 0600, atomically (a reader never sees half a file).

    The file is created 0600 from the start, so the record is never readable by others, even for a
    moment, and an existing file at ``path`` is replaced (its old mode does not carry over).
    """
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise ExportError(f"the folder {directory} does not exist: create it or choose another --out")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        os.fchmod(fd, EXPORT_FILE_MODE)  # mkstemp gives 0600 already; say it, whatever the umask
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def export_session(
    repo: SessionRepository,
    session_id: str,
    fmt: ExportFormat | str,
    out: Path | str | None = None,
    *,
    progress: ProgressCallback | None = None,
    config: ClinicalConfig | None = None,
    zone: tzinfo | None = None,
    fhir_interval_s: float | None = None,
    audit: Callable[[str, str, str, Mapping[str, Any]], None] | None = None,
    who: str = "",
) -> Path:
    """Export one session to ``out`` (default ``session-<id><suffix>`` here) and return the path.

    ``zone`` is the time zone the PDF shows clock times in (default the computer's own); CSV, JSON
    and FHIR always carry UTC. ``fhir_interval_s`` is the FHIR bundle's charting interval for SpO2
    and rates (default ``export_fhir.DEFAULT_INTERVAL_S``; 0 sends every value). Raises
    ``SessionNotFoundError`` for an unknown id, ``ExportError`` when the file cannot be written.
    ``audit`` (e.g. ``bedside.workflow.audit.trail_sink``) gets the export with ``who``.
    """
    try:
        fmt = ExportFormat(fmt)
    except ValueError as exc:
        names = ", ".join(f.value for f in ExportFormat)
        raise ExportError(f"{fmt!r} is not an export format; choose one of {names}") from exc
    if fhir_interval_s is not None and not fhir_interval_s >= 0:
        raise ExportError(f"the FHIR interval must be 0 or more seconds, not {fhir_interval_s:g}")
    path = Path(out) if out is not None else default_export_path(session_id, fmt)
    report = progress or (lambda _p: None)
    report(ExportProgress("reading the record", 0, 3))
    try:
        record = read_full_record(repo, session_id)
    except UnknownRecordError as exc:
        raise SessionNotFoundError(f"there is no session {session_id!r} in this database") from exc
    report(ExportProgress(f"writing {fmt.value.upper()}", 1, 3))
    data = render_record(record, fmt, config=config, zone=zone, fhir_interval_s=fhir_interval_s)
    report(ExportProgress("saving the file", 2, 3))
    try:
        write_private(path, data)
    except OSError as exc:
        raise ExportError(f"cannot write {path}: {exc.strerror or exc}") from exc
    if audit is not None:  # an export takes the record off the computer: who, what, where
        audit(
            who, "session_exported", session_id, {"format": fmt.value, "path": str(path), "bytes": len(data)}
        )
    report(ExportProgress("done", 3, 3))
    log.info("exported session %s as %s to %s (%d bytes)", session_id, fmt.value, path, len(data))
    return path


def import_session_json(db: Database, text: str | bytes) -> FullSessionRecord:
    """Read a JSON export and write it into ``db``, which must not hold this session yet."""
    from bedside.workflow.export_json import record_from_json

    record = record_from_json(text)
    write_full_record(db, record)
    return record
