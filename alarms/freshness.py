"""Whether a continuous value is current enough to show as "now" (MON-1, MON-6).

A value older than ``monitoring.stale_after_s`` is never shown as current: the view greys it out
with its age. NIBP readings are discrete and always shown with their own measurement time instead.
"""

from __future__ import annotations

import logging

from alarms.config import ClinicalConfig
from drivers.clock import Clock
from drivers.types import Observation

log = logging.getLogger(__name__)


def age_s(obs: Observation, clock: Clock) -> float:
    """Seconds since the observation arrived (monotonic, immune to wall-clock jumps)."""
    return clock.monotonic() - obs.received_mono


def is_current(obs: Observation, clock: Clock, config: ClinicalConfig) -> bool:
    """True when the value is valid and arrived within ``stale_after_s``."""
    return obs.is_valid and age_s(obs, clock) <= config.monitoring.stale_after_s
