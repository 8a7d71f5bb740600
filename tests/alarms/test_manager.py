"""Alarm conditions, delays, priorities, latching, acknowledgement and audio pause
(ALM-1, ALM-2, ALM-3, MON-1, MON-6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alarms.band import ExpectedRiseBand
from alarms.clinician import UnnamedClinicianError
from alarms.conditions import CONDITIONS, ConditionId
from alarms.config import ClinicalConfig, load_config
from alarms.manager import AlarmEventKind, AlarmManager, AudioPauseError, UnknownAlarmError
from alarms.priority import AlarmPriority
from alarms.thresholds import ThresholdSet, judge_nibp
from drivers.clock import FakeClock
from drivers.types import DeviceEvent, DeviceEventKind, Observation, Quality, VitalKind
from tests.alarms.helpers import nibp_obs, obs, reading

K = AlarmEventKind


@pytest.fixture
def config() -> ClinicalConfig:
    return load_config()


@pytest.fixture
def manager(clock: FakeClock, config: ClinicalConfig) -> AlarmManager:
    return AlarmManager(clock, config)


def spo2(
    clock: FakeClock, value: float | None, quality: Quality = Quality.VALID, source: str = "oximeter"
) -> Observation:
    return obs(clock, VitalKind.SPO2, value, quality, source)


def feed_spo2(
    manager: AlarmManager,
    clock: FakeClock,
    value: float | None,
    seconds: int,
    quality: Quality = Quality.VALID,
) -> list[tuple[AlarmEventKind, str, int]]:
    """One sample a second for ``seconds``; returns (kind, key, second) of each event."""
    out = []
    for i in range(seconds):
        for e in manager.observe(spo2(clock, value, quality)) + manager.tick():
            out.append((e.kind, e.key, i))
        clock.advance(1)
    return out


@pytest.mark.req("ALM-1")
def test_one_low_sample_does_not_alarm(manager: AlarmManager, clock: FakeClock) -> None:
    assert feed_spo2(manager, clock, 97, 5) == []
    assert feed_spo2(manager, clock, 82, 1) == []
    assert feed_spo2(manager, clock, 97, 30) == []
    assert manager.active() == []


@pytest.mark.req("ALM-1")
def test_spo2_low_starts_after_its_delay(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 97, 3)
    t0 = clock.now()
    events = feed_spo2(manager, clock, 88, 12)
    assert events == [(K.STARTED, "spo2_low@oximeter", 10)]
    [alarm] = manager.active()
    assert alarm.priority is AlarmPriority.MEDIUM and alarm.started_at == t0 + timedelta(seconds=10)
    assert alarm.message == "oximeter: SpO2 88 % below floor 90 %"
    assert manager.audio_state() is AlarmPriority.MEDIUM
    assert feed_spo2(manager, clock, 96, 2) == [(K.ENDED, "spo2_low@oximeter", 0)]
    assert manager.active() == [] and manager.audio_state() is None


@pytest.mark.req("ALM-3")
def test_high_priority_latches_until_acknowledged(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 88, 11)
    assert feed_spo2(manager, clock, 80, 1) == [(K.ESCALATED, "spo2_low@oximeter", 0)]
    assert manager.active()[0].priority is AlarmPriority.HIGH
    assert feed_spo2(manager, clock, 97, 1) == [(K.ENDED, "spo2_low@oximeter", 0)]
    [latched] = manager.active()
    assert latched.latched and not latched.present
    assert manager.audio_state() is AlarmPriority.HIGH
    with pytest.raises(UnnamedClinicianError):
        manager.acknowledge("spo2_low@oximeter", "")
    ack = manager.acknowledge("spo2_low@oximeter", "RN Diaz")
    assert (ack.kind, ack.person, ack.at) == (K.ACKNOWLEDGED, "RN Diaz", clock.now())
    assert manager.active() == [] and manager.audio_state() is None
    with pytest.raises(UnknownAlarmError):
        manager.acknowledge("spo2_low@oximeter", "RN Diaz")


@pytest.mark.req("ALM-3")
def test_medium_priority_does_not_latch(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 88, 11)
    feed_spo2(manager, clock, 97, 1)
    assert manager.active() == []


@pytest.mark.req("MON-6")
def test_probe_off_never_raises_spo2_low(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 97, 2)
    events = feed_spo2(manager, clock, None, 12, Quality.PROBE_OFF)
    assert (K.STARTED, "spo2_probe_off@oximeter", 3) in events
    assert (K.STARTED, "spo2_no_signal@oximeter", 9) in events  # 10 s after the last valid sample
    assert all(key != "spo2_low@oximeter" for _, key, _ in events)
    assert [a.key for a in manager.active()] == ["spo2_no_signal@oximeter", "spo2_probe_off@oximeter"]
    back = feed_spo2(manager, clock, 97, 1)
    assert sorted(back) == [(K.ENDED, "spo2_no_signal@oximeter", 0), (K.ENDED, "spo2_probe_off@oximeter", 0)]


@pytest.mark.req("MON-6")
def test_invalid_data_neither_starts_nor_ends_a_physiological_alarm(
    manager: AlarmManager, clock: FakeClock
) -> None:
    feed_spo2(manager, clock, 88, 11)
    events = feed_spo2(manager, clock, None, 2, Quality.ARTIFACT)
    assert all(key != "spo2_low@oximeter" for _, key, _ in events)
    assert "spo2_low@oximeter" in [a.key for a in manager.active()]


@pytest.mark.req("MON-1")
def test_no_valid_spo2_for_ten_seconds_is_a_technical_alarm(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 97, 1)
    clock.advance(8)
    assert manager.tick() == []
    clock.advance(1)
    [event] = manager.tick()
    assert (event.kind, event.key, event.priority) == (
        K.STARTED,
        "spo2_no_signal@oximeter",
        AlarmPriority.MEDIUM,
    )
    assert event.message == "oximeter: no valid SpO2 for 10 s"


@pytest.mark.req("MON-1")
def test_no_signal_limit_is_configurable(clock: FakeClock, config: ClinicalConfig) -> None:
    custom = config.model_copy(
        update={"monitoring": config.monitoring.model_copy(update={"no_valid_spo2_s": 5})}
    )
    manager = AlarmManager(clock, custom)
    manager.observe(spo2(clock, 97))
    clock.advance(5)
    assert [e.key for e in manager.tick()] == ["spo2_no_signal@oximeter"]


@pytest.mark.req("MON-1")
def test_a_frozen_value_is_not_judged_after_the_no_signal_limit(
    manager: AlarmManager, clock: FakeClock
) -> None:
    manager.observe(spo2(clock, 85))
    clock.advance(15)
    assert [e.key for e in manager.tick()] == ["spo2_no_signal@oximeter"]  # never "SpO2 low" from a stale 85


@pytest.mark.req("ALM-3")
def test_pause_is_bounded_then_sounds_again(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 88, 11)
    paused = manager.pause_audio("RN Diaz")
    assert (paused.kind, paused.person) == (K.PAUSED, "RN Diaz")
    assert manager.audio_state() is None and manager.audio_paused
    events = feed_spo2(manager, clock, 88, 121)
    assert events == [(K.UNPAUSED, "", 120)]  # exactly 120 s after the pause
    assert manager.events[-1].person is None
    assert manager.audio_state() is AlarmPriority.MEDIUM


@pytest.mark.req("ALM-3")
def test_pause_duration_is_bounded(manager: AlarmManager) -> None:
    with pytest.raises(AudioPauseError):
        manager.pause_audio("RN Diaz", 600)
    with pytest.raises(AudioPauseError):
        manager.pause_audio("RN Diaz", 0)


@pytest.mark.req("ALM-3")
def test_pause_does_not_hide_a_new_condition(
    manager: AlarmManager, clock: FakeClock, config: ClinicalConfig
) -> None:
    band = ExpectedRiseBand(120, 80, 1.15, 1.30)
    thresholds = ThresholdSet.clinic_default(config)
    feed_spo2(manager, clock, 97, 2)
    manager.nibp_judgement(judge_nibp(reading(clock, 170, 100), thresholds, band, config))
    assert manager.audio_state() is AlarmPriority.MEDIUM
    manager.pause_audio("RN Diaz")
    assert manager.audio_state() is None
    feed_spo2(manager, clock, 88, 11)  # the opposite direction: SpO2 low, after the pause
    assert manager.audio_state() is AlarmPriority.MEDIUM
    sounding = {a.key: a.sounding for a in manager.active()}
    assert sounding == {"bp_high": False, "spo2_low@oximeter": True}


@pytest.mark.req("ALM-3")
def test_pause_does_not_hide_an_escalation(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 88, 11)
    manager.pause_audio("RN Diaz")
    feed_spo2(manager, clock, 80, 1)
    assert manager.audio_state() is AlarmPriority.HIGH


@pytest.mark.req("ALM-3")
def test_pause_does_not_hide_a_new_occurrence(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 88, 11)
    manager.pause_audio("RN Diaz")
    feed_spo2(manager, clock, 97, 2)
    feed_spo2(manager, clock, 88, 11)
    assert manager.audio_state() is AlarmPriority.MEDIUM


@pytest.mark.req("ALM-3")
def test_resume_audio_early_is_recorded(manager: AlarmManager, clock: FakeClock) -> None:
    assert manager.resume_audio("RN Diaz") is None
    manager.pause_audio("RN Diaz", 60)
    event = manager.resume_audio("Dr Lee")
    assert event is not None and (event.kind, event.person) == (K.UNPAUSED, "Dr Lee")
    assert not manager.audio_paused


@pytest.mark.req("ALM-3")
def test_acknowledging_a_present_alarm_silences_it_for_a_bounded_time(
    manager: AlarmManager, clock: FakeClock
) -> None:
    feed_spo2(manager, clock, 88, 11)
    manager.acknowledge("spo2_low@oximeter", "RN Diaz")
    [alarm] = manager.active()
    assert alarm.acknowledged_by == "RN Diaz" and not alarm.sounding
    feed_spo2(manager, clock, 88, 120)
    assert manager.audio_state() is AlarmPriority.MEDIUM


@pytest.mark.req("ALM-1")
def test_pulse_high_and_low(manager: AlarmManager, clock: FakeClock) -> None:
    events = []
    for _ in range(11):
        events += manager.observe(obs(clock, VitalKind.PULSE_RATE, 140))
        clock.advance(1)
    assert [(e.kind, e.key) for e in events] == [(K.STARTED, "pulse_high@oximeter")]
    for _ in range(11):
        events += manager.observe(obs(clock, VitalKind.PULSE_RATE, 40))
        clock.advance(1)
    assert [(e.kind, e.key) for e in events[1:]] == [
        (K.ENDED, "pulse_high@oximeter"),
        (K.STARTED, "pulse_low@oximeter"),
    ]


@pytest.mark.req("ALM-1")
def test_bp_alarm_priorities(manager: AlarmManager, clock: FakeClock, config: ClinicalConfig) -> None:
    band = ExpectedRiseBand(120, 80, 1.15, 1.30)
    thresholds = ThresholdSet(170, 105, 90, 45, 130, 90, 65, 20, 20)
    [above] = manager.nibp_judgement(judge_nibp(reading(clock, 160, 95), thresholds, band, config))
    assert (above.kind, above.key, above.priority) == (K.STARTED, "bp_high", AlarmPriority.MEDIUM)
    [past] = manager.nibp_judgement(judge_nibp(reading(clock, 175, 95), thresholds, band, config))
    assert (past.kind, past.priority) == (K.ESCALATED, AlarmPriority.HIGH)
    events = manager.nibp_judgement(judge_nibp(reading(clock, 85, 55), thresholds, band, config))
    assert [(e.kind, e.key) for e in events] == [(K.ENDED, "bp_high"), (K.STARTED, "bp_low")]
    assert [a.key for a in manager.active()] == ["bp_high", "bp_low"]  # HIGH first, latched


@pytest.mark.req("ALM-2")
def test_device_link_alarms(manager: AlarmManager, clock: FakeClock) -> None:
    def ev(kind: DeviceEventKind) -> list[tuple[AlarmEventKind, str]]:
        return [(e.kind, e.key) for e in manager.device_event(DeviceEvent(kind, "monitor", clock.stamp()))]

    assert ev(DeviceEventKind.SILENT) == [(K.STARTED, "device_silent@monitor")]
    assert ev(DeviceEventKind.RESUMED) == [(K.ENDED, "device_silent@monitor")]
    assert ev(DeviceEventKind.DISCONNECTED) == [(K.STARTED, "device_disconnected@monitor")]
    assert ev(DeviceEventKind.CONNECTED) == [(K.ENDED, "device_disconnected@monitor")]
    assert ev(DeviceEventKind.NIBP_FAILED) == [(K.STARTED, "nibp_failed@monitor")]
    events = [
        (e.kind, e.key) for o in nibp_obs(clock, 120, 80, 93, source="monitor") for e in manager.observe(o)
    ]
    assert events == [(K.ENDED, "nibp_failed@monitor")]


@pytest.mark.req("ALM-2")
def test_cuff_error_observation_is_a_technical_alarm(manager: AlarmManager, clock: FakeClock) -> None:
    events = [e for o in nibp_obs(clock, None, None, None, Quality.CUFF_ERROR) for e in manager.observe(o)]
    assert [(e.kind, e.key, e.priority) for e in events] == [
        (K.STARTED, "nibp_failed@nibp", AlarmPriority.LOW)
    ]


@pytest.mark.req("ALM-2")
@pytest.mark.req("ALM-4")
def test_future_timestamp_is_clock_implausible_and_still_judged(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """Finding 2 (issue 8): this test used to assert the defect (a clock ahead stopped judgement)."""
    future = clock.now() + timedelta(minutes=10)
    events = []
    for _ in range(12):
        events += manager.observe(obs(clock, VitalKind.SPO2, 80, measured_at=future))
        clock.advance(1)
    assert [(e.kind, e.key) for e in events] == [
        (K.STARTED, "clock_implausible@oximeter"),
        (K.STARTED, "spo2_low@oximeter"),
    ]
    assert events[0].message.startswith("oximeter: the device clock is 10 min 0 s ahead of this computer")
    assert events[1].priority is AlarmPriority.HIGH


@pytest.mark.req("ALM-2")
def test_impossible_value_is_data_implausible_and_not_judged(manager: AlarmManager, clock: FakeClock) -> None:
    events = []
    for _ in range(12):
        events += manager.observe(obs(clock, VitalKind.PULSE_RATE, 400))
        clock.advance(1)
    assert [(e.kind, e.key) for e in events] == [(K.STARTED, "data_implausible@oximeter")]
    assert "pulse_rate outside the possible range" in events[0].message
    assert [(e.kind, e.key) for e in manager.observe(obs(clock, VitalKind.PULSE_RATE, 80))] == [
        (K.ENDED, "data_implausible@oximeter")
    ]


@pytest.mark.req("ALM-3")
def test_every_event_has_a_time_and_automatic_ones_no_person(manager: AlarmManager, clock: FakeClock) -> None:
    feed_spo2(manager, clock, 80, 12)
    manager.pause_audio("RN Diaz", 30)
    feed_spo2(manager, clock, 97, 31)
    manager.acknowledge("spo2_low@oximeter", "RN Diaz")
    kinds = [(e.kind, e.person) for e in manager.events]
    assert kinds == [
        (K.STARTED, None),
        (K.PAUSED, "RN Diaz"),
        (K.ENDED, None),
        (K.UNPAUSED, None),
        (K.ACKNOWLEDGED, "RN Diaz"),
    ]
    times = [e.at for e in manager.events]
    assert times == sorted(times)


def test_thresholds_in_force_come_from_the_callable(clock: FakeClock, config: ClinicalConfig) -> None:
    strict = ThresholdSet(170, 105, 95, 45, 130, 85, 65, 20, 20)
    manager = AlarmManager(clock, config, lambda: strict)
    feed_spo2(manager, clock, 93, 11)
    assert [a.key for a in manager.active()] == ["spo2_low@oximeter"]


@pytest.mark.req("ALM-1")
def test_priority_is_never_colour_alone_and_flash_rates_fit_iec_60601_1_8() -> None:
    symbols = {p: (p.colour, p.text, p.symbol) for p in AlarmPriority}
    assert symbols == {
        AlarmPriority.HIGH: ("#E02020", "HIGH", "!!!"),
        AlarmPriority.MEDIUM: ("#F5C400", "MEDIUM", "!!"),
        AlarmPriority.LOW: ("#00B7D4", "LOW", "!"),
    }
    for p in (AlarmPriority.HIGH, AlarmPriority.MEDIUM):
        f = p.flash
        assert f.allowed_frequency_hz[0] <= f.frequency_hz <= f.allowed_frequency_hz[1]
        assert f.allowed_duty_cycle[0] <= f.duty_cycle <= f.allowed_duty_cycle[1]
        assert f.on_s + f.off_s == pytest.approx(1 / f.frequency_hz)
    assert AlarmPriority.HIGH.flash.allowed_frequency_hz == (1.4, 2.8)
    assert AlarmPriority.MEDIUM.flash.allowed_frequency_hz == (0.4, 0.8)
    assert AlarmPriority.LOW.flash.steady


@pytest.mark.parametrize("condition", list(ConditionId))
def test_every_condition_has_a_spec(condition: ConditionId) -> None:
    spec = CONDITIONS[condition]
    assert spec.condition is condition and spec.title
    physiological = {
        ConditionId.SPO2_LOW,
        ConditionId.PULSE_HIGH,
        ConditionId.PULSE_LOW,
        ConditionId.HR_HIGH,
        ConditionId.HR_LOW,
        ConditionId.PULSE_DEFICIT,
        ConditionId.BP_HIGH,
        ConditionId.BP_LOW,
    }
    assert spec.technical is (condition not in physiological)


@pytest.mark.req("ALM-3")
def test_a_latched_alarm_whose_condition_returns_is_recorded_as_started(
    manager: AlarmManager, clock: FakeClock
) -> None:
    feed_spo2(manager, clock, 80, 11)
    feed_spo2(manager, clock, 97, 1)
    assert manager.active()[0].latched
    events = feed_spo2(manager, clock, 80, 1)
    assert events == [(K.STARTED, "spo2_low@oximeter", 0)]
    [alarm] = manager.active()
    assert alarm.present and not alarm.latched and alarm.priority is AlarmPriority.HIGH


@pytest.mark.req("ALM-2")
def test_a_storage_outage_is_a_technical_alarm_until_it_recovers(
    manager: AlarmManager, clock: FakeClock
) -> None:
    """A full disk must raise a technical alarm, not hang or go unnoticed (brief: bad input)."""
    [started] = manager.recording_failed(True, "database or disk is full")
    assert started.kind is AlarmEventKind.STARTED and started.condition is ConditionId.RECORDING_FAILED
    assert started.priority is AlarmPriority.MEDIUM
    [active] = manager.active()
    assert active.technical and "database or disk is full" in active.message
    clock.advance(5)
    [ended] = manager.recording_failed(False)
    assert ended.kind is AlarmEventKind.ENDED and manager.active() == []
