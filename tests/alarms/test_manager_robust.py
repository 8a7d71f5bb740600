"""The alarm system cannot be fooled by the data path (issue 8, findings 1, 2, 3, 8, 9, 13, 4/MON-8).

Each test names its requirement id and the issue-8 finding it reproduces; each failed on the
engine before this change (a quality flag reset the delay, a clock ahead stopped judgement, HR
and PR were pooled, extreme rates were MEDIUM or dismissed, a returning latched alarm stayed
silent during a pause, the alarm system did not watch itself, nothing survived a restart).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from alarms.conditions import ConditionId
from alarms.config import ClinicalConfig, load_config
from alarms.manager import (
    AlarmEvent,
    AlarmEventKind,
    AlarmManager,
    AlarmStateError,
    MonitoringGapError,
)
from alarms.priority import AlarmPriority
from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, DeviceEvent, DeviceEventKind, Observation, Quality, VitalKind

K = AlarmEventKind
SPO2, PR, HR = VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE


@pytest.fixture
def config() -> ClinicalConfig:
    return load_config()


@pytest.fixture
def manager(clock: FakeClock, config: ClinicalConfig) -> AlarmManager:
    return AlarmManager(clock, config)


def sample(
    clock: FakeClock,
    kind: VitalKind,
    value: float | None,
    quality: Quality = Quality.VALID,
    source: str = "oximeter",
    skew_s: float = 0.0,
) -> Observation:
    """An observation arriving now whose device time is ``skew_s`` off this computer's."""
    now = clock.now()
    return Observation(
        kind,
        value,
        CANONICAL_UNIT[kind],
        now + timedelta(seconds=skew_s),
        now,
        clock.monotonic(),
        source,
        quality,
    )


Line = tuple[VitalKind, float | None, Quality, str]


def run(
    manager: AlarmManager, clock: FakeClock, seconds: int, lines: list[Line], skew_s: float = 0.0
) -> list[tuple[float, AlarmEvent]]:
    """One line a second, cycling through ``lines`` (line ``i % len(lines)`` at second ``i``),
    each followed by the tick. Returns (second, event) for every event."""
    out: list[tuple[float, AlarmEvent]] = []
    for i in range(seconds):
        kind, value, quality, source = lines[i % len(lines)]
        for e in manager.observe(sample(clock, kind, value, quality, source, skew_s)) + manager.tick():
            out.append((i, e))
        clock.advance(1)
    return out


def interleave(
    manager: AlarmManager, clock: FakeClock, seconds: int, per_second: list[Line], skew_s: float = 0.0
) -> list[tuple[float, AlarmEvent]]:
    """Every line of ``per_second`` arrives each second (e.g. HR and PR from one monitor)."""
    out: list[tuple[float, AlarmEvent]] = []
    for i in range(seconds):
        for kind, value, quality, source in per_second:
            out += [(i, e) for e in manager.observe(sample(clock, kind, value, quality, source, skew_s))]
        out += [(i, e) for e in manager.tick()]
        clock.advance(1)
    return out


def started(events: list[tuple[float, AlarmEvent]]) -> dict[str, tuple[float, AlarmPriority | None]]:
    """Key -> (second, priority) of each alarm's first start."""
    first: dict[str, tuple[float, AlarmPriority | None]] = {}
    for second, e in events:
        if e.kind is K.STARTED:
            first.setdefault(e.key, (second, e.priority))
    return first


# -- finding 1: intermittent quality flags (ALM-4) -------------------------------------------------


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(
    "flag", [Quality.LOW_PERFUSION, Quality.ARTIFACT, Quality.SEARCHING, Quality.UNKNOWN]
)
def test_spo2_80_with_one_line_in_six_flagged_alarms_high_within_its_delay(
    manager: AlarmManager, clock: FakeClock, flag: Quality
) -> None:
    """Finding 1: SpO2 80 % with one line in six flagged never alarmed (each flag reset the delay)."""
    lines: list[Line] = [(SPO2, 80, Quality.VALID, "oximeter")] * 5 + [(SPO2, 80, flag, "oximeter")]
    events = run(manager, clock, 60, lines)
    assert started(events) == {"spo2_low@oximeter": (10, AlarmPriority.HIGH)}


