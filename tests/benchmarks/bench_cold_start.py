"""Cold start to the first number: from the process starting to the first SpO2 shown as current
on the monitor's tile (goal under 1 s), with a simulated Masimo, as ``bedside monitor`` runs.

The finish line is the tile's own log line ("first SpO2 on screen at unix time ..."); the start
is taken just before the process is spawned, so the interpreter's own start is counted. Each run
uses a new database file, so the migrations run every time (the database now opens after the
first number; its "database ready" time is reported too). Also reported: the import time of the
window module alone in a fresh interpreter.

With ``--reference DIR`` (a checkout of the code to compare with, e.g. ``git worktree add
/tmp/ref main``) the same runs alternate between this tree and the reference in one go, so a
busy machine slows both alike; the load average is printed with the figures.

    PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.bench_cold_start \
        [--runs 5] [--reference DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_FIRST = re.compile(r"first SpO2 on screen at unix time (\d+\.\d+)")
_READY = re.compile(r"database ready: opened in (\d+\.\d+) s")


def _env(root: Path) -> dict[str, str]:
    return dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(root))


def _first_number_s(root: Path, tmp: str, n: str) -> tuple[float, float | None]:
    """(seconds from spawn to the first SpO2 on screen, seconds from the window to the open database)."""
    cmd = [
        sys.executable, "-m", "bedside.cli", "-v", "monitor", "--scenario", "baseline",
        "--sim-device", "masimo-ascii", "--db", f"sqlite:///{tmp}/cold{n}.sqlite3", "--quit-after", "20",
    ]  # fmt: skip
    t0 = time.time()
    # cwd is the tree measured: ``-m`` puts the working folder first on the path.
    proc = subprocess.Popen(
        cmd, cwd=root, env=_env(root), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    first: float | None = None
    ready: float | None = None
    try:
        assert proc.stderr is not None
        deadline = time.monotonic() + 60
        for line in proc.stderr:
            if first is None and (found := _FIRST.search(line)):
                first = float(found.group(1)) - t0
            if ready is None and (done := _READY.search(line)):
                ready = float(done.group(1))
            if first is not None and (ready is not None or "storage.repository" in line):
                break  # the reference opens the database before the window: it has no "ready" line
            if time.monotonic() > deadline:
                break
        if first is None:
            raise RuntimeError(f"the monitor in {root} exited without showing an SpO2")
        return first, ready
    finally:
        proc.terminate()
        proc.wait(10)


def _import_s(root: Path, module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root, env=_env(root), capture_output=True, text=True, check=True
    )
    return float(done.stdout.strip())


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


def run(repeats: int = 5, reference: Path | None = None) -> dict[str, float]:
    """Medians (and bests) of ``repeats`` cold starts, this tree and the reference alternating."""
    trees = {"": ROOT} | ({"ref_": reference} if reference is not None else {})
    firsts: dict[str, list[float]] = {k: [] for k in trees}
    readies: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(repeats):
            for key, root in trees.items():
                first, ready = _first_number_s(root, tmp, f"{key}{n}")
                firsts[key].append(first)
                if ready is not None and not key:
                    readies.append(ready)
    figures: dict[str, float] = {}
    for key, root in trees.items():
        figures[f"{key}first_spo2_s_median"] = statistics.median(firsts[key])
        figures[f"{key}first_spo2_s_min"] = min(firsts[key])
        figures[f"{key}import_window_s"] = _import_s(root, "bedside.views.window")
    if readies:
        figures["database_open_s_median"] = statistics.median(readies)
    figures["import_pyqtgraph_s"] = _import_s(ROOT, "pyqtgraph")
    figures["import_storage_database_s"] = _import_s(ROOT, "storage.database")
    return figures


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="cold starts per tree (default 5)")
    parser.add_argument("--reference", type=Path, default=None, help="a checkout to measure alongside")
    options = parser.parse_args()
    before = _load()
    figures = run(options.runs, options.reference)
    print(f"cold start ({options.runs} runs each; load average before {before}, after {_load()}): ")
    print("  " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
