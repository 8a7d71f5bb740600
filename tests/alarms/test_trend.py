"""A rising BP series projected to cross a limit before the next cycle is flagged (THR-6)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alarms.band import ExpectedRiseBand
from alarms.config import load_config
from alarms.nibp_reading import NibpReading
from alarms.thresholds import ThresholdSet
from alarms.trend import BpTrend
from drivers.clock import FakeClock
from drivers.types import Quality
from tests.alarms.helpers import reading

LIMITS = ThresholdSet(170, 105, 90, 45, 130, 85, 65, 20, 20)
BAND = ExpectedRiseBand(120, 80, 1.15, 1.30)  # systolic top 156, diastolic top 104


def series(clock: FakeClock, pressures: list[tuple[float, float]], gap_s: float = 300) -> list[NibpReading]:
    out = []
    for i, (s, d) in enumerate(pressures):
        if i:
            clock.advance(gap_s)
        out.append(reading(clock, s, d))
    return out


@pytest.mark.req("THR-6")
def test_rise_projected_past_the_ceiling_is_flagged(clock: FakeClock) -> None:
    readings = series(clock, [(140, 88), (150, 90), (160, 92)])
    a = BpTrend(load_config()).assess(readings, clock.now() + timedelta(minutes=5), LIMITS)
    assert a.rising_toward_threshold
    assert a.systolic is not None and a.systolic.slope_mmhg_per_min == pytest.approx(2.0)
    assert a.systolic.projected == pytest.approx(170.0)
    assert a.reason == "systolic rising 2.0 mmHg/min, projected 170 before the next cycle (ceiling 170)"


@pytest.mark.req("THR-6")
def test_rise_that_stays_below_the_limit_is_not_flagged(clock: FakeClock) -> None:
    readings = series(clock, [(140, 88), (145, 89), (150, 90)])
    a = BpTrend(load_config()).assess(readings, clock.now() + timedelta(minutes=5), LIMITS)
    assert not a.rising_toward_threshold


@pytest.mark.req("THR-6")
def test_band_top_counts_as_a_limit(clock: FakeClock) -> None:
    readings = series(clock, [(140, 88), (146, 89), (152, 90)])  # projected 158: under 170, over 156
    trend = BpTrend(load_config())
    assert not trend.assess(readings, clock.now() + timedelta(minutes=5), LIMITS).rising_toward_threshold
    a = trend.assess(readings, clock.now() + timedelta(minutes=5), LIMITS, BAND)
    assert a.rising_toward_threshold and a.systolic is not None and a.systolic.limit == pytest.approx(156)


@pytest.mark.req("THR-6")
def test_falling_series_is_not_flagged_even_above_the_limit(clock: FakeClock) -> None:
    readings = series(clock, [(180, 100), (175, 98), (172, 96)])
    a = BpTrend(load_config()).assess(readings, clock.now() + timedelta(minutes=5), LIMITS)
    assert not a.rising_toward_threshold


@pytest.mark.req("THR-6")
def test_diastolic_alone_can_flag(clock: FakeClock) -> None:
    readings = series(clock, [(130, 90), (130, 96), (130, 102)])
    a = BpTrend(load_config()).assess(readings, clock.now() + timedelta(minutes=5), LIMITS)
    assert a.rising_toward_threshold and a.reason.startswith("diastolic")


@pytest.mark.req("MON-6")
def test_one_valid_reading_or_invalid_ones_are_not_a_trend(clock: FakeClock) -> None:
    bad = NibpReading(None, None, None, clock.now(), "nibp", Quality.CUFF_ERROR)
    clock.advance(300)
    readings = [bad, reading(clock, 165, 100)]
    a = BpTrend(load_config()).assess(readings, clock.now() + timedelta(minutes=5), LIMITS)
    assert not a.rising_toward_threshold and "fewer than 2" in a.reason


@pytest.mark.req("THR-6")
def test_only_the_last_window_is_fitted(clock: FakeClock) -> None:
    # An old fall followed by a steep recent rise: the window of three sees the rise.
    readings = series(clock, [(190, 100), (120, 80), (130, 82), (145, 85)])
    a = BpTrend(load_config()).assess(readings, clock.now() + timedelta(minutes=5), LIMITS)
    assert a.systolic is not None and a.systolic.slope_mmhg_per_min == pytest.approx(2.5)


@pytest.mark.req("THR-6")
def test_the_reason_says_the_slope_the_projection_and_the_limit_in_words(clock: FakeClock) -> None:
    """Finding 12: the flag must say why ("systolic rising 2.0 mmHg/min, projected 159 before the next
    cycle (ceiling 158)"), naming whether the limit is the patient's ceiling or the band top."""
    limits = ThresholdSet(158, 105, 90, 45, 130, 85, 65, 20, 20)
    readings = series(clock, [(141, 88), (145, 88), (149, 88)], gap_s=120)
    trend = BpTrend(load_config())
    a = trend.assess(readings, clock.now() + timedelta(minutes=5), limits)
    assert a.rising_toward_threshold
    assert a.reason == "systolic rising 2.0 mmHg/min, projected 159 before the next cycle (ceiling 158)"
    banded = trend.assess(readings, clock.now() + timedelta(minutes=5), LIMITS, BAND)
    assert banded.reason == "systolic rising 2.0 mmHg/min, projected 159 before the next cycle (band top 156)"


@pytest.mark.req("THR-6")
def test_implausible_readings_are_not_a_trend(clock: FakeClock) -> None:
    """A swapped reading (diastolic above systolic) is not a rise toward the diastolic ceiling."""
    readings = series(clock, [(130, 88), (131, 89)])
    clock.advance(300)
    readings.append(NibpReading(90, 140, 100, clock.now(), "nibp"))
    a = BpTrend(load_config()).assess(readings, clock.now() + timedelta(minutes=5), LIMITS)
    assert not a.rising_toward_threshold
