"""One NIBP measurement (systolic, diastolic, mean) assembled from the device's observations, and
the one test of whether a reading can be judged at all (MON-6, THR-8)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from alarms.config import ClinicalConfig
from drivers.types import Observation, Quality, VitalKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NibpReading:
    """A completed NIBP cycle. Only a VALID reading with both pressures is judged (MON-6)."""

    systolic: float | None
    diastolic: float | None
    mean: float | None
    measured_at: datetime
    source: str
    quality: Quality = Quality.VALID
    #: When the reading arrived: wall stamp and monotonic seconds (None for a reading built from
    #: a record, e.g. restored after a restart: its age then comes from wall time). Bookkeeping,
    #: not part of what was measured: two readings of the same values and time are equal.
    received_at: datetime | None = field(default=None, compare=False)
    received_mono: float | None = field(default=None, compare=False)

    @property
    def is_valid(self) -> bool:
        """True when the device vouches for the reading and both pressures are present."""
        return self.quality is Quality.VALID and self.systolic is not None and self.diastolic is not None


def calculated_mean(systolic: float, diastolic: float) -> float:
    """The mean arterial pressure estimated from systolic and diastolic: dia + (sys - dia) / 3."""
    return diastolic + (systolic - diastolic) / 3


def implausibility(reading: NibpReading, config: ClinicalConfig) -> str | None:
    """Why this reading cannot be judged, in a clinician's words, or None when it can.

    Not valid (cuff error, artifact, a pressure missing), a pressure outside its possible range, or
    a diastolic not below the systolic (swapped or garbled fields) are never judged, never a baseline
    candidate and never part of a trend (MON-6, THR-8). A bad mean alone does not stop judgement:
    see ``judged_mean``.
    """
    if reading.quality is not Quality.VALID:
        return reading.quality.value.replace("_", " ")
    systolic, diastolic = reading.systolic, reading.diastolic
    if systolic is None or diastolic is None:
        return "systolic or diastolic missing"
    for kind, value in ((VitalKind.NIBP_SYSTOLIC, systolic), (VitalKind.NIBP_DIASTOLIC, diastolic)):
        if not config.is_possible(kind, value):
            low, high = config.possible_ranges[kind]
            name = "systolic" if kind is VitalKind.NIBP_SYSTOLIC else "diastolic"
            return f"{name} {value:g} is outside the possible range {low:g}-{high:g} mmHg"
    if diastolic >= systolic:
        return f"diastolic {diastolic:g} is not below systolic {systolic:g}"
    return None


def judged_mean(reading: NibpReading, config: ClinicalConfig) -> tuple[float, bool]:
    """The mean pressure to judge and whether it was calculated (no plausible mean from the device).

    Only for a reading ``implausibility`` accepts. A device mean outside its possible range or not
    between diastolic and systolic is not trusted: the calculated mean is judged instead, so a
    garbled mean can neither raise nor silence a BP-low alarm.
    """
    systolic, diastolic, mean = reading.systolic, reading.diastolic, reading.mean
    assert systolic is not None and diastolic is not None  # implausibility() checked both
    if mean is not None and config.is_possible(VitalKind.NIBP_MEAN, mean) and diastolic <= mean <= systolic:
        return mean, False
    return calculated_mean(systolic, diastolic), True


_PARTS = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)


class NibpAssembler:
    """Groups sys/dia/mean observations from the same source and measurement time into readings.

    A reading is emitted once all three parts arrived, or (mean missing) when the next measurement
    from that source starts or ``flush`` is called. Any invalid part makes the reading invalid.

    A reading equal to the last one emitted from its source (same time, values and quality) is not
    emitted again: an HL7 gateway repeats the last NIBP in every periodic message, and each repeat
    is the same cycle, not a new reading; taken as new, a day-long session judged and kept 17,000
    copies of its 288 cycles (issue 11, found by ``bench_session_24h``).
    """

    def __init__(self) -> None:
        self._pending: dict[str, tuple[datetime, dict[VitalKind, Observation]]] = {}
        #: Per source, the last reading emitted: a repeat of it is not a new cycle.
        self._emitted: dict[str, NibpReading] = {}

    def add(self, obs: Observation) -> list[NibpReading]:
        """Feed one observation; returns the readings it completed (non-NIBP kinds are ignored)."""
        if not obs.kind.is_nibp:
            return []
        out: list[NibpReading] = []
        pending = self._pending.get(obs.source)
        if pending is not None and pending[0] != obs.measured_at:
            out.extend(self._emit(obs.source))
            pending = None
        if pending is None:
            pending = (obs.measured_at, {})
            self._pending[obs.source] = pending
        pending[1][obs.kind] = obs
        if all(kind in pending[1] for kind in _PARTS):
            out.extend(self._emit(obs.source))
        return out

    def add_all(self, observations: Iterable[Observation]) -> list[NibpReading]:
        """Feed a batch (e.g. one DecodeResult's observations) in order."""
        out: list[NibpReading] = []
        for obs in observations:
            out.extend(self.add(obs))
        return out

    def flush(self) -> list[NibpReading]:
        """Emit every partial reading still waiting (e.g. a device that never sends a mean)."""
        out: list[NibpReading] = []
        for source in list(self._pending):
            out.extend(self._emit(source))
        return out

    def _emit(self, source: str) -> list[NibpReading]:
        measured_at, parts = self._pending.pop(source)
        quality = Quality.VALID
        for obs in parts.values():
            if obs.quality is not Quality.VALID:
                quality = obs.quality
                break
        systolic = _value(parts, VitalKind.NIBP_SYSTOLIC)
        diastolic = _value(parts, VitalKind.NIBP_DIASTOLIC)
        if quality is Quality.VALID and (systolic is None or diastolic is None):
            # A "valid" cycle without both pressures cannot be judged: say so, never guess.
            quality = Quality.UNKNOWN
        last = max(parts.values(), key=lambda o: o.received_mono)
        reading = NibpReading(
            systolic=systolic,
            diastolic=diastolic,
            mean=_value(parts, VitalKind.NIBP_MEAN),
            measured_at=measured_at,
            source=source,
            quality=quality,
            received_at=last.received_at,
            received_mono=last.received_mono,
        )
        if self._emitted.get(source) == reading:  # equality leaves out when it arrived
            return []
        self._emitted[source] = reading
        return [reading]


def _value(parts: dict[VitalKind, Observation], kind: VitalKind) -> float | None:
    obs = parts.get(kind)
    return None if obs is None else obs.value
