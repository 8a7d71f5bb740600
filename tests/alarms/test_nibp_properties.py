"""Property tests: the NIBP judgement, the baseline and the threshold book over generated readings
(issue 8, findings 5, 6, 7; THR-4, THR-7, THR-8).

Readings are drawn at and beyond every edge the rules use (the patient's ceilings and floors, the
band's edges, the allowed falls, the possible ranges), with systolic and diastolic swapped, the
mean missing or garbled, flagged qualities and NaN. Each property is checked against an oracle
written from the requirement, not from the implementation.
"""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import assume, event, given, settings
from hypothesis import strategies as st

from alarms.band import ExpectedRiseBand
from alarms.baseline import BaselineCalculator, BaselineNotReadyError
from alarms.config import ClinicalConfig, load_config
from alarms.nibp_reading import NibpReading, calculated_mean
from alarms.priority import AlarmPriority
from alarms.thresholds import (
    NibpJudgement,
    ReadingClass,
    ThresholdBook,
    ThresholdError,
    ThresholdField,
    ThresholdSet,
    judge_nibp,
)
from drivers.clock import FakeClock
from drivers.types import Quality, VitalKind

CONFIG: ClinicalConfig = load_config()
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
SETTINGS = settings(max_examples=300, deadline=None)

# Where a label or an alarm could flip: the clinic's limits, the band around typical baselines,
# the falls from them, the possible ranges; each a hair either side as well.
_D = CONFIG.default_thresholds
_SYS_LOW, _SYS_HIGH = CONFIG.possible_ranges[VitalKind.NIBP_SYSTOLIC]
_DIA_LOW, _DIA_HIGH = CONFIG.possible_ranges[VitalKind.NIBP_DIASTOLIC]
_EDGES = sorted(
    {
        e + d
        for e in (
            _D.systolic_ceiling,
            _D.diastolic_ceiling,
            _D.hypotension_floor,
            _D.mean_floor,
            _SYS_LOW,
            _SYS_HIGH,
            _DIA_LOW,
            _DIA_HIGH,
            120 * CONFIG.band.low_factor,
            120 * CONFIG.band.high_factor,
            80 * CONFIG.band.low_factor,
            80 * CONFIG.band.high_factor,
            120 * (1 - _D.systolic_fall_pct / 100),
            93 * (1 - _D.mean_fall_pct / 100),
        )
        for d in (-0.5, 0.0, 0.5)
    }
)

pressures = st.one_of(
    st.sampled_from(_EDGES),
    st.floats(min_value=0, max_value=400, allow_nan=False),
    st.just(math.nan),
)
qualities = st.sampled_from(list(Quality)).filter(lambda q: q is not Quality.VALID)


@st.composite
def plausible_readings(draw: st.DrawFn) -> NibpReading:
    """A valid reading with both pressures possible and diastolic below systolic; the mean is
    missing, the calculated one, anywhere (garbled) or an edge."""
    diastolic = draw(
        st.one_of(
            st.sampled_from([e for e in _EDGES if _DIA_LOW <= e < _DIA_HIGH]),
            st.floats(45, 105),  # where most patients are
            st.floats(_DIA_LOW, _DIA_HIGH - 1),
        )
    )
    systolic = draw(
        st.one_of(
            st.sampled_from(
                [e for e in _EDGES if max(diastolic, _SYS_LOW - 1) < e <= _SYS_HIGH] or [_SYS_HIGH]
            ),
            st.floats(max(85, diastolic + 0.5), max(175, diastolic + 1)),
            st.floats(max(_SYS_LOW, diastolic + 0.5), _SYS_HIGH),
        )
    )
    assume(diastolic < systolic and systolic >= _SYS_LOW)
    mean = draw(st.one_of(st.none(), st.just(calculated_mean(systolic, diastolic)), pressures))
    return NibpReading(systolic, diastolic, mean, T0, "nibp")


