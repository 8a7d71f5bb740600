"""The NIBP panel: interval, countdown to the next cycle, "Measure now", the prompt, the last
reading's class and the trend flag.

Only a view (MON-2, MON-3, THR-6): it shows what ``ClinicalSession`` says; "Measure now" is a
signal. The last reading is worded and coloured by the engine's ``ReadingClass`` (THR-4, THR-7).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from alarms import ReadingClass
from bedside.views.alarm_bar import mm_ss
from bedside.views.theme import MUTED, class_look, palette

if TYPE_CHECKING:
    from bedside.workflow.clinical import ClinicalSession

log = logging.getLogger(__name__)


def trend_text(flag: str) -> str:
    """The engine's THR-6 reason for the panel: the first pressure's reason in full, the others
    by name (the full reason is the label's tooltip), so the side column fits the screen."""
    first, *others = flag.split("; ")
    also = [other.split(" ", 1)[0] for other in others]
    return f"Trend flagged: {first}" + (f"; {', '.join(also)} too" if also else "")


class NibpPanel(QWidget):
    """NIBP cycling at a glance, with the "Measure now" action."""

    measure_now_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.interval_label = QLabel("")
        self.countdown_label = QLabel("")
        self.countdown_label.setStyleSheet("font-size: 20px; font-weight: bold;")
        self.measure_button = QPushButton("Measure now")
        self.measure_button.clicked.connect(self.measure_now_requested.emit)
        self.prompt_label = QLabel("")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setStyleSheet(f"color: {palette().warning}; font-size: 16px; font-weight: bold;")
        self.last_label = QLabel("")
        self.last_label.setWordWrap(True)
        self.trend_label = QLabel("")
        self.trend_label.setWordWrap(True)
        self.trend_label.setStyleSheet(f"color: {palette().warning}; font-size: 14px;")
        self.trend_label.hide()
        layout.setContentsMargins(4, 2, 4, 2)
        layout.setSpacing(2)
        # The interval and "Measure now" share a line under the countdown: the side column must
        # fit a 1000 px screen.
        layout.addWidget(self.countdown_label)
        cycle_row = QHBoxLayout()
        cycle_row.addWidget(self.interval_label, 1)
        cycle_row.addWidget(self.measure_button)
        layout.addLayout(cycle_row)
        for widget in (self.prompt_label, self.last_label, self.trend_label):
            layout.addWidget(widget)

    def show_state(
        self,
        interval_min: int,
        seconds_to_next: float | None,
        prompt: str,
        last_reading: str,
        last_class: ReadingClass | None,
        *,
        label: str = "",
        trend_flag: str | None = None,
    ) -> None:
        """Show the interval, the countdown (None: not cycling), a prompt ("" for none), the last
        reading's text (e.g. "166/100") with the engine's class and words (``label``; the class's
        own words when empty), and why the trend is flagged (THR-6; None when it is not)."""
        self.interval_label.setText(f"NIBP every {interval_min} min")
        if seconds_to_next is None:
            self.countdown_label.setText("Next cycle: not cycling")
        else:
            self.countdown_label.setText(f"Next cycle in {mm_ss(seconds_to_next)}")
        self.prompt_label.setText(prompt)
        self.prompt_label.setVisible(bool(prompt))
        colour = MUTED
        if last_reading:
            look = class_look(ReadingClass.NOT_JUDGED if last_class is None else last_class)
            colour = look.colour
            self.last_label.setText(f"Last NIBP {last_reading}: {label or look.word}")
        else:
            self.last_label.setText("No NIBP reading yet")
        self.last_label.setStyleSheet(f"color: {colour}; font-size: 16px; font-weight: bold;")
        self.trend_label.setText(trend_text(trend_flag) if trend_flag else "")
        self.trend_label.setToolTip(trend_flag or "")
        self.trend_label.setVisible(bool(trend_flag))

    def show_session(self, session: ClinicalSession) -> None:
        """Render straight from a ClinicalSession's read-only views (the newest prompt is shown)."""
        last = session.last_reading()
        text = ""
        if last is not None and last.reading.systolic is not None and last.reading.diastolic is not None:
            text = f"{last.reading.systolic:g}/{last.reading.diastolic:g}"
        elif last is not None:
            text = "failed"
        prompts = session.prompts
        self.show_state(
            session.interval_min,
            session.seconds_to_next_nibp(),
            prompts[-1].message if prompts else "",
            text,
            None if last is None else last.reading_class,
            label="" if last is None else last.label,
            trend_flag=session.trend_flag,
        )
