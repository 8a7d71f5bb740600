"""Vitals as CSV (EXP-1): one row per observation, in measurement order, whatever its quality."""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Iterable
from datetime import UTC

from drivers.types import Observation

log = logging.getLogger(__name__)

CSV_COLUMNS = ("time_utc", "kind", "value", "unit", "quality", "source")


def vitals_csv(observations: Iterable[Observation]) -> str:
    """The observations as CSV text with a header; ``value`` is empty when the device sent none."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(
        (
            obs.measured_at.astimezone(UTC).isoformat(timespec="milliseconds"),
            obs.kind.value,
            "" if obs.value is None else repr(obs.value),
            obs.unit,
            obs.quality.value,
            obs.source,
        )
        for obs in observations
    )
    return buffer.getvalue()
