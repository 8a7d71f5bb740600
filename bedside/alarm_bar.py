"""The alarm bar: active alarms by priority, each with colour, symbol and words together (ALM-1).

Only a view: it shows what ``ClinicalSession.active_alarms()`` says and turns button presses into
signals; acknowledging and pausing are decided by the session. High and medium rows flash at the
IEC 60601-1-8 rates from ``alarms.priority.PRIORITY_LOOK``; low rows are steady.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from alarms import PRIORITY_LOOK, ActiveAlarm, AlarmPriority

if TYPE_CHECKING:
    from bedside.clinical import ClinicalSession

log = logging.getLogger(__name__)

_DARK = "#0b0f14"


def alarm_text(alarm: ActiveAlarm) -> str:
    """One alarm in words with its priority symbol, e.g. ``!!! HIGH BP high: NIBP 185/100...``."""
    look = PRIORITY_LOOK[alarm.priority]
    text = f"{look.symbol} {look.text} {alarm.title}: {alarm.message}"
    if alarm.latched:
        text += " [LATCHED: condition ended, acknowledge to clear]"
    elif alarm.acknowledged_by:
        text += f" [acknowledged by {alarm.acknowledged_by}]"
    if not alarm.sounding:
        text += " (audio silenced)"
    return text


def mm_ss(seconds: float) -> str:
    """Seconds as ``m:ss`` (rounded up, so a countdown never shows 0:00 early)."""
    whole = max(0, int(-(-seconds // 1)))
    return f"{whole // 60}:{whole % 60:02d}"


class _Flasher(QObject):
    """Alternates lit/dark with the priority's on and off times."""

    toggled = Signal(bool)

    def __init__(self, priority: AlarmPriority, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.flash = PRIORITY_LOOK[priority].flash
        self.lit = True
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._toggle)

    def start(self) -> None:
        if not self.flash.steady and not self.timer.isActive():
            self.lit = True
            self.timer.start(round(self.flash.on_s * 1000))

    def stop(self) -> None:
        self.timer.stop()
        self.lit = True

    def _toggle(self) -> None:
        self.lit = not self.lit
        self.timer.start(round((self.flash.on_s if self.lit else self.flash.off_s) * 1000))
        self.toggled.emit(self.lit)


class _AlarmRow(QFrame):
    """One alarm: its text, and an Acknowledge button carrying its key."""

    def __init__(self, alarm: ActiveAlarm, bar: AlarmBar) -> None:
        super().__init__()
        self.alarm = alarm
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.label = QLabel(alarm_text(alarm))
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.ack = QPushButton("Acknowledge")
        self.ack.clicked.connect(lambda: bar.acknowledge_requested.emit(alarm.key))
        layout.addWidget(self.ack)
        self.show_lit(True)

    def show_lit(self, lit: bool) -> None:
        colour = PRIORITY_LOOK[self.alarm.priority].colour
        # Dark phase keeps the words in the priority's colour: never colour alone, never blank.
        fg, bg = (_DARK, colour) if lit else (colour, _DARK)
        self.setStyleSheet(f"_AlarmRow {{ background: {bg}; border: 2px solid {colour}; }}")
        self.label.setStyleSheet(f"color: {fg}; background: transparent; font-size: 18px; font-weight: bold;")


class AlarmBar(QWidget):
    """Active alarms, most urgent first, with Acknowledge per alarm and a bounded audio pause."""

    acknowledge_requested = Signal(str)
    pause_requested = Signal()

    def __init__(self, pause_s: float = 120.0, parent: QWidget | None = None) -> None:
        """``pause_s`` is the clinic's default audio pause, shown on the button."""
        super().__init__(parent)
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self._rows_box = QVBoxLayout()
        outer.addLayout(self._rows_box, 1)
        self.none_label = QLabel("No active alarms")
        self.none_label.setStyleSheet("color: #8a94a6; font-size: 16px;")
        self._rows_box.addWidget(self.none_label)
        side = QVBoxLayout()
        self.pause_button = QPushButton(f"Pause audio {mm_ss(pause_s).removesuffix(':00')} min")
        self.pause_button.clicked.connect(self.pause_requested.emit)
        side.addWidget(self.pause_button)
        self.pause_label = QLabel("")
        side.addWidget(self.pause_label)
        outer.addLayout(side)
        self._rows: list[_AlarmRow] = []
        self._flashers = {p: _Flasher(p, self) for p in AlarmPriority}
        for priority, flasher in self._flashers.items():
            flasher.toggled.connect(lambda lit, p=priority: self._flash(p, lit))

    # -- rendering --------------------------------------------------------------------------------

    def show_alarms(self, active: list[ActiveAlarm], paused: bool, pause_remaining_s: float) -> None:
        """Show these alarms (already sorted most urgent first) and the audio pause state."""
        for row in self._rows:
            self._rows_box.removeWidget(row)
            row.deleteLater()
        self._rows = [_AlarmRow(alarm, self) for alarm in active]
        for row in self._rows:
            self._rows_box.addWidget(row)
            row.show_lit(self._flashers[row.alarm.priority].lit)
        self.none_label.setVisible(not active)
        shown = {a.priority for a in active}
        for priority, flasher in self._flashers.items():
            if priority in shown:
                flasher.start()
            else:
                flasher.stop()
        self.pause_label.setText(f"Audio paused {mm_ss(pause_remaining_s)}" if paused else "")

    def show_session(self, session: ClinicalSession) -> None:
        """Render straight from a ClinicalSession's read-only views."""
        self.show_alarms(session.active_alarms(), session.audio_paused, session.pause_remaining_s())

    # -- for tests and the window -----------------------------------------------------------------

    def row_texts(self) -> list[str]:
        """The text of each alarm row, top to bottom."""
        return [row.label.text() for row in self._rows]

    def is_flashing(self, priority: AlarmPriority) -> bool:
        """True while rows of this priority flash."""
        return self._flashers[priority].timer.isActive()

    def flash_intervals_ms(self, priority: AlarmPriority) -> tuple[int, int]:
        """(on, off) milliseconds the rows of this priority use."""
        flash = self._flashers[priority].flash
        return round(flash.on_s * 1000), round(flash.off_s * 1000)

    def acknowledge_buttons(self) -> list[QPushButton]:
        """Each row's Acknowledge button, top to bottom."""
        return [row.ack for row in self._rows]

    def _flash(self, priority: AlarmPriority, lit: bool) -> None:
        for row in self._rows:
            if row.alarm.priority is priority:
                row.show_lit(lit)
