"""The monitor window renders the engine's truth as it happens (issue 8: alarm path, findings 5,
12, 13, 14): data wakes the GUI thread, alarms and tones follow in the same turn, nothing polls;
labels and colours come from the engine's ReadingClass; freshness from the clinic's config; the
audio indicator; the THR-6 trend reason."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import datetime

import pytest
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from alarms import ChecklistItem, ClinicalConfig, ConditionId, ReadingClass, ThresholdSet, load_config
from bedside.monitor.core import LinkHealth, MonitorCore
from bedside.views import window as window_module
from bedside.views.alarm_bar import AUDIO_OFF_TEXT
from bedside.views.alarm_sound import AlarmSound, FailureListener
from bedside.views.theme import class_look
from bedside.views.window import MonitorWindow, clock_offset_words
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.protocol_desk import ProtocolDesk
from drivers.clock import FakeClock
from drivers.types import DecodeResult, Observation, VitalKind
from protocols import LIBRARY_DIR, load_library
from tests.alarms.helpers import nibp_obs, obs

NURSE = "RN Diaz"


def _config(**monitoring: float) -> ClinicalConfig:
    base = load_config()
    delays = {**base.alarm_delays_s, ConditionId.SPO2_LOW: 0.0}
    return base.model_copy(
        update={"alarm_delays_s": delays, "monitoring": base.monitoring.model_copy(update=monitoring)}
    )


@pytest.fixture
def no_speakers(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """The window's own AlarmSound, on a machine whose audio outputs the test decides."""
    outputs: list[object] = []

    def sound(on_failure: FailureListener) -> AlarmSound:
        return AlarmSound(on_failure=on_failure, audio_outputs=lambda: outputs)

    monkeypatch.setattr(window_module, "AlarmSound", sound)
    return outputs


def _window(qtbot: QtBot, clock: FakeClock, config: ClinicalConfig) -> tuple[MonitorWindow, ClinicalSession]:
    core = MonitorCore(clock)
    window = MonitorWindow(core)
    qtbot.addWidget(window)
    clinical = ClinicalSession(
        clock, config, session_id="w", record=lambda _r: None, nibp_link_send=None, nibp_start_command=None
    )
    window.attach_clinical(clinical, clock.now())
    return window, clinical


def _deliver(qtbot: QtBot, window: MonitorWindow, observations: Iterable[Observation]) -> None:
    """Hand observations to the core as a link would, and let the window's event loop apply them."""
    batch = tuple(observations)
    window.core.on_result(DecodeResult(observations=batch, frames=1), "link")
    qtbot.waitUntil(lambda: window.core.board.latest(batch[-1].kind) is batch[-1], timeout=1000)
    qtbot.wait(5)  # the coalesced clinical views render right after that turn


def _into_infusion(qtbot: QtBot, window: MonitorWindow, clinical: ClinicalSession, clock: FakeClock) -> None:
    clinical.begin_baseline(NURSE)
    _deliver(qtbot, window, [*nibp_obs(clock, 120, 78, 92), obs(clock, VitalKind.SPO2, 98)])
    clock.advance(150)
    _deliver(qtbot, window, nibp_obs(clock, 120, 78, 92))
    clinical.confirm_baseline(NURSE)
    clinical.confirm_thresholds(NURSE, ThresholdSet(150, 95, 90, 45, 130, 85, 65, 20, 20))
    for item in ChecklistItem:
        clinical.attest(item, NURSE)
    clinical.start_infusion("Dr Okafor")


@pytest.mark.req("ALM-1")
def test_a_result_from_a_link_thread_reaches_the_alarm_bar_and_the_tone_without_any_timer(
    qtbot: QtBot, clock: FakeClock, no_speakers: list[object]
) -> None:
    """Issue 8, the alarm path: an alarm waited for a 100 ms pump and a 500 ms refresh. Here no
    timer runs at all: the link thread's delivery wakes the window, which judges the data and
    shows and sounds the alarm."""
    no_speakers.append("speakers")
    window, _clinical = _window(qtbot, clock, _config())
    low = obs(clock, VitalKind.SPO2, 87)
    link = threading.Thread(
        target=lambda: window.core.on_result(DecodeResult(observations=(low,), frames=1), "ox")
    )
    link.start()
    link.join()
    # (A machine that cannot play the tone also shows "alarm sound unavailable": look for SpO2.)
    qtbot.waitUntil(
        lambda: any(k.startswith(ConditionId.SPO2_LOW.value) for k in window.alarm_bar.row_keys()),
        timeout=1000,
    )
    assert window.alarm_sound.playing is not None
    assert window.spo2_tile.value.text() == "87"