@st.composite
def raw_readings(draw: st.DrawFn) -> NibpReading:
    """A reading as a device may send it: edges, swaps, missing or garbled mean, flags."""
    systolic = draw(st.one_of(st.none(), pressures))
    diastolic = draw(st.one_of(st.none(), pressures))
    if systolic is not None and diastolic is not None and draw(st.booleans()):
        systolic, diastolic = diastolic, systolic  # swapped fields
    mean = draw(
        st.one_of(
            st.none(),
            pressures,
            st.just(
                calculated_mean(systolic, diastolic)
                if systolic is not None and diastolic is not None
                else None
            ),
        )
    )
    quality = draw(st.one_of(st.just(Quality.VALID), st.just(Quality.VALID), qualities))
    return NibpReading(systolic, diastolic, mean, T0, "nibp", quality)


# Mostly readings that are judged (where the rules live), the rest anything a device may send.
readings = st.one_of(plausible_readings(), plausible_readings(), raw_readings())


@st.composite
def threshold_sets(draw: st.DrawFn) -> ThresholdSet:
    """The clinic's defaults or a patient's own, consistent, plausible set."""
    base = ThresholdSet.clinic_default(CONFIG)
    if draw(st.booleans()):
        return base
    try:
        limits = replace(
            base,
            systolic_ceiling=draw(st.floats(120, 220)),
            diastolic_ceiling=draw(st.floats(70, 130)),
            hypotension_floor=draw(st.floats(60, 110)),
            mean_floor=draw(st.floats(45, 80)),
            systolic_fall_pct=draw(st.floats(5, 40)),
            mean_fall_pct=draw(st.floats(5, 40)),
        )
    except ThresholdError:
        assume(False)
        raise  # unreachable: assume(False) stops the example
    limits.check_possible(CONFIG)
    return limits.confirm("Dr Okafor", T0)


@st.composite
def bands(draw: st.DrawFn) -> ExpectedRiseBand | None:
    """No band (before a baseline is confirmed) or a plausible baseline's band."""
    if draw(st.booleans()):
        return None
    systolic = draw(st.floats(90, 175))
    diastolic = draw(st.floats(50, systolic - 10))
    mean = draw(st.one_of(st.none(), st.floats(diastolic, systolic)))
    return ExpectedRiseBand(systolic, diastolic, CONFIG.band.low_factor, CONFIG.band.high_factor, mean)


def _judgeable(r: NibpReading) -> bool:
    """The oracle for MON-6/THR-8: valid, both pressures possible, diastolic below systolic."""
    s, d = r.systolic, r.diastolic
    return (
        r.quality is Quality.VALID
        and s is not None
        and d is not None
        and _SYS_LOW <= s <= _SYS_HIGH
        and _DIA_LOW <= d <= _DIA_HIGH
        and d < s
    )


@st.composite
def cases(draw: st.DrawFn) -> tuple[NibpReading, ThresholdSet, ExpectedRiseBand | None]:
    """A reading, the limits in force and a band: unrelated, or a baseline the reading sits near
    (so the band's edges and the falls from it are reached as often as the limits)."""
    reading = draw(readings)
    limits = draw(threshold_sets())
    band = draw(bands())
    s, d = reading.systolic, reading.diastolic
    if _judgeable(reading) and draw(st.booleans()):
        assert s is not None and d is not None
        base_s = s / draw(st.floats(0.7, 1.45))
        base_d = d / draw(st.floats(0.7, 1.45))
        assume(base_d < base_s)
        mean = draw(st.one_of(st.none(), st.floats(base_d, base_s)))
        band = ExpectedRiseBand(base_s, base_d, CONFIG.band.low_factor, CONFIG.band.high_factor, mean)
    return reading, limits, band


