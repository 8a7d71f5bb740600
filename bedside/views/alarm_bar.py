"""The alarm bar: active alarms by priority, each with colour, symbol and words together (ALM-1).

Only a view: it shows what ``ClinicalSession.active_alarms()`` says and turns button presses into
signals; acknowledging and pausing are decided by the session. High and medium rows flash at the
IEC 60601-1-8 rates from ``alarms.priority.PRIORITY_LOOK``; low rows are steady.

The bar keeps one row widget per alarm key and updates it in place when the alarm changes: rows
are never rebuilt, so a press on Acknowledge cannot be lost to a repaint. A permanent audio
indicator says when the alarm sound is unavailable or paused (ALM-5, ALM-3). The most urgent
``VISIBLE_ROWS`` alarms are shown; the rest are summed up as "+N more" with their titles, so the
bar never grows with each alarm and never pushes the numerics off a 768 px screen (issue 10).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtGui import QPaintEvent
from PySide6.QtWidgets import QFrame, QHBoxLayout, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from alarms import PRIORITY_LOOK, ActiveAlarm, AlarmPriority, ConditionId
from bedside.views.restyle import set_state, set_style
from bedside.views.theme import audio_off_style, audio_paused_style, palette
from bedside.views.widgets import label as scaled_label
from bedside.views.widgets import text_role

if TYPE_CHECKING:
    from bedside.workflow.clinical import ClinicalSession

log = logging.getLogger(__name__)

#: The permanent indicator's words while the alarm sound cannot play (ALM-5).
AUDIO_OFF_TEXT = "AUDIO OFF - alarm sound unavailable"


#: Alarms about something that happened (not a condition that can end): cleared by acknowledging.
_ONE_SHOT = frozenset({ConditionId.MONITORING_GAP, ConditionId.PROTOCOL_TIMER_DUE})


def alarm_text(alarm: ActiveAlarm) -> str:
    """One alarm in words with its priority symbol, e.g. ``!!! HIGH BP high: NIBP 185/100...``."""
    look = PRIORITY_LOOK[alarm.priority]
    text = f"{look.symbol} {look.text} {alarm.title}: {alarm.message}"
    if alarm.worst_text and alarm.worst_text not in alarm.message:
        text += f" ({alarm.worst_text})"  # a latched alarm shows its worst reading, not only its last (ALM-3)
    if alarm.latched and alarm.condition in _ONE_SHOT:
        text += " [acknowledge to clear]"
    elif alarm.latched:
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
    """One alarm: its text, and an Acknowledge button carrying its key. Updated in place."""

    def __init__(self, alarm: ActiveAlarm, bar: AlarmBar) -> None:
        super().__init__()
        self.alarm = alarm
        self.key = alarm.key
        self._bar = bar
        layout = QHBoxLayout(self)
        layout.setContentsMargins(6, 2, 6, 2)
        self.label = scaled_label(alarm_text(alarm), "alarm", bold=True)
        layout.addWidget(self.label, 1)
        self.ack = QPushButton("Acknowledge")
        text_role(self.ack, "button", bold=True)
        self.ack.clicked.connect(lambda: bar.acknowledge_requested.emit(self.key))
        layout.addWidget(self.ack)
        # Born lit; the style sheet set next polishes it once (no re-polish for the property).
        self.setProperty("lit", "yes")
        self.label.setProperty("lit", "yes")
        self._style_priority()

    def update_alarm(self, alarm: ActiveAlarm) -> bool:
        """Show the alarm's new state; False (and nothing touched) when nothing changed."""
        if alarm == self.alarm:
            return False
        old_priority = self.alarm.priority
        self.alarm = alarm
        self.label.setText(alarm_text(alarm))
        if alarm.priority is not old_priority:
            self._style_priority()
        return True

    def _style_priority(self) -> None:
        """Both phases of the flash in one style sheet, chosen by the ``lit`` property: a phase
        then changes colours only, so the flash repaints the row and re-lays out nothing (setting
        a style sheet per phase re-laid out the whole window at the flash rate: bench_idle_cpu)."""
        p = palette()
        colour = p.priority[self.alarm.priority]
        # Dark phase keeps the words in the priority's colour: never colour alone, never blank.
        set_style(
            self,
            f'_AlarmRow[lit="yes"] {{ background: {colour}; border: 2px solid {colour}; }}'
            f' _AlarmRow[lit="no"] {{ background: {p.background}; border: 2px solid {colour}; }}',
        )
        dark_words = p.priority_text[self.alarm.priority]
        set_style(
            self.label,
            f'QLabel[lit="yes"] {{ color: {p.on_priority}; background: transparent; }}'
            f' QLabel[lit="no"] {{ color: {dark_words}; background: transparent; }}',
        )

    @property
    def lit(self) -> bool:
        """True while the row is drawn in its lit phase (the flash's on-time)."""
        return bool(self.property("lit") == "yes")

    def show_lit(self, lit: bool) -> None:
        """Draw the lit or the dark phase of the flash (redrawn only when it changes)."""
        phase = "yes" if lit else "no"
        set_state(self, "lit", phase)
        set_state(self.label, "lit", phase)

    def paintEvent(self, event: QPaintEvent) -> None:
        """Paint, then tell the bar (the alarm-to-screen benchmark times this)."""
        super().paintEvent(event)
        self._bar.row_painted.emit(self.key)


