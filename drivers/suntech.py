"""SunTech Advantage OEM NIBP module: remote start, result request, and result decoding (MON-3, MON-6).

The one driver in Bedside that can *start* a blood-pressure cycle, so MON-3 ("measure more often
when the trend warrants it") can act on its own instead of prompting the clinician.

Sources (public code read for wire facts only; no code copied). SunTech's own "Advantage OEM BP
module" interface document was not available to us; two independent host implementations agree
on every byte below:
  [nPM]  Better Life Medical nPM monitor, ``SuntechProvider.cpp`` (C++/Qt host driver).
  [AK]   a public Java project, package ``com.ak.comm.bytes.suntech`` (``NIBPRequest``,
         ``NIBPProtocolByte``) and its test ``NIBPConverterTest``, which quotes the manual's field
         descriptions next to a full 24-byte result frame.

Confirmed by both sources:
  - 9600 baud, 8N1 [nPM ``UartAttrDesc(9600, 8, 'N', 1)``; AK ``BaudRate.BR_9600``].
  - Host -> module: ``':' (0x3A)``, command bytes, checksum; no length byte. Checksum makes the
    byte sum of the whole frame 0 mod 256 (``0x100 - sum``). E.g. start = ``3A 20 A6``,
    get BP data = ``3A 79 03 00 4A``, get cuff pressure = ``3A 79 05 00 48``.
  - Module -> host: ``'>' (0x3E)``, a length byte counting the whole frame (start, length, data,
    checksum), data, checksum by the same rule. Frames are told apart by their length:
    4 = one-character acknowledgement, 5 = cuff pressure (u16 LSB first), 24 = BP data.
    Largest frame 67 bytes [AK ``MAX_CAPACITY = 0x43``; nPM "max ... data pack is 67"].
  - BP data (24 bytes) after start and length: systolic u16 LE, diastolic u16 LE, number of
    heart beats u8, BP status u8, 8 test-code bytes, heart rate u8, spare, MAP u16 LE, error code
    u8, spare, spare [AK test comments; nPM ``getMeasureResultInfo`` reads the same offsets].
Confirmed by one source [nPM]:
  - Start commands by patient: adult 0x20 (also AK), paediatric 0x87, neonate 0x28;
    abort = ``79 01 00``; module status = ``79 10 03``.
  - Acknowledgement characters: 'O' received, 'K' executed, 'A' abort, 'B' busy, 'E' error,
    'N', 'D' unrecognisable, 'S' sleep, 'T' timeout.
  - Flow: start -> 'O'; when the cycle ends the module sends 'K' by itself; the host then asks
    for the BP data. Abort -> 'A' then 'K'.
  - Error codes (``ErrCode`` enum, values in hex there; the manual lists them in decimal, 85-99).
    nPM's ``isResult`` compares against 0x85..0x99, which contradicts its own enum; we follow the
    enum (byte 0x57 = decimal 87 = loose cuff), the reading consistent with a decimal table.
Assumed (not in either source): the meaning of 'N' (taken as "checksum or data not accepted",
which is what our simulator answers to a corrupt command); that 'K' also ends a *failed* cycle;
that an all-zero BP data frame with error 0 means "no measurement stored".
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from typing import ClassVar

from drivers._observe import make_observation
from drivers.ranges import screen
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

HOST_START = 0x3A  # ':'  [nPM HOST_START_BYTE, AK NIBPRequest]
MODULE_START = 0x3E  # '>'  [nPM MODULE_START_BYTE, AK NIBPProtocolByte.START]
MIN_FRAME_LENGTH = 3  # start, length, checksum
MAX_FRAME_LENGTH = 0x43  # [AK MAX_CAPACITY]
ACK_FRAME_LENGTH = 4
CUFF_PRESSURE_FRAME_LENGTH = 5
BP_DATA_FRAME_LENGTH = 24

CMD_START_ADULT = 0x20
CMD_START_PEDIATRIC = 0x87
CMD_START_NEONATE = 0x28
CMD_EXTENDED = 0x79  # followed by two bytes naming the request [nPM SUNTECH_CMD_SEND_START]
REQ_ABORT = bytes([CMD_EXTENDED, 0x01, 0x00])
REQ_BP_DATA = bytes([CMD_EXTENDED, 0x03, 0x00])
REQ_CUFF_PRESSURE = bytes([CMD_EXTENDED, 0x05, 0x00])
REQ_MODULE_STATUS = bytes([CMD_EXTENDED, 0x10, 0x03])

#: Argument bytes after each host command byte [nPM command table and its ``_sendCmd`` calls].
#: Host frames carry no length, so a receiver can only frame them with this table.
COMMAND_ARGUMENT_BYTES: dict[int, int] = {
    0x00: 0,  # get module data
    0x04: 1,  # calibrate transducer
    0x0C: 3,  # control pneumatics
    0x17: 2,  # set initial inflation pressure
    CMD_START_NEONATE: 0,
    CMD_START_ADULT: 0,
    CMD_EXTENDED: 2,
    0x81: 4,  # set sleep mode
    0x86: 3,  # venous stasis
    CMD_START_PEDIATRIC: 0,
    0x8A: 0,  # reset
}


class ModuleAck(enum.Enum):
    """The one-character answers in a 4-byte module frame [nPM MODULE_* defines]."""

    RECEIVED = ord("O")
    EXECUTED = ord("K")
    ABORTED = ord("A")
    BUSY = ord("B")
    ERROR = ord("E")
    NOT_ACCEPTED = ord("N")  # meaning assumed: checksum or data rejected
    UNRECOGNIZED = ord("D")
    SLEEP = ord("S")
    TIMEOUT = ord("T")


#: Module error codes in the BP data frame -> what the clinician is told [nPM ``ErrCode``].
#: Every one makes the cycle's values CUFF_ERROR: the cuff produced no trustworthy number.
ERROR_CODES: dict[int, str] = {
    0x01: "weak or no oscillometric signal",
    0x02: "erratic signal: motion artifact",
    0x03: "blood pressure out of the measurable range",
    0x04: "measurement took too long",
    0x55: "pneumatic blockage",
    0x56: "measurement aborted",
    0x57: "inflation timeout: air leak or loose cuff",
    0x58: "safety timeout",
    0x59: "cuff overpressure",
    0x5A: "power supply out of range or other hardware problem",
    0x5B: "safety override installed or auto-zero out of range",
    0x61: "pressure transducer out of range",
    0x63: "calibration data (EEPROM) failure",
}


def checksum(data: bytes) -> int:
    """The byte that makes ``data`` plus itself sum to 0 mod 256 (both directions)."""
    return (-sum(data)) & 0xFF


def host_command(body: bytes) -> bytes:
    """A host -> module frame: ':' + command bytes + checksum."""
    frame = bytes([HOST_START]) + body
    return frame + bytes([checksum(frame)])


def module_frame(data: bytes) -> bytes:
    """A module -> host frame: '>' + total length + data + checksum."""
    length = len(data) + MIN_FRAME_LENGTH
    if length > MAX_FRAME_LENGTH:
        raise ValueError(f"module frame of {length} bytes exceeds the {MAX_FRAME_LENGTH}-byte maximum")
    frame = bytes([MODULE_START, length]) + data
    return frame + bytes([checksum(frame)])


def ack_frame(ack: ModuleAck) -> bytes:
    """The module's 4-byte acknowledgement frame for ``ack``."""
    return module_frame(bytes([ack.value]))


