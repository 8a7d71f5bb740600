"""Threshold sets, their lock at infusion, recorded changes and NIBP judgement (THR-1, THR-4, THR-5)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from alarms.band import BpClass, ExpectedRiseBand
from alarms.clinician import UnnamedClinicianError
from alarms.config import ClinicalConfig, ConfigError, load_config
from alarms.nibp_reading import NibpReading
from alarms.priority import AlarmPriority
from alarms.thresholds import (
    ReadingClass,
    ThresholdBook,
    ThresholdChange,
    ThresholdError,
    ThresholdField,
    ThresholdSet,
    ThresholdsLockedError,
    ThresholdsNotSetError,
    judge_nibp,
)
from drivers.clock import FakeClock
from drivers.types import Quality
from tests.alarms.helpers import reading


@pytest.fixture
def config() -> ClinicalConfig:
    return load_config()


def patient_set() -> ThresholdSet:
    return ThresholdSet(170, 105, 92, 50, 120, 90, 65, 20, 20)


BAND = ExpectedRiseBand(120, 80, 1.15, 1.30)


@pytest.mark.req("THR-1")
def test_clinic_default_set_is_unconfirmed(config: ClinicalConfig) -> None:
    s = ThresholdSet.clinic_default(config)
    assert s.systolic_ceiling == 180 and s.spo2_floor == 90
    assert not s.is_confirmed


@pytest.mark.req("THR-1")
def test_confirm_needs_a_named_clinician(config: ClinicalConfig, clock: FakeClock) -> None:
    book = ThresholdBook(config, clock)
    book.enter(patient_set())
    assert not book.has_confirmed_set
    with pytest.raises(UnnamedClinicianError):
        book.confirm("  ")
    confirmed = book.confirm("Dr Okafor")
    assert confirmed.confirmed_by == "Dr Okafor" and confirmed.confirmed_at == clock.now()
    assert book.has_confirmed_set


@pytest.mark.req("THR-1")
def test_lock_refuses_an_unconfirmed_set(config: ClinicalConfig, clock: FakeClock) -> None:
    book = ThresholdBook(config, clock)
    with pytest.raises(ThresholdsNotSetError):
        book.lock()
    book.enter(patient_set())
    with pytest.raises(ThresholdsNotSetError, match="confirmed"):
        book.lock()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"pulse_floor": 130},
        {"diastolic_ceiling": 175},
        {"spo2_floor": 0},
        {"hypotension_floor": 175},
    ],
)
def test_inconsistent_sets_are_rejected(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ThresholdError):
        replace(patient_set(), **kwargs)


@pytest.mark.req("THR-5")
def test_locked_set_changes_only_with_reason_and_clinician(config: ClinicalConfig, clock: FakeClock) -> None:
    book = ThresholdBook(config, clock)
    book.enter(patient_set())
    book.confirm("Dr Okafor")
    book.lock()
    clock.advance(600)
    with pytest.raises(ThresholdsLockedError):
        book.enter(patient_set())
    with pytest.raises(ThresholdError, match="reason"):
        book.change(ThresholdField.SYSTOLIC_CEILING, 175, "  ", "Dr Okafor")
    with pytest.raises(UnnamedClinicianError):
        book.change(ThresholdField.SYSTOLIC_CEILING, 175, "known hypertensive", "")
    record = book.change(ThresholdField.SYSTOLIC_CEILING, 175, "known hypertensive", "Dr Lee")
    assert record == ThresholdChange(
        "Dr Lee", clock.now(), ThresholdField.SYSTOLIC_CEILING, 170, 175, "known hypertensive"
    )
    assert book.changes == (record,)
    assert book.current.systolic_ceiling == 175
    assert book.current.confirmed_by == "Dr Lee"


@pytest.mark.req("THR-5")
def test_a_change_that_breaks_the_set_is_refused_and_not_recorded(
    config: ClinicalConfig, clock: FakeClock
) -> None:
    book = ThresholdBook(config, clock)
    book.enter(patient_set())
    book.confirm("Dr Okafor")
    book.lock()
    with pytest.raises(ThresholdError):
        book.change(ThresholdField.PULSE_FLOOR, 125, "typo", "Dr Lee")
    assert book.changes == ()
    assert book.current.pulse_floor == 50


@pytest.mark.req("THR-4")
def test_expected_rise_is_not_a_spike(config: ClinicalConfig, clock: FakeClock) -> None:
    book = ThresholdBook(config, clock)
    book.enter(patient_set())
    book.confirm("Dr Okafor")
    j = book.judge_nibp(reading(clock, 144, 96), BAND)
    assert j.judged and j.band_class is BpClass.EXPECTED_RISE
    assert not j.meaningful_spike and j.offered_protocol is None
    assert j.summary() == "NIBP 144/96: expected rise"


@pytest.mark.req("THR-4")
def test_above_band_is_a_spike_offering_bp_spike(config: ClinicalConfig, clock: FakeClock) -> None:
    book = ThresholdBook(config, clock)
    book.enter(patient_set())
    j = book.judge_nibp(reading(clock, 160, 95), BAND)
    assert j.systolic_class is BpClass.ABOVE_EXPECTED and j.diastolic_class is BpClass.EXPECTED_RISE
    assert j.meaningful_spike and j.offered_protocol == "bp-spike"
    assert j.past_threshold == ()


@pytest.mark.req("THR-4")
def test_past_own_threshold_is_a_spike_even_inside_the_band(config: ClinicalConfig, clock: FakeClock) -> None:
    book = ThresholdBook(config, clock)
    book.enter(replace(patient_set(), systolic_ceiling=150))
    book.confirm("Dr Okafor")
    j = book.judge_nibp(reading(clock, 152, 90), BAND)
    assert j.band_class is BpClass.EXPECTED_RISE
    assert j.past_threshold == ("systolic ceiling 150",)
    assert j.meaningful_spike and j.offered_protocol == "bp-spike"


def test_below_hypotension_floor_is_flagged(config: ClinicalConfig, clock: FakeClock) -> None:
    book = ThresholdBook(config, clock)
    book.enter(patient_set())
    book.confirm("Dr Okafor")
    j = book.judge_nibp(reading(clock, 85, 50), BAND)
    assert j.below_hypotension_floor and not j.meaningful_spike


@pytest.mark.req("MON-6")
def test_invalid_or_impossible_readings_are_not_judged(config: ClinicalConfig, clock: FakeClock) -> None:
    book = ThresholdBook(config, clock)
    book.enter(patient_set())
    cuff = NibpReading(None, None, None, clock.now(), "nibp", Quality.CUFF_ERROR)
    j = book.judge_nibp(cuff, BAND)
    assert not j.judged and not j.meaningful_spike and j.not_judged_reason == "cuff error"
    impossible = book.judge_nibp(reading(clock, 350, 90), BAND)
    assert not impossible.judged and "possible range" in impossible.not_judged_reason
    assert impossible.offered_protocol is None


# -- issue 8: the judgement is whole (finding 5), low pressure is watched (6), every phase (7) --------


def confirmed_book(
    config: ClinicalConfig, clock: FakeClock, limits: ThresholdSet | None = None
) -> ThresholdBook:
    book = ThresholdBook(config, clock)
    book.enter(limits or patient_set())
    book.confirm("Dr Okafor")
    return book


BAND_WITH_MEAN = ExpectedRiseBand(120, 80, 1.15, 1.30, baseline_mean=93)


@pytest.mark.req("THR-4")
def test_past_the_ceiling_is_labelled_past_the_ceiling_not_expected_rise(
    config: ClinicalConfig, clock: FakeClock
) -> None:
    """Finding 5: 152/90 past the patient's ceiling was labelled "expected rise" while HIGH sounded."""
    book = confirmed_book(config, clock, replace(patient_set(), systolic_ceiling=150, diastolic_ceiling=95))
    j = book.judge_nibp(reading(clock, 152, 90), BAND_WITH_MEAN)
    assert j.band_class is BpClass.EXPECTED_RISE  # the band alone would say "expected rise"
    assert j.reading_class is ReadingClass.PAST_CEILING and j.reading_class.alarming
    assert j.label == "past ceiling 150/95"
    assert j.bp_high is AlarmPriority.HIGH and j.bp_low is None
    assert j.summary() == "NIBP 152/90: past ceiling 150/95"


