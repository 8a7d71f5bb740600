"""The patient's pre-infusion baseline: medians of spaced NIBP readings, SpO2 and pulse (THR-2).

Only plausible readings are candidates (valid, diastolic below systolic, inside the possible
ranges, THR-8). Selected readings that disagree widely need another reading before a baseline is
proposed; a baseline past the clinic's absolute limits is not proposed, though a clinician may set
one by overriding the values with a reason. Overrides must be plausible themselves.

A baseline is the patient's *current* resting state: only readings measured within
``baseline.max_age_min`` before the newest reading are considered; older NIBP readings and
oximetry samples are dropped (and listed nowhere). This also keeps memory bounded when a session
stays in setup or baseline for hours (issue 11: every oximeter sample used to be kept). SpO2 and
pulse are offered to the baseline screen as one summary per source (the median of its samples
inside the NIBP window, and of those before and after it), never one entry per sample.
"""

from __future__ import annotations

import bisect
import enum
import logging
import math
import statistics
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from alarms.clinician import require_clinician
from alarms.config import ClinicalConfig
from alarms.nibp_reading import NibpReading, implausibility, judged_mean
from drivers.types import Observation, VitalKind

log = logging.getLogger(__name__)


class BaselineNotReadyError(ValueError):
    """The pre-infusion readings do not yet allow a baseline (the message says what is missing)."""


class BaselineOverrideError(ValueError):
    """An override lacks a reason or names a value that is not plausible."""


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
    note: str = ""  # why an unused value was left out (e.g. not plausible)
    #: SpO2 and pulse: how many samples of ``source`` this median summarises (measured from
    #: ``first_at`` to ``measured_at``); NIBP values are single readings.
    samples: int = 1
    first_at: datetime | None = None


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

    def with_override(
        self, field: BaselineField, new: float, reason: str, by: str, at: datetime, *, config: ClinicalConfig
    ) -> Baseline:
        """This baseline with one value replaced; see ``with_overrides``."""
        return self.with_overrides({field: (new, reason)}, by, at, config=config)

    def with_overrides(
        self,
        changes: Mapping[BaselineField, tuple[float, str]],
        by: str,
        at: datetime,
        *,
        config: ClinicalConfig,
    ) -> Baseline:
        """This baseline with values replaced, each ``field: (value, reason)``; every override is
        recorded with its reason.

        The result must be plausible (values inside the possible ranges, diastolic below systolic,
        THR-8): it is checked after all changes, so systolic and diastolic can be changed together.
        An override after confirmation clears the confirmation: the changed baseline is confirmed anew.
        """
        who = require_clinician(by, "Overriding a baseline value")
        records: list[BaselineOverride] = []
        values: dict[str, Any] = {}
        for field, (new, reason) in changes.items():
            if not reason.strip():
                raise BaselineOverrideError(f"overriding the baseline {field.value} needs a reason")
            if (
                isinstance(new, bool)
                or not isinstance(new, int | float)
                or not math.isfinite(new)
                or new <= 0
            ):
                raise BaselineOverrideError(f"baseline {field.value} must be a positive number, not {new}")
            problem = _implausible_value(field, float(new), config)
            if problem is not None:
                raise BaselineOverrideError(f"the baseline {field.value} cannot be set to {new:g}: {problem}")
            records.append(BaselineOverride(field, self.value(field), float(new), reason.strip(), who, at))
            values[field.value] = float(new)
        changed = replace(
            self, overrides=(*self.overrides, *records), confirmed_by=None, confirmed_at=None, **values
        )
        problem = _inconsistency(changed)
        if problem is not None:
            raise BaselineOverrideError(f"the overridden baseline is not plausible: {problem}")
        return changed


_FIELD_KIND = {
    BaselineField.SYSTOLIC: VitalKind.NIBP_SYSTOLIC,
    BaselineField.DIASTOLIC: VitalKind.NIBP_DIASTOLIC,
    BaselineField.MEAN: VitalKind.NIBP_MEAN,
    BaselineField.SPO2: VitalKind.SPO2,
    BaselineField.PULSE: VitalKind.PULSE_RATE,
}


