"""The patient's pre-infusion baseline: medians of spaced NIBP readings, SpO2 and pulse (THR-2)."""

from __future__ import annotations

import enum
import logging
import statistics
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from alarms.clinician import require_clinician
from alarms.config import ClinicalConfig
from alarms.nibp_reading import NibpReading
from drivers.types import Observation, VitalKind

log = logging.getLogger(__name__)


class BaselineNotReadyError(ValueError):
    """The pre-infusion readings do not yet allow a baseline (the message says what is missing)."""


class BaselineOverrideError(ValueError):
    """An override lacks a reason or names a value that cannot be overridden."""


class BaselineField(enum.StrEnum):
    """The values a baseline holds."""

    SYSTOLIC = "systolic"
    DIASTOLIC = "diastolic"
    MEAN = "mean"
    SPO2 = "spo2"
    PULSE = "pulse"


@dataclass(frozen=True, slots=True)
class BaselineCandidate:
    """One pre-infusion value offered for the baseline, with its time and whether it was used."""

    field: BaselineField
    value: float
    measured_at: datetime
    source: str
    used: bool


@dataclass(frozen=True, slots=True)
class BaselineOverride:
    """A clinician replaced a computed baseline value, with a reason."""

    field: BaselineField
    old: float | None
    new: float
    reason: str
    by: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Baseline:
    """Baseline values; usable for the band and thresholds only once confirmed by a clinician."""

    systolic: float
    diastolic: float
    mean: float | None
    spo2: float | None
    pulse: float | None
    window_start: datetime
    window_end: datetime
    candidates: tuple[BaselineCandidate, ...] = ()
    overrides: tuple[BaselineOverride, ...] = ()
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None

    @property
    def is_confirmed(self) -> bool:
        """True once a named clinician confirmed it."""
        return self.confirmed_by is not None

    def value(self, field: BaselineField) -> float | None:
        """The value of one field."""
        result: float | None = getattr(self, field.value)
        return result

    def confirm(self, by: str, at: datetime) -> Baseline:
        """This baseline, confirmed by the named clinician."""
        return replace(self, confirmed_by=require_clinician(by, "Confirming the baseline"), confirmed_at=at)

    def with_override(self, field: BaselineField, new: float, reason: str, by: str, at: datetime) -> Baseline:
        """This baseline with one value replaced; the override is recorded with its reason.

        An override after confirmation clears the confirmation: the changed baseline is confirmed anew.
        """
        who = require_clinician(by, "Overriding a baseline value")
        if not reason.strip():
            raise BaselineOverrideError(f"overriding the baseline {field.value} needs a reason")
        if new <= 0:
            raise BaselineOverrideError(f"baseline {field.value} must be a positive number, not {new}")
        record = BaselineOverride(field, self.value(field), float(new), reason.strip(), who, at)
        changed = replace(self, overrides=(*self.overrides, record), confirmed_by=None, confirmed_at=None)
        values: dict[str, Any] = {field.value: float(new)}
        return replace(changed, **values)


class BaselineCalculator:
    """Collects pre-infusion readings and proposes a baseline by the configured rule (THR-2).

    NIBP: the median of the latest readings spaced at least ``min_spacing_s`` apart (picked back
    from the most recent), at least ``min_nibp_readings`` of them. SpO2 and pulse: the medians of
    the valid samples measured over the same window.
    """

    def __init__(self, config: ClinicalConfig) -> None:
        self._rules = config.baseline
        self._nibp: list[NibpReading] = []
        self._spo2: list[Observation] = []
        self._pulse: list[Observation] = []

    def add_nibp(self, reading: NibpReading) -> None:
        """Offer an NIBP reading; invalid readings are kept out (MON-6)."""
        if reading.is_valid:
            self._nibp.append(reading)
            self._nibp.sort(key=lambda r: r.measured_at)

    def add_observation(self, obs: Observation) -> None:
        """Offer an SpO2 or pulse observation; invalid or other kinds are ignored."""
        if not obs.is_valid:
            return
        if obs.kind is VitalKind.SPO2:
            self._spo2.append(obs)
        elif obs.kind in (VitalKind.PULSE_RATE, VitalKind.HEART_RATE):
            self._pulse.append(obs)

    def selected_nibp(self) -> list[NibpReading]:
        """The NIBP readings the rule picks: spaced apart, latest first picked, oldest first listed."""
        picked: list[NibpReading] = []
        for reading in reversed(self._nibp):
            if not picked or (picked[-1].measured_at - reading.measured_at).total_seconds() >= (
                self._rules.min_spacing_s
            ):
                picked.append(reading)
        return list(reversed(picked))

    def candidates(self) -> list[BaselineCandidate]:
        """Every candidate value with its reading time, marked when the rule uses it."""
        selected = self.selected_nibp()
        used_ids = {id(r) for r in selected}
        out: list[BaselineCandidate] = []
        for r in self._nibp:
            used = id(r) in used_ids
            for field, value in (
                (BaselineField.SYSTOLIC, r.systolic),
                (BaselineField.DIASTOLIC, r.diastolic),
                (BaselineField.MEAN, r.mean),
            ):
                if value is not None:
                    out.append(BaselineCandidate(field, value, r.measured_at, r.source, used))
        window = (selected[0].measured_at, selected[-1].measured_at) if selected else None
        for field, samples in ((BaselineField.SPO2, self._spo2), (BaselineField.PULSE, self._pulse)):
            for obs in samples:
                assert obs.value is not None  # is_valid was checked on entry
                used = window is not None and window[0] <= obs.measured_at <= window[1]
                out.append(BaselineCandidate(field, obs.value, obs.measured_at, obs.source, used))
        return sorted(out, key=lambda c: c.measured_at)

    def propose(self) -> Baseline:
        """An unconfirmed baseline, or BaselineNotReadyError saying what is still needed."""
        selected = self.selected_nibp()
        if len(selected) < self._rules.min_nibp_readings:
            raise BaselineNotReadyError(
                f"a baseline needs {self._rules.min_nibp_readings} valid NIBP readings at least "
                f"{self._rules.min_spacing_s:g} s apart; {len(selected)} so far"
            )
        start, end = selected[0].measured_at, selected[-1].measured_at
        means = [r.mean for r in selected if r.mean is not None]
        return Baseline(
            systolic=statistics.median(r.systolic for r in selected if r.systolic is not None),
            diastolic=statistics.median(r.diastolic for r in selected if r.diastolic is not None),
            mean=statistics.median(means) if means else None,
            spo2=_median_in(self._spo2, start, end),
            pulse=_median_in(self._pulse, start, end),
            window_start=start,
            window_end=end,
            candidates=tuple(self.candidates()),
        )


def _median_in(samples: list[Observation], start: datetime, end: datetime) -> float | None:
    values = [o.value for o in samples if o.value is not None and start <= o.measured_at <= end]
    return statistics.median(values) if values else None
