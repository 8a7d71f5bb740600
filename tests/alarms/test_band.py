"""The expected-rise band classifies SBP/DBP against baseline x 1.15 .. x 1.30 (THR-3, THR-4)."""

from __future__ import annotations

import pytest

from alarms.band import BpClass, ExpectedRiseBand


def band(sbp: float = 120, dbp: float = 80) -> ExpectedRiseBand:
    return ExpectedRiseBand(sbp, dbp, 1.15, 1.30)


@pytest.mark.req("THR-3")
@pytest.mark.parametrize("baseline", [100, 110, 117, 120, 123, 130, 140, 150, 160])
def test_edges_exactly_at_the_factors_are_expected_rise(baseline: float) -> None:
    b = ExpectedRiseBand(baseline, baseline * 0.6, 1.15, 1.30)
    low, high = b.systolic_limits
    assert b.classify_systolic(round(baseline * 1.15, 6)) is BpClass.EXPECTED_RISE
    assert b.classify_systolic(round(baseline * 1.30, 6)) is BpClass.EXPECTED_RISE
    assert b.classify_systolic(low - 0.01) is BpClass.AT_BASELINE
    assert b.classify_systolic(high + 0.01) is BpClass.ABOVE_EXPECTED


@pytest.mark.req("THR-3")
def test_classes_on_a_120_80_baseline() -> None:
    b = band()
    assert b.systolic_limits == pytest.approx((138.0, 156.0))
    assert b.diastolic_limits == pytest.approx((92.0, 104.0))
    assert b.classify_systolic(120) is BpClass.AT_BASELINE
    assert b.classify_systolic(137) is BpClass.AT_BASELINE
    assert b.classify_systolic(138) is BpClass.EXPECTED_RISE
    assert b.classify_systolic(144) is BpClass.EXPECTED_RISE  # +20 %
    assert b.classify_systolic(156) is BpClass.EXPECTED_RISE
    assert b.classify_systolic(157) is BpClass.ABOVE_EXPECTED
    assert b.classify_systolic(90) is BpClass.AT_BASELINE  # below baseline: the hypotension floor judges it


@pytest.mark.req("THR-4")
def test_overall_is_the_worse_of_systolic_and_diastolic() -> None:
    b = band()
    c = b.classify(130, 105)
    assert (c.systolic, c.diastolic, c.overall) == (
        BpClass.AT_BASELINE,
        BpClass.ABOVE_EXPECTED,
        BpClass.ABOVE_EXPECTED,
    )
    assert b.classify(144, 96).overall is BpClass.EXPECTED_RISE


def test_labels_are_clinic_words() -> None:
    assert [c.label for c in BpClass] == ["at baseline", "expected rise", "above expected"]
