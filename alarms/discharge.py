"""Discharge criteria: vitals back at baseline from the data, and three attested criteria (DIS-1).

The vital signs judged are readings taken in recovery (measured at or after recovery began), fresh
and valid; a baseline value missing for a vital sign blocks (nothing to compare with); every
unacknowledged alarm blocks, each named.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alarms.baseline import Baseline
from alarms.clinician import require_clinician
from alarms.config import ClinicalConfig
from alarms.freshness import measured_age_s
from alarms.nibp_reading import NibpReading, implausibility
from drivers.clock import Clock
from drivers.types import Observation, VitalKind

log = logging.getLogger(__name__)


class DischargeAttestation(enum.StrEnum):
    """Criteria a clinician attests at the bedside."""

    AMBULATORY_ORIENTED = "ambulatory_oriented"
    NAUSEA_CONTROLLED = "nausea_controlled"
    SOBER_DRIVER_PRESENT = "sober_driver_present"

    @property
    def words(self) -> str:
        """The criterion as a clinician reads it."""
        return _WORDS[self]


_WORDS = {
    DischargeAttestation.AMBULATORY_ORIENTED: "patient ambulatory and oriented",
    DischargeAttestation.NAUSEA_CONTROLLED: "nausea controlled",
    DischargeAttestation.SOBER_DRIVER_PRESENT: "a sober adult driver present",
}


@dataclass(frozen=True, slots=True)
class Attestation:
    """A criterion attested by a named clinician."""

    item: DischargeAttestation
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class DischargeStatus:
    """Whether discharge is allowed, and each unmet criterion in words."""

    allowed: bool
    unmet: tuple[str, ...]


class DischargeCriteria:
    """Evaluates DIS-1 from the latest readings, the baseline and the attestations."""

    def __init__(self, config: ClinicalConfig, clock: Clock) -> None:
        self._config = config
        self._rules = config.discharge
        self._clock = clock
        self._attested: dict[DischargeAttestation, Attestation] = {}

    def attest(self, item: DischargeAttestation, by: str) -> Attestation:
        """Record that a named clinician attests this criterion."""
        who = require_clinician(by, f"Attesting '{item.words}'")
        record = Attestation(item, who, self._clock.now())
        self._attested[item] = record
        return record

    def withdraw(self, item: DischargeAttestation) -> None:
        """Withdraw an attestation (e.g. nausea returned)."""
        self._attested.pop(item, None)

    @property
    def attestations(self) -> tuple[Attestation, ...]:
        """The attestations in force."""
        return tuple(self._attested.values())

    def evaluate(
        self,
        baseline: Baseline | None,
        *,
        recovery_began: datetime | None,
        nibp: NibpReading | None,
        spo2: Observation | None,
        pulses: Sequence[Observation],
        unacknowledged: Sequence[str],
    ) -> DischargeStatus:
        """Allowed only when every criterion holds; otherwise each unmet one is named.

        ``recovery_began``: when the recovery phase began (None: not yet). ``nibp``/``spo2``: the
        latest of each. ``pulses``: the latest pulse-rate and heart-rate observations the caller has
        (each judged). ``unacknowledged``: titles of alarms nobody has acknowledged yet.
        """
        unmet = self._vitals_unmet(baseline, recovery_began, nibp, spo2, pulses)
        unmet += [f"unacknowledged alarm: {title}" for title in unacknowledged]
        unmet += [
            f"not attested: {item.words}" for item in DischargeAttestation if item not in self._attested
        ]
        return DischargeStatus(not unmet, tuple(unmet))

    def _vitals_unmet(
        self,
        baseline: Baseline | None,
        recovery_began: datetime | None,
        nibp: NibpReading | None,
        spo2: Observation | None,
        pulses: Sequence[Observation],
    ) -> list[str]:
        if baseline is None or not baseline.is_confirmed:
            return ["no confirmed baseline to compare the vital signs with"]
        if recovery_began is None:
            return ["recovery has not begun: the vital signs are judged on readings taken in recovery"]
        unmet = self._nibp_unmet(baseline, recovery_began, nibp)
        unmet += self._spo2_unmet(baseline, recovery_began, spo2)
        unmet += self._pulse_unmet(baseline, recovery_began, pulses)
        return unmet

    def _nibp_unmet(
        self, baseline: Baseline, recovery_began: datetime, nibp: NibpReading | None
    ) -> list[str]:
        r = self._rules
        if nibp is None or implausibility(nibp, self._config) or nibp.measured_at < recovery_began:
            return ["no valid NIBP reading since recovery began: measure the blood pressure"]
        if self._reading_age_s(nibp) > r.nibp_max_age_s:
            return [f"the last NIBP reading is older than {r.nibp_max_age_s / 60:g} min: measure again"]
        assert nibp.systolic is not None and nibp.diastolic is not None  # implausibility() checked both
        unmet: list[str] = []
        for name, value, base, rise, fall in (
            ("systolic", nibp.systolic, baseline.systolic, r.systolic_max_rise_pct, r.systolic_max_fall_pct),
            (
                "diastolic",
                nibp.diastolic,
                baseline.diastolic,
                r.diastolic_max_rise_pct,
                r.diastolic_max_fall_pct,
            ),
        ):
            if value > base * (1 + rise / 100):
                unmet.append(f"{name} {value:g} is more than {rise:g} % above baseline {base:g}")
            elif value < base * (1 - fall / 100):
                unmet.append(f"{name} {value:g} is more than {fall:g} % below baseline {base:g}")
        return unmet

    def _spo2_unmet(
        self, baseline: Baseline, recovery_began: datetime, spo2: Observation | None
    ) -> list[str]:
        r = self._rules
        if baseline.spo2 is None:
            return ["the baseline has no SpO2 value to compare with"]
        value = self._in_recovery(spo2, recovery_began)
        if value is None:
            return ["no recent valid SpO2 since recovery began"]
        floor = max(r.spo2_min, baseline.spo2 - r.spo2_below_baseline_max)
        return [f"SpO2 {value:g} % is below {floor:g} %"] if value < floor else []

    def _pulse_unmet(
        self, baseline: Baseline, recovery_began: datetime, pulses: Sequence[Observation]
    ) -> list[str]:
        tolerance = self._rules.pulse_tolerance_per_min
        if baseline.pulse is None:
            return ["the baseline has no pulse value to compare with"]
        unmet: list[str] = []
        judged = 0
        for obs in pulses:
            if obs.kind not in _RATE_WORDS:
                continue
            value = self._in_recovery(obs, recovery_began)
            if value is None:
                continue
            judged += 1
            if abs(value - baseline.pulse) > tolerance:
                unmet.append(
                    f"{_RATE_WORDS[obs.kind]} {value:g} /min is more than {tolerance:g} "
                    f"from baseline {baseline.pulse:g}"
                )
        if not judged:
            unmet.append("no recent valid pulse rate or heart rate since recovery began")
        return unmet

    def _in_recovery(self, obs: Observation | None, recovery_began: datetime) -> float | None:
        """The value of a valid, fresh observation measured in recovery, else None."""
        if obs is None or not obs.is_valid or obs.value is None or obs.measured_at < recovery_began:
            return None
        if not self._config.is_possible(obs.kind, obs.value):
            return None
        age = measured_age_s(obs.measured_at, obs.received_at, obs.received_mono, self._clock)
        if age > self._rules.oximetry_max_age_s:
            return None
        return obs.value

    def _reading_age_s(self, nibp: NibpReading) -> float:
        """How old a reading is: on the monotonic clock when it arrived in this run, so setting the
        PC's clock back cannot make an old reading look fresh; from wall time for a restored one."""
        if nibp.received_at is not None and nibp.received_mono is not None:
            return measured_age_s(nibp.measured_at, nibp.received_at, nibp.received_mono, self._clock)
        return max(0.0, (self._clock.now() - nibp.measured_at).total_seconds())


_RATE_WORDS = {VitalKind.PULSE_RATE: "pulse", VitalKind.HEART_RATE: "heart rate"}
