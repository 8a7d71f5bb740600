"""The patient's own thresholds, locked once infusion starts, and the judgement of an NIBP reading.

THR-1: set and confirmed by a named clinician before the IV starts. THR-4: a reading above the
expected band or past a threshold is a meaningful spike and offers the BP-spike protocol.
THR-5: after the lock a change needs a reason and a clinician and is recorded. THR-7: low pressure
is watched as closely as high (systolic and mean floors, falls from baseline); a floor is changed,
never removed. THR-8: every reading is judged in every phase; before a baseline exists, against
the clinic's absolute limits.

``judge_nibp`` is the one judgement of a reading: thresholds first, then the band. Its
``reading_class``, ``label``, ``bp_high`` and ``bp_low`` are computed there once, so the label a
view shows can never contradict the alarm that sounds.
"""

from __future__ import annotations

import enum
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from alarms.band import BpClass, ExpectedRiseBand
from alarms.clinician import require_clinician
from alarms.config import THRESHOLD_KINDS, ClinicalConfig
from alarms.nibp_reading import NibpReading, implausibility, judged_mean
from alarms.priority import AlarmPriority
from drivers.clock import Clock

log = logging.getLogger(__name__)

# Products like 120 * 0.8 are not exact in binary floating point; a fall of exactly the allowed
# percentage on paper is not "more than" it, so comparisons allow this much slack (mmHg).
_EDGE_SLACK = 1e-9


class ThresholdError(ValueError):
    """A threshold set is inconsistent (e.g. a floor above its ceiling) or not plausible."""


class ThresholdsLockedError(ThresholdError):
    """Thresholds are locked for the infusion; use ``change`` with a reason."""


class ThresholdsNotSetError(ThresholdError):
    """No threshold set has been entered for this patient yet."""


class ThresholdField(enum.StrEnum):
    """The values of a threshold set."""

    SYSTOLIC_CEILING = "systolic_ceiling"
    DIASTOLIC_CEILING = "diastolic_ceiling"
    SPO2_FLOOR = "spo2_floor"
    PULSE_FLOOR = "pulse_floor"
    PULSE_CEILING = "pulse_ceiling"
    HYPOTENSION_FLOOR = "hypotension_floor"  # systolic floor
    MEAN_FLOOR = "mean_floor"
    SYSTOLIC_FALL_PCT = "systolic_fall_pct"
    MEAN_FALL_PCT = "mean_fall_pct"

    @property
    def words(self) -> str:
        """The value as a clinician reads it, with its unit."""
        return _FIELD_WORDS[self]


_FIELD_WORDS = {
    ThresholdField.SYSTOLIC_CEILING: "systolic ceiling (mmHg)",
    ThresholdField.DIASTOLIC_CEILING: "diastolic ceiling (mmHg)",
    ThresholdField.SPO2_FLOOR: "SpO2 floor (%)",
    ThresholdField.PULSE_FLOOR: "pulse floor (/min)",
    ThresholdField.PULSE_CEILING: "pulse ceiling (/min)",
    ThresholdField.HYPOTENSION_FLOOR: "systolic floor (mmHg)",
    ThresholdField.MEAN_FLOOR: "mean pressure floor (mmHg)",
    ThresholdField.SYSTOLIC_FALL_PCT: "allowed systolic fall from baseline (%)",
    ThresholdField.MEAN_FALL_PCT: "allowed mean pressure fall from baseline (%)",
}


