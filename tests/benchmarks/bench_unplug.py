"""Unplug and replug a serial device N times (issue 11, "Measured": "SIGKILL and unplug counts").

The device is the simulators' pty host (``PtyHost``) playing a Masimo at an accelerated pace (a
line every 20 ms, so the first line after a replug comes at once); the monitor side is the real
``SerialLink`` with the Masimo driver, ``MonitorCore`` and a ``ClinicalSession`` judging its events.
The link opens a fixed name, a symlink to the pty, as a clinic's configuration names
``/dev/serial/by-id/...``. One unplug closes the pty (both ends: the link's next read fails) and
removes the symlink; the return opens a new pty (a new ``/dev/pts/N``, as a re-enumerated adapter)
and puts the symlink back. Measured per cycle: time from the unplug to the DISCONNECTED event,
from the return to the first new observation at the core; over the run: the "device disconnected"
technical alarm started once per unplug and ended on every return, and the threads and open file
descriptors (``/proc/self/fd``) before the first unplug and after the last return.

The link waits ``reconnect_interval_s`` of real time between two attempts to open (1 s in the app:
``SerialLink``'s default), so a return is seen within that interval; the device stays unplugged
0.5 s plus a random part of the interval, so the returns fall anywhere in it. The link's wait is
real (``threading.Event.wait``, not the injected clock): the CI test
(``tests/drivers/test_unplug_cycles.py``) runs a few cycles with a short interval instead.

    PYTHONPATH=$PWD python -m tests.benchmarks.bench_unplug --cycles 50
"""

from __future__ import annotations

import argparse
import gc
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from alarms import load_config
from alarms.conditions import ConditionId
from alarms.manager import AlarmEventKind
from bedside.monitor.core import MonitorCore
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import SystemClock
from drivers.device_clock import DeviceClockSetting
from drivers.registry import make_driver
from drivers.transports.serial import SerialLink
from drivers.types import DecodeResult, DeviceEvent, DeviceEventKind
from simulators.encoders import encoder_for
from simulators.host import PtyHost
from simulators.physiology import ScenarioPlayer
from simulators.scenario import load_scenario

SOURCE = "masimo-ascii-1"
#: Scenario seconds per real second: a Masimo line every 20 ms.
SPEED = 50.0
#: Real seconds between two steps of the bench's loop (host writes, core pump, heartbeat).
STEP_S = 0.005


def open_fds() -> int:
    """Open file descriptors of this process (Linux)."""
    return len(os.listdir("/proc/self/fd"))


def alive_threads() -> int:
    """Threads of this process that are running."""
    return threading.active_count()


@dataclass
class UnplugFigures:
    """What ``unplug_cycles`` measured."""

    reconnect_s: list[float] = field(default_factory=list)
    detect_s: list[float] = field(default_factory=list)
    alarms_started: int = 0
    alarms_ended: int = 0
    connected_events: int = 0
    disconnected_events: int = 0
    threads_before: int = 0
    threads_after: int = 0
    fds_before: int = 0
    fds_after: int = 0
    threads_idle: int = 0
    fds_idle: int = 0
    threads_after_stop: int = 0
    fds_after_stop: int = 0

    def as_dict(self) -> dict[str, float]:
        """Figures for the benchmark runner."""
        ordered = sorted(self.reconnect_s)
        return {
            "cycles": float(len(self.reconnect_s)),
            "reconnect_median_s": statistics.median(ordered),
            "reconnect_min_s": ordered[0],
            "reconnect_max_s": ordered[-1],
            "detect_median_s": statistics.median(self.detect_s),
            "detect_max_s": max(self.detect_s),
            "alarms_started": float(self.alarms_started),
            "alarms_ended": float(self.alarms_ended),
            "leaked_threads": float(self.threads_after - self.threads_before),
            "leaked_fds": float(self.fds_after - self.fds_before),
            "leaked_threads_after_stop": float(self.threads_after_stop - self.threads_idle),
            "leaked_fds_after_stop": float(self.fds_after_stop - self.fds_idle),
        }


