"""Cold start to the first number: from the process starting to the first SpO2 shown as current
on the monitor's tile (goal under 1 s), with a simulated Masimo, as ``bedside monitor`` runs.

The finish line is the tile's own log line ("first SpO2 on screen at unix time ..."); the start
is taken just before the process is spawned, so the interpreter's own start is counted. Also
reported: the import time of the window module alone in a fresh interpreter, the largest part.

    PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.bench_cold_start
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

_FIRST = re.compile(r"first SpO2 on screen at unix time (\d+\.\d+)")


def _first_number_s(env: dict[str, str], tmp: str, n: int) -> float:
    cmd = [
        sys.executable, "-m", "bedside.cli", "-v", "monitor", "--scenario", "baseline",
        "--sim-device", "masimo-ascii", "--db", f"sqlite:///{tmp}/cold{n}.sqlite3", "--quit-after", "20",
    ]  # fmt: skip
    t0 = time.time()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            found = _FIRST.search(line)
            if found:
                return float(found.group(1)) - t0
        raise RuntimeError("the monitor exited without showing an SpO2")
    finally:
        proc.terminate()
        proc.wait(10)


def _import_s(env: dict[str, str], module: str) -> float:
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(done.stdout.strip())


def run(repeats: int = 3) -> dict[str, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        firsts = [_first_number_s(env, tmp, n) for n in range(repeats)]
    return {
        "first_spo2_s_median": statistics.median(firsts),
        "first_spo2_s_min": min(firsts),
        "import_window_s": _import_s(env, "bedside.views.window"),
        "import_pyqtgraph_s": _import_s(env, "pyqtgraph"),
        "import_storage_s": _import_s(env, "storage"),
    }


if __name__ == "__main__":
    figures = run()
    print("cold start: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
