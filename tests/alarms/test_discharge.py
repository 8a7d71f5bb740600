"""Discharge is blocked, with each reason named, until every DIS-1 criterion holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from alarms.baseline import Baseline
from alarms.clinician import UnnamedClinicianError
from alarms.config import load_config
from alarms.discharge import DischargeAttestation, DischargeCriteria
from drivers.clock import FakeClock
from drivers.types import Quality, VitalKind
from tests.alarms.helpers import obs, reading


def confirmed_baseline(clock: FakeClock) -> Baseline:
    return Baseline(120, 80, 93, 98, 72, clock.now(), clock.now()).confirm("Dr Okafor", clock.now())


def attest_all(criteria: DischargeCriteria) -> None:
    for item in DischargeAttestation:
        criteria.attest(item, "RN Diaz")


@pytest.mark.req("DIS-1")
def test_allowed_when_vitals_at_baseline_and_all_attested(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    status = c.evaluate(
        confirmed_baseline(clock),
        reading(clock, 130, 84),
        obs(clock, VitalKind.SPO2, 97),
        obs(clock, VitalKind.PULSE_RATE, 80),
    )
    assert status.allowed and status.unmet == ()


@pytest.mark.req("DIS-1")
def test_every_unmet_reason_is_named(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    c.attest(DischargeAttestation.AMBULATORY_ORIENTED, "RN Diaz")
    status = c.evaluate(
        confirmed_baseline(clock),
        reading(clock, 140, 80),
        obs(clock, VitalKind.SPO2, 93),
        obs(clock, VitalKind.PULSE_RATE, 95),
    )
    assert not status.allowed
    assert status.unmet == (
        "systolic 140 is more than 10 % above baseline 120",
        "SpO2 93 % is below 96 %",
        "pulse 95 /min is more than 15 from baseline 72",
        "not attested: nausea controlled",
        "not attested: a sober adult driver present",
    )


@pytest.mark.req("DIS-1")
def test_edges_of_the_tolerances(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    b = confirmed_baseline(clock)
    at_edge = c.evaluate(
        b, reading(clock, 132, 88), obs(clock, VitalKind.SPO2, 96), obs(clock, VitalKind.PULSE_RATE, 87)
    )
    assert at_edge.allowed, at_edge.unmet
    low = c.evaluate(
        b, reading(clock, 95, 63), obs(clock, VitalKind.SPO2, 96), obs(clock, VitalKind.PULSE_RATE, 57)
    )
    assert low.unmet == (
        "systolic 95 is more than 20 % below baseline 120",
        "diastolic 63 is more than 20 % below baseline 80",
    )


@pytest.mark.req("DIS-1")
def test_missing_stale_or_invalid_data_blocks(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    b = confirmed_baseline(clock)
    old_nibp = reading(clock, 120, 80)
    old_spo2 = obs(clock, VitalKind.SPO2, 98)
    clock.advance(16 * 60)
    status = c.evaluate(b, old_nibp, old_spo2, obs(clock, VitalKind.PULSE_RATE, None, Quality.PROBE_OFF))
    assert status.unmet == (
        "the last NIBP reading is older than 15 min: measure again",
        "no recent valid SpO2",
        "no recent valid pulse rate",
    )
    assert c.evaluate(None, None, None, None).unmet == (
        "no confirmed baseline to compare the vital signs with",
    )
    assert c.evaluate(
        b, None, obs(clock, VitalKind.SPO2, 98), obs(clock, VitalKind.PULSE_RATE, 72)
    ).unmet == ("no valid NIBP reading since recovery began: measure the blood pressure",)
    assert clock.now() - old_nibp.measured_at == timedelta(minutes=16)


@pytest.mark.req("DIS-1")
def test_attestations_are_named_and_can_be_withdrawn(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    with pytest.raises(UnnamedClinicianError):
        c.attest(DischargeAttestation.SOBER_DRIVER_PRESENT, "")
    record = c.attest(DischargeAttestation.NAUSEA_CONTROLLED, "RN Diaz")
    assert (record.by, record.at) == ("RN Diaz", clock.now())
    c.withdraw(DischargeAttestation.NAUSEA_CONTROLLED)
    assert c.attestations == ()
