"""The NIBP panel: an interval selector, "measuring..." while a cycle runs, and the NIBP number
coloured by the engine's class, never a fixed red (MON-2; issue 10 "an NIBP interval selector and
a 'measuring' state", "The NIBP number is always red, even at baseline")."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from alarms import AlarmPriority, ReadingClass, load_config
from bedside.monitor.core import MonitorCore
from bedside.monitor.vitals_board import NibpShown
from bedside.views.nibp_panel import NibpPanel
from bedside.views.theme import NIBP_COLOUR, class_look, palette
from bedside.views.widgets import NumericTile
from bedside.views.window import MonitorWindow
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import FakeClock
from drivers.types import DeviceEvent, DeviceEventKind, Quality
from tests.alarms.helpers import nibp_obs

NURSE = "RN Diaz"


def _session(clock: FakeClock, sent: list[bytes] | None = None) -> ClinicalSession:
    return ClinicalSession(
        clock,
        load_config(),
        session_id="p",
        record=lambda _r: None,
        nibp_link_send=None if sent is None else sent.append,
        nibp_start_command=None if sent is None else b"START",
    )


@pytest.mark.req("MON-2")
def test_the_selector_offers_the_clinics_intervals_and_asks_only_on_a_choice(qtbot: QtBot) -> None:
    panel = NibpPanel()
    qtbot.addWidget(panel)
    asked: list[int] = []
    panel.interval_requested.connect(asked.append)
    panel.set_intervals(load_config().nibp.allowed_intervals_min)
    offered = [panel.interval_choice.itemData(i) for i in range(panel.interval_choice.count())]
    assert offered == [1, 2, 3, 5, 10, 15]
    panel.show_state(5, 120.0, "", "", None)
    assert panel.interval_choice.currentData() == 5
    assert asked == []  # showing the session's interval is not a request
    panel.interval_choice.activated.emit(offered.index(10))
    assert asked == [10]


@pytest.mark.req("MON-2")
def test_a_shortened_interval_says_so_and_the_selector_keeps_the_sessions(qtbot: QtBot) -> None:
    panel = NibpPanel()
    qtbot.addWidget(panel)
    panel.show_state(2, 60.0, "", "", None, session_interval_min=10)
    assert panel.interval_label.text() == "NIBP every 2 min (shortened from 10)"
    assert panel.interval_choice.currentData() == 10


@pytest.mark.req("MON-2")
def test_a_started_cycle_shows_measuring_until_its_reading_arrives(qtbot: QtBot, clock: FakeClock) -> None:
    sent: list[bytes] = []
    session = _session(clock, sent)
    panel = NibpPanel()
    qtbot.addWidget(panel)
    session.begin_baseline(NURSE)  # the first cycle starts now, by remote start
    assert sent == [b"START"]
    panel.show_session(session)
    assert panel.countdown_label.text() == "NIBP measuring..."
    clock.advance(40)
    for o in nibp_obs(clock, 124, 80, 95):
        session.on_observation(o)
    panel.show_session(session)
    assert panel.countdown_label.text().startswith("Next cycle in ")


@pytest.mark.req("MON-2")
def test_measuring_ends_on_a_failed_cycle_or_after_the_clinics_bound(clock: FakeClock) -> None:
    session = _session(clock, [])
    session.on_device_event(DeviceEvent(DeviceEventKind.NIBP_STARTED, "nibp", clock.stamp()))
    assert session.nibp_measuring
    session.on_device_event(DeviceEvent(DeviceEventKind.NIBP_FAILED, "nibp", clock.stamp()))
    assert not session.nibp_measuring
    session.on_device_event(DeviceEvent(DeviceEventKind.NIBP_STARTED, "nibp", clock.stamp()))
    clock.advance(load_config().nibp.max_cycle_s)
    assert not session.nibp_measuring


@pytest.mark.req("MON-2")
def test_choosing_an_interval_in_the_window_sets_it_for_the_signed_in_clinician(
    qtbot: QtBot, clock: FakeClock
) -> None:
    window = MonitorWindow(MonitorCore(clock))
    qtbot.addWidget(window)
    session = _session(clock)
    window.attach_clinical(session, clock.now())
    window.session_controls.clinician.setText(NURSE)
    panel = window.nibp_panel
    panel.interval_choice.activated.emit(panel.interval_choice.findData(3))
    assert session.session_interval_min == 3
    assert session.scheduler.changes[-1].by == NURSE


def test_the_nibp_digits_are_never_a_fixed_alarm_red(qtbot: QtBot) -> None:
    """At baseline the digits take the class colour; unjudged, a neutral one."""
    tile = NumericTile("NIBP", "mmHg", NIBP_COLOUR)
    qtbot.addWidget(tile)
    shown = NibpShown(120, 78, 92, 5.0, Quality.VALID, "nibp")
    tile.show_nibp(shown, ReadingClass.AT_BASELINE)
    assert class_look(ReadingClass.AT_BASELINE).colour in tile.value.styleSheet()
    tile.show_nibp(shown)
    for priority in AlarmPriority:  # unjudged: a neutral colour, never an alarm's
        assert palette().priority[priority] not in tile.value.styleSheet()
