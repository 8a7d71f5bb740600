"""The generated alarm bursts meet IEC 60601-1-8 Tables 3 and 4, measured on the waveform (ALM-1)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from alarms.priority import AlarmPriority
from alarms.tones import BURSTS, HIGH_HALF_GAP_S, burst, pulse_onsets

RATE = 44100


def envelope(signal: npt.NDArray[np.float32], f0: float) -> npt.NDArray[np.float64]:
    """Peak of |signal| over one fundamental period, centred: the amplitude envelope."""
    window = int(RATE / f0) + 1
    padded = np.pad(np.abs(signal.astype(np.float64)), (window // 2, window - window // 2 - 1))
    env: npt.NDArray[np.float64] = sliding_window_view(padded, window).max(axis=1)
    out: npt.NDArray[np.float64] = env / float(env.max())
    return out


def pulses_at(env: npt.NDArray[np.float64], level: float) -> list[tuple[float, float]]:
    """(start, end) seconds of each stretch where the envelope is at or above ``level``."""
    above = np.concatenate(([False], env >= level, [False])).astype(np.int8)
    edges = np.diff(above)
    starts = np.flatnonzero(edges == 1) / RATE
    ends = np.flatnonzero(edges == -1) / RATE
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("priority", list(AlarmPriority))
def test_pulse_count_and_durations_fit_table_4(priority: AlarmPriority) -> None:
    spec = BURSTS[priority]
    signal = burst(priority, RATE)
    assert signal.dtype == np.float32 and np.max(np.abs(signal)) <= 1.0
    env = envelope(signal, spec.fundamental_hz)
    low, high = spec.allowed_pulse_duration_s
    for level in (0.1, 0.5, 0.9):  # td within range however the pulse edge is read
        found = pulses_at(env, level)
        assert len(found) == spec.pulses and spec.pulses in spec.allowed_pulses
        for start, end in found:
            assert low <= end - start <= high, (level, end - start)
    onsets = [start for start, _ in pulses_at(env, 0.5)]
    assert onsets == pytest.approx(list(pulse_onsets(priority)), abs=0.003)


@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("priority", list(AlarmPriority))
def test_pulse_spacing_fits_table_3(priority: AlarmPriority) -> None:
    spec = BURSTS[priority]
    found = pulses_at(envelope(burst(priority, RATE), spec.fundamental_hz), 0.5)
    gaps = [found[i + 1][0] - found[i][1] for i in range(len(found) - 1)]
    low, high = spec.allowed_pulse_spacing_s
    td = spec.pulse_duration_s
    for number, gap in enumerate(gaps, start=1):
        if priority is AlarmPriority.HIGH and number in (3, 8):
            assert gap == pytest.approx(2 * spec.pulse_spacing_s + td, abs=0.004)  # 2x + td
        elif priority is AlarmPriority.HIGH and number == 5:
            assert HIGH_HALF_GAP_S[0] <= gap <= HIGH_HALF_GAP_S[1]
        else:
            assert low <= gap <= high, (number, gap)


@pytest.mark.req("ALM-1")
def test_high_priority_rhythm_is_three_two_pause_three_two() -> None:
    found = pulses_at(envelope(burst(AlarmPriority.HIGH, RATE), 500.0), 0.5)
    gaps = [found[i + 1][0] - found[i][1] for i in range(len(found) - 1)]
    marks = {"short": "-", "group": "---", "half": " "}

    def mark(gap: float) -> str:
        return marks["half"] if gap > 0.35 else marks["group"] if gap > 0.2 else marks["short"]

    pattern = "x" + "".join(mark(g) + "x" for g in gaps)
    assert pattern == "x-x-x---x-x x-x-x---x-x"


@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("priority", list(AlarmPriority))
def test_rise_time_is_10_to_20_percent_of_the_pulse(priority: AlarmPriority) -> None:
    spec = BURSTS[priority]
    env = envelope(burst(priority, RATE), spec.fundamental_hz)
    first_10 = pulses_at(env, 0.1)[0][0]
    first_90 = pulses_at(env, 0.9)[0][0]
    rise = first_90 - first_10
    td = spec.pulse_duration_s
    assert 0.10 * td <= rise <= 0.20 * td, rise / td


@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("priority", list(AlarmPriority))
def test_interburst_interval_and_looping(priority: AlarmPriority) -> None:
    spec = BURSTS[priority]
    assert spec.interburst_s is not None
    assert spec.allowed_interburst_s[0] <= spec.interburst_s <= spec.allowed_interburst_s[1]
    one = burst(priority, RATE)
    looped = burst(priority, RATE, include_interburst=True)
    assert spec.repeat_period_s is not None
    assert len(looped) / RATE == pytest.approx(spec.repeat_period_s, abs=2 / RATE)
    silence = looped[len(one) :]
    assert len(silence) / RATE == pytest.approx(spec.interburst_s, abs=2 / RATE)
    assert not np.any(silence)


@pytest.mark.req("ALM-1")
def test_low_priority_repeats_no_sooner_than_15_s() -> None:
    interval = BURSTS[AlarmPriority.LOW].interburst_s
    assert interval is not None and interval > 15


@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("priority", list(AlarmPriority))
def test_fundamental_and_at_least_four_harmonics_within_15_db(priority: AlarmPriority) -> None:
    spec = BURSTS[priority]
    assert spec.allowed_fundamental_hz[0] <= spec.fundamental_hz <= spec.allowed_fundamental_hz[1]
    signal = burst(priority, RATE)
    onset = pulse_onsets(priority)[0]
    # The flat top of the first pulse, a whole number of f0 periods long.
    start = int((onset + spec.rise_s) * RATE)
    n = int(RATE / spec.fundamental_hz) * 20
    segment = signal[start : start + n].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(segment * np.hanning(n)))
    freqs = np.fft.rfftfreq(n, 1 / RATE)
    peak = spectrum.max()
    levels = []
    for k in range(1, 9):
        f = k * spec.fundamental_hz
        if 300 <= f <= 4000:
            band = spectrum[(freqs > f - 20) & (freqs < f + 20)]
            level_db = 20 * np.log10(band.max() / peak)
            if level_db > -15:
                levels.append(level_db)
    assert len(levels) >= 4


def test_too_low_sample_rate_is_refused() -> None:
    with pytest.raises(ValueError, match="too low"):
        burst(AlarmPriority.HIGH, 4000)
