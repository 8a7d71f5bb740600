"""Baseline from pre-infusion readings: medians of spaced NIBP readings, SpO2, pulse (THR-2)."""

from __future__ import annotations

import pytest

from alarms.baseline import (
    BaselineCalculator,
    BaselineField,
    BaselineNotReadyError,
    BaselineOverride,
    BaselineOverrideError,
)
from alarms.clinician import UnnamedClinicianError
from alarms.config import load_config
from alarms.nibp_reading import NibpAssembler, NibpReading
from drivers.clock import FakeClock
from drivers.types import Quality, VitalKind
from tests.alarms.helpers import nibp_obs, obs, reading


def calc_with(
    clock: FakeClock, *pressures: tuple[float, float, float], gap_s: float = 180
) -> BaselineCalculator:
    calc = BaselineCalculator(load_config())
    for i, (s, d, m) in enumerate(pressures):
        if i:
            clock.advance(gap_s)
        calc.add_nibp(reading(clock, s, d, m))
    return calc


@pytest.mark.req("THR-2")
def test_one_reading_is_not_enough(clock: FakeClock) -> None:
    calc = calc_with(clock, (120, 80, 93))
    with pytest.raises(BaselineNotReadyError, match="2 valid NIBP readings at least 120 s apart; 1 so far"):
        calc.propose()


@pytest.mark.req("THR-2")
def test_two_readings_too_close_are_not_enough(clock: FakeClock) -> None:
    calc = calc_with(clock, (120, 80, 93), (124, 82, 96), gap_s=60)
    with pytest.raises(BaselineNotReadyError):
        calc.propose()


@pytest.mark.req("THR-2")
def test_exactly_two_minutes_apart_is_enough(clock: FakeClock) -> None:
    calc = calc_with(clock, (120, 80, 93), (124, 82, 96), gap_s=120)
    b = calc.propose()
    assert (b.systolic, b.diastolic, b.mean) == (122, 81, 94.5)


@pytest.mark.req("THR-2")
def test_median_of_spaced_readings_and_oximetry_over_the_same_window(clock: FakeClock) -> None:
    calc = BaselineCalculator(load_config())
    calc.add_observation(obs(clock, VitalKind.SPO2, 90))  # before the window: not used
    clock.advance(10)
    start = clock.now()
    calc.add_nibp(reading(clock, 118, 78, 91))
    for spo2, pulse in ((97, 70), (98, 72), (99, 74)):
        clock.advance(60)
        calc.add_observation(obs(clock, VitalKind.SPO2, spo2))
        calc.add_observation(obs(clock, VitalKind.PULSE_RATE, pulse))
    calc.add_observation(obs(clock, VitalKind.SPO2, None, Quality.PROBE_OFF))  # invalid: ignored
    clock.advance(60)
    calc.add_nibp(reading(clock, 126, 84, 98))
    clock.advance(180)
    calc.add_nibp(reading(clock, 122, 80, 94))
    b = calc.propose()
    assert (b.systolic, b.diastolic, b.mean, b.spo2, b.pulse) == (122, 80, 94, 98, 72)
    assert b.window_start == start and b.window_end == clock.now()
    assert not b.is_confirmed
    spo2_candidates = [c for c in b.candidates if c.field is BaselineField.SPO2]
    assert [(c.value, c.used) for c in spo2_candidates] == [(90, False), (97, True), (98, True), (99, True)]
    assert all(c.used for c in b.candidates if c.field is BaselineField.SYSTOLIC)


@pytest.mark.req("THR-2")
def test_selection_keeps_spacing_counting_back_from_the_latest(clock: FakeClock) -> None:
    calc = BaselineCalculator(load_config())
    calc.add_nibp(reading(clock, 110, 70, 83))
    clock.advance(150)
    calc.add_nibp(reading(clock, 140, 90, 107))  # 30 s before the last: skipped
    clock.advance(30)
    calc.add_nibp(reading(clock, 120, 80, 93))
    picked = calc.selected_nibp()
    assert [r.systolic for r in picked] == [110, 120]
    systolic = [(c.value, c.used) for c in calc.candidates() if c.field is BaselineField.SYSTOLIC]
    assert systolic == [(110, True), (140, False), (120, True)]


