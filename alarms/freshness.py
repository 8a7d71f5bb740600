"""Whether a continuous value may be shown as "now", greyed with its age, or not at all
(MON-1, MON-6). The one home of this rule: the screen asks ``freshness_state`` instead of
keeping its own limits, so a clinic's ``monitoring`` settings change what the screen shows.

- CURRENT: valid and younger than ``monitoring.no_valid_spo2_s``, the same limit after which the
  alarm system treats the value as unknown and raises "no valid SpO2".
- STALE: valid, older than that but not older than ``monitoring.stale_after_s``: shown greyed
  with its age, never as current.
- NO_VALID: no valid value, or an older one: the tile shows "---".

NIBP readings are discrete and always shown with their own measurement time instead.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from alarms.config import ClinicalConfig
from drivers.clock import Clock
from drivers.types import Observation

log = logging.getLogger(__name__)


class Freshness(enum.StrEnum):
    """How the screen may present a continuous value."""

    CURRENT = "current"  # show as the value now
    STALE = "stale"  # show greyed, with its age
    NO_VALID = "no_valid"  # show "---": nothing valid recent enough


def age_s(obs: Observation, clock: Clock) -> float:
    """Seconds since the observation arrived (monotonic, immune to wall-clock jumps; never negative)."""
    return max(0.0, clock.monotonic() - obs.received_mono)


def measured_age_s(measured_at: datetime, received_at: datetime, received_mono: float, clock: Clock) -> float:
    """Seconds since a value was measured, never negative and immune to this PC's clock steps.

    The time since it arrived is monotonic; to it is added how long before its arrival the device
    says it was measured (both wall times were stamped together, so a later step cannot enter).
    A device clock ahead of this PC adds nothing: a value is never younger than its arrival.
    """
    before_arrival = max(0.0, (received_at - measured_at).total_seconds())
    return max(0.0, clock.monotonic() - received_mono) + before_arrival


def freshness_state(obs: Observation | None, clock: Clock, config: ClinicalConfig) -> Freshness:
    """How to show ``obs``, the newest VALID observation of one vital (None when there is none).

    Judged on arrival time, so a device clock that is wrong cannot make a value look fresh.
    """
    if obs is None or not obs.is_valid:
        return Freshness.NO_VALID
    age = age_s(obs, clock)
    limits = config.monitoring
    if age < limits.no_valid_spo2_s:
        return Freshness.CURRENT
    if age <= limits.stale_after_s:
        return Freshness.STALE
    return Freshness.NO_VALID


def is_current(obs: Observation, clock: Clock, config: ClinicalConfig) -> bool:
    """True when the value is valid and arrived within ``stale_after_s``: it may still be shown
    (``freshness_state`` is CURRENT or STALE)."""
    return freshness_state(obs, clock, config) is not Freshness.NO_VALID
