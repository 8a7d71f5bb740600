"""A restart never forgets the patient (MON-8, finding 4 of issue 8).

A ClinicalSession on a fake clock records into a real SQLite file through the storage writer; it is
taken into an infusion and dropped without closing (as a killed process is); a new one built from
the same database must hold every item again, judge the next reading, and record the gap.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import (
    BaselineField,
    ChecklistItem,
    ConditionId,
    DischargeAttestation,
    SessionPhase,
    ThresholdField,
    ThresholdSet,
    ThresholdsLockedError,
    load_config,
)
from bedside.app.build import ShiftedClock
from bedside.monitor.recorder import SessionRecorder
from bedside.monitor.vitals_board import Freshness, VitalsBoard
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.protocol_desk import ProtocolDesk
from bedside.workflow.session_state import (
    ClinicalStateKeeper,
    SnapshotFormatError,
    capture,
    protocol_offers,
    state_report,
)
from drivers.clock import FakeClock, ScaledClock
from drivers.types import Observation, VitalKind
from protocols import LIBRARY_DIR, LibraryLoad, StepKind, load_library
from storage import (
    ClinicalSnapshotRecord,
    Database,
    ObservationRecord,
    ProtocolStepRecord,
    SessionRepository,
    StorageFailure,
    StorageWriter,
    open_database,
)
from tests.alarms.helpers import nibp_obs, obs

START = b"START"
NURSE = "RN Diaz"
DOCTOR = "Dr Okafor"
STATION = "room-1"


@pytest.fixture(scope="module")
def library() -> LibraryLoad:
    return load_library(LIBRARY_DIR)


@dataclass
class Monitor:
    """One run of the monitor process: its writer, clinical session, protocol desk and keeper."""

    clock: FakeClock
    db: Database
    session_id: str
    clinical: ClinicalSession
    desk: ProtocolDesk
    writer: StorageWriter
    keeper: ClinicalStateKeeper
    sent: list[bytes] = field(default_factory=list)
    latest: dict[VitalKind, Observation] = field(default_factory=dict)
    failures: list[StorageFailure] = field(default_factory=list)

    def seconds(self, n: int, spo2: float = 98, pulse: float = 72) -> None:
        """``n`` seconds of oximetry, one sample a second, with the 1 Hz tick."""
        for _ in range(n):
            self.clock.advance(1)
            for o in (obs(self.clock, VitalKind.SPO2, spo2), obs(self.clock, VitalKind.PULSE_RATE, pulse)):
                self.see(o)
            self.clinical.tick()
            self.desk.tick()

    def nibp(self, systolic: float, diastolic: float) -> None:
        for o in nibp_obs(self.clock, systolic, diastolic, round((systolic + 2 * diastolic) / 3)):
            self.see(o)

    def see(self, o: Observation) -> None:
        self.writer.put(ObservationRecord(self.session_id, o))  # as the recorder stores every value
        self.latest[o.kind] = o
        self.clinical.on_observation(o)
        self.desk.on_observation(o)

    def crash(self) -> None:
        """What a killed process leaves: what the writer committed, nothing closed or ended."""
        assert self.writer.flush(5.0)
        assert self.writer.close() == 0
        self.db.close()


def start_monitor(clock: FakeClock, url: str, library: LibraryLoad, *, restore: bool) -> Monitor:
    """Build the monitor the way ``run_monitor`` does (minus Qt), resuming the station's session."""
    from bedside.app.build import restore_session

    db = open_database(url)
    failures: list[StorageFailure] = []
    recorder = SessionRecorder(db, clock, clinician="unassigned", station=STATION)
    sent: list[bytes] = []
    latest: dict[VitalKind, Observation] = {}
    clinical = ClinicalSession(
        clock, load_config(), session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=sent.append, nibp_start_command=START,
    )  # fmt: skip
    desk = ProtocolDesk(
        clock, library, session_id=recorder.session_id, put=recorder.writer.put,
        latest=latest.get, request_nibp=lambda: True,
    )  # fmt: skip
    if restore:
        assert recorder.resumed
        restore_session(clinical, desk, recorder, clock)
    keeper = ClinicalStateKeeper(clinical, recorder.writer.put, desk=desk)
    return Monitor(
        clock, db, recorder.session_id, clinical, desk, recorder.writer, keeper, sent, latest, failures
    )


