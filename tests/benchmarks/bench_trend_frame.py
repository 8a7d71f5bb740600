"""Trend frame time at 24 h of history: Bedside's TrendView against plain pyqtgraph, one run.

The same data in both: SpO2 and pulse at 1 Hz for 24 h (with a few probe-off stretches and a
cable pull), NIBP every 5 min. The reference is what pyqtgraph gives for free: three stacked
``PlotWidget``s with ``setDownsampling(auto=True, mode="peak")`` and ``setClipToView(True)``,
default pens, no grid, showing a fixed 30 min window that ends 7.5 min ahead of the newest
point (set once: the strictest reference, since it never moves its axis). One frame is one
heartbeat as the monitor does it: a new second of data arrives, the view is updated and
repainted. Frames of the two alternate, so a busy machine slows both alike.

    PYTHONPATH=$PWD QT_QPA_PLATFORM=offscreen python -m tests.benchmarks.bench_trend_frame
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

HOURS = 24.0
WINDOW_MIN = 30.0
SIZE = (1100, 640)


def _series(seconds: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    t = np.arange(seconds, dtype=np.float64)
    spo2 = np.clip(97 + np.cumsum(rng.normal(0, 0.05, seconds)) % 4 - 2, 80, 100)
    pulse = 72 + 10 * np.sin(t / 900.0) + rng.normal(0, 1.5, seconds)
    # Probe off for a minute every two hours: invalid samples (NaN), as the board stores them.
    for start in range(3600, seconds, 7200):
        spo2[start : start + 60] = np.nan
        pulse[start : start + 60] = np.nan
    return t, spo2, pulse


def run(frames: int = 120) -> dict[str, float]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import pyqtgraph as pg
    from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

    from alarms import NibpReading, ReadingClass
    from bedside.monitor.vitals_board import VitalsBoard
    from bedside.views.trend import TrendView
    from bedside.workflow.clinical import ClassifiedReading
    from drivers.types import Observation, Quality, VitalKind

    app = QApplication.instance() or QApplication([])
    seconds = int(HOURS * 3600)
    t, spo2, pulse = _series(seconds + frames + 10)
    start = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)

    # --- Bedside: the board fed observation by observation, as the monitor feeds it
    board = VitalsBoard(0.0)

    def feed(i: int) -> None:
        for kind, v in ((VitalKind.SPO2, spo2[i]), (VitalKind.PULSE_RATE, pulse[i])):
            valid = not np.isnan(v)
            at = start + timedelta(seconds=float(t[i]))
            board.add(
                Observation(
                    kind,
                    float(v) if valid else None,
                    "%",
                    at,
                    at,
                    float(t[i]),
                    "bench",
                    Quality.VALID if valid else Quality.PROBE_OFF,
                )
            )

    for i in range(seconds):
        feed(i)
    readings = tuple(
        ClassifiedReading(
            NibpReading(
                125.0 + 10 * np.sin(k / 20), 80.0, 95.0, start + timedelta(seconds=k * 300.0), "bench"
            ),
            None,
            ReadingClass.AT_BASELINE if k % 7 else ReadingClass.EXPECTED_RISE,
        )
        for k in range(seconds // 300)
    )
    view = TrendView()
    view.resize(*SIZE)
    view.show()
    view.show_classified(readings, start)

    # --- The reference: plain pyqtgraph with the same data
    ref = QWidget()
    layout = QVBoxLayout(ref)
    layout.setContentsMargins(0, 0, 0, 0)
    plots = []
    for _ in range(3):
        w = pg.PlotWidget()
        item = w.getPlotItem()
        item.setDownsampling(auto=True, mode="peak")
        item.setClipToView(True)
        layout.addWidget(w)
        plots.append(w)
    ref_spo2 = plots[0].plot(connect="finite")
    ref_pulse = plots[1].plot(connect="finite")
    nibp_x = np.asarray([r.reading.measured_at.timestamp() - start.timestamp() for r in readings]) / 60
    plots[2].plot(nibp_x, [r.reading.systolic for r in readings], pen=None, symbol="t")
    plots[2].plot(nibp_x, [r.reading.diastolic for r in readings], pen=None, symbol="t1")
    for p in plots[1:]:
        p.setXLink(plots[0])
    end_min = seconds / 60.0
    plots[0].setXRange(end_min - 0.75 * WINDOW_MIN, end_min + 0.25 * WINDOW_MIN, padding=0.0)
    ref.resize(*SIZE)
    ref.show()
    ref_n = [seconds]

    def ref_frame() -> None:
        n = ref_n[0]
        ref_spo2.setData(t[:n] / 60.0, spo2[:n])
        ref_pulse.setData(t[:n] / 60.0, pulse[:n])
        ref_n[0] += 1
        ref.repaint()

    bed_n = [seconds]

    def bedside_frame() -> None:
        feed(bed_n[0])
        view.refresh(board, float(t[bed_n[0]]))
        bed_n[0] += 1
        view.repaint()

    def timed(frame: Callable[[], None]) -> float:
        t0 = time.perf_counter()
        frame()
        app.processEvents()
        return (time.perf_counter() - t0) * 1000.0

    for _ in range(5):  # first paints build caches in both
        timed(bedside_frame)
        timed(ref_frame)
    bed_ms: list[float] = []
    ref_ms: list[float] = []
    for _ in range(frames):
        bed_ms.append(timed(bedside_frame))
        ref_ms.append(timed(ref_frame))
    bed_med, ref_med = statistics.median(bed_ms), statistics.median(ref_ms)
    return {
        "hours": HOURS,
        "bedside_frame_ms_median": bed_med,
        "reference_frame_ms_median": ref_med,
        "bedside_frame_ms_p95": statistics.quantiles(bed_ms, n=20)[-1],
        "reference_frame_ms_p95": statistics.quantiles(ref_ms, n=20)[-1],
        "ratio_bedside_to_reference": bed_med / ref_med,
    }


if __name__ == "__main__":
    figures = run()
    print("trend frame at 24 h: " + ", ".join(f"{k} {v:.2f}" for k, v in figures.items()))
