"""Device drivers: framers and parsers for each wire protocol, and the shared domain types."""

from __future__ import annotations

from drivers.clock import Clock, FakeClock, SystemClock
from drivers.types import (
    CANONICAL_UNIT,
    DecodeResult,
    DeviceDriver,
    DeviceEvent,
    DeviceEventKind,
    FrameCounters,
    FrameRejection,
    LineSettings,
    Observation,
    Quality,
    Stamp,
    VitalKind,
)

__all__ = [
    "CANONICAL_UNIT",
    "Clock",
    "DecodeResult",
    "DeviceDriver",
    "DeviceEvent",
    "DeviceEventKind",
    "FakeClock",
    "FrameCounters",
    "FrameRejection",
    "LineSettings",
    "Observation",
    "Quality",
    "Stamp",
    "SystemClock",
    "VitalKind",
]
