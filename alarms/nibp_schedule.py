"""NIBP cycling: the session interval, a countdown, "measure now", and a shorter interval while the
trend rises toward a limit (MON-2, MON-3, PRO-2's recheck)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from alarms.clinician import require_clinician
from alarms.config import ClinicalConfig
from alarms.nibp_reading import NibpReading
from alarms.thresholds import NibpJudgement
from alarms.trend import TrendAssessment
from drivers.clock import Clock

log = logging.getLogger(__name__)


class IntervalNotAllowedError(ValueError):
    """An NIBP interval that is not one of the clinic's allowed intervals."""


@dataclass(frozen=True, slots=True)
class StartCycle:
    """Send the device its start-NIBP command now (the device accepts a remote start)."""

    at: datetime
    reason: str


@dataclass(frozen=True, slots=True)
class PromptClinician:
    """Ask the clinician to start an NIBP cycle on the device (no remote start)."""

    at: datetime
    message: str
    reason: str


@dataclass(frozen=True, slots=True)
class ConfirmRemeasure:
    """A single reading above the band: ask the clinician to confirm with a re-measure (PRO-2)."""

    at: datetime
    reading: NibpReading
    message: str


@dataclass(frozen=True, slots=True)
class IntervalChange:
    """A recorded change of the NIBP interval (MON-3). ``by`` is None for automatic changes."""

    at: datetime
    old_min: int
    new_min: int
    reason: str
    by: str | None = None


@dataclass(frozen=True, slots=True)
class TrendFlag:
    """The trend projects a crossing before the next cycle (THR-6): record and show it, whatever
    the interval (the interval is shortened only when a shorter one exists)."""

    at: datetime
    reason: str


NibpAction = StartCycle | PromptClinician | ConfirmRemeasure | TrendFlag


class NibpScheduler:
    """Countdown to the next NIBP cycle, driven by ``tick`` (about once a second)."""

    def __init__(
        self,
        clock: Clock,
        config: ClinicalConfig,
        interval_min: int | None = None,
        device_can_start: bool = False,
    ) -> None:
        self._clock = clock
        self._rules = config.nibp
        default = self._rules.default_interval_min
        self._session_min = self._allowed(default if interval_min is None else interval_min)
        self._current_min = self._session_min
        self.device_can_start = device_can_start
        self._last_start_mono = clock.monotonic()
        self._changes: list[IntervalChange] = []
        self._shortened = False

    @property
    def session_interval_min(self) -> int:
        """The interval set for the session."""
        return self._session_min

    @property
    def interval_min(self) -> int:
        """The interval in force now (shortened while the trend warrants it)."""
        return self._current_min

    @property
    def shortened(self) -> bool:
        """True while the trend keeps the interval shortened."""
        return self._shortened

    @property
    def changes(self) -> tuple[IntervalChange, ...]:
        """Every interval change, oldest first."""
        return tuple(self._changes)

    def seconds_to_next(self) -> float:
        """The countdown shown to the clinician (0 when a cycle is due)."""
        due = self._last_start_mono + self._current_min * 60
        return max(0.0, due - self._clock.monotonic())

    def next_cycle_at(self) -> datetime:
        """Wall time of the next cycle (for the trend projection)."""
        return self._clock.now() + timedelta(seconds=self.seconds_to_next())

    def set_interval(self, minutes: int, by: str) -> IntervalChange:
        """The clinician sets the session interval (one of the allowed intervals)."""
        who = require_clinician(by, "Changing the NIBP interval")
        new = self._allowed(minutes)
        old = self._current_min
        self._session_min = new
        if not self._shortened:
            self._current_min = new
        return self._record(old, self._current_min, f"session interval set to {new} min", who)

    def measure_now(self, who: str) -> StartCycle | PromptClinician:
        """Start a cycle now on the clinician's request; the countdown restarts."""
        person = require_clinician(who, "Starting an NIBP measurement")
        return self._start(f"measure now requested by {person}")

    def tick(self) -> list[NibpAction]:
        """The action due now, if the countdown reached zero."""
        if self.seconds_to_next() > 0:
            return []
        return [self._start(f"scheduled cycle ({self._current_min} min interval)")]

    def on_reading(
        self, judgement: NibpJudgement, trend: TrendAssessment | None = None
    ) -> tuple[list[NibpAction], IntervalChange | None]:
        """React to a judged reading: prompt a re-measure on a meaningful spike; flag a projected
        crossing (a TrendFlag at any interval, THR-6); shorten or restore the interval by the trend.
        Returns (actions, the interval change if any)."""
        actions: list[NibpAction] = []
        if trend is not None and trend.rising_toward_threshold:
            log.info("NIBP trend flagged: %s", trend.reason)
            actions.append(TrendFlag(self._clock.now(), trend.reason))
        if judgement.judged and judgement.meaningful_spike:
            actions.append(
                ConfirmRemeasure(
                    self._clock.now(),
                    judgement.reading,
                    f"{judgement.summary()}. Confirm with a re-measure now.",
                )
            )
        # While a reading is still a meaningful spike, keep the short interval even if the rise flattened.
        still_spiking = judgement.judged and judgement.meaningful_spike
        change = None if trend is None else self._follow_trend(trend, still_spiking)
        return actions, change

    def _follow_trend(self, trend: TrendAssessment, still_spiking: bool = False) -> IntervalChange | None:
        short = self._rules.shortened_interval_min
        if trend.rising_toward_threshold and not self._shortened and short < self._session_min:
            old = self._current_min
            self._shortened, self._current_min = True, short
            return self._record(old, short, f"trend: {trend.reason}", None)
        if not trend.rising_toward_threshold and self._shortened and not still_spiking:
            old = self._current_min
            self._shortened, self._current_min = False, self._session_min
            return self._record(old, self._session_min, f"trend settled: {trend.reason}", None)
        return None

    def _start(self, reason: str) -> StartCycle | PromptClinician:
        self._last_start_mono = self._clock.monotonic()
        now = self._clock.now()
        if self.device_can_start:
            return StartCycle(now, reason)
        return PromptClinician(now, "Start an NIBP measurement on the monitor now.", reason)

    def _record(self, old: int, new: int, reason: str, by: str | None) -> IntervalChange:
        change = IntervalChange(self._clock.now(), old, new, reason, by)
        self._changes.append(change)
        log.info("NIBP interval %d -> %d min: %s", old, new, reason)
        return change

    def _allowed(self, minutes: int) -> int:
        if minutes not in self._rules.allowed_intervals_min:
            allowed = ", ".join(str(m) for m in self._rules.allowed_intervals_min)
            raise IntervalNotAllowedError(
                f"an NIBP interval of {minutes} min is not allowed; choose {allowed} min"
            )
        return minutes