def thresholds() -> ThresholdSet:
    return ThresholdSet(180, 110, 90, 45, 130, 85, 65, 20, 20)


def start_infusion(m: Monitor) -> None:
    """Baseline (with an override), thresholds, checklist, and the infusion started."""
    c = m.clinical
    c.begin_baseline(NURSE)
    m.seconds(30)
    m.nibp(118, 77)
    m.seconds(180)
    m.nibp(122, 79)
    c.confirm_baseline(NURSE, {BaselineField.PULSE: (70.0, "resting pulse from the clinic chart")})
    c.confirm_thresholds(NURSE, thresholds())
    for item in ChecklistItem:
        c.attest(item, NURSE)
    c.start_infusion(DOCTOR)


def into_infusion(m: Monitor) -> None:
    """Baseline (with an override), thresholds, a change, checklist, infusion, a latched HIGH alarm,
    an audio pause, a 1-minute NIBP interval, a discharge attestation and a protocol run on its timer."""
    c = m.clinical
    start_infusion(m)
    c.change_threshold(ThresholdField.SYSTOLIC_CEILING, 170, "history of stroke", DOCTOR)
    m.seconds(60)
    m.nibp(176, 104)  # past the changed ceiling of 170: HIGH
    m.seconds(40)
    m.nibp(138, 88)  # back in the band: the HIGH alarm ends and stays latched
    c.set_interval(1, NURSE)
    c.attest(DischargeAttestation.SOBER_DRIVER_PRESENT, NURSE)
    for offer in c.offered_protocols:  # as the window forwards the engine's offers
        m.desk.offer(offer.protocol_id, offer.reason)
    m.desk.start("bp-spike", NURSE, acknowledge_flags=True)
    run = m.desk.active_runs()[0]
    run.done(NURSE)
    run.answer(NURSE, "no")  # no emergency signs -> recheck now
    m.seconds(35)
    m.nibp(150, 95)
    run.done(NURSE)
    run.answer(NURSE, "yes")  # still high
    run.answer(NURSE, "no")  # no drug now -> the 5-minute recheck timer
    m.seconds(20)
    c.pause_audio(NURSE, 300)
    m.seconds(5)


@dataclass
class Before:
    """What the first run held when it died."""

    state: dict[str, object]
    run_id: str
    interval_min: int
    last_cycle_at: datetime
    died_at: datetime


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'bedside.sqlite3'}"


def run_and_kill(clock: FakeClock, url: str, library: LibraryLoad) -> Before:
    first = start_monitor(clock, url, library, restore=False)
    into_infusion(first)
    state = first.clinical.snapshot()
    assert first.clinical.phase is SessionPhase.INFUSION
    assert [a.latched for a in first.clinical.active_alarms() if a.condition is ConditionId.BP_HIGH] == [True]
    (run,) = first.desk.active_runs()
    before = Before(
        state,
        run.run_id,
        first.clinical.interval_min,
        first.clock.now() + timedelta(seconds=first.clinical.scheduler.seconds_to_next() - 60),
        first.clock.now(),
    )
    first.crash()
    return before