@pytest.mark.req("ALM-4")
def test_half_the_samples_flagged_with_safe_values_do_not_cancel_the_onset(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 1: flagged samples neither confirm nor cancel, whatever number they carry."""
    lines: list[Line] = [(SPO2, 86, Quality.VALID, "oximeter"), (SPO2, 99, Quality.ARTIFACT, "oximeter")]
    events = run(manager, clock, 30, lines)
    assert started(events) == {"spo2_low@oximeter": (10, AlarmPriority.MEDIUM)}
    assert [a.key for a in manager.active()] == ["spo2_low@oximeter"]


@pytest.mark.req("ALM-4")
def test_flagged_samples_with_alarming_values_never_start_an_alarm(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 1, the other side: a flagged 70 % between valid 97 % is not a desaturation."""
    lines: list[Line] = [(SPO2, 97, Quality.VALID, "oximeter"), (SPO2, 70, Quality.LOW_PERFUSION, "oximeter")]
    assert run(manager, clock, 60, lines) == []


@pytest.mark.req("ALM-4")
def test_a_valid_safe_sample_cancels_the_pending_onset(manager: AlarmManager, clock: FakeClock) -> None:
    """Finding 1: the rule is predictable: a VALID sample on the safe side restarts the delay."""
    lines: list[Line] = [(SPO2, 80, Quality.VALID, "oximeter")] * 8 + [(SPO2, 95, Quality.VALID, "oximeter")]
    events = run(manager, clock, 9, lines) + [(9 + s, e) for s, e in run(manager, clock, 12, lines[:1])]
    assert started(events) == {"spo2_low@oximeter": (19, AlarmPriority.HIGH)}


@pytest.mark.req("ALM-4")
def test_pulse_alarm_survives_intermittent_artifact(manager: AlarmManager, clock: FakeClock) -> None:
    """Finding 1 for the pulse: PR 140 with one line in four flagged still alarms."""
    lines: list[Line] = [(PR, 140, Quality.VALID, "oximeter")] * 3 + [(PR, 140, Quality.ARTIFACT, "oximeter")]
    assert started(run(manager, clock, 30, lines)) == {"pulse_high@oximeter": (10, AlarmPriority.MEDIUM)}


@pytest.mark.req("ALM-4")
@pytest.mark.req("MON-1")
def test_only_flagged_samples_for_the_no_signal_limit_make_the_value_unknown(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 1: with no valid sample for ``no_valid_spo2_s`` the technical alarm says so, and the
    physiological alarm neither starts nor ends on the last valid value."""
    run(manager, clock, 12, [(SPO2, 80, Quality.VALID, "oximeter")])
    events = run(manager, clock, 15, [(SPO2, 99, Quality.SEARCHING, "oximeter")])
    assert started(events) == {"spo2_no_signal@oximeter": (9, AlarmPriority.MEDIUM)}
    assert {a.key: a.present for a in manager.active()} == {
        "spo2_low@oximeter": True,
        "spo2_no_signal@oximeter": True,
    }


# -- finding 2: device clocks (ALM-4, ALM-2) -------------------------------------------------------


@pytest.mark.req("ALM-4")
@pytest.mark.req("ALM-2")
@pytest.mark.parametrize(
    ("skew_s", "words"),
    [
        (6, "6 s ahead"),
        (3600, "1 h 0 min ahead"),  # local time read as UTC, a clinic east of UTC
        (-3600, "1 h 0 min behind"),  # ... and west of UTC
    ],
)
def test_a_skewed_device_clock_is_a_technical_alarm_and_never_stops_judgement(
    manager: AlarmManager, clock: FakeClock, skew_s: float, words: str
) -> None:
    """Finding 2: a Masimo 6 s ahead sent SpO2 85 % for 35 s and only "clock implausible" showed."""
    events = run(manager, clock, 35, [(SPO2, 85, Quality.VALID, "masimo")], skew_s=skew_s)
    assert started(events) == {
        "clock_implausible@masimo": (0, AlarmPriority.LOW),
        "spo2_low@masimo": (10, AlarmPriority.MEDIUM),
    }
    [clock_alarm] = [a for a in manager.active() if a.condition is ConditionId.CLOCK_IMPLAUSIBLE]
    assert words in clock_alarm.message and "judged on arrival time" in clock_alarm.message


@pytest.mark.req("ALM-2")
def test_clock_tolerances_are_configurable_and_the_alarm_ends_when_the_time_is_right(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """Finding 2: ahead beyond ``future_tolerance_s`` or behind beyond ``past_tolerance_s``."""
    custom = config.model_copy(
        update={"monitoring": config.monitoring.model_copy(update={"past_tolerance_s": 30})}
    )
    manager = AlarmManager(clock, custom)
    assert run(manager, clock, 3, [(SPO2, 97, Quality.VALID, "masimo")], skew_s=-29) == []
    events = run(manager, clock, 1, [(SPO2, 97, Quality.VALID, "masimo")], skew_s=-31)
    assert [(e.kind, e.key) for _, e in events] == [(K.STARTED, "clock_implausible@masimo")]
    events = run(manager, clock, 1, [(SPO2, 97, Quality.VALID, "masimo")], skew_s=4)
    assert [(e.kind, e.key) for _, e in events] == [(K.ENDED, "clock_implausible@masimo")]


@pytest.mark.req("ALM-2")
def test_values_without_a_device_time_do_not_end_a_clock_alarm(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 2: a monitor that stamps NIBP with its (wrong) clock and sends numerics stamped on
    arrival keeps one clock alarm instead of starting and ending it every second."""
    lines: list[Line] = [(PR, 72, Quality.VALID, "monitor")] * 4
    events = run(manager, clock, 1, lines[:1], skew_s=3600) + run(manager, clock, 20, lines)
    assert [(e.kind, e.key) for _, e in events] == [(K.STARTED, "clock_implausible@monitor")]


# -- finding 3: HR and PR per kind and per source (MON-7) ------------------------------------------


@pytest.mark.req("MON-7")
def test_hr_38_interleaved_with_pr_76_alarms_hr_low(manager: AlarmManager, clock: FakeClock) -> None:
    """Finding 3: HR 38 and PR 76 pooled into one value never alarmed."""
    events = interleave(
        manager, clock, 15, [(HR, 38, Quality.VALID, "monitor"), (PR, 76, Quality.VALID, "monitor")]
    )
    first = started(events)
    assert first["hr_low@monitor"] == (10, AlarmPriority.HIGH)  # 38 is also below the extreme tier
    assert "pulse_low@monitor" not in first
    [hr_low] = [e for _, e in events if e.key == "hr_low@monitor"]
    assert (hr_low.condition, hr_low.source) == (ConditionId.HR_LOW, "monitor")
    assert hr_low.message == "monitor: heart rate 38 /min below 45"


@pytest.mark.req("MON-7")
def test_hr_150_with_pr_96_alarms_hr_high_then_a_pulse_deficit(
    manager: AlarmManager, clock: FakeClock, config: ClinicalConfig
) -> None:
    """Finding 3: one monitor sending HR 150 and PR 96 (as in atrial fibrillation) never alarmed."""
    events = interleave(
        manager, clock, 40, [(HR, 150, Quality.VALID, "monitor"), (PR, 96, Quality.VALID, "monitor")]
    )
    first = started(events)
    assert first == {
        "hr_high@monitor": (10, AlarmPriority.MEDIUM),
        "pulse_deficit@monitor": (config.delay_s(ConditionId.PULSE_DEFICIT), AlarmPriority.MEDIUM),
    }
    assert manager.pulse_deficit() == 54
    [deficit] = [a for a in manager.active() if a.condition is ConditionId.PULSE_DEFICIT]
    assert deficit.message == "monitor: heart rate 150 /min, pulse 96 /min (monitor): difference +54 /min"


@pytest.mark.req("MON-7")
def test_pulse_deficit_is_none_until_sustained_and_ends_when_hr_and_pr_agree(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 3: the screen shows a SUSTAINED difference only."""
    interleave(manager, clock, 29, [(HR, 110, Quality.VALID, "monitor"), (PR, 90, Quality.VALID, "monitor")])
    assert manager.pulse_deficit() is None
    interleave(manager, clock, 2, [(HR, 110, Quality.VALID, "monitor"), (PR, 90, Quality.VALID, "monitor")])
    assert manager.pulse_deficit() == 20
    events = interleave(
        manager, clock, 1, [(HR, 95, Quality.VALID, "monitor"), (PR, 90, Quality.VALID, "monitor")]
    )
    assert [(e.kind, e.key) for _, e in events] == [(K.ENDED, "pulse_deficit@monitor")]
    assert manager.pulse_deficit() is None


@pytest.mark.req("MON-7")
def test_hr_from_the_monitor_is_compared_with_pr_from_the_oximeter(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 3: ECG on one device, oximetry on another: the deficit is still judged."""
    events = interleave(
        manager, clock, 32, [(HR, 120, Quality.VALID, "monitor"), (PR, 60, Quality.VALID, "masimo")]
    )
    assert "pulse_deficit@monitor" in started(events)
    assert manager.pulse_deficit() == 60


@pytest.mark.req("MON-7")
def test_the_deficit_difference_is_configurable(clock: FakeClock, config: ClinicalConfig) -> None:
    """Finding 3: |HR - PR| above ``pulse_deficit.min_difference_per_min``."""
    custom = config.model_copy(
        update={"pulse_deficit": config.pulse_deficit.model_copy(update={"min_difference_per_min": 60})}
    )
    manager = AlarmManager(clock, custom)
    events = interleave(
        manager, clock, 40, [(HR, 150, Quality.VALID, "monitor"), (PR, 96, Quality.VALID, "monitor")]
    )
    assert "pulse_deficit@monitor" not in started(events)


@pytest.mark.req("MON-7")
def test_two_oximeters_are_judged_each_alone(manager: AlarmManager, clock: FakeClock) -> None:
    """Finding 3: one oximeter at 80 % alarms although the other says 97 %."""
    events = run(manager, clock, 30, [(SPO2, 80, Quality.VALID, "finger"), (SPO2, 97, Quality.VALID, "ear")])
    assert started(events) == {"spo2_low@finger": (10, AlarmPriority.HIGH)}
    [alarm] = manager.active()
    assert (alarm.source, alarm.message) == ("finger", "finger: SpO2 80 % below floor 90 %")


# -- finding 8: extreme rates (ALM-4) --------------------------------------------------------------


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(
    ("kind", "value", "key", "priority"),
    [
        (PR, 21, "pulse_low@oximeter", AlarmPriority.HIGH),
        (PR, 250, "pulse_high@oximeter", AlarmPriority.HIGH),
        (PR, 19, "pulse_low@oximeter", AlarmPriority.HIGH),  # was only a LOW "implausible" notice
        (HR, 18, "hr_low@oximeter", AlarmPriority.HIGH),
        (HR, 300, "hr_high@oximeter", AlarmPriority.HIGH),
        (PR, 42, "pulse_low@oximeter", AlarmPriority.MEDIUM),
        (HR, 140, "hr_high@oximeter", AlarmPriority.MEDIUM),
        (PR, 150, "pulse_high@oximeter", AlarmPriority.MEDIUM),  # at the tier: not beyond it
    ],
)
def test_extreme_rates_are_judged_at_high_priority(
    manager: AlarmManager, clock: FakeClock, kind: VitalKind, value: float, key: str, priority: AlarmPriority
) -> None:
    """Finding 8: 21/min and 250/min were MEDIUM; 19/min was dismissed as a data error."""
    events = run(manager, clock, 12, [(kind, value, Quality.VALID, "oximeter")])
    assert started(events) == {key: (10, priority)}


@pytest.mark.req("ALM-4")
def test_extreme_tiers_are_configurable(clock: FakeClock, config: ClinicalConfig) -> None:
    """Finding 8: the tiers live in ``extremes``, not in code."""
    custom = config.model_copy(
        update={"extremes": config.extremes.model_copy(update={"rate_high_priority_below": 43})}
    )
    events = run(AlarmManager(clock, custom), clock, 12, [(PR, 42, Quality.VALID, "oximeter")])
    assert started(events) == {"pulse_low@oximeter": (10, AlarmPriority.HIGH)}


@pytest.mark.req("ALM-4")
def test_a_rate_escalates_to_high_when_it_passes_the_extreme_tier(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 8: MEDIUM below the patient's floor, HIGH once below the extreme tier."""
    run(manager, clock, 11, [(PR, 43, Quality.VALID, "oximeter")])
    events = run(manager, clock, 1, [(PR, 35, Quality.VALID, "oximeter")])
    assert [(e.kind, e.key, e.priority) for _, e in events] == [
        (K.ESCALATED, "pulse_low@oximeter", AlarmPriority.HIGH)
    ]


# -- finding 9: a latched alarm that returns during a pause (ALM-3) --------------------------------


@pytest.mark.req("ALM-3")
def test_a_latched_alarm_that_returns_during_a_pause_is_a_new_occurrence_and_sounds(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 9: a second desaturation to 78 % was silent for the rest of the pause."""
    run(manager, clock, 12, [(SPO2, 78, Quality.VALID, "oximeter")])
    manager.pause_audio("RN Diaz")
    assert manager.audio_state() is None
    run(manager, clock, 5, [(SPO2, 97, Quality.VALID, "oximeter")])
    [latched] = manager.active()
    assert latched.latched and not latched.sounding
    events = run(manager, clock, 1, [(SPO2, 78, Quality.VALID, "oximeter")])
    assert [(e.kind, e.key) for _, e in events] == [(K.STARTED, "spo2_low@oximeter")]
    [back] = manager.active()
    assert back.present and back.sounding and back.started_at == clock.now() - timedelta(seconds=1)
    assert manager.audio_paused and manager.audio_state() is AlarmPriority.HIGH


@pytest.mark.req("ALM-3")
def test_a_returning_alarm_clears_an_earlier_acknowledgement(manager: AlarmManager, clock: FakeClock) -> None:
    """Finding 9: the acknowledgement belonged to the first occurrence, not to the new one."""
    run(manager, clock, 12, [(SPO2, 78, Quality.VALID, "oximeter")])
    run(manager, clock, 1, [(SPO2, 97, Quality.VALID, "oximeter")])  # ended, latched
    run(manager, clock, 1, [(SPO2, 78, Quality.VALID, "oximeter")])  # returns
    manager.acknowledge("spo2_low@oximeter", "RN Diaz")
    assert manager.active()[0].acknowledged_by == "RN Diaz"
    run(manager, clock, 1, [(SPO2, 97, Quality.VALID, "oximeter")])  # acknowledged: not latched
    assert manager.active() == []
    run(manager, clock, 11, [(SPO2, 78, Quality.VALID, "oximeter")])
    [again] = manager.active()
    assert again.acknowledged_by is None and again.sounding


# -- finding 13: the alarm system watches itself (ALM-5) -------------------------------------------


@pytest.mark.req("ALM-5")
def test_unavailable_audio_is_a_technical_alarm_while_it_lasts(manager: AlarmManager) -> None:
    """Finding 13: "QSoundEffect: playback not supported" was only logged."""
    assert not manager.audio_unavailable
    [event] = manager.audio_failed(True, "QSoundEffect: playback not supported")
    assert (event.kind, event.key, event.priority) == (K.STARTED, "audio_unavailable", AlarmPriority.MEDIUM)
    [alarm] = manager.active()
    assert alarm.technical and alarm.title == "Alarm sound unavailable"
    assert "QSoundEffect: playback not supported" in alarm.message and manager.audio_unavailable
    assert manager.audio_failed(True, "QSoundEffect: playback not supported") == []
    [ended] = manager.audio_failed(False, "")
    assert ended.kind is K.ENDED and manager.active() == [] and not manager.audio_unavailable


@pytest.mark.req("ALM-5")
def test_a_stalled_display_is_a_high_technical_alarm_that_latches(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 13: a frozen screen must be known, even after it recovers."""
    [event] = manager.display_stalled(True, "no repaint for 5 s")
    assert (event.key, event.priority) == ("display_stalled", AlarmPriority.HIGH)
    clock.advance(8)
    [ended] = manager.display_stalled(False, "")
    assert ended.kind is K.ENDED
    [latched] = manager.active()
    assert latched.latched and latched.sounding and "no repaint for 5 s" in latched.message
    manager.acknowledge("display_stalled", "RN Diaz")
    assert manager.active() == []


@pytest.mark.req("ALM-5")
@pytest.mark.req("MON-8")
def test_a_monitoring_gap_is_shown_and_sounds_until_acknowledged(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 13 / 4: a restart's gap is a one-shot alarm, latched from the start."""
    since = datetime(2026, 11, 23, 10, 2, 11, tzinfo=UTC)
    until = datetime(2026, 11, 23, 10, 4, 40, tzinfo=UTC)
    [event] = manager.monitoring_gap(since, until)
    assert (event.kind, event.condition, event.priority) == (
        K.STARTED,
        ConditionId.MONITORING_GAP,
        AlarmPriority.MEDIUM,
    )
    assert event.message == "no monitoring from 10:02:11 to 10:04:40 (2 min 29 s): the monitor restarted"
    assert manager.monitoring_gap(since, until) == []  # the same gap told twice: one alarm
    for _ in range(300):
        clock.advance(1)
        assert manager.tick() == []
    [gap] = manager.active()
    assert gap.latched and gap.sounding and manager.audio_state() is AlarmPriority.MEDIUM
    manager.acknowledge(gap.key, "RN Diaz")
    assert manager.active() == [] and manager.audio_state() is None


@pytest.mark.req("MON-8")
def test_a_gap_that_does_not_end_after_it_starts_is_refused(manager: AlarmManager) -> None:
    """Finding 4: wrong times from the caller are an error with both times, never a silent alarm."""
    at = datetime(2026, 11, 23, 10, 2, 11, tzinfo=UTC)
    with pytest.raises(MonitoringGapError, match="must end after it starts"):
        manager.monitoring_gap(at, at)


# -- finding 4: snapshot and restore across a restart (MON-8) --------------------------------------


def busy_manager(clock: FakeClock, config: ClinicalConfig) -> AlarmManager:
    """A latched HIGH SpO2 alarm, an acknowledged pulse alarm, a probe off, two oximeters without
    a valid value, and an audio pause running (one "no valid SpO2" started after it)."""
    manager = AlarmManager(clock, config)
    run(manager, clock, 12, [(SPO2, 78, Quality.VALID, "oximeter")])
    run(manager, clock, 1, [(SPO2, 97, Quality.VALID, "oximeter")])
    run(manager, clock, 11, [(PR, 140, Quality.VALID, "monitor")])
    manager.acknowledge("pulse_high@monitor", "Dr Lee")
    run(manager, clock, 4, [(SPO2, None, Quality.PROBE_OFF, "ear")])
    manager.pause_audio("RN Diaz", 120)
    clock.advance(30)
    manager.tick()
    return manager


Shown = tuple[str, AlarmPriority, bool, str | None, datetime, str, bool]


def shown(manager: AlarmManager) -> list[Shown]:
    """What the alarm bar shows of each alarm."""
    return [
        (a.key, a.priority, a.present, a.acknowledged_by, a.started_at, a.message, a.sounding)
        for a in manager.active()
    ]


def restarted(
    state: dict[str, object], clock: FakeClock, config: ClinicalConfig, down_s: float = 75
) -> tuple[AlarmManager, FakeClock]:
    """A new process ``down_s`` later (new monotonic base) that restored ``state``."""
    later = FakeClock(start=clock.now() + timedelta(seconds=down_s), mono=7.0)
    manager = AlarmManager(later, config)
    manager.restore(state)
    return manager, later


@pytest.mark.req("MON-8")
def test_snapshot_round_trips_through_json_into_a_fresh_manager(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """Finding 4: a restart forgot latched alarms and pauses."""
    before = busy_manager(clock, config)
    state = json.loads(json.dumps(before.snapshot()))
    after, _ = restarted(state, clock, config, down_s=0)
    assert shown(after) == shown(before)
    assert [(key, present, sounding) for key, _, present, _, _, _, sounding in shown(after)] == [
        ("spo2_low@oximeter", False, False),  # latched, covered by the pause
        ("spo2_no_signal@oximeter", True, False),
        ("pulse_high@monitor", True, False),  # acknowledged by Dr Lee
        ("spo2_no_signal@ear", True, True),  # started after the pause was pressed
        ("spo2_probe_off@ear", True, False),
    ]
    assert after.pause_remaining_s() == pytest.approx(90)
    assert after.audio_state() is before.audio_state() is AlarmPriority.MEDIUM
    assert after.snapshot()["occurrences"] == state["occurrences"] == 5
    assert after.snapshot()["audio_pause"] == state["audio_pause"]


@pytest.mark.req("MON-8")
@pytest.mark.req("ALM-3")
def test_the_time_the_monitor_was_down_counts_against_the_audio_pause(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """A pause is bounded (ALM-3): a crash cannot stretch it. 75 s down leaves 15 of 90 s;
    100 s down ends it, and the latched alarm it covered sounds again."""
    state = json.loads(json.dumps(busy_manager(clock, config).snapshot()))
    after, _ = restarted(state, clock, config, down_s=75)
    assert after.pause_remaining_s() == pytest.approx(15)
    over, _ = restarted(state, clock, config, down_s=100)
    assert not over.audio_paused
    assert over.audio_state() is not None


@pytest.mark.req("MON-8")
def test_restored_alarms_end_only_on_fresh_data_and_latched_ones_on_acknowledgement(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """Finding 4: present physiological alarms stay shown until fresh valid data ends them;
    technical ones until their device reports again; latched ones until acknowledged."""
    manager, later = restarted(json.loads(json.dumps(busy_manager(clock, config).snapshot())), clock, config)
    events = run(manager, later, 5, [(PR, 140, Quality.ARTIFACT, "monitor")])
    assert [e for _, e in events if e.key == "pulse_high@monitor"] == []  # flagged data ends nothing
    events = run(manager, later, 1, [(PR, 80, Quality.VALID, "monitor")])
    assert [(e.kind, e.key) for _, e in events] == [(K.ENDED, "pulse_high@monitor")]
    events = run(manager, later, 1, [(SPO2, 97, Quality.VALID, "ear")])
    assert sorted((e.kind, e.key) for _, e in events) == [
        (K.ENDED, "spo2_no_signal@ear"),
        (K.ENDED, "spo2_probe_off@ear"),
    ]
    assert [(a.key, a.latched) for a in manager.active()] == [
        ("spo2_low@oximeter", True),
        ("spo2_no_signal@oximeter", False),
    ]
    manager.acknowledge("spo2_low@oximeter", "RN Diaz")
    assert [a.key for a in manager.active()] == ["spo2_no_signal@oximeter"]


@pytest.mark.req("MON-8")
@pytest.mark.req("ALM-3")
def test_after_a_restart_a_returning_alarm_sounds_despite_the_restored_pause(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """Finding 4 + 9: new occurrences are numbered after the restored ones, so they sound."""
    manager, later = restarted(json.loads(json.dumps(busy_manager(clock, config).snapshot())), clock, config)
    events = run(manager, later, 1, [(SPO2, 78, Quality.VALID, "oximeter")])
    assert sorted((e.kind, e.key) for _, e in events) == [
        (K.ENDED, "spo2_no_signal@oximeter"),
        (K.STARTED, "spo2_low@oximeter"),
    ]
    assert manager.audio_paused and manager.audio_state() is AlarmPriority.HIGH
    assert manager.snapshot()["occurrences"] == 6


@pytest.mark.req("MON-8")
@pytest.mark.req("MON-1")
def test_an_oximeter_that_does_not_come_back_after_a_restart_is_noticed(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """Finding 4: the streams watched before the restart are watched again."""
    before = AlarmManager(clock, config)
    run(before, clock, 5, [(SPO2, 97, Quality.VALID, "oximeter")])
    manager, later = restarted(json.loads(json.dumps(before.snapshot())), clock, config)
    events: list[tuple[float, AlarmEvent]] = []
    for second in range(1, 11):
        later.advance(1)
        events += [(second, e) for e in manager.tick()]
    assert started(events) == {"spo2_no_signal@oximeter": (10, AlarmPriority.MEDIUM)}


@pytest.mark.req("MON-8")
def test_a_damaged_or_foreign_state_is_refused_and_changes_nothing(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """Finding 4: a state that cannot be trusted is an error with a reason, not half a restore."""
    good = json.loads(json.dumps(busy_manager(clock, config).snapshot()))
    fresh = AlarmManager(FakeClock(), config)
    with pytest.raises(AlarmStateError, match="version"):
        fresh.restore({**good, "version": 99})
    with pytest.raises(AlarmStateError, match="damaged"):
        fresh.restore({**good, "alarms": [{**good["alarms"][0], "condition": "no_such_condition"}]})
    with pytest.raises(AlarmStateError, match="priority"):
        fresh.restore({**good, "alarms": [{**good["alarms"][0], "priority": "urgent"}]})
    assert fresh.active() == [] and not fresh.audio_paused
    fresh.restore(good)
    with pytest.raises(AlarmStateError, match="freshly started"):
        fresh.restore(good)


@pytest.mark.req("ALM-5")
def test_a_restored_technical_alarm_stays_until_its_device_reports_again(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """Finding 4: a link that was down stays shown down until the new driver says otherwise."""
    before = AlarmManager(clock, config)
    before.device_event(DeviceEvent(DeviceEventKind.DISCONNECTED, "monitor", clock.stamp()))
    manager = AlarmManager(clock, config)
    manager.restore(json.loads(json.dumps(before.snapshot())))
    clock.advance(60)
    assert manager.tick() == [] and [a.key for a in manager.active()] == ["device_disconnected@monitor"]
    [ended] = manager.device_event(DeviceEvent(DeviceEventKind.CONNECTED, "monitor", clock.stamp()))
    assert (ended.kind, ended.key) == (K.ENDED, "device_disconnected@monitor")


# -- configuration of the new rules ----------------------------------------------------------------


@pytest.mark.req("ALM-4")
def test_defaults_hold_the_new_alarm_settings(config: ClinicalConfig) -> None:
    """Findings 2, 3, 8: every number of the new rules is in defaults.yaml."""
    assert config.extremes.rate_high_priority_below == 40
    assert config.extremes.rate_high_priority_above == 150
    assert config.pulse_deficit.min_difference_per_min == 10
    assert config.monitoring.past_tolerance_s == 300
    assert config.possible_ranges[PR] == (10, 350) and config.possible_ranges[HR] == (10, 350)
    assert config.is_possible(PR, 18) and not config.is_possible(PR, 400)


@pytest.mark.req("MON-8")
@pytest.mark.req("ALM-5")
def test_restore_keeps_the_alarm_systems_own_watch_raised_at_start_up(
    clock: FakeClock, config: ClinicalConfig
) -> None:
    """A restarted app finds no speakers before it reads the stored state: the restore must not be
    refused for that, and both the restored alarms and "sound unavailable" are shown."""
    state = json.loads(json.dumps(busy_manager(clock, config).snapshot()))
    later = FakeClock(start=clock.now(), mono=7.0)
    manager = AlarmManager(later, config)
    manager.audio_failed(True, "no audio output device")
    manager.restore(state)
    keys = {a.key for a in manager.active()}
    assert "audio_unavailable" in keys and "spo2_low@oximeter" in keys
    occurrences = [a["occurrence"] for a in manager.snapshot()["alarms"]]
    assert len(occurrences) == len(set(occurrences))
    with pytest.raises(AlarmStateError):
        manager.restore(state)
