"""`bedside export SESSION --format csv|json|pdf|fhir [--out PATH] [--db URL] [--as LOGIN]` (EXP-1).

The export is audited. With ``--as LOGIN`` the clinician signs in as for the other record commands
(the PIN or password asked, or one line of standard input with ``--secret-stdin``) and the audit
entry names them; without it the entry names the computer account that ran the command.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bedside.cli._common import add_record_arguments
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
        "coded). The file is written readable by its owner only (0600). The export is audited: with "
        "--as LOGIN under that clinician's sign-in, without it under this computer's account name. "
        "Exit 0 when written, 1 when the sign-in is refused, 2 when the session or the database "
        "cannot be found, or the file cannot be written.",
    )
    p.add_argument("session", metavar="SESSION", help="the session id (see the monitor's session list)")
    p.add_argument("--format", required=True, choices=[f.value for f in ExportFormat], dest="export_format")
    p.add_argument("--out", type=Path, default=None, help="output file (default: session-<id>.<ext> here)")
    # The same --db, --clinic-config (its sign-in rules), --station, --as and --secret-stdin as the
    # other record commands.
    add_record_arguments(p, signer="optional")
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


#: Asks for a PIN or password (the prompt); the default reads it from the terminal, unechoed.
Ask = Callable[[str], str]


class _SignInRefused(Exception):
    """The clinician named with --as could not sign in (the message says why)."""


def _secret(args: argparse.Namespace, ask_secret: Ask | None) -> str:
    prompt = f"PIN or password for {args.signer}: "
    if getattr(args, "secret_stdin", False):
        line = sys.stdin.readline()
        if not line:
            raise ExportError("standard input ended before the PIN or password was given")
        return line.rstrip("\r\n")
    if ask_secret is not None:
        return ask_secret(prompt)
    import getpass

    return getpass.getpass(prompt, stream=sys.stderr)


def _exporter(args: argparse.Namespace, db: Any, station: str, ask_secret: Ask | None) -> str:
    """Who the audit entry names: the clinician signed in with --as, else the computer account."""
    if not getattr(args, "signer", None):
        import getpass

        return f"os user {getpass.getuser()}"
    from alarms import ConfigError, load_config
    from bedside.workflow.audit import AuditTrail
    from bedside.workflow.identity import IdentityError, IdentityService
    from drivers.clock import SystemClock

    try:
        config = load_config(args.clinic_config)
    except (ConfigError, OSError) as exc:
        raise ExportError(f"the clinic config cannot be used: {exc}") from None
    clock = SystemClock()
    identity = IdentityService(db, clock, AuditTrail(db, clock, station=station), config.sign_in)
    if not identity.has_clinicians():
        raise ExportError(
            "no clinician is registered yet: create the administrator with 'bedside clinician list'"
        )
    try:
        return identity.sign_in(args.signer, _secret(args, ask_secret)).who
    except IdentityError as exc:
        raise _SignInRefused(str(exc)) from None


def run_export(args: argparse.Namespace, *, ask_secret: Ask | None = None) -> int:
    """Run ``bedside export``: 0 when the file is written, 1 when the ``--as`` sign-in is refused,
    2 with one sentence on stderr otherwise. ``ask_secret`` replaces the terminal prompt (tests)."""
    from storage import SessionRepository, StorageError, default_database_url

    def fail(message: str, code: int = 2) -> int:
        sys.stderr.write(f"{PROG}: {message}\n")
        return code

    url = args.db or default_database_url(drill=args.drill)
    try:
        with _open(url, args.drill) as db:
            import socket

            from bedside.workflow.audit import AuditTrail, trail_sink
            from drivers.clock import SystemClock

            station = getattr(args, "station", None) or socket.gethostname()
            who = _exporter(args, db, station, ask_secret)
            audit = trail_sink(AuditTrail(db, SystemClock(), station=station))
            path = export_session(
                SessionRepository(db),
                args.session,
                args.export_format,
                args.out,
                progress=_log_progress,
                fhir_interval_s=args.fhir_interval,
                audit=audit,
                who=who,
            )
    except _SignInRefused as exc:
        return fail(str(exc), 1)
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
