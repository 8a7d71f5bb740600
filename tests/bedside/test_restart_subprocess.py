"""The real monitor killed with SIGKILL mid-infusion comes back with the patient (MON-8, finding 4).

``bedside monitor`` runs as a subprocess with its simulators, offscreen Qt, a fast clock and the
drill autopilot (which takes the routine steps and starts offered protocols), writing what it holds
to ``--state-report`` every second. Every wait polls that file or the database, bounded by a timeout.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from storage import SessionRepository, open_database

ROOT = Path(__file__).resolve().parents[2]
STATION = "restart-test-room"
SPEED = 100
#: Baseline readings come about 5 and 11 simulated minutes in; the spike past the clinic's ceiling
#: (180/110) covers the first reading in the infusion, the recovery the one after it.
SCENARIO = """\
name: restart-drill
description: A BP spike past the ceiling that ends, for the restart test.
seed: 5
duration: 90m
keyframes:
  - {at: 0, spo2: 98, pulse: 72, pi: 3.5, systolic: 120, diastolic: 78}
  - {at: 12m, spo2: 98, pulse: 72, pi: 3.5, systolic: 120, diastolic: 78}
  - {at: 13m, spo2: 98, pulse: 88, pi: 3.0, systolic: 200, diastolic: 125}
  - {at: 20m, spo2: 98, pulse: 88, pi: 3.0, systolic: 200, diastolic: 125}
  - {at: 21m, spo2: 98, pulse: 74, pi: 3.5, systolic: 124, diastolic: 80}
  - {at: 90m, spo2: 98, pulse: 74, pi: 3.5, systolic: 124, diastolic: 80}
"""

Report = dict[str, Any]


class Monitor:
    """One ``bedside monitor`` process and the state file it reports to."""

    def __init__(self, tmp_path: Path, url: str, name: str) -> None:
        scenario = tmp_path / "restart-drill.yaml"
        scenario.write_text(SCENARIO, encoding="utf-8")
        self.report = tmp_path / f"{name}.json"
        self.log = tmp_path / f"{name}.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
        command = [
            sys.executable, "-m", "bedside.cli", "monitor", "--scenario", str(scenario),
            "--speed", str(SPEED), "--db", url, "--drill-autopilot", "--station", STATION,
            "--state-report", str(self.report),
        ]  # fmt: skip
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def wait_for(self, what: str, ready: Callable[[Report], bool], timeout_s: float) -> Report:
        """Poll the state report until ``ready`` holds; fail with the log's tail on timeout or exit."""
        deadline = time.monotonic() + timeout_s
        last: Report = {}
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"the monitor exited ({self.process.returncode}) before {what}:\n{self.tail()}")
            try:
                last = json.loads(self.report.read_text(encoding="utf-8"))
            except (FileNotFoundError, json.JSONDecodeError):
                last = {}
            if last and ready(last):
                return last
            time.sleep(0.2)
        pytest.fail(f"timed out waiting for {what}; last report: {json.dumps(last)[:2000]}\n{self.tail()}")

    def kill(self) -> None:
        """SIGKILL: no clean-up, no session end, exactly what a crash or power cut leaves."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def tail(self) -> str:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(line for line in lines[-30:] if "qt.multimedia" not in line)


@pytest.fixture
def monitors() -> Iterator[list[Monitor]]:
    started: list[Monitor] = []
    yield started
    for monitor in started:
        monitor.kill()


def _latched_bp_and_run(report: Report) -> bool:
    latched = [
        a
        for a in report["alarms"]
        if a["condition"] == "bp_high" and a["latched"] and a["priority"] == "HIGH"
    ]
    runs = [r for r in report["protocol_runs"] if r["active"]]
    return report["phase"] == "infusion" and bool(latched) and bool(runs)


def _snapshots_written(db_file: Path, session_id: str) -> int:
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM clinical_snapshots WHERE session_id = ?", (session_id,)
        ).fetchone()
    return int(count)


@pytest.mark.req("MON-8")
@pytest.mark.req("THR-5")
@pytest.mark.req("MON-2")
@pytest.mark.req("ALM-3")
@pytest.mark.timeout(90)
def test_a_monitor_killed_mid_infusion_restarts_with_the_whole_clinical_state(
    tmp_path: Path, monitors: list[Monitor]
) -> None:
    """Finding 4: after a kill the monitor came back in setup, without baseline, thresholds or NIBP
    cycling, and showed the previous run's reading "-433 s ago"."""
    db_file = tmp_path / "drills.sqlite3"
    url = f"sqlite:///{db_file}"
    first = Monitor(tmp_path, url, "first")
    monitors.append(first)
    before = first.wait_for(
        "an infusion with a latched HIGH alarm and a protocol run", _latched_bp_and_run, 60
    )
    # What the report shows was put on the writer; wait for the commit (one batch window), then kill.
    deadline = time.monotonic() + 10
    while _snapshots_written(db_file, before["session_id"]) < before["snapshots"]:
        assert time.monotonic() < deadline, "the snapshots were never committed"
        time.sleep(0.1)
    first.kill()

    second = Monitor(tmp_path, url, "second")
    monitors.append(second)
    after = second.wait_for("the resumed session", lambda r: r["resumed"], 30)

    assert after["session_id"] == before["session_id"]
    assert after["phase"] == "infusion"
    assert after["transitions"][:3] == before["transitions"][:3]
    assert after["baseline"] == before["baseline"] and after["baseline"]["confirmed_by"]
    assert after["thresholds"] == before["thresholds"] and after["thresholds_locked"]
    assert after["checklist"] == before["checklist"]
    assert after["interval_min"] in (1, 2, 3, 5, 10, 15)
    countdown = after["seconds_to_next_nibp"]
    assert countdown is not None and 0 <= countdown <= after["interval_min"] * 60
    [bp] = [a for a in after["alarms"] if a["condition"] == "bp_high"]
    assert bp["priority"] == "HIGH" and (bp["latched"] or bp["present"])
    [run_before] = [r for r in before["protocol_runs"] if r["active"]]
    [run_after] = [r for r in after["protocol_runs"] if r["run_id"] == run_before["run_id"]]
    assert run_after["active"] and run_after["node"] == run_before["node"]
    assert run_after["steps"] >= run_before["steps"]
    tile = after["nibp_tile"]
    assert tile["age_s"] is None or tile["age_s"] >= 0
    assert tile["restart_note"] == "" or tile["restart_note"].startswith("before restart, ")

    # The gap is recorded: from the last record before the kill to the restart.
    [gap] = after["gaps"]
    since, until = datetime.fromisoformat(gap["since"]), datetime.fromisoformat(gap["until"])
    # At --speed 100 the writer's 0.5 s batch window is 50 simulated seconds of records.
    assert datetime.fromisoformat(before["at"]) - timedelta(seconds=SPEED * 1.5) <= since <= until
    second.kill()
    db = open_database(url, drill=True)
    try:
        [stored] = SessionRepository(db).monitoring_gaps(before["session_id"])
        assert (stored.since, stored.until, stored.station) == (since, until, STATION)
    finally:
        db.close()
