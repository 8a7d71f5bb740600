"""IEC 60601-1-8 auditory alarm signals generated as float32 PCM (ALM-1).

The figures are those of IEC 60601-1-8 Table 3 ("Characteristics of the BURST of auditory ALARM
SIGNALS") and Table 4 ("Characteristics of the PULSE of auditory ALARM SIGNALS"), as summarised in
public reference designs: the standard's clause 6.3.3.1 index at standards.har-el.com
(Projects/181701/60601-1-8/html/6-3-3-1-a-Priority-Encoding.htm), TI's DAC53401 datasheet
"medical alarm" register tables and TI TIDA-010040 (tiduej7: fundamental >= 150 Hz with at least
four harmonics within 15 dB). Terms follow the standard: td pulse duration, ts pulse spacing
(off time), tb interburst interval (off time), f0 fundamental.

Table 3 (burst), as used here:
    pulses per burst: high 10 (3+2, pause, 3+2), medium 3, low 1 or 2
    ts between pulses: high x = 50..125 ms; medium, low y = 125..250 ms
    ts between pulses 3-4 and 8-9 (high): 2x + td; between pulses 5-6 (high): 0.35..1.30 s
    tb interburst interval: high 2.5..15 s, medium 2.5..30 s, low > 15 s or no repeat
Table 4 (pulse):
    f0 150..1000 Hz, at least 4 harmonic components in 300..4000 Hz within 15 dB of each other
    td: high 75..200 ms; medium and low 125..250 ms (this module also keeps medium inside
        125..200 ms, so it satisfies a reading where medium shares high's upper bound)
    rise time tr and fall time: 10..20 % of td

A pulse's td and ts are measured here between the 50 % points of its envelope; the chosen values
keep td and ts inside their ranges whether measured at the 10 %, 50 % or 90 % points.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alarms.priority import AlarmPriority

log = logging.getLogger(__name__)

FloatRange = tuple[float, float]


@dataclass(frozen=True, slots=True)
class BurstSpec:
    """One priority's burst: the values generated and the ranges the standard allows."""

    priority: AlarmPriority
    pulses: int
    pulse_duration_s: float  # td
    pulse_spacing_s: float  # ts (off time) between ordinary neighbours
    pause_after: tuple[int, ...]  # 1-based pulse numbers followed by a longer spacing
    pause_spacing_s: tuple[float, ...]  # that longer spacing, one per entry of pause_after
    interburst_s: float | None  # tb; None: the burst does not repeat
    rise_fraction: float  # tr / td (fall time the same)
    fundamental_hz: float
    harmonic_levels: tuple[float, ...]  # relative amplitude of f0, 2 f0, 3 f0, ...
    allowed_pulses: tuple[int, ...]
    allowed_pulse_duration_s: FloatRange
    allowed_pulse_spacing_s: FloatRange
    allowed_interburst_s: FloatRange  # (15, inf) for low priority
    allowed_rise_fraction: FloatRange = (0.10, 0.20)
    allowed_fundamental_hz: FloatRange = (150.0, 1000.0)

    @property
    def rise_s(self) -> float:
        """Rise (and fall) time, 10 % to 90 % of the pulse amplitude."""
        return self.rise_fraction * self.pulse_duration_s

    @property
    def duration_s(self) -> float:
        """Seconds from the first pulse's start to the last pulse's end."""
        ramp = self.rise_s / 0.8
        return pulse_onsets(self.priority)[-1] + self.pulse_duration_s + ramp / 2

    @property
    def repeat_period_s(self) -> float | None:
        """Seconds from one burst's start to the next (None when it does not repeat)."""
        return None if self.interburst_s is None else self.duration_s + self.interburst_s


_HARMONICS = (1.0, 0.8, 0.6, 0.5, 0.4)  # f0..5 f0: 20 log10(0.4) = -8 dB, inside 15 dB

