"""The alarm bar and the NIBP panel render the session's words and emit their signals (ALM-1, MON-2).

The NibpPanel tests live here too: this file is the widgets' test module in this change.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from alarms import (
    PRIORITY_LOOK,
    ActiveAlarm,
    AlarmPriority,
    ChecklistItem,
    ConditionId,
    ReadingClass,
    ThresholdSet,
    load_config,
)
from bedside.views.alarm_bar import AUDIO_OFF_TEXT, AlarmBar, alarm_text, mm_ss
from bedside.views.nibp_panel import NibpPanel, trend_text
from bedside.views.theme import palette
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import FakeClock
from drivers.types import VitalKind
from tests.alarms.helpers import nibp_obs, obs

AT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def alarm(
    key: str,
    condition: ConditionId,
    priority: AlarmPriority,
    title: str,
    message: str,
    *,
    latched: bool = False,
    sounding: bool = True,
) -> ActiveAlarm:
    return ActiveAlarm(
        key=key,
        condition=condition,
        source="",
        priority=priority,
        title=title,
        message=message,
        started_at=AT,
        present=not latched,
        latched=latched,
        acknowledged_by=None,
        sounding=sounding,
        technical=False,
    )


SPO2_LOW = alarm(
    "spo2_low", ConditionId.SPO2_LOW, AlarmPriority.HIGH, "SpO2 low", "SpO2 84 % below floor 90 %"
)
BP_HIGH = alarm(
    "bp_high", ConditionId.BP_HIGH, AlarmPriority.MEDIUM, "BP high", "NIBP 166/100: above expected"
)
PROBE = alarm(
    "spo2_probe_off@ox", ConditionId.SPO2_PROBE_OFF, AlarmPriority.LOW, "SpO2 probe off", "ox: probe off"
)


@pytest.mark.req("ALM-1")
def test_each_alarm_shows_symbol_priority_and_words(qtbot: QtBot) -> None:
    bar = AlarmBar()
    qtbot.addWidget(bar)
    bar.show_alarms([SPO2_LOW, BP_HIGH, PROBE], paused=False, pause_remaining_s=0)
    assert bar.row_texts() == [
        "!!! HIGH SpO2 low: SpO2 84 % below floor 90 %",
        "!! MEDIUM BP high: NIBP 166/100: above expected",
        "! LOW SpO2 probe off: ox: probe off",
    ]
    assert bar.none_label.isHidden()
    bar.show_alarms([], paused=False, pause_remaining_s=0)
    assert bar.row_texts() == [] and not bar.none_label.isHidden()


@pytest.mark.req("ALM-1")
def test_high_and_medium_flash_at_the_standard_rates_low_is_steady(qtbot: QtBot) -> None:
    bar = AlarmBar()
    qtbot.addWidget(bar)
    bar.show_alarms([SPO2_LOW, BP_HIGH, PROBE], paused=False, pause_remaining_s=0)
    assert bar.is_flashing(AlarmPriority.HIGH) and bar.is_flashing(AlarmPriority.MEDIUM)
    assert not bar.is_flashing(AlarmPriority.LOW)
    for priority in (AlarmPriority.HIGH, AlarmPriority.MEDIUM):
        on_ms, off_ms = bar.flash_intervals_ms(priority)
        hz = 1000 / (on_ms + off_ms)
        low, high = PRIORITY_LOOK[priority].flash.allowed_frequency_hz
        assert low <= hz <= high
    # The high row really toggles: after one on-time it is drawn dark, then lit again (read from
    # the drawn pixels inside its border: the phases are one style sheet, switched by a property).
    row = bar._rows[0]
    bar.show()
    lit = row.grab().toImage().pixelColor(4, row.height() // 2)
    assert lit == QColor(palette().priority[AlarmPriority.HIGH])
    qtbot.waitUntil(lambda: row.grab().toImage().pixelColor(4, row.height() // 2) != lit, timeout=1000)
    assert row.grab().toImage().pixelColor(4, row.height() // 2) == QColor(palette().background)
    bar.show_alarms([PROBE], paused=False, pause_remaining_s=0)
    assert not bar.is_flashing(AlarmPriority.HIGH)


@pytest.mark.req("ALM-3")
def test_a_latched_alarm_shows_its_worst_reading_beside_its_last(qtbot: QtBot) -> None:
    """Issue 10: a latched SpO2 alarm showed only the last reading (91 %, recovered), not how low it
    went; the row now carries the alarm system's worst reading with its time."""
    bar = AlarmBar()
    qtbot.addWidget(bar)
    latched = replace(
        alarm("spo2_low", ConditionId.SPO2_LOW, AlarmPriority.HIGH, "SpO2 low", "SpO2 91 %", latched=True),
        worst_value=78.0,
        worst_text="worst SpO2 78 % at 10:42:13",
    )
    bar.show_alarms([latched], paused=False, pause_remaining_s=0)
    [text] = bar.row_texts()
    assert "SpO2 91 %" in text and "worst SpO2 78 % at 10:42:13" in text and "LATCHED" in text
    assert "worst" not in alarm_text(SPO2_LOW)  # no worst reading known: nothing added


