"""What the screen may claim about each vital right now (MON-1, MON-6).

A number is shown as current only while it is fresh; after the no-valid-data limit the tile says
so instead of freezing the last value, and nothing older than the stale limit is ever current.
After a restart (MON-8) the values replayed from storage are never current: they go into the
trend, and the last NIBP is shown as "before restart, HH:MM:SS" with its age from wall time.

Every source is its own stream (MON-6, MON-7): three oximeters give three SpO2 curves and three
values, never one line zig-zagging between probes nor a tile flipping between them. The board
keeps a curve and a latest value per (vital, source); the screen shows a primary source large and
the others listed with their own values and ages.

Both limits are the clinic's (``monitoring.no_valid_spo2_s`` and ``monitoring.stale_after_s``,
given with ``use_clinic_config``), the same numbers the alarm system judges with.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import numpy.typing as npt

from alarms import ClinicalConfig, NibpAssembler
from drivers.types import DeviceEvent, DeviceEventKind, Observation, Quality, VitalKind, Waveform


class Freshness(enum.StrEnum):
    """How a numeric tile presents its value."""

    CURRENT = "current"
    NOT_VALID = "not_valid"  # the device is sending, but says the value cannot be trusted
    NO_DATA = "no_data"  # nothing valid within the no-valid-data limit
    DEVICE_LOST = "device_lost"  # the device's link is down or silent: its last value, greyed, aged


@dataclass(frozen=True, slots=True)
class Numeric:
    """One tile's content: value text, its age and why it is (not) current."""

    kind: VitalKind
    value: float | None
    freshness: Freshness
    age_s: float | None
    quality: Quality
    source: str
    detail: str = ""
    #: Not a patient's value (ALM/DRL: SIMULATION is shown on the tile).
    simulated: bool = False

    @property
    def text(self) -> str:
        """The number while current, or a dead device's last number (shown greyed), else dashes."""
        if self.freshness in (Freshness.CURRENT, Freshness.DEVICE_LOST) and self.value is not None:
            return f"{self.value:.0f}"
        return "---"


@dataclass(frozen=True, slots=True)
class NibpShown:
    """The last NIBP reading and its age; intermittent, so shown with its age, not as live."""

    systolic: float | None
    diastolic: float | None
    mean: float | None
    age_s: float | None
    quality: Quality
    source: str
    #: When the reading was taken before the monitor restarted (MON-8); None for this run's readings.
    before_restart_at: datetime | None = None
    #: Why the device that took it is dead ("link down", "silent"); "" while it is connected.
    device_lost: str = ""
    simulated: bool = False

    @property
    def text(self) -> str:
        if self.systolic is None or self.diastolic is None:
            return "---/---"
        return f"{self.systolic:.0f}/{self.diastolic:.0f}"

    @property
    def restart_note(self) -> str:
        """ "before restart, HH:MM:SS" (local time) for a reading from before a restart, else ""."""
        if self.before_restart_at is None:
            return ""
        return f"before restart, {self.before_restart_at.astimezone():%H:%M:%S}"