@pytest.mark.req("THR-7")
def test_below_the_floor_is_labelled_below_the_floor_not_at_baseline(
    config: ClinicalConfig, clock: FakeClock
) -> None:
    """Finding 5: 70/40 was "at baseline" in green while BP low alarmed."""
    j = confirmed_book(config, clock).judge_nibp(reading(clock, 70, 40, 50), BAND_WITH_MEAN)
    assert j.band_class is BpClass.AT_BASELINE  # the band alone would say "at baseline"
    assert j.reading_class is ReadingClass.BELOW_FLOOR
    assert j.label == "below floor (systolic 90, mean 65)"
    assert j.bp_low is AlarmPriority.HIGH and j.bp_high is None
    assert "fall from baseline" in j.summary()  # everything crossed is said, the worst first


@pytest.mark.req("THR-7")
def test_a_27_percent_fall_alarms_medium_and_says_so(config: ClinicalConfig, clock: FakeClock) -> None:
    """Finding 6: a 27 % fall to 88/60 above every floor was silent and labelled "at baseline"."""
    j = confirmed_book(config, clock, replace(patient_set(), hypotension_floor=85)).judge_nibp(
        reading(clock, 88, 60, 70), BAND_WITH_MEAN
    )
    assert j.reading_class is ReadingClass.FALL_FROM_BASELINE
    assert j.label == "fall from baseline (-27 %)"
    assert j.bp_low is AlarmPriority.MEDIUM and j.bp_high is None
    assert j.fall_from_baseline == ("systolic -27 % (allowed 20 %)", "mean -25 % (allowed 20 %)")