@dataclass(frozen=True, slots=True)
class ThresholdSet:
    """One patient's alarm thresholds (mmHg, %, /min).

    ``hypotension_floor`` is the systolic floor and ``mean_floor`` the mean-pressure floor: below
    either is a high-priority BP-low alarm. A systolic or mean fall of more than
    ``systolic_fall_pct`` / ``mean_fall_pct`` from the baseline is a medium-priority one (THR-7).
    Every value is required: a floor can be changed, never removed.
    """

    systolic_ceiling: float
    diastolic_ceiling: float
    spo2_floor: float
    pulse_floor: float
    pulse_ceiling: float
    hypotension_floor: float
    mean_floor: float
    systolic_fall_pct: float
    mean_fall_pct: float
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None

    def __post_init__(self) -> None:
        for field in ThresholdField:
            value = getattr(self, field.value)
            # bool is an int: True as a ceiling is a programming error, not 1 mmHg.
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                raise ThresholdError(f"the {field.words} must be a number, not {value!r}")
        if self.pulse_floor >= self.pulse_ceiling:
            raise ThresholdError(
                f"pulse floor {self.pulse_floor:g} must be below pulse ceiling {self.pulse_ceiling:g}"
            )
        if self.diastolic_ceiling >= self.systolic_ceiling:
            raise ThresholdError("the diastolic ceiling must be below the systolic ceiling")
        if not 0 < self.spo2_floor <= 100:
            raise ThresholdError(f"SpO2 floor {self.spo2_floor:g} must be between 0 and 100 %")
        for name, floor in (("systolic floor", self.hypotension_floor), ("mean floor", self.mean_floor)):
            if not 0 < floor < self.systolic_ceiling:
                raise ThresholdError(
                    f"the {name} {floor:g} must be above 0 and below the systolic ceiling "
                    f"{self.systolic_ceiling:g}"
                )
        for name, pct in (("systolic", self.systolic_fall_pct), ("mean", self.mean_fall_pct)):
            if not 0 < pct < 100:
                raise ThresholdError(f"the allowed {name} fall {pct:g} % must be between 0 and 100 %")

    @classmethod
    def clinic_default(cls, config: ClinicalConfig) -> ThresholdSet:
        """The clinic's default set, unconfirmed: a starting point the clinician edits, and the
        absolute limits readings are judged against before the patient's set is confirmed."""
        d = config.default_thresholds
        return cls(**{field.value: getattr(d, field.value) for field in ThresholdField})

    @property
    def is_confirmed(self) -> bool:
        """True once a named clinician confirmed the set."""
        return self.confirmed_by is not None

    def value(self, field: ThresholdField) -> float:
        """The value of one field."""
        result: float = getattr(self, field.value)
        return result

    def confirm(self, by: str, at: datetime) -> ThresholdSet:
        """This set, confirmed by the named clinician."""
        return replace(self, confirmed_by=require_clinician(by, "Confirming the thresholds"), confirmed_at=at)

    def check_possible(self, config: ClinicalConfig) -> None:
        """Raise ThresholdError when a value lies outside the possible range of what it limits
        (THR-8): a ceiling of 1300 mmHg is a typo that would silence the alarm, never a limit."""
        for field in ThresholdField:
            value = self.value(field)
            for kind in THRESHOLD_KINDS[field.value]:
                if not config.is_possible(kind, value):
                    low, high = config.possible_ranges[kind]
                    raise ThresholdError(
                        f"the {field.words} {value:g} is not plausible: a {kind.value.replace('_', ' ')} "
                        f"lies between {low:g} and {high:g}"
                    )

    def spo2_critical_floor(self, config: ClinicalConfig) -> float:
        """SpO2 below this is a high-priority alarm: the clinic's escalation level, or the patient's
        own floor when that is lower (one home for the rule, shown and judged alike)."""
        return min(config.spo2.high_priority_below, self.spo2_floor)


@dataclass(frozen=True, slots=True)
class ThresholdChange:
    """A recorded change to a locked threshold (THR-5)."""

    who: str
    when: datetime
    field: ThresholdField
    old: float
    new: float
    reason: str


