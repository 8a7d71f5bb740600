"""This PC's clock set back or forward an hour must not fire timers wrongly, stamp alarms out of
order, make old values look fresh or show negative ages (ALM-3, ALM-4, MON-1, MON-2, DIS-1;
issue 11, "clock steps").

``FakeClock.step_wall`` moves wall time only, as a person changing the PC's time does; monotonic
time runs on. Delays, pauses and ages must follow monotonic time alone.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.baseline import Baseline
from alarms.config import load_config
from alarms.discharge import DischargeAttestation, DischargeCriteria
from alarms.freshness import Freshness, age_s, freshness_state
from alarms.manager import AlarmEventKind as K
from alarms.manager import AlarmManager
from alarms.nibp_reading import NibpAssembler
from alarms.nibp_schedule import NibpScheduler
from drivers.clock import FakeClock, SteadyClock
from drivers.types import VitalKind
from tests.alarms.helpers import nibp_obs, obs

CONFIG = load_config()
HOUR = 3600.0
steps = st.sampled_from([-HOUR, HOUR, -2 * HOUR, 30.0, -30.0])


def _spo2_second(manager: AlarmManager, clock: FakeClock, value: float) -> list[tuple[K, str]]:
    events = manager.observe(obs(clock, VitalKind.SPO2, value)) + manager.tick()
    clock.advance(1)
    return [(e.kind, e.key) for e in events]


@pytest.mark.req("ALM-1")
@pytest.mark.req("ALM-4")
@settings(max_examples=60, deadline=None)
@given(step_at=st.integers(0, 11), step=steps)
def test_the_spo2_delay_runs_on_monotonic_time(step_at: int, step: float) -> None:
    """The SpO2-low delay (10 s) ends 10 s after the low began, whichever way the clock is set."""
    clock = FakeClock()
    manager = AlarmManager(clock, CONFIG)
    for _ in range(3):
        _spo2_second(manager, clock, 97)
    started_at = None
    for second in range(14):
        if second == step_at:
            clock.step_wall(step)
        if (K.STARTED, "spo2_low@oximeter") in _spo2_second(manager, clock, 88):
            started_at = second
    assert started_at == 10


@pytest.mark.req("ALM-3")
@settings(max_examples=40, deadline=None)
@given(step_at=st.integers(1, 130), step=steps)
def test_an_audio_pause_lasts_its_duration_whichever_way_the_clock_is_set(step_at: int, step: float) -> None:
    """ALM-3: the pause (120 s) neither ends early (clock set forward) nor runs an hour long (set back)."""
    clock = FakeClock()
    manager = AlarmManager(clock, CONFIG)
    for _ in range(11):
        _spo2_second(manager, clock, 88)
    manager.pause_audio("RN Diaz")
    unpaused = None
    for second in range(130):
        if second == step_at:
            clock.step_wall(step)
        if any(kind is K.UNPAUSED for kind, _ in _spo2_second(manager, clock, 88)):
            unpaused = second
    assert unpaused == 120
    assert 0 <= manager.pause_remaining_s() <= 120


@pytest.mark.req("MON-1")
@pytest.mark.parametrize("step", [-HOUR, HOUR])
def test_no_valid_spo2_is_alarmed_after_ten_seconds_not_an_hour(step: float) -> None:
    clock = FakeClock()
    manager = AlarmManager(clock, CONFIG)
    _spo2_second(manager, clock, 97)  # the last valid sample, then one second passes
    clock.step_wall(step)
    clock.advance(8)
    assert manager.tick() == []
    clock.advance(1)
    assert [e.key for e in manager.tick()] == ["spo2_no_signal@oximeter"]


@pytest.mark.req("ALM-3")
def test_alarms_are_stamped_in_order_when_the_clock_is_set_back() -> None:
    """Every alarm event on the app's clock (SteadyClock) is stamped after the one before it."""
    base = FakeClock()
    clock = SteadyClock(base)
    manager = AlarmManager(clock, CONFIG)

    def second(value: float) -> None:
        manager.observe(obs(base, VitalKind.SPO2, value))
        manager.tick()
        base.advance(1)

    for _ in range(12):
        second(88)  # spo2_low starts
    base.step_wall(-HOUR)
    for _ in range(3):
        second(97)  # ... and ends after the clock was set back
    manager.pause_audio("RN Diaz")
    stamps = [e.at for e in manager.events]
    assert len(stamps) >= 3
    assert stamps == sorted(stamps)
    assert clock.steps and not clock.steps[0].followed


