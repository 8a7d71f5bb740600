"""Resuming a 24-hour session (issues 9 and 11): from opening the database in a fresh process to the
first number ready on the restarted monitor (the NIBP tile's "before restart" reading and the trend
loaded), through the read the monitor uses now ("history": per source, the newest hour whole and
older history per minute, issue 11) and, for comparison in the same run, the issue-9 path
("columns": the newest 400,000 rows as columns, one line per kind) and, with ``--objects``, the
oldest path that built an ``Observation`` per stored reading. Each path runs in its own child
process, so its peak memory (``ru_maxrss``) is its own; each reports how many hours of the session
its SpO2 trend spans. ``--sources 3`` stores three oximeters (the accelerated session's ~900,000
rows). SQLite; goal under 2 s.
"""

from __future__ import annotations

import argparse
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


def _fill(url: str, sources: int = 1) -> tuple[str, int]:
    from drivers.clock import FakeClock
    from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
    from storage import ObservationRecord, SessionRepository, StorageWriter, open_database

    db = open_database(url, drill=True)
    session = SessionRepository(db).create_session(clinician="bench", started_at=START, station="bench")
    records = []
    seconds = HOURS * 3600
    for s in range(seconds):
        at = START + timedelta(seconds=s)
        for source in range(sources):
            for kind, value in (
                (VitalKind.SPO2, 97.0),
                (VitalKind.PULSE_RATE, 80.0),
                (VitalKind.PERFUSION_INDEX, 3.1),
            ):
                name = "bench" if source == 0 else f"bench-{source + 1}"
                obs = Observation(kind, value, CANONICAL_UNIT[kind], at, at, float(s), name, Quality.VALID)
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

    import numpy as np

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
    if how == "history":
        replayed = recorder.attach(core)
    elif how == "columns":  # issue 9: the newest rows as columns, one line per kind
        from bedside.monitor.trend_history import CURVE_KINDS, DRAWN_KINDS, NIBP_KINDS, nibp_points
        from bedside.monitor.vitals_board import UNNAMED_SOURCE

        now_wall, now_mono = clock.now(), clock.monotonic()
        core.board.session_start_mono = now_mono - (now_wall - recorder.session.started_at).total_seconds()
        columns = recorder.repo.trend_columns(recorder.session_id, kinds=DRAWN_KINDS)
        started_s = recorder.session.started_at.timestamp()
        for kind, c in columns.items():
            if kind in CURVE_KINDS:
                line = core.board.line(kind, UNNAMED_SOURCE)
                line.extend(c.measured_at_s - started_s, np.where(c.valid, c.values, np.nan))
        core.board.nibp_points.extend(nibp_points(columns, started_s))
        systolic = columns[VitalKind.NIBP_SYSTOLIC]
        since = datetime.fromtimestamp(float(systolic.measured_at_s[-1]) - 1e-3, UTC)
        for obs in recorder.repo.observations(recorder.session_id, since=since, kinds=NIBP_KINDS):
            core.board._before_restart[obs.kind] = obs
        replayed = sum(len(c) for c in columns.values())
        core.board.mark_restart(now_mono, now_wall)
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
    lines = core.board.lines[VitalKind.SPO2].values()
    drawn = [line.t[np.isfinite(line.v)] for line in lines]
    drawn = [t for t in drawn if t.size]
    if shown.systolic is None or not drawn:
        raise RuntimeError(f"{how}: no number or no trend after resume: {shown}")
    span_h = (max(float(t[-1]) for t in drawn) - min(float(t[0]) for t in drawn)) / 3600
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
                "spo2_span_h": span_h,
                "spo2_lines": len(drawn),
                "spo2_points": sum(len(line) for line in lines),
            }
        )
    )


def run(sources: int = 1, objects: bool = False) -> dict[str, float]:
    """``history_ready_s`` / ``history_peak_mb`` (now) beside ``columns_*`` (issue 9) and, with
    ``objects``, ``objects_*``; ``*_added_mb`` is the peak above the process after its imports,
    ``*_spo2_span_h`` how many hours of the session the SpO2 trend spans."""
    figures: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'resume.sqlite3'}"
        _, count = _fill(url, sources)
        figures["readings"] = float(count)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
        for how in ("history", "columns", *(("objects",) if objects else ())):
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
            for key in ("spo2_span_h", "spo2_lines", "spo2_points"):
                figures[f"{how}_{key}"] = result[key]
    return figures


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], sys.argv[3])
    else:
        parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
        parser.add_argument("--sources", type=int, default=1, help="oximeters stored (1 Hz each)")
        parser.add_argument("--objects", action="store_true", help="also time the oldest path")
        args = parser.parse_args()
        for key, value in run(args.sources, args.objects).items():
            print(f"{key}: {value:.2f}")
