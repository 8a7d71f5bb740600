"""Sample records for storage tests."""

from __future__ import annotations

from datetime import timedelta

from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind


def spo2(clock: FakeClock, value: float | None, *, offset_s: float = 0.0) -> Observation:
    """An SpO2 observation measured ``offset_s`` after the clock's current time."""
    at = clock.now() + timedelta(seconds=offset_s)
    return Observation(
        kind=VitalKind.SPO2,
        value=value,
        unit=CANONICAL_UNIT[VitalKind.SPO2],
        measured_at=at,
        received_at=at,
        received_mono=clock.monotonic() + offset_s,
        source="masimo-sim",
        quality=Quality.VALID if value is not None else Quality.PROBE_OFF,
    )
