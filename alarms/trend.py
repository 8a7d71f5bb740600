"""Judge the BP trend, not only one number: project a rising series to the next cycle (THR-6, MON-3)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from alarms.band import ExpectedRiseBand
from alarms.config import ClinicalConfig
from alarms.nibp_reading import NibpReading, implausibility
from alarms.thresholds import ThresholdSet

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PressureProjection:
    """One pressure's fitted slope and its value projected to the next cycle."""

    slope_mmhg_per_min: float
    projected: float
    limit: float
    limit_name: str = "ceiling"  # "ceiling" (the patient's threshold) or "band top" (THR-3)

    @property
    def crosses(self) -> bool:
        """True when the projection reaches the limit."""
        return self.projected >= self.limit


@dataclass(frozen=True, slots=True)
class TrendAssessment:
    """Whether the series is rising toward a limit before the next cycle, and why in words, e.g.
    "systolic rising 2.0 mmHg/min, projected 159 before the next cycle (ceiling 160)" (THR-6)."""

    rising_toward_threshold: bool
    reason: str
    systolic: PressureProjection | None = None
    diastolic: PressureProjection | None = None


def _fit(times_s: Sequence[float], values: Sequence[float]) -> tuple[float, float]:
    """Least-squares slope (per second) and intercept."""
    n = len(times_s)
    mean_t = sum(times_s) / n
    mean_v = sum(values) / n
    var = sum((t - mean_t) ** 2 for t in times_s)
    if var == 0:
        return 0.0, mean_v
    slope = sum((t - mean_t) * (v - mean_v) for t, v in zip(times_s, values, strict=True)) / var
    return slope, mean_v - slope * mean_t


class BpTrend:
    """Fits the last valid NIBP readings and projects them to the next cycle's time."""

    def __init__(self, config: ClinicalConfig) -> None:
        self._config = config
        self._rules = config.trend

    def assess(
        self,
        readings: Sequence[NibpReading],
        next_cycle_at: datetime,
        thresholds: ThresholdSet,
        band: ExpectedRiseBand | None = None,
    ) -> TrendAssessment:
        """Flag a rise projected to reach the ceiling (or the band top) by ``next_cycle_at``."""
        # Only readings that can be judged make a trend: a swapped or garbled one is not a rise.
        valid = sorted(
            (r for r in readings if implausibility(r, self._config) is None), key=lambda r: r.measured_at
        )
        window = valid[-self._rules.window_readings :]
        if len(window) < self._rules.min_readings:
            return TrendAssessment(
                False, f"fewer than {self._rules.min_readings} valid readings to judge a trend"
            )
        t0 = window[0].measured_at
        times = [(r.measured_at - t0).total_seconds() for r in window]
        if times[-1] == times[0]:
            return TrendAssessment(False, "readings share one time: no trend")
        horizon = (next_cycle_at - t0).total_seconds()
        sys_limit = (thresholds.systolic_ceiling, "ceiling")
        dia_limit = (thresholds.diastolic_ceiling, "ceiling")
        if band is not None and self._rules.include_band_top:
            if band.systolic_limits[1] < sys_limit[0]:
                sys_limit = (band.systolic_limits[1], "band top")
            if band.diastolic_limits[1] < dia_limit[0]:
                dia_limit = (band.diastolic_limits[1], "band top")
        projections = []
        for values, (limit, limit_name) in (
            ([r.systolic for r in window], sys_limit),
            ([r.diastolic for r in window], dia_limit),
        ):
            slope, intercept = _fit(times, [float(v) for v in values if v is not None])
            projections.append(
                PressureProjection(slope * 60.0, intercept + slope * horizon, limit, limit_name)
            )
        systolic, diastolic = projections
        rising = [
            (name, p)
            for name, p in (("systolic", systolic), ("diastolic", diastolic))
            if p.slope_mmhg_per_min > self._rules.min_rise_mmhg_per_min and p.crosses
        ]
        if rising:
            reason = "; ".join(
                f"{name} rising {p.slope_mmhg_per_min:.1f} mmHg/min, projected {p.projected:.0f} "
                f"before the next cycle ({p.limit_name} {p.limit:.0f})"
                for name, p in rising
            )
            return TrendAssessment(True, reason, systolic, diastolic)
        return TrendAssessment(
            False, "no rise projected to reach a limit before the next cycle", systolic, diastolic
        )
