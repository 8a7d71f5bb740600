"""Resuming a 24-hour session (issue 9): from opening the database in a fresh process to the first
number ready on the restarted monitor (the NIBP tile's "before restart" reading and the trend
loaded), through the column read the monitor uses now and, for comparison in the same run, the old
path that built an ``Observation`` per stored reading. Each path runs in its own child process, so
its peak memory (``ru_maxrss``) is its own. SQLite; goal under 2 s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

#: A 24-hour session: SpO2 and pulse at 1 Hz (172 800), perfusion index at 1 Hz, NIBP every 5 min.
HOURS = 24
START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def _fill(url: str) -> tuple[str, int]:
    from drivers.clock import FakeClock
    from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
    from storage import ObservationRecord, SessionRepository, StorageWriter, open_database

    db = open_database(url, drill=True)
    session = SessionRepository(db).create_session(clinician="bench", started_at=START, station="bench")
    records = []
    seconds = HOURS * 3600
    for s in range(seconds):
        at = START + timedelta(seconds=s)
        for kind, value in (
            (VitalKind.SPO2, 97.0),
            (VitalKind.PULSE_RATE, 80.0),
            (VitalKind.PERFUSION_INDEX, 3.1),
        ):
            obs = Observation(kind, value, CANONICAL_UNIT[kind], at, at, float(s), "bench", Quality.VALID)
            records.append(ObservationRecord(session.session_id, obs))
        if s % 300 == 0:
            for kind, value in (
                (VitalKind.NIBP_SYSTOLIC, 128.0),
                (VitalKind.NIBP_DIASTOLIC, 80.0),
                (VitalKind.NIBP_MEAN, 96.0),
            ):
                obs = Observation(kind, value, CANONICAL_UNIT[kind], at, at, float(s), "bench", Quality.VALID)
                records.append(ObservationRecord(session.session_id, obs))
    writer = StorageWriter(
        db, FakeClock(START), on_failure=lambda failure: None, max_pending=len(records) + 1
    )
    for record in records:
        writer.put(record)
    if not writer.flush(timeout=900):
        raise RuntimeError("the writer did not finish")
    writer.close()
    db.close()
    return session.session_id, len(records)


def _child(url: str, how: str) -> None:
    """One resume in this process: print the figures as JSON."""
    import resource
    import time

    began = time.perf_counter()
    import dataclasses

    import bedside.monitor.recorder
    from bedside.monitor.core import MonitorCore
    from bedside.monitor.recorder import SessionRecorder
    from drivers.clock import FakeClock
    from drivers.types import VitalKind
    from storage import open_database

    # The monitor resumes a session up to RESUME_WITHIN after its start (12 h); the benchmark reads a
    # 24-hour one to measure the read at the size the issue names.
    bedside.monitor.recorder.RESUME_WITHIN = timedelta(hours=HOURS + 1)
    clock = FakeClock(START + timedelta(hours=HOURS, minutes=1))
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the process after imports
    imported = time.perf_counter()  # from here: "open database" (imports are the app's start-up)
    db = open_database(url, drill=True)
    recorder = SessionRecorder(db, clock, clinician="bench", station="bench")
    assert recorder.resumed
    core = MonitorCore(clock)
    if how == "columns":
        replayed = recorder.attach(core)
    else:  # the old path: one Observation per stored reading
        now_wall, now_mono = clock.now(), clock.monotonic()
        core.board.session_start_mono = now_mono - (now_wall - recorder.session.started_at).total_seconds()
        replayed = 0
        for obs in recorder.repo.observations(recorder.session_id):
            mono = now_mono - (now_wall - obs.received_at).total_seconds()
            core.board.add_before_restart(dataclasses.replace(obs, received_mono=mono))
            replayed += 1
        core.board.mark_restart(now_mono, now_wall)
    shown = core.board.nibp(clock.monotonic())
    ready = time.perf_counter()
    if shown.systolic is None or len(core.board.trends[VitalKind.SPO2]) <= HOURS * 3600:
        raise RuntimeError(
            f"{how}: no number or no trend after resume: {shown} {len(core.board.trends[VitalKind.SPO2])}"
        )
    recorder.close(end_session=False)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "ready_s": ready - imported,
                "import_s": imported - began,
                "peak_mb": peak_mb,
                "base_mb": base_mb,
                "replayed": replayed,
            }
        )
    )


def run() -> dict[str, float]:
    """``columns_ready_s`` / ``columns_peak_mb`` (now) beside ``objects_ready_s`` / ``objects_peak_mb``;
    ``*_added_mb`` is the peak above the process after its imports."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'resume.sqlite3'}"
        _, count = _fill(url)
        figures["readings"] = float(count)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        for how in ("columns", "objects"):
            done = subprocess.run(
                [sys.executable, "-m", "tests.benchmarks.bench_resume", "--child", url, how],
                check=True,
                capture_output=True,
                text=True,
                env=env,
                timeout=900,
            )
            result = json.loads(done.stdout.strip().splitlines()[-1])
            figures[f"{how}_ready_s"] = result["ready_s"]
            figures[f"{how}_peak_mb"] = result["peak_mb"]
            figures[f"{how}_added_mb"] = result["peak_mb"] - result["base_mb"]
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        for key, value in run().items():
            print(f"{key}: {value:.2f}")