BURSTS: dict[AlarmPriority, BurstSpec] = {
    AlarmPriority.HIGH: BurstSpec(
        priority=AlarmPriority.HIGH,
        pulses=10,
        pulse_duration_s=0.100,
        pulse_spacing_s=0.080,
        pause_after=(3, 5, 8),
        # 2x + td after pulses 3 and 8; 0.6 s (0.35..1.30) between the two halves.
        pause_spacing_s=(2 * 0.080 + 0.100, 0.600, 2 * 0.080 + 0.100),
        interburst_s=4.0,
        rise_fraction=0.15,
        fundamental_hz=500.0,
        harmonic_levels=_HARMONICS,
        allowed_pulses=(10,),
        allowed_pulse_duration_s=(0.075, 0.200),
        allowed_pulse_spacing_s=(0.050, 0.125),
        allowed_interburst_s=(2.5, 15.0),
    ),
    AlarmPriority.MEDIUM: BurstSpec(
        priority=AlarmPriority.MEDIUM,
        pulses=3,
        pulse_duration_s=0.160,
        pulse_spacing_s=0.180,
        pause_after=(),
        pause_spacing_s=(),
        interburst_s=6.0,
        rise_fraction=0.15,
        fundamental_hz=500.0,
        harmonic_levels=_HARMONICS,
        allowed_pulses=(3,),
        allowed_pulse_duration_s=(0.125, 0.250),
        allowed_pulse_spacing_s=(0.125, 0.250),
        allowed_interburst_s=(2.5, 30.0),
    ),
    AlarmPriority.LOW: BurstSpec(
        priority=AlarmPriority.LOW,
        pulses=2,
        pulse_duration_s=0.200,
        pulse_spacing_s=0.180,
        pause_after=(),
        pause_spacing_s=(),
        interburst_s=20.0,
        rise_fraction=0.15,
        fundamental_hz=500.0,
        harmonic_levels=_HARMONICS,
        allowed_pulses=(1, 2),
        allowed_pulse_duration_s=(0.125, 0.250),
        allowed_pulse_spacing_s=(0.125, 0.250),
        allowed_interburst_s=(15.0, float("inf")),
    ),
}

#: Allowed spacing between pulses 5 and 6 of a high-priority burst (Table 3).
HIGH_HALF_GAP_S: FloatRange = (0.35, 1.30)


def pulse_onsets(priority: AlarmPriority) -> tuple[float, ...]:
    """Seconds from the burst's start to each pulse's 50 % rise point."""
    spec = BURSTS[priority]
    ramp = spec.rise_s / 0.8
    onsets = [ramp / 2]
    pauses = dict(zip(spec.pause_after, spec.pause_spacing_s, strict=True))
    for number in range(1, spec.pulses):
        spacing = pauses.get(number, spec.pulse_spacing_s)
        onsets.append(onsets[-1] + spec.pulse_duration_s + spacing)
    return tuple(onsets)


def _envelope(spec: BurstSpec, t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    # A trapezoid per pulse whose linear ramps cross 50 % at the onset and at onset + td;
    # a linear ramp spends 80 % of its length between 10 % and 90 %, hence rise_s / 0.8.
    ramp = spec.rise_s / 0.8
    env = np.zeros_like(t)
    for onset in pulse_onsets(spec.priority):
        up = np.clip((t - (onset - ramp / 2)) / ramp, 0.0, 1.0)
        down = np.clip(((onset + spec.pulse_duration_s + ramp / 2) - t) / ramp, 0.0, 1.0)
        env = np.maximum(env, np.minimum(up, down))
    return env


def burst(
    priority: AlarmPriority, sample_rate: int = 44100, include_interburst: bool = False
) -> npt.NDArray[np.float32]:
    """One burst as mono float32 PCM in [-1, 1]; with ``include_interburst`` the trailing silence
    is appended so that looping the array repeats the burst at the standard's interval."""
    if sample_rate < 8000:
        raise ValueError(f"sample rate {sample_rate} Hz is too low for harmonics up to 4 kHz")
    spec = BURSTS[priority]
    length = spec.duration_s
    if include_interburst and spec.interburst_s is not None:
        length += spec.interburst_s
    # ceil: the last pulse's fall ends inside the array, so any appended interburst is silent.
    t = np.arange(math.ceil(length * sample_rate), dtype=np.float64) / sample_rate
    tone = np.zeros_like(t)
    for k, level in enumerate(spec.harmonic_levels, start=1):
        tone += level * np.sin(2 * np.pi * k * spec.fundamental_hz * t)
    tone /= np.max(np.abs(tone)) or 1.0
    return (0.8 * tone * _envelope(spec, t)).astype(np.float32)
