"""The arguments every database sub-command shares: --db, --clinic-config, --station, --as.

One home, so a clinic's IT person reads the same option with the same meaning in every command.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

USER_DATABASE = "SQLite in the user data directory"
"""Where the database is when --db is not given (the words used in --help)."""

SignerOption = Literal["required", "optional", "none"]


def add_db_argument(p: argparse.ArgumentParser, *, default_where: str = USER_DATABASE) -> None:
    """Add ``--db URL``; ``default_where`` says in --help which database is used without it."""
    p.add_argument("--db", default=None, help=f"SQLAlchemy URL (default: {default_where})")


def add_station_argument(
    p: argparse.ArgumentParser,
    *,
    help_text: str = "this computer's station (room) id (default: host name)",
) -> None:
    """Add ``--station ID``: the room a record or a resumed session belongs to."""
    p.add_argument("--station", default=None, help=help_text)


def add_record_arguments(
    p: argparse.ArgumentParser,
    *,
    signer: SignerOption,
    default_where: str = USER_DATABASE,
    config_help: str = "clinic defaults YAML",
    secret_help: str = "read the PIN or password from one line of standard input (scripts) instead of asking",
    secret_stdin: bool | None = None,
) -> None:
    """Add --db, --clinic-config, --station and, for commands that sign in, --as and --secret-stdin.

    ``signer`` says whether ``--as LOGIN`` is required, optional (the first start creates the first
    clinician) or absent; ``secret_stdin`` adds ``--secret-stdin`` even without ``--as`` (default:
    with it).
    """
    add_db_argument(p, default_where=default_where)
    p.add_argument("--clinic-config", type=Path, default=None, help=config_help)
    add_station_argument(p)
    if signer != "none":
        p.add_argument(
            "--as", dest="signer", required=signer == "required", metavar="LOGIN", help="sign in as LOGIN"
        )
    if secret_stdin if secret_stdin is not None else signer != "none":
        p.add_argument("--secret-stdin", action="store_true", help=secret_help)


def quiet_logs(args: argparse.Namespace) -> None:
    """Keep stdout and stderr for the command's answer: progress logs only with ``bedside -v``."""
    if not getattr(args, "verbose", False):
        logging.getLogger().setLevel(logging.WARNING)
