"""Hours in the baseline phase with three oximeters: the baseline screen, the restart snapshot and
its round trip stay bounded (issue 11, finding 1; THR-2, MON-8).

The accelerated 24-hour session found a session left in baseline keeping every SpO2 and pulse
sample (gc objects 153k -> 309k over 6 h) and the reopen reading them all back (8.4 s).
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QTableWidget
from pytestqt.qtbot import QtBot

from alarms import Baseline, SessionPhase
from bedside.monitor.trend_history import baseline_samples_since
from bedside.views.session.hub import SessionScreens
from bedside.workflow.clinical import ClinicalSession
from drivers.types import DecodeResult, VitalKind
from tests.alarms.helpers import nibp_obs, obs
from tests.bedside.session.conftest import Rig

OXIMETERS = ("masimo", "nonin", "hl7-gw")
SAMPLE_EVERY_S = 20
NIBP_EVERY_S = 300


def _hour_of_baseline(rig: Rig) -> None:
    for step in range(3600 // SAMPLE_EVERY_S):
        batch = [
            o
            for source in OXIMETERS
            for o in (
                obs(rig.clock, VitalKind.SPO2, 96 + step % 4, source=source),
                obs(rig.clock, VitalKind.PULSE_RATE, 68 + step % 7, source=source),
            )
        ]
        if step % (NIBP_EVERY_S // SAMPLE_EVERY_S) == 0:
            batch += nibp_obs(rig.clock, 118 + step % 5, 76 + step % 3, None)
        rig.core.on_result(DecodeResult(observations=tuple(batch), frames=1), "sim")
        rig.core.pump()
        rig.clock.advance(SAMPLE_EVERY_S)


@pytest.mark.req("THR-2")
@pytest.mark.req("MON-8")
@pytest.mark.timeout(300)
def test_hours_in_baseline_keep_the_screen_and_the_snapshot_bounded(qtbot: QtBot, rig: Rig) -> None:
    """Finding 1 (issue 11): after one hour and after two, the baseline screen lists a small,
    bounded number of rows (NIBP readings of the last hour, SpO2 and pulse medians per oximeter
    before, inside and after the NIBP window), the snapshot's baseline readings do not grow, and a
    restored session proposes the same baseline from the samples it reads back (bounded to the last hour)."""
    rig.clinical.begin_baseline("rdiaz")
    hub = SessionScreens(rig.services)
    qtbot.addWidget(hub)
    screen = hub.show_screen("Baseline")
    table = screen.findChild(QTableWidget, "baselineReadings")
    assert table is not None

    sizes = []
    for _hour in range(2):
        _hour_of_baseline(rig)
        screen.refresh()  # type: ignore[attr-defined]
        state = json.loads(json.dumps(rig.clinical.snapshot()))
        sizes.append((table.rowCount(), len(state["baseline_nibp"]), len(json.dumps(state["baseline_nibp"]))))
    assert rig.clinical.phase is SessionPhase.BASELINE
    # The snapshot holds the same after two hours as after one: the 12 cycles of the last hour.
    assert sizes[0][1:] == sizes[1][1:], sizes
    rows, readings, _ = sizes[-1]
    assert readings == 3600 // NIBP_EVERY_S
    # On screen: their 2 parts each (no mean sent), and per oximeter SpO2 and pulse medians before,
    # inside and after the window of the readings used; never a row per sample.
    texts = [table.item(r, 0).text() for r in range(rows)]
    medians = sum("median of" in t for t in texts)
    assert rows == 2 * readings + medians
    assert 2 * len(OXIMETERS) <= medians <= 2 * 3 * len(OXIMETERS), texts
    assert all(r <= 2 * readings + 2 * 3 * len(OXIMETERS) for r, _, _ in sizes), sizes
    assert "Proposed" in screen.computed.text()  # type: ignore[attr-defined]

    # The round trip: what a restart reads back is the last hour, and gives the same baseline.
    before = rig.clinical.baseline_calculator.propose()
    rig.recorder.writer.flush()
    since = baseline_samples_since(state)
    assert since is not None and (rig.clock.now() - since).total_seconds() <= 3600
    samples = rig.recorder.repo.observations(
        rig.recorder.session_id, since=since, kinds=(VitalKind.SPO2, VitalKind.PULSE_RATE)
    )
    assert len(samples) <= 2 * len(OXIMETERS) * (3600 // SAMPLE_EVERY_S + 1)
    resumed = ClinicalSession(
        rig.clock, rig.clinical.config, session_id=rig.clinical.session_id, record=lambda r: None,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip
    resumed.restore(state, baseline_samples=samples)
    after = resumed.baseline_calculator.propose()
    assert (after.systolic, after.diastolic, after.mean, after.spo2, after.pulse) == (
        before.systolic,
        before.diastolic,
        before.mean,
        before.spo2,
        before.pulse,
    )

    # The same readings and medians used (samples before the first NIBP reading are not read back:
    # the rule cannot use them).
    def used(b: Baseline) -> list[tuple[object, ...]]:
        return [(c.field, c.value, c.source, c.samples, c.measured_at) for c in b.candidates if c.used]

    assert used(after) == used(before)
