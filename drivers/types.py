"""Shared domain types: what a device said, when, and how far to trust it (MON-4, MON-6).

Every layer above the drivers speaks in these types. They are frozen so an observation, once
received, can be fanned out to storage, alarms and the view without anyone changing it.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Protocol


class VitalKind(enum.StrEnum):
    """What a value measures (MDC-aligned names, clinic-readable values)."""

    SPO2 = "spo2"
    PULSE_RATE = "pulse_rate"
    HEART_RATE = "heart_rate"
    NIBP_SYSTOLIC = "nibp_systolic"
    NIBP_DIASTOLIC = "nibp_diastolic"
    NIBP_MEAN = "nibp_mean"
    PERFUSION_INDEX = "perfusion_index"

    @property
    def is_nibp(self) -> bool:
        return self in (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)


#: The unit every value of a kind is carried in (UCUM spelling), whatever the wire said.
CANONICAL_UNIT: dict[VitalKind, str] = {
    VitalKind.SPO2: "%",
    VitalKind.PULSE_RATE: "/min",
    VitalKind.HEART_RATE: "/min",
    VitalKind.NIBP_SYSTOLIC: "mm[Hg]",
    VitalKind.NIBP_DIASTOLIC: "mm[Hg]",
    VitalKind.NIBP_MEAN: "mm[Hg]",
    VitalKind.PERFUSION_INDEX: "%",
}


class Quality(enum.StrEnum):
    """How far a value can be trusted. Only VALID values are plotted or judged (MON-6)."""

    VALID = "valid"
    PROBE_OFF = "probe_off"
    SEARCHING = "searching"
    LOW_PERFUSION = "low_perfusion"
    ARTIFACT = "artifact"
    CUFF_ERROR = "cuff_error"
    UNKNOWN = "unknown"
    #: A number the device cannot have measured (outside its range, diastolic above systolic):
    #: a garbled frame that passed its checksum. Kept for the record, never valid (drivers/ranges.py).
    IMPLAUSIBLE = "implausible"


@dataclass(frozen=True, slots=True)
class Stamp:
    """When bytes arrived: wall time (UTC, for records) and monotonic seconds (for ages)."""

    wall: datetime
    mono: float


@dataclass(frozen=True, slots=True)
class Observation:
    """One value from one device, with its unit, times, source and quality.

    ``value`` is None when the device sent no number (``---``): that is never a zero.
    ``measured_at`` is the device's own time when it sends one, else the arrival wall time.
    ``simulated`` is True when the device itself said the value is not from a patient (an HL7
    message with processing id T or D, as Bedside's simulator sends): storage and views keep such
    values apart from patient data (DRL-1).
    """

    kind: VitalKind
    value: float | None
    unit: str
    measured_at: datetime
    received_at: datetime
    received_mono: float
    source: str
    quality: Quality = Quality.VALID
    detail: str = ""
    #: The device says this is not a patient (HL7 MSH-11 "T", a simulator's serial number), or
    #: it comes from one of Bedside's own simulators: shown and stored as simulation.
    simulated: bool = False

    @property
    def is_valid(self) -> bool:
        """True only for a number the device vouches for."""
        return self.quality is Quality.VALID and self.value is not None

    @property
    def is_simulation(self) -> bool:
        """True for data that is not from a patient: flagged in-band, or from a simulator link."""
        return self.simulated or self.source.startswith(SIMULATOR_SOURCE_PREFIX)


#: Links to Bedside's own simulators are named "sim-<protocol>-<n>" (bedside/app/build.py).
SIMULATOR_SOURCE_PREFIX = "sim-"


class DeviceEventKind(enum.StrEnum):
    """Things that happen to a device link rather than to the patient."""

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    SILENT = "silent"
    RESUMED = "resumed"
    FRAME_ERRORS = "frame_errors"
    NIBP_STARTED = "nibp_started"
    NIBP_FAILED = "nibp_failed"
    #: A sender was turned away (connection limit, not on the allow-list): its data is not arriving.
    SENDER_REFUSED = "sender_refused"


@dataclass(frozen=True, slots=True)
class DeviceEvent:
    """A link-level event: connect, disconnect, silence, or a running count of bad frames."""

    kind: DeviceEventKind
    source: str
    at: Stamp
    detail: str = ""
    frames_ok: int = 0
    frames_rejected: int = 0


@dataclass(frozen=True, slots=True)
class FrameRejection:
    """A frame that failed its checksum or grammar: counted and skipped, never raised."""

    reason: str
    raw: bytes = b""


@dataclass(frozen=True, slots=True)
class Waveform:
    """A run of pleth waveform samples from one device, oldest first, at ``rate_hz``.

    Raw device units (Nonin DF2 and Ivy send 0-255): shown as a shape, never judged or stored.
    """

    samples: tuple[int, ...]
    rate_hz: float
    source: str
    received_mono: float


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """What one ``feed`` produced: observations, replies to send back (e.g. HL7 ACKs), rejections,
    and waveform samples where the device sends them (the pleth).

    ``frames`` counts the frames that decoded; rejected ones are counted by ``rejections``.
    """

    observations: tuple[Observation, ...] = ()
    replies: tuple[bytes, ...] = ()
    rejections: tuple[FrameRejection, ...] = ()
    frames: int = 0
    waveforms: tuple[Waveform, ...] = ()

    @property
    def implausible(self) -> int:
        """Values in this result the device cannot have measured (marked, not dropped)."""
        return sum(1 for obs in self.observations if obs.quality is Quality.IMPLAUSIBLE)

    def __add__(self, other: DecodeResult) -> DecodeResult:
        return DecodeResult(
            self.observations + other.observations,
            self.replies + other.replies,
            self.rejections + other.rejections,
            self.frames + other.frames,
            self.waveforms + other.waveforms,
        )


@dataclass(frozen=True, slots=True)
class LineSettings:
    """Serial line settings a device needs (pyserial names)."""

    baudrate: int = 9600
    bytesize: int = 8
    parity: str = "N"
    stopbits: float = 1
    rtscts: bool = False
    xonxoff: bool = False


@dataclass(slots=True)
class FrameCounters:
    """Running totals a driver keeps so the app can show link health."""

    frames_ok: int = 0
    frames_rejected: int = 0
    bytes_discarded: int = 0
    last_rejection: str = field(default="")
    #: Values decoded from good frames but outside what the device measures (Quality.IMPLAUSIBLE).
    values_implausible: int = 0

    def tally(
        self,
        frames_ok: int,
        rejections: Sequence[FrameRejection],
        bytes_discarded: int,
        observations: Sequence[Observation] = (),
    ) -> None:
        """Add one feed's counts; ``bytes_discarded`` is the framer's running total."""
        self.frames_ok += frames_ok
        self.frames_rejected += len(rejections)
        self.bytes_discarded = bytes_discarded
        self.count_implausible(observations)
        if rejections:
            self.last_rejection = rejections[-1].reason

    def count_implausible(self, observations: Sequence[Observation]) -> None:
        """Add the values among ``observations`` marked implausible."""
        self.values_implausible += sum(1 for obs in observations if obs.quality is Quality.IMPLAUSIBLE)


class DeviceDriver(Protocol):
    """A framer + parser for one wire protocol. Pure: bytes in, typed values out, any chunking.

    ``feed`` never raises on bad input: a bad frame is a rejection in the result and a count.
    """

    protocol: ClassVar[str]
    line_settings: ClassVar[LineSettings | None]
    #: True when the device accepts a remote "start NIBP now" command (MON-3).
    can_start_nibp: ClassVar[bool]
    source: str
    counters: FrameCounters

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult: ...

    def start_nibp_command(self) -> bytes | None:
        """Bytes that start an NIBP cycle, or None when this device cannot be started remotely."""
        ...
