"""The clinical state keeper's work per observation does not grow with the session (issue 11).

Found by ``tests/benchmarks/bench_session_24h.py``: ``ClinicalStateKeeper.changed`` runs after
every observation, and it captured and serialised the whole clinical state (every NIBP reading of
the session) each time to find out whether anything had changed; in a day-long session that is
hundreds of readings, ten times a second. It now captures only when the state's outline moved (or
once per refresh period), and still writes every clinical change at once.
"""

from __future__ import annotations

import pytest

import bedside.workflow.session_state as session_state
from alarms import load_config
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.session_state import COUNTDOWN_REFRESH_S, ClinicalStateKeeper
from drivers.clock import FakeClock
from drivers.types import VitalKind
from storage import ClinicalSnapshotRecord
from tests.alarms.helpers import nibp_obs, obs


@pytest.mark.req("MON-8")
def test_observations_that_change_nothing_clinical_are_not_captured(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding: the whole state was captured after every observation. 600 steady SpO2 and pulse
    samples (one a second for 5 minutes) capture the state at most once per refresh period."""
    clock = FakeClock()
    records: list[object] = []
    clinical = ClinicalSession(
        clock, load_config(), session_id="s-1", record=records.append,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip
    captures = 0
    real_capture = session_state.capture

    def counting_capture(*args: object, **kwargs: object) -> dict[str, object]:
        nonlocal captures
        captures += 1
        return real_capture(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(session_state, "capture", counting_capture)
    ClinicalStateKeeper(clinical, records.append)
    clinical.on_observation(obs(clock, VitalKind.SPO2, 98))  # first of its stream: the alarms' state moves
    clinical.on_observation(obs(clock, VitalKind.PULSE_RATE, 72))
    before = captures
    seconds = 300
    for _ in range(seconds):
        clock.advance(1)
        clinical.on_observation(obs(clock, VitalKind.SPO2, 98))
        clinical.on_observation(obs(clock, VitalKind.PULSE_RATE, 72))
    assert captures - before <= seconds / COUNTDOWN_REFRESH_S + 1


@pytest.mark.req("MON-8")
def test_a_clinical_change_is_still_written_at_once() -> None:
    """An NIBP reading between steady samples is in a snapshot written at that moment."""
    clock = FakeClock()
    records: list[object] = []
    clinical = ClinicalSession(
        clock, load_config(), session_id="s-1", record=records.append,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip
    ClinicalStateKeeper(clinical, records.append)
    clinical.begin_baseline("Nurse Adams")
    for _ in range(5):
        clock.advance(1)
        clinical.on_observation(obs(clock, VitalKind.SPO2, 98))
    written = len([r for r in records if isinstance(r, ClinicalSnapshotRecord)])
    clock.advance(1)
    for o in nibp_obs(clock, 124, 80, 95):
        clinical.on_observation(o)
    snapshots = [r for r in records if isinstance(r, ClinicalSnapshotRecord)]
    assert len(snapshots) > written
    assert snapshots[-1].at == clock.now()
    assert [r["systolic"] for r in snapshots[-1].state["baseline_nibp"]] == [124]
