"""The trend's history on resume (MON-5, MON-8; issues 9 and 11), read as columns instead of one
object per reading.

A 24-hour session holds some 260 000 readings per device; building an ``Observation`` for each took
seconds and well over 100 MB, and reading the newest 400 000 rows as columns showed only the last
~12 hours with three devices. Here the repository's ``source_trends`` gives, per kind and source,
the newest hour at full resolution and everything older as per-minute buckets (each bucket's lowest
and highest valid value, computed in the database): the whole session is drawn, a one-second dip
hours ago is still drawn at its value (as the trend's peak downsampling would draw it), and a
minute without valid data stays a gap. Each source is its own line, which its new samples continue
after the restart's break. NIBP readings are few and read whole. The only objects built are the last
NIBP cycle's (the "before restart" reading its tile shows). Qt-free: ``SessionRecorder.attach``
hands the result to the ``VitalsBoard``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from bedside.monitor.vitals_board import HistoryCurve
from drivers.types import Observation, VitalKind
from storage import SessionRepository
from storage.records import SessionSummary, SourceTrend, TrendColumns

log = logging.getLogger(__name__)

#: The kinds drawn as curves (as ``VitalsBoard.CONTINUOUS``).
CURVE_KINDS = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE, VitalKind.PERFUSION_INDEX)
NIBP_KINDS = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
#: The curves ``TrendView`` draws (SpO2, pulse or heart rate): with NIBP, the only kinds read on
#: resume (perfusion index has no curve, and its rows would double the read).
CURVE_KINDS_DRAWN = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE)
DRAWN_KINDS = (*CURVE_KINDS_DRAWN, *NIBP_KINDS)
#: How much of the newest history is read at full resolution (the trend's first view is 30 min).
FULL_RESOLUTION_S = 3600.0

Points = list[tuple[float, float | None, float | None, float | None]]


@dataclass(frozen=True, slots=True)
class TrendHistory:
    """A resumed session's trend: per kind and source a curve (session seconds), the valid NIBP
    readings as points, the last NIBP cycle as observations, and how many stored readings these
    cover."""

    curves: Mapping[VitalKind, Mapping[str, HistoryCurve]]
    nibp_points: Points
    last_nibp: tuple[Observation, ...]
    count: int


def nibp_points(columns: Mapping[VitalKind, TrendColumns], started_s: float) -> Points:
    """Valid NIBP readings as (session seconds, systolic, diastolic, mean), one per cycle: the
    parts of a cycle share their measurement time, and a cycle stored again (repeated by its
    device) is one point, as on the live trend."""
    systolic = columns.get(VitalKind.NIBP_SYSTOLIC)
    if systolic is None:
        return []

    def by_time(kind: VitalKind) -> dict[float, float]:
        c = columns.get(kind)
        if c is None:
            return {}
        return {float(t): float(v) for t, v, ok in zip(c.measured_at_s, c.values, c.valid, strict=True) if ok}

    diastolic, mean = by_time(VitalKind.NIBP_DIASTOLIC), by_time(VitalKind.NIBP_MEAN)
    points: Points = []
    for t, v, ok in zip(systolic.measured_at_s, systolic.values, systolic.valid, strict=True):
        if ok:
            at = float(t)
            point = (at - started_s, float(v), diastolic.get(at), mean.get(at))
            # An HL7 gateway repeats the last cycle in every message: stored each time, one point.
            if not points or points[-1] != point:
                points.append(point)
    return points


def history_curve(trend: SourceTrend, started_s: float) -> HistoryCurve:
    """One source's stored curve as the board draws it: each older bucket as its lowest then its
    highest valid value (inside the bucket, the last one at its end so the full-resolution part
    joins on), one NaN for a bucket with nothing valid and one for each run of buckets without
    readings (a silence stays a gap), then the newest samples (NaN where not valid)."""
    size = trend.bucket_s
    times: list[float] = []
    values: list[float] = []
    previous: float | None = None
    for start, low, high in zip(
        trend.bucket_start_s.tolist(), trend.low.tolist(), trend.high.tolist(), strict=True
    ):
        if previous is not None and start - previous > size * 1.5:
            times.append(previous + size * 1.5)  # buckets with no reading at all
            values.append(math.nan)
        if math.isnan(low):
            times.append(start + size / 2)
            values.append(math.nan)
        else:
            times += [start + size / 2, start + size - 1e-3]
            values += [low, high]
        previous = start
    recent = trend.recent
    return HistoryCurve(
        older_t=np.asarray(times, dtype=np.float64) - started_s,
        older_v=np.asarray(values, dtype=np.float64),
        bucket_s=size,
        recent_t=recent.measured_at_s - started_s,
        recent_v=np.where(recent.valid, recent.values, np.nan),
    )


def load_trend_history(repo: SessionRepository, session: SessionSummary) -> TrendHistory:
    """Read the whole session's trend (per source: the newest hour at full resolution, older
    history per minute) and its NIBP readings, and the last NIBP cycle as observations."""
    started_s = session.started_at.timestamp()
    curves: dict[VitalKind, dict[str, HistoryCurve]] = {}
    count = 0
    for (kind, source), trend in repo.source_trends(
        session.session_id, kinds=CURVE_KINDS_DRAWN, recent_s=FULL_RESOLUTION_S
    ).items():
        curves.setdefault(kind, {})[source] = history_curve(trend, started_s)
        count += trend.readings
    columns = repo.trend_columns(session.session_id, kinds=NIBP_KINDS)
    last_nibp: tuple[Observation, ...] = ()
    systolic = columns.get(VitalKind.NIBP_SYSTOLIC)
    if systolic is not None and len(systolic):
        # Rounded down to the microsecond the database stored: the cycle's three rows are found again.
        since = datetime.fromtimestamp(float(systolic.measured_at_s[-1]) - 1e-3, UTC)
        last_nibp = tuple(repo.observations(session.session_id, since=since, kinds=NIBP_KINDS))
    count += sum(len(c) for c in columns.values())
    log.info("trend history of session %s: %d readings", session.session_id, count)
    return TrendHistory(curves, nibp_points(columns, started_s), last_nibp, count)


def baseline_samples_since(state: Mapping[str, Any]) -> datetime | None:
    """From when a resumed pre-infusion snapshot needs the stored SpO2/pulse samples: its earliest
    baseline NIBP reading (samples are used only between the readings the baseline picks); None
    when it holds no reading, so no samples are read at all."""
    times = [datetime.fromisoformat(r["measured_at"]) for r in state.get("baseline_nibp", ())]
    return min(times) if times else None
