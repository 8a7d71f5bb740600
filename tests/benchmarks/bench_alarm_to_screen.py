"""Time from an SpO2-low frame's last byte to the alarm row painted and to its tone started.

Real path, nothing polled: pty -> SerialLink reader thread -> Masimo driver -> MonitorCore inbox
-> the core's waker (a queued Qt signal) wakes the GUI thread -> ``pump`` -> ClinicalSession ->
AlarmManager STARTED -> the session's change notification -> ``AlarmSound.update`` (tone
started: its QSoundEffect's ``play`` called) and ``AlarmBar.show_alarms`` (a new row) -> the
row's ``paintEvent`` on a real ``MonitorWindow`` shown on Qt's offscreen platform.

The GUI thread waits in Qt's event loop between frames (``processEvents(WaitForMoreEvents)``),
as the running app does; the 1 s heartbeat runs as in the app (its trend repaint can delay a
frame). Each onset follows the previous alarm's end by about 0.1 s, as a 1 Hz oximeter would.
The SpO2-low condition delay is 0 s here, so the figures are the data path's own latency, not
the configured 10 s. The sound stands in one audio output, so on a
machine without speakers the SpO2 tone is still a fresh start (not masked by the "alarm sound
unavailable" technical alarm's tone).
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

from alarms import AlarmPriority, ConditionId, load_config
from bedside.monitor.core import MonitorCore
from bedside.views.alarm_sound import AlarmSound
from bedside.views.window import MonitorWindow
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import SystemClock
from drivers.masimo import MasimoAsciiDriver
from drivers.transports.pty_pair import open_pty_pair
from drivers.transports.serial import SerialLink
from drivers.types import DeviceEvent, DeviceEventKind
from simulators.encoders.masimo import MasimoAsciiEncoder
from simulators.model import VitalsSnapshot

NORMAL_SPO2 = 97.0
#: Below the default floor (90 %) but above the high-priority level, so the alarm does not latch.
LOW_SPO2 = 87.0
WAIT_S = 2.0
SETTLE_S = 0.1
SPO2_LOW_KEY = ConditionId.SPO2_LOW.value


def _wait(app: QApplication, done: Callable[[], bool], what: str) -> None:
    """Sleep in the event loop until ``done()`` (a 20 ms timer only bounds the wait)."""
    guard = QTimer()
    guard.start(20)
    deadline = time.perf_counter() + WAIT_S
    try:
        while not done():
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
            if time.perf_counter() > deadline:
                raise RuntimeError(f"{what} did not happen within {WAIT_S} s")
    finally:
        guard.stop()


def _settle(app: QApplication, seconds: float) -> None:
    """Let the window finish re-painting the ended alarm: an oximeter sends one line a second, so
    a new onset never lands on the repaint of the one before."""
    until = time.perf_counter() + seconds
    while time.perf_counter() < until:
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 10)


def _percentile(sorted_ms: list[float], q: float) -> float:
    return sorted_ms[int(q * (len(sorted_ms) - 1))]


def run(samples: int = 120) -> dict[str, float]:
    """p50/p99/max (ms) from last byte to alarm row painted and to tone started."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    clock = SystemClock()
    base = load_config()
    config = base.model_copy(update={"alarm_delays_s": {**base.alarm_delays_s, ConditionId.SPO2_LOW: 0.0}})
    core = MonitorCore(clock)
    window = MonitorWindow(core)
    clinical = ClinicalSession(
        clock,
        config,
        session_id="bench",
        record=lambda _r: None,
        nibp_link_send=None,
        nibp_start_command=None,
    )
    sound = AlarmSound(audio_outputs=lambda: ["bench speaker"])
    window.attach_clinical(clinical, clock.now(), alarm_sound=sound)
    painted: list[int] = []
    toned: list[int] = []
    connected: list[int] = []

    def row_painted(key: str) -> None:
        if key.startswith(SPO2_LOW_KEY):
            painted.append(time.perf_counter_ns())

    def tone(priority: AlarmPriority) -> None:
        toned.append(time.perf_counter_ns())

    def link_event(event: DeviceEvent) -> None:
        if event.kind is DeviceEventKind.CONNECTED:
            connected.append(1)

    window.alarm_bar.row_painted.connect(row_painted)
    sound.add_tone_listener(tone)
    core.subscribe(on_event=link_event)
    window.show()
    window.start_timers()

    def spo2_row_shown() -> bool:
        return any(key.startswith(SPO2_LOW_KEY) for key in window.alarm_bar.row_keys())

    encoder = MasimoAsciiEncoder()
    to_paint_ms: list[float] = []
    to_tone_ms: list[float] = []
    with open_pty_pair() as pty:
        link = SerialLink(
            "oximeter", pty.device_path, MasimoAsciiDriver("oximeter"), clock, core.on_result, core.on_event
        )
        core.add_link(link)
        core.start()
        try:
            _wait(app, lambda: bool(connected), "the link opening the pty")
            for _ in range(samples):
                # A normal frame first, so each sample is a fresh onset with its row gone.
                pty.write(encoder.encode(VitalsSnapshot(clock.now(), NORMAL_SPO2, 72.0, None, 3.1)))
                _wait(app, lambda: not spo2_row_shown() and sound.playing is None, "the alarm ending")
                _settle(app, SETTLE_S)
                painted.clear()
                toned.clear()
                pty.write(encoder.encode(VitalsSnapshot(clock.now(), LOW_SPO2, 72.0, None, 3.1)))
                written = time.perf_counter_ns()
                _wait(app, lambda: bool(painted) and bool(toned), "the SpO2-low row painted and its tone")
                to_paint_ms.append((painted[0] - written) / 1e6)
                to_tone_ms.append((toned[0] - written) / 1e6)
        finally:
            window.stop_timers()
            core.stop()
            window.close()
    to_paint_ms.sort()
    to_tone_ms.sort()
    return {
        "samples": float(len(to_paint_ms)),
        "painted_p50_ms": statistics.median(to_paint_ms),
        "painted_p99_ms": _percentile(to_paint_ms, 0.99),
        "painted_max_ms": to_paint_ms[-1],
        "tone_p50_ms": statistics.median(to_tone_ms),
        "tone_p99_ms": _percentile(to_tone_ms, 0.99),
        "tone_max_ms": to_tone_ms[-1],
    }


if __name__ == "__main__":
    figures = run()
    print(
        "SpO2-low frame's last byte -> alarm row painted / tone started (condition delay 0 s, event-driven): "
        + ", ".join(f"{k} {v:.2f}" for k, v in figures.items())
    )