class ReadingClass(enum.StrEnum):
    """The one classification of an NIBP reading that every view shows (label, colour, marker).

    It comes from the engine's whole judgement: thresholds first, then the expected-rise band, so
    a label can never contradict the alarm (THR-4, THR-7).
    """

    PAST_CEILING = "past_ceiling"  # above the patient's systolic/diastolic ceiling: BP high alarm
    ABOVE_EXPECTED = "above_expected"  # above baseline x high_factor: BP high alarm
    EXPECTED_RISE = "expected_rise"  # inside the band: not alarmed (THR-3)
    AT_BASELINE = "at_baseline"  # below the band's bottom, no meaningful fall
    FALL_FROM_BASELINE = "fall_from_baseline"  # systolic or mean fell more than allowed: BP low alarm
    BELOW_FLOOR = "below_floor"  # under the systolic or mean floor: BP low alarm
    WITHIN_LIMITS = "within_limits"  # no baseline yet: inside the clinic's absolute limits (THR-8)
    NOT_JUDGED = "not_judged"  # invalid or implausible: never judged (MON-6)

    @property
    def alarming(self) -> bool:
        """True for the classes that raise a BP alarm."""
        return self in (
            ReadingClass.PAST_CEILING,
            ReadingClass.ABOVE_EXPECTED,
            ReadingClass.FALL_FROM_BASELINE,
            ReadingClass.BELOW_FLOOR,
        )


@dataclass(frozen=True, slots=True)
class NibpJudgement:
    """What one NIBP reading means for this patient, computed once by ``judge_nibp``.

    ``reading_class``, ``label``, ``bp_high`` and ``bp_low`` are the shared interface: the alarm
    system raises from ``bp_high``/``bp_low``, every view shows ``label`` and ``reading_class``.
    ``mean`` is the mean pressure judged (``mean_calculated`` when the device sent no plausible
    mean); ``past_threshold``, ``below_floor`` and ``fall_from_baseline`` say what was crossed.
    """

    reading: NibpReading
    judged: bool
    reading_class: ReadingClass
    label: str
    bp_high: AlarmPriority | None = None
    bp_low: AlarmPriority | None = None
    not_judged_reason: str = ""
    systolic_class: BpClass | None = None
    diastolic_class: BpClass | None = None
    past_threshold: tuple[str, ...] = ()
    below_floor: tuple[str, ...] = ()
    fall_from_baseline: tuple[str, ...] = ()
    mean: float | None = None
    mean_calculated: bool = False
    offered_protocol: str | None = None

    @property
    def band_class(self) -> BpClass | None:
        """The worse of the systolic and diastolic band classes (None without a band or judgement)."""
        if self.systolic_class is None or self.diastolic_class is None:
            return None
        return max(self.systolic_class, self.diastolic_class)

    @property
    def above_band(self) -> bool:
        """True when systolic or diastolic is above the expected band."""
        return self.band_class is BpClass.ABOVE_EXPECTED

    @property
    def below_hypotension_floor(self) -> bool:
        """True when the systolic is below the systolic floor."""
        return any(f.startswith("systolic") for f in self.below_floor)

    @property
    def meaningful_spike(self) -> bool:
        """Above the band or past the patient's own ceiling (THR-4): the BP-high condition."""
        return self.bp_high is not None

    def summary(self) -> str:
        """The judgement in a clinician's words: the label first, then everything else crossed."""
        r = self.reading
        if not self.judged:
            return f"NIBP {self.label}"
        parts = [self.label]
        parts += [
            f"past {t}" for t in self.past_threshold if self.reading_class is not ReadingClass.PAST_CEILING
        ]
        if self.below_floor and self.reading_class is not ReadingClass.BELOW_FLOOR:
            parts.append("below " + ", ".join(self.below_floor))
        if self.above_band and self.reading_class is not ReadingClass.ABOVE_EXPECTED:
            parts.append(_LABELS[ReadingClass.ABOVE_EXPECTED])
        if self.fall_from_baseline and self.reading_class is not ReadingClass.FALL_FROM_BASELINE:
            parts.append("fall from baseline: " + ", ".join(self.fall_from_baseline))
        if self.mean_calculated and self.mean is not None:
            parts.append(f"mean {self.mean:.0f} calculated (no plausible mean from the device)")
        return f"NIBP {r.systolic:g}/{r.diastolic:g}: " + "; ".join(parts)


_LABELS = {
    ReadingClass.ABOVE_EXPECTED: "above expected rise",
    ReadingClass.EXPECTED_RISE: "expected rise",
    ReadingClass.AT_BASELINE: "at baseline",
}


def _fall_pct(value: float, reference: float) -> float:
    return (reference - value) / reference * 100