@pytest.mark.req("MON-8")
@pytest.mark.req("THR-5")
@pytest.mark.req("MON-2")
@pytest.mark.req("ALM-3")
def test_a_restart_mid_infusion_brings_back_every_item_and_judges_the_next_reading(
    clock: FakeClock, url: str, library: LibraryLoad
) -> None:
    """Finding 4: killed mid-infusion, the monitor came back in setup with no baseline, no
    thresholds, no NIBP cycling, and took a 200/125 reading into a new baseline."""
    before = run_and_kill(clock, url, library)
    clock.advance(90)  # the monitor is down for 90 s
    second = start_monitor(clock, url, library, restore=True)
    c, old = second.clinical, before.state

    # Phase with its transitions, baseline with its override, checklist, discharge attestations.
    assert c.phase is SessionPhase.INFUSION
    assert [(t.from_phase, t.to_phase) for t in c.session.transitions] == [
        (SessionPhase.SETUP, SessionPhase.BASELINE),
        (SessionPhase.BASELINE, SessionPhase.READY),
        (SessionPhase.READY, SessionPhase.INFUSION),
    ]
    baseline = c.session.baseline
    assert baseline is not None and baseline.is_confirmed and baseline.confirmed_by == NURSE
    assert (baseline.systolic, baseline.diastolic, baseline.pulse) == (120, 78, 70.0)
    assert [(o.field, o.new, o.reason) for o in baseline.overrides] == [
        (BaselineField.PULSE, 70.0, "resting pulse from the clinic chart")
    ]
    assert {a.item for a in c.session.checklist} == set(ChecklistItem)
    assert [a.item for a in c.discharge.attestations] == [DischargeAttestation.SOBER_DRIVER_PRESENT]
    assert c.band_for_display() is not None

    # Thresholds with their change, still locked for the infusion (THR-5).
    assert c.thresholds.current.systolic_ceiling == 170
    assert c.thresholds.current.confirmed_by == DOCTOR
    assert [(ch.field, ch.old, ch.new, ch.who) for ch in c.thresholds.changes] == [
        (ThresholdField.SYSTOLIC_CEILING, 180, 170, DOCTOR)
    ]
    assert c.thresholds.locked
    with pytest.raises(ThresholdsLockedError):
        c.thresholds.enter(thresholds())

    # NIBP: the 1-minute interval is in force; it fell due while down, so a cycle started at once.
    assert c.interval_min == before.interval_min == 1
    assert second.sent == [START]
    assert c.seconds_to_next_nibp() == pytest.approx(60)

    # Alarms: the latched HIGH BP alarm is back, the audio pause runs on for what is left of it.
    [bp] = [a for a in c.active_alarms() if a.condition is ConditionId.BP_HIGH]
    assert bp.latched and not bp.present and bp.acknowledged_by is None
    assert bp.priority.name == "HIGH"
    assert c.audio_paused
    assert c.pause_remaining_s() == pytest.approx(300 - 5 - 90, abs=1)

    # The protocol run is re-opened on its timer, with the time it ran while the monitor was down.
    [run] = second.desk.active_runs()
    assert run.run_id == before.run_id
    assert run.current_node_id == "recheck_timer"
    timer = run.current().timer
    assert timer is not None and not timer.due
    assert timer.remaining == pytest.approx(300 - 25 - 90, abs=1)

    # The gap: from the last record before the crash to the restart, recorded and shown.
    [gap] = c.monitoring_gaps
    assert gap.since == before.died_at and gap.until == clock.now()
    assert second.writer.flush(5.0)
    [stored] = SessionRepository(second.db).monitoring_gaps(second.session_id)
    assert (stored.since, stored.until, stored.station) == (before.died_at, clock.now(), STATION)

    # A 200/125 reading after the restore is judged and alarms; it is not taken into a baseline.
    second.seconds(40)
    second.nibp(200, 125)
    last = c.last_reading()
    assert last is not None and last.band_class is not None
    [bp] = [a for a in c.active_alarms() if a.condition is ConditionId.BP_HIGH]
    assert bp.present and bp.priority.name == "HIGH"
    assert c.session.baseline == baseline
    assert all(r.systolic != 200 for r in c.baseline_calculator.selected_nibp())

    # Nothing else was lost: the restored snapshot equals the one before the crash, except what
    # has moved on since (time-based deadlines, the new reading, the gap).
    again = json.loads(json.dumps(old))
    for key in ("transitions", "checklist", "baseline", "thresholds", "discharge", "baseline_nibp"):
        assert capture(c)[key] == again[key], key
    second.crash()


