"""ProtocolDesk: offers, incidents, runs and the exact storage records each step puts (PRO-2, PRO-6)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from alarms import ConditionId
from bedside.workflow.protocol_desk import ProtocolDesk, ProtocolNotLoaded
from drivers.clock import FakeClock
from drivers.types import Observation, VitalKind
from protocols import (
    LIBRARY_DIR,
    LibraryLoad,
    ProtocolNotApproved,
    StepKind,
    StepNotAllowed,
    UnapprovedProtocolError,
    load_library,
    load_protocol,
)
from storage import (
    IncidentOpenedRecord,
    ProtocolRunEndedRecord,
    ProtocolRunStartedRecord,
    ProtocolStepRecord,
)

SESSION = "session-1"
#: The clinician who acknowledges starting a shipped template (none is approved yet, PRO-8).
TEMPLATE_OK = "Dr. Patel, medical director"


class Monitor:
    """The monitor as the desk sees it: latest values, and a count of NIBP starts."""

    def __init__(self) -> None:
        self.values: dict[VitalKind, Observation] = {}
        self.nibp_starts = 0
        self.remote_start = True

    def latest(self, kind: VitalKind) -> Observation | None:
        return self.values.get(kind)

    def request_nibp(self) -> bool:
        self.nibp_starts += 1
        return self.remote_start


@pytest.fixture(scope="module")
def library() -> LibraryLoad:
    return load_library(LIBRARY_DIR)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def monitor() -> Monitor:
    return Monitor()


@pytest.fixture
def put() -> list[object]:
    return []


@pytest.fixture
def desk(clock: FakeClock, library: LibraryLoad, monitor: Monitor, put: list[object]) -> ProtocolDesk:
    return ProtocolDesk(
        clock,
        library,
        session_id=SESSION,
        put=put.append,
        latest=monitor.latest,
        request_nibp=monitor.request_nibp,
    )


def nibp(clock: FakeClock, systolic: float, diastolic: float, mean: float) -> list[Observation]:
    now = clock.now()
    kinds = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
    return [
        Observation(kind, value, "mm[Hg]", now, now, clock.monotonic(), "suntech")
        for kind, value in zip(kinds, (systolic, diastolic, mean), strict=True)
    ]


def steps(put: list[object]) -> list[ProtocolStepRecord]:
    return [r for r in put if isinstance(r, ProtocolStepRecord)]


def kinds(put: list[object]) -> list[tuple[str, str]]:
    return [(s.kind, s.node_id) for s in steps(put)]


@pytest.mark.req("PRO-6")
def test_start_from_an_offer_puts_incident_then_run_then_first_steps(
    desk: ProtocolDesk, clock: FakeClock, library: LibraryLoad, put: list[object]
) -> None:
    offer = desk.offer("bp-spike", "NIBP 182/104 above the expected band")
    assert offer is not None
    assert offer.button_text == "Start BP spike protocol"
    assert desk.offers == (offer,)
    clock.advance(5)
    run = desk.start("bp-spike", "Dr. Rivera", acknowledged_unapproved_by=TEMPLATE_OK)
    protocol = library.get("bp-spike")
    incident, started, *rest = put
    assert isinstance(incident, IncidentOpenedRecord)
    assert incident == IncidentOpenedRecord(
        incident_id=run.incident_id,
        session_id=SESSION,
        opened_at=clock.now(),
        kind="bp-spike",
        title=f"{protocol.protocol.title}: NIBP 182/104 above the expected band",
        opened_by="Dr. Rivera",
    )
    assert started == ProtocolRunStartedRecord(
        run_id=run.run_id,
        incident_id=run.incident_id,
        protocol_id="bp-spike",
        protocol_version="0.1",
        protocol_hash=protocol.content_hash,
        started_at=clock.now(),
        started_by="Dr. Rivera",
    )
    assert rest == [
        ProtocolStepRecord(
            run.run_id,
            1,
            clock.now(),
            "Dr. Rivera",
            "slow_or_pause",
            "run_started",
            f"bp-spike v0.1 {protocol.content_hash}",
            f"incident {run.incident_id}; flags: template",
        ),
        # The shipped protocols are templates: who acknowledged that, when, and the hash (PRO-8).
        ProtocolStepRecord(
            run.run_id,
            2,
            clock.now(),
            TEMPLATE_OK,
            "slow_or_pause",
            "flags_acknowledged",
            "template",
            f"acknowledged running bp-spike v0.1 {protocol.content_hash}: {protocol.approval_reason}",
        ),
        ProtocolStepRecord(
            run.run_id,
            3,
            clock.now(),
            "Dr. Rivera",
            "slow_or_pause",
            "shown",
            protocol.protocol.nodes["slow_or_pause"].text,
        ),
    ]
    assert len(desk.offers) == 0
    assert desk.active_runs() == (run,)


@pytest.mark.req("PRO-2")
@pytest.mark.req("PRO-6")
def test_walk_bp_spike_to_resolved_stores_each_step_as_it_happens(
    desk: ProtocolDesk, clock: FakeClock, monitor: Monitor, put: list[object]
) -> None:
    desk.offer("bp-spike", "spike")
    run = desk.start("bp-spike", "RN Okafor", acknowledged_unapproved_by=TEMPLATE_OK)
    clock.advance(10)
    run.done("RN Okafor")
    assert kinds(put)[-2:] == [("done", "slow_or_pause"), ("shown", "emergency_signs")]
    run.answer("Dr. Rivera", "no")
    # Entering the recheck starts an NIBP cycle on the monitor, and that is recorded at once.
    assert monitor.nibp_starts == 1
    assert kinds(put)[-3:] == [
        ("answered", "emergency_signs"),
        ("shown", "recheck_bp"),
        ("nibp_requested", "recheck_bp"),
    ]
    clock.advance(40)
    reading = nibp(clock, 150, 90, 110)
    for obs in reading:
        monitor.values[obs.kind] = obs
        desk.on_observation(obs)
    recorded = steps(put)[-1]
    assert (recorded.kind, recorded.person, recorded.occurred_at) == (
        "vitals_recorded",
        "device:suntech",
        clock.now(),
    )
    assert "nibp_systolic 150 mm[Hg]" in recorded.value
    run.done("RN Okafor")
    run.answer("Dr. Rivera", "no")
    run.done("RN Okafor")
    run.decide("Dr. Rivera", "continue_session")
    run.done("RN Okafor")
    assert kinds(put)[-5:] == [
        ("decided", "decide_session"),
        ("shown", "resume_infusion"),
        ("done", "resume_infusion"),
        ("shown", "resolved_continue"),
        ("ended", "resolved_continue"),
    ]
    assert put[-1] == ProtocolRunEndedRecord(run.run_id, clock.now(), "resolved")
    assert [s.seq for s in steps(put)] == list(range(1, len(steps(put)) + 1))
    assert [s.kind for s in steps(put)] == [str(r.kind) for r in run.records]
    assert desk.active_runs() == ()


@pytest.mark.req("PRO-6")
def test_two_runs_at_once_each_with_its_own_incident(desk: ProtocolDesk, put: list[object]) -> None:
    desk.offer("bp-spike", "spike")
    bp = desk.start("bp-spike", "RN Okafor", acknowledged_unapproved_by=TEMPLATE_OK)
    emergence = desk.start(
        "emergence-reaction",
        "Dr. Rivera",
        incident_title="agitated",
        from_offer=False,
        acknowledged_unapproved_by=TEMPLATE_OK,
    )
    bp.done("RN Okafor")
    incidents = [r for r in put if isinstance(r, IncidentOpenedRecord)]
    assert [(i.kind, i.title) for i in incidents][1] == ("emergence-reaction", "agitated")
    assert len({i.incident_id for i in incidents}) == 2
    assert {bp.incident_id, emergence.incident_id} == {i.incident_id for i in incidents}
    assert desk.active_runs() == (bp, emergence)
    assert steps(put)[-1].run_id == bp.run_id
    assert {s.run_id for s in steps(put)} == {bp.run_id, emergence.run_id}


@pytest.mark.req("PRO-6")
def test_timer_prompt_falls_due_on_the_fake_clock_and_is_stored(
    desk: ProtocolDesk, clock: FakeClock, monitor: Monitor, put: list[object]
) -> None:
    desk.offer("bp-spike", "spike")
    run = desk.start("bp-spike", "RN Okafor", acknowledged_unapproved_by=TEMPLATE_OK)
    run.done("RN Okafor")
    run.answer("RN Okafor", "no")
    run.skip("RN Okafor", "cuff reading taken by hand: 176/100")
    run.answer("Dr. Rivera", "yes")
    run.answer("Dr. Rivera", "no")
    assert run.current_node_id == "recheck_timer"
    clock.advance(299)
    assert desk.tick() == []
    clock.advance(1)
    (prompt,) = desk.tick()
    assert (prompt.run_id, prompt.node_id) == (run.run_id, "recheck_timer")
    assert (steps(put)[-1].kind, steps(put)[-1].person) == ("timer_due", "bedside")
    assert desk.tick() == []


@pytest.mark.req("PRO-6")
def test_medication_time_and_correction_reach_the_stored_record(
    desk: ProtocolDesk, clock: FakeClock, put: list[object]
) -> None:
    desk.offer("bp-spike", "spike")
    run = desk.start("bp-spike", "RN Okafor", acknowledged_unapproved_by=TEMPLATE_OK)
    run.done("RN Okafor")
    run.answer("RN Okafor", "no")
    run.skip("RN Okafor", "manual cuff")
    run.answer("Dr. Rivera", "yes")
    run.answer("Dr. Rivera", "yes")
    clock.advance(120)
    given_at = clock.now() - timedelta(minutes=1)
    run.confirm_medication("Dr. Rivera", given_at, given=True)
    given = next(s for s in steps(put) if s.kind == "medication_given")
    assert (given.occurred_at, given.at, given.person) == (given_at, clock.now(), "Dr. Rivera")
    run.correct("Dr. Rivera", given.seq, "given at 09:01, not 09:02")
    correction = steps(put)[-1]
    assert (correction.kind, correction.corrects, correction.node_id) == (
        "correction",
        given.seq,
        "give_antihypertensive",
    )


@pytest.mark.req("PRO-5")
@pytest.mark.req("PRO-6")
def test_call_911_ends_the_run_and_builds_the_handoff(
    desk: ProtocolDesk, clock: FakeClock, put: list[object]
) -> None:
    desk.offer("bp-spike", "spike")
    run = desk.start("bp-spike", "RN Okafor", acknowledged_unapproved_by=TEMPLATE_OK)
    run.done("RN Okafor")
    for obs in nibp(clock, 210, 120, 150):
        desk.on_observation(obs)
    clock.advance(30)
    desk.call_911(run.run_id, "Dr. Rivera")
    assert kinds(put)[-3:] == [("call_911", "emergency_signs"), ("shown", "call_911"), ("ended", "call_911")]
    assert put[-1] == ProtocolRunEndedRecord(run.run_id, clock.now(), "call_911")
    text = desk.ems_handoff(run.run_id, "Jordan Lee")
    assert "Patient: Jordan Lee" in text
    assert f"Incident: {run.incident_id}" in text
    assert "210/120 (150)" in text
    assert "Dr. Rivera: 911 called" in text
    # Observations given explicitly replace the desk's own (none: no valid values).
    assert "no valid values" in desk.ems_handoff(run.run_id, "Jordan Lee", [])


def test_start_needs_an_offer_a_name_and_a_loaded_protocol(desk: ProtocolDesk, put: list[object]) -> None:
    with pytest.raises(StepNotAllowed, match="has not been offered"):
        desk.start("bp-spike", "RN Okafor")
    with pytest.raises(ProtocolNotLoaded, match="no-such-protocol"):
        desk.start("no-such-protocol", "RN Okafor", from_offer=False)
    desk.offer("bp-spike", "spike")
    with pytest.raises(StepNotAllowed, match="name"):
        desk.start("bp-spike", "  ")
    assert put == []
    assert len(desk.offers) == 1


def test_offer_by_alarm_condition_once_and_unknown_offer_is_refused(desk: ProtocolDesk) -> None:
    heard: list[int] = []
    desk.add_listener(lambda: heard.append(len(desk.offers)))
    first = desk.offer("bp_high", "alarm condition name")
    again = desk.offer("bp-spike", "second spike")
    assert first is not None
    assert first.protocol_id == "bp-spike"
    assert again is first
    assert desk.offers == (first,)
    assert desk.offer("no_such_condition", "x") is None
    assert heard == [1]
    desk.dismiss_offer("bp-spike")
    assert len(desk.offers) == 0


def test_latest_and_request_nibp_come_from_the_monitor(
    desk: ProtocolDesk, clock: FakeClock, monitor: Monitor
) -> None:
    (systolic, *_) = nibp(clock, 140, 85, 103)
    monitor.values[VitalKind.NIBP_SYSTOLIC] = systolic
    assert desk.latest(VitalKind.NIBP_SYSTOLIC) is systolic
    assert desk.latest(VitalKind.SPO2) is None
    monitor.remote_start = False
    assert desk.request_nibp() is False
    assert monitor.nibp_starts == 1


FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocols"


def _desk_with(clock: FakeClock, put: list[object], monitor: Monitor, *paths: Path) -> ProtocolDesk:
    loaded = [load_protocol(p) for p in paths]
    return ProtocolDesk(
        clock,
        LibraryLoad({p.id: p for p in loaded}),
        session_id=SESSION,
        put=put.append,
        latest=monitor.latest,
        request_nibp=monitor.request_nibp,
    )


@pytest.mark.req("PRO-8")
def test_an_unapproved_template_starts_only_with_a_named_acknowledgement(
    desk: ProtocolDesk, clock: FakeClock, library: LibraryLoad, put: list[object]
) -> None:
    """Finding 11 (d): the shipped templates started silently, as if the clinic had approved them."""
    desk.offer("bp-spike", "NIBP 182/104")
    for blank in (None, "", "   "):
        with pytest.raises(UnapprovedProtocolError) as caught:
            desk.start("bp-spike", "RN Okafor", acknowledged_unapproved_by=blank)
        assert isinstance(caught.value, ProtocolNotApproved)  # the panel already shows these
        assert caught.value.protocol_id == "bp-spike"
        assert "TEMPLATE - not approved by the medical director" in str(caught.value)
        assert "named clinician" in str(caught.value)
    # Refused before anything is stored; the offer still waits.
    assert put == []
    assert [o.protocol_id for o in desk.offers] == ["bp-spike"]
    clock.advance(12)
    run = desk.start("bp-spike", "RN Okafor", acknowledged_unapproved_by="  Dr. Patel  ")
    protocol = library.get("bp-spike")
    first, acknowledged, shown = steps(put)[:3]
    assert (first.kind, first.person) == ("run_started", "RN Okafor")
    assert (acknowledged.kind, acknowledged.person, acknowledged.at) == (
        "flags_acknowledged",
        "Dr. Patel",
        clock.now(),
    )
    assert acknowledged.value == "template"
    assert protocol.content_hash in acknowledged.note and "TEMPLATE" in acknowledged.note
    assert (shown.kind, shown.person) == ("shown", "RN Okafor")
    assert run.records[1].kind is StepKind.FLAGS_ACKNOWLEDGED


@pytest.mark.req("PRO-8")
def test_an_approved_protocol_starts_without_acknowledgement_and_records_none(
    clock: FakeClock, put: list[object], monitor: Monitor
) -> None:
    desk = _desk_with(clock, put, monitor, FIXTURES / "valid" / "approved-example.yaml")
    run = desk.start("approved-example", "RN Okafor", from_offer=False)
    assert [s.kind for s in steps(put)] == ["run_started", "shown"]
    assert run.is_active


@pytest.mark.req("PRO-8")
def test_a_protocol_changed_since_approval_needs_the_acknowledgement_too(
    clock: FakeClock, put: list[object], monitor: Monitor
) -> None:
    desk = _desk_with(clock, put, monitor, FIXTURES / "flagged" / "approved-example.yaml")
    with pytest.raises(UnapprovedProtocolError, match=r"CHANGED since approval.*content changed"):
        desk.start("approved-example", "RN Okafor", from_offer=False)
    assert put == []
    desk.start("approved-example", "RN Okafor", from_offer=False, acknowledged_unapproved_by="Dr. Patel")
    acknowledged = steps(put)[1]
    assert (acknowledged.kind, acknowledged.person, acknowledged.value) == (
        "flags_acknowledged",
        "Dr. Patel",
        "changed_without_approval",
    )


@pytest.mark.req("PRO-8")
def test_acknowledge_flags_means_the_person_starting_acknowledges(
    desk: ProtocolDesk, put: list[object]
) -> None:
    """The drill autopilot's call: kept working, and still recorded with a name."""
    desk.offer("bp-spike", "spike")
    desk.start("bp-spike", "Drill autopilot", acknowledge_flags=True)
    acknowledged = steps(put)[1]
    assert (acknowledged.kind, acknowledged.person) == ("flags_acknowledged", "Drill autopilot")


@pytest.mark.req("PRO-8")
@pytest.mark.parametrize(
    ("condition", "reason", "protocol_id"),
    [
        (ConditionId.SPO2_LOW, "SpO2 83 % (HIGH)", "respiratory-depression"),
        (ConditionId.PULSE_LOW, "pulse 41/min", "cardiac-arrhythmia"),
        (ConditionId.HR_HIGH, "HR 150/min", "cardiac-arrhythmia"),
        (ConditionId.PULSE_DEFICIT, "HR 150, PR 96", "cardiac-arrhythmia"),
        (ConditionId.BP_HIGH, "NIBP 182/104", "bp-spike"),
    ],
)
def test_the_desk_offers_the_tree_for_spo2_and_pulse_alarms(
    desk: ProtocolDesk, condition: ConditionId, reason: str, protocol_id: str
) -> None:
    """Finding 11: SpO2 83 % and pulse 41 offered nothing."""
    offer = desk.offer(condition, reason)
    assert offer is not None
    assert (offer.protocol_id, offer.reason) == (protocol_id, reason)
