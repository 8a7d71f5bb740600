"""Small Qt widgets for the monitor: numeric tiles, the simulation banner, wrapping buttons, and the
text scale every view's text follows. They only render."""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QFrame, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from alarms import PRIORITY_LOOK, AlarmPriority, ReadingClass
from bedside.monitor.vitals_board import Freshness, NibpShown, Numeric
from bedside.views.theme import class_look, palette, text_px

#: The widget property naming a text role of the type scale (``theme.TEXT_PX``).
TEXT_ROLE = "textRole"
_BOLD = "textBold"
#: The scale of the window last sized, so widgets made later (an alarm row, a protocol's answer
#: buttons) are born at the right size.
_SCALE = [1.0]


def _size(widget: QWidget, role: str, scale: float) -> None:
    font = QFont(widget.font())
    font.setPixelSize(text_px(role, scale))
    font.setBold(bool(widget.property(_BOLD)))
    if font != widget.font():
        widget.setFont(font)


def text_role(widget: QWidget, role: str, *, bold: bool = False) -> QWidget:
    """Give a widget a role in the type scale (its size follows the window); returns the widget."""
    widget.setProperty(TEXT_ROLE, role)
    widget.setProperty(_BOLD, bold)
    _size(widget, role, _SCALE[0])
    return widget


def current_text_scale() -> float:
    """The scale text is made at now."""
    return _SCALE[0]


def apply_text_scale(root: QWidget, scale: float) -> None:
    """Size the text of ``root`` and every widget under it that has a text role."""
    _SCALE[0] = scale
    for widget in (root, *root.findChildren(QWidget)):
        role = widget.property(TEXT_ROLE)
        if isinstance(role, str):
            _size(widget, role, scale)


def label(text: str = "", role: str = "body", *, bold: bool = False, wrap: bool = True) -> QLabel:
    """A label in the type scale that wraps rather than being cut."""
    shown = QLabel(text)
    shown.setWordWrap(wrap)
    text_role(shown, role, bold=bold)
    return shown


class WrapButton(QPushButton):
    """A push button whose words wrap onto more lines instead of being cut or elided (issue 10:
    protocol answers read ", no em"). ``text()`` is the whole text."""

    def __init__(self, text: str = "", role: str = "button", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._label = QLabel(text, self)
        self._label.setWordWrap(True)
        self._label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._label.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents)
        self._label.setStyleSheet("background: transparent;")
        text_role(self._label, role, bold=True)
        self._box = QVBoxLayout(self)
        self._box.setContentsMargins(10, 6, 10, 6)
        self._box.addWidget(self._label)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self.setAccessibleName(text)

    def text(self) -> str:
        """The button's whole text."""
        return self._label.text()

    def setText(self, text: str) -> None:
        """Change the words (they wrap)."""
        self._label.setText(text)
        self.setAccessibleName(text)
        self.updateGeometry()

    def set_colours(self, text: str, background: str, border: str = "") -> None:
        """The button's background and its words' colour (a child label does not take the
        button's style sheet colour, so both are set here)."""
        self.setStyleSheet(
            f"QPushButton {{ background: {background}; border: 1px solid {border or background};"
            " border-radius: 6px; }"
        )
        self._label.setStyleSheet(f"background: transparent; color: {text};")

    @property
    def words(self) -> QLabel:
        """The label carrying the words."""
        return self._label

    def sizeHint(self) -> QSize:
        """As wide as the words on one line, as tall as they need at that width."""
        return self._box.sizeHint()

    def minimumSizeHint(self) -> QSize:
        """Narrow: the words wrap rather than widen the window."""
        return self._box.minimumSize()

    def hasHeightForWidth(self) -> bool:
        """Wrapped words need more height when narrower."""
        return True

    def heightForWidth(self, width: int) -> int:
        """The height the wrapped words need at ``width``."""
        return self._box.totalHeightForWidth(width)


log = logging.getLogger(__name__)

