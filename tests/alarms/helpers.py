"""Builders for observations and readings used across the alarm tests."""

from __future__ import annotations

from datetime import datetime

from alarms.nibp_reading import NibpReading
from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind


def obs(
    clock: FakeClock,
    kind: VitalKind,
    value: float | None,
    quality: Quality = Quality.VALID,
    source: str = "oximeter",
    measured_at: datetime | None = None,
) -> Observation:
    """An observation measured and received now on the fake clock."""
    now = clock.now()
    return Observation(
        kind=kind,
        value=value,
        unit=CANONICAL_UNIT[kind],
        measured_at=measured_at or now,
        received_at=now,
        received_mono=clock.monotonic(),
        source=source,
        quality=quality,
    )


def nibp_obs(
    clock: FakeClock,
    systolic: float | None,
    diastolic: float | None,
    mean: float | None,
    quality: Quality = Quality.VALID,
    source: str = "nibp",
) -> list[Observation]:
    """The three observations a monitor sends for one NIBP cycle measured now."""
    return [
        obs(clock, VitalKind.NIBP_SYSTOLIC, systolic, quality, source),
        obs(clock, VitalKind.NIBP_DIASTOLIC, diastolic, quality, source),
        obs(clock, VitalKind.NIBP_MEAN, mean, quality, source),
    ]


def reading(
    clock: FakeClock, systolic: float, diastolic: float, mean: float | None = None, source: str = "nibp"
) -> NibpReading:
    """A valid NIBP reading measured now."""
    if mean is None:
        mean = round((systolic + 2 * diastolic) / 3)
    return NibpReading(systolic, diastolic, mean, clock.now(), source)