@pytest.mark.req("ALM-1")
def test_the_alarm_row_and_its_tone_exist_when_the_pump_that_judged_the_data_returns(
    qtbot: QtBot, clock: FakeClock, no_speakers: list[object]
) -> None:
    """Issue 8: the bar re-read the session every 500 ms. Now the session's change notification
    renders the row and starts the tone inside the pump, before the event loop turns again."""
    no_speakers.append("speakers")
    window, _clinical = _window(qtbot, clock, _config())
    window.core.on_result(DecodeResult(observations=(obs(clock, VitalKind.SPO2, 87),), frames=1), "ox")
    window.core.pump()  # what the wake-up runs; no other event is processed after it
    assert any(k.startswith(ConditionId.SPO2_LOW.value) for k in window.alarm_bar.row_keys())
    assert window.alarm_sound.playing is not None


@pytest.mark.req("ALM-1")
def test_nothing_polls_only_a_slow_heartbeat_runs(
    qtbot: QtBot, clock: FakeClock, no_speakers: list[object]
) -> None:
    """Issue 8: the window polled with a 100 ms pump and a 500 ms refresh; now the one timer left
    is the heartbeat for ages and countdowns."""
    window, _clinical = _window(qtbot, clock, _config())
    library = load_library(LIBRARY_DIR)
    desk = ProtocolDesk(
        clock, library, session_id="w", put=lambda _r: None, latest=lambda _k: None, request_nibp=lambda: True
    )
    window.attach_protocols(desk)
    window.start_timers()
    # An alarm's IEC flash (on/off times of its priority) is a look, not a poll: leave it out.
    running = [
        t.interval()
        for t in window.findChildren(QTimer)
        if t.isActive() and type(t.parent()).__name__ != "_Flasher"
    ]
    assert running == [MonitorWindow.TICK_MS] and MonitorWindow.TICK_MS >= 1000
    window.stop_timers()


@pytest.mark.req("MON-1")
def test_the_tiles_grey_a_value_by_the_clinic_config(
    qtbot: QtBot, clock: FakeClock, no_speakers: list[object]
) -> None:
    """Finding 14: with ``stale_after_s: 12`` (and a longer no-valid limit) a value is current at
    11 s and greyed at 13 s; the screen used 10 s / 30 s whatever the clinic said."""
    window, _clinical = _window(qtbot, clock, _config(stale_after_s=12.0, no_valid_spo2_s=20.0))
    _deliver(qtbot, window, [obs(clock, VitalKind.SPO2, 97)])
    clock.advance(11)
    window.refresh()
    assert window.spo2_tile.value.text() == "97"
    clock.advance(2)
    window.refresh()
    assert window.spo2_tile.value.text() == "---"
    assert window.spo2_tile.state.text() == "NO VALID DATA"
    assert "13 s ago" in window.spo2_tile.status.text()


@pytest.mark.req("THR-4")
@pytest.mark.req("THR-7")
@pytest.mark.parametrize(
    ("systolic", "diastolic", "expected"),
    [(152, 90, ReadingClass.PAST_CEILING), (70, 40, ReadingClass.BELOW_FLOOR)],
)
def test_tile_panel_and_trend_show_the_engines_class_not_the_band(
    qtbot: QtBot,
    clock: FakeClock,
    no_speakers: list[object],
    systolic: float,
    diastolic: float,
    expected: ReadingClass,
) -> None:
    """Finding 5: 152/90 past the patient's ceiling (150) was labelled "expected rise" in amber
    while a HIGH alarm sounded; 70/40 was "at baseline" in green while BP-low alarmed. The tile,
    the panel and the trend marker now say the engine's class, in its colour, with its words."""
    window, clinical = _window(qtbot, clock, _config())
    _into_infusion(qtbot, window, clinical, clock)
    clock.advance(300)
    _deliver(qtbot, window, nibp_obs(clock, systolic, diastolic, round((systolic + 2 * diastolic) / 3)))
    last = clinical.last_reading()
    assert last is not None and last.reading_class is expected
    assert last.band_class is not None and last.band_class.label != last.label  # the band alone would lie
    look = class_look(expected)
    words = expected.value.replace("_", " ")
    assert look.colour not in (
        class_look(ReadingClass.EXPECTED_RISE).colour,
        class_look(ReadingClass.AT_BASELINE).colour,
    )
    panel = window.nibp_panel
    assert panel.last_label.text().startswith(f"Last NIBP {systolic}/{diastolic}: {words}")
    assert look.colour in panel.last_label.styleSheet()
    assert words.upper() in window.nibp_tile.state.text()
    assert look.colour in window.nibp_tile.state.styleSheet()
    newest = window.trend.classified_points.points()[-2:]
    assert {p.brush().color().name() for p in newest} == {look.colour}
    assert {p.size() for p in newest} == {look.marker_size}
    caption = window.trend.last_reading_text.toPlainText()
    assert caption.startswith(f"Last NIBP {systolic}/{diastolic}: {words}")
    assert look.word in caption  # the key names each colour on the plot


