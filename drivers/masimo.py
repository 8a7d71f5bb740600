"""Masimo Rad-8 / Rad-7 / Radical-7 "ASCII 1" serial output: SpO2, pulse rate, PI (MON-1, MON-6).

One line per second, 9600 8N1, terminated by CR LF (in either order), for example::

    02/22/16 22:47:45 SN=0000056661 SPO2=098% BPM=097 PI=03.60% SPCO=--.-% SPMET=--.-%
        DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800

``---`` / ``--.--`` mean "no number" and become ``None``, never zero. The ``EXC`` hex field carries
the device's exception bits, mapped to a Quality through ``EXCEPTION_BITS``. There is no checksum:
a line that breaks the grammar is rejected whole and counted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import ClassVar

from drivers._line_framer import LineFramer, OverlongLine
from drivers._observe import make_observation, worst_quality
from drivers.types import (
    DecodeResult,
    FrameCounters,
    FrameRejection,
    LineSettings,
    Observation,
    Quality,
    Stamp,
    VitalKind,
)

log = logging.getLogger(__name__)

#: Longest ASCII 1 line we accept; a Rad-7 line with every field is about 190 characters.
MAX_LINE = 512


@dataclass(frozen=True, slots=True)
class ExceptionBit:
    """One bit of the ``EXC`` field: the device's own name for it and what it means for a value."""

    name: str
    quality: Quality


#: EXC bits. Source: Masimo Rad-8 Operator's Manual, "Trend Data format" exception list
#: (quoted in github.com/nmenon/masimo-datacapture, BSD-2-Clause) and its sample trend output
#: (820 = OffPat,SET; 828 = Search,OffPat,SET; C00 = LowSigIQ,SET). 0x100 and 0x200 are reserved.
#: Rad-7 sends 7 digits (e.g. 0000C00) with the same low bits.
EXCEPTION_BITS: dict[int, ExceptionBit] = {
    0x001: ExceptionBit("no sensor", Quality.PROBE_OFF),
    0x002: ExceptionBit("defective sensor", Quality.PROBE_OFF),
    0x004: ExceptionBit("low perfusion", Quality.LOW_PERFUSION),
    0x008: ExceptionBit("pulse search", Quality.SEARCHING),
    0x010: ExceptionBit("interference", Quality.ARTIFACT),
    0x020: ExceptionBit("sensor off patient", Quality.PROBE_OFF),
    0x040: ExceptionBit("ambient light", Quality.ARTIFACT),
    # The monitor cannot measure through a sensor it does not recognise: no usable probe.
    0x080: ExceptionBit("unrecognized sensor", Quality.PROBE_OFF),
    0x400: ExceptionBit("low signal IQ", Quality.ARTIFACT),
    # SET = the full Masimo SET algorithm is running on clean data: good news, not a problem.
    0x800: ExceptionBit("Masimo SET", Quality.VALID),
}


def exception_quality(exc: int) -> Quality:
    """The Quality an EXC value implies (unknown/reserved bits do not change it)."""
    return worst_quality(bit.quality for mask, bit in EXCEPTION_BITS.items() if exc & mask)


def exception_names(exc: int) -> tuple[str, ...]:
    """The device's names for the known bits set in an EXC value, lowest bit first."""
    return tuple(bit.name for mask, bit in sorted(EXCEPTION_BITS.items()) if exc & mask)


@dataclass(frozen=True, slots=True)
class MasimoReading:
    """One parsed ASCII 1 line. Numbers are None where the device sent dashes."""

    device_time: datetime | None  # naive: the device's own clock, zone unknown to the device
    serial_number: str | None
    spo2: float | None
    pulse_rate: float | None
    perfusion_index: float | None
    exceptions: int
    alarm: int | None = None
    exceptions1: int | None = None
    other: tuple[tuple[str, str], ...] = ()  # SPCO, SPMET, PVI, DESAT, PIDELTA ... kept raw

    @property
    def quality(self) -> Quality:
        """The quality the EXC bits give every value on this line."""
        return exception_quality(self.exceptions)


_DATE = re.compile(r"^(\d\d)/(\d\d)/(\d\d)$")
_TIME = re.compile(r"^(\d\d):(\d\d):(\d\d)$")
#: ASCII 1 numbers have at most 3 digits and 2 decimals ("098", "03.60"); a longer run is a garbled
#: line, and a few hundred digits would read as infinity (found by fuzzing, issue 11).
_NUMBER = re.compile(r"^(\d{1,4}(?:\.\d{1,4})?)%?$")
_NO_NUMBER = re.compile(r"^-+(?:\.-+)?%?$")
_HEX = re.compile(r"^[0-9A-Fa-f]{1,8}$")


class MasimoLineError(ValueError):
    """A line that is not valid ASCII 1 (the message says which part is wrong)."""


def _number(key: str, raw: str) -> float | None:
    if _NO_NUMBER.match(raw):
        return None
    match = _NUMBER.match(raw)
    if match is None:
        raise MasimoLineError(f"{key} value {raw[:20]!r} is neither a number of ASCII 1 size nor dashes")
    return float(match.group(1))


def _hex(key: str, raw: str) -> int:
    # The trend (TrendCom) form appends the bit names: "EXC=820:OffPat,SET".
    digits = raw.split(":", 1)[0]
    if not _HEX.match(digits):
        raise MasimoLineError(f"{key} value {raw!r} is not hexadecimal")
    return int(digits, 16)


def _device_time(date: str, time: str) -> datetime:
    day_match, time_match = _DATE.match(date), _TIME.match(time)
    if day_match is None or time_match is None:
        raise MasimoLineError(f"device time {date} {time!r} is not MM/DD/YY HH:MM:SS")
    month, day, year = (int(g) for g in day_match.groups())
    hour, minute, second = (int(g) for g in time_match.groups())
    try:
        return datetime(2000 + year, month, day, hour, minute, second)
    except ValueError as exc:
        raise MasimoLineError(f"device time {date} {time} does not exist: {exc}") from None