def _fell_more_than(value: float, reference: float, pct: float) -> bool:
    return value < reference * (1 - pct / 100) - _EDGE_SLACK


def judge_nibp(
    reading: NibpReading,
    thresholds: ThresholdSet,
    band: ExpectedRiseBand | None,
    config: ClinicalConfig,
) -> NibpJudgement:
    """Judge one reading: thresholds first, then the band (None before a baseline is confirmed).

    Invalid or implausible data is never judged (MON-6). Past a ceiling: BP high, HIGH; above the
    band: BP high, MEDIUM (THR-4). Below the systolic or mean floor: BP low, HIGH; a systolic or
    mean fall from baseline of more than the allowed percentage: BP low, MEDIUM (THR-7). Without a
    band the reading is judged against ``thresholds`` alone (the clinic's limits, THR-8).
    """
    problem = implausibility(reading, config)
    if problem is not None:
        return NibpJudgement(
            reading, False, ReadingClass.NOT_JUDGED, f"not judged: {problem}", not_judged_reason=problem
        )
    systolic, diastolic = reading.systolic, reading.diastolic
    assert systolic is not None and diastolic is not None  # implausibility() checked both
    mean, mean_calculated = judged_mean(reading, config)
    t = thresholds

    past: list[str] = []
    if systolic > t.systolic_ceiling:
        past.append(f"systolic ceiling {t.systolic_ceiling:g}")
    if diastolic > t.diastolic_ceiling:
        past.append(f"diastolic ceiling {t.diastolic_ceiling:g}")
    below: list[str] = []
    if systolic < t.hypotension_floor:
        below.append(f"systolic floor {t.hypotension_floor:g}")
    if mean < t.mean_floor:
        below.append(f"mean floor {t.mean_floor:g}")

    systolic_class = diastolic_class = None
    falls: list[str] = []
    worst_fall = 0.0
    if band is not None:
        classes = band.classify(systolic, diastolic)
        systolic_class, diastolic_class = classes.systolic, classes.diastolic
        mean_reference, _ = band.mean_reference
        for name, value, reference, allowed in (
            ("systolic", systolic, band.baseline_systolic, t.systolic_fall_pct),
            ("mean", mean, mean_reference, t.mean_fall_pct),
        ):
            if _fell_more_than(value, reference, allowed):
                pct = _fall_pct(value, reference)
                worst_fall = max(worst_fall, pct)
                falls.append(f"{name} -{pct:.0f} % (allowed {allowed:g} %)")
    above = systolic_class is BpClass.ABOVE_EXPECTED or diastolic_class is BpClass.ABOVE_EXPECTED

    bp_high = AlarmPriority.HIGH if past else AlarmPriority.MEDIUM if above else None
    bp_low = AlarmPriority.HIGH if below else AlarmPriority.MEDIUM if falls else None

    if past:
        reading_class = ReadingClass.PAST_CEILING
        label = f"past ceiling {t.systolic_ceiling:g}/{t.diastolic_ceiling:g}"
    elif below:
        reading_class = ReadingClass.BELOW_FLOOR
        label = "below floor (" + ", ".join(below).replace(" floor", "") + ")"
    elif above:
        reading_class = ReadingClass.ABOVE_EXPECTED
        label = _LABELS[reading_class]
    elif falls:
        reading_class = ReadingClass.FALL_FROM_BASELINE
        label = f"fall from baseline (-{worst_fall:.0f} %)"
    elif band is None:
        reading_class = ReadingClass.WITHIN_LIMITS
        whose = "the patient's" if t.is_confirmed else "clinic"
        label = f"within {whose} limits (no baseline yet)"
    else:
        worse = max(c for c in (systolic_class, diastolic_class) if c is not None)
        reading_class = (
            ReadingClass.EXPECTED_RISE if worse is BpClass.EXPECTED_RISE else ReadingClass.AT_BASELINE
        )
        label = _LABELS[reading_class]

    return NibpJudgement(
        reading,
        judged=True,
        reading_class=reading_class,
        label=label,
        bp_high=bp_high,
        bp_low=bp_low,
        systolic_class=systolic_class,
        diastolic_class=diastolic_class,
        past_threshold=tuple(past),
        below_floor=tuple(below),
        fall_from_baseline=tuple(falls),
        mean=mean,
        mean_calculated=mean_calculated,
        offered_protocol=config.protocols.bp_spike if bp_high is not None else None,
    )


