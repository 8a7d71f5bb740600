"""The patient's own thresholds, locked once infusion starts, and the judgement of an NIBP reading.

THR-1: set and confirmed by a named clinician before the IV starts. THR-4: a reading above the
expected band or past a threshold is a meaningful spike and offers the BP-spike protocol.
THR-5: after the lock a change needs a reason and a clinician and is recorded.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from alarms.band import BpClass, ExpectedRiseBand
from alarms.clinician import require_clinician
from alarms.config import ClinicalConfig
from alarms.nibp_reading import NibpReading
from alarms.priority import AlarmPriority
from drivers.clock import Clock
from drivers.types import VitalKind

log = logging.getLogger(__name__)


class ThresholdError(ValueError):
    """A threshold set is inconsistent (e.g. a floor above its ceiling)."""


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
    HYPOTENSION_FLOOR = "hypotension_floor"


@dataclass(frozen=True, slots=True)
class ThresholdSet:
    """One patient's alarm thresholds (mmHg, %, /min). ``hypotension_floor`` is systolic."""

    systolic_ceiling: float
    diastolic_ceiling: float
    spo2_floor: float
    pulse_floor: float
    pulse_ceiling: float
    hypotension_floor: float | None = None
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.pulse_floor >= self.pulse_ceiling:
            raise ThresholdError(
                f"pulse floor {self.pulse_floor:g} must be below pulse ceiling {self.pulse_ceiling:g}"
            )
        if self.diastolic_ceiling >= self.systolic_ceiling:
            raise ThresholdError("the diastolic ceiling must be below the systolic ceiling")
        if not 0 < self.spo2_floor <= 100:
            raise ThresholdError(f"SpO2 floor {self.spo2_floor:g} must be between 0 and 100 %")
        if self.hypotension_floor is not None and self.hypotension_floor >= self.systolic_ceiling:
            raise ThresholdError("the hypotension floor must be below the systolic ceiling")

    @classmethod
    def clinic_default(cls, config: ClinicalConfig) -> ThresholdSet:
        """The clinic's default set, unconfirmed: a starting point the clinician edits."""
        d = config.default_thresholds
        return cls(
            d.systolic_ceiling,
            d.diastolic_ceiling,
            d.spo2_floor,
            d.pulse_floor,
            d.pulse_ceiling,
            d.hypotension_floor,
        )

    @property
    def is_confirmed(self) -> bool:
        """True once a named clinician confirmed the set."""
        return self.confirmed_by is not None

    def value(self, field: ThresholdField) -> float | None:
        """The value of one field."""
        result: float | None = getattr(self, field.value)
        return result

    def confirm(self, by: str, at: datetime) -> ThresholdSet:
        """This set, confirmed by the named clinician."""
        return replace(self, confirmed_by=require_clinician(by, "Confirming the thresholds"), confirmed_at=at)


@dataclass(frozen=True, slots=True)
class ThresholdChange:
    """A recorded change to a locked threshold (THR-5)."""

    who: str
    when: datetime
    field: ThresholdField
    old: float | None
    new: float | None
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
    """What one NIBP reading means for this patient: its band class and any threshold crossed."""

    reading: NibpReading
    judged: bool
    not_judged_reason: str = ""
    systolic_class: BpClass | None = None
    diastolic_class: BpClass | None = None
    past_threshold: tuple[str, ...] = ()
    below_hypotension_floor: bool = False
    offered_protocol: str | None = None

    @property
    def band_class(self) -> BpClass | None:
        """The worse of the systolic and diastolic classes (None when not judged)."""
        if self.systolic_class is None or self.diastolic_class is None:
            return None
        return max(self.systolic_class, self.diastolic_class)

    @property
    def above_band(self) -> bool:
        """True when systolic or diastolic is above the expected band."""
        return self.band_class is BpClass.ABOVE_EXPECTED

    @property
    def meaningful_spike(self) -> bool:
        """Above the band or past the patient's own ceiling (THR-4)."""
        return self.judged and (self.above_band or bool(self.past_threshold))

    @property
    def bp_high(self) -> AlarmPriority | None:
        """The priority of the BP-high condition this reading raises, or None (THR-4)."""
        if not self.meaningful_spike:
            return None
        return AlarmPriority.HIGH if self.past_threshold else AlarmPriority.MEDIUM

    @property
    def bp_low(self) -> AlarmPriority | None:
        """The priority of the BP-low condition this reading raises, or None (THR-7)."""
        return AlarmPriority.MEDIUM if self.judged and self.below_hypotension_floor else None

    @property
    def reading_class(self) -> ReadingClass:
        """The one class every view shows: thresholds first, then the band."""
        if not self.judged:
            return ReadingClass.NOT_JUDGED
        if self.past_threshold:
            return ReadingClass.PAST_CEILING
        if self.below_hypotension_floor:
            return ReadingClass.BELOW_FLOOR
        band = self.band_class
        if band is None:
            return ReadingClass.WITHIN_LIMITS
        return {
            BpClass.ABOVE_EXPECTED: ReadingClass.ABOVE_EXPECTED,
            BpClass.EXPECTED_RISE: ReadingClass.EXPECTED_RISE,
            BpClass.AT_BASELINE: ReadingClass.AT_BASELINE,
        }[band]

    @property
    def label(self) -> str:
        """The reading's class in a clinician's words, consistent with its alarm."""
        return self.reading_class.value.replace("_", " ")

    def summary(self) -> str:
        """The judgement in a clinician's words."""
        r = self.reading
        if not self.judged:
            return f"NIBP not judged: {self.not_judged_reason}"
        text = f"NIBP {r.systolic:g}/{r.diastolic:g}: "
        parts = [self.band_class.label] if self.band_class is not None else []
        parts += [f"past {t}" for t in self.past_threshold]
        if self.below_hypotension_floor:
            parts.append("below the hypotension floor")
        return text + ", ".join(parts)


