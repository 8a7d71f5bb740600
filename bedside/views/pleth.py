"""The pleth strip under SpO2: the newest seconds of the oximeter's waveform, where the device
sends one (Nonin DF2, Ivy). A shape for the eye, never judged.

Repaint is budgeted: samples arrive 75 times a second, the strip repaints at most every
``FRAME_MS`` (a data arrival within the budget schedules one repaint at its end), and not at
all while nothing new arrived. It draws one path with a 1 px cosmetic pen, and paints its own
background (opaque), so the widgets behind it are not repainted with every frame.
"""

from __future__ import annotations

import logging
import time

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QSize, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPaintEvent, QPen
from PySide6.QtWidgets import QWidget

from bedside.monitor.vitals_board import PlethBuffer
from bedside.views.theme import MUTED, NOT_CURRENT_VALUE, PLETH_COLOUR, palette

log = logging.getLogger(__name__)


class PlethStrip(QWidget):
    """A small waveform strip; ``show_pleth`` when samples arrived, it repaints within budget."""

    #: At most 10 repaints a second: a smooth enough trace for the eye at a fraction of the cost.
    FRAME_MS = 100
    #: The wave is greyed when its newest samples are older than this (the device stopped).
    STALE_S = 2.0

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setMinimumHeight(48)
        self.setMaximumHeight(72)
        # The strip paints all of itself: the window behind it is not repainted with each frame.
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self._buffer: PlethBuffer | None = None
        self._drawn_version = -1
        self._stale = False
        self._last_paint = 0.0
        self._pending = QTimer(self)
        self._pending.setSingleShot(True)
        self._pending.timeout.connect(self.update)
        #: How many repaints were asked for (tests and benchmarks read it).
        self.repaints = 0

    def sizeHint(self) -> QSize:
        """A strip: wide and short."""
        return QSize(300, 56)

    def show_pleth(self, buffer: PlethBuffer, now_mono: float) -> None:
        """New samples may have arrived (or time passed): repaint if needed, within the budget."""
        stale = buffer.received_mono is None or now_mono - buffer.received_mono > self.STALE_S
        if buffer is self._buffer and buffer.version == self._drawn_version and stale == self._stale:
            return
        self._buffer, self._drawn_version, self._stale = buffer, buffer.version, stale
        wait_ms = self.FRAME_MS - (time.monotonic() - self._last_paint) * 1000.0
        if wait_ms <= 0:
            self.update()
        elif not self._pending.isActive():
            self._pending.start(int(wait_ms) + 1)

    def paintEvent(self, event: QPaintEvent) -> None:
        """One polyline of the newest samples, scaled to the strip; words when there is none."""
        self._last_paint = time.monotonic()
        self.repaints += 1
        painter = QPainter(self)
        painter.fillRect(event.rect(), QColor(palette().background))
        buffer = self._buffer
        samples = buffer.newest() if buffer is not None else np.empty(0)
        finite = samples[np.isfinite(samples)] if samples.size else samples
        if finite.size < 2:
            painter.setPen(QColor(MUTED))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "no pleth from this device")
            painter.end()
            return
        low, high = float(finite.min()), float(finite.max())
        span = high - low or 1.0
        w, h = self.width(), self.height() - 4
        xs = np.linspace(0, w - 1, samples.size)
        ys = 2 + h - (samples - low) / span * h
        pen = QPen(QColor(NOT_CURRENT_VALUE if self._stale else PLETH_COLOUR))
        pen.setWidth(1)
        pen.setCosmetic(True)
        painter.setPen(pen)
        # One path built from the arrays (no Python loop per sample); NaN (no samples yet)
        # breaks the trace instead of joining it.
        painter.drawPath(pg.arrayToQPath(xs, ys, connect="finite"))
        if self._stale:
            painter.setPen(QColor(MUTED))
            painter.drawText(self.rect(), Qt.AlignmentFlag.AlignRight, "pleth stopped")
        painter.end()