@pytest.mark.req("THR-4")
@pytest.mark.req("THR-7")
@SETTINGS
@given(cases())
def test_the_label_never_contradicts_the_alarm(
    case: tuple[NibpReading, ThresholdSet, ExpectedRiseBand | None],
) -> None:
    """Finding 5: for any reading, the class is alarming iff a BP alarm is raised, and the label
    says the class: past a ceiling is never "expected rise", below a floor never "at baseline"."""
    reading, limits, band = case
    j = judge_nibp(reading, limits, band, CONFIG)
    assert j.reading_class.alarming == (j.bp_high is not None or j.bp_low is not None)
    assert (j.offered_protocol is not None) == (j.bp_high is not None)
    assert j.meaningful_spike == (j.bp_high is not None)
    words = {
        ReadingClass.PAST_CEILING: "past ceiling ",
        ReadingClass.ABOVE_EXPECTED: "above expected rise",
        ReadingClass.EXPECTED_RISE: "expected rise",
        ReadingClass.AT_BASELINE: "at baseline",
        ReadingClass.FALL_FROM_BASELINE: "fall from baseline (-",
        ReadingClass.BELOW_FLOOR: "below floor (",
        ReadingClass.WITHIN_LIMITS: "within ",
        ReadingClass.NOT_JUDGED: "not judged: ",
    }
    assert j.label.startswith(words[j.reading_class])
    if j.bp_high is AlarmPriority.HIGH:
        assert j.reading_class is ReadingClass.PAST_CEILING
    elif j.bp_low is AlarmPriority.HIGH:
        assert j.reading_class is ReadingClass.BELOW_FLOOR
    if band is None:
        assert j.reading_class in (
            ReadingClass.WITHIN_LIMITS,
            ReadingClass.PAST_CEILING,
            ReadingClass.BELOW_FLOOR,
            ReadingClass.NOT_JUDGED,
        )


@pytest.mark.req("THR-7")
@pytest.mark.req("THR-8")
@SETTINGS
@given(cases())
def test_every_crossing_alarms_at_its_priority(
    case: tuple[NibpReading, ThresholdSet, ExpectedRiseBand | None],
) -> None:
    """Findings 6 and 7: past a ceiling -> BP high HIGH; below the systolic or mean floor -> BP low
    HIGH; a fall of more than the allowed percentage -> BP low at least MEDIUM; only judgeable
    readings are judged, in every phase (with or without a band)."""
    reading, limits, band = case
    j = judge_nibp(reading, limits, band, CONFIG)
    event(f"class {j.reading_class.value}")
    assert j.judged == _judgeable(reading)
    if not j.judged:
        assert j.bp_high is None and j.bp_low is None and j.reading_class is ReadingClass.NOT_JUDGED
        return
    s, d = reading.systolic, reading.diastolic
    assert s is not None and d is not None and j.mean is not None
    mean_ok = reading.mean is not None and d <= reading.mean <= s and 25 <= reading.mean <= 250
    assert j.mean_calculated == (not mean_ok)
    assert j.mean == (reading.mean if mean_ok else pytest.approx(d + (s - d) / 3))
    past = s > limits.systolic_ceiling or d > limits.diastolic_ceiling
    below = s < limits.hypotension_floor or j.mean < limits.mean_floor
    assert (j.bp_high is AlarmPriority.HIGH) == past
    assert (j.bp_low is AlarmPriority.HIGH) == below
    if band is not None:
        mean_base = band.baseline_mean if band.baseline_mean is not None else band.mean_reference[0]
        margin = 1e-6  # away from the exact edge, where float rounding may go either way
        fell = s < band.baseline_systolic * (1 - limits.systolic_fall_pct / 100) - margin or (
            j.mean < mean_base * (1 - limits.mean_fall_pct / 100) - margin
        )
        if fell:
            assert j.bp_low is not None
        above = s > band.systolic_limits[1] + margin or d > band.diastolic_limits[1] + margin
        if above:
            assert j.bp_high is not None
        inside = (
            band.systolic_limits[0] + margin <= s <= band.systolic_limits[1] - margin
            and band.diastolic_limits[0] + margin <= d <= band.diastolic_limits[1] - margin
        )
        if inside and not past and not below and not fell:
            assert j.reading_class is ReadingClass.EXPECTED_RISE and j.label == "expected rise"
    elif not past and not below:
        assert j.reading_class is ReadingClass.WITHIN_LIMITS


