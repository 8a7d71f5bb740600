"""Discharge criteria: vitals back at baseline from the data, and three attested criteria (DIS-1)."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from alarms.baseline import Baseline
from alarms.clinician import require_clinician
from alarms.config import ClinicalConfig
from alarms.nibp_reading import NibpReading
from drivers.clock import Clock
from drivers.types import Observation

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
        last_nibp: NibpReading | None,
        last_spo2: Observation | None,
        last_pulse: Observation | None,
    ) -> DischargeStatus:
        """Allowed only when every criterion holds; otherwise each unmet one is named."""
        unmet = self._vitals_unmet(baseline, last_nibp, last_spo2, last_pulse)
        unmet += [
            f"not attested: {item.words}" for item in DischargeAttestation if item not in self._attested
        ]
        return DischargeStatus(not unmet, tuple(unmet))

    def _vitals_unmet(
        self,
        baseline: Baseline | None,
        nibp: NibpReading | None,
        spo2: Observation | None,
        pulse: Observation | None,
    ) -> list[str]:
        r = self._rules
        now = self._clock.now()
        if baseline is None or not baseline.is_confirmed:
            return ["no confirmed baseline to compare the vital signs with"]
        unmet: list[str] = []
        if nibp is None or not nibp.is_valid:
            unmet.append("no valid NIBP reading since recovery began: measure the blood pressure")
        elif (now - nibp.measured_at).total_seconds() > r.nibp_max_age_s:
            unmet.append(f"the last NIBP reading is older than {r.nibp_max_age_s / 60:g} min: measure again")
        else:
            assert nibp.systolic is not None and nibp.diastolic is not None  # is_valid guarantees both
            for name, value, base, rise, fall in (
                (
                    "systolic",
                    nibp.systolic,
                    baseline.systolic,
                    r.systolic_max_rise_pct,
                    r.systolic_max_fall_pct,
                ),
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
        fresh_spo2 = self._fresh(spo2)
        if fresh_spo2 is None:
            unmet.append("no recent valid SpO2")
        else:
            floor = r.spo2_min
            if baseline.spo2 is not None:
                floor = max(floor, baseline.spo2 - r.spo2_below_baseline_max)
            if fresh_spo2 < floor:
                unmet.append(f"SpO2 {fresh_spo2:g} % is below {floor:g} %")
        fresh_pulse = self._fresh(pulse)
        if fresh_pulse is None:
            unmet.append("no recent valid pulse rate")
        elif baseline.pulse is not None and abs(fresh_pulse - baseline.pulse) > r.pulse_tolerance_per_min:
            unmet.append(
                f"pulse {fresh_pulse:g} /min is more than {r.pulse_tolerance_per_min:g} "
                f"from baseline {baseline.pulse:g}"
            )
        return unmet

    def _fresh(self, obs: Observation | None) -> float | None:
        if obs is None or not obs.is_valid:
            return None
        if (self._clock.now() - obs.measured_at).total_seconds() > self._rules.oximetry_max_age_s:
            return None
        return obs.value