@pytest.mark.req("THR-7")
def test_88_45_falls_below_the_mean_floor_high(config: ClinicalConfig, clock: FakeClock) -> None:
    """Finding 6: 88/45 (mean 59) is below the mean floor of 65: BP low, HIGH."""
    j = confirmed_book(config, clock, replace(patient_set(), hypotension_floor=85)).judge_nibp(
        reading(clock, 88, 45), BAND_WITH_MEAN
    )
    assert j.reading_class is ReadingClass.BELOW_FLOOR and j.label == "below floor (mean 65)"
    assert j.bp_low is AlarmPriority.HIGH


@pytest.mark.req("THR-7")
@pytest.mark.parametrize(
    ("systolic", "expected"),
    [(96.0, None), (95.9, AlarmPriority.MEDIUM)],  # 120 - 20 % = 96: exactly 20 % is not "more than"
)
def test_edge_of_the_systolic_fall(
    config: ClinicalConfig, clock: FakeClock, systolic: float, expected: AlarmPriority | None
) -> None:
    """Finding 6: a systolic fall of more than 20 % alarms; the mean here stays inside its limits."""
    book = confirmed_book(config, clock, replace(patient_set(), hypotension_floor=85))
    j = book.judge_nibp(reading(clock, systolic, 70, 85), BAND_WITH_MEAN)
    assert j.bp_low is expected


@pytest.mark.req("THR-7")
def test_mean_fall_is_judged_against_the_baseline_mean(config: ClinicalConfig, clock: FakeClock) -> None:
    """Finding 6: mean pressure was never judged; a mean fall alone alarms, MEDIUM."""
    book = confirmed_book(config, clock, replace(patient_set(), hypotension_floor=85))
    j = book.judge_nibp(reading(clock, 110, 62, 72), BAND_WITH_MEAN)  # systolic -8 %, mean -23 %
    assert j.bp_low is AlarmPriority.MEDIUM and j.fall_from_baseline == ("mean -23 % (allowed 20 %)",)


@pytest.mark.req("THR-7")
def test_without_a_mean_from_the_device_the_calculated_mean_is_judged_and_said(
    config: ClinicalConfig, clock: FakeClock
) -> None:
    """Finding 6: a device that sends no mean: MAP = dia + (sys - dia) / 3, and the summary says so."""
    book = confirmed_book(config, clock, replace(patient_set(), hypotension_floor=85))
    no_mean = NibpReading(95, 48, None, clock.now(), "nibp")
    j = book.judge_nibp(no_mean, None)
    assert j.mean == pytest.approx(48 + 47 / 3) and j.mean_calculated
    assert j.bp_low is AlarmPriority.HIGH and j.label == "below floor (mean 65)"
    assert j.summary().endswith("mean 64 calculated (no plausible mean from the device)")
    # A band without a baseline mean judges the fall against the calculated baseline mean.
    band = ExpectedRiseBand(120, 80, 1.15, 1.30)
    assert band.mean_reference == (pytest.approx(280 / 3), True)