@pytest.mark.req("THR-7")
@SETTINGS
@given(plausible_readings(), threshold_sets(), bands())
def test_a_missing_mean_is_judged_as_the_calculated_mean(
    reading: NibpReading, limits: ThresholdSet, band: ExpectedRiseBand | None
) -> None:
    """Finding 6: a device that sends no mean is judged exactly as if it sent dia + (sys - dia) / 3."""
    s, d = reading.systolic, reading.diastolic
    assert s is not None and d is not None
    without = judge_nibp(replace(reading, mean=None), limits, band, CONFIG)
    with_map = judge_nibp(replace(reading, mean=calculated_mean(s, d)), limits, band, CONFIG)
    assert without.mean_calculated and not with_map.mean_calculated

    def essence(j: NibpJudgement) -> tuple[object, ...]:
        return (j.reading_class, j.label, j.bp_high, j.bp_low, j.below_floor, j.fall_from_baseline)

    assert essence(without) == essence(with_map)


@pytest.mark.req("THR-8")
@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(readings, st.floats(min_value=0, max_value=400)),
        min_size=0,
        max_size=8,
    )
)
def test_a_proposed_baseline_is_always_plausible(stream: list[tuple[NibpReading, float]]) -> None:
    """Finding 7: whatever arrives before the infusion (impossible values, swaps, flags, close or
    far apart), a proposed baseline is made only of plausible readings, has diastolic below
    systolic, agrees within the allowed spread or is the median of at least three, and lies
    inside the clinic's limits."""
    calc = BaselineCalculator(CONFIG)
    t = T0
    offered: list[NibpReading] = []
    for reading, gap_s in stream:
        t += timedelta(seconds=gap_s)
        r = replace(reading, measured_at=t)
        offered.append(r)
        calc.add_nibp(r)
    try:
        b = calc.propose()
    except BaselineNotReadyError:
        return
    used = calc.selected_nibp()
    assert all(_judgeable(r) for r in used)
    assert len(used) >= CONFIG.baseline.min_nibp_readings
    assert b.diastolic < b.systolic
    systolic = [r.systolic for r in used if r.systolic is not None]
    diastolic = [r.diastolic for r in used if r.diastolic is not None]
    assert min(systolic) <= b.systolic <= max(systolic)
    spread = (
        max(systolic) - min(systolic) > CONFIG.baseline.max_systolic_spread_mmhg
        or max(diastolic) - min(diastolic) > CONFIG.baseline.max_diastolic_spread_mmhg
    )
    if spread:
        assert len(used) >= CONFIG.baseline.readings_when_spread
    assert _D.hypotension_floor <= b.systolic <= _D.systolic_ceiling
    assert b.diastolic <= _D.diastolic_ceiling
    for c in b.candidates:
        if c.used:
            assert c.note == ""


@pytest.mark.req("THR-5")
@pytest.mark.req("THR-7")
@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(list(ThresholdField)),
    st.one_of(st.none(), st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(_EDGES)),
)
def test_a_locked_set_stays_whole_and_plausible_whatever_is_typed(
    field: ThresholdField, value: float | None
) -> None:
    """Findings 6 and 7: a change is either refused (and not recorded) or leaves a complete,
    consistent, plausible set; no floor is ever removed."""
    clock = FakeClock()
    book = ThresholdBook(CONFIG, clock)
    book.enter(ThresholdSet.clinic_default(CONFIG))
    book.confirm("Dr Okafor")
    book.lock()
    try:
        book.change(field, value, "bedside change", "Dr Lee")
    except ThresholdError:
        assert book.changes == ()
    else:
        assert value is not None and book.current.value(field) == value
    current = book.current
    current.check_possible(CONFIG)
    assert all(
        isinstance(current.value(f), float | int) and math.isfinite(current.value(f)) for f in ThresholdField
    )