#: Digits of a dead device's last value: smaller, so it cannot pass for live (ALM-2).
LOST_VALUE_PX = 40

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
    """A large numeric with its label, unit, source, age and quality; framed in the alarm's priority
    colour, with the priority's symbol, while one of its alarms is active."""

    def __init__(self, label: str, unit: str, colour: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("tile")
        self._colour = colour
        self._label_text, self._unit = label, unit
        self._alarm: AlarmPriority | None = None
        p = palette()
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 2, 10, 2)
        layout.setSpacing(0)
        self.title = QLabel()
        text_role(self.title, "vital_label", bold=True)
        self.title.setWordWrap(True)
        self._title_html = ""
        self._simulated = False
        self._key = ""  # the source's line key, when several sources send this vital
        self.value = QLabel("---")
        text_role(self.value, "numeric_nibp" if unit == "mmHg" else "numeric", bold=True)
        self.value.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignRight)
        text_role(self.status, "body")  # the age is read from the chair too
        self.status.setStyleSheet(f"color: {p.muted};")
        self.state = QLabel("")
        self.state.setAlignment(Qt.AlignmentFlag.AlignRight)
        self.state.setWordWrap(True)  # a class in words is never cut: it wraps (finding 5)
        text_role(self.state, "vital_state", bold=True)
        for w in (self.title, self.value, self.state, self.status):
            layout.addWidget(w)
        # The status line (source and age) never sizes the tile: an age that grows by a character
        # would otherwise widen the side column and resize (and fully repaint) the trend beside
        # it, several times a second (measured: bench_idle_cpu). It wraps instead. The digits and
        # the class words do size it: they must never be cut (issue 10: fits at 1366x768).
        self.status.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self._styles: dict[int, str] = {}
        self._style(self.value, f"color: {colour};")
        self.show_alarm(None)
        self._label = label
        self._shown_current = False

    def _style(self, label: QLabel, css: str) -> None:
        # Re-polishing a style sheet costs far more than the check: tiles re-render on every sample.
        if self._styles.get(id(label)) != css:
            self._styles[id(label)] = css
            label.setStyleSheet(css)

    @property
    def alarm(self) -> AlarmPriority | None:
        """The priority of the most urgent active alarm on this vital (None: none)."""
        return self._alarm

    def show_alarm(self, priority: AlarmPriority | None) -> None:
        """Frame the tile in the alarm's priority colour and put the priority's symbol and word in
        its title while one of its alarms is active: the alarming number stands out (issue 10)."""
        p = palette()
        self._alarm = priority
        if priority is None:
            frame = f"#tile {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 6px; }}"
            title = f"{self._label_text}  <span style='color:{p.muted}'>{self._unit}</span>"
            self.setToolTip("")
        else:
            look = PRIORITY_LOOK[priority]
            colour = p.priority[priority]
            frame = f"#tile {{ background: {p.surface}; border: 6px solid {colour}; border-radius: 6px; }}"
            # The symbol travels with the colour: a frame alone would be colour alone (ALM-1).
            title = (
                f"<span style='background:{colour}; color:{p.on_priority}'>&nbsp;{look.symbol}&nbsp;</span>"
                f" {self._label_text}  <span style='color:{p.muted}'>{self._unit}</span>"
            )
            self.setToolTip(f"{look.text} priority alarm on {self._label_text}")
        frame += " #tile QLabel { background: transparent; }"
        if self.styleSheet() != frame:
            self.setStyleSheet(frame)
        self._title_html = title
        self._show_title()
        self._style(self.title, f"color: {self._colour};")

    def _show_title(self) -> None:
        p = palette()
        mark = f"  <span style='color:{p.simulation}'>SIMULATION</span>" if self._simulated else ""
        key = f" {self._key}" if self._key else ""
        text = self._title_html + key + mark
        if self.title.text() != text:
            self.title.setText(text)

    def _mark_simulation(self, simulated: bool) -> None:
        """SIMULATION on the tile's title when its data is not a patient's (issue 10)."""
        if simulated != self._simulated:
            self._simulated = simulated
            self._show_title()

    def show_numeric(self, n: Numeric, key: str = "") -> None:
        """A continuous vital: its value while current, otherwise greyed with why and its age; a
        dead device's last value stays, smaller and grey, with its age (ALM-2).

        ``key`` (rich text: the source's line and marker in its colour, as on the trend) follows
        the vital's name in the title when several sources send it, so the tile's source can be
        found among the trend's lines.
        """
        p = palette()
        if key != self._key:
            self._key = key
            self._show_title()
        self.value.setText(n.text)
        self._mark_simulation(n.simulated)
        if n.freshness is Freshness.DEVICE_LOST:
            self._style(self.value, f"color: {p.stale}; font-size: {LOST_VALUE_PX}px;")
            self.state.setText(n.detail)
            self._style(self.state, f"color: {p.priority_text[AlarmPriority.LOW]};")
            self._status(f"{n.source} · last {age_text(n.age_s)}")
            return
        if n.freshness is Freshness.CURRENT:
            if not self._shown_current:
                # The cold-start benchmark's finish line (process start to the first number).
                self._shown_current = True
                log.info("first %s on screen at unix time %.3f", self._label, time.time())
            self._style(self.value, f"color: {self._colour};")
            self.state.setText("")
            self._status(f"{n.source} · {age_text(n.age_s)}")
        else:
            self._style(self.value, f"color: {p.stale};")
            if n.freshness is Freshness.NOT_VALID:
                self.state.setText(_QUALITY_TEXT.get(n.quality.value, n.quality.value.upper()))
            else:
                self.state.setText("NO VALID DATA")
            self._style(self.state, f"color: {p.priority_text[AlarmPriority.LOW]};")
            last = f"last valid {age_text(n.age_s)}" if n.age_s is not None else "no valid reading yet"
            self._status(f"{n.source or 'no source'} · {last}")

    def _status(self, words: str) -> None:
        if self.status.text() != words:
            self.status.setText(words)

    def show_nibp(self, n: NibpShown, reading_class: ReadingClass | None = None, label: str = "") -> None:
        """The last NIBP reading; with the engine's class of it, the digits and the words take that
        class's colour (THR-4, THR-7): never red by default, never by the band alone."""
        p = palette()
        self.value.setText(n.text)
        self._mark_simulation(n.simulated)
        if n.device_lost:
            self._style(self.value, f"color: {p.stale}; font-size: {LOST_VALUE_PX}px;")
            self.state.setText(n.device_lost)
            self._style(self.state, f"color: {p.priority_text[AlarmPriority.LOW]};")
            self.status.setText(f"{n.source} · {age_text(n.age_s)}")
            return
        mean = f"({n.mean:.0f})" if n.mean is not None else ""
        failed = n.quality.value != "valid" and n.age_s is not None
        colour = self._colour
        if failed:
            state, colour = _QUALITY_TEXT.get(n.quality.value, ""), p.priority_text[AlarmPriority.LOW]
        elif reading_class is not None:
            look = class_look(reading_class)
            colour = look.colour
            state = f"{mean} {(label or look.word).upper()}".strip()
        else:
            state = mean
        self.state.setText(state)
        self._style(self.state, f"color: {colour};")
        digits = self._colour if failed or reading_class is None else colour
        if failed:
            digits = p.stale
        self._style(self.value, f"color: {digits};")
        when = f"{n.restart_note} ({age_text(n.age_s)})" if n.restart_note else age_text(n.age_s)
        self.status.setText(f"{n.source or 'no source'} · {when}")


