"""Discharge is blocked, with each reason named, until every DIS-1 criterion holds.

The vital signs judged are readings taken in recovery; a missing baseline value and an
unacknowledged alarm block (issue 8, finding 10).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest

from alarms.baseline import Baseline
from alarms.clinician import UnnamedClinicianError
from alarms.config import load_config
from alarms.discharge import DischargeAttestation, DischargeCriteria, DischargeStatus
from alarms.nibp_reading import NibpReading
from drivers.clock import FakeClock
from drivers.types import Observation, Quality, VitalKind
from tests.alarms.helpers import obs, reading


def confirmed_baseline(clock: FakeClock) -> Baseline:
    return Baseline(120, 80, 93, 98, 72, clock.now(), clock.now()).confirm("Dr Okafor", clock.now())


def attest_all(criteria: DischargeCriteria) -> None:
    for item in DischargeAttestation:
        criteria.attest(item, "RN Diaz")


def evaluate(
    c: DischargeCriteria,
    baseline: Baseline | None,
    nibp: NibpReading | None,
    spo2: Observation | None,
    pulses: Sequence[Observation],
    *,
    recovery_began: datetime | None,
    unacknowledged: Sequence[str] = (),
) -> DischargeStatus:
    return c.evaluate(
        baseline,
        recovery_began=recovery_began,
        nibp=nibp,
        spo2=spo2,
        pulses=pulses,
        unacknowledged=unacknowledged,
    )


@pytest.mark.req("DIS-1")
def test_allowed_when_vitals_at_baseline_and_all_attested(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    began = clock.now()
    status = evaluate(
        c,
        confirmed_baseline(clock),
        reading(clock, 130, 84),
        obs(clock, VitalKind.SPO2, 97),
        [obs(clock, VitalKind.PULSE_RATE, 80)],
        recovery_began=began,
    )
    assert status.allowed and status.unmet == ()


@pytest.mark.req("DIS-1")
def test_every_unmet_reason_is_named(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    c.attest(DischargeAttestation.AMBULATORY_ORIENTED, "RN Diaz")
    status = evaluate(
        c,
        confirmed_baseline(clock),
        reading(clock, 140, 80),
        obs(clock, VitalKind.SPO2, 93),
        [obs(clock, VitalKind.PULSE_RATE, 95)],
        recovery_began=clock.now(),
        unacknowledged=["BP high"],
    )
    assert not status.allowed
    assert status.unmet == (
        "systolic 140 is more than 10 % above baseline 120",
        "SpO2 93 % is below 96 %",
        "pulse 95 /min is more than 15 from baseline 72",
        "unacknowledged alarm: BP high",
        "not attested: nausea controlled",
        "not attested: a sober adult driver present",
    )


@pytest.mark.req("DIS-1")
def test_edges_of_the_tolerances(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    b = confirmed_baseline(clock)
    began = clock.now()
    at_edge = evaluate(
        c,
        b,
        reading(clock, 132, 88),
        obs(clock, VitalKind.SPO2, 96),
        [obs(clock, VitalKind.PULSE_RATE, 87)],
        recovery_began=began,
    )
    assert at_edge.allowed, at_edge.unmet
    low = evaluate(
        c,
        b,
        reading(clock, 95, 63),
        obs(clock, VitalKind.SPO2, 96),
        [obs(clock, VitalKind.PULSE_RATE, 57)],
        recovery_began=began,
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
    began = clock.now()
    old_nibp = reading(clock, 120, 80)
    old_spo2 = obs(clock, VitalKind.SPO2, 98)
    clock.advance(16 * 60)
    status = evaluate(
        c,
        b,
        old_nibp,
        old_spo2,
        [obs(clock, VitalKind.PULSE_RATE, None, Quality.PROBE_OFF)],
        recovery_began=began,
    )
    assert status.unmet == (
        "the last NIBP reading is older than 15 min: measure again",
        "no recent valid SpO2 since recovery began",
        "no recent valid pulse rate or heart rate since recovery began",
    )
    assert evaluate(c, None, None, None, [], recovery_began=began).unmet == (
        "no confirmed baseline to compare the vital signs with",
    )
    assert evaluate(
        c,
        b,
        None,
        obs(clock, VitalKind.SPO2, 98),
        [obs(clock, VitalKind.PULSE_RATE, 72)],
        recovery_began=began,
    ).unmet == ("no valid NIBP reading since recovery began: measure the blood pressure",)
    assert clock.now() - old_nibp.measured_at == timedelta(minutes=16)


@pytest.mark.req("DIS-1")
def test_a_bp_taken_during_the_infusion_does_not_discharge(clock: FakeClock) -> None:
    """Finding 10: a BP taken during the infusion discharged the patient with no reading in recovery."""
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    during_infusion = reading(clock, 122, 80)
    clock.advance(60)
    began = clock.now()  # recovery begins after that reading
    clock.advance(60)
    spo2, pulse = obs(clock, VitalKind.SPO2, 98), obs(clock, VitalKind.PULSE_RATE, 72)
    status = evaluate(c, confirmed_baseline(clock), during_infusion, spo2, [pulse], recovery_began=began)
    assert status.unmet == ("no valid NIBP reading since recovery began: measure the blood pressure",)
    # Oximetry from before recovery does not count either, even when fresh.
    before = evaluate(
        c,
        confirmed_baseline(clock),
        reading(clock, 122, 80),
        obs(clock, VitalKind.SPO2, 98, measured_at=began - timedelta(seconds=1)),
        [obs(clock, VitalKind.PULSE_RATE, 72, measured_at=began - timedelta(seconds=1))],
        recovery_began=began,
    )
    assert before.unmet == (
        "no recent valid SpO2 since recovery began",
        "no recent valid pulse rate or heart rate since recovery began",
    )
    not_yet = evaluate(
        c, confirmed_baseline(clock), reading(clock, 122, 80), spo2, [pulse], recovery_began=None
    )
    assert not not_yet.allowed and "recovery has not begun" in not_yet.unmet[0]


@pytest.mark.req("DIS-1")
def test_a_missing_baseline_value_blocks_with_the_reason(clock: FakeClock) -> None:
    """Finding 10: the pulse check was skipped when the baseline had no pulse."""
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    b = replace(confirmed_baseline(clock), pulse=None, spo2=None)
    status = evaluate(
        c,
        b,
        reading(clock, 120, 80),
        obs(clock, VitalKind.SPO2, 98),
        [obs(clock, VitalKind.PULSE_RATE, 150)],
        recovery_began=clock.now(),
    )
    assert status.unmet == (
        "the baseline has no SpO2 value to compare with",
        "the baseline has no pulse value to compare with",
    )


@pytest.mark.req("DIS-1")
def test_unacknowledged_alarms_block_each_named(clock: FakeClock) -> None:
    """Finding 10: an unacknowledged HIGH alarm did not block discharge."""
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    vitals = (
        reading(clock, 120, 80),
        obs(clock, VitalKind.SPO2, 98),
        [obs(clock, VitalKind.PULSE_RATE, 72)],
    )
    status = evaluate(
        c,
        confirmed_baseline(clock),
        *vitals,
        recovery_began=clock.now(),
        unacknowledged=["SpO2 low", "BP high"],
    )
    assert status.unmet == ("unacknowledged alarm: SpO2 low", "unacknowledged alarm: BP high")
    assert evaluate(c, confirmed_baseline(clock), *vitals, recovery_began=clock.now()).allowed


@pytest.mark.req("DIS-1")
def test_pulse_rate_and_heart_rate_are_each_judged(clock: FakeClock) -> None:
    """Finding 10: pulse judged from a pulse-rate or heart-rate observation; each within tolerance."""
    c = DischargeCriteria(load_config(), clock)
    attest_all(c)
    b = confirmed_baseline(clock)
    nibp, spo2 = reading(clock, 120, 80), obs(clock, VitalKind.SPO2, 98)
    hr_only = evaluate(
        c, b, nibp, spo2, [obs(clock, VitalKind.HEART_RATE, 74, source="ecg")], recovery_began=clock.now()
    )
    assert hr_only.allowed
    both = evaluate(
        c,
        b,
        nibp,
        spo2,
        [obs(clock, VitalKind.PULSE_RATE, 74), obs(clock, VitalKind.HEART_RATE, 110, source="ecg")],
        recovery_began=clock.now(),
    )
    assert both.unmet == ("heart rate 110 /min is more than 15 from baseline 72",)


@pytest.mark.req("DIS-1")
def test_attestations_are_named_and_can_be_withdrawn(clock: FakeClock) -> None:
    c = DischargeCriteria(load_config(), clock)
    with pytest.raises(UnnamedClinicianError):
        c.attest(DischargeAttestation.SOBER_DRIVER_PRESENT, "")
    record = c.attest(DischargeAttestation.NAUSEA_CONTROLLED, "RN Diaz")
    assert (record.by, record.at) == ("RN Diaz", clock.now())
    c.withdraw(DischargeAttestation.NAUSEA_CONTROLLED)
    assert c.attestations == ()