def _implausible_value(field: BaselineField, value: float, config: ClinicalConfig) -> str | None:
    kind = _FIELD_KIND[field]
    if config.is_possible(kind, value):
        return None
    low, high = config.possible_ranges[kind]
    return f"a {kind.value.replace('_', ' ')} lies between {low:g} and {high:g}"


def _inconsistency(baseline: Baseline) -> str | None:
    if baseline.diastolic >= baseline.systolic:
        return f"diastolic {baseline.diastolic:g} is not below systolic {baseline.systolic:g}"
    mean = baseline.mean
    if mean is not None and not baseline.diastolic <= mean <= baseline.systolic:
        return (
            f"mean {mean:g} is not between diastolic {baseline.diastolic:g} and systolic "
            f"{baseline.systolic:g}: override the mean too"
        )
    return None


class BaselineCalculator:
    """Collects pre-infusion readings and proposes a baseline by the configured rule (THR-2, THR-8).

    NIBP: the median of the latest plausible readings spaced at least ``min_spacing_s`` apart
    (picked back from the most recent), at least ``min_nibp_readings`` of them; when their systolic
    or diastolic values spread wider than allowed, at least ``readings_when_spread`` of them (a
    median of three outvotes one odd reading). SpO2 and pulse: the medians of the valid, plausible
    samples measured over the same window.

    Only readings measured within ``max_age_min`` before the newest reading (NIBP or oximetry) are
    considered: a baseline describes the patient's current resting state, not how they were an
    hour or more ago. Older readings are dropped as soon as a newer one arrives, so what is held
    is bounded by that time whatever the length of the pre-infusion phase.
    """

    def __init__(self, config: ClinicalConfig) -> None:
        self._config = config
        self._rules = config.baseline
        self._max_age = timedelta(minutes=config.baseline.max_age_min)
        self._newest: datetime | None = None
        # Each list is kept in measurement order, so the too-old end is cut off in one step.
        self._nibp: list[NibpReading] = []
        self._left_out: list[tuple[NibpReading, str]] = []
        self._spo2: list[Observation] = []
        self._pulse: list[Observation] = []

    @property
    def oldest_considered(self) -> datetime | None:
        """Readings measured before this are too old for the baseline (None before any reading)."""
        return None if self._newest is None else self._newest - self._max_age

    def add_nibp(self, reading: NibpReading) -> None:
        """Offer an NIBP reading; invalid (MON-6) and implausible (THR-8) ones are left out, with why."""
        problem = implausibility(reading, self._config)
        if problem is not None:
            oldest = self.oldest_considered
            # Listed with why, but never the newest reading: an impossible reading moves no window.
            if (reading.systolic is not None or reading.diastolic is not None) and (
                oldest is None or reading.measured_at >= oldest
            ):
                bisect.insort(self._left_out, (reading, problem), key=lambda e: e[0].measured_at)
            log.info("NIBP reading at %s left out of the baseline: %s", reading.measured_at, problem)
            return
        if not self._is_current(reading.measured_at, reading.received_at):
            log.info("NIBP reading at %s is too old for the baseline", reading.measured_at)
            return
        bisect.insort(self._nibp, reading, key=lambda r: r.measured_at)
        self._drop_old()

    def add_observation(self, obs: Observation) -> None:
        """Offer an SpO2 or pulse observation; invalid, implausible or other kinds are ignored."""
        if not obs.is_valid or obs.value is None or not self._config.is_possible(obs.kind, obs.value):
            return
        if obs.kind is VitalKind.SPO2:
            samples = self._spo2
        elif obs.kind in (VitalKind.PULSE_RATE, VitalKind.HEART_RATE):
            samples = self._pulse
        else:
            return
        if not self._is_current(obs.measured_at, obs.received_at):
            return
        if not samples or samples[-1].measured_at <= obs.measured_at:
            samples.append(obs)  # the usual case: in order, no search
        else:
            bisect.insort(samples, obs, key=lambda o: o.measured_at)
        self._drop_old()

    def _is_current(self, measured_at: datetime, received_at: datetime | None) -> bool:
        """Move the newest time on; False when ``measured_at`` is already too old to count.

        The newest time never runs ahead of when a reading arrived: a device whose clock is ahead
        (another zone, a wrong date) must not age every other device's readings out of the
        baseline (ALM-4: device clocks are not trusted for what time it is now).
        """
        anchor = measured_at if received_at is None else min(measured_at, received_at)
        if self._newest is None or anchor > self._newest:
            self._newest = anchor
        return measured_at >= self._newest - self._max_age

    def _drop_old(self) -> None:
        oldest = self.oldest_considered
        if oldest is None:
            return
        for samples in (self._spo2, self._pulse, self._nibp):
            if samples and samples[0].measured_at < oldest:
                del samples[: bisect.bisect_left(samples, oldest, key=lambda o: o.measured_at)]
        if self._left_out and self._left_out[0][0].measured_at < oldest:
            del self._left_out[: bisect.bisect_left(self._left_out, oldest, key=lambda e: e[0].measured_at)]

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
        """Every candidate value with its reading time, marked when the rule uses it; values left
        out as implausible are listed unused with the reason.

        SpO2 and pulse are summarised, never listed per sample: per source, the median of its
        samples inside the window of the NIBP readings used (used), and of those before and after
        it (not used), each with how many samples and over which times.
        """
        selected = self.selected_nibp()
        used_ids = {id(r) for r in selected}
        out: list[BaselineCandidate] = []
        for r, note in [(r, "") for r in self._nibp] + self._left_out:
            used = id(r) in used_ids
            for field, value in (
                (BaselineField.SYSTOLIC, r.systolic),
                (BaselineField.DIASTOLIC, r.diastolic),
                (BaselineField.MEAN, r.mean),
            ):
                if value is not None:
                    out.append(BaselineCandidate(field, value, r.measured_at, r.source, used, note))
        window = (selected[0].measured_at, selected[-1].measured_at) if selected else None
        for field, samples in ((BaselineField.SPO2, self._spo2), (BaselineField.PULSE, self._pulse)):
            out += _summaries(field, samples, window)
        return sorted(out, key=lambda c: c.measured_at)

    def propose(self) -> Baseline:
        """An unconfirmed baseline, or BaselineNotReadyError saying what is still needed or why the
        computed baseline is not offered (past the clinic's absolute limits)."""
        baseline = self._compute()
        problems = _past_clinic_limits(baseline, self._config)
        if problems:
            raise BaselineNotReadyError(
                f"the computed baseline {baseline.systolic:g}/{baseline.diastolic:g} is not offered: "
                + "; ".join(problems.values())
                + ". Re-measure, or set the baseline by overriding those values with a reason."
            )
        return baseline

    def propose_with_overrides(
        self, overrides: Mapping[BaselineField, tuple[float, str]], by: str, at: datetime
    ) -> Baseline:
        """The computed baseline with the clinician's overrides (``field: (value, reason)``).

        A value past the clinic's absolute limits is accepted only when the clinician overrode it
        with a reason (e.g. a known hypertensive patient's usual pressure); with no overrides this
        is ``propose``.
        """
        if not overrides:
            return self.propose()
        computed = self._compute(waive_spread_for=frozenset(overrides))
        baseline = computed.with_overrides(overrides, by, at, config=self._config)
        problems = {
            field: text
            for field, text in _past_clinic_limits(baseline, self._config).items()
            if field not in overrides
        }
        if problems:
            raise BaselineNotReadyError(
                "the baseline is not offered: "
                + "; ".join(problems.values())
                + ". Override those values too, with a reason, or re-measure."
            )
        return baseline

    def _compute(self, waive_spread_for: frozenset[BaselineField] = frozenset()) -> Baseline:
        """The medians; ``waive_spread_for`` names the pressures a clinician overrides with a
        reason, whose disagreement then needs no further reading (the clinician decided)."""
        selected = self.selected_nibp()
        rules = self._rules
        if len(selected) < rules.min_nibp_readings:
            raise BaselineNotReadyError(
                f"a baseline needs {rules.min_nibp_readings} valid NIBP readings at least "
                f"{rules.min_spacing_s:g} s apart; {len(selected)} so far"
            )
        systolic = [r.systolic for r in selected if r.systolic is not None]
        diastolic = [r.diastolic for r in selected if r.diastolic is not None]
        spread = []
        if (
            BaselineField.SYSTOLIC not in waive_spread_for
            and max(systolic) - min(systolic) > rules.max_systolic_spread_mmhg
        ):
            spread.append(f"systolic {min(systolic):g} to {max(systolic):g}")
        if (
            BaselineField.DIASTOLIC not in waive_spread_for
            and max(diastolic) - min(diastolic) > rules.max_diastolic_spread_mmhg
        ):
            spread.append(f"diastolic {min(diastolic):g} to {max(diastolic):g}")
        if spread and len(selected) < rules.readings_when_spread:
            raise BaselineNotReadyError(
                f"the readings disagree widely ({', '.join(spread)}; allowed spread "
                f"{rules.max_systolic_spread_mmhg:g}/{rules.max_diastolic_spread_mmhg:g} mmHg): take "
                f"another reading at least {rules.min_spacing_s:g} s after the last; the baseline is "
                f"then the median of {rules.readings_when_spread}"
            )
        start, end = selected[0].measured_at, selected[-1].measured_at
        # A garbled device mean must not shift the baseline mean that falls are judged against.
        judged = [judged_mean(r, self._config) for r in selected]
        means = [mean for mean, calculated in judged if not calculated]
        return Baseline(
            systolic=statistics.median(systolic),
            diastolic=statistics.median(diastolic),
            mean=statistics.median(means) if means else None,
            spo2=_median_in(self._spo2, start, end),
            pulse=_median_in(self._pulse, start, end),
            window_start=start,
            window_end=end,
            candidates=tuple(self.candidates()),
        )