@pytest.mark.req("MON-6")
def test_invalid_readings_never_enter_the_baseline(clock: FakeClock) -> None:
    calc = BaselineCalculator(load_config())
    calc.add_nibp(NibpReading(None, None, None, clock.now(), "nibp", Quality.CUFF_ERROR))
    clock.advance(200)
    calc.add_nibp(reading(clock, 120, 80))
    with pytest.raises(BaselineNotReadyError):
        calc.propose()


@pytest.mark.req("THR-2")
def test_confirm_and_override_are_attributed_and_recorded(clock: FakeClock) -> None:
    b = calc_with(clock, (120, 80, 93), (124, 82, 96)).propose()
    with pytest.raises(UnnamedClinicianError):
        b.confirm("", clock.now())
    confirmed = b.confirm("Dr Okafor", clock.now())
    assert confirmed.is_confirmed and confirmed.confirmed_by == "Dr Okafor"
    with pytest.raises(BaselineOverrideError, match="reason"):
        confirmed.with_override(
            BaselineField.SYSTOLIC, 130, "", "Dr Okafor", clock.now(), config=load_config()
        )
    changed = confirmed.with_override(
        BaselineField.SYSTOLIC,
        130,
        "white-coat readings; home BP 130",
        "Dr Okafor",
        clock.now(),
        config=load_config(),
    )
    assert changed.systolic == 130 and changed.diastolic == 81
    assert changed.overrides == (
        BaselineOverride(
            BaselineField.SYSTOLIC, 122, 130, "white-coat readings; home BP 130", "Dr Okafor", clock.now()
        ),
    )
    assert not changed.is_confirmed  # a changed baseline is confirmed anew
    assert changed.confirm("Dr Okafor", clock.now()).is_confirmed


def test_assembler_groups_parts_of_one_cycle(clock: FakeClock) -> None:
    asm = NibpAssembler()
    parts = nibp_obs(clock, 120, 80, 93)
    assert asm.add(parts[0]) == [] and asm.add(parts[1]) == []
    done = asm.add(parts[2])
    assert done == [NibpReading(120, 80, 93, clock.now(), "nibp")]
    assert asm.add(obs(clock, VitalKind.SPO2, 98)) == []


@pytest.mark.req("MON-6")
def test_assembler_marks_a_cycle_with_an_invalid_part_invalid(clock: FakeClock) -> None:
    asm = NibpAssembler()
    [r] = asm.add_all(nibp_obs(clock, None, None, None, Quality.CUFF_ERROR))
    assert r.quality is Quality.CUFF_ERROR and not r.is_valid


def test_assembler_emits_a_meanless_cycle_when_the_next_begins_or_on_flush(clock: FakeClock) -> None:
    asm = NibpAssembler()
    first = nibp_obs(clock, 120, 80, None)[:2]
    assert asm.add_all(first) == []
    t0 = clock.now()
    clock.advance(300)
    second = nibp_obs(clock, 130, 85, None)[:2]
    assert asm.add_all(second) == [NibpReading(120, 80, None, t0, "nibp")]
    assert asm.flush() == [NibpReading(130, 85, None, clock.now(), "nibp")]
    assert asm.flush() == []


def test_assembler_keeps_sources_apart(clock: FakeClock) -> None:
    asm = NibpAssembler()
    a = nibp_obs(clock, 120, 80, 93, source="a")
    b = nibp_obs(clock, 140, 90, 107, source="b")
    out = asm.add_all([a[0], b[0], a[1], b[1], a[2], b[2]])
    assert [(r.source, r.systolic) for r in out] == [("a", 120), ("b", 140)]


def test_valid_cycle_missing_a_pressure_is_not_valid(clock: FakeClock) -> None:
    asm = NibpAssembler()
    parts = nibp_obs(clock, 120, None, 93)
    [r] = asm.add_all(parts)
    assert r.quality is Quality.UNKNOWN and not r.is_valid