class TrendSeries:
    """A growing float64 series (session-relative seconds, value) for a continuous vital.

    Invalid samples are stored as NaN so the curve shows a gap, never a fake value (MON-6), and
    so is a silence: when a valid sample arrives longer after the one before than
    ``max(3 x the source's sample interval, min_gap_s)``, a NaN is put between them so the line
    is not drawn across time nobody measured (MON-5). The sample interval is learned from the
    series itself: the shortest of its recent intervals, which a gap can only lengthen, never
    shorten, so dropouts do not teach it to join across dropouts; a 1 Hz oximeter and an HL7 feed
    every 10 s are each judged at their own pace. Appending is amortised O(1): a trend never rebuilds.
    """

    #: How many recent intervals the sample interval is learned from.
    INTERVALS_KEPT = 15

    def __init__(self, capacity: int = 4096, min_gap_s: float = 5.0) -> None:
        self._t: npt.NDArray[np.float64] = np.empty(capacity, dtype=np.float64)
        self._v: npt.NDArray[np.float64] = np.empty(capacity, dtype=np.float64)
        self._n = 0
        self.min_gap_s = min_gap_s
        self._intervals: deque[float] = deque(maxlen=self.INTERVALS_KEPT)
        #: Bumped on every append, so a view redraws only when the data changed.
        self.version = 0

    def gap_after_s(self) -> float:
        """How long after the previous sample a new one starts a new line segment."""
        if not self._intervals:
            return self.min_gap_s
        return max(3.0 * min(self._intervals), self.min_gap_s)

    def append(self, t: float, value: float | None) -> None:
        """Add one sample (None: not valid, drawn as a gap)."""
        if self._n:
            prev_t = float(self._t[self._n - 1])
            dt = t - prev_t
            # The learned interval only matters past the configured limit: most samples are not.
            if (
                value is not None
                and dt > self.min_gap_s
                and dt > self.gap_after_s()
                and not np.isnan(self._v[self._n - 1])
            ):
                # Missing data must look missing: break the line inside the silence.
                self._push(prev_t + dt / 2.0, None)
            if dt > 0:
                self._intervals.append(dt)
        self._push(t, value)

    def _push(self, t: float, value: float | None) -> None:
        if self._n == self._t.size:
            self._t = np.concatenate([self._t, np.empty_like(self._t)])
            self._v = np.concatenate([self._v, np.empty_like(self._v)])
        self._t[self._n] = t
        self._v[self._n] = np.nan if value is None else value
        self._n += 1
        self.version += 1

    def extend(
        self, t: npt.NDArray[np.float64], values: npt.NDArray[np.float64], *, interval_s: float | None = None
    ) -> None:
        """Append many samples at once (a resumed session's history; NaN where not valid).

        Silences in the history are broken as ``append`` breaks them (MON-5): the sample interval is
        taken from the history's own short intervals (its 10th percentile), so a restart's gap or a
        dropout is never drawn as data. ``interval_s`` gives the interval instead (per-minute
        history, whose own silences are already NaN).
        """
        if t.shape[0] == 0:
            return
        if self._n:  # the join between what is shown and the history counts as an interval too
            t = np.concatenate([self._t[self._n - 1 : self._n], t])
            values = np.concatenate([self._v[self._n - 1 : self._n], values])
            self._n -= 1
        dt = np.diff(t)
        positive = dt[dt > 0]
        if interval_s is not None:
            interval = interval_s
        else:
            interval = float(np.percentile(positive, 10)) if positive.size else self.min_gap_s
        for step in positive[-self.INTERVALS_KEPT :]:
            self._intervals.append(float(step))
        limit = max(3.0 * interval, self.min_gap_s)
        breaks = np.nonzero((dt > limit) & ~np.isnan(values[:-1]) & ~np.isnan(values[1:]))[0]
        if breaks.size:
            t = np.insert(t, breaks + 1, t[breaks] + dt[breaks] / 2.0)
            values = np.insert(values, breaks + 1, np.nan)
        need = self._n + int(t.shape[0])
        if need > self._t.size:
            size = max(need, 2 * self._t.size)
            self._t = np.concatenate([self._t[: self._n], np.empty(size - self._n, dtype=np.float64)])
            self._v = np.concatenate([self._v[: self._n], np.empty(size - self._n, dtype=np.float64)])
        self._t[self._n : need] = t
        self._v[self._n : need] = values
        self._n = need
        self.version += 1

    def __len__(self) -> int:
        return self._n

    @property
    def t(self) -> npt.NDArray[np.float64]:
        """Sample times (session seconds); a view of the stored data, not a copy."""
        return self._t[: self._n]

    @property
    def v(self) -> npt.NDArray[np.float64]:
        """Sample values, NaN where invalid or where a gap breaks the line."""
        return self._v[: self._n]


#: Seconds without pleth from the shown device before another device's pleth is shown instead.
PLETH_SWITCH_S = 2.0


