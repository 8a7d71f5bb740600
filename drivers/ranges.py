"""What each device can measure, per vital kind: a value outside is not a measurement (MON-6, ALM-2).

A serial line without a checksum (Masimo ASCII 1), a checksum of one byte (Nonin, SunTech) or a
gateway that relays what it is given (HL7) can all deliver a number no device produced: a fuzzed
run found diastolic 59,722 mmHg and PI 5,640 % in frames that passed every check. Such a value is
kept (the record shows what arrived) but marked ``Quality.IMPLAUSIBLE`` with the reason, counted
on the link, and so never plotted, stored or judged as valid.

The table is a device fact, so it lives with the drivers; the clinic's own "possible ranges" for
judging (alarms/defaults.yaml) are a separate, clinical matter and stay in the alarm engine.

Sources for the edges (``basis`` on each range):
- Masimo SET (Rad-8 / Radical-7): SpO2 1-100 %, PI 0.02-20 % (Masimo module specifications as
  printed in monitor manuals that embed it, e.g. Mindray's).
- Nonin OEM III: SpO2 0-100 % (OEM III specification). DF2 can carry SpO2 up to 127 and a rate up
  to 511, so the wire alone does not bound them.
- SunTech Advantage: systolic 40-260, diastolic 20-200 mmHg (SunTech OEM module specification).
  The mean is bounded by the two.
- Ivy 450C and an unknown HL7 gateway: no manual at hand; the ranges of oscillometric and
  oximetry monitors in general (``basis`` says so).

Rates are 0-350/min for every device, whatever its manual says. The manuals' rate ranges (Masimo
to 240, Nonin to 321, SunTech to 220) are where accuracy is specified; a device counting a slower
or faster rhythm still reports a real extreme that must alarm (ALM-4: a pulse of 18/min or 250/min
is judged, with its high-priority tier). Whether it is clinically possible is the alarm engine's
call; only a rate no heart has (negative, above 350/min) is not a measurement.

Two NIBP rules hold for every cuff: the diastolic is below the systolic (otherwise all three
values of the reading are implausible: which field was garbled cannot be told), and the mean lies
between them (otherwise only the mean is: the engine can still judge the reading on a calculated
mean, alarms/nibp_reading.py).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class MeasurementRange:
    """The values (inclusive, in the kind's canonical unit) a device can report, and why."""

    low: float
    high: float
    basis: str

    def __post_init__(self) -> None:
        if not self.low < self.high:
            raise ValueError(f"a measurement range needs low < high, got {self.low} .. {self.high}")

    def contains(self, value: float) -> bool:
        """True for a finite value inside the range."""
        return math.isfinite(value) and self.low <= value <= self.high


_GENERAL = "monitors of this kind in general (no manual for this device)"
#: Every device's rates: extremes a device counts are judged (ALM-4), see the module docstring.
RATE = MeasurementRange(0, 350, "no heart beats faster; slower or faster than the manual is still judged")

#: For a device the table does not name, or a kind it has no entry for.
GENERIC_RANGES: dict[VitalKind, MeasurementRange] = {
    VitalKind.SPO2: MeasurementRange(0, 100, "a saturation is a percentage"),
    VitalKind.PULSE_RATE: RATE,
    VitalKind.HEART_RATE: RATE,
    VitalKind.NIBP_SYSTOLIC: MeasurementRange(20, 300, _GENERAL),
    VitalKind.NIBP_DIASTOLIC: MeasurementRange(10, 250, _GENERAL),
    VitalKind.NIBP_MEAN: MeasurementRange(15, 270, _GENERAL),
    VitalKind.PERFUSION_INDEX: MeasurementRange(0, 20, _GENERAL),
}

_MASIMO = "Masimo SET specification"
_NONIN = "Nonin OEM III specification"
_SUNTECH = "SunTech Advantage OEM specification"

#: Protocol name (as in drivers.registry.DRIVERS) -> what that device measures.
DEVICE_RANGES: dict[str, dict[VitalKind, MeasurementRange]] = {
    "masimo-ascii": {
        VitalKind.SPO2: MeasurementRange(1, 100, _MASIMO),
        VitalKind.PULSE_RATE: RATE,
        VitalKind.PERFUSION_INDEX: MeasurementRange(0.02, 20, _MASIMO),
    },
    "nonin-df2": {
        VitalKind.SPO2: MeasurementRange(0, 100, _NONIN),
        VitalKind.PULSE_RATE: RATE,
    },
    "suntech-advantage": {
        VitalKind.NIBP_SYSTOLIC: MeasurementRange(40, 260, _SUNTECH),
        VitalKind.NIBP_DIASTOLIC: MeasurementRange(20, 200, _SUNTECH),
        VitalKind.NIBP_MEAN: MeasurementRange(20, 260, _SUNTECH + " (between diastolic and systolic)"),
        VitalKind.PULSE_RATE: RATE,
    },
    "ivy-ansar": {
        VitalKind.SPO2: MeasurementRange(0, 100, _GENERAL),
        VitalKind.PULSE_RATE: RATE,
        VitalKind.HEART_RATE: RATE,
        VitalKind.NIBP_SYSTOLIC: MeasurementRange(30, 280, _GENERAL),
        VitalKind.NIBP_DIASTOLIC: MeasurementRange(10, 220, _GENERAL),
        VitalKind.NIBP_MEAN: MeasurementRange(20, 250, _GENERAL),
    },
    "hl7-pcd01": GENERIC_RANGES,  # a gateway relays many devices: the general ranges
}

_NIBP_NAME = {
    VitalKind.NIBP_SYSTOLIC: "systolic",
    VitalKind.NIBP_DIASTOLIC: "diastolic",
    VitalKind.NIBP_MEAN: "mean",
}


def measurement_range(device: str, kind: VitalKind) -> MeasurementRange:
    """The range ``device`` (a protocol name) reports ``kind`` in; the generic one when not listed."""
    return DEVICE_RANGES.get(device, GENERIC_RANGES).get(kind, GENERIC_RANGES[kind])


def out_of_range(device: str, kind: VitalKind, value: float | None) -> str | None:
    """Why ``value`` cannot be a ``device`` measurement of ``kind``, or None when it can (or is None)."""
    if value is None:
        return None
    bounds = measurement_range(device, kind)
    if bounds.contains(value):
        return None
    unit = CANONICAL_UNIT[kind]
    return (
        f"{kind.value} {value:g} {unit} is outside what {device} measures "
        f"({bounds.low:g}-{bounds.high:g} {unit}, {bounds.basis})"
    )


def nibp_inconsistency(
    systolic: float | None, diastolic: float | None, mean: float | None, device: str = ""
) -> dict[VitalKind, str]:
    """The fields of one NIBP reading that cannot be right together, each with the reason.

    A systolic or diastolic the cuff cannot measure, or a diastolic not below the systolic, spoils
    the whole reading (which field was garbled cannot be told); a bad mean spoils only the mean.
    ``device`` (a protocol name) adds its measurement ranges to the check.
    """
    if device:
        for kind, value in ((VitalKind.NIBP_SYSTOLIC, systolic), (VitalKind.NIBP_DIASTOLIC, diastolic)):
            reason = out_of_range(device, kind, value)
            if reason is not None:
                return dict.fromkeys(_NIBP_NAME, f"reading with {reason}")
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        reason = f"diastolic {diastolic:g} is not below systolic {systolic:g}"
        return dict.fromkeys(_NIBP_NAME, reason)
    if device and (reason := out_of_range(device, VitalKind.NIBP_MEAN, mean)) is not None:
        return {VitalKind.NIBP_MEAN: reason}
    if mean is not None and systolic is not None and mean > systolic:
        return {VitalKind.NIBP_MEAN: f"mean {mean:g} is above systolic {systolic:g}"}
    if mean is not None and diastolic is not None and mean < diastolic:
        return {VitalKind.NIBP_MEAN: f"mean {mean:g} is below diastolic {diastolic:g}"}
    return {}


def mark_implausible(obs: Observation, reason: str) -> Observation:
    """``obs`` with the reason added to its detail; a VALID one becomes IMPLAUSIBLE.

    A value the device already flagged (probe off, cuff error) keeps its flag: it is not valid
    either way, and the device's own reason is the more useful one to show.
    """
    detail = f"{obs.detail}; {reason}" if obs.detail else reason
    quality = Quality.IMPLAUSIBLE if obs.quality is Quality.VALID else obs.quality
    return dataclasses.replace(obs, quality=quality, detail=detail)


def screen(device: str, observations: Sequence[Observation]) -> tuple[Observation, ...]:
    """``observations`` with every value ``device`` cannot have measured marked implausible.

    NIBP values are taken as one reading when they share a source and a measurement time (how
    every driver emits a cycle). Idempotent: screening twice changes nothing more.
    """
    out = list(observations)
    for i, obs in enumerate(out):
        if obs.quality is Quality.IMPLAUSIBLE:
            continue  # already screened
        reason = out_of_range(device, obs.kind, obs.value)
        if reason is not None:
            out[i] = mark_implausible(obs, reason)
    for indexes in _nibp_readings(out):
        # Values the device flagged (cuff error) say nothing; ours (implausible) are still compared.
        numbers = {
            out[i].kind: out[i].value
            for i in indexes
            if out[i].quality in (Quality.VALID, Quality.IMPLAUSIBLE)
        }
        problems = nibp_inconsistency(
            numbers.get(VitalKind.NIBP_SYSTOLIC),
            numbers.get(VitalKind.NIBP_DIASTOLIC),
            numbers.get(VitalKind.NIBP_MEAN),
            device,
        )
        for i in indexes:
            reason = problems.get(out[i].kind)
            if reason is not None and out[i].quality is Quality.VALID:
                out[i] = mark_implausible(out[i], reason)
    marked = sum(1 for before, after in zip(observations, out, strict=True) if before is not after)
    if marked:
        log.info("%s: %d value(s) outside what the device measures, marked implausible", device, marked)
    return tuple(out)


def _nibp_readings(observations: Iterable[Observation]) -> list[list[int]]:
    groups: dict[tuple[str, datetime], list[int]] = {}
    for i, obs in enumerate(observations):
        if obs.kind.is_nibp:
            groups.setdefault((obs.source, obs.measured_at), []).append(i)
    return list(groups.values())


def count_implausible(observations: Iterable[Observation]) -> int:
    """How many of ``observations`` are marked implausible."""
    return sum(1 for obs in observations if obs.quality is Quality.IMPLAUSIBLE)
