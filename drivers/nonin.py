"""Nonin OEM III serial Data Format #2: SpO2 and pulse rate with status flags (MON-1, MON-4, MON-6).

Wire facts (Nonin OEM III Module Specification, DF2; cross-checked against the Apache-2.0
pufferfish-software Nonin driver: firmware/ventilator-controller-stm32/.../Nonin/Types.h,
PacketParser.cpp and FrameReceiver.cpp):

- 75 frames per second, 9600 8N1. A frame is 5 bytes ``[0x01, STATUS, PLETH, DATA, CHK]`` with
  ``CHK = (b0 + b1 + b2 + b3) mod 256``.
- STATUS: bit 7 always 1; bit 6 SNSD sensor disconnect; bit 5 ARTF artifact; bit 4 OOT out of
  track; bit 3 SNSA sensor alarm; bits 2-1 perfusion colour during a pulse (01 green = good,
  11 yellow = marginal, 10 red = low/no pulse signal); bit 0 SYNC = first frame of a packet.
  (DF2 has no separate LPRF/MPRF bits: red and yellow perfusion are its low/marginal signals.)
- 25 frames make a packet (1/3 s). DATA of frame n (1-based): 1 HR MSB (HR bits 8-7 in bits
  1-0), 2 HR LSB (HR bits 6-0), 3 SpO2, 4 firmware revision, 9 SpO2-D, 10 SpO2 fast, 11 SpO2
  beat-to-beat, 14/15 E-HR MSB/LSB, 16 E-SpO2, 17 E-SpO2-D, 20/21 HR-D MSB/LSB, 22/23
  E-HR-D MSB/LSB; the rest reserved. SpO2 127 and HR 511 mean "missing".

Emits SpO2 and pulse rate (the 4-beat averages of frames 1-3) once per complete packet.
DF2 carries no clock: ``measured_at`` is the arrival time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

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
    Waveform,
)

log = logging.getLogger(__name__)

FRAME_LENGTH = 5
FRAME_START = 0x01
FRAMES_PER_PACKET = 25
FRAMES_PER_SECOND = 75.0  # one pleth sample per frame
SPO2_MISSING = 127
HR_MISSING = 511

STATUS_ALWAYS_SET = 0x80
SNSD = 0x40  # sensor disconnected
ARTF = 0x20  # artifact
OOT = 0x10  # out of track
SNSA = 0x08  # sensor alarm (sensor unusable)
PERFUSION_MASK = 0x06
GPRF = 0x02  # green perfusion: good pulse signal
RPRF = 0x04  # red perfusion: low / no pulse signal
YPRF = 0x06  # yellow perfusion: marginal pulse signal
SYNC = 0x01

#: Status flags and the quality each gives the packet's values (precedence in _observe).
STATUS_FLAGS: dict[int, tuple[str, Quality]] = {
    SNSD: ("sensor disconnect", Quality.PROBE_OFF),
    SNSA: ("sensor alarm", Quality.PROBE_OFF),
    OOT: ("out of track", Quality.SEARCHING),
    ARTF: ("artifact", Quality.ARTIFACT),
}
#: Perfusion colour (STATUS bits 2-1) and the quality it implies.
PERFUSION_COLOURS: dict[int, tuple[str, Quality]] = {
    GPRF: ("green perfusion", Quality.VALID),
    YPRF: ("yellow perfusion", Quality.VALID),
    RPRF: ("red perfusion", Quality.LOW_PERFUSION),
}


@dataclass(frozen=True, slots=True)
class NoninFrame:
    """One checked 5-byte frame."""

    status: int
    pleth: int
    data: int

    @property
    def is_packet_start(self) -> bool:
        return bool(self.status & SYNC)


def encode_frame(status: int, pleth: int, data: int) -> bytes:
    """The 5 wire bytes of a frame, checksum included (used by the simulator and tests)."""
    body = bytes((FRAME_START, status & 0xFF, pleth & 0xFF, data & 0xFF))
    return body + bytes((sum(body) & 0xFF,))


def check_frame(raw: bytes) -> NoninFrame | str:
    """A checked frame, or the specific reason these 5 bytes are not one."""
    if len(raw) != FRAME_LENGTH:
        return f"frame is {len(raw)} bytes, not {FRAME_LENGTH}"
    if raw[0] != FRAME_START:
        return f"frame starts with 0x{raw[0]:02X}, not 0x01"
    if not raw[1] & STATUS_ALWAYS_SET:
        return f"status byte 0x{raw[1]:02X} has bit 7 clear (lost frame sync)"
    expected = sum(raw[:4]) & 0xFF
    if raw[4] != expected:
        return f"checksum 0x{raw[4]:02X} != 0x{expected:02X}"
    return NoninFrame(status=raw[1], pleth=raw[2], data=raw[3])


def _hr(msb: int, lsb: int) -> int:
    return ((msb & 0x03) << 7) | (lsb & 0x7F)


def _value(raw: int, missing: int) -> int | None:
    return None if raw == missing else raw


@dataclass(frozen=True, slots=True)
class NoninPacket:
    """A parsed 25-frame packet. None = the device sent its "missing" code."""

    pulse_rate: int | None
    spo2: int | None
    firmware_revision: int
    spo2_display: int | None
    spo2_fast: int | None
    spo2_beat_to_beat: int | None
    pulse_rate_extended: int | None
    spo2_extended: int | None
    spo2_extended_display: int | None
    pulse_rate_display: int | None
    pulse_rate_extended_display: int | None
    statuses: tuple[int, ...]
    pleth: tuple[int, ...]

    @property
    def quality(self) -> Quality:
        """The worst condition any frame of the packet reported."""
        found: list[Quality] = []
        for status in self.statuses:
            found.extend(q for mask, (_, q) in STATUS_FLAGS.items() if status & mask)
            colour = PERFUSION_COLOURS.get(status & PERFUSION_MASK)
            if colour is not None:
                found.append(colour[1])
        return worst_quality(found)

    @property
    def flag_names(self) -> tuple[str, ...]:
        """Names of the flags seen in the packet, for the observation's detail."""
        names: list[str] = []
        for mask, (name, _) in STATUS_FLAGS.items():
            if any(status & mask for status in self.statuses):
                names.append(name)
        colours = {status & PERFUSION_MASK for status in self.statuses}
        names.extend(name for bits, (name, _) in PERFUSION_COLOURS.items() if bits in colours)
        return tuple(names)


