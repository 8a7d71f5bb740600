"""Storage figures (issue 9): write throughput through the writer thread, and reading a 24-hour
session's trend (260 000 readings) back on resume, as columns and, for comparison, as objects.

Runs on a SQLite file, and on PostgreSQL too when ``BEDSIDE_TEST_POSTGRES_URL`` names a server
(a fresh database is made there and dropped afterwards).
"""

from __future__ import annotations

import gc
import os
import tempfile
import time
import tracemalloc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from storage import ObservationRecord, SessionRepository, StorageWriter, open_database

#: A 24-hour session: SpO2 and pulse at 1 Hz (172 800) plus the rest of the vitals (~87 000).
READINGS = 260_000
KINDS = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE)


def _observations(clock: FakeClock) -> Iterator[Observation]:
    start, mono = clock.now(), clock.monotonic()
    for index in range(READINGS):
        kind = KINDS[index % len(KINDS)]
        at = start + timedelta(seconds=index / len(KINDS) * 1.0)
        yield Observation(
            kind=kind,
            value=90.0 + index % 10,
            unit=CANONICAL_UNIT[kind],
            measured_at=at,
            received_at=at,
            received_mono=mono + index / len(KINDS),
            source="bench",
            quality=Quality.VALID,
        )


@contextmanager
def _databases() -> Iterator[list[tuple[str, str]]]:
    with tempfile.TemporaryDirectory() as folder:
        urls = [("sqlite", f"sqlite:///{Path(folder) / 'bench.sqlite3'}")]
        server = os.environ.get("BEDSIDE_TEST_POSTGRES_URL")
        name = f"bedside_bench_{uuid.uuid4().hex[:12]}"
        admin = create_engine(server, isolation_level="AUTOCOMMIT") if server else None
        if admin is not None and server is not None:
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
            urls.append(("postgresql", make_url(server).set(database=name).render_as_string(False)))
        try:
            yield urls
        finally:
            if admin is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()


def _measure(url: str, *, with_objects: bool) -> dict[str, float]:
    clock = FakeClock()
    db = open_database(url)
    repo = SessionRepository(db)
    session = repo.create_session(clinician="bench", started_at=clock.now())
    records = [ObservationRecord(session.session_id, obs) for obs in _observations(clock)]
    writer = StorageWriter(db, clock, on_failure=lambda failure: None, max_pending=READINGS + 1)
    began = time.perf_counter()
    for record in records:
        writer.put(record)
    if not writer.flush(timeout=600):
        raise RuntimeError("the writer did not finish")
    write_s = time.perf_counter() - began
    writer.close()
    del records
    gc.collect()

    began = time.perf_counter()
    columns = repo.trend_columns(session.session_id)
    columns_s = time.perf_counter() - began
    if sum(len(c) for c in columns.values()) != READINGS:
        raise RuntimeError("the trend read did not return every reading")
    del columns
    gc.collect()
    # Memory in a second read: tracemalloc slows Python down several times, so not timed.
    tracemalloc.start()
    repo.trend_columns(session.session_id)
    columns_mb = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    gc.collect()

    figures = {
        "write_per_s": READINGS / write_s,
        "trend_columns_s": columns_s,
        "trend_columns_peak_mb": columns_mb,
    }
    if with_objects:
        # The old way (one Observation per reading), for comparison: SQLite only, it takes long.
        began = time.perf_counter()
        objects = repo.observations(session.session_id)
        figures["trend_objects_s"] = time.perf_counter() - began
        del objects
    db.close()
    return figures


def run() -> dict[str, float]:
    """Figures per backend, e.g. ``sqlite_write_per_s``, ``postgresql_trend_columns_s``."""
    figures: dict[str, float] = {}
    with _databases() as urls:
        for backend, url in urls:
            for key, value in _measure(url, with_objects=backend == "sqlite").items():
                figures[f"{backend}_{key}"] = value
    return figures


if __name__ == "__main__":
    for key, value in run().items():
        print(f"{key}: {value:.2f}")