@pytest.mark.req("ALM-3")
def test_latched_and_silenced_alarms_are_marked(qtbot: QtBot) -> None:
    bar = AlarmBar()
    qtbot.addWidget(bar)
    latched = alarm(
        "bp_high", ConditionId.BP_HIGH, AlarmPriority.HIGH, "BP high", "NIBP 185/100", latched=True
    )
    bar.show_alarms([latched], paused=True, pause_remaining_s=95)
    [text] = bar.row_texts()
    assert "LATCHED" in text
    assert bar.audio_indicator() == ["AUDIO PAUSED 1:35"]
    assert "audio silenced" in alarm_text(
        alarm("k", ConditionId.BP_HIGH, AlarmPriority.LOW, "t", "m", sounding=False)
    )


@pytest.mark.req("ALM-3")
def test_buttons_emit_acknowledge_with_the_key_and_pause(qtbot: QtBot) -> None:
    bar = AlarmBar(pause_s=120)
    qtbot.addWidget(bar)
    bar.show_alarms([SPO2_LOW, BP_HIGH], paused=False, pause_remaining_s=0)
    assert bar.pause_button.text() == "Pause audio 2 min"
    with qtbot.waitSignal(bar.acknowledge_requested) as ack:
        bar.acknowledge_buttons()[1].click()
    assert ack.args == ["bp_high"]
    with qtbot.waitSignal(bar.pause_requested):
        bar.pause_button.click()


def test_mm_ss_rounds_up() -> None:
    assert [mm_ss(s) for s in (0, 0.2, 59.5, 60, 299.9)] == ["0:00", "0:01", "1:00", "1:00", "5:00"]


@pytest.mark.req("MON-2")
def test_nibp_panel_shows_interval_countdown_prompt_and_class(qtbot: QtBot) -> None:
    panel = NibpPanel()
    qtbot.addWidget(panel)
    panel.show_state(
        5,
        252.3,
        "Confirm with a re-measure now.",
        "166/100",
        ReadingClass.ABOVE_EXPECTED,
        label="above expected",
    )
    assert panel.interval_label.text() == "NIBP every 5 min"
    assert panel.countdown_label.text() == "Next cycle in 4:13"
    assert panel.prompt_label.text() == "Confirm with a re-measure now." and not panel.prompt_label.isHidden()
    assert panel.last_label.text() == "Last NIBP 166/100: above expected"
    panel.show_state(2, None, "", "", None)
    assert panel.countdown_label.text() == "Next cycle: not cycling"
    assert panel.prompt_label.isHidden()
    assert panel.last_label.text() == "No NIBP reading yet"
    with qtbot.waitSignal(panel.measure_now_requested):
        panel.measure_button.click()