@pytest.mark.req("MON-1")
def test_an_age_is_never_negative() -> None:
    """A value stamped by another clock (or before a restart) ahead of ours is age 0, not -5 s."""
    clock = FakeClock()
    future = obs(clock, VitalKind.SPO2, 97)
    later = FakeClock(mono=clock.monotonic() - 5)
    assert age_s(future, later) == 0.0
    assert freshness_state(future, later, CONFIG) is Freshness.CURRENT


@pytest.mark.req("MON-1")
@pytest.mark.parametrize("step", [-HOUR, HOUR])
def test_freshness_ignores_the_wall_clock(step: float) -> None:
    clock = FakeClock()
    value = obs(clock, VitalKind.SPO2, 97)
    clock.step_wall(step)
    clock.advance(2)
    assert age_s(value, clock) == 2.0
    assert freshness_state(value, clock, CONFIG) is Freshness.CURRENT


def _discharge(clock: FakeClock) -> tuple[DischargeCriteria, Baseline]:
    criteria = DischargeCriteria(CONFIG, clock)
    for item in DischargeAttestation:
        criteria.attest(item, "RN Diaz")
    baseline = Baseline(120, 80, 93, 98, 72, clock.now(), clock.now()).confirm("Dr Okafor", clock.now())
    return criteria, baseline


@pytest.mark.req("DIS-1")
def test_setting_the_clock_back_does_not_make_an_old_nibp_fresh() -> None:
    """DIS-1: a reading 20 min old (limit 15) stays too old after the PC is set back an hour
    (on wall time it would be 40 min in the future, so "fresh")."""
    clock = FakeClock()
    criteria, baseline = _discharge(clock)
    began = clock.now()
    clock.advance(60)
    [reading] = NibpAssembler().add_all(nibp_obs(clock, 124, 82, 96))
    spo2 = obs(clock, VitalKind.SPO2, 98)
    clock.advance(20 * 60)
    clock.step_wall(-HOUR)
    fresh_pulse = obs(clock, VitalKind.PULSE_RATE, 74, measured_at=clock.now() + timedelta(hours=1))
    status = criteria.evaluate(
        baseline, recovery_began=began, nibp=reading, spo2=spo2, pulses=[fresh_pulse], unacknowledged=()
    )
    assert not status.allowed
    assert any("older than 15 min" in u for u in status.unmet)
    assert any("SpO2" in u for u in status.unmet)  # 20 min old, limit 60 s


@pytest.mark.req("DIS-1")
def test_setting_the_clock_forward_does_not_make_a_fresh_nibp_old() -> None:
    clock = FakeClock()
    criteria, baseline = _discharge(clock)
    began = clock.now()
    clock.advance(60)
    [reading] = NibpAssembler().add_all(nibp_obs(clock, 124, 82, 96))
    spo2 = obs(clock, VitalKind.SPO2, 98)
    pulse = obs(clock, VitalKind.PULSE_RATE, 74)
    clock.advance(10)
    clock.step_wall(HOUR)
    status = criteria.evaluate(
        baseline, recovery_began=began, nibp=reading, spo2=spo2, pulses=[pulse], unacknowledged=()
    )
    assert status.allowed, status.unmet


@pytest.mark.req("MON-2")
@settings(max_examples=40, deadline=None)
@given(step_at=st.integers(0, 299), step=steps)
def test_the_nibp_cycle_comes_due_on_monotonic_time(step_at: int, step: float) -> None:
    """MON-2: a 5-minute interval is 300 s of monotonic time; the countdown never jumps."""
    clock = FakeClock()
    schedule = NibpScheduler(clock, CONFIG, interval_min=5, device_can_start=True)
    last = schedule.seconds_to_next()
    for second in range(300):
        if second == step_at:
            clock.step_wall(step)
        clock.advance(1)
        now = schedule.seconds_to_next()
        assert now == pytest.approx(last - 1) and now >= 0
        last = now
    assert schedule.seconds_to_next() == 0
