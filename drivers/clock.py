"""Injected time. Nothing in Bedside reads the system clock except ``SystemClock``."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from drivers.types import Stamp


class Clock(Protocol):
    """Wall time (UTC, for records) and monotonic seconds (for ages, timers, silence)."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def stamp(self) -> Stamp: ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def stamp(self) -> Stamp:
        return Stamp(wall=self.now(), mono=self.monotonic())


class FakeClock:
    """A clock tests move by hand, so a 40-minute session runs in milliseconds."""

    def __init__(self, start: datetime | None = None, mono: float = 1000.0) -> None:
        self._wall = start or datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)
        self._mono = mono
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._wall

    def monotonic(self) -> float:
        with self._lock:
            return self._mono

    def stamp(self) -> Stamp:
        with self._lock:
            return Stamp(wall=self._wall, mono=self._mono)

    def advance(self, seconds: float) -> None:
        """Move both wall and monotonic time forward."""
        if seconds < 0:
            raise ValueError("a clock never goes backwards")
        with self._lock:
            self._wall += timedelta(seconds=seconds)
            self._mono += seconds


class ScaledClock:
    """A clock that runs ``speed`` times faster than another from the moment it is made.

    Drills and demos run the whole app on one accelerated clock, so alarm delays, NIBP
    intervals and the simulated patient all speed up together and stay consistent.
    """

    def __init__(self, base: Clock, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"speed must be positive, got {speed}")
        self.base = base
        self.speed = speed
        self._wall0 = base.now()
        self._mono0 = base.monotonic()

    def monotonic(self) -> float:
        return self._mono0 + (self.base.monotonic() - self._mono0) * self.speed

    def now(self) -> datetime:
        return self._wall0 + timedelta(seconds=self.monotonic() - self._mono0)

    def stamp(self) -> Stamp:
        mono = self.monotonic()
        return Stamp(wall=self._wall0 + timedelta(seconds=mono - self._mono0), mono=mono)