@pytest.mark.req("MON-8")
@pytest.mark.req("ALM-3")
def test_what_fell_due_while_the_monitor_was_down_is_due_at_the_restart(
    clock: FakeClock, url: str, library: LibraryLoad
) -> None:
    """Down for longer than the audio pause and the protocol timer: the pause is over (the latched
    alarm sounds again) and the recheck timer prompts at once, recorded under the next step number."""
    before = run_and_kill(clock, url, library)
    clock.advance(400)
    second = start_monitor(clock, url, library, restore=True)
    c = second.clinical
    assert not c.audio_paused
    [bp] = [a for a in c.active_alarms() if a.condition is ConditionId.BP_HIGH]
    assert bp.latched and bp.sounding
    [run] = second.desk.active_runs()
    assert run.run_id == before.run_id
    timer = run.current().timer
    assert timer is not None and timer.due
    steps_before = len(run.records)
    [prompt] = second.desk.tick()
    assert prompt.node_id == "recheck_timer"
    assert run.records[-1].kind is StepKind.TIMER_DUE and run.records[-1].seq == steps_before + 1
    assert second.writer.flush(5.0)
    [stored] = SessionRepository(second.db).protocol_runs(second.session_id)
    assert [s.seq for s in stored.steps] == list(range(1, steps_before + 2))
    assert isinstance(stored.steps[-1], ProtocolStepRecord) and stored.steps[-1].kind == "timer_due"
    second.crash()


@pytest.mark.req("MON-8")
def test_every_clinical_change_is_snapshotted_at_once_and_plain_observations_write_nothing(
    clock: FakeClock, url: str, library: LibraryLoad
) -> None:
    """Nothing may be lost between the last change and a crash beyond the writer's batch window:
    the snapshot of a change is put on the writer by the change itself."""
    m = start_monitor(clock, url, library, restore=False)
    into_infusion(m)
    written = m.keeper.written
    m.seconds(20)  # oximetry only: nothing clinical changed
    assert m.keeper.written == written
    m.clinical.change_threshold(ThresholdField.SPO2_FLOOR, 92, "COPD: earlier warning wanted", DOCTOR)
    assert m.keeper.written == written + 1
    assert m.writer.flush(5.0)
    snap = SessionRepository(m.db).latest_clinical_snapshot(m.session_id)
    assert snap is not None
    assert snap.state["thresholds"]["current"]["spo2_floor"] == 92
    m.crash()


