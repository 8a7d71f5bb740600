"""Masimo ASCII 1 encoder: a snapshot as the line a Rad-8 would print (the driver's inverse)."""

from __future__ import annotations

import logging
from datetime import UTC, tzinfo

from drivers.masimo import EXCEPTION_BITS
from drivers.types import Quality
from simulators.model import VitalsSnapshot

log = logging.getLogger(__name__)


def _exception_mask(name: str) -> int:
    return next(mask for mask, bit in EXCEPTION_BITS.items() if bit.name == name)


#: The EXC bits the device sets for each oximeter quality (taken from the driver's own table).
QUALITY_EXCEPTIONS: dict[Quality, int] = {
    Quality.VALID: _exception_mask("Masimo SET"),
    Quality.PROBE_OFF: _exception_mask("sensor off patient"),
    Quality.SEARCHING: _exception_mask("pulse search"),
    Quality.LOW_PERFUSION: _exception_mask("low perfusion") | _exception_mask("Masimo SET"),
    Quality.ARTIFACT: _exception_mask("low signal IQ") | _exception_mask("Masimo SET"),
    # No bit says "unknown": the device just shows dashes with no exception.
    Quality.UNKNOWN: 0,
    Quality.CUFF_ERROR: 0,
}
#: Qualities under which the device shows dashes instead of numbers.
_DASHED = (Quality.PROBE_OFF, Quality.UNKNOWN, Quality.CUFF_ERROR)


def _whole(value: float | None, low: int, high: int, suffix: str = "") -> str:
    if value is None:
        return "---" + suffix
    return f"{min(max(round(value), low), high):03d}{suffix}"


def _perfusion(value: float | None) -> str:
    if value is None:
        return "--.--%"
    return f"{min(max(value, 0.0), 99.99):05.2f}%"


#: The SN= a simulated Rad-8 prints: ten characters like a real serial, but no Masimo device's,
#: so a capture or a stored reading from the simulator is recognisable as such (issue 10).
SIMULATED_SERIAL = "SIM0000001"


class MasimoAsciiEncoder:
    """Encodes one Rad-8 ASCII 1 line per second, device time in ``device_tz``."""

    protocol = "masimo-ascii"
    period_s = 1.0

    def __init__(
        self, serial_number: str = SIMULATED_SERIAL, device_tz: tzinfo = UTC, terminator: bytes = b"\r\n"
    ) -> None:
        self.serial_number = serial_number
        self.device_tz = device_tz
        self.terminator = terminator

    def encode(self, snapshot: VitalsSnapshot) -> bytes:
        """One ASCII 1 line with its terminator; empty when the device is silent."""
        if snapshot.silent:
            return b""
        quality = snapshot.oximeter_quality
        dashed = quality in _DASHED
        spo2 = None if dashed else snapshot.spo2
        pulse = None if dashed else snapshot.pulse_rate
        perfusion = None if dashed else snapshot.perfusion_index
        device_time = snapshot.at.astimezone(self.device_tz).strftime("%m/%d/%y %H:%M:%S")
        line = (
            f"{device_time} SN={self.serial_number} SPO2={_whole(spo2, 0, 100, '%')} "
            f"BPM={_whole(pulse, 0, 999)} PI={_perfusion(perfusion)} SPCO=--.-% SPMET=--.-% "
            f"DESAT=-- PIDELTA=+-- ALARM=0000 EXC={QUALITY_EXCEPTIONS[quality]:06X}"
        )
        return line.encode("ascii") + self.terminator
