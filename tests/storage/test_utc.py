"""UTC columns: aware in, aware UTC out, naive refused (SQLite keeps no zone of its own)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.exc import StatementError

from storage import Database, NaiveTimeError, SessionRepository


def test_an_aware_time_in_another_zone_comes_back_as_the_same_instant_in_utc(db: Database) -> None:
    local = datetime(2026, 11, 23, 11, 30, 15, 250_000, tzinfo=timezone(timedelta(hours=2)))
    created = SessionRepository(db).create_session(clinician="Dr. Rivera", started_at=local)

    read = SessionRepository(db).session(created.session_id)

    assert read.started_at == datetime(2026, 11, 23, 9, 30, 15, 250_000, tzinfo=UTC)
    assert read.started_at.tzinfo is UTC


def test_a_naive_time_is_refused_rather_than_guessed(db: Database) -> None:
    with pytest.raises(StatementError) as raised:
        SessionRepository(db).create_session(clinician="Dr. Rivera", started_at=datetime(2026, 11, 23, 9, 0))
    assert isinstance(raised.value.orig, NaiveTimeError)
