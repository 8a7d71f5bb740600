"""Small Qt widgets for the monitor: numeric tiles and the simulation banner. They only render."""

from __future__ import annotations

import logging
import time

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QVBoxLayout, QWidget

from alarms import ReadingClass
from bedside.monitor.vitals_board import Freshness, NibpShown, Numeric
from bedside.views.theme import NOT_CURRENT_VALUE, SIMULATION_MARK, TECHNICAL_TEXT, class_look

log = logging.getLogger(__name__)

#: Digits of a live value, and of a dead device's last value: smaller, so it cannot pass for live.
VALUE_PX = 68
LOST_VALUE_PX = 40
#: Line heights of the 14 px status and 16 px state text (their font sizes plus leading).
STATUS_LINE_PX = 18
STATE_LINE_PX = 21

_QUALITY_TEXT = {
    "probe_off": "PROBE OFF",
    "searching": "SEARCHING",
    "low_perfusion": "LOW PERFUSION",
    "artifact": "ARTIFACT",
    "cuff_error": "CUFF ERROR",
    "unknown": "NOT VALID",
    "valid": "",
}


def age_text(age_s: float | None) -> str:
    """A reading's age as a clinician reads it."""
    if age_s is None:
        return "no reading yet"
    if age_s < 60:
        return f"{age_s:.0f} s ago"
    return f"{age_s // 60:.0f} min {age_s % 60:02.0f} s ago"