class _Bench:
    """The device on its pty, the link, the core and the session, stepped by one loop."""

    def __init__(self, folder: Path, reconnect_interval_s: float) -> None:
        self.clock = SystemClock()
        self.port = folder / "ttyBedsideOximeter"  # the stable name, like /dev/serial/by-id/...
        player = ScenarioPlayer(load_scenario("baseline").with_seed(1), self.clock, speed=SPEED)
        self.host = PtyHost(encoder_for("masimo-ascii"), player, self.clock)
        self.core = MonitorCore(self.clock)
        self.clinical = ClinicalSession(
            self.clock, load_config(), session_id="bench-unplug", record=lambda _r: None,
            nibp_link_send=None, nibp_start_command=None,
        )  # fmt: skip
        self.core.subscribe(
            on_observation=self.clinical.on_observation, on_event=self.clinical.on_device_event
        )
        self.first_observation_at: float | None = None
        self.plugged = False
        self.events: list[tuple[float, DeviceEventKind]] = []
        self._lock = threading.Lock()
        sink = self.core.result_sink(SOURCE)
        # The accelerated device's clock runs ahead of this PC's: its values are stamped on arrival.
        driver = make_driver("masimo-ascii", SOURCE, DeviceClockSetting.arrival())
        self.link = SerialLink(
            SOURCE, str(self.port), driver, self.clock, self._timed(sink), self._event,
            reconnect_interval_s=reconnect_interval_s,
        )  # fmt: skip
        self.core.add_link(self.link)

    def _timed(self, sink: Callable[[DecodeResult], None]) -> Callable[[DecodeResult], None]:
        def on_result(result: DecodeResult) -> None:
            if result.observations:
                with self._lock:
                    if self.first_observation_at is None:
                        self.first_observation_at = time.perf_counter()
            sink(result)

        return on_result

    def _event(self, event: DeviceEvent) -> None:
        with self._lock:
            self.events.append((time.perf_counter(), event.kind))
        self.core.on_event(event)

    def plug(self) -> float:
        """Open a new pty and point the stable name at it; returns when (perf_counter)."""
        path = self.host.open()
        os.symlink(path, self.port)
        self.plugged = True
        with self._lock:
            self.first_observation_at = None
        return time.perf_counter()

    def unplug(self) -> float:
        """Pull the cable: the pty closes under the link and the name goes away."""
        at = time.perf_counter()
        self.plugged = False
        # The name first: the link retries at once, and a freed /dev/pts/N may be another program's.
        self.port.unlink()
        self.host.close()
        return at

    def step(self) -> None:
        """One turn: the device writes what is due, the GUI thread's work is done."""
        if self.plugged:  # unplugged, the device writes nowhere
            self.host.step()
        self.core.pump()
        self.clinical.tick()

    def wait_for(self, probe: Callable[[], float | None], timeout_s: float, what: str) -> float:
        """Step until ``probe()`` gives a time (perf_counter), and return it; RuntimeError after
        ``timeout_s``."""
        deadline = time.perf_counter() + timeout_s
        while (found := probe()) is None:
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{what}: not within {timeout_s:.1f} s")
            self.step()
            time.sleep(STEP_S)
        self.step()
        return found

    def unplugged_until(self, until: float) -> float | None:
        """``until`` once it has passed, else None (the device stays unplugged meanwhile)."""
        return until if time.perf_counter() >= until else None

    def observed_since(self, since: float) -> float | None:
        """When the first observation after ``since`` reached the core, or None."""
        with self._lock:
            at = self.first_observation_at
        return at if at is not None and at >= since else None

    def event_after(self, kind: DeviceEventKind, since: float) -> float | None:
        """When the first ``kind`` event after ``since`` came, or None."""
        with self._lock:
            return next((t for t, k in self.events if k is kind and t >= since), None)

    def disconnect_alarms(self) -> tuple[int, int]:
        """(started, ended) of the device-disconnected technical alarm so far."""
        events = [e for e in self.clinical.alarm_events if e.condition is ConditionId.DEVICE_DISCONNECTED]
        started = sum(1 for e in events if e.kind is AlarmEventKind.STARTED)
        ended = sum(1 for e in events if e.kind is AlarmEventKind.ENDED)
        return started, ended


