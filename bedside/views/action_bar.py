"""The monitor's action bar: CALL 911, always there, and documentation one tap away.

CALL 911 is one fixed control, visible at all times (idle, during a protocol, after a press) and
never asking for a name (issue 10). Beside it: note, medication given, threshold change, event
marker, NIBP now, and a slot for the session screens' entry point. Below: the keyboard shortcuts.
A view: each button only emits; the window records through the workflow.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from bedside.views.theme import palette
from bedside.views.widgets import WrapButton, label, text_role

log = logging.getLogger(__name__)

#: The keyboard shortcuts (key, what it does), shown on screen in the help line.
SHORTCUTS: tuple[tuple[str, str], ...] = (
    ("F1", "acknowledge"),
    ("F2", "pause audio"),
    ("F3", "NIBP now"),
    ("F4", "mark event"),
    ("F5", "note"),
)


class ActionBar(QWidget):
    """CALL 911 and the documentation buttons, with the shortcut help line under them."""

    call_911 = Signal()
    note = Signal()
    medication = Signal()
    threshold_change = Signal()
    mark_event = Signal()
    measure_now = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        p = palette()
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 2, 0, 0)
        outer.setSpacing(2)
        row = QHBoxLayout()
        outer.addLayout(row)
        self.call_911_button = QPushButton("CALL 911")
        self.call_911_button.setObjectName("call911")
        text_role(self.call_911_button, "call911", bold=True)
        self.call_911_button.setStyleSheet(
            f"#call911 {{ background: {p.danger}; color: {p.on_danger}; border-radius: 6px;"
            f" border: 3px solid {p.on_danger}; padding: 6px 18px; }}"
        )
        self.call_911_button.setToolTip(
            "Records the call with the signed-in clinician and gives the EMS hand-off"
        )
        self.call_911_button.clicked.connect(self.call_911.emit)
        row.addWidget(self.call_911_button, 2)
        self.buttons: dict[str, QPushButton] = {}
        for text, signal in (
            ("Note…", self.note),
            ("Medication given…", self.medication),
            ("Change threshold…", self.threshold_change),
            ("Mark event", self.mark_event),
            ("Measure NIBP now", self.measure_now),
        ):
            button = WrapButton(text)
            button.set_colours(p.text, p.raised, p.border)
            button.clicked.connect(signal.emit)
            row.addWidget(button, 1)
            self.buttons[text] = button
        #: Where the session screens' entry point (a menu or a row of buttons) goes.
        self.entry_slot = QHBoxLayout()
        row.addLayout(self.entry_slot)
        self.help_label = label("Keys: " + " · ".join(f"{key} {words}" for key, words in SHORTCUTS), "small")
        self.help_label.setStyleSheet(f"color: {p.muted};")
        self.message = label("", "body", bold=True)
        self.message.setStyleSheet(f"color: {p.text};")
        outer.addWidget(self.message)
        help_row = QHBoxLayout()
        help_row.addWidget(self.help_label, 2)
        #: The device links' state (the window fills it).
        self.links_label = label("", "small")
        help_row.addWidget(self.links_label, 3)
        outer.addLayout(help_row)
        self.message.hide()

    def say(self, words: str) -> None:
        """A one-line answer to the last action ("Note recorded at 10:02", or why it was refused)."""
        self.message.setText(words)
        self.message.setVisible(bool(words))