def parse_masimo_line(line: bytes) -> MasimoReading:
    """Parse one ASCII 1 line (without its CR/LF). Raises MasimoLineError with the reason."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise MasimoLineError("line is not ASCII text") from None
    tokens = text.split()
    if not tokens:
        raise MasimoLineError("empty line")
    device_time: datetime | None = None
    if _DATE.match(tokens[0]):
        if len(tokens) < 2:
            raise MasimoLineError("date without a time")
        device_time = _device_time(tokens[0], tokens[1])
        tokens = tokens[2:]
    fields: dict[str, str] = {}
    order: list[str] = []
    for token in tokens:
        key, sep, value = token.partition("=")
        if not sep or not key:
            raise MasimoLineError(f"token {token!r} is not KEY=VALUE")
        key = key.upper()
        if key in fields:
            raise MasimoLineError(f"field {key} appears twice")
        fields[key] = value
        order.append(key)
    pulse_key = "PR" if "PR" in fields and "BPM" not in fields else "BPM"  # PR= in the trend form
    for required in ("SPO2", pulse_key, "EXC"):
        if required not in fields:
            raise MasimoLineError(f"no {required}= field")
    spo2 = _number("SPO2", fields["SPO2"])
    if spo2 is not None and spo2 > 100:
        raise MasimoLineError(f"SPO2 {spo2:g} is above 100 %")
    pulse_rate = _number(pulse_key, fields[pulse_key])
    perfusion_index = _number("PI", fields["PI"]) if "PI" in fields else None
    exceptions = _hex("EXC", fields["EXC"])
    alarm = _hex("ALARM", fields["ALARM"]) if "ALARM" in fields else None
    exceptions1 = _hex("EXC1", fields["EXC1"]) if "EXC1" in fields else None
    serial = fields.get("SN")
    known = {"SPO2", pulse_key, "PI", "EXC", "ALARM", "EXC1", "SN"}
    if exception_quality(exceptions) in (Quality.PROBE_OFF, Quality.SEARCHING):
        # The trend form writes 000 while off patient or searching: that is no measurement.
        spo2 = None if spo2 == 0 else spo2
        pulse_rate = None if pulse_rate == 0 else pulse_rate
        perfusion_index = None if perfusion_index == 0 else perfusion_index
    return MasimoReading(
        device_time=device_time,
        serial_number=None if serial is None or _NO_NUMBER.match(serial) else serial,
        spo2=spo2,
        pulse_rate=pulse_rate,
        perfusion_index=perfusion_index,
        exceptions=exceptions,
        alarm=alarm,
        exceptions1=exceptions1,
        other=tuple((key, fields[key]) for key in order if key not in known),
    )


class MasimoAsciiDriver:
    """Masimo ASCII 1 driver: lines in, SpO2 / pulse rate / PI observations out.

    ``device_tz`` is the zone the device clock is set to; its times are converted to UTC. With
    ``use_device_time=False`` the line's time is ignored and values are stamped on arrival (a
    device clock that cannot be trusted). ``drivers.registry.make_driver`` passes both from the
    device's clock setting (default: this PC's zone, since the line carries no zone).
    """

    protocol: ClassVar[str] = "masimo-ascii"
    line_settings: ClassVar[LineSettings | None] = LineSettings(baudrate=9600)
    can_start_nibp: ClassVar[bool] = False

    def __init__(self, source: str, device_tz: tzinfo = UTC, *, use_device_time: bool = True) -> None:
        self.source = source
        self.device_tz = device_tz
        self.use_device_time = use_device_time
        self.counters = FrameCounters()
        self._framer = LineFramer(MAX_LINE)

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult:
        """Decode whatever complete lines ``data`` finishes; bad lines are counted, not raised."""
        observations: list[Observation] = []
        rejections: list[FrameRejection] = []
        frames = 0
        for item in self._framer.feed(data):
            if isinstance(item, OverlongLine):
                rejections.append(FrameRejection(f"line longer than {MAX_LINE} bytes", item.head))
                continue
            try:
                reading = parse_masimo_line(item)
            except MasimoLineError as exc:
                rejections.append(FrameRejection(str(exc), item))
                continue
            frames += 1
            observations.extend(self._observations(reading, stamp))
        self.counters.tally(frames, rejections, self._framer.bytes_discarded, observations)
        if rejections:
            log.debug("%s: %d Masimo line(s) rejected: %s", self.source, len(rejections), rejections[-1])
        return DecodeResult(tuple(observations), (), tuple(rejections), frames)

    def _observations(self, reading: MasimoReading, stamp: Stamp) -> list[Observation]:
        if reading.device_time is None or not self.use_device_time:
            measured_at = stamp.wall
        else:
            measured_at = reading.device_time.replace(tzinfo=self.device_tz).astimezone(UTC)
        quality = reading.quality
        detail = ", ".join(exception_names(reading.exceptions))
        values = (
            (VitalKind.SPO2, reading.spo2),
            (VitalKind.PULSE_RATE, reading.pulse_rate),
            (VitalKind.PERFUSION_INDEX, reading.perfusion_index),
        )
        return [
            make_observation(
                kind,
                value,
                quality,
                measured_at=measured_at,
                stamp=stamp,
                source=self.source,
                device=self.protocol,
                detail=detail,
            )
            for kind, value in values
        ]

    def start_nibp_command(self) -> None:
        """Always None: a pulse oximeter has no NIBP cuff to start (MON-3 prompts instead)."""
        return None
