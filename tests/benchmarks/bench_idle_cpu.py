"""CPU use of the running monitor (window offscreen) with three simulated devices streaming.

The simulators run inside the same process (threads writing to ptys), so the figure is an upper
bound for the app alone. Measured over the steady state after start-up.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

DEVICES = ("masimo-ascii", "nonin-df2", "ivy-ansar")


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def run(warmup_s: float = 8.0, measure_s: float = 30.0) -> dict[str, float]:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "bedside.cli",
            "monitor",
            "--scenario",
            "baseline",
            "--db",
            f"sqlite:///{tmp}/bench.sqlite3",
            "--quit-after",
            str(warmup_s + measure_s + 5),
        ]
        for d in DEVICES:
            cmd += ["--sim-device", d]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(warmup_s)
            cpu0, t0 = _cpu_s(proc.pid), time.monotonic()
            time.sleep(measure_s)
            cpu1, t1 = _cpu_s(proc.pid), time.monotonic()
            rss_kb = int(
                next(
                    line.split()[1]
                    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines()
                    if line.startswith("VmRSS")
                )
            )
        finally:
            proc.terminate()
            proc.wait(10)
    return {
        "devices": float(len(DEVICES)),
        "cpu_percent_of_one_core": 100.0 * (cpu1 - cpu0) / (t1 - t0),
        "rss_mb": rss_kb / 1024,
    }


if __name__ == "__main__":
    figures = run()
    print("monitor at idle, 3 simulated devices: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
