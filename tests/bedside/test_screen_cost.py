"""What the monitor screen costs while nothing changes (issue 10, "Speed": steady CPU within 2x of
a bare window). Views render only what changed: showing the same state again repaints nothing and
re-lays out nothing; an alarm row's flash repaints the row without re-laying out the window; the
pleth strip repaints itself, not the window behind it.

Counted with Qt's own events (``Paint``, ``LayoutRequest``) on the widgets under test. A
``LayoutRequest`` that reaches the window re-runs its whole layout, and every word-wrapped rich-text
label (the tiles' titles) is re-measured and repainted with it: found with
``tests/benchmarks/bench_idle_cpu.py`` and an event count per widget.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QCoreApplication, QEvent, QObject
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from alarms import ActiveAlarm, AlarmPriority, ConditionId, ReadingClass, load_config
from bedside.monitor.core import MonitorCore
from bedside.monitor.vitals_board import PlethBuffer
from bedside.views.alarm_bar import AlarmBar
from bedside.views.alarm_sound import AlarmSound
from bedside.views.nibp_panel import NibpPanel
from bedside.views.patient_banner import PatientBanner
from bedside.views.pleth import PlethStrip
from bedside.views.theme import palette
from bedside.views.window import MonitorWindow
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import FakeClock
from drivers.types import Waveform

PAINT = QEvent.Type.Paint
LAYOUT = QEvent.Type.LayoutRequest


class _Events(QObject):
    """Counts Paint and LayoutRequest events per widget under ``root`` (root included)."""

    def __init__(self, root: QWidget) -> None:
        super().__init__()
        self.root = root
        self.counts: Counter[tuple[QEvent.Type, str]] = Counter()
        self.widgets: Counter[tuple[QEvent.Type, int]] = Counter()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        kind = event.type()
        mine = isinstance(watched, QWidget) and (watched is self.root or self.root.isAncestorOf(watched))
        if kind in (PAINT, LAYOUT) and mine:
            self.counts[(kind, type(watched).__name__)] += 1
            self.widgets[(kind, id(watched))] += 1
        return False

    def total(self, kind: QEvent.Type) -> int:
        """All events of ``kind`` counted."""
        return sum(n for (k, _name), n in self.counts.items() if k is kind)

    def of(self, kind: QEvent.Type, widget: QWidget) -> int:
        """Events of ``kind`` that ``widget`` itself received."""
        return self.widgets[(kind, id(widget))]


@contextmanager
def _counting(qtbot: QtBot, root: QWidget) -> Iterator[_Events]:
    """Wait for a quiet moment (what showing a widget left to do is done), then count what the
    body causes, its posted events included."""
    app = QCoreApplication.instance()
    assert app is not None
    events = _Events(root)
    app.installEventFilter(events)
    try:
        for _ in range(10):
            events.counts.clear()
            events.widgets.clear()
            qtbot.wait(100)
            if not events.counts:
                break
        assert not events.counts, f"never quiet: {events.counts}"
        yield events
        qtbot.wait(30)  # the posted layout requests and the repaint they cause
    finally:
        app.removeEventFilter(events)


def _shown(qtbot: QtBot, widget: QWidget) -> QWidget:
    """``widget`` in a parent with the window's style sheet background, shown and exposed."""
    holder = QWidget()
    holder.setObjectName("root")
    holder.setStyleSheet(f"QWidget {{ background: {palette().background}; color: {palette().text}; }}")
    QVBoxLayout(holder).addWidget(widget)
    qtbot.addWidget(holder)
    holder.resize(900, 400)
    holder.show()
    qtbot.waitExposed(holder)
    return holder


def _nibp(panel: NibpPanel, seconds_to_next: float) -> None:
    panel.show_state(5, seconds_to_next, "", "124/80", ReadingClass.AT_BASELINE, label="at baseline")


def test_the_same_nibp_state_shown_again_repaints_and_relays_out_nothing(qtbot: QtBot) -> None:
    """The NIBP panel is re-rendered on every clinical change (several a second with three
    devices); it re-set its last reading's style sheet each time, re-laying out the window."""
    panel = NibpPanel()
    holder = _shown(qtbot, panel)
    _nibp(panel, 125.0)
    with _counting(qtbot, holder) as events:
        _nibp(panel, 125.0)
    assert events.total(LAYOUT) == 0 and events.total(PAINT) == 0, events.counts
    with _counting(qtbot, holder) as events:
        _nibp(panel, 124.0)  # the countdown's shown second changes: that label, and it only
    assert events.of(PAINT, panel.countdown_label) >= 1
    assert events.of(PAINT, panel.last_label) == 0