class SimulationBanner(QLabel):
    """An unmistakable indication that the data on screen is simulated (DRL-1)."""

    def __init__(self, scenario: str, parent: QWidget | None = None) -> None:
        super().__init__(f"SIMULATION — NOT A PATIENT — scenario: {scenario}", parent)
        p = palette()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setWordWrap(True)
        text_role(self, "heading", bold=True)
        self.setStyleSheet(
            f"background-color: {p.simulation}; color: {p.on_simulation}; padding: 1px;"
            f" border: 3px dashed {p.on_simulation};"
        )


@dataclass(frozen=True, slots=True)
class SourceReading:
    """One value in a source's row: what it is ("SpO2", "PR", "HR") and its numeric."""

    word: str
    numeric: Numeric
    colour: str  # the vital's colour while current (the tile's)


@dataclass(frozen=True, slots=True)
class SourceRowView:
    """One more source of a continuous vital, as its row shows it (issue 10: three oximeters)."""

    source: str
    #: The source's line and marker as on the trend (characters and colour), e.g. "╍╍■".
    key: str
    key_colour: str
    readings: tuple[SourceReading, ...]
    alarm: AlarmPriority | None = None


def _source_row_html(row: SourceRowView) -> str:
    """A source's row: its key, its name, each value (greyed when not current) and the newest age."""
    p = palette()
    parts = [f"<span style='color:{row.key_colour}'>{row.key}</span> {html.escape(row.source)}"]
    if row.alarm is not None:
        look = PRIORITY_LOOK[row.alarm]
        colour = p.priority[row.alarm]
        parts.insert(
            0, f"<span style='background:{colour}; color:{p.on_priority}'>&nbsp;{look.symbol}&nbsp;</span>"
        )
    lost = ""
    ages: list[float] = []
    simulated = False
    for r in row.readings:
        n = r.numeric
        simulated = simulated or n.simulated
        if n.freshness is Freshness.CURRENT:
            shown = f"<span style='color:{r.colour}'>{n.text}</span>"
        elif n.freshness is Freshness.DEVICE_LOST:
            lost = n.detail
            shown = f"<span style='color:{p.stale}'>{n.text}</span>"
        elif n.freshness is Freshness.NOT_VALID:
            words = _QUALITY_TEXT.get(n.quality.value, n.quality.value.upper())
            shown = f"<span style='color:{p.priority_text[AlarmPriority.LOW]}'>{words}</span>"
        else:
            shown = f"<span style='color:{p.stale}'>---</span>"
        if n.age_s is not None:
            ages.append(n.age_s)
        # No units: the row sits beside the tiles that give them, and must stay one line.
        parts.append(f"{r.word} {shown}")
    age = min(ages) if ages else None
    when = f"last {age_text(age)}" if lost else age_text(age)
    tail = f"<span style='color:{p.muted}'>{when}</span>"
    if lost:
        tail = f"<span style='color:{p.priority_text[AlarmPriority.LOW]}'>{lost}</span> · {tail}"
    if simulated:
        tail += f"  <span style='color:{p.simulation}'>SIMULATION</span>"
    return "&nbsp;&nbsp;".join(parts) + f" · {tail}"