def judge_nibp(
    reading: NibpReading, thresholds: ThresholdSet, band: ExpectedRiseBand, config: ClinicalConfig
) -> NibpJudgement:
    """Judge one reading against the band and the thresholds; invalid data is never judged (MON-6)."""
    if not reading.is_valid:
        return NibpJudgement(reading, judged=False, not_judged_reason=f"quality {reading.quality.value}")
    systolic, diastolic = reading.systolic, reading.diastolic
    assert systolic is not None and diastolic is not None  # is_valid guarantees both
    for kind, value in ((VitalKind.NIBP_SYSTOLIC, systolic), (VitalKind.NIBP_DIASTOLIC, diastolic)):
        if not config.is_possible(kind, value):
            reason = f"{kind.value} {value:g} is outside the possible range"
            return NibpJudgement(reading, judged=False, not_judged_reason=reason)
    past: list[str] = []
    if systolic > thresholds.systolic_ceiling:
        past.append(f"systolic ceiling {thresholds.systolic_ceiling:g}")
    if diastolic > thresholds.diastolic_ceiling:
        past.append(f"diastolic ceiling {thresholds.diastolic_ceiling:g}")
    classes = band.classify(systolic, diastolic)
    spike = bool(past) or classes.overall is BpClass.ABOVE_EXPECTED
    return NibpJudgement(
        reading,
        judged=True,
        systolic_class=classes.systolic,
        diastolic_class=classes.diastolic,
        past_threshold=tuple(past),
        below_hypotension_floor=(
            thresholds.hypotension_floor is not None and systolic < thresholds.hypotension_floor
        ),
        offered_protocol=config.protocols.bp_spike if spike else None,
    )


class ThresholdBook:
    """Holds the patient's threshold set; free to edit before the lock, changed by record after it."""

    def __init__(self, config: ClinicalConfig, clock: Clock) -> None:
        self._config = config
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
        """Enter or replace the set before infusion (the clinician then confirms it)."""
        if self.locked:
            raise ThresholdsLockedError(
                "thresholds are locked for the infusion: change one value with a reason instead"
            )
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
        """Change one value of the locked set, recording who, when, old, new and why (THR-5)."""
        person = require_clinician(who, f"Changing the {field.value} threshold")
        if not reason.strip():
            raise ThresholdError(f"changing the {field.value} threshold during infusion needs a reason")
        if new is None and field is not ThresholdField.HYPOTENSION_FLOOR:
            raise ThresholdError(f"the {field.value} threshold cannot be removed, only changed")
        current = self.current
        old = current.value(field)
        # The clinician changing it is the one who confirms the new set.
        values: dict[str, Any] = {field.value: new, "confirmed_by": person, "confirmed_at": self._clock.now()}
        updated = replace(current, **values)
        record = ThresholdChange(person, self._clock.now(), field, old, new, reason.strip())
        self._current = updated
        if self.locked:
            self._changes.append(record)
        log.info("threshold %s changed from %s to %s by %s", field.value, old, new, person)
        return record

    def judge_nibp(self, reading: NibpReading, band: ExpectedRiseBand) -> NibpJudgement:
        """Judge a reading against the set in force and the patient's band."""
        return judge_nibp(reading, self.current, band, self._config)