class PlethBuffer:
    """The newest seconds of one device's pleth: a bounded ring (never grows with the session)."""

    def __init__(self, seconds: float = 6.0, max_rate_hz: float = 100.0) -> None:
        self._v: npt.NDArray[np.float64] = np.full(int(seconds * max_rate_hz), np.nan)
        self.seconds = seconds
        self.rate_hz = 0.0
        self.source = ""
        self.received_mono: float | None = None
        self._end = 0  # where the next sample goes
        #: Bumped per waveform, so the strip repaints only when something new arrived.
        self.version = 0

    def add(self, wave: Waveform) -> None:
        """Append one run of samples, dropping the oldest beyond ``seconds``."""
        self.rate_hz, self.source, self.received_mono = wave.rate_hz, wave.source, wave.received_mono
        size = min(self._v.size, max(1, int(self.seconds * wave.rate_hz)))
        samples = np.asarray(wave.samples[-size:], dtype=np.float64)
        idx = (self._end + np.arange(samples.size)) % self._v.size
        self._v[idx] = samples
        self._end = int((self._end + samples.size) % self._v.size)
        self.version += 1

    def newest(self) -> npt.NDArray[np.float64]:
        """The newest ``seconds`` of samples, oldest first (NaN where none arrived yet)."""
        size = min(self._v.size, max(1, int(self.seconds * (self.rate_hz or 1.0))))
        idx = (self._end - size + np.arange(size)) % self._v.size
        return self._v[idx]


#: The key of a curve whose source is not known (stored without one) or samples put straight into
#: ``trends``.
UNNAMED_SOURCE = ""


@dataclass(frozen=True, slots=True)
class HistoryCurve:
    """One source's stored curve of one kind, from before a restart (session seconds).

    ``older``: the long past as drawn (per time bucket its lowest and highest value, NaN where
    nothing valid was measured, so a silence is already a gap), joined at ``bucket_s``; ``recent``:
    the newest samples at full resolution (NaN where not valid), broken at silences as live ones.
    """

    older_t: npt.NDArray[np.float64]
    older_v: npt.NDArray[np.float64]
    bucket_s: float
    recent_t: npt.NDArray[np.float64]
    recent_v: npt.NDArray[np.float64]


