"""Time from a frame's last byte written to a pty to its observation reaching the monitor core.

Real path: pty -> SerialLink reader thread -> Masimo driver -> MonitorCore.on_result.
"""

from __future__ import annotations

import statistics
import threading
import time

from bedside.monitor.core import MonitorCore
from drivers.clock import SystemClock
from drivers.masimo import MasimoAsciiDriver
from drivers.transports.pty_pair import open_pty_pair
from drivers.transports.serial import SerialLink
from drivers.types import DecodeResult


def run(samples: int = 300, gap_s: float = 0.02) -> dict[str, float]:
    clock = SystemClock()
    core = MonitorCore(clock)
    arrived = threading.Event()
    arrivals: list[int] = []

    def sink(result: DecodeResult) -> None:
        if result.observations:
            arrivals.append(time.perf_counter_ns())
            core.on_result(result, "bench")
            arrived.set()

    latencies_ms: list[float] = []
    with open_pty_pair() as pty:
        link = SerialLink("bench", pty.device_path, MasimoAsciiDriver("bench"), clock, sink, core.on_event)
        link.start()
        try:
            time.sleep(0.3)  # let the link open the port
            for i in range(samples):
                line = (
                    f"11/23/26 09:{i // 60 % 60:02d}:{i % 60:02d} SN=0000012345 "
                    f"SPO2=0{90 + i % 9}% BPM=0{60 + i % 30}"
                    " PI=03.10% SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
                ).encode()
                arrived.clear()
                arrivals.clear()
                pty.write(line)
                written = time.perf_counter_ns()
                if not arrived.wait(2.0):
                    raise RuntimeError(f"sample {i}: no observation within 2 s")
                latencies_ms.append((arrivals[0] - written) / 1e6)
                time.sleep(gap_s)
        finally:
            link.stop()
    latencies_ms.sort()
    return {
        "samples": float(len(latencies_ms)),
        "median_ms": statistics.median(latencies_ms),
        "p99_ms": latencies_ms[int(0.99 * (len(latencies_ms) - 1))],
        "max_ms": latencies_ms[-1],
    }


if __name__ == "__main__":
    figures = run()
    print("frame last byte -> observation at core: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