class SourceList(QFrame):
    """The other sources of SpO2, pulse rate and heart rate, one row each under the tiles: each
    with its own values and age, greyed when its device is dead, keyed to its trend line; the
    tiles show the primary source large (``VitalsBoard.primary_source``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sources")
        p = palette()
        self.setStyleSheet(
            f"#sources {{ background: {p.surface}; border: 1px solid {p.border}; border-radius: 6px; }}"
            " #sources QLabel { background: transparent; }"
        )
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(8, 2, 8, 2)
        self._layout.setSpacing(0)
        self.rows: list[QLabel] = []
        self.setVisible(False)

    def show_rows(self, rows: Sequence[SourceRowView]) -> None:
        """One row per source (hidden when there is none); a row's text is set only if it changed."""
        while len(self.rows) < len(rows):
            row = QLabel()
            row.setWordWrap(True)
            # Ages grow a character at a time: the row wraps rather than widen the column.
            row.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            text_role(row, "body", bold=True)  # the size of the tiles' ages: one line per source
            self._layout.addWidget(row)
            self.rows.append(row)
        for label, row_view in zip(self.rows, rows, strict=False):
            text = _source_row_html(row_view)
            if label.text() != text:
                label.setText(text)
            label.setVisible(True)
        for label in self.rows[len(rows) :]:
            label.setVisible(False)
        self.setVisible(bool(rows))