@pytest.mark.req("THR-6")
def test_the_nibp_panel_shows_why_the_trend_is_flagged(
    qtbot: QtBot, clock: FakeClock, no_speakers: list[object]
) -> None:
    """Finding 12: a projected crossing only changed "NIBP every 2 min"; the panel now says why."""
    window, clinical = _window(qtbot, clock, _config())
    _into_infusion(qtbot, window, clinical, clock)
    assert window.nibp_panel.trend_label.isHidden()
    for systolic in (130, 145):  # 15 mmHg/min with the next cycle minutes away: it crosses 150
        clock.advance(60)
        _deliver(qtbot, window, nibp_obs(clock, systolic, 80, 97))
    flag = clinical.trend_flag
    assert flag is not None and "systolic rising" in flag
    assert window.nibp_panel.trend_label.text().startswith(f"Trend flagged: {flag.split('; ')[0]}")
    assert window.nibp_panel.trend_label.toolTip() == flag
    assert not window.nibp_panel.trend_label.isHidden()


@pytest.mark.req("ALM-5")
@pytest.mark.req("ALM-3")
def test_unavailable_audio_and_a_pause_are_shown_on_the_window(
    qtbot: QtBot, clock: FakeClock, no_speakers: list[object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Finding 13: without an audio device the window said nothing. It shows AUDIO OFF, tells the
    alarm system (``ClinicalSession.audio_failed``), and a pause shows a live countdown."""
    told: list[tuple[bool, str]] = []
    monkeypatch.setattr(
        ClinicalSession, "audio_failed", lambda _self, failed, reason="": told.append((failed, reason))
    )
    window, clinical = _window(qtbot, clock, _config())
    assert window.alarm_bar.audio_indicator() == [AUDIO_OFF_TEXT]
    assert told and told[0][0] is True and "no audio output device" in told[0][1]
    _deliver(qtbot, window, [obs(clock, VitalKind.SPO2, 87)])
    clinical.pause_audio(NURSE, 120)
    assert window.alarm_bar.audio_indicator() == [AUDIO_OFF_TEXT, "AUDIO PAUSED 2:00"]
    window.start_timers()
    clock.advance(15)
    qtbot.waitUntil(lambda: window.alarm_bar.audio_indicator()[-1] == "AUDIO PAUSED 1:45", timeout=3000)
    window.stop_timers()


def test_started_at_is_kept_for_the_trend(qtbot: QtBot, clock: FakeClock, no_speakers: list[object]) -> None:
    window, _clinical = _window(qtbot, clock, _config())
    assert isinstance(window.session_started_at, datetime)


@pytest.mark.req("ALM-4")
def test_the_learned_device_clock_offset_is_shown_beside_its_link(
    qtbot: QtBot, clock: FakeClock, no_speakers: list[object]
) -> None:
    """Finding 2: each device's clock offset learned from the first minutes is shown."""
    window, _clinical = _window(qtbot, clock, _config())
    health = window.core.health.setdefault("masimo-1", LinkHealth("masimo-1"))
    health.clock_offset_s, health.clock_implausible = 6.0, True
    window._show_links()
    assert "masimo-1" in window.link_label.text() and "clock 6.0 s ahead" in window.link_label.text()
    assert clock_offset_words(-3600) == "1 h 0 min behind"
    assert clock_offset_words(0.2) == "in step"
