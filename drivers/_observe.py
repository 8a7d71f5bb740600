"""Turning one decoded value into an Observation, shared by the serial drivers (MON-6).

Every driver must give each value its canonical unit, its source, its two times and a quality,
and must never present "no number" as valid. Doing that in one place keeps the drivers honest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from drivers.ranges import mark_implausible, out_of_range
from drivers.types import CANONICAL_UNIT, Observation, Quality, Stamp, VitalKind

log = logging.getLogger(__name__)

#: Which quality wins when a device reports several problems at once: the one that most
#: changes what the clinician should do first (re-seat the probe before waiting out motion).
QUALITY_PRECEDENCE: tuple[Quality, ...] = (
    Quality.PROBE_OFF,
    Quality.CUFF_ERROR,
    Quality.SEARCHING,
    Quality.LOW_PERFUSION,
    Quality.ARTIFACT,
    Quality.IMPLAUSIBLE,
    Quality.UNKNOWN,
    Quality.VALID,
)


def worst_quality(qualities: Iterable[Quality]) -> Quality:
    """The most serious quality among ``qualities`` (VALID when there are none)."""
    found = set(qualities)
    for quality in QUALITY_PRECEDENCE:
        if quality in found:
            return quality
    return Quality.VALID


def make_observation(
    kind: VitalKind,
    value: float | None,
    quality: Quality,
    *,
    measured_at: datetime,
    stamp: Stamp,
    source: str,
    device: str,
    detail: str = "",
) -> Observation:
    """An Observation in the kind's canonical unit; a missing number is never VALID, and a number
    ``device`` (its protocol name) cannot measure is IMPLAUSIBLE with the reason (drivers/ranges.py)."""
    if value is None and quality is Quality.VALID:
        # The device flagged nothing, yet sent no number: we cannot vouch for it either.
        quality = Quality.UNKNOWN
    obs = Observation(
        kind=kind,
        value=value,
        unit=CANONICAL_UNIT[kind],
        measured_at=measured_at,
        received_at=stamp.wall,
        received_mono=stamp.mono,
        source=source,
        quality=quality,
        detail=detail,
    )
    reason = out_of_range(device, kind, value)
    return obs if reason is None else mark_implausible(obs, reason)
