"""Ivy 450C ANSAR-B encoder: a snapshot as one frame, waveform and text (the driver's inverse).

The frame carries no clock, so ``snapshot.at`` is not on the wire. The NIBP line shows the
snapshot's last completed cycle (or its error text in the alarm field) on every frame, as the
monitor does; the driver turns it into a reading only when it changes.
"""

from __future__ import annotations

import logging
import math

from drivers.ivy import FRAME_END, FRAME_START, HEADER
from drivers.types import Quality
from simulators.model import NibpSnapshot, VitalsSnapshot

log = logging.getLogger(__name__)

#: Alarm text written in the SPO2 line for each oximeter quality (the driver's ALARM_QUALITY keys).
QUALITY_ALARM: dict[Quality, str] = {
    Quality.VALID: "",
    Quality.PROBE_OFF: "SPO2 PROBE OFF",
    Quality.SEARCHING: "SPO2 SEARCH",
    Quality.LOW_PERFUSION: "SPO2 LOW PERF",
    Quality.ARTIFACT: "SPO2 ARTIFACT",
    Quality.UNKNOWN: "",
    Quality.CUFF_ERROR: "",
}
#: Waveform filler the 450C sends for a channel with no transducer (seen in the real capture).
FILLER = 0xFB
ECG_SAMPLES, CHANNEL_SAMPLES = 200, 50


def _field(value: float | None) -> str:
    return "" if value is None else str(max(round(value), 0))


def _pulse_label(rate: float | None) -> str:
    # The capture shows "PR=80 ": the rate left-aligned in three characters.
    return "PR=---" if rate is None else f"PR={max(round(rate), 0):<3d}"


def _nibp_line(nibp: NibpSnapshot | None) -> str:
    if nibp is None:
        return "NIBP=4;;;;;;"
    if nibp.error:
        return f"NIBP=4;;;;;;{nibp.error.upper().replace(';', ',')}"
    return f"NIBP=4;{_field(nibp.systolic)};{_field(nibp.diastolic)};{_field(nibp.mean)};;;"


class IvyAnsarEncoder:
    """Encodes one ANSAR-B frame per second (200 ECG samples at 200 Hz per frame)."""

    protocol = "ivy-ansar"
    period_s = 1.0

    def encode(self, snapshot: VitalsSnapshot) -> bytes:
        """One whole frame, 0xFF ... 0xFE; empty when the device is silent."""
        if snapshot.silent:
            return b""
        quality = snapshot.oximeter_quality
        no_oximetry = quality in (Quality.PROBE_OFF, Quality.UNKNOWN, Quality.CUFF_ERROR)
        spo2 = None if no_oximetry else snapshot.spo2
        pulse = None if no_oximetry else snapshot.pulse_rate
        lines = [
            f"HR=1;{_field(snapshot.heart_rate)};ECG-II;",
            "RR=1;;;",
            "ETCO2=1;;;",
            f"SPO2=1;{_field(None if spo2 is None else min(spo2, 100))};{_pulse_label(pulse)};"
            f"{QUALITY_ALARM[quality]}",
            _nibp_line(snapshot.nibp),
            "P1=3;;;;NO TRANSDUCER;",
            "P2=3;;;;NO TRANSDUCER;",
            "T1=1;;;",
            "T2=1;;;",
        ]
        text = "".join(line + "\r" for line in lines).encode("ascii")
        waveform = self._waveform(snapshot, no_oximetry)
        return bytes((FRAME_START,)) + HEADER + waveform + text + bytes((FRAME_END,))

    @staticmethod
    def _waveform(snapshot: VitalsSnapshot, no_oximetry: bool) -> bytes:
        rate = snapshot.heart_rate or snapshot.pulse_rate or 60.0
        ecg = bytearray()
        for i in range(ECG_SAMPLES):
            beat_phase = (i / ECG_SAMPLES * rate / 60.0) % 1.0
            # A narrow spike per beat on a 100 baseline (OpenICE's ECG offset): enough to see.
            ecg.append(100 + (90 if beat_phase < 0.03 else 0))
        cycles = rate / 60.0 / CHANNEL_SAMPLES  # pleth cycles per sample at 50 Hz
        pleth = bytes(
            FILLER if no_oximetry else 86 + round(40 * math.sin(2 * math.pi * i * cycles))
            for i in range(CHANNEL_SAMPLES)
        )
        resp = bytes(CHANNEL_SAMPLES)
        filler = bytes((FILLER,)) * CHANNEL_SAMPLES
        return bytes(ecg) + resp + pleth + filler + filler
