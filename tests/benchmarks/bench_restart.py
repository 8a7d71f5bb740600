"""How fast `bedside run` brings a killed or stopped monitor back (issue 11, MON-8).

Starts the real supervisor with the real monitor (offscreen, simulators, SQLite in a temporary
folder), then SIGKILLs the running monitor ``kills`` times and SIGSTOPs it ``stops`` times, each
time once its spare stands by. Per restart it reads the supervisor's own measure (death or the
silence verdict -> the new monitor's first heartbeat) from its log, and measures the kill -> the
new monitor's first state report here (that report is written once a second, so it adds up to 1 s).
Run alone: ``python -m tests.benchmarks.bench_restart --kills 10 --stops 3 [--no-spare]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BACK = re.compile(r"the monitor is back \(pid \d+\) ([0-9.]+) s after it (\w+)")


def _report(path: Path) -> dict[str, object]:
    try:
        data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return data


def _wait(what: str, ready: object, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if callable(ready) and ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def run(kills: int = 5, stops: int = 1, spare: bool = True) -> dict[str, float]:
    """Kill and stop the supervised monitor; the figures in seconds."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(ROOT))
    with tempfile.TemporaryDirectory() as tmp:
        report, log = Path(tmp) / "state.json", Path(tmp) / "run.log"
        command = [
            sys.executable, "-m", "bedside.cli", "run", "--db", f"sqlite:///{tmp}/bench.sqlite3",
            "--station", "bench-room", "--state-report", str(report), "--silent-after", "1.5",
            # Every kill measured alike: no crash-loop backoff between the benchmark's own kills.
            "--restart-window", "1", "--max-restarts", "1000",
            *([] if spare else ["--no-spare"]),
        ]  # fmt: skip
        with log.open("wb") as out:
            proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
        to_report: list[float] = []
        try:
            _wait("the first monitor", lambda: "pid" in _report(report), 120)
            for n in range(kills + stops):
                if spare:
                    _wait("the spare", lambda n=n: log.read_text().count("standing by") >= n + 1, 120)
                else:
                    time.sleep(3)  # let the monitor settle; nothing to wait for without a spare
                pid = int(str(_report(report)["pid"]))
                started = time.monotonic()
                os.kill(pid, signal.SIGKILL if n < kills else signal.SIGSTOP)
                _wait("the new monitor", lambda pid=pid: _report(report).get("pid") not in (None, pid), 120)
                to_report.append(time.monotonic() - started)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(30)
        said = [(float(m.group(1)), m.group(2)) for m in BACK.finditer(log.read_text())]
    died = [s for s, how in said if how == "died"]
    silent = [s for s, how in said if how != "died"]
    figures = {
        "kills": float(len(died)),
        "back_after_kill_median_s": statistics.median(died),
        "back_after_kill_max_s": max(died),
        "kill_to_report_median_s": statistics.median(to_report[:kills]),
        "kill_to_report_max_s": max(to_report[:kills]),
    }
    if silent:
        figures |= {
            "stops": float(len(silent)),
            "back_after_silence_verdict_max_s": max(silent),
            "stop_to_report_max_s": max(to_report[kills:]),
        }
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--stops", type=int, default=3)
    parser.add_argument("--no-spare", action="store_true")
    args = parser.parse_args()
    figures = run(args.kills, args.stops, spare=not args.no_spare)
    print(", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