def _past_clinic_limits(baseline: Baseline, config: ClinicalConfig) -> dict[BaselineField, str]:
    """Values past the clinic's absolute limits (``default_thresholds``), each with why: a patient
    whose baseline would alarm on its own needs a clinician's decision, not a silent median."""
    d = config.default_thresholds
    out: dict[BaselineField, str] = {}
    checks = (
        (BaselineField.SYSTOLIC, baseline.systolic, d.hypotension_floor, d.systolic_ceiling, "mmHg"),
        (BaselineField.DIASTOLIC, baseline.diastolic, None, d.diastolic_ceiling, "mmHg"),
        (BaselineField.MEAN, baseline.mean, d.mean_floor, None, "mmHg"),
        (BaselineField.SPO2, baseline.spo2, d.spo2_floor, None, "%"),
        (BaselineField.PULSE, baseline.pulse, d.pulse_floor, d.pulse_ceiling, "/min"),
    )
    for field, value, floor, ceiling, unit in checks:
        if value is None:
            continue
        if ceiling is not None and value > ceiling:
            out[field] = f"{field.value} {value:g} {unit} is above the clinic's ceiling {ceiling:g}"
        elif floor is not None and value < floor:
            out[field] = f"{field.value} {value:g} {unit} is below the clinic's floor {floor:g}"
    return out


def _median_in(samples: list[Observation], start: datetime, end: datetime) -> float | None:
    values = [o.value for o in samples if o.value is not None and start <= o.measured_at <= end]
    return statistics.median(values) if values else None


def _summaries(
    field: BaselineField, samples: list[Observation], window: tuple[datetime, datetime] | None
) -> list[BaselineCandidate]:
    """One candidate per source and part of the time (before, inside and after the window): the
    median of those samples, bounded however many samples there are."""
    groups: dict[tuple[str, str], list[Observation]] = {}
    for obs in samples:  # in measurement order
        if window is None:
            part = "no NIBP reading used yet"
        elif obs.measured_at < window[0]:
            part = "before the NIBP readings used"
        elif obs.measured_at > window[1]:
            part = "after the NIBP readings used"
        else:
            part = ""
        groups.setdefault((obs.source, part), []).append(obs)
    out = []
    for (source, part), group in groups.items():
        values = [o.value for o in group if o.value is not None]
        out.append(
            BaselineCandidate(
                field,
                statistics.median(values),
                group[-1].measured_at,
                source,
                used=not part,
                note=part,
                samples=len(group),
                first_at=group[0].measured_at,
            )
        )
    return out
