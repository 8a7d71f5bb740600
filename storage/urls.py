"""Reading database URLs for the command line without importing SQLAlchemy above storage."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from storage.database import _is_sqlite_memory


def sqlite_file_of(url: str) -> Path | None:
    """The file a SQLite URL names, or None for an in-memory or non-SQLite database."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return None
    if parsed.get_backend_name() != "sqlite" or _is_sqlite_memory(parsed) or not parsed.database:
        return None
    return Path(parsed.database).expanduser()


def hide_password(url: str) -> str:
    """The URL as safe to print: any password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "(unreadable URL)"
