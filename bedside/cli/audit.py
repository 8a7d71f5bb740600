"""``bedside audit verify [--db URL]``: prove the audit chain or name its first broken entry.

Prints "audit chain intact: N entries" (and the newest entry's hash, to keep elsewhere) and exits
0, or "audit chain broken at entry SEQ: why" and
exits 1; 2 when the database cannot be opened.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import TextIO

from bedside.cli._common import add_db_argument, quiet_logs
from bedside.workflow import AuditTrail
from drivers.clock import SystemClock
from storage import default_database_url, open_database

log = logging.getLogger(__name__)


def add_audit_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``audit verify`` to the ``bedside`` parser."""
    audit = sub.add_parser("audit", help="check the audit trail")
    asub = audit.add_subparsers(dest="action", required=True)
    verify = asub.add_parser(
        "verify",
        help="prove the hash chain of the audit trail, or name the first broken entry (exit 1)",
    )
    add_db_argument(verify)


def _missing_sqlite_file(url: str | None) -> Path | None:
    """The SQLite file a URL names when that file does not exist (None for other databases)."""
    text = url if url is not None else default_database_url(drill=False)
    prefix = "sqlite:///"
    if not text.startswith(prefix) or "mode=memory" in text:
        return None
    path = Path(text[len(prefix) :].split("?", 1)[0])
    return None if not path.name or path.exists() else path


def run_audit(args: argparse.Namespace, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``bedside audit verify``: 0 intact, 1 broken, 2 when the database cannot be opened."""
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    quiet_logs(args)  # stdout and stderr carry only the verdict
    missing = _missing_sqlite_file(args.db)
    if missing is not None:
        # Opening would create an empty database and call it intact: say what is wrong instead.
        err.write(f"bedside audit verify: there is no database at {missing}: check --db\n")
        return 2
    try:
        db = open_database(args.db)
    except Exception as exc:  # any driver or file error: one sentence, never a traceback
        err.write(f"bedside audit verify: cannot open the database: {exc}\n")
        return 2
    try:
        result = AuditTrail(db, SystemClock(), station="").verify()
    finally:
        db.close()
    out.write(result.describe() + "\n")
    if result.intact and result.entries:
        # Kept elsewhere, this pins the trail: a rewrite of the whole chain changes it.
        out.write(f"newest entry {result.entries}: sha256 {result.head_hash}\n")
    return 0 if result.intact else 1
