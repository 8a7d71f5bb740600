"""Half an hour of a whole session through the real path, bounded for CI (issue 11, "Measured").

The same harness as ``tests/benchmarks/bench_session_24h.py`` (which runs the day and reports its
figures): simulators' wire encoders -> drivers -> ``MonitorCore`` -> ``ClinicalSession`` ->
``SessionRecorder`` -> ``StorageWriter`` -> a SQLite file, on a ``FakeClock``; then the file is
reopened the way a restarted monitor resumes it. Correctness only, never timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.benchmarks.bench_session_24h import session_figures


@pytest.mark.req("MON-5")
@pytest.mark.req("MON-8")
def test_half_an_hour_is_stored_whole_and_resumes_on_the_same_values(tmp_path: Path) -> None:
    """Every reading the drivers decoded is a row; nothing was shed or failed; the reopened
    monitor's trend and NIBP tile end on the values the live one showed; each NIBP cycle is one
    reading and one trend point however often the HL7 gateway repeated it (issue 11: each repeat
    was judged as a new reading, 360 in half an hour)."""
    figures, checks = session_figures(tmp_path, 0.5)
    assert checks["made"] == checks["stored"] > 0
    assert checks["dropped"] == 0 and checks["failures"] == []
    assert all(count > 0 for count in checks["per_device"].values()), checks["per_device"]
    assert checks["live"] == checks["reopened"]
    assert None not in checks["live"].values()
    assert checks["problems"] == []
    assert figures["hl7_acks"] == figures["hl7_messages"] > 300  # every 5 s, each acknowledged
    assert figures["nibp_cycles_started"] >= 6  # every 5 minutes from the baseline's start (MON-2)
    assert figures["nibp_readings_judged"] == checks["distinct_nibp_cycles"]
    assert checks["live_nibp_points"] == checks["reopened_nibp_points"] == checks["distinct_nibp_cycles"]
    assert figures["reopen_replayed"] > 0
