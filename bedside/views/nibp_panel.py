"""The NIBP panel: interval and its selector, countdown to the next cycle (or "measuring..."
while a cycle runs), "Measure now", the prompt, the last reading's class and the trend flag.

Only a view (MON-2, MON-3, THR-6): it shows what ``ClinicalSession`` says; "Measure now" and a
chosen interval are signals (the window asks the session, as the signed-in clinician). The last
reading is worded and coloured by the engine's ``ReadingClass`` (THR-4, THR-7).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from alarms import ReadingClass
from bedside.views.alarm_bar import mm_ss
from bedside.views.restyle import set_style
from bedside.views.theme import MUTED, TECHNICAL_TEXT, class_look, palette

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
    #: The clinician chose a session interval (minutes, MON-2).
    interval_requested = Signal(int)

    #: The intervals offered until the session's own (clinic-configured) list is known.
    DEFAULT_INTERVALS = (1, 2, 3, 5, 10, 15)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.interval_label = QLabel("")
        self.interval_choice = QComboBox()
        self.interval_choice.setToolTip("NIBP interval for this session (MON-2)")
        self._offered: tuple[int, ...] = ()
        self.set_intervals(self.DEFAULT_INTERVALS)
        # activated, not currentIndexChanged: only a clinician's choice asks for a change, never
        # the panel showing the session's interval.
        self.interval_choice.activated.connect(self._interval_chosen)
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
        cycle_row.addWidget(self.interval_choice)
        cycle_row.addWidget(self.measure_button)
        layout.addLayout(cycle_row)
        for widget in (self.prompt_label, self.last_label, self.trend_label):
            layout.addWidget(widget)

    def set_intervals(self, minutes: Sequence[int]) -> None:
        """The intervals the selector offers (the clinic's ``nibp.allowed_intervals_min``)."""
        offered = tuple(minutes)
        if offered == self._offered:
            return
        self._offered = offered
        self.interval_choice.clear()
        for m in offered:
            self.interval_choice.addItem(f"{m} min", m)

    def _interval_chosen(self, index: int) -> None:
        minutes = self.interval_choice.itemData(index)
        if isinstance(minutes, int):
            self.interval_requested.emit(minutes)

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
        measuring: bool = False,
        session_interval_min: int | None = None,
    ) -> None:
        """Show the interval, the countdown (None: not cycling; "measuring..." while a cycle
        runs), a prompt ("" for none), the last reading's text (e.g. "166/100") with the engine's
        class and words (``label``; the class's own words when empty), and why the trend is
        flagged (THR-6; None when it is not). The selector shows the session's interval
        (``session_interval_min``, else ``interval_min``); a shortened interval says so."""
        chosen = interval_min if session_interval_min is None else session_interval_min
        shortened = f" (shortened from {chosen})" if chosen != interval_min else ""
        self.interval_label.setText(f"NIBP every {interval_min} min{shortened}")
        if self.interval_choice.currentData() != chosen:  # findData searches the model: only on a change
            index = self.interval_choice.findData(chosen)
            if index >= 0:
                self.interval_choice.setCurrentIndex(index)
        colour = TECHNICAL_TEXT if measuring else ""
        css = f"font-size: 20px; font-weight: bold; {'color: ' + colour + ';' if colour else ''}"
        set_style(self.countdown_label, css)
        if measuring:
            self.countdown_label.setText("NIBP measuring...")
        elif seconds_to_next is None:
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
        set_style(self.last_label, f"color: {colour}; font-size: 16px; font-weight: bold;")
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
        self.set_intervals(session.config.nibp.allowed_intervals_min)
        self.show_state(
            session.interval_min,
            session.seconds_to_next_nibp(),
            prompts[-1].message if prompts else "",
            text,
            None if last is None else last.reading_class,
            label="" if last is None else last.label,
            trend_flag=session.trend_flag,
            measuring=session.nibp_measuring,
            session_interval_min=session.session_interval_min,
        )
