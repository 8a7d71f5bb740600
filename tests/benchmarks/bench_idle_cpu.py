"""Steady CPU of the monitor window with three simulated devices, against a bare window with the
same timers and the same devices, at hour 1 and at hour 24 of a session.

Devices: a Masimo (ASCII, a line a second), a Nonin DF2 (75 frames a second, with its pleth) and
an HL7 PCD-01 feed over MLLP, each a simulator thread writing its device's own bytes to the same
driver and transport a real device would use. "Bedside" is the MonitorWindow with a clinical
session attached (alarm bar, NIBP panel, trend, tiles, pleth); "bare" is an empty QMainWindow
driven by the same link wake-ups (``MonitorCore.pump``) and the same 1 s heartbeat
(``MonitorCore.tick``); "bare+engine" adds the clinical engine (alarms, NIBP judgement) with no
screen, so bedside against bare+engine is what Bedside's screen alone costs. "Hour 24" is the same
run with the board holding 24 h of history first (SpO2 and pulse at 1 Hz, NIBP every 5 min) and
the session clock 24 h in: the accelerated equivalent of a day-long session; "hour 1" likewise has an
hour of history first (until 2026-11-27 it had none: the first seconds of a session).

Each of the four runs is its own process (CPU is user + system time of that process, all its
threads, over ``measure_s`` after ``warmup_s``).

    PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.bench_idle_cpu
    PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.bench_idle_cpu --counts

``--counts`` reports, for Bedside at hour 1 and hour 24, the widgets painted, the layout requests
and the window's repaints per second (an event filter, so in runs of their own): what the screen
does, which a loaded machine does not change.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time

DEVICES = ("masimo-ascii", "nonin-df2", "hl7-pcd01")


def _prefill(board: object, hours: float) -> None:
    """Give the board ``hours`` of history, as a session that long would have."""
    from datetime import UTC, datetime, timedelta

    from bedside.monitor.vitals_board import VitalsBoard
    from drivers.types import Observation, VitalKind

    assert isinstance(board, VitalsBoard)
    seconds = int(hours * 3600)
    board.session_start_mono -= seconds
    start = board.session_start_mono
    at = datetime.now(UTC) - timedelta(seconds=seconds)
    for s in range(seconds):
        board.trends[VitalKind.SPO2].append(float(s), 97.0 + (s % 3))
        board.trends[VitalKind.PULSE_RATE].append(float(s), 70.0 + (s % 7))
    for k in range(seconds // 300):
        for kind, v in (
            (VitalKind.NIBP_SYSTOLIC, 124.0),
            (VitalKind.NIBP_DIASTOLIC, 80.0),
            (VitalKind.NIBP_MEAN, 95.0),
        ):
            when = at + timedelta(seconds=300.0 * k)
            board.add_before_restart(Observation(kind, v, "mm[Hg]", when, when, start + 300.0 * k, "history"))


def _rss_mb() -> float:
    """This process's resident memory now (MB), from /proc (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def one(
    kind: str, hours: float, warmup_s: float, measure_s: float, *, count_events: bool = False
) -> dict[str, float]:
    """One run in this process: ``kind`` "bedside", "bare" or "bare+engine". With ``count_events``
    (never in a timed run: the filter itself costs CPU) it counts instead, per second: widgets
    painted, layout requests, and the window's repaints (each one a flush of the window)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
    from PySide6.QtWidgets import QApplication, QMainWindow

    from alarms import load_config
    from bedside.app.build import build_monitor
    from drivers.clock import SystemClock

    app = QApplication.instance() or QApplication([])
    clock = SystemClock()
    parts = build_monitor([], clock, scenario="baseline", sim_devices=DEVICES, seed=1)
    core = parts.core
    if hours > 0:
        # Hour 1 is an hour in too (before, it was the first seconds of a session: an empty trend).
        _prefill(core.board, hours)
    keep: list[object] = []
    heartbeat = QTimer()
    if kind == "bedside":
        from bedside.views.window import MonitorWindow
        from bedside.workflow.clinical import ClinicalSession

        window = MonitorWindow(core, parts.scenario)
        clinical = ClinicalSession(
            clock, load_config(), session_id="bench", record=lambda _r: None,
            nibp_link_send=None, nibp_start_command=None,
        )  # fmt: skip
        window.attach_clinical(clinical, clock.now())
        window.resize(1600, 1000)
        window.show()
        window.start_timers()
        keep.append(window)
    else:

        class _Wakeup(QObject):
            arrived = Signal()

        if kind == "bare+engine":
            # The clinical engine judging every observation, with no screen: what the alarms cost.
            from bedside.workflow.clinical import ClinicalSession

            engine = ClinicalSession(
                clock, load_config(), session_id="bench", record=lambda _r: None,
                nibp_link_send=None, nibp_start_command=None,
            )  # fmt: skip
            core.subscribe(on_observation=engine.on_observation, on_event=engine.on_device_event)
            heartbeat.timeout.connect(engine.tick)
            keep.append(engine)
        bare = QMainWindow()
        bare.resize(1600, 1000)
        bare.show()
        wakeup = _Wakeup()
        wakeup.arrived.connect(core.pump, Qt.ConnectionType.QueuedConnection)
        core.set_waker(wakeup.arrived.emit)
        heartbeat.timeout.connect(core.tick)
        heartbeat.start(1000)
        keep += [bare, wakeup]
    keepalive = QTimer()  # the app's own 250 ms keepalive, in both
    keepalive.timeout.connect(lambda: None)
    keepalive.start(250)
    core.start()
    if parts.rig is not None:
        parts.rig.start()
    figures: dict[str, float] = {}
    counted = {"paints": 0, "layout_requests": 0, "window_repaints": 0}
    counting = [False]

    class _Count(QObject):
        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            if counting[0]:
                kind_of = event.type()
                if kind_of == QEvent.Type.Paint:
                    counted["paints"] += 1
                elif kind_of == QEvent.Type.LayoutRequest:
                    counted["layout_requests"] += 1
                elif kind_of == QEvent.Type.UpdateRequest:
                    counted["window_repaints"] += 1
            return False

    counter = _Count()
    if count_events:
        app.installEventFilter(counter)

    def sample(name: str) -> None:
        figures[name] = time.process_time()
        figures[name + "_wall"] = time.monotonic()
        counting[0] = name == "start"

    QTimer.singleShot(int(warmup_s * 1000), lambda: sample("start"))

    def finish() -> None:
        sample("end")
        app.quit()

    QTimer.singleShot(int((warmup_s + measure_s) * 1000), finish)
    app.exec()
    core.stop()
    if parts.rig is not None:
        parts.rig.stop()
    cpu = figures["end"] - figures["start"]
    wall = figures["end_wall"] - figures["start_wall"]
    points = len(core.board.trends[next(iter(core.board.trends))])
    out = {"cpu_percent": 100.0 * cpu / wall, "trend_points": float(points), "rss_mb": _rss_mb()}
    if count_events:
        out.update({f"{name}_per_s": n / wall for name, n in counted.items()})
    return out


def run(warmup_s: float = 6.0, measure_s: float = 15.0, rounds: int = 3) -> dict[str, float]:
    """The six runs, each in a fresh process, ``rounds`` times over with the kinds interleaved (a
    shared machine's load then falls on all of them alike); medians, in % of one core."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for hours in (1.0, 24.0):
            for kind in ("bedside", "bare", "bare+engine"):
                cmd = [sys.executable, "-m", "tests.benchmarks.bench_idle_cpu", "--one", kind, str(hours),
                       str(warmup_s), str(measure_s)]  # fmt: skip
                done = subprocess.run(
                    cmd,
                    check=False,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=warmup_s + measure_s + 90,
                )
                line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
                if not line:
                    raise RuntimeError(f"{kind} at hour {hours:g} failed: {done.stderr.strip()[-400:]}")
                figures = json.loads(line[-1])
                key = f"{kind}_h{hours:g}_cpu_percent"
                samples.setdefault(key, []).append(figures["cpu_percent"])
                samples.setdefault(f"{kind}_h{hours:g}_rss_mb", []).append(figures["rss_mb"])
    out = {key: statistics.median(values) for key, values in samples.items()}
    for hours in (1, 24):
        bedside = out[f"bedside_h{hours}_cpu_percent"]
        out[f"ratio_h{hours}"] = bedside / out[f"bare_h{hours}_cpu_percent"]
        out[f"ratio_screen_only_h{hours}"] = bedside / out[f"bare+engine_h{hours}_cpu_percent"]
    return out


def counts(warmup_s: float = 6.0, measure_s: float = 15.0) -> dict[str, float]:
    """Bedside's paints, layout requests and window repaints per second at hour 1 and hour 24 (the
    evidence that holds on a loaded machine, where CPU figures do not compare)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out: dict[str, float] = {}
    for hours in (1.0, 24.0):
        cmd = [sys.executable, "-m", "tests.benchmarks.bench_idle_cpu", "--count", "bedside", str(hours),
               str(warmup_s), str(measure_s)]  # fmt: skip
        done = subprocess.run(
            cmd, check=False, env=env, capture_output=True, text=True, timeout=warmup_s + measure_s + 90
        )
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
        if not line:
            raise RuntimeError(f"counting at hour {hours:g} failed: {done.stderr.strip()[-400:]}")
        for key, value in json.loads(line[-1]).items():
            if key.endswith("_per_s"):
                out[f"h{hours:g}_{key}"] = value
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] in ("--one", "--count"):
        kind, hours, warmup, measure = sys.argv[2], float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
        print(json.dumps(one(kind, hours, warmup, measure, count_events=sys.argv[1] == "--count")))
    elif len(sys.argv) > 1 and sys.argv[1] == "--counts":
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        figures = counts()
        print("Bedside per second: " + ", ".join(f"{k} {v:.1f}" for k, v in figures.items()))
    else:
        print(f"load average before: {os.getloadavg()[0]:.1f}")
        figures = run()
        print(f"load average after: {os.getloadavg()[0]:.1f}")
        print("steady CPU, 3 simulated devices: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
