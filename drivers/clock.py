"""Injected time. Nothing in Bedside reads the system clock except ``SystemClock``.

Two clocks in one: wall time (UTC) stamps records, monotonic seconds run every age, delay and
timer. Someone setting the PC's time back or forward an hour (or NTP stepping it) moves wall time
only, so nothing that waits or measures an age may read it (issue 11, "clock steps").

``SystemClock`` also keeps the stamps themselves in order: its wall time runs on the monotonic
clock from an anchor and follows the operating system's only forward. A step back is detected,
logged and recorded in ``steps`` (so the app can raise it as a technical matter), but never moves
a stamp before one already given: readings, alarms and records stay in the order they happened.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from drivers.types import Stamp

log = logging.getLogger(__name__)

#: A jump between wall and monotonic time larger than this is a clock step, not NTP slewing
#: (which moves the clock by at most 0.5 ms per second).
DEFAULT_STEP_TOLERANCE_S = 2.0


class Clock(Protocol):
    """Wall time (UTC, for records) and monotonic seconds (for ages, timers, silence)."""

    def now(self) -> datetime: ...

    def monotonic(self) -> float: ...

    def stamp(self) -> Stamp: ...


class OsClock:
    """The operating system's clocks as they are, steps included (use ``SystemClock``)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def monotonic(self) -> float:
        return time.monotonic()

    def stamp(self) -> Stamp:
        return Stamp(wall=self.now(), mono=self.monotonic())


@dataclass(frozen=True, slots=True)
class ClockStep:
    """The PC's wall clock jumped by ``step_s`` seconds (negative: set back) at monotonic ``at_mono``.

    ``followed`` is False for a step back: stamps kept running on from where they were.
    """

    step_s: float
    at_mono: float
    system_wall: datetime
    followed: bool

    def describe(self) -> str:
        """The step in a clinic's words."""
        direction = "forward" if self.step_s > 0 else "back"
        then = "stamps follow it" if self.followed else "stamps keep their order and run on from before"
        return f"this PC's clock was set {direction} by {abs(self.step_s):.0f} s; {then}"


class SteadyClock:
    """Wall time that never goes back: ``base``'s wall time, followed forward only, run on monotonic.

    Between steps the wall time is the anchor plus monotonic seconds, so two stamps are as far apart
    as the time that really passed. A jump of ``base``'s wall clock beyond ``step_tolerance_s`` is a
    step: forward steps are followed (re-anchored), backward ones are not. Every step is logged,
    kept in ``steps`` and passed to ``on_step``.
    """

    def __init__(
        self,
        base: Clock,
        *,
        step_tolerance_s: float = DEFAULT_STEP_TOLERANCE_S,
        on_step: Callable[[ClockStep], None] | None = None,
    ) -> None:
        if step_tolerance_s <= 0:
            raise ValueError(f"step_tolerance_s must be positive, got {step_tolerance_s}")
        self.base = base
        self.step_tolerance_s = step_tolerance_s
        self.on_step = on_step
        self.steps: list[ClockStep] = []
        self._lock = threading.Lock()
        self._anchor_wall = base.now()
        self._anchor_mono = base.monotonic()
        self._last_seen_offset = 0.0  # base wall minus our wall at the last reading

    def monotonic(self) -> float:
        return self.base.monotonic()

    def now(self) -> datetime:
        return self.stamp().wall

    def stamp(self) -> Stamp:
        step: ClockStep | None = None
        with self._lock:
            system, mono = self.base.now(), self.base.monotonic()
            wall = self._anchor_wall + timedelta(seconds=mono - self._anchor_mono)
            offset = (system - wall).total_seconds()
            # How far the system clock moved against monotonic time since the last reading.
            jump = offset - self._last_seen_offset
            follow = offset > 0  # ahead of our stamps: following it keeps them in order
            if abs(jump) > self.step_tolerance_s:
                step = ClockStep(jump, mono, system, followed=follow)
            if follow:
                self._anchor_wall, self._anchor_mono, wall = system, mono, system
                offset = 0.0
            self._last_seen_offset = offset
        if step is not None:
            self.steps.append(step)
            log.warning("%s", step.describe())
            if self.on_step is not None:
                self.on_step(step)
        return Stamp(wall=wall, mono=mono)


class SystemClock(SteadyClock):
    """The real clock: the operating system's, with stamps kept in order across clock steps."""

    def __init__(
        self,
        *,
        step_tolerance_s: float = DEFAULT_STEP_TOLERANCE_S,
        on_step: Callable[[ClockStep], None] | None = None,
    ) -> None:
        super().__init__(OsClock(), step_tolerance_s=step_tolerance_s, on_step=on_step)


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

    def step_wall(self, seconds: float) -> None:
        """Set the wall clock forward (positive) or back (negative) while monotonic time runs on:
        what a person changing the PC's time, or NTP stepping it, does to the real clock."""
        with self._lock:
            self._wall += timedelta(seconds=seconds)


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