@dataclass(frozen=True, slots=True)
class BpData:
    """The module's stored result of the last cycle (the 24-byte BP data frame's fields)."""

    systolic: int
    diastolic: int
    mean: int
    heart_rate: int
    error_code: int = 0
    heart_beats: int = 0
    bp_status: int = 0
    test_codes: bytes = bytes(8)

    @property
    def failed(self) -> bool:
        """True when the module says the cycle gave no measurement."""
        return self.error_code != 0

    @property
    def empty(self) -> bool:
        """True for the all-zero frame of a module that has measured nothing yet (assumed)."""
        return not self.failed and self.systolic == 0 and self.diastolic == 0 and self.mean == 0

    def encode(self) -> bytes:
        """The 24-byte frame the module sends for this result."""
        if len(self.test_codes) != 8:
            raise ValueError(f"test codes are 8 bytes, got {len(self.test_codes)}")
        data = (
            self.systolic.to_bytes(2, "little")
            + self.diastolic.to_bytes(2, "little")
            + bytes([self.heart_beats, self.bp_status])
            + self.test_codes
            + bytes([self.heart_rate, 0])
            + self.mean.to_bytes(2, "little")
            + bytes([self.error_code, 0, 0])
        )
        return module_frame(data)


def parse_bp_data(frame: bytes) -> BpData:
    """Fields of a checked 24-byte BP data frame (start and length bytes included)."""
    if len(frame) != BP_DATA_FRAME_LENGTH:
        raise ValueError(f"BP data frame is {BP_DATA_FRAME_LENGTH} bytes, got {len(frame)}")
    d = frame[2:-1]
    return BpData(
        systolic=int.from_bytes(d[0:2], "little"),
        diastolic=int.from_bytes(d[2:4], "little"),
        heart_beats=d[4],
        bp_status=d[5],
        test_codes=bytes(d[6:14]),
        heart_rate=d[14],
        mean=int.from_bytes(d[16:18], "little"),
        error_code=d[18],
    )