def unplug_cycles(
    cycles: int = 50,
    *,
    reconnect_interval_s: float = 1.0,
    unplugged_s: float = 0.5,
    timeout_s: float = 10.0,
) -> UnplugFigures:
    """Run ``cycles`` unplug/replug cycles; the figures (leaks measured in the connected state)."""
    figures = UnplugFigures()
    pace = random.Random(cycles)
    with tempfile.TemporaryDirectory() as folder:
        bench = _Bench(Path(folder), reconnect_interval_s)
        gc.collect()
        figures.threads_idle, figures.fds_idle = alive_threads(), open_fds()  # before any port is open
        try:
            since = bench.plug()
            bench.link.start()
            bench.wait_for(partial(bench.observed_since, since), timeout_s, "first observation")
            figures.threads_before, figures.fds_before = alive_threads(), open_fds()
            for n in range(cycles):
                pulled = bench.unplug()
                noticed = bench.wait_for(
                    partial(bench.event_after, DeviceEventKind.DISCONNECTED, pulled),
                    timeout_s,
                    f"cycle {n}: disconnect noticed",
                )
                figures.detect_s.append(noticed - pulled)
                # Unplugged for a varying time, so returns fall anywhere in the link's retry interval.
                down_for = unplugged_s + pace.random() * reconnect_interval_s
                bench.wait_for(
                    partial(bench.unplugged_until, time.perf_counter() + down_for),
                    down_for + timeout_s,
                    "unplugged",
                )
                returned = bench.plug()
                first = bench.wait_for(
                    partial(bench.observed_since, returned), timeout_s, f"cycle {n}: reconnect"
                )
                figures.reconnect_s.append(first - returned)
            figures.threads_after, figures.fds_after = alive_threads(), open_fds()
            figures.alarms_started, figures.alarms_ended = bench.disconnect_alarms()
            kinds = [k for _, k in bench.events]
            figures.connected_events = kinds.count(DeviceEventKind.CONNECTED)
            figures.disconnected_events = kinds.count(DeviceEventKind.DISCONNECTED)
        finally:
            bench.link.stop()
            bench.host.close()
            if bench.port.is_symlink():
                bench.port.unlink()
        gc.collect()
        figures.threads_after_stop, figures.fds_after_stop = alive_threads(), open_fds()
    return figures


def run(cycles: int = 50) -> dict[str, float]:
    """Figures of ``cycles`` unplugs at the app's reconnect interval (1 s); ``bash scripts/dev.sh bench``."""
    figures = unplug_cycles(cycles)
    out = figures.as_dict()
    out["load_average_1m"] = os.getloadavg()[0]
    return out


def main() -> int:
    """Command line: ``--cycles``, ``--reconnect-interval``, ``--unplugged``."""
    parser = argparse.ArgumentParser(description="Unplug and replug a serial device on a pty N times.")
    parser.add_argument("--cycles", type=int, default=50)
    parser.add_argument(
        "--reconnect-interval", type=float, default=1.0, help="the link's wait between opens (s)"
    )
    parser.add_argument("--unplugged", type=float, default=0.5, help="seconds the device stays unplugged")
    args = parser.parse_args()
    figures = unplug_cycles(
        args.cycles, reconnect_interval_s=args.reconnect_interval, unplugged_s=args.unplugged
    )
    for key, value in figures.as_dict().items():
        print(f"{key}: {value:.3f}")
    print(f"load_average_1m: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
