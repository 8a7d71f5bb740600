"""What a simulated device knows at one instant, and the contract of a wire encoder.

A scenario produces ``VitalsSnapshot`` values over time; an encoder turns one snapshot into the
exact bytes the real device would put on the wire. Drivers decode those bytes back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from drivers.types import Quality


@dataclass(frozen=True, slots=True)
class NibpSnapshot:
    """The last completed NIBP measurement the device holds (or a failed one)."""

    systolic: float | None
    diastolic: float | None
    mean: float | None
    measured_at: datetime
    error: str = ""  # non-empty: the cycle failed (cuff error), values are None


@dataclass(frozen=True, slots=True)
class VitalsSnapshot:
    """The simulated truth at device time ``at``. None means the device has no number."""

    at: datetime
    spo2: float | None
    pulse_rate: float | None
    heart_rate: float | None = None
    perfusion_index: float | None = None
    oximeter_quality: Quality = Quality.VALID
    nibp: NibpSnapshot | None = None
    silent: bool = False  # the device sends nothing at all (cable pulled, device frozen)


class WireEncoder(Protocol):
    """Turns snapshots into a device's own bytes. The inverse of that device's driver."""

    protocol: str
    #: Seconds between two emissions of the real device (a pty ignores baud: the host paces).
    period_s: float

    def encode(self, snapshot: VitalsSnapshot) -> bytes:
        """The bytes the device sends for this instant (one line, frame packet or message)."""
        ...
