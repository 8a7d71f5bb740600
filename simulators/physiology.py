"""Plays a scenario against a clock: the simulated patient and device state at any instant.

Scenario time runs ``speed`` times faster than the clock. Every value is a pure function of the
scenario, its seed and the scenario time (noise is drawn from a generator seeded with the seed, a
stream number and a time slot), so two players with the same seed agree however often, in whatever
order, they are asked. The one piece of history is the list of remote NIBP starts.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from drivers.clock import Clock
from drivers.types import Quality
from simulators.model import NibpSnapshot, VitalsSnapshot
from simulators.scenario import CuffError, DeviceSilence, IrregularPulse, ProbeOff, Scenario

log = logging.getLogger(__name__)

#: Scenario seconds between two independent noise draws for the oximeter (devices average ~4-8 s).
OXIMETER_NOISE_SLOT_S = 4.0

# Noise streams: each quantity draws from its own seeded sequence so adding one never shifts another.
_SPO2, _PULSE, _PI, _JITTER, _SYSTOLIC, _DIASTOLIC, _MEAN = range(7)


@functools.lru_cache(maxsize=8192)
def _draw(seed: int, stream: int, slot: int) -> float:
    """A uniform number in [-1, 1] fixed by (seed, stream, slot)."""
    return float(np.random.default_rng((seed, stream, slot)).uniform(-1.0, 1.0))


@dataclass(frozen=True, slots=True)
class _Track:
    times: np.ndarray
    values: np.ndarray

    def at(self, t: float) -> float:
        # Linear ramps between keyframes; the first/last value holds before/after them.
        return float(np.interp(t, self.times, self.values))


class ScenarioPlayer:
    """The scenario's truth at the clock's current (accelerated) time, as device snapshots.

    ``start_wall`` is the device's wall time at scenario time 0 (default: the clock's now).
    ``remote_nibp_only`` ignores the scenario's NIBP schedule: the device measures only when
    started (a SunTech module, whose host sets the interval).
    """

    def __init__(
        self,
        scenario: Scenario,
        clock: Clock,
        speed: float = 1.0,
        start_wall: datetime | None = None,
        *,
        remote_nibp_only: bool = False,
    ) -> None:
        if not math.isfinite(speed) or speed <= 0:
            raise ValueError(f"speed must be a positive number, not {speed}")
        self.scenario = scenario
        self.clock = clock
        self.speed = speed
        self.start_wall = start_wall or clock.now()
        self._start_mono = clock.monotonic()
        self._tracks: dict[str, _Track] = {}
        for name in ("spo2", "pulse", "hr", "pi", "systolic", "diastolic", "mean"):
            times, values = scenario.track(name)
            if times:
                self._tracks[name] = _Track(np.asarray(times, dtype=float), np.asarray(values, dtype=float))
        self._cuff_errors = {e.cycle: e.reason for e in scenario.events if isinstance(e, CuffError)}
        self._probe_off = [e for e in scenario.events if isinstance(e, ProbeOff)]
        self._silence = [e for e in scenario.events if isinstance(e, DeviceSilence)]
        self._irregular = [e for e in scenario.events if isinstance(e, IrregularPulse)]
        self._remote_starts: list[float] = []
        self.remote_nibp_only = remote_nibp_only
        self._lock = threading.Lock()  # a host thread and the app may both start/ask at once

    # --- time -------------------------------------------------------------------------------------

    def scenario_time(self) -> float:
        """Seconds of scenario time elapsed at the clock's current time."""
        return max(0.0, (self.clock.monotonic() - self._start_mono) * self.speed)

    def wall_at(self, t: float) -> datetime:
        """The device's wall time at scenario time ``t``."""
        return self.start_wall + timedelta(seconds=t)

    def is_finished(self) -> bool:
        """True once the scenario's duration has been played."""
        return self.scenario_time() >= self.scenario.duration

    # --- snapshots --------------------------------------------------------------------------------

    def snapshot(self) -> VitalsSnapshot:
        """What the device knows now."""
        return self.snapshot_at(self.scenario_time())

    def snapshot_at(self, t: float) -> VitalsSnapshot:
        """What the device knows at scenario time ``t`` (values hold after the end)."""
        t = max(0.0, t)
        heart_rate = self._heart_rate(t)
        silent = any(window.covers(t) for window in self._silence)
        nibp = self.last_nibp_at(t)
        if any(window.covers(t) for window in self._probe_off):
            return VitalsSnapshot(
                at=self.wall_at(t),
                spo2=None,
                pulse_rate=None,
                heart_rate=heart_rate,
                perfusion_index=None,
                oximeter_quality=Quality.PROBE_OFF,
                nibp=nibp,
                silent=silent,
            )
        return VitalsSnapshot(
            at=self.wall_at(t),
            spo2=self._spo2(t),
            pulse_rate=self._pulse(t),
            heart_rate=heart_rate,
            perfusion_index=self._perfusion(t),
            oximeter_quality=Quality.VALID,
            nibp=nibp,
            silent=silent,
        )

    def _smooth_noise(self, stream: int, t: float) -> float:
        # Value noise: independent draws every slot, joined linearly, so readings wander, not jump.
        position = t / OXIMETER_NOISE_SLOT_S
        slot = math.floor(position)
        fraction = position - slot
        seed = self.scenario.seed
        return (1 - fraction) * _draw(seed, stream, slot) + fraction * _draw(seed, stream, slot + 1)

    def _spo2(self, t: float) -> float:
        value = self._tracks["spo2"].at(t) + self.scenario.noise.spo2 * self._smooth_noise(_SPO2, t)
        return float(min(100, max(0, round(value))))

    def _pulse_value(self, track: str, t: float) -> float:
        value = self._tracks[track].at(t) + self.scenario.noise.pulse * self._smooth_noise(_PULSE, t)
        for window in self._irregular:
            if window.covers(t):
                # A new beat-to-beat interval every second: the irregular rhythm the device reports.
                value += window.jitter * _draw(self.scenario.seed, _JITTER, math.floor(t))
        return float(max(0, round(value)))

    def _pulse(self, t: float) -> float:
        return self._pulse_value("pulse", t)

    def _heart_rate(self, t: float) -> float:
        # ECG heart rate follows the pulse unless the scenario gives it a track of its own.
        return self._pulse_value("hr" if "hr" in self._tracks else "pulse", t)

    def _perfusion(self, t: float) -> float | None:
        track = self._tracks.get("pi")
        if track is None:
            return None
        value = track.at(t) * (1 + self.scenario.noise.pi * self._smooth_noise(_PI, t))
        return round(max(0.0, value), 2)

    # --- NIBP -------------------------------------------------------------------------------------

    @property
    def measurement_s(self) -> float:
        """Scenario seconds one NIBP cycle takes."""
        return self.scenario.nibp.measurement

    def _scheduled_completions(self, t: float) -> list[float]:
        schedule = self.scenario.nibp
        if self.remote_nibp_only or schedule.interval is None or t < schedule.first_at + schedule.measurement:
            return []
        count = math.floor((t - schedule.first_at - schedule.measurement) / schedule.interval) + 1
        return [schedule.first_at + k * schedule.interval + schedule.measurement for k in range(count)]

    def _completions(self, t: float) -> list[float]:
        with self._lock:
            remote = [start + self.measurement_s for start in self._remote_starts]
        return sorted([*self._scheduled_completions(t), *(c for c in remote if c <= t)])

    def nibp_in_progress(self, t: float | None = None) -> bool:
        """True while the cuff is measuring (a scheduled or remotely started cycle)."""
        t = self.scenario_time() if t is None else t
        schedule = self.scenario.nibp
        if not self.remote_nibp_only and schedule.interval is not None and t >= schedule.first_at:
            since_start = (t - schedule.first_at) % schedule.interval
            if since_start < schedule.measurement:
                return True
        with self._lock:
            return any(start <= t < start + self.measurement_s for start in self._remote_starts)

    def start_nibp(self) -> bool:
        """Start an NIBP cycle now (a remote start); False when a cycle is already running."""
        t = self.scenario_time()
        if self.nibp_in_progress(t):
            log.info("NIBP start refused at %.1f s: a cycle is already running", t)
            return False
        with self._lock:
            self._remote_starts.append(t)
        return True

    def measure_nibp_now(self) -> VitalsSnapshot:
        """The snapshot at the end of a remotely started cycle finishing now (it counts as a cycle).

        A command-driven device (``SuntechAdvantageSimulator``) keeps its own cycle timer and asks
        for this when its cycle ends; the result is in ``nibp``.
        """
        t = self.scenario_time()
        with self._lock:
            self._remote_starts.append(t - self.measurement_s)
        return self.snapshot_at(t)

    def nibp_cycles_completed(self, t: float | None = None) -> int:
        """How many NIBP cycles have finished by scenario time ``t`` (default: now)."""
        return len(self._completions(self.scenario_time() if t is None else t))

    def last_nibp_at(self, t: float) -> NibpSnapshot | None:
        """The last completed NIBP measurement at scenario time ``t``, or None before the first."""
        completions = self._completions(t)
        if not completions:
            return None
        return self.nibp_measurement(len(completions), completions[-1])

    def nibp_measurement(self, cycle: int, completed_at: float) -> NibpSnapshot:
        """The result of NIBP cycle number ``cycle`` finishing at scenario time ``completed_at``."""
        measured_at = self.wall_at(completed_at)
        reason = self._cuff_errors.get(cycle)
        if reason is not None:
            return NibpSnapshot(
                systolic=None, diastolic=None, mean=None, measured_at=measured_at, error=reason
            )
        seed, spread = self.scenario.seed, self.scenario.noise.nibp
        systolic = round(self._tracks["systolic"].at(completed_at) + spread * _draw(seed, _SYSTOLIC, cycle))
        diastolic = round(
            self._tracks["diastolic"].at(completed_at) + spread * _draw(seed, _DIASTOLIC, cycle)
        )
        diastolic = min(diastolic, systolic - 10)  # noise never inverts a pulse pressure
        if "mean" in self._tracks:
            mean = self._tracks["mean"].at(completed_at) + spread * _draw(seed, _MEAN, cycle)
        else:
            # From the whole numbers the device reports, so anyone recomputing MAP agrees.
            mean = diastolic + (systolic - diastolic) / 3
        return NibpSnapshot(
            systolic=float(systolic),
            diastolic=float(diastolic),
            mean=float(round(mean)),
            measured_at=measured_at,
        )
