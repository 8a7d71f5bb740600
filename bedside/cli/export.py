"""`bedside export SESSION --format csv|json|pdf|fhir [--out PATH] [--db URL]` (EXP-1)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bedside.cli._common import add_db_argument
from bedside.workflow.export import (
    ExportError,
    ExportFormat,
    ExportProgress,
    SessionNotFoundError,
    export_session,
)

log = logging.getLogger(__name__)

PROG = "bedside export"


def add_export_arguments(sub: Any) -> None:
    """Register the ``export`` sub-command on the main parser's sub-parsers."""
    p = sub.add_parser(
        "export",
        help="export a session: vitals as CSV, the full record as JSON or PDF, vitals as FHIR R4",
        description="Export one session from the database. csv: vitals, one row per observation "
        "(UTC). json: the full record (docs/export-schema.md), re-importable. pdf: a readable "
        "summary with trend plots. fhir: an HL7 FHIR R4 Bundle of the valid vitals (LOINC and MDC "
        "coded). The file is written readable by its owner only (0600). Exit 0 when written, 2 when "
        "the session or the database cannot be found, or the file cannot be written.",
    )
    p.add_argument("session", metavar="SESSION", help="the session id (see the monitor's session list)")
    p.add_argument("--format", required=True, choices=[f.value for f in ExportFormat], dest="export_format")
    p.add_argument("--out", type=Path, default=None, help="output file (default: session-<id>.<ext> here)")
    add_db_argument(p)
    p.add_argument(
        "--fhir-interval",
        type=float,
        default=None,
        metavar="SECONDS",
        help="fhir: send the first valid SpO2/pulse/HR value of each interval (default 60; 0 sends "
        "every value; NIBP cycles always all go)",
    )
    p.add_argument(
        "--drill",
        action="store_true",
        help="read the drill database instead of the patient database (only without --db)",
    )


def _sqlite_file(url: str) -> Path | None:
    from storage.urls import sqlite_file_of

    return sqlite_file_of(url)


@contextmanager
def _open(url: str, drill: bool) -> Iterator[Any]:
    from storage import DatabasePurposeError, open_database

    # Opening creates a missing SQLite file: an export must never leave an empty database behind.
    file = _sqlite_file(url)
    if file is not None and not file.is_file():
        raise ExportError(f"there is no database at {file}: check --db")
    try:
        db = open_database(url, drill=drill)
    except DatabasePurposeError:
        db = open_database(url, drill=not drill)  # the URL names the database; read what it holds
    try:
        yield db
    finally:
        db.close()


def run_export(args: argparse.Namespace) -> int:
    """Run ``bedside export``: 0 when the file is written, 2 with one sentence on stderr otherwise."""
    from storage import SessionRepository, StorageError, default_database_url

    def fail(message: str) -> int:
        sys.stderr.write(f"{PROG}: {message}\n")
        return 2

    url = args.db or default_database_url(drill=args.drill)
    try:
        with _open(url, args.drill) as db:
            import getpass
            import socket

            from bedside.workflow.audit import AuditTrail, trail_sink
            from drivers.clock import SystemClock

            # No sign-in on this command: the entry names the computer account that exported.
            audit = trail_sink(AuditTrail(db, SystemClock(), station=socket.gethostname()))
            path = export_session(
                SessionRepository(db),
                args.session,
                args.export_format,
                args.out,
                progress=_log_progress,
                fhir_interval_s=args.fhir_interval,
                audit=audit,
                who=f"os user {getpass.getuser()}",
            )
    except SessionNotFoundError as exc:
        return fail(f"{exc} ({url.split('://', 1)[0]} database {_shown(url)}); check the id or --db.")
    except (ExportError, StorageError) as exc:
        return fail(str(exc))
    except OSError as exc:
        return fail(f"the export could not be written: {exc}")
    except Exception as exc:  # a database driver's own error: one sentence, details in the log
        log.debug("export failed", exc_info=True)
        return fail(f"the database {_shown(url)} could not be read: {type(exc).__name__}: {exc}")
    sys.stdout.write(f"{path}\n")
    return 0


def _shown(url: str) -> str:
    from storage.urls import hide_password

    return hide_password(url)


def _log_progress(progress: ExportProgress) -> None:
    log.debug("export %3.0f%%: %s", 100 * progress.fraction, progress.stage)
