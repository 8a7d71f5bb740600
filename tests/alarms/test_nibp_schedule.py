"""NIBP interval, countdown, measure now, trend-driven shortening and the re-measure prompt
(MON-2, MON-3, PRO-2)."""

from __future__ import annotations

import pytest

from alarms.band import ExpectedRiseBand
from alarms.clinician import UnnamedClinicianError
from alarms.config import load_config
from alarms.nibp_schedule import (
    ConfirmRemeasure,
    IntervalChange,
    IntervalNotAllowedError,
    NibpScheduler,
    PromptClinician,
    StartCycle,
    TrendFlag,
)
from alarms.thresholds import ThresholdSet, judge_nibp
from alarms.trend import TrendAssessment
from drivers.clock import FakeClock
from tests.alarms.helpers import reading

BAND = ExpectedRiseBand(120, 80, 1.15, 1.30)
LIMITS = ThresholdSet(170, 105, 90, 45, 130, 85, 65, 20, 20)


@pytest.mark.req("MON-2")
def test_default_interval_counts_down_and_fires(clock: FakeClock) -> None:
    s = NibpScheduler(clock, load_config(), device_can_start=True)
    assert s.interval_min == 5 and s.seconds_to_next() == 300
    clock.advance(299)
    assert s.tick() == [] and s.seconds_to_next() == 1
    clock.advance(1)
    [action] = s.tick()
    assert isinstance(action, StartCycle) and action.at == clock.now()
    assert s.seconds_to_next() == 300


@pytest.mark.req("MON-2")
@pytest.mark.parametrize("minutes", [1, 2, 3, 5, 10, 15])
def test_allowed_intervals(clock: FakeClock, minutes: int) -> None:
    assert NibpScheduler(clock, load_config(), interval_min=minutes).interval_min == minutes


@pytest.mark.req("MON-2")
@pytest.mark.parametrize("minutes", [0, 4, 7, 30])
def test_other_intervals_are_refused(clock: FakeClock, minutes: int) -> None:
    with pytest.raises(IntervalNotAllowedError, match="choose 1, 2, 3, 5, 10, 15 min"):
        NibpScheduler(clock, load_config(), interval_min=minutes)


@pytest.mark.req("MON-2")
def test_measure_now_restarts_the_countdown_and_prompts_without_remote_start(clock: FakeClock) -> None:
    s = NibpScheduler(clock, load_config(), device_can_start=False)
    clock.advance(200)
    with pytest.raises(UnnamedClinicianError):
        s.measure_now("")
    action = s.measure_now("RN Diaz")
    assert isinstance(action, PromptClinician) and "RN Diaz" in action.reason
    assert s.seconds_to_next() == 300


@pytest.mark.req("MON-3")
def test_trend_shortens_then_restores_the_interval_with_records(clock: FakeClock) -> None:
    s = NibpScheduler(clock, load_config(), device_can_start=True)
    j = judge_nibp(reading(clock, 150, 95), LIMITS, BAND, load_config())
    clock.advance(60)
    actions, change = s.on_reading(j, TrendAssessment(True, "systolic rising"))
    assert actions == [TrendFlag(clock.now(), "systolic rising")]
    assert change == IntervalChange(clock.now(), 5, 2, "trend: systolic rising", None)
    assert s.interval_min == 2 and s.shortened and s.seconds_to_next() == 60
    clock.advance(60)
    assert [type(a) for a in s.tick()] == [StartCycle]
    _, again = s.on_reading(j, TrendAssessment(True, "still rising"))
    assert again is None  # already shortened: no duplicate record
    _, back = s.on_reading(j, TrendAssessment(False, "flat"))
    assert back is not None and (back.old_min, back.new_min) == (2, 5)
    assert s.interval_min == 5 and s.changes == (change, back)


@pytest.mark.req("MON-3")
def test_clinician_interval_change_is_recorded_and_respected_after_the_trend(clock: FakeClock) -> None:
    s = NibpScheduler(clock, load_config())
    j = judge_nibp(reading(clock, 150, 95), LIMITS, BAND, load_config())
    s.on_reading(j, TrendAssessment(True, "rising"))
    change = s.set_interval(10, "Dr Okafor")
    assert (change.by, change.old_min, change.new_min) == ("Dr Okafor", 2, 2)  # still shortened
    s.on_reading(j, TrendAssessment(False, "flat"))
    assert s.interval_min == 10


@pytest.mark.req("PRO-2")
def test_single_reading_above_band_prompts_a_remeasure(clock: FakeClock) -> None:
    s = NibpScheduler(clock, load_config())
    spike = judge_nibp(reading(clock, 168, 100), LIMITS, BAND, load_config())
    [prompt], _ = s.on_reading(spike)
    assert isinstance(prompt, ConfirmRemeasure) and prompt.reading == spike.reading
    assert prompt.message == "NIBP 168/100: above expected rise. Confirm with a re-measure now."
    expected = judge_nibp(reading(clock, 144, 96), LIMITS, BAND, load_config())
    assert s.on_reading(expected) == ([], None)


@pytest.mark.req("MON-3")
def test_a_flattened_trend_does_not_restore_the_interval_while_readings_are_still_above_the_band(
    clock: FakeClock,
) -> None:
    s = NibpScheduler(clock, load_config(), device_can_start=True)
    rising = judge_nibp(reading(clock, 150, 95), LIMITS, BAND, load_config())
    s.on_reading(rising, TrendAssessment(True, "systolic rising"))
    assert s.interval_min == 2
    spike = judge_nibp(reading(clock, 168, 100), LIMITS, BAND, load_config())
    _, change = s.on_reading(spike, TrendAssessment(False, "flat at 168"))
    assert change is None and s.interval_min == 2  # still a meaningful spike: keep measuring often
    settled = judge_nibp(reading(clock, 144, 92), LIMITS, BAND, load_config())
    _, back = s.on_reading(settled, TrendAssessment(False, "flat in the band"))
    assert back is not None and (back.old_min, back.new_min) == (2, 5)


@pytest.mark.req("THR-6")
@pytest.mark.parametrize("interval", [1, 2])
def test_a_projected_crossing_is_flagged_at_any_interval(clock: FakeClock, interval: int) -> None:
    """Finding 12: at a 1-2 minute interval a projected crossing was neither flagged nor logged
    (there is no shorter interval to change to, so only the flag tells)."""
    s = NibpScheduler(clock, load_config(), interval_min=interval)
    j = judge_nibp(reading(clock, 150, 95), LIMITS, BAND, load_config())
    reason = "systolic rising 3.0 mmHg/min, projected 159 before the next cycle (band top 156)"
    actions, change = s.on_reading(j, TrendAssessment(True, reason))
    assert change is None and s.interval_min == interval
    assert actions == [TrendFlag(clock.now(), reason)]
    clock.advance(60)
    again, _ = s.on_reading(j, TrendAssessment(True, reason))
    assert again == [TrendFlag(clock.now(), reason)]  # every reading that projects a crossing
    quiet, _ = s.on_reading(j, TrendAssessment(False, "flat"))
    assert quiet == []