class AlarmBar(QWidget):
    """Active alarms, most urgent first, with Acknowledge per alarm, a bounded audio pause and
    the permanent audio indicator."""

    acknowledge_requested = Signal(str)
    pause_requested = Signal()
    #: A row was painted on screen (its alarm key).
    row_painted = Signal(str)
    #: ``show_alarms`` changed what the bar shows (rows added, updated, removed or reordered).
    rendered = Signal()
    #: Rows shown; more alarms are summed up as "+N more" (the most urgent are on top).
    VISIBLE_ROWS = 2

    def __init__(self, pause_s: float = 120.0, parent: QWidget | None = None) -> None:
        """``pause_s`` is the clinic's default audio pause, shown on the button."""
        super().__init__(parent)
        p = palette()
        outer = QHBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        # Never taller than its capped rows: an alarm coming or going re-lays out the bar, and only
        # the bar, while it has room (the trend below is not re-painted for it).
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        rows_widget = QWidget()
        self._rows_box = QVBoxLayout(rows_widget)
        self._rows_box.setContentsMargins(0, 0, 0, 0)
        self._rows_box.setSpacing(3)
        outer.addWidget(rows_widget, 1)
        self.none_label = scaled_label("No active alarms", "alarm")
        self.none_label.setStyleSheet(f"color: {p.muted};")
        self._rows_box.addWidget(self.none_label)
        # "+N more" with a button that shows every row (the bar grows only when asked to).
        self._more_row = QWidget()
        more_box = QHBoxLayout(self._more_row)
        more_box.setContentsMargins(0, 0, 0, 0)
        self.more_label = scaled_label("", "body", bold=True)
        self.more_label.setStyleSheet(f"color: {p.text};")
        self.show_all_button = QPushButton("Show all")
        text_role(self.show_all_button, "button", bold=True)
        self.show_all_button.clicked.connect(self._toggle_all)
        more_box.addWidget(self.more_label, 1)
        more_box.addWidget(self.show_all_button)
        self._more_row.hide()
        self._expanded = False
        self._rows_box.addWidget(self._more_row)
        side = QVBoxLayout()
        self.audio_off_label = scaled_label(AUDIO_OFF_TEXT, "body", bold=True)
        self.audio_off_label.setStyleSheet(audio_off_style())
        self.audio_off_label.hide()
        side.addWidget(self.audio_off_label)
        self.audio_paused_label = scaled_label("", "body", bold=True, wrap=False)
        self.audio_paused_label.setStyleSheet(audio_paused_style())
        self.audio_paused_label.hide()
        self.pause_button = QPushButton(f"Pause audio {mm_ss(pause_s).removesuffix(':00')} min")
        text_role(self.pause_button, "button", bold=True)
        self.pause_button.clicked.connect(self.pause_requested.emit)
        # The pause countdown sits beside its button, so both indicators and the button fit.
        pause_row = QHBoxLayout()
        pause_row.addWidget(self.audio_paused_label)
        pause_row.addWidget(self.pause_button, 1)
        side.addLayout(pause_row)
        side.addStretch(1)
        outer.addLayout(side)
        self._rows: list[_AlarmRow] = []
        #: What ``show_alarms`` was last given (the alarms, paused, the pause countdown as shown).
        self._shown: tuple[tuple[ActiveAlarm, ...], bool, str] | None = None
        self._flashers = {p: _Flasher(p, self) for p in AlarmPriority}
        for priority, flasher in self._flashers.items():
            flasher.toggled.connect(lambda lit, p=priority: self._flash(p, lit))

    # -- rendering --------------------------------------------------------------------------------

    def show_alarms(self, active: list[ActiveAlarm], paused: bool, pause_remaining_s: float) -> None:
        """Show these alarms (already sorted most urgent first) and the audio pause state.

        Only what changed is touched: a row per alarm key is kept and updated in place, and the
        same alarms shown again (the bar is re-rendered on every clinical change, several times a
        second) touch nothing at all.
        """
        given = (tuple(active), paused, mm_ss(pause_remaining_s) if paused else "")
        if given == self._shown:
            return
        self._shown = given
        changed = False
        wanted = {a.key for a in active}
        for row in [r for r in self._rows if r.key not in wanted]:
            self._rows.remove(row)
            self._rows_box.removeWidget(row)
            row.hide()  # gone from the screen now, not when the deferred delete runs
            row.deleteLater()
            changed = True
        by_key = {row.key: row for row in self._rows}
        ordered: list[_AlarmRow] = []
        for alarm in active:
            kept = by_key.get(alarm.key)
            if kept is None:
                kept = _AlarmRow(alarm, self)
                changed = True
            elif kept.update_alarm(alarm):
                changed = True
            kept.show_lit(self._flashers[alarm.priority].lit)
            ordered.append(kept)
        if ordered != self._rows:
            changed = True  # reordered (an escalation moves a row up)
        if changed:
            self._place(ordered)
        self._cap(ordered)
        self.none_label.setVisible(not active)
        shown = {a.priority for a in active}
        for priority, flasher in self._flashers.items():
            if priority in shown:
                flasher.start()
            else:
                flasher.stop()
        self.show_pause(paused, pause_remaining_s)
        if changed:
            self.rendered.emit()

    def show_pause(self, paused: bool, remaining_s: float) -> None:
        """The audio-paused indicator with its live countdown (hidden when not paused)."""
        self.audio_paused_label.setText(f"AUDIO PAUSED {mm_ss(remaining_s)}" if paused else "")
        self.audio_paused_label.setVisible(paused)

    def show_audio_failed(self, failed: bool, reason: str = "") -> None:
        """The permanent AUDIO OFF indicator while the alarm sound cannot play (ALM-5)."""
        self.audio_off_label.setVisible(failed)
        self.audio_off_label.setToolTip(reason if failed else "")

    def show_session(self, session: ClinicalSession) -> None:
        """Render straight from a ClinicalSession's read-only views."""
        self.show_alarms(session.active_alarms(), session.audio_paused, session.pause_remaining_s())

    # -- for tests and the window -----------------------------------------------------------------

    def row_texts(self) -> list[str]:
        """The text of each alarm row, top to bottom."""
        return [row.label.text() for row in self._rows]

    def row_keys(self) -> list[str]:
        """The alarm key of each row, top to bottom."""
        return [row.key for row in self._rows]

    def audio_indicator(self) -> list[str]:
        """The audio indicator's words now ([] when the sound is fine and not paused)."""
        labels = (self.audio_off_label, self.audio_paused_label)
        return [label.text() for label in labels if not label.isHidden()]

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

    def _place(self, ordered: list[_AlarmRow]) -> None:
        # Re-inserting moves a widget inside the layout without destroying it (no lost press).
        for index, row in enumerate(ordered):
            if self._rows_box.indexOf(row) != index + 1:
                self._rows_box.removeWidget(row)
                self._rows_box.insertWidget(index + 1, row)  # after the "No active alarms" label
        self._rows = ordered

    def _cap(self, ordered: list[_AlarmRow]) -> None:
        """Show the most urgent rows; sum up the rest in words (never hidden silently)."""
        beyond = ordered[self.VISIBLE_ROWS :]
        if not beyond:
            self._expanded = False
        shown = len(ordered) if self._expanded else self.VISIBLE_ROWS
        for index, row in enumerate(ordered):
            row.setVisible(index < shown)
        if self._expanded:
            self.more_label.setText(f"All {len(ordered)} alarms shown")
            self.show_all_button.setText("Show fewer")
        elif beyond:
            titles = ", ".join(f"{PRIORITY_LOOK[r.alarm.priority].symbol} {r.alarm.title}" for r in beyond)
            self.more_label.setText(f"+{len(beyond)} more: {titles}")
            self.show_all_button.setText("Show all")
        self._more_row.setVisible(bool(beyond))

    def _toggle_all(self) -> None:
        self._expanded = not self._expanded
        self._cap(self._rows)

    def hidden_count(self) -> int:
        """Active alarms summed up under "+N more" rather than shown as rows."""
        return 0 if self._expanded else max(0, len(self._rows) - self.VISIBLE_ROWS)

    def _flash(self, priority: AlarmPriority, lit: bool) -> None:
        for row in self._rows:
            if row.alarm.priority is priority:
                row.show_lit(lit)