@pytest.mark.req("MON-8")
def test_a_countdown_alone_refreshes_the_snapshot_only_now_and_then(
    clock: FakeClock, url: str, library: LibraryLoad, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alarm system that reports when its state was taken and a pause's remaining seconds must
    not turn every observation into a snapshot; the countdown is refreshed every 30 s."""
    m = start_monitor(clock, url, library, restore=False)
    paused_until = clock.monotonic() + 120
    monkeypatch.setattr(
        m.clinical.alarms,
        "snapshot",
        lambda: {
            "taken_at": clock.now().isoformat(),
            "pause": {"remaining_s": max(0.0, paused_until - clock.monotonic())},
        },
    )
    written = m.keeper.written
    m.seconds(1)
    first = m.keeper.written
    assert first <= written + 1
    m.seconds(90)
    assert m.keeper.written - first == 3  # at 30, 60 and 90 s: not 180 observations' worth
    m.crash()


@pytest.mark.req("MON-8")
def test_a_second_monitor_on_the_same_database_never_resumes_another_rooms_session(
    clock: FakeClock, url: str
) -> None:
    """Finding 4: a restart resumes "the" open session; with a shared clinic database that must be
    this station's own, never the patient in the next room."""
    db = open_database(url)
    room1 = SessionRecorder(db, clock, clinician="RN", station="room-1")
    room1.close(end_session=False)
    room2 = SessionRecorder(open_database(url), clock, clinician="RN", station="room-2")
    assert not room2.resumed and room2.session_id != room1.session_id
    room2.close(end_session=False)
    again = SessionRecorder(open_database(url), clock, clinician="RN", station="room-1")
    assert again.resumed and again.session_id == room1.session_id
    assert again.session.station == "room-1"
    again.close(end_session=True)


@pytest.mark.req("MON-8")
def test_a_snapshot_of_an_unknown_format_is_refused_with_words_it_can_act_on(
    clock: FakeClock, library: LibraryLoad
) -> None:
    """Finding 4: a state restored wrongly is worse than none; a foreign one is refused, whole."""
    clinical = ClinicalSession(
        clock, load_config(), session_id="s-1", record=lambda r: None, nibp_link_send=None,
        nibp_start_command=None,
    )  # fmt: skip
    state = clinical.snapshot()
    with pytest.raises(SnapshotFormatError, match="update Bedside"):
        clinical.restore({**state, "version": 99})
    with pytest.raises(SnapshotFormatError, match="belongs to session"):
        clinical.restore({**state, "session_id": "another"})


@pytest.mark.req("MON-8")
def test_a_state_that_cannot_be_restored_is_reported_and_monitoring_goes_on(
    clock: FakeClock, url: str, library: LibraryLoad
) -> None:
    """Finding 4: whatever is stored, the restarted monitor watches the patient and says what it
    could not bring back."""
    from bedside.app.build import restore_session

    first = start_monitor(clock, url, library, restore=False)
    first.writer.put(ClinicalSnapshotRecord(first.session_id, clock.now(), {"version": 99}))
    first.crash()
    clock.advance(60)
    db = open_database(url)
    recorder = SessionRecorder(db, clock, clinician="unassigned", station=STATION)
    clinical = ClinicalSession(
        clock, load_config(), session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip
    desk = ProtocolDesk(
        clock, library, session_id=recorder.session_id, put=recorder.writer.put,
        latest=lambda kind: None, request_nibp=lambda: False,
    )  # fmt: skip
    [problem] = restore_session(clinical, desk, recorder, clock)
    assert "could not be restored" in problem and "update Bedside" in problem
    assert len(clinical.monitoring_gaps) == 1  # the gap is still recorded
    clinical.on_observation(obs(clock, VitalKind.SPO2, 97))  # and the engine runs
    recorder.close(end_session=False)


@pytest.mark.req("MON-8")
def test_waiting_protocol_offers_come_back_and_started_ones_do_not(
    clock: FakeClock, url: str, library: LibraryLoad
) -> None:
    """Finding 4: an offer waiting when the monitor died is still offered after the restart."""
    m = start_monitor(clock, url, library, restore=False)
    m.desk.offer("bp-spike", "NIBP 176/104 past the ceiling")
    state = capture(m.clinical, m.desk)
    [offer] = protocol_offers(state)
    assert offer.protocol_id == "bp-spike"
    m.crash()
    clock.advance(30)
    second = start_monitor(clock, url, library, restore=True)
    assert [o.protocol_id for o in second.desk.offers] == ["bp-spike"]
    second.crash()


# -- the screen after a restart ------------------------------------------------------------------


def _stored(kind: VitalKind, value: float, measured_at: datetime, mono: float) -> Observation:
    return Observation(kind, value, "mm[Hg]", measured_at, measured_at, mono, "suntech")


@pytest.mark.req("MON-8")
def test_the_board_shows_a_reading_from_before_the_restart_as_such_never_as_current(clock: FakeClock) -> None:
    """Finding 4: the NIBP tile showed the previous run's 132/85 "-433 s ago"."""
    board = VitalsBoard(clock.monotonic())
    ahead = clock.now() + timedelta(seconds=433)  # written by a drill clock running ahead
    mono = clock.monotonic() + 433
    for kind, value in (
        (VitalKind.NIBP_SYSTOLIC, 132),
        (VitalKind.NIBP_DIASTOLIC, 85),
        (VitalKind.NIBP_MEAN, 101),
    ):
        board.add_before_restart(_stored(kind, value, ahead, mono))
    board.add_before_restart(_stored(VitalKind.SPO2, 97, clock.now(), clock.monotonic()))
    board.mark_restart(clock.monotonic(), clock.now())
    shown = board.nibp(clock.monotonic())
    assert shown.text == "132/85" and shown.age_s == 0.0
    assert shown.restart_note.startswith("before restart, ")
    assert board.numeric(VitalKind.SPO2, clock.monotonic()).freshness is Freshness.NO_DATA
    assert board.latest(VitalKind.NIBP_SYSTOLIC) is None  # a protocol step never sees it as current
    clock.advance(600)
    assert board.nibp(clock.monotonic()).age_s == pytest.approx(600 - 433)


@pytest.mark.req("MON-8")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    skew_s=st.floats(min_value=-7200, max_value=7200, allow_nan=False),
    later_s=st.floats(min_value=0, max_value=7200, allow_nan=False),
)
def test_ages_are_never_negative_whatever_the_stored_times(skew_s: float, later_s: float) -> None:
    """Finding 4 ("-433 s ago"): stored times ahead of or behind this run's clock never give a
    negative age, and a pre-restart value is never current."""
    clock = FakeClock()
    board = VitalsBoard(clock.monotonic())
    when = clock.now() + timedelta(seconds=skew_s)
    for kind, value in ((VitalKind.NIBP_SYSTOLIC, 150), (VitalKind.NIBP_DIASTOLIC, 95)):
        board.add_before_restart(_stored(kind, value, when, clock.monotonic() + skew_s))
    board.mark_restart(clock.monotonic(), clock.now())
    clock.advance(later_s)
    shown = board.nibp(clock.monotonic())
    assert shown.age_s is not None and shown.age_s >= 0
    assert shown.age_s == pytest.approx(max(0.0, later_s - skew_s), abs=1e-3)
    assert board.numeric(VitalKind.NIBP_SYSTOLIC, clock.monotonic()).freshness is not Freshness.CURRENT


@pytest.mark.req("MON-8")
@pytest.mark.req("MON-2")
@settings(max_examples=40, deadline=None)
@given(
    interval=st.sampled_from([1, 2, 3, 5, 10, 15]),
    since_cycle_s=st.integers(min_value=1, max_value=120),
    down_s=st.integers(min_value=0, max_value=2000),
)
def test_the_nibp_countdown_runs_on_through_the_restart(
    interval: int, since_cycle_s: int, down_s: int
) -> None:
    """The countdown after a restart is the interval minus the wall time since the last cycle; a
    cycle that fell due while the monitor was down starts at the restart, and only then."""
    clock = FakeClock()
    sent: list[bytes] = []

    def build() -> ClinicalSession:
        return ClinicalSession(
            clock, load_config(), session_id="s-1", record=lambda r: None, nibp_link_send=sent.append,
            nibp_start_command=START,
        )  # fmt: skip

    first = build()
    first.set_interval(interval, NURSE)
    first.begin_baseline(NURSE)  # starts a cycle now: the countdown runs
    clock.advance(since_cycle_s)
    state = json.loads(json.dumps(first.snapshot()))
    sent.clear()
    clock.advance(down_s)
    second = build()
    second.restore(state)
    left = interval * 60 - since_cycle_s - down_s
    if left > 0:
        assert sent == []
        assert second.seconds_to_next_nibp() == pytest.approx(left, abs=1)
    else:
        assert sent == [START]
        assert second.seconds_to_next_nibp() == pytest.approx(interval * 60)


@pytest.mark.req("MON-8")
def test_a_drill_clock_resumes_no_earlier_than_what_it_wrote(clock: FakeClock) -> None:
    """Finding 4: a drill at --speed runs its wall time ahead of the computer's; after a restart it
    must not write before its own records (the stored reading was shown "-433 s ago")."""
    scaled = ScaledClock(clock, 20)
    clock.advance(10)
    ahead = scaled.now()
    shifted = ShiftedClock(FakeClock(start=clock.now()), ahead - clock.now())
    assert shifted.now() == ahead and shifted.stamp().wall == ahead


@pytest.mark.req("MON-8")
def test_state_report_is_plain_json(clock: FakeClock, library: LibraryLoad, tmp_path: Path) -> None:
    """``--state-report`` (used by the subprocess test) says what is in force, as JSON."""
    m = start_monitor(clock, f"sqlite:///{tmp_path / 'r.sqlite3'}", library, restore=False)
    into_infusion(m)
    report = json.loads(json.dumps(state_report(m.clinical, m.desk)))
    assert report["phase"] == "infusion" and report["thresholds_locked"]
    assert [r["node"] for r in report["protocol_runs"]] == ["recheck_timer"]
    m.crash()