def test_the_same_banner_shown_again_repaints_and_relays_out_nothing(qtbot: QtBot) -> None:
    """The banner is re-rendered on every heartbeat; it re-set each label's style sheet each time."""
    banner = PatientBanner()
    holder = _shown(qtbot, banner)
    start = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    ended = start + timedelta(minutes=40)
    now = ended + timedelta(minutes=25)
    banner.show_clinician("RN Diaz")
    banner.show_clocks(start, ended, now, "within")
    with _counting(qtbot, holder) as events:
        banner.show_clinician("RN Diaz")
        banner.show_clocks(start, ended, now, "within")
    assert events.total(LAYOUT) == 0 and events.total(PAINT) == 0, events.counts
    with _counting(qtbot, holder) as events:
        banner.show_clocks(start, ended, now + timedelta(seconds=1), "within")  # a second later
    assert events.of(PAINT, banner.recovery_label) >= 1
    assert events.of(PAINT, banner.clinician_label) == 0


@pytest.mark.req("ALM-1")
def test_a_flash_phase_repaints_its_row_and_relays_out_nothing(qtbot: QtBot) -> None:
    """An alarm row still flashes (lit: the priority's colour; dark: the background, the words in the
    priority's colour), but a phase no longer sets a style sheet, which re-laid out the whole window
    at the flash rate (1.2 times a second for a medium alarm)."""
    bar = AlarmBar()
    holder = _shown(qtbot, bar)
    at = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    alarm = ActiveAlarm(
        key="spo2_low", condition=ConditionId.SPO2_LOW, source="ox1", priority=AlarmPriority.HIGH,
        title="SpO2 low", message="SpO2 84 %", started_at=at, present=True, latched=False,
        acknowledged_by=None, sounding=True, technical=False,
    )  # fmt: skip
    bar.show_alarms([alarm], paused=False, pause_remaining_s=0)
    [row] = bar._rows
    bar._flashers[AlarmPriority.HIGH].stop()  # the test draws the phases itself, one at a time

    def drawn() -> QColor:
        return row.grab().toImage().pixelColor(4, row.height() // 2)

    assert row.lit and drawn() == QColor(palette().priority[AlarmPriority.HIGH])
    for lit in (False, True, False):
        with _counting(qtbot, holder) as events:
            row.show_lit(lit)
        assert events.total(LAYOUT) == 0, events.counts
        assert events.of(PAINT, row) >= 1
        assert row.lit is lit
    assert drawn() == QColor(palette().background)
    with _counting(qtbot, holder) as events:
        row.show_lit(False)  # the phase it is in: nothing to draw
    assert events.total(PAINT) == 0


def test_a_pleth_frame_repaints_the_strip_not_the_window_behind_it(qtbot: QtBot) -> None:
    """The strip paints its own background: a frame (up to ten a second) no longer repaints the
    widgets behind it."""
    strip = PlethStrip()
    holder = _shown(qtbot, strip)
    buffer = PlethBuffer(seconds=2.0)
    buffer.add(Waveform(tuple(100 + n % 25 for n in range(75)), 75.0, "ox1", 10.0))
    with _counting(qtbot, holder) as events:
        strip.show_pleth(buffer, 10.0)
        qtbot.wait(PlethStrip.FRAME_MS + 20)
    assert events.of(PAINT, strip) >= 1
    assert events.of(PAINT, holder) == 0, events.counts


def test_a_heartbeat_that_changes_nothing_shown_relays_out_and_repaints_nothing(
    qtbot: QtBot, clock: FakeClock
) -> None:
    """The window's heartbeat re-renders what depends on time; a second in which nothing shown
    changes (no device, no infusion, no alarm) must cost no layout and no paint."""
    core = MonitorCore(clock)
    window = MonitorWindow(core)
    qtbot.addWidget(window)
    clinical = ClinicalSession(
        clock,
        load_config(),
        session_id="w",
        record=lambda _r: None,
        nibp_link_send=None,
        nibp_start_command=None,
    )
    # A sound whose failure (no speakers on a test machine) is not an alarm row flashing meanwhile.
    sound = AlarmSound(on_failure=lambda _failed, _reason: None, audio_outputs=lambda: [])
    window.attach_clinical(clinical, clock.now(), alarm_sound=sound)
    window.show()
    qtbot.waitExposed(window)
    for _ in range(2):
        window._tick()
        clock.advance(1.0)
    qtbot.wait(200)  # what showing the window left to do
    with _counting(qtbot, window) as events:
        window._tick()
    assert events.total(LAYOUT) == 0, events.counts
    assert events.total(PAINT) == 0, events.counts