class NumericTile(QFrame):
    """A large numeric with its label, unit, source, age and quality."""

    def __init__(self, label: str, unit: str, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self._colour = colour
        self.setStyleSheet(
            "#tile { background: #0b0f14; border: 1px solid #2a3440; border-radius: 6px; }"
            "QLabel { color: #d8dee9; }"
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 4, 12, 4)
        layout.setSpacing(0)
        self._title_html = f"{label}  <span style='color:#7a8894'>{unit}</span>"
        self.title = QLabel(self._title_html)
        self.title.setWordWrap(True)  # "SIMULATION" beside the name wraps, never cut
        self.title.setStyleSheet(f"color: {colour}; font-size: 18px; font-weight: bold;")
        self.value = QLabel("---")
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.value.setStyleSheet(f"color: {colour}; font-size: 68px; font-weight: bold;")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.status.setStyleSheet("font-size: 14px; color: #9aa7b4;")
        self.state = QLabel("")
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.state.setWordWrap(True)  # a class in words is never cut: it wraps (finding 5)
        self.state.setStyleSheet("font-size: 16px; font-weight: bold;")
        for w in (self.title, self.value, self.state, self.status):
            # The text never sizes the tile: a source name or an age that grows by a character
            # would otherwise widen the side column and resize (and fully repaint) the trend
            # beside it, several times a second (measured: bench_idle_cpu). The text wraps instead.
            w.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            layout.addWidget(w)
        # Room for two lines of status and one of state whether or not they are shown, so a
        # wrap or an empty state does not change the tile's height either.
        self.status.setMinimumHeight(2 * STATUS_LINE_PX)
        self.state.setMinimumHeight(STATE_LINE_PX)
        self._styles: dict[int, str] = {}
        self._label = label
        self._shown_current = False

    def _style(self, label: QLabel, css: str) -> None:
        # Re-polishing a style sheet costs far more than the check: tiles re-render on every sample.
        if self._styles.get(id(label)) != css:
            self._styles[id(label)] = css
            label.setStyleSheet(css)

    def _mark_simulation(self, simulated: bool) -> None:
        """SIMULATION on the tile's title when its data is not a patient's (issue 10)."""
        mark = f"  <span style='color:{SIMULATION_MARK}'>SIMULATION</span>" if simulated else ""
        text = self._title_html + mark
        if self.title.text() != text:
            self.title.setText(text)

    def show_numeric(self, n: Numeric) -> None:
        """A continuous vital: its value while current, otherwise greyed with why and its age; a
        dead device's last value stays, smaller and grey, with its age (ALM-2)."""
        self.value.setText(n.text)
        self._mark_simulation(n.simulated)
        if n.freshness is Freshness.DEVICE_LOST:
            self._style(
                self.value, f"color: {NOT_CURRENT_VALUE}; font-size: {LOST_VALUE_PX}px; font-weight: bold;"
            )
            self.state.setText(n.detail)
            self._style(self.state, f"font-size: 16px; font-weight: bold; color: {TECHNICAL_TEXT};")
            self.status.setText(f"{n.source} · last {age_text(n.age_s)}")
            return
        if n.freshness is Freshness.CURRENT:
            if not self._shown_current:
                # The cold-start benchmark's finish line (process start to the first number).
                self._shown_current = True
                log.info("first %s on screen at unix time %.3f", self._label, time.time())
            self._style(self.value, f"color: {self._colour}; font-size: 68px; font-weight: bold;")
            self.state.setText("")
            self.status.setText(f"{n.source} · {age_text(n.age_s)}")
        else:
            self._style(self.value, "color: #5c6670; font-size: 68px; font-weight: bold;")
            if n.freshness is Freshness.NOT_VALID:
                self.state.setText(_QUALITY_TEXT.get(n.quality.value, n.quality.value.upper()))
            else:
                self.state.setText("NO VALID DATA")
            self._style(self.state, "font-size: 16px; font-weight: bold; color: #00e5ff;")
            last = f"last valid {age_text(n.age_s)}" if n.age_s is not None else "no valid reading yet"
            self.status.setText(f"{n.source or 'no source'} · {last}")

    def show_nibp(self, n: NibpShown, reading_class: ReadingClass | None = None, label: str = "") -> None:
        """The last NIBP reading; with the engine's class of it, coloured and worded by that class
        (THR-4, THR-7), never by the band alone. A dead device's reading is greyed and smaller."""
        self.value.setText(n.text)
        self._mark_simulation(n.simulated)
        if n.device_lost:
            self._style(
                self.value, f"color: {NOT_CURRENT_VALUE}; font-size: {LOST_VALUE_PX}px; font-weight: bold;"
            )
            self.state.setText(n.device_lost)
            self._style(self.state, f"font-size: 16px; font-weight: bold; color: {TECHNICAL_TEXT};")
            self.status.setText(f"{n.source} · {age_text(n.age_s)}")
            return
        mean = f"({n.mean:.0f})" if n.mean is not None else ""
        failed = n.quality.value != "valid" and n.age_s is not None
        colour = self._colour
        if failed:
            state, colour = _QUALITY_TEXT.get(n.quality.value, ""), "#00e5ff"
        elif reading_class is not None:
            look = class_look(reading_class)
            colour = look.colour
            state = f"{mean} {(label or look.word).upper()}".strip()
        else:
            state = mean
        self.state.setText(state)
        self._style(self.state, f"font-size: 20px; font-weight: bold; color: {colour};")
        # The digits take the engine's class colour; unjudged, a neutral one: never a fixed alarm
        # red at baseline (issue 10 "the NIBP number is always red").
        judged = failed or reading_class is None
        digits = class_look(ReadingClass.NOT_JUDGED).colour if judged else colour
        self._style(self.value, f"color: {digits}; font-size: 68px; font-weight: bold;")
        when = f"{n.restart_note} ({age_text(n.age_s)})" if n.restart_note else age_text(n.age_s)
        self.status.setText(f"{n.source or 'no source'} · {when}")


class SimulationBanner(QLabel):
    """An unmistakable indication that the data on screen is simulated (DRL-1)."""

    def __init__(self, scenario: str, parent: QWidget | None = None) -> None:
        super().__init__(f"SIMULATION — NOT A PATIENT — scenario: {scenario}", parent)
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setStyleSheet(
            "background: repeating-linear-gradient(45deg, #ff00aa, #ff00aa 20px, #aa0077 20px, #aa0077 40px);"
            "background-color: #d1008f; color: white; font-size: 22px; font-weight: bold; padding: 6px;"
            "border: 3px dashed white;"
        )