class ThresholdBook:
    """Holds the patient's threshold set; free to edit before the lock, changed by record after it."""

    def __init__(self, config: ClinicalConfig, clock: Clock) -> None:
        self._config = config
        # Built once: the set is immutable, and judging asked for a fresh copy on every reading.
        self._clinic_default = ThresholdSet.clinic_default(config)
        self._clock = clock
        self._current: ThresholdSet | None = None
        self._locked_at: datetime | None = None
        self._changes: list[ThresholdChange] = []

    @property
    def current(self) -> ThresholdSet:
        """The set in force; raises ThresholdsNotSetError before one is entered."""
        if self._current is None:
            raise ThresholdsNotSetError("no threshold set has been entered for this patient")
        return self._current

    @property
    def has_confirmed_set(self) -> bool:
        """True when a threshold set is entered and confirmed (THR-1)."""
        return self._current is not None and self._current.is_confirmed

    @property
    def locked(self) -> bool:
        """True once infusion has started."""
        return self._locked_at is not None

    @property
    def changes(self) -> tuple[ThresholdChange, ...]:
        """Every change made after the lock, oldest first."""
        return tuple(self._changes)

    def enter(self, thresholds: ThresholdSet) -> None:
        """Enter or replace the set before infusion (the clinician then confirms it); a value
        outside what it limits can possibly be is refused (THR-8)."""
        if self.locked:
            raise ThresholdsLockedError(
                "thresholds are locked for the infusion: change one value with a reason instead"
            )
        thresholds.check_possible(self._config)
        self._current = thresholds

    def confirm(self, by: str) -> ThresholdSet:
        """Confirm the entered set by a named clinician."""
        self._current = self.current.confirm(by, self._clock.now())
        return self._current

    def lock(self) -> None:
        """Lock the set as infusion starts (THR-5); it must be confirmed."""
        if not self.has_confirmed_set:
            raise ThresholdsNotSetError("thresholds must be confirmed by a named clinician before infusion")
        if self._locked_at is None:
            self._locked_at = self._clock.now()

    def change(self, field: ThresholdField, new: float | None, reason: str, who: str) -> ThresholdChange:
        """Change one value of the locked set, recording who, when, old, new and why (THR-5).

        No value can be removed (``new`` None is refused for every field, THR-7), and the changed
        set must be consistent and plausible like an entered one.
        """
        person = require_clinician(who, f"Changing the {field.value} threshold")
        if not reason.strip():
            raise ThresholdError(f"changing the {field.value} threshold during infusion needs a reason")
        if new is None:
            raise ThresholdError(
                f"the {field.words} cannot be removed during the infusion, only changed to a new value"
            )
        current = self.current
        old = current.value(field)
        # The clinician changing it is the one who confirms the new set.
        values: dict[str, Any] = {field.value: new, "confirmed_by": person, "confirmed_at": self._clock.now()}
        updated = replace(current, **values)
        updated.check_possible(self._config)
        record = ThresholdChange(person, self._clock.now(), field, old, new, reason.strip())
        self._current = updated
        if self.locked:
            self._changes.append(record)
        log.info("threshold %s changed from %s to %s by %s", field.value, old, new, person)
        return record

    def limits_in_force(self) -> ThresholdSet:
        """The patient's confirmed set, or the clinic's default set before one is confirmed (THR-8)."""
        if self._current is not None and self._current.is_confirmed:
            return self._current
        return self._clinic_default

    def judge_nibp(self, reading: NibpReading, band: ExpectedRiseBand | None = None) -> NibpJudgement:
        """Judge a reading against the limits in force and the patient's band (None before a
        baseline is confirmed: the limits alone judge it, THR-8)."""
        return judge_nibp(reading, self.limits_in_force(), band, self._config)