@pytest.mark.req("MON-3")
@pytest.mark.req("THR-4")
def test_widgets_render_a_live_session_spike(qtbot: QtBot, clock: FakeClock) -> None:
    session = ClinicalSession(
        clock,
        load_config(),
        session_id="s",
        record=lambda _r: None,
        nibp_link_send=None,
        nibp_start_command=None,
    )
    session.begin_baseline("RN Diaz")
    for o in [*nibp_obs(clock, 120, 78, 92), obs(clock, VitalKind.SPO2, 98)]:
        session.on_observation(o)
    clock.advance(150)
    for o in nibp_obs(clock, 120, 78, 92):
        session.on_observation(o)
    session.confirm_baseline("RN Diaz")
    session.confirm_thresholds("RN Diaz", ThresholdSet(180, 110, 90, 45, 130, 85, 65, 20, 20))
    for item in ChecklistItem:
        session.attest(item, "RN Diaz")
    session.start_infusion("Dr Okafor")
    for o in nibp_obs(clock, 166, 100, 122):
        session.on_observation(o)
    panel, bar = NibpPanel(), AlarmBar()
    qtbot.addWidget(panel)
    qtbot.addWidget(bar)
    panel.show_session(session)
    bar.show_session(session)
    assert panel.last_label.text() == "Last NIBP 166/100: above expected rise"
    assert "re-measure" in panel.prompt_label.text()
    assert bar.row_texts()[0].startswith("!! MEDIUM BP high: NIBP 166/100: above expected")


@pytest.mark.req("ALM-3")
def test_a_row_is_updated_in_place_so_an_acknowledge_press_is_never_lost(qtbot: QtBot) -> None:
    """Issue 8 ("the alarm path"): rows were rebuilt on every render, so a press on Acknowledge
    that spanned a re-render landed on a deleted button. Rows are kept per alarm key."""
    bar = AlarmBar()
    qtbot.addWidget(bar)
    bar.show_alarms([SPO2_LOW, BP_HIGH], paused=False, pause_remaining_s=0)
    button = bar.acknowledge_buttons()[1]
    QTest.mousePress(button, Qt.MouseButton.LeftButton)
    worse = replace(SPO2_LOW, message="SpO2 83 % below floor 90 %")
    with qtbot.waitSignal(bar.rendered):
        bar.show_alarms([worse, BP_HIGH, PROBE], paused=False, pause_remaining_s=0)
    qtbot.wait(20)  # a turn of the event loop: anything deleted by the re-render is gone now
    with qtbot.waitSignal(bar.acknowledge_requested) as ack:
        QTest.mouseRelease(button, Qt.MouseButton.LeftButton)
    assert ack.args == ["bp_high"]
    assert bar.acknowledge_buttons()[1] is button
    assert bar.row_keys() == ["spo2_low", "bp_high", "spo2_probe_off@ox"]
    assert bar.row_texts()[0] == "!!! HIGH SpO2 low: SpO2 83 % below floor 90 %"
    # An unchanged render touches nothing and says so.
    with qtbot.assertNotEmitted(bar.rendered):
        bar.show_alarms([worse, BP_HIGH, PROBE], paused=False, pause_remaining_s=0)
    # Ended alarms leave; the rows that stay keep their widgets, in the new order.
    rows_before = dict(zip(bar.row_keys(), bar.acknowledge_buttons(), strict=True))
    bar.show_alarms([PROBE, worse], paused=False, pause_remaining_s=0)
    assert not rows_before["bp_high"].isVisibleTo(bar)  # off the screen now, deleted later
    assert bar.row_keys() == ["spo2_probe_off@ox", "spo2_low"]
    assert bar.acknowledge_buttons() == [rows_before["spo2_probe_off@ox"], rows_before["spo2_low"]]


