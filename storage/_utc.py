"""A datetime column that always holds, and always gives back, timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Dialect
from sqlalchemy.types import DateTime, TypeDecorator


class NaiveTimeError(ValueError):
    """A naive datetime reached storage: its zone is unknown, so it cannot be recorded as UTC."""


class UtcDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite (which keeps no zone) round-trips them aware too."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise NaiveTimeError(f"refusing to store naive datetime {value.isoformat()}: give it a zone")
        utc = value.astimezone(UTC)
        # SQLite has no zone type: keep the UTC wall time and restore the zone on the way out.
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime from the database, got {type(value).__name__}")
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
