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
    # One summary per source and side of the window (issue 11), not one entry per sample.
    assert [(c.value, c.used, c.samples) for c in spo2_candidates] == [(90, False, 1), (98, True, 3)]
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


# -- issue 8, finding 7: baseline candidates and overrides are plausible (THR-8) ----------------------


@pytest.mark.req("THR-8")
def test_a_valid_but_impossible_reading_never_enters_the_baseline(clock: FakeClock) -> None:
    """Finding 7: a VALID 320 mmHg reading entered a confirmed baseline of 220 (median of 120 and 320)."""
    calc = calc_with(clock, (120, 80, 93), (320, 90, 167))
    with pytest.raises(BaselineNotReadyError, match="1 so far"):
        calc.propose()
    [left_out] = [c for c in calc.candidates() if c.field is BaselineField.SYSTOLIC and not c.used]
    assert left_out.value == 320 and left_out.note == "systolic 320 is outside the possible range 40-300 mmHg"
    clock.advance(180)
    calc.add_nibp(reading(clock, 124, 82, 96))
    b = calc.propose()
    assert (b.systolic, b.diastolic) == (122, 81)


@pytest.mark.req("THR-8")
def test_swapped_systolic_and_diastolic_never_enter_the_baseline(clock: FakeClock) -> None:
    calc = calc_with(clock, (120, 80, 93), (80, 120, 93), (124, 82, 96))
    b = calc.propose()
    assert (b.systolic, b.diastolic) == (122, 81)
    notes = {c.note for c in b.candidates if not c.used}
    assert notes == {"diastolic 120 is not below systolic 80"}


@pytest.mark.req("THR-8")
def test_implausible_oximetry_never_enters_the_baseline(clock: FakeClock) -> None:
    calc = BaselineCalculator(load_config())
    calc.add_nibp(reading(clock, 120, 80, 93))
    clock.advance(60)
    calc.add_observation(obs(clock, VitalKind.SPO2, 97))
    calc.add_observation(obs(clock, VitalKind.SPO2, 130))  # flagged valid, impossible
    calc.add_observation(obs(clock, VitalKind.PULSE_RATE, 72))
    calc.add_observation(obs(clock, VitalKind.PULSE_RATE, 900))
    clock.advance(60)
    calc.add_nibp(reading(clock, 124, 82, 96))
    b = calc.propose()
    assert (b.spo2, b.pulse) == (97, 72)


@pytest.mark.req("THR-2")
@pytest.mark.req("THR-8")
@pytest.mark.parametrize(
    ("second", "words"),
    [((150, 84, 106), "systolic 118 to 150"), ((122, 96, 105), "diastolic 78 to 96")],
)
def test_readings_that_disagree_widely_need_a_third_then_the_median_of_three(
    clock: FakeClock, second: tuple[float, float, float], words: str
) -> None:
    """Finding 7: two readings that disagree widely need another reading before a baseline is offered."""
    calc = calc_with(clock, (118, 78, 91), second)
    with pytest.raises(BaselineNotReadyError, match=f"disagree widely \\({words}; .*another reading"):
        calc.propose()
    clock.advance(180)
    calc.add_nibp(reading(clock, 121, 80, 94))
    b = calc.propose()
    assert len(calc.selected_nibp()) == 3
    assert (b.systolic, b.diastolic) == (sorted([118, second[0], 121])[1], sorted([78, second[1], 80])[1])


@pytest.mark.req("THR-2")
def test_readings_within_the_spread_need_no_third(clock: FakeClock) -> None:
    calc = calc_with(clock, (118, 78, 91), (138, 93, 108))  # exactly 20 and 15 apart
    assert (calc.propose().systolic, calc.propose().diastolic) == (128, 85.5)


@pytest.mark.req("THR-8")
def test_a_baseline_past_the_clinic_limits_is_not_offered_unless_overridden(clock: FakeClock) -> None:
    """Finding 7: 215/125 before the infusion became the baseline."""
    calc = calc_with(clock, (214, 124, 154), (216, 126, 156))
    with pytest.raises(BaselineNotReadyError) as refused:
        calc.propose()
    message = str(refused.value)
    assert "215/125 is not offered" in message
    assert "systolic 215 mmHg is above the clinic's ceiling 180" in message
    assert "diastolic 125 mmHg is above the clinic's ceiling 110" in message
    assert "overriding those values with a reason" in message
    # Overriding only one of the two values past the limits is not enough.
    with pytest.raises(BaselineNotReadyError, match="diastolic 125"):
        calc.propose_with_overrides(
            {BaselineField.SYSTOLIC: (210, "treated hypertensive")}, "Dr Okafor", clock.now()
        )
    b = calc.propose_with_overrides(
        {
            BaselineField.SYSTOLIC: (215, "known hypertensive; usual home BP 210/120"),
            BaselineField.DIASTOLIC: (125, "known hypertensive; usual home BP 210/120"),
        },
        "Dr Okafor",
        clock.now(),
    )
    assert (b.systolic, b.diastolic) == (215, 125)
    assert [o.field for o in b.overrides] == [BaselineField.SYSTOLIC, BaselineField.DIASTOLIC]


@pytest.mark.req("THR-8")
def test_a_baseline_below_the_clinic_floors_is_not_offered(clock: FakeClock) -> None:
    calc = calc_with(clock, (80, 50, 60), (82, 52, 62))
    with pytest.raises(BaselineNotReadyError, match="systolic 81 mmHg is below the clinic's floor 85"):
        calc.propose()


@pytest.mark.req("THR-8")
@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({BaselineField.SYSTOLIC: (1300, "typo")}, "systolic cannot be set to 1300"),
        ({BaselineField.DIASTOLIC: (130, "typo")}, "diastolic 130 is not below systolic 122"),
        ({BaselineField.SPO2: (120, "typo")}, "spo2 cannot be set to 120"),
        ({BaselineField.PULSE: (0, "typo")}, "positive number"),
        ({BaselineField.MEAN: (float("nan"), "typo")}, "positive number"),
        ({BaselineField.SYSTOLIC: (90, "typo")}, "mean 94.5 is not between diastolic 81 and systolic 90"),
    ],
)
def test_implausible_overrides_are_refused(
    clock: FakeClock, changes: dict[BaselineField, tuple[float, str]], match: str
) -> None:
    """Finding 7: overrides of 1300 mmHg, diastolic above systolic and SpO2 120 % were accepted."""
    b = calc_with(clock, (120, 80, 93), (124, 82, 96)).propose()
    with pytest.raises(BaselineOverrideError, match=match):
        b.with_overrides(changes, "Dr Okafor", clock.now(), config=load_config())


@pytest.mark.req("THR-2")
def test_overrides_are_checked_together(clock: FakeClock) -> None:
    """Lowering systolic and diastolic together is plausible even though either alone in that order is not."""
    b = calc_with(clock, (120, 80, 93), (124, 82, 96)).propose()
    changed = b.with_overrides(
        {
            BaselineField.SYSTOLIC: (78, "home readings"),
            BaselineField.DIASTOLIC: (50, "home readings"),
            BaselineField.MEAN: (59, "home readings"),
        },
        "Dr Okafor",
        clock.now(),
        config=load_config(),
    )
    assert (changed.systolic, changed.diastolic, changed.mean) == (78, 50, 59)
