"""The NIBP panel: interval, countdown to the next cycle, "Measure now", the prompt and the last class.

Only a view (MON-2, MON-3): it shows what ``ClinicalSession`` says; "Measure now" is a signal.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget

from alarms import BpClass
from bedside.alarm_bar import mm_ss

if TYPE_CHECKING:
    from bedside.clinical import ClinicalSession

log = logging.getLogger(__name__)

#: Colour beside the class words (never colour alone).
CLASS_COLOURS: dict[BpClass | None, str] = {
    BpClass.AT_BASELINE: "#3ddc84",
    BpClass.EXPECTED_RISE: "#f5c400",
    BpClass.ABOVE_EXPECTED: "#e02020",
    None: "#8a94a6",
}


class NibpPanel(QWidget):
    """NIBP cycling at a glance, with the "Measure now" action."""

    measure_now_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        self.interval_label = QLabel("")
        self.countdown_label = QLabel("")
        self.countdown_label.setStyleSheet("font-size: 22px; font-weight: bold;")
        self.measure_button = QPushButton("Measure now")
        self.measure_button.clicked.connect(self.measure_now_requested.emit)
        self.prompt_label = QLabel("")
        self.prompt_label.setWordWrap(True)
        self.prompt_label.setStyleSheet("color: #f5c400; font-size: 16px; font-weight: bold;")
        self.last_label = QLabel("")
        for widget in (
            self.interval_label,
            self.countdown_label,
            self.measure_button,
            self.prompt_label,
            self.last_label,
        ):
            layout.addWidget(widget)

    def show_state(
        self,
        interval_min: int,
        seconds_to_next: float | None,
        prompt: str,
        last_reading: str,
        last_class: BpClass | None,
    ) -> None:
        """Show the interval, the countdown (None: not cycling), a prompt ("" for none) and the
        last reading's text (e.g. "166/100") with its class."""
        self.interval_label.setText(f"NIBP every {interval_min} min")
        if seconds_to_next is None:
            self.countdown_label.setText("Next cycle: not cycling")
        else:
            self.countdown_label.setText(f"Next cycle in {mm_ss(seconds_to_next)}")
        self.prompt_label.setText(prompt)
        self.prompt_label.setVisible(bool(prompt))
        if last_reading:
            words = "not judged" if last_class is None else last_class.label
            self.last_label.setText(f"Last NIBP {last_reading}: {words}")
        else:
            self.last_label.setText("No NIBP reading yet")
        self.last_label.setStyleSheet(f"color: {CLASS_COLOURS[last_class]}; font-size: 16px;")

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
            None if last is None else last.band_class,
        )