def error_text(code: int) -> str:
    """The clinic-readable reason for a module error code (unknown codes are named, not hidden)."""
    text = ERROR_CODES.get(code, "unknown module error")
    return f"SunTech error {code} (0x{code:02X}): {text}"


class SuntechFramer:
    """Splits the module's byte stream into checked frames; resynchronises on the next '>'."""

    def __init__(self, counters: FrameCounters) -> None:
        self._buffer = bytearray()
        self._counters = counters

    def feed(self, data: bytes) -> tuple[list[bytes], list[FrameRejection]]:
        """Complete frames whose checksum holds, and the candidates rejected on the way."""
        self._buffer += data
        frames: list[bytes] = []
        rejections: list[FrameRejection] = []
        buf = self._buffer
        while buf:
            start = buf.find(MODULE_START)
            if start < 0:
                self._discard(len(buf))
                break
            self._discard(start)
            if len(buf) < 2:
                break
            length = buf[1]
            if not MIN_FRAME_LENGTH <= length <= MAX_FRAME_LENGTH:
                self._discard(1)  # a '>' inside noise, not a frame start
                continue
            if len(buf) < length:
                # A stray '>' can claim bytes that belong to a real frame after it; if such a frame
                # is already complete, skip to it rather than wait for traffic that may not come.
                later = self._complete_frame_after_start()
                if later is None:
                    break
                self._discard(later)
                continue
            candidate = bytes(buf[:length])
            if sum(candidate) & 0xFF == 0:
                del buf[:length]
                self._counters.frames_ok += 1
                frames.append(candidate)
            else:
                reason = f"checksum mismatch in a {length}-byte frame"
                self._counters.frames_rejected += 1
                self._counters.last_rejection = reason
                rejections.append(FrameRejection(reason, candidate))
                self._discard(1)  # resynchronise from the byte after this false start
        return frames, rejections

    def _complete_frame_after_start(self) -> int | None:
        buf = self._buffer
        pos = buf.find(MODULE_START, 1)
        while pos >= 0 and pos + 1 < len(buf):
            length = buf[pos + 1]
            if (
                MIN_FRAME_LENGTH <= length <= MAX_FRAME_LENGTH
                and pos + length <= len(buf)
                and sum(buf[pos : pos + length]) & 0xFF == 0
            ):
                return pos
            pos = buf.find(MODULE_START, pos + 1)
        return None

    def _discard(self, count: int) -> None:
        if count:
            del self._buffer[:count]
            self._counters.bytes_discarded += count


