"""Time from the offending frame's last byte written to a pty to the alarm raised by ClinicalSession.

Real path: pty -> SerialLink reader thread -> Masimo driver -> MonitorCore inbox -> ``pump`` on
this (the "GUI") thread -> ClinicalSession -> AlarmManager STARTED -> the storage record sink.
The SpO2-low condition delay is set to 0 s for this bench, so the figure is the data path's own
latency to the alarm, not the configured 10 s delay. ``pump`` is polled in a tight loop here; in
the window the link wakes the GUI thread instead (see ``bench_alarm_to_screen``).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable

from alarms import ConditionId, load_config
from bedside.monitor.core import MonitorCore
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import SystemClock
from drivers.masimo import MasimoAsciiDriver
from drivers.transports.pty_pair import open_pty_pair
from drivers.transports.serial import SerialLink
from drivers.types import DeviceEvent, DeviceEventKind, Observation, VitalKind
from simulators.encoders.masimo import MasimoAsciiEncoder
from simulators.model import VitalsSnapshot
from storage import AlarmEventRecord

NORMAL_SPO2 = 97.0
#: Below the default floor (90 %) but above the high-priority level, so the alarm does not latch.
LOW_SPO2 = 87.0
WAIT_S = 2.0


def _pump_until(core: MonitorCore, done: Callable[[], bool], what: str) -> None:
    """Wait as the app's GUI thread does: asleep until the link thread wakes it, then pump.

    (A busy loop here would hold the interpreter lock against the reader thread and measure lock
    contention, not the data path.)"""
    wake = threading.Event()
    core.set_waker(wake.set)
    deadline = time.perf_counter() + WAIT_S
    while not done():
        wake.wait(0.05)
        wake.clear()
        core.pump()
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what} did not happen within {WAIT_S} s")


def _normal_seen(ended: list[int], spo2: list[int], i: int) -> Callable[[], bool]:
    # Sample i's normal frame is the (2i+1)th SpO2 value, and it ended sample i-1's alarm.
    return lambda: len(ended) >= i and len(spo2) > 2 * i


def _grew(items: list[int], before: int) -> Callable[[], bool]:
    return lambda: len(items) > before


def run(samples: int = 100) -> dict[str, float]:
    """Median and p99 (ms) over ``samples`` SpO2-low onsets."""
    clock = SystemClock()
    base = load_config()
    config = base.model_copy(update={"alarm_delays_s": {**base.alarm_delays_s, ConditionId.SPO2_LOW: 0.0}})
    core = MonitorCore(clock)
    raised_ns: list[int] = []
    ended: list[int] = []
    spo2: list[int] = []

    def record(item: object) -> None:
        if isinstance(item, AlarmEventRecord) and item.condition == ConditionId.SPO2_LOW.value:
            if item.kind == "started":
                raised_ns.append(time.perf_counter_ns())
            elif item.kind == "ended":
                ended.append(1)

    clinical = ClinicalSession(
        clock, config, session_id="bench", record=record, nibp_link_send=None, nibp_start_command=None
    )
    core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
    connected: list[int] = []

    def count(obs: Observation) -> None:
        if obs.kind is VitalKind.SPO2:
            spo2.append(1)

    def link_event(event: DeviceEvent) -> None:
        if event.kind is DeviceEventKind.CONNECTED:
            connected.append(1)

    core.subscribe(on_observation=count, on_event=link_event)
    encoder = MasimoAsciiEncoder()
    latencies_ms: list[float] = []
    with open_pty_pair() as pty:
        link = SerialLink(
            "oximeter", pty.device_path, MasimoAsciiDriver("oximeter"), clock, core.on_result, core.on_event
        )
        core.add_link(link)
        core.start()
        try:
            _pump_until(core, lambda: bool(connected), "the link opening the pty")
            for i in range(samples):
                # A normal frame first, so each sample is a fresh onset.
                pty.write(encoder.encode(VitalsSnapshot(clock.now(), NORMAL_SPO2, 72.0, None, 3.1)))
                _pump_until(core, _normal_seen(ended, spo2, i), "the normal frame")
                before = len(raised_ns)
                pty.write(encoder.encode(VitalsSnapshot(clock.now(), LOW_SPO2, 72.0, None, 3.1)))
                written = time.perf_counter_ns()
                _pump_until(core, _grew(raised_ns, before), "the SpO2-low alarm")
                latencies_ms.append((raised_ns[-1] - written) / 1e6)
        finally:
            core.stop()
    latencies_ms.sort()
    return {
        "samples": float(len(latencies_ms)),
        "median_ms": statistics.median(latencies_ms),
        "p99_ms": latencies_ms[int(0.99 * (len(latencies_ms) - 1))],
        "max_ms": latencies_ms[-1],
    }


if __name__ == "__main__":
    figures = run()
    print(
        "offending frame's last byte -> SpO2-low alarm raised (condition delay 0 s, pump polled): "
        + ", ".join(f"{k} {v:.2f}" for k, v in figures.items())
    )
