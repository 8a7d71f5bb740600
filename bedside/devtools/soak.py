"""Repaint soak: thousands of trend repaints in one process, to catch a Qt that crashes.

PySide6 6.12.0 on Python 3.11 dies ("none_dealloc") after a few hundred pyqtgraph repaints;
the test suite runs this in a subprocess so an upgrade that crashes fails a test, not a clinic.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime

from drivers.types import Observation, Quality, VitalKind


def _obs(kind: VitalKind, value: float, mono: float) -> Observation:
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    return Observation(kind, value, "%", at, at, mono, "soak", Quality.VALID)


def run(frames: int, points_per_frame: int) -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from bedside.monitor.vitals_board import VitalsBoard
    from bedside.views.trend import TrendView

    app = QApplication.instance() or QApplication([])
    board = VitalsBoard(0.0)
    view = TrendView()
    view.resize(1200, 800)
    view.show()
    mono = 0.0
    for frame in range(frames):
        for _ in range(points_per_frame):
            mono += 1.0
            board.add(_obs(VitalKind.SPO2, 95 + (frame % 5), mono))
            board.add(_obs(VitalKind.PULSE_RATE, 70 + (frame % 9), mono))
        if frame % 50 == 0:
            t_at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
            for kind, v in (
                (VitalKind.NIBP_SYSTOLIC, 120.0),
                (VitalKind.NIBP_DIASTOLIC, 80.0),
                (VitalKind.NIBP_MEAN, 93.0),
            ):
                board.add(
                    Observation(
                        kind,
                        v,
                        "mm[Hg]",
                        t_at.replace(second=frame % 60, minute=frame // 60 % 60),
                        t_at,
                        mono,
                        "soak-nibp",
                    )
                )
        view.refresh(board, mono)
        view.repaint()
        app.processEvents()
    print(f"soak ok: frames {frames}, points {len(board.trends[VitalKind.SPO2])}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--frames", type=int, default=2000)
    parser.add_argument("--points-per-frame", type=int, default=2)
    args = parser.parse_args()
    return run(args.frames, args.points_per_frame)


if __name__ == "__main__":
    sys.exit(main())
