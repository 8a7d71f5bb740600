"""What a numeric tile may claim: fresh values only, gaps for invalid data (MON-1, MON-5, MON-6)."""

from __future__ import annotations

import math

import pytest

from alarms import load_config
from bedside.monitor.vitals_board import Freshness, VitalsBoard
from drivers.clock import FakeClock
from drivers.types import Observation, Quality, VitalKind


def _obs(
    clock: FakeClock,
    kind: VitalKind,
    value: float | None,
    quality: Quality = Quality.VALID,
    source: str = "ox1",
) -> Observation:
    s = clock.stamp()
    return Observation(kind, value, "%", s.wall, s.wall, s.mono, source, quality)


@pytest.mark.req("MON-1")
def test_a_value_is_current_only_until_the_no_valid_data_limit(clock: FakeClock) -> None:
    board = VitalsBoard(clock.monotonic(), no_valid_after_s=10.0)
    board.add(_obs(clock, VitalKind.SPO2, 97))
    assert board.numeric(VitalKind.SPO2, clock.monotonic()).text == "97"
    clock.advance(9.9)
    assert board.numeric(VitalKind.SPO2, clock.monotonic()).freshness is Freshness.CURRENT
    clock.advance(0.2)
    shown = board.numeric(VitalKind.SPO2, clock.monotonic())
    assert shown.freshness is Freshness.NO_DATA
    assert shown.text == "---"
    assert shown.age_s == pytest.approx(10.1)


@pytest.mark.req("MON-1")
def test_a_reading_older_than_the_stale_limit_is_never_current_even_with_a_long_no_data_limit(
    clock: FakeClock,
) -> None:
    board = VitalsBoard(clock.monotonic(), no_valid_after_s=60.0, stale_after_s=30.0)
    board.add(_obs(clock, VitalKind.PULSE_RATE, 80))
    clock.advance(31)
    assert board.numeric(VitalKind.PULSE_RATE, clock.monotonic()).freshness is Freshness.NO_DATA


@pytest.mark.req("MON-6")
def test_probe_off_replaces_the_number_with_its_quality_and_leaves_a_gap_in_the_trend(
    clock: FakeClock,
) -> None:
    board = VitalsBoard(clock.monotonic())
    board.add(_obs(clock, VitalKind.SPO2, 96))
    clock.advance(1)
    board.add(_obs(clock, VitalKind.SPO2, None, Quality.PROBE_OFF))
    shown = board.numeric(VitalKind.SPO2, clock.monotonic())
    assert shown.freshness is Freshness.NOT_VALID
    assert shown.quality is Quality.PROBE_OFF
    assert shown.text == "---"
    trend = board.trends[VitalKind.SPO2]
    assert trend.v[0] == 96 and math.isnan(trend.v[1])


@pytest.mark.req("MON-6")
def test_an_invalid_value_with_a_number_is_not_plotted_as_valid(clock: FakeClock) -> None:
    board = VitalsBoard(clock.monotonic())
    board.add(_obs(clock, VitalKind.SPO2, 75, Quality.ARTIFACT))
    assert math.isnan(board.trends[VitalKind.SPO2].v[0])
    assert board.numeric(VitalKind.SPO2, clock.monotonic()).value is None


@pytest.mark.req("MON-5")
def test_nibp_parts_from_one_measurement_become_one_point(clock: FakeClock) -> None:
    board = VitalsBoard(clock.monotonic())
    for kind, v in (
        (VitalKind.NIBP_SYSTOLIC, 121),
        (VitalKind.NIBP_DIASTOLIC, 75),
        (VitalKind.NIBP_MEAN, 92),
    ):
        board.add(_obs(clock, kind, v, source="nibp"))
    clock.advance(65)
    assert board.nibp_points == [(0.0, 121, 75, 92)]
    shown = board.nibp(clock.monotonic())
    assert shown.text == "121/75" and shown.mean == 92 and shown.age_s == pytest.approx(65)


@pytest.mark.req("MON-6")
def test_a_failed_nibp_shows_its_quality_not_the_previous_numbers(clock: FakeClock) -> None:
    board = VitalsBoard(clock.monotonic())
    for kind, v in ((VitalKind.NIBP_SYSTOLIC, 121), (VitalKind.NIBP_DIASTOLIC, 75)):
        board.add(_obs(clock, kind, v, source="nibp"))
    clock.advance(300)
    for kind in (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC):
        board.add(_obs(clock, kind, None, Quality.CUFF_ERROR, source="nibp"))
    shown = board.nibp(clock.monotonic())
    assert shown.text == "---/---" and shown.quality is Quality.CUFF_ERROR
    assert len(board.nibp_points) == 1


@pytest.mark.req("MON-1")
@pytest.mark.parametrize(("stale_after_s", "no_valid_spo2_s"), [(12.0, 20.0), (25.0, 40.0)])
def test_the_board_greys_a_value_by_the_clinics_own_freshness_limits(
    clock: FakeClock, stale_after_s: float, no_valid_spo2_s: float
) -> None:
    """Finding 14: the board hard-coded 10 s / 30 s, so ``monitoring.stale_after_s`` in a clinic's
    config did nothing on screen. With the config given, a value is current up to the clinic's
    stale limit and greyed one second after it (e.g. 12 s: current at 11 s, greyed at 13 s)."""
    base = load_config()
    monitoring = base.monitoring.model_copy(
        update={"stale_after_s": stale_after_s, "no_valid_spo2_s": no_valid_spo2_s}
    )
    config = base.model_copy(update={"monitoring": monitoring})
    board = VitalsBoard(clock.monotonic())
    board.use_clinic_config(config)
    board.add(_obs(clock, VitalKind.SPO2, 97))
    clock.advance(stale_after_s - 1)
    assert board.numeric(VitalKind.SPO2, clock.monotonic()).freshness is Freshness.CURRENT
    clock.advance(2)
    shown = board.numeric(VitalKind.SPO2, clock.monotonic())
    assert shown.freshness is Freshness.NO_DATA and shown.text == "---"
    assert shown.age_s == pytest.approx(stale_after_s + 1)