def parse_packet(frames: Sequence[NoninFrame]) -> NoninPacket | str:
    """A parsed packet from 25 frames (the first with SYNC), or why they are not one."""
    if len(frames) != FRAMES_PER_PACKET:
        return f"packet has {len(frames)} frames, not {FRAMES_PER_PACKET}"
    if not frames[0].is_packet_start or any(f.is_packet_start for f in frames[1:]):
        return "SYNC bit is not on the first frame only"
    d = [frame.data for frame in frames]
    spo2 = _value(d[2] & 0x7F, SPO2_MISSING)
    if spo2 is not None and spo2 > 100:
        return f"SpO2 {spo2} is above 100 %"
    return NoninPacket(
        pulse_rate=_value(_hr(d[0], d[1]), HR_MISSING),
        spo2=spo2,
        firmware_revision=d[3],
        spo2_display=_value(d[8] & 0x7F, SPO2_MISSING),
        spo2_fast=_value(d[9] & 0x7F, SPO2_MISSING),
        spo2_beat_to_beat=_value(d[10] & 0x7F, SPO2_MISSING),
        pulse_rate_extended=_value(_hr(d[13], d[14]), HR_MISSING),
        spo2_extended=_value(d[15] & 0x7F, SPO2_MISSING),
        spo2_extended_display=_value(d[16] & 0x7F, SPO2_MISSING),
        pulse_rate_display=_value(_hr(d[19], d[20]), HR_MISSING),
        pulse_rate_extended_display=_value(_hr(d[21], d[22]), HR_MISSING),
        statuses=tuple(frame.status for frame in frames),
        pleth=tuple(frame.pleth for frame in frames),
    )


