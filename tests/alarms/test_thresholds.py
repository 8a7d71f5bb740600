"""Threshold sets, their lock at infusion, recorded changes and NIBP judgement (THR-1, THR-4, THR-5)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from alarms.band import BpClass, ExpectedRiseBand
from alarms.clinician import UnnamedClinicianError
from alarms.config import ClinicalConfig, load_config
from alarms.nibp_reading import NibpReading
from alarms.thresholds import (
    ThresholdBook,
    ThresholdChange,
    ThresholdError,
    ThresholdField,
    ThresholdSet,
    ThresholdsLockedError,
    ThresholdsNotSetError,
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