@pytest.mark.req("THR-7")
def test_a_garbled_device_mean_neither_raises_nor_silences(config: ClinicalConfig, clock: FakeClock) -> None:
    """A mean outside diastolic..systolic is not trusted: the calculated mean is judged instead."""
    book = confirmed_book(config, clock, replace(patient_set(), hypotension_floor=85))
    silencing = book.judge_nibp(NibpReading(95, 45, 97, clock.now(), "nibp"), None)  # MAP 62
    assert silencing.mean_calculated and silencing.bp_low is AlarmPriority.HIGH
    alarming = book.judge_nibp(NibpReading(130, 80, 30, clock.now(), "nibp"), None)
    assert alarming.mean_calculated and alarming.bp_low is None


@pytest.mark.req("THR-7")
@pytest.mark.req("THR-5")
@pytest.mark.parametrize("field", list(ThresholdField))
def test_no_threshold_can_be_removed_during_the_infusion(
    config: ClinicalConfig, clock: FakeClock, field: ThresholdField
) -> None:
    """Finding 6: the floor could be removed mid-infusion (change to None), then 62/35 was silent."""
    book = confirmed_book(config, clock)
    book.lock()
    with pytest.raises(ThresholdError, match="cannot be removed"):
        book.change(field, None, "patient is fine", "Dr Lee")
    assert book.changes == ()
    j = book.judge_nibp(reading(clock, 62, 35), BAND_WITH_MEAN)
    assert j.bp_low is AlarmPriority.HIGH


@pytest.mark.req("THR-7")
@pytest.mark.req("THR-5")
def test_floors_are_changed_with_a_reason_and_recorded(config: ClinicalConfig, clock: FakeClock) -> None:
    book = confirmed_book(config, clock)
    book.lock()
    record = book.change(ThresholdField.MEAN_FLOOR, 60, "chronic low pressure, asymptomatic", "Dr Lee")
    assert (record.field, record.old, record.new) == (ThresholdField.MEAN_FLOOR, 65, 60)
    book.change(ThresholdField.SYSTOLIC_FALL_PCT, 25, "labile pressure", "Dr Lee")
    assert book.current.mean_floor == 60 and book.current.systolic_fall_pct == 25
    assert [c.field for c in book.changes] == [ThresholdField.MEAN_FLOOR, ThresholdField.SYSTOLIC_FALL_PCT]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"mean_floor": 0},
        {"mean_floor": 175},
        {"hypotension_floor": 0},
        {"systolic_fall_pct": 0},
        {"mean_fall_pct": 100},
        {"systolic_ceiling": float("nan")},
        {"hypotension_floor": None},
    ],
)
def test_new_values_must_be_consistent(kwargs: dict[str, Any]) -> None:
    """Finding 6: every floor and fall percentage is a required, sensible number."""
    with pytest.raises(ThresholdError):
        replace(patient_set(), **kwargs)


@pytest.mark.req("THR-8")
def test_a_reading_before_the_baseline_is_judged_against_the_clinic_limits(
    config: ClinicalConfig, clock: FakeClock
) -> None:
    """Finding 7: 215/125 before the infusion raised no alarm."""
    book = ThresholdBook(config, clock)  # nothing entered yet: the clinic's defaults judge
    high = book.judge_nibp(reading(clock, 215, 125))
    assert high.reading_class is ReadingClass.PAST_CEILING and high.label == "past ceiling 180/110"
    assert high.bp_high is AlarmPriority.HIGH and high.offered_protocol == "bp-spike"
    normal = book.judge_nibp(reading(clock, 124, 80))
    assert normal.reading_class is ReadingClass.WITHIN_LIMITS
    assert normal.label == "within clinic limits (no baseline yet)"
    assert normal.bp_high is None and normal.bp_low is None
    low = judge_nibp(reading(clock, 80, 50), ThresholdSet.clinic_default(config), None, config)
    assert low.reading_class is ReadingClass.BELOW_FLOOR and low.bp_low is AlarmPriority.HIGH
    # Once the patient's own set is confirmed, it is the limit (still no baseline).
    book.enter(replace(patient_set(), systolic_ceiling=150))
    assert book.judge_nibp(reading(clock, 160, 90)).bp_high is None  # entered, not yet confirmed
    book.confirm("Dr Okafor")
    own = book.judge_nibp(reading(clock, 160, 90))
    assert own.bp_high is AlarmPriority.HIGH and own.label == "past ceiling 150/105"
    assert book.judge_nibp(reading(clock, 124, 80)).label == "within the patient's limits (no baseline yet)"