class NoninFramer:
    """Pure DF2 framer: bytes in, checked frames and rejection reasons out, any chunking.

    In sync, every 5 bytes must be a frame; a bad one is rejected once and the framer hunts
    byte by byte for the next valid frame (hunted bytes count as discarded, not as rejections).
    At most 4 bytes are ever held.
    """

    def __init__(self) -> None:
        self.bytes_discarded = 0
        self._buffer = b""
        self._in_sync = False

    def feed(self, data: bytes) -> list[NoninFrame | FrameRejection]:
        """Frames and rejections in stream order."""
        buf = self._buffer + data
        out: list[NoninFrame | FrameRejection] = []
        pos = 0
        while len(buf) - pos >= FRAME_LENGTH:
            raw = buf[pos : pos + FRAME_LENGTH]
            checked = check_frame(raw)
            if isinstance(checked, NoninFrame):
                out.append(checked)
                self._in_sync = True
                pos += FRAME_LENGTH
                continue
            if self._in_sync:
                out.append(FrameRejection(checked, raw))
                self._in_sync = False
            self.bytes_discarded += 1
            pos += 1
        self._buffer = buf[pos:]
        return out


class NoninDf2Driver:
    """Nonin OEM III DF2 driver: one SpO2 and one pulse-rate observation per 25-frame packet."""

    protocol: ClassVar[str] = "nonin-df2"
    line_settings: ClassVar[LineSettings | None] = LineSettings(baudrate=9600)
    can_start_nibp: ClassVar[bool] = False

    def __init__(self, source: str) -> None:
        self.source = source
        self.counters = FrameCounters()
        self._framer = NoninFramer()
        self._packet: list[NoninFrame] | None = None  # None: waiting for a SYNC frame

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult:
        """Decode ``data``; bad frames and broken packets are counted, never raised."""
        observations: list[Observation] = []
        rejections: list[FrameRejection] = []
        waves: list[Waveform] = []
        frames = 0
        for item in self._framer.feed(data):
            if isinstance(item, FrameRejection):
                rejections.append(item)
                self._packet = None  # a lost frame spoils its packet; wait for the next SYNC
                continue
            frames += 1
            if item.is_packet_start:
                if self._packet:
                    rejections.append(FrameRejection(f"packet cut short after {len(self._packet)} frames"))
                self._packet = [item]
            elif self._packet is not None:
                self._packet.append(item)
            if self._packet is not None and len(self._packet) == FRAMES_PER_PACKET:
                packet = parse_packet(self._packet)
                self._packet = None
                if isinstance(packet, str):
                    rejections.append(FrameRejection(packet))
                else:
                    observations.extend(self._observations(packet, stamp))
                    waves.append(Waveform(packet.pleth, FRAMES_PER_SECOND, self.source, stamp.mono))
        self.counters.tally(frames, rejections, self._framer.bytes_discarded, observations)
        if rejections:
            log.debug("%s: %d Nonin rejection(s): %s", self.source, len(rejections), rejections[-1])
        return DecodeResult(tuple(observations), (), tuple(rejections), frames, tuple(waves))

    def _observations(self, packet: NoninPacket, stamp: Stamp) -> list[Observation]:
        quality = packet.quality
        detail = ", ".join(packet.flag_names)
        return [
            make_observation(
                kind,
                value,
                quality,
                measured_at=stamp.wall,
                stamp=stamp,
                source=self.source,
                device=self.protocol,
                detail=detail,
            )
            for kind, value in ((VitalKind.SPO2, packet.spo2), (VitalKind.PULSE_RATE, packet.pulse_rate))
        ]

    def start_nibp_command(self) -> None:
        """Always None: a pulse oximeter module has no NIBP cuff to start (MON-3 prompts instead)."""
        return None