@pytest.mark.req("ALM-5")
@pytest.mark.req("ALM-3")
def test_the_audio_indicator_says_off_and_paused_with_its_countdown_and_nothing_when_fine(
    qtbot: QtBot,
) -> None:
    """Finding 13: there was no audio-off or audio-paused indicator."""
    bar = AlarmBar()
    qtbot.addWidget(bar)
    bar.show_alarms([BP_HIGH], paused=False, pause_remaining_s=0)
    assert bar.audio_indicator() == []
    bar.show_audio_failed(True, "no audio output device")
    assert bar.audio_indicator() == [AUDIO_OFF_TEXT] == ["AUDIO OFF - alarm sound unavailable"]
    assert bar.audio_off_label.toolTip() == "no audio output device"
    bar.show_alarms([BP_HIGH], paused=True, pause_remaining_s=105)
    assert bar.audio_indicator() == [AUDIO_OFF_TEXT, "AUDIO PAUSED 1:45"]
    bar.show_pause(True, 104.2)
    assert bar.audio_indicator()[-1] == "AUDIO PAUSED 1:45"
    bar.show_pause(True, 103.9)
    assert bar.audio_indicator()[-1] == "AUDIO PAUSED 1:44"
    bar.show_audio_failed(False)
    bar.show_alarms([BP_HIGH], paused=False, pause_remaining_s=0)
    assert bar.audio_indicator() == []


@pytest.mark.req("THR-6")
def test_the_trend_reason_names_every_pressure_that_is_flagged() -> None:
    """Finding 12: the reason is shown; a second pressure is named, its detail in the tooltip."""
    one = "systolic rising +2.0 mmHg/min, projected 159 by the next cycle (limit 156)"
    two = f"{one}; diastolic rising +1.0 mmHg/min, projected 103 by the next cycle (limit 101)"
    assert trend_text(one) == f"Trend flagged: {one}"
    assert trend_text(two) == f"Trend flagged: {one}; diastolic too"


_POOL = [
    SPO2_LOW,
    BP_HIGH,
    PROBE,
    alarm("pulse_low", ConditionId.PULSE_LOW, AlarmPriority.MEDIUM, "Pulse low", "41"),
]


@st.composite
def _renders(draw: st.DrawFn) -> list[list[ActiveAlarm]]:
    """Successive active-alarm lists: alarms come and go, reorder, escalate and change words."""
    renders = []
    for _ in range(draw(st.integers(1, 8))):
        chosen = draw(st.permutations(_POOL))[: draw(st.integers(0, len(_POOL)))]
        shown = []
        for a in chosen:
            priority = draw(st.sampled_from(list(AlarmPriority)))
            acked = draw(st.sampled_from([None, "RN Diaz"]))
            message = f"{a.message} #{draw(st.integers(0, 3))}"
            shown.append(replace(a, priority=priority, acknowledged_by=acked, message=message))
        renders.append(shown)
    return renders


@pytest.mark.req("ALM-1")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(renders=_renders())
def test_the_bar_always_shows_the_latest_alarms_in_order_and_keeps_each_rows_widget(
    qtbot: QtBot, renders: list[list[ActiveAlarm]]
) -> None:
    """Whatever the sequence of renders, the rows are exactly the latest alarms, most urgent first
    as given, each worded from its latest state, and an alarm present in consecutive renders keeps
    its row (and Acknowledge button) widget: nothing the clinician may be pressing is rebuilt."""
    bar = AlarmBar()
    qtbot.addWidget(bar)
    previous: dict[str, object] = {}
    for active in renders:
        bar.show_alarms(active, paused=False, pause_remaining_s=0)
        assert bar.row_keys() == [a.key for a in active]
        assert bar.row_texts() == [alarm_text(a) for a in active]
        buttons = dict(zip(bar.row_keys(), bar.acknowledge_buttons(), strict=True))
        for key, button in buttons.items():
            if key in previous:
                assert button is previous[key]
        previous = dict(buttons)
        assert bar.none_label.isHidden() == bool(active)
        for priority in (AlarmPriority.HIGH, AlarmPriority.MEDIUM):
            assert bar.is_flashing(priority) == any(a.priority is priority for a in active)