@pytest.mark.req("THR-8")
@pytest.mark.parametrize(
    ("values", "reason"),
    [
        ((80, 120, 93), "diastolic 120 is not below systolic 80"),
        ((120, 120, 120), "diastolic 120 is not below systolic 120"),
        ((320, 90, 160), "systolic 320 is outside the possible range 40-300 mmHg"),
        ((120, 10, 50), "diastolic 10 is outside the possible range 20-200 mmHg"),
    ],
)
def test_implausible_readings_are_not_judged_and_say_why(
    config: ClinicalConfig, clock: FakeClock, values: tuple[float, float, float], reason: str
) -> None:
    j = confirmed_book(config, clock).judge_nibp(reading(clock, *values), BAND_WITH_MEAN)
    assert not j.judged and j.reading_class is ReadingClass.NOT_JUDGED
    assert j.not_judged_reason == reason and j.label == f"not judged: {reason}"
    assert j.bp_high is None and j.bp_low is None and j.offered_protocol is None


@pytest.mark.req("THR-8")
@pytest.mark.parametrize(
    ("field", "value"),
    [
        (ThresholdField.SYSTOLIC_CEILING, 1300),
        (ThresholdField.PULSE_FLOOR, 5),
        (ThresholdField.PULSE_CEILING, 900),
        (ThresholdField.HYPOTENSION_FLOOR, 5),
        (ThresholdField.MEAN_FLOOR, 10),
    ],
)
def test_implausible_thresholds_are_refused_when_entered_or_changed(
    config: ClinicalConfig, clock: FakeClock, field: ThresholdField, value: float
) -> None:
    """Finding 7: a threshold set is checked against the possible ranges (a ceiling of 1300 is a typo)."""
    book = ThresholdBook(config, clock)
    with pytest.raises(ThresholdError, match="not plausible"):
        book.enter(replace(patient_set(), **{field.value: value}))
    book.enter(patient_set())
    book.confirm("Dr Okafor")
    book.lock()
    with pytest.raises(ThresholdError, match="not plausible"):
        book.change(field, value, "typo test", "Dr Lee")
    assert book.changes == () and book.current == replace(
        patient_set(), confirmed_by="Dr Okafor", confirmed_at=clock.now()
    )


@pytest.mark.req("THR-8")
def test_clinic_default_thresholds_outside_the_possible_ranges_are_a_config_error(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("default_thresholds:\n  systolic_ceiling: 1300\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"default_thresholds.systolic_ceiling 1300 is outside"):
        load_config(clinic)


@pytest.mark.req("THR-7")
@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("default_thresholds:\n  hypotension_floor: null\n", "hypotension_floor"),
        ("default_thresholds:\n  mean_fall_pct: 100\n", "mean_fall_pct"),
        ("baseline:\n  readings_when_spread: 2\n", "readings_when_spread"),
    ],
)
def test_a_clinic_cannot_configure_a_floor_away(tmp_path: Path, text: str, match: str) -> None:
    """Finding 6: the clinic default floor was "null for none"; every floor and rule is required."""
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=match):
        load_config(clinic)


def test_the_spo2_critical_floor_has_one_home(config: ClinicalConfig) -> None:
    """Finding 14: min(spo2.high_priority_below, spo2_floor) was written in the app and the alarm system."""
    assert config.spo2.high_priority_below == 85
    assert replace(patient_set(), spo2_floor=92).spo2_critical_floor(config) == 85
    assert replace(patient_set(), spo2_floor=80).spo2_critical_floor(config) == 80
