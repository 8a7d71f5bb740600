"""The expected ketamine BP rise band: baseline x 1.15 .. x 1.30 is expected, not alarmed (THR-3)."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from alarms.baseline import Baseline
from alarms.config import ClinicalConfig
from alarms.nibp_reading import calculated_mean

log = logging.getLogger(__name__)

# Products like 120 * 1.15 are not exact in binary floating point; a reading equal to a limit
# on paper must fall inside the band, so comparisons allow this much slack (mmHg).
_EDGE_SLACK = 1e-9


class BpClass(enum.IntEnum):
    """Where a pressure sits relative to the band; larger is worse, so ``max()`` gives the overall."""

    AT_BASELINE = 0
    EXPECTED_RISE = 1
    ABOVE_EXPECTED = 2

    @property
    def label(self) -> str:
        """The class in a clinician's words."""
        return _LABELS[self]


_LABELS = {
    BpClass.AT_BASELINE: "at baseline",
    BpClass.EXPECTED_RISE: "expected rise",
    BpClass.ABOVE_EXPECTED: "above expected",
}


@dataclass(frozen=True, slots=True)
class BandClassification:
    """The class of the systolic and diastolic pressures and the worse of the two."""

    systolic: BpClass
    diastolic: BpClass

    @property
    def overall(self) -> BpClass:
        """The worse of systolic and diastolic."""
        return max(self.systolic, self.diastolic)


@dataclass(frozen=True, slots=True)
class ExpectedRiseBand:
    """The band for one patient, from the confirmed baseline and the configured factors.

    ``baseline_mean`` is the baseline's mean pressure (None when the device sent none); a fall in
    mean pressure is judged against it (THR-7).
    """

    baseline_systolic: float
    baseline_diastolic: float
    low_factor: float
    high_factor: float
    baseline_mean: float | None = None

    @classmethod
    def from_baseline(cls, baseline: Baseline, config: ClinicalConfig) -> ExpectedRiseBand:
        """The band around this baseline with the clinic's factors."""
        return cls(
            baseline.systolic,
            baseline.diastolic,
            config.band.low_factor,
            config.band.high_factor,
            baseline.mean,
        )

    @property
    def mean_reference(self) -> tuple[float, bool]:
        """The baseline mean a fall is judged against, and whether it was calculated from the
        baseline's systolic and diastolic (the device sent no mean)."""
        if self.baseline_mean is not None:
            return self.baseline_mean, False
        return calculated_mean(self.baseline_systolic, self.baseline_diastolic), True

    @property
    def systolic_limits(self) -> tuple[float, float]:
        """(bottom, top) of the systolic band in mmHg, for drawing and judging."""
        return (self.baseline_systolic * self.low_factor, self.baseline_systolic * self.high_factor)

    @property
    def diastolic_limits(self) -> tuple[float, float]:
        """(bottom, top) of the diastolic band in mmHg."""
        return (self.baseline_diastolic * self.low_factor, self.baseline_diastolic * self.high_factor)

    def classify_systolic(self, value: float) -> BpClass:
        """Class of one systolic pressure."""
        return _classify(value, self.systolic_limits)

    def classify_diastolic(self, value: float) -> BpClass:
        """Class of one diastolic pressure."""
        return _classify(value, self.diastolic_limits)

    def classify(self, systolic: float, diastolic: float) -> BandClassification:
        """Class of a systolic/diastolic pair."""
        return BandClassification(self.classify_systolic(systolic), self.classify_diastolic(diastolic))


def _classify(value: float, limits: tuple[float, float]) -> BpClass:
    bottom, top = limits
    if value > top + _EDGE_SLACK:
        return BpClass.ABOVE_EXPECTED
    if value >= bottom - _EDGE_SLACK:
        return BpClass.EXPECTED_RISE
    return BpClass.AT_BASELINE
