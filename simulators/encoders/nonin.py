"""Nonin OEM III DF2 encoder: a snapshot as one 25-frame packet (the driver's inverse).

DF2 carries no clock, so ``snapshot.at`` is not on the wire: the host's arrival time stands in.
"""

from __future__ import annotations

import logging
import math

from drivers.nonin import (
    ARTF,
    FRAMES_PER_PACKET,
    GPRF,
    HR_MISSING,
    OOT,
    RPRF,
    SNSD,
    SPO2_MISSING,
    STATUS_ALWAYS_SET,
    SYNC,
    encode_frame,
)
from drivers.types import Quality
from simulators.model import VitalsSnapshot

log = logging.getLogger(__name__)

#: Status flags the module raises for each oximeter quality.
QUALITY_STATUS: dict[Quality, int] = {
    Quality.VALID: 0,
    Quality.PROBE_OFF: SNSD,
    Quality.SEARCHING: OOT,
    Quality.ARTIFACT: ARTF,
    Quality.LOW_PERFUSION: 0,
    Quality.UNKNOWN: 0,
    Quality.CUFF_ERROR: 0,
}
#: Perfusion colour shown during the pulse part of the packet, per quality.
QUALITY_PERFUSION: dict[Quality, int] = {Quality.VALID: GPRF, Quality.LOW_PERFUSION: RPRF}
#: Frames of a packet that carry the perfusion colour ("only during a pulse": 12 frames = 160 ms).
PULSE_FRAMES = 12
FIRMWARE_REVISION = 0x48


def _hr_bytes(rate: int) -> tuple[int, int]:
    return (rate >> 7) & 0x03, rate & 0x7F


class NoninDf2Encoder:
    """Encodes one DF2 packet (25 frames, 1/3 s at 75 frames/s) per call."""

    protocol = "nonin-df2"
    period_s = FRAMES_PER_PACKET / 75

    def __init__(self) -> None:
        self._packets = 0  # phase of the synthetic pleth wave across packets

    def encode(self, snapshot: VitalsSnapshot) -> bytes:
        """125 bytes: one packet of frames; empty when the device is silent."""
        if snapshot.silent:
            return b""
        quality = snapshot.oximeter_quality
        probe_off = quality in (Quality.PROBE_OFF, Quality.UNKNOWN, Quality.CUFF_ERROR)
        spo2 = SPO2_MISSING if probe_off or snapshot.spo2 is None else min(max(round(snapshot.spo2), 0), 100)
        rate = (
            HR_MISSING
            if probe_off or snapshot.pulse_rate is None
            else min(max(round(snapshot.pulse_rate), 0), HR_MISSING - 1)
        )
        data = [0] * FRAMES_PER_PACKET
        hr_msb, hr_lsb = _hr_bytes(rate)
        data[0], data[1], data[2], data[3] = hr_msb, hr_lsb, spo2, FIRMWARE_REVISION
        for index in (8, 9, 10, 15, 16):  # SpO2-D, fast, beat-to-beat, E-SpO2, E-SpO2-D
            data[index] = spo2
        for msb_index in (13, 19, 21):  # E-HR, HR-D, E-HR-D
            data[msb_index], data[msb_index + 1] = hr_msb, hr_lsb
        flags = STATUS_ALWAYS_SET | QUALITY_STATUS[quality]
        perfusion = QUALITY_PERFUSION.get(quality, 0)
        out = bytearray()
        for frame_no in range(FRAMES_PER_PACKET):
            status = flags | (SYNC if frame_no == 0 else 0) | (perfusion if frame_no < PULSE_FRAMES else 0)
            out += encode_frame(status, self._pleth(frame_no, probe_off), data[frame_no])
        self._packets += 1
        return bytes(out)

    def _pleth(self, frame_no: int, probe_off: bool) -> int:
        if probe_off:
            return 0
        phase = (self._packets * FRAMES_PER_PACKET + frame_no) / 75
        return 128 + round(100 * math.sin(2 * math.pi * phase))