class VitalsBoard:
    """Latest values per kind and source and the session's trends, judged against the clock."""

    CONTINUOUS = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE, VitalKind.PERFUSION_INDEX)

    def __init__(
        self,
        session_start_mono: float,
        no_valid_after_s: float = 10.0,
        stale_after_s: float = 30.0,
        trend_gap_s: float = 5.0,
    ):
        self.session_start_mono = session_start_mono
        self.no_valid_after_s = no_valid_after_s
        self.stale_after_s = stale_after_s
        self._last: dict[VitalKind, Observation] = {}
        self._last_valid: dict[VitalKind, Observation] = {}
        #: The same, per source: each device's stream is judged and shown on its own (MON-7).
        self._last_of: dict[tuple[VitalKind, str], Observation] = {}
        self._last_valid_of: dict[tuple[VitalKind, str], Observation] = {}
        #: Sources of each kind, in the order they first sent it (the screen's order, stable).
        self._sources: dict[VitalKind, list[str]] = {k: [] for k in self.CONTINUOUS}
        self._trend_gap_s = trend_gap_s
        #: The first curve of each kind: the first source's, or the resumed history's (kept for
        #: callers that know one curve per kind; ``lines`` holds every source's).
        self.trends: dict[VitalKind, TrendSeries] = {
            k: TrendSeries(min_gap_s=trend_gap_s) for k in self.CONTINUOUS
        }
        #: One curve per source of each continuous kind, in the order the sources appeared. The
        #: first curve starts out unnamed and is taken by the first source that sends the kind
        #: (or keeps the resumed history, which has no source).
        self.lines: dict[VitalKind, dict[str, TrendSeries]] = {
            k: {UNNAMED_SOURCE: self.trends[k]} for k in self.CONTINUOUS
        }
        #: Bumped when a source's curve or value appears, so views add rows and lines only then.
        self.sources_version = 0
        #: NIBP points: (session seconds, systolic, diastolic, mean)
        self.nibp_points: list[tuple[float, float | None, float | None, float | None]] = []
        self._nibp_assembler = NibpAssembler()
        self._nibp_t: dict[tuple[str, datetime], float] = {}
        self._before_restart: dict[VitalKind, Observation] = {}
        #: (monotonic, wall) of the restart, so ages of older readings come from wall time.
        self._restart: tuple[float, datetime] | None = None
        #: Devices whose link is down or silent, in a clinician's words (ALM-2).
        self._lost: dict[str, str] = {}
        #: The pleth of the device that sent one most recently (a Nonin DF2, an Ivy).
        self.pleth = PlethBuffer()

    def use_clinic_config(self, config: ClinicalConfig) -> None:
        """Judge freshness with the clinic's limits (MON-1), not the start-up defaults."""
        self.no_valid_after_s = config.monitoring.no_valid_spo2_s
        self.stale_after_s = config.monitoring.stale_after_s
        self._trend_gap_s = config.monitoring.trend_gap_s
        for lines in self.lines.values():
            for series in lines.values():
                series.min_gap_s = config.monitoring.trend_gap_s

    def session_seconds(self, mono: float) -> float:
        return mono - self.session_start_mono

    def add(self, obs: Observation) -> None:
        """Record one observation (already time-stamped at arrival) in its source's stream."""
        self._last[obs.kind] = obs
        if obs.is_valid:
            self._last_valid[obs.kind] = obs
        t = self.session_seconds(obs.received_mono)
        if obs.kind in self.lines:
            key = (obs.kind, obs.source)
            if key not in self._last_of:
                self._sources[obs.kind].append(obs.source)
                self.sources_version += 1
            self._last_of[key] = obs
            if obs.is_valid:
                self._last_valid_of[key] = obs
            self.line(obs.kind, obs.source).append(t, obs.value if obs.is_valid else None)
        elif obs.kind.is_nibp:
            self._collect_nibp(obs, t)

    def line(self, kind: VitalKind, source: str) -> TrendSeries:
        """The curve of one source's ``kind`` (made when the source first sends it): samples of
        two probes are never joined into one line."""
        lines = self.lines[kind]
        series = lines.get(source)
        if series is None:
            unnamed = lines.get(UNNAMED_SOURCE)
            if source != UNNAMED_SOURCE and unnamed is not None and len(unnamed) == 0:
                # The first source takes the empty first curve (``trends`` keeps pointing at it).
                del lines[UNNAMED_SOURCE]
                series = unnamed
            else:
                series = TrendSeries(min_gap_s=self._trend_gap_s)
            lines[source] = series
            self.sources_version += 1
        return series

    def sources(self, kind: VitalKind) -> tuple[str, ...]:
        """The sources that sent ``kind`` in this run, in the order they first did."""
        return tuple(self._sources.get(kind, ()))

    def primary_source(self, kind: VitalKind, prefer: str = "") -> str:
        """The source a tile shows large: ``prefer`` when it sends ``kind`` and is alive, else the
        first source (in order of appearance) whose device is alive, else the first; "" for none.

        Stable: the tile changes source only when its device dies or comes back, never because
        another probe's sample arrived last (issue 10: the tile flipped between oximeters).
        """
        sources = self._sources.get(kind, [])
        alive = [s for s in sources if s not in self._lost]
        if prefer and prefer in alive:
            return prefer
        if alive:
            return alive[0]
        return sources[0] if sources else ""

    def add_waveform(self, wave: Waveform) -> None:
        """Keep the newest pleth samples of one device; another device's pleth replaces it only
        once the shown one has stopped (two oximeters would otherwise interleave two waves)."""
        shown = self.pleth
        if shown.source and wave.source != shown.source:
            if shown.received_mono is not None and wave.received_mono - shown.received_mono < PLETH_SWITCH_S:
                return
            self.pleth = PlethBuffer()
        self.pleth.add(wave)

    def link_event(self, event: DeviceEvent) -> None:
        """A device's link went down or silent, or came back: its values are shown as lost or live."""
        if event.kind is DeviceEventKind.DISCONNECTED:
            self._lost[event.source] = "DEVICE DISCONNECTED"
        elif event.kind is DeviceEventKind.SILENT:
            self._lost.setdefault(event.source, "DEVICE SILENT")
        elif event.kind is DeviceEventKind.CONNECTED or (
            # Data again after a silence; a disconnected link only comes back by connecting.
            event.kind is DeviceEventKind.RESUMED and self._lost.get(event.source) == "DEVICE SILENT"
        ):
            self._lost.pop(event.source, None)

    def device_lost(self, source: str) -> str:
        """Why ``source`` is dead ("DEVICE DISCONNECTED", "DEVICE SILENT"), or "" while it is live."""
        return self._lost.get(source, "")

    def add_before_restart(self, obs: Observation) -> None:
        """Replay one stored observation from before a restart: trend only, never a current value."""
        if obs.is_valid or obs.kind not in self._before_restart:
            self._before_restart[obs.kind] = obs
        t = self.session_seconds(obs.received_mono)
        if obs.kind in self.lines:
            self.line(obs.kind, obs.source).append(t, obs.value if obs.is_valid else None)
        elif obs.kind.is_nibp:
            self._collect_nibp(obs, t)

    def add_history(
        self,
        curves: Mapping[VitalKind, Mapping[str, HistoryCurve]],
        nibp_points: Iterable[tuple[float, float | None, float | None, float | None]],
        last_nibp: Iterable[Observation],
    ) -> None:
        """Load a stored session's trend before a restart as arrays (trend only, never a current
        value), one line per source that the same source's new samples continue after the
        restart's break; ``last_nibp`` is the last cycle, which the NIBP tile shows as "before
        restart"."""
        for kind, by_source in curves.items():
            if kind not in self.lines:
                continue
            for source, curve in by_source.items():
                series = self.line(kind, source)
                series.extend(curve.older_t, curve.older_v, interval_s=curve.bucket_s)
                series.extend(curve.recent_t, curve.recent_v)
        self.nibp_points.extend(nibp_points)
        for obs in last_nibp:
            if obs.is_valid or obs.kind not in self._before_restart:
                self._before_restart[obs.kind] = obs

    def mark_restart(self, now_mono: float, now_wall: datetime) -> None:
        """The monitor restarted now: break every curve here so the gap is not drawn as data."""
        self._restart = (now_mono, now_wall)
        t = self.session_seconds(now_mono)
        for lines in self.lines.values():
            for series in lines.values():
                series.append(t, None)
        self._nibp_assembler = NibpAssembler()
        self._nibp_t.clear()

    @property
    def restarted(self) -> bool:
        """Whether this run resumed a session after a restart (MON-8)."""
        return self._restart is not None

    def _wall_at(self, now_mono: float) -> datetime | None:
        if self._restart is None:
            return None
        mono, wall = self._restart
        return wall + timedelta(seconds=now_mono - mono)

    def _collect_nibp(self, obs: Observation, t: float) -> None:
        # One NIBP assembly rule for the whole app (alarms.NibpAssembler); the board only keeps
        # the arrival time of each measurement to place its point on the trend.
        self._nibp_t[(obs.source, obs.measured_at)] = t
        for reading in self._nibp_assembler.add(obs):
            at = self._nibp_t.pop((reading.source, reading.measured_at), t)
            if reading.is_valid:
                self.nibp_points.append((at, reading.systolic, reading.diastolic, reading.mean))
        while len(self._nibp_t) > 16:  # parts that never completed: keep it bounded
            self._nibp_t.pop(next(iter(self._nibp_t)))

    def latest(self, kind: VitalKind) -> Observation | None:
        """The newest observation of a kind, valid or not (protocol steps show it with its quality)."""
        return self._last.get(kind)

    def numeric(self, kind: VitalKind, now_mono: float, source: str | None = None) -> Numeric:
        """What the tile for ``kind`` from ``source`` may show at ``now_mono`` (by default the
        primary source's: see ``primary_source``).

        A value whose device is known dead is never current: its last value stays, greyed with
        its age and why (ALM-2), so the screen shows what was last known and that it is old.
        """
        if kind in self._sources:
            source = self.primary_source(kind) if source is None else source
            last = self._last_of.get((kind, source))
            valid = self._last_valid_of.get((kind, source))
        else:
            last = self._last.get(kind)
            valid = self._last_valid.get(kind)
        if last is not None and (lost := self._lost.get(last.source)):
            shown = valid if valid is last else None
            age = max(0.0, now_mono - last.received_mono)
            return Numeric(
                kind,
                None if shown is None else shown.value,
                Freshness.DEVICE_LOST,
                age,
                last.quality,
                last.source,
                lost,
                last.is_simulation,
            )
        if valid is not None:
            age = max(0.0, now_mono - valid.received_mono)
            newest_is_valid = last is valid
            if age <= self.no_valid_after_s and age <= self.stale_after_s and newest_is_valid:
                return Numeric(
                    kind,
                    valid.value,
                    Freshness.CURRENT,
                    age,
                    Quality.VALID,
                    valid.source,
                    simulated=valid.is_simulation,
                )
        if last is None:
            return Numeric(kind, None, Freshness.NO_DATA, None, Quality.UNKNOWN, "")
        age = max(0.0, now_mono - last.received_mono)
        sim = last.is_simulation
        if not last.is_valid and age <= self.no_valid_after_s:
            return Numeric(kind, None, Freshness.NOT_VALID, age, last.quality, last.source, last.detail, sim)
        valid_age = None if valid is None else max(0.0, now_mono - valid.received_mono)
        return Numeric(kind, None, Freshness.NO_DATA, valid_age, last.quality, last.source, last.detail, sim)

    def nibp(self, now_mono: float) -> NibpShown:
        """The last NIBP reading (valid or failed) with its age."""
        sys_obs = self._last.get(VitalKind.NIBP_SYSTOLIC)
        if sys_obs is None:
            return self._nibp_before_restart(now_mono)
        dia = self._last.get(VitalKind.NIBP_DIASTOLIC)
        mean = self._last.get(VitalKind.NIBP_MEAN)
        valid = sys_obs.is_valid
        return NibpShown(
            sys_obs.value if valid else None,
            dia.value if (valid and dia and dia.is_valid) else None,
            mean.value if (valid and mean and mean.is_valid) else None,
            max(0.0, now_mono - sys_obs.received_mono),
            sys_obs.quality,
            sys_obs.source,
            device_lost=self._lost.get(sys_obs.source, ""),
            simulated=sys_obs.is_simulation,
        )

    def _nibp_before_restart(self, now_mono: float) -> NibpShown:
        """The last valid reading from before a restart, aged by wall time (never negative), or none."""
        sys_obs = self._before_restart.get(VitalKind.NIBP_SYSTOLIC)
        now_wall = self._wall_at(now_mono)
        if sys_obs is None or not sys_obs.is_valid or now_wall is None:
            return NibpShown(None, None, None, None, Quality.UNKNOWN, "")
        dia = self._before_restart.get(VitalKind.NIBP_DIASTOLIC)
        mean = self._before_restart.get(VitalKind.NIBP_MEAN)
        same = [o for o in (dia, mean) if o is not None and o.measured_at == sys_obs.measured_at]
        return NibpShown(
            sys_obs.value,
            next((o.value for o in same if o.kind is VitalKind.NIBP_DIASTOLIC and o.is_valid), None),
            next((o.value for o in same if o.kind is VitalKind.NIBP_MEAN and o.is_valid), None),
            max(0.0, (now_wall - sys_obs.measured_at).total_seconds()),
            sys_obs.quality,
            sys_obs.source,
            before_restart_at=sys_obs.measured_at,
        )
