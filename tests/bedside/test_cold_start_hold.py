"""The first number before the database (issue 10, cold start): nothing that arrives meanwhile is
lost, unrecorded or judged before a resumed session's state is back.

``bedside monitor`` now shows its window and starts the links first; the core holds what they
deliver (``MonitorCore.hold``) while the database opens on its own thread, and hands it over
(``release_held``) once the recorder and the clinical session, with the restored state, exist.
Before, the window waited for the database: 2.7 s to the first number on a quiet machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import ConditionId, load_config
from bedside.app.build import restore_session
from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.protocol_desk import ProtocolDesk
from drivers.clock import FakeClock
from drivers.types import DecodeResult, DeviceEvent, DeviceEventKind, Observation, Quality, VitalKind
from protocols import LibraryLoad
from storage import SessionRepository, open_database
from tests.alarms.helpers import nibp_obs, obs
from tests.bedside.test_restart import STATION, library, run_and_kill  # noqa: F401  (library: fixture)

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "sim-masimo-ascii-1"

#: One step of a stream: a reading (kind, value, quality), a link event, or the clock moving on.
Step = tuple[str, float]

steps = st.lists(
    st.one_of(
        st.tuples(st.just("spo2"), st.floats(50, 100)),
        st.tuples(st.just("probe-off"), st.just(0.0)),
        st.tuples(st.just("pulse"), st.floats(18, 250)),
        st.tuples(st.just("silent"), st.just(0.0)),
        st.tuples(st.just("connected"), st.just(0.0)),
        st.tuples(st.just("wait"), st.floats(0.01, 3.0)),
        st.tuples(st.just("pump"), st.just(0.0)),
    ),
    max_size=40,
)


def _arrive(core: MonitorCore, clock: FakeClock, step: Step) -> Observation | DeviceEvent | None:
    """Deliver one step as a link thread would (queued; applied at the next pump)."""
    what, value = step
    if what == "wait":
        clock.advance(value)
        return None
    if what == "pump":
        core.pump()
        return None
    if what in ("silent", "connected"):
        kind = DeviceEventKind.SILENT if what == "silent" else DeviceEventKind.CONNECTED
        event = DeviceEvent(kind, SOURCE, clock.stamp())
        core.on_event(event)
        return event
    kind = VitalKind.PULSE_RATE if what == "pulse" else VitalKind.SPO2
    reading = (
        obs(clock, kind, None, Quality.PROBE_OFF, SOURCE)
        if what == "probe-off"
        else obs(clock, kind, value, source=SOURCE)
    )
    core.on_result(DecodeResult(observations=(reading,), frames=1), SOURCE)
    return reading


@settings(max_examples=60, deadline=None)
@given(before=steps, during=steps, after=steps)
def test_a_listener_that_subscribes_while_the_core_holds_gets_everything_once_in_arrival_order(
    before: list[Step], during: list[Step], after: list[Step]
) -> None:
    """Issue 10: the recorder, the clinical session and the protocol desk subscribe after the
    database opened; each must get every reading and link event since the links started, once,
    in order, however pumps, silences and probe-off samples interleave with their subscribing."""
    clock = FakeClock()
    core = MonitorCore(clock)
    early: list[object] = []
    core.subscribe(on_observation=early.append, on_event=early.append)  # subscribed before hold
    core.hold()
    sent = [item for step in before if (item := _arrive(core, clock, step)) is not None]
    late: list[object] = []
    core.subscribe(on_observation=late.append, on_event=late.append)
    sent += [item for step in during if (item := _arrive(core, clock, step)) is not None]
    core.pump()
    assert late == []  # nothing reaches a late listener before the hand-over
    assert core.release_held() == len(sent)
    sent += [item for step in after if (item := _arrive(core, clock, step)) is not None]
    core.pump()
    assert late == sent
    assert early == sent
    assert core.held == ()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(before=steps, after=steps)
@pytest.mark.req("MON-5")
def test_readings_that_arrived_before_the_database_opened_are_stored(
    tmp_path_factory: pytest.TempPathFactory, before: list[Step], after: list[Step]
) -> None:
    """Issue 10 (cold start), MON-5 (the whole session): the window shows readings while the
    database opens; every one of them, valid or probe-off, and every link event, is stored in the
    session with the ones that follow, in order. The session starts when monitoring started."""
    clock = FakeClock()
    core = MonitorCore(clock)
    core.hold()
    began = clock.now()
    sent = [item for step in before if (item := _arrive(core, clock, step)) is not None]
    core.pump()
    clock.advance(0.7)  # the database opens (and migrates)
    url = f"sqlite:///{tmp_path_factory.mktemp('cold') / 'bedside.sqlite3'}"
    recorder = SessionRecorder(open_database(url, drill=True), clock, clinician="RN", started_at=began)
    recorder.attach(core)
    core.release_held()
    sent += [item for step in after if (item := _arrive(core, clock, step)) is not None]
    core.pump()
    recorder.close(end_session=True)

    repo = SessionRepository(open_database(url, drill=True))
    readings = [o for o in sent if isinstance(o, Observation)]
    stored = repo.observations(recorder.session_id)
    assert [(o.kind, o.value, o.quality, o.measured_at) for o in stored] == [
        (o.kind, o.value, o.quality, o.measured_at) for o in readings
    ]
    events = [(e.kind, e.at.wall) for e in sent if isinstance(e, DeviceEvent)]
    assert [(e.kind, e.at.wall) for e in repo.device_events(recorder.session_id)] == events
    assert recorder.session.started_at == began


@pytest.mark.req("MON-8")
def test_a_resumed_session_is_restored_before_any_reading_that_came_before_the_database_is_judged(
    clock: FakeClock,
    tmp_path: Path,
    library: LibraryLoad,  # noqa: F811
) -> None:
    """Issue 10 with MON-8 (finding 4 of issue 8): the restarted window shows a 200/125 cycle
    before the database is open. It must be judged against the restored thresholds (a HIGH BP
    alarm), never taken into a new baseline; on the board the stored trend comes first, the new
    values after the restart mark, and the new cycle is current, not "before restart"."""
    url = f"sqlite:///{tmp_path / 'bedside.sqlite3'}"
    run_and_kill(clock, url, library)
    clock.advance(90)  # the monitor is down for 90 s

    core = MonitorCore(clock)
    core.hold()
    resumed_at = clock.now()
    for _ in range(5):
        clock.advance(1)
        for o in (
            obs(clock, VitalKind.SPO2, 97, source=SOURCE),
            obs(clock, VitalKind.PULSE_RATE, 74, source=SOURCE),
        ):
            core.on_result(DecodeResult(observations=(o,), frames=1), SOURCE)
        core.pump()
    core.on_result(DecodeResult(observations=tuple(nibp_obs(clock, 200, 125, 150)), frames=1), "nibp")
    core.pump()
    shown_before = core.board.nibp(clock.monotonic())
    assert (shown_before.systolic, shown_before.diastolic) == (200, 125)

    clock.advance(0.8)  # the database opens
    recorder = SessionRecorder(open_database(url), clock, clinician="unassigned", station=STATION)
    assert recorder.resumed
    recorder.load_history()
    recorder.attach(core)
    sent: list[bytes] = []
    clinical = ClinicalSession(
        clock, load_config(), session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=sent.append, nibp_start_command=b"START",
    )  # fmt: skip
    core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
    assert clinical.session.baseline is None  # the restore brings it
    desk = ProtocolDesk(
        clock, library, session_id=recorder.session_id, put=recorder.writer.put,
        latest=core.board.latest, request_nibp=lambda: True,
    )  # fmt: skip
    core.subscribe(on_observation=desk.on_observation)
    assert restore_session(clinical, desk, recorder, clock, resumed_at=resumed_at) == []
    baseline = clinical.session.baseline
    assert baseline is not None and baseline.is_confirmed
    core.release_held()

    [bp] = [a for a in clinical.active_alarms() if a.condition is ConditionId.BP_HIGH]
    assert bp.present and bp.priority.name == "HIGH"
    assert clinical.session.baseline == baseline
    [gap] = clinical.monitoring_gaps
    assert gap.until == resumed_at  # the gap ends when this monitor began watching again

    board = core.board
    shown = board.nibp(clock.monotonic())
    assert (shown.systolic, shown.diastolic, shown.restart_note) == (200, 125, "")
    # One line per source (issue 10): the stored trend of each device first, then the restart
    # break, then the new values; the five held SpO2 samples come after every stored point.
    lines = board.lines[VitalKind.SPO2]
    assert sum(len(line) for line in lines.values()) > 200
    assert all(np.all(np.diff(line.t) >= 0) for line in lines.values())
    live = board.line(VitalKind.SPO2, SOURCE)
    assert list(live.v[-5:]) == [97] * 5
    new_from = live.t[-5]
    assert all(
        np.all(line.t[:-5] < new_from) if line is live else np.all(line.t < new_from)
        for line in lines.values()
    )
    assert board.numeric(VitalKind.SPO2, clock.monotonic()).value == 97
    assert recorder.writer.flush(5.0)
    recorder.close(end_session=False)


def test_a_database_that_cannot_be_used_still_ends_the_monitor_in_one_sentence_after_the_window_showed(
    tmp_path: Path,
) -> None:
    """Issue 11's start-up error, unchanged now that the database opens after the window shows
    (issue 10): one sentence naming the database and exit code 2, no traceback, no half-started
    monitor left running."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    command = [
        sys.executable, "-m", "bedside.cli", "monitor", "--scenario", "baseline",
        "--sim-device", "masimo-ascii", "--quit-after", "60",
        "--db", "sqlite:////proc/bedside-no-such-folder/bedside.sqlite3",
    ]  # fmt: skip
    done = subprocess.run(
        command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    said = [line for line in done.stderr.splitlines() if line.startswith("bedside monitor: ")]
    assert len(said) == 1, done.stderr
    assert "the database sqlite:////proc/bedside-no-such-folder" in said[0]
    assert "cannot be created in /proc/" in said[0]


@pytest.mark.req("MON-5")
def test_a_monitor_closed_while_its_database_was_opening_still_stores_what_it_showed(tmp_path: Path) -> None:
    """Issue 10: the window shows readings before the database is open; closed at that moment
    (--quit-after 0.5 s), the monitor waits for the database and stores them, in a session ended
    with the drill, rather than dropping them with the window."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    url = f"sqlite:///{tmp_path / 'drill.sqlite3'}"
    command = [
        sys.executable, "-m", "bedside.cli", "-v", "monitor", "--scenario", "baseline",
        "--sim-device", "masimo-ascii", "--quit-after", "0.5", "--db", url,
    ]  # fmt: skip
    done = subprocess.run(
        command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "first SpO2 on screen" in done.stderr
    assert "held items stored" in done.stderr
    repo = SessionRepository(open_database(url, drill=True))
    [session] = repo.sessions()
    shown = [o for o in repo.observations(session.session_id) if o.kind is VitalKind.SPO2]
    assert shown and session.ended_at is not None
