"""CALL 911 from the idle screen survives a restart (MON-8, issue 10): the incident it opened and
the time 911 was first called come back, so a press after the restart joins that incident and the
EMS hand-off keeps the first call's time."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import SessionPhase
from bedside.workflow.protocol_desk import EmergencyCall
from bedside.workflow.session_state import capture, emergency_call, protocol_offers, state_report
from drivers.clock import FakeClock
from protocols import LIBRARY_DIR, LibraryLoad, load_library
from storage import AlarmEventRecord, SessionRepository
from tests.bedside.test_restart import DOCTOR, NURSE, Monitor, start_infusion, start_monitor


@pytest.fixture(scope="module")
def library() -> LibraryLoad:
    return load_library(LIBRARY_DIR)


def into_infusion_idle(m: Monitor) -> None:
    """Baseline, thresholds, checklist and the infusion running; no protocol started."""
    start_infusion(m)
    m.seconds(60)


def press(m: Monitor, who: str = NURSE) -> EmergencyCall:
    """The window's fixed CALL 911 button with no protocol running."""
    return m.desk.call_911_now(who)


def _called_911_incidents(m: Monitor) -> list[str]:
    assert m.writer.flush(5.0)
    return [i.incident_id for i in SessionRepository(m.db).incidents(m.session_id) if i.kind == "call_911"]


@pytest.mark.req("MON-8")
@pytest.mark.timeout(120)
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    before_s=st.integers(0, 600),
    down_s=st.integers(1, 3600),
    presses_before=st.integers(1, 3),
    who_after=st.sampled_from([NURSE, DOCTOR, ""]),
)
def test_call_911_after_a_restart_mid_infusion_joins_the_first_call(
    tmp_path_factory: pytest.TempPathFactory,
    library: LibraryLoad,
    before_s: int,
    down_s: int,
    presses_before: int,
    who_after: str,
) -> None:
    """Issue 10 / MON-8: pressed CALL 911 from the idle screen, then the monitor restarted; the
    desk had forgotten the incident and the call time, so the next press opened a second incident
    "911 called from the monitor screen" and the EMS hand-off gave the second press as the call."""
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('db')) / 'bedside.sqlite3'}"
    clock = FakeClock()
    first = start_monitor(clock, url, library, restore=False)
    into_infusion_idle(first)
    assert first.clinical.phase is SessionPhase.INFUSION and not first.desk.runs()
    called = press(first)
    assert not called.repeat and called.run_id is None
    for _ in range(presses_before - 1):
        first.seconds(max(1, before_s // presses_before))
        assert press(first).incident_id == called.incident_id
    first.seconds(before_s)
    first.crash()  # killed: only what the writer committed is left

    clock.advance(down_s)
    second = start_monitor(clock, url, library, restore=True)
    assert second.clinical.phase is SessionPhase.INFUSION
    assert second.desk.emergency_call == (called.incident_id, called.at)
    again = press(second, who_after)

    assert again.incident_id == called.incident_id
    assert again.repeat
    assert again.record is not None and again.record.called_911_at == called.at
    assert f"{called.at:%H:%M}" in again.handoff
    assert _called_911_incidents(second) == [called.incident_id]
    report = state_report(second.clinical, second.desk)
    assert report["emergency_call"] == {
        "incident_id": called.incident_id,
        "called_at": called.at.isoformat(),
    }
    second.crash()


@pytest.mark.req("MON-8")
def test_the_snapshot_carries_the_call_and_an_older_snapshot_has_none(
    tmp_path: Path, library: LibraryLoad
) -> None:
    """Issue 10 / MON-8: the call is in the snapshot as plain JSON; a snapshot written before this
    key existed (or before any press) restores as "911 not called", never as an error."""
    clock = FakeClock()
    m = start_monitor(clock, f"sqlite:///{tmp_path / 'bedside.sqlite3'}", library, restore=False)
    state = capture(m.clinical, m.desk)
    assert emergency_call(state) is None
    older = {k: v for k, v in state.items() if k != "emergency_call"}
    assert emergency_call(older) is None
    called = press(m)
    state = capture(m.clinical, m.desk)
    assert emergency_call(state) == (called.incident_id, called.at)
    m.crash()


@pytest.mark.req("MON-8")
@pytest.mark.req("DOC-2")
def test_an_offer_keeps_the_alarm_that_made_it_through_a_restart(
    tmp_path: Path, library: LibraryLoad
) -> None:
    """Issue 10 / MON-8: an offer waiting at a restart comes back with the alarm that made it, so a
    run started from it after the restart still links that alarm (DOC-2)."""
    clock = FakeClock()
    url = f"sqlite:///{tmp_path / 'bedside.sqlite3'}"
    m = start_monitor(clock, url, library, restore=False)
    alarm = AlarmEventRecord(m.session_id, "started", "bp_high", "high", clock.now(), message="k: 186/108")
    m.desk.offer("bp-spike", "BP high", alarm=alarm)
    [offer] = protocol_offers(capture(m.clinical, m.desk))
    assert offer.alarm == alarm
    m.crash()
    clock.advance(30)
    second = start_monitor(clock, url, library, restore=True)
    assert [o.alarm for o in second.desk.offers] == [alarm]
    second.crash()