class SuntechAdvantageDriver:
    """Framer + parser for a SunTech Advantage NIBP module; it can start a cycle remotely (MON-3).

    When the module reports a cycle finished ('K'), ``feed`` returns the BP data request as a reply,
    so the link fetches the result without the core having to know the protocol.
    """

    protocol: ClassVar[str] = "suntech-advantage"
    line_settings: ClassVar[LineSettings | None] = LineSettings(
        baudrate=9600, bytesize=8, parity="N", stopbits=1
    )
    can_start_nibp: ClassVar[bool] = True

    def __init__(self, source: str) -> None:
        self.source = source
        self.counters = FrameCounters()
        self._framer = SuntechFramer(self.counters)
        self._aborting = False
        #: Last cuff pressure the module reported (mmHg), for a live gauge; None before any.
        self.cuff_pressure: int | None = None
        #: Last acknowledgement character, for diagnostics ("busy", "sleep"...).
        self.last_ack: ModuleAck | None = None

    def start_nibp_command(self) -> bytes:
        """Start an adult BP cycle now."""
        return host_command(bytes([CMD_START_ADULT]))

    def request_result_command(self) -> bytes:
        """Ask the module for the result of its last cycle."""
        return host_command(REQ_BP_DATA)

    def abort_command(self) -> bytes:
        """Stop a running cycle and deflate the cuff."""
        return host_command(REQ_ABORT)

    def cuff_pressure_command(self) -> bytes:
        """Ask for the current cuff pressure."""
        return host_command(REQ_CUFF_PRESSURE)

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult:
        """Decode module bytes (any chunking) into NIBP observations and the replies they call for."""
        frames, rejections = self._framer.feed(data)
        observations: list[Observation] = []
        replies: list[bytes] = []
        for frame in frames:
            length = frame[1]
            if length == ACK_FRAME_LENGTH:
                replies.extend(self._on_ack(frame[2]))
            elif length == CUFF_PRESSURE_FRAME_LENGTH:
                self.cuff_pressure = int.from_bytes(frame[2:4], "little")
            elif length == BP_DATA_FRAME_LENGTH:
                reading = self._observations(parse_bp_data(frame), stamp)
                self.counters.count_implausible(reading)
                observations.extend(reading)
            else:
                # Version strings, calibration results: valid frames we have no use for.
                log.debug("%s: ignoring a %d-byte module frame", self.source, length)
        return DecodeResult(tuple(observations), tuple(replies), tuple(rejections), len(frames))

    def _on_ack(self, code: int) -> list[bytes]:
        try:
            ack = ModuleAck(code)
        except ValueError:
            log.info("%s: unknown acknowledgement 0x%02X", self.source, code)
            return []
        self.last_ack = ack
        if ack is ModuleAck.ABORTED:
            self._aborting = True
        elif ack is ModuleAck.EXECUTED:
            if self._aborting:
                self._aborting = False  # an aborted cycle has nothing to fetch
                return []
            return [self.request_result_command()]
        elif ack in (ModuleAck.ERROR, ModuleAck.NOT_ACCEPTED, ModuleAck.UNRECOGNIZED, ModuleAck.TIMEOUT):
            log.warning("%s: module answered %s", self.source, ack.name)
        return []

    def _observations(self, result: BpData, stamp: Stamp) -> list[Observation]:
        if result.empty:
            return []

        def observe(kind: VitalKind, value: float | None, quality: Quality, detail: str = "") -> Observation:
            # The module keeps no clock: the cycle's time is when its result arrived.
            return make_observation(
                kind,
                value,
                quality,
                measured_at=stamp.wall,
                stamp=stamp,
                source=self.source,
                device=self.protocol,
                detail=detail,
            )

        kinds = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
        if result.failed:
            reason = error_text(result.error_code)
            return [observe(kind, None, Quality.CUFF_ERROR, reason) for kind in kinds]
        values = (result.systolic, result.diastolic, result.mean)
        out = [observe(kind, float(value), Quality.VALID) for kind, value in zip(kinds, values, strict=True)]
        if result.heart_rate:
            out.append(observe(VitalKind.PULSE_RATE, float(result.heart_rate), Quality.VALID))
        # The checksum is one byte: a diastolic above the systolic can still get through.
        return list(screen(self.protocol, out))
