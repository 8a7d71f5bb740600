"""The trend's history on resume (MON-8, issue 9), read as columns instead of one object per reading.

A 24-hour session holds some 260 000 readings; building an ``Observation`` for each took seconds and
well over 100 MB. Here the repository's ``trend_columns`` gives arrays per vital (one bounded query),
which become the board's curves directly; the only objects built are the last NIBP cycle's (the
"before restart" reading its tile shows). Qt-free: ``SessionRecorder.attach`` hands the result to
the ``VitalsBoard``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from drivers.types import Observation, VitalKind
from storage import SessionRepository
from storage.records import SessionSummary, TrendColumns

log = logging.getLogger(__name__)

#: The kinds drawn as curves (as ``VitalsBoard.CONTINUOUS``).
CURVE_KINDS = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE, VitalKind.PERFUSION_INDEX)
NIBP_KINDS = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
#: What ``TrendView`` draws (SpO2, pulse or heart rate, NIBP): the only kinds read on resume.
DRAWN_KINDS = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE, *NIBP_KINDS)

Points = list[tuple[float, float | None, float | None, float | None]]


@dataclass(frozen=True, slots=True)
class TrendHistory:
    """A resumed session's trend: per curve (session seconds, value with NaN where not valid), the
    valid NIBP readings as points, the last NIBP cycle as observations, and how many readings."""

    curves: Mapping[VitalKind, tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]
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


def load_trend_history(repo: SessionRepository, session: SessionSummary) -> TrendHistory:
    """Read the session's trend as arrays (bounded by the repository's row cap) and its last NIBP
    cycle as observations (one small query)."""
    # Only what the trend draws: perfusion index has no curve, and its rows would double the read.
    columns = repo.trend_columns(session.session_id, kinds=DRAWN_KINDS)
    started_s = session.started_at.timestamp()
    curves = {
        kind: (c.measured_at_s - started_s, np.where(c.valid, c.values, np.nan))
        for kind, c in columns.items()
        if kind in CURVE_KINDS
    }
    last_nibp: tuple[Observation, ...] = ()
    systolic = columns.get(VitalKind.NIBP_SYSTOLIC)
    if systolic is not None and len(systolic):
        # Rounded down to the microsecond the database stored: the cycle's three rows are found again.
        since = datetime.fromtimestamp(float(systolic.measured_at_s[-1]) - 1e-3, UTC)
        last_nibp = tuple(repo.observations(session.session_id, since=since, kinds=NIBP_KINDS))
    count = sum(len(c) for c in columns.values())
    log.info("trend history of session %s: %d readings read as columns", session.session_id, count)
    return TrendHistory(curves, nibp_points(columns, started_s), last_nibp, count)


def baseline_samples_since(state: Mapping[str, Any]) -> datetime | None:
    """From when a resumed pre-infusion snapshot needs the stored SpO2/pulse samples: its earliest
    baseline NIBP reading (samples are used only between the readings the baseline picks); None
    when it holds no reading, so no samples are read at all."""
    times = [datetime.fromisoformat(r["measured_at"]) for r in state.get("baseline_nibp", ())]
    return min(times) if times else None
