"""The protocol engine: records, corrections, timers, NIBP rechecks, concurrent runs (PRO-6)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from drivers.clock import FakeClock
from drivers.types import Quality, VitalKind
from protocols.engine import ProtocolRun, StepKind, StepRecord
from protocols.errors import ProtocolNotApproved, StepNotAllowed
from protocols.loader import LIBRARY_DIR, LoadedProtocol, load_library, load_protocol
from protocols.model import NodeType
from protocols.runner import ProtocolRunner
from tests.protocols.helpers import WHO, FakeVitals, kinds

LIBRARY = load_library(LIBRARY_DIR)
EDITED = Path(__file__).parents[1] / "fixtures" / "protocols" / "flagged" / "approved-example.yaml"


def _run(protocol_id: str, clock: FakeClock, vitals: FakeVitals, sink: list[StepRecord]) -> ProtocolRun:
    run = ProtocolRun(LIBRARY.get(protocol_id), clock, WHO, "inc-1", vitals, sink.append, run_id="r1")
    run.start()
    return run


@pytest.mark.req("PRO-6")
def test_bp_spike_walk_records_time_person_and_values(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    vitals.observe(VitalKind.SPO2, 98)
    sink: list[StepRecord] = []
    run = _run("bp-spike", clock, vitals, sink)
    assert sink[0].kind is StepKind.RUN_STARTED
    assert sink[0].value.startswith("bp-spike v0.1 sha256:")
    assert "incident inc-1" in sink[0].note and "template" in sink[0].note
    clock.advance(10)
    run.done(WHO)
    clock.advance(5)
    run.answer("Dr. Ana Ruiz", "no")
    view = run.current()
    assert view.node_id == "recheck_bp" and view.waiting_for_nibp
    assert vitals.nibp_requests == 1
    assert sink[-1].kind is StepKind.NIBP_REQUESTED and sink[-1].value == "started by Bedside"
    # Pre-filled with live values; NIBP not yet measured.
    shown = {v.kind: v for v in view.vitals}
    assert shown[VitalKind.SPO2].text == "spo2 98 %"
    assert shown[VitalKind.NIBP_SYSTOLIC].observation is None
    with pytest.raises(StepNotAllowed, match="waiting for the NIBP reading"):
        run.done(WHO)
    clock.advance(40)
    assert run.vital_recorded(vitals.nibp(182, 104, 130))
    rec = sink[-1]
    assert rec.kind is StepKind.VITALS_RECORDED and rec.person == "device:sim-monitor"
    assert "nibp_systolic 182 mm[Hg]" in rec.value and rec.occurred_at == clock.now()
    run.done(WHO)
    assert "nibp_systolic 182 mm[Hg]" in sink[-2].value and sink[-2].kind is StepKind.DONE
    run.answer(WHO, "yes")
    run.answer(WHO, "yes")
    given = clock.now() - timedelta(minutes=1)
    run.confirm_medication(WHO, given, given=True, reason="")
    med = next(r for r in sink if r.kind is StepKind.MEDICATION_GIVEN)
    assert med.occurred_at == given
    assert med.value.startswith("Antihypertensive per clinic protocol")
    assert all(r.at == clock.now() for r in sink[-3:])
    people = [(r.kind, r.person) for r in sink if r.kind is StepKind.ANSWERED]
    assert people[0] == (StepKind.ANSWERED, "Dr. Ana Ruiz")


@pytest.mark.req("PRO-6")
def test_device_that_cannot_start_nibp_prompts_the_clinician(clock: FakeClock) -> None:
    vitals = FakeVitals(clock, remote_start=False)
    sink: list[StepRecord] = []
    run = _run("bp-spike", clock, vitals, sink)
    run.done(WHO)
    run.answer(WHO, "no")
    assert sink[-1].value == "start the NIBP cycle on the monitor"
    # A reading older than the request does not count; a newer one pulled from the monitor does.
    clock.advance(30)
    vitals.nibp(150, 90, 110)
    run.done(WHO)
    assert [k for _, k in kinds(sink[-3:])] == [StepKind.VITALS_RECORDED, StepKind.DONE, StepKind.SHOWN]


@pytest.mark.req("PRO-6")
def test_invalid_nibp_reading_does_not_satisfy_the_recheck(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    run = _run("bp-spike", clock, vitals, sink)
    run.done(WHO)
    run.answer(WHO, "no")
    clock.advance(30)
    bad = [vitals.observe(VitalKind.NIBP_SYSTOLIC, 0, Quality.CUFF_ERROR)]
    assert not run.vital_recorded(bad)
    assert run.current().waiting_for_nibp
    run.skip(WHO, "cuff error twice; manual BP taken")
    assert sink[-2].kind is StepKind.SKIPPED and sink[-2].note == "cuff error twice; manual BP taken"


@pytest.mark.req("PRO-6")
def test_timer_prompts_once_when_due_and_blocks_done_before(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    run = _run("prolonged-dissociation", clock, vitals, sink)
    vitals.nibp(130, 80, 97)
    run.done(WHO)
    run.answer(WHO, "no")
    run.done(WHO)
    view = run.current()
    assert view.type is NodeType.TIMER and view.timer is not None
    assert view.timer.seconds == 600 and view.timer.remaining == 600 and not view.timer.due
    clock.advance(599)
    assert run.tick() == []
    with pytest.raises(StepNotAllowed, match="not due for 1 s"):
        run.done(WHO)
    clock.advance(1)
    prompts = run.tick()
    assert [(p.node_id, p.text) for p in prompts] == [("recheck_timer", "Recheck in 10 minutes.")]
    assert run.tick() == []  # prompts once
    assert sink[-1].kind is StepKind.TIMER_DUE and sink[-1].person == "bedside"
    run.done(WHO)
    assert run.current().node_id == "recheck"


@pytest.mark.req("PRO-6")
def test_timer_can_be_restarted_or_skipped_with_a_reason(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    run = _run("persistent-nausea", clock, vitals, sink)
    run.done(WHO)
    run.answer(WHO, "no")
    run.answer(WHO, "yes")
    run.confirm_medication(WHO, None, given=False, reason="patient declined")
    assert sink[-3].kind is StepKind.MEDICATION_NOT_GIVEN and sink[-3].note == "patient declined"
    clock.advance(300)
    run.start_timer(WHO)
    assert run.current().timer is not None and run.current().timer.remaining == 600  # type: ignore[union-attr]
    with pytest.raises(StepNotAllowed):
        run.skip(WHO, "  ")
    run.skip(WHO, "patient vomiting again, reassess now")
    assert run.current().node_id == "reassess"


@pytest.mark.req("PRO-6")
def test_correction_is_a_new_record_never_an_edit(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    run = _run("emergence-reaction", clock, vitals, sink)
    vitals.nibp(120, 80, 93)
    run.done(WHO)
    run.answer(WHO, "no")
    answered = next(r for r in sink if r.kind is StepKind.ANSWERED)
    before = list(sink)
    clock.advance(60)
    correction = run.correct("Dr. Ana Ruiz", answered.seq, "patient had brief SpO2 dip to 91% at 09:02")
    assert sink[: len(before)] == before
    assert correction == sink[-1]
    assert correction.kind is StepKind.CORRECTION and correction.corrects == answered.seq
    assert correction.node_id == answered.node_id and correction.seq == len(before) + 1
    with pytest.raises(StepNotAllowed, match="no record #999"):
        run.correct(WHO, 999, "x")
    with pytest.raises(StepNotAllowed, match="reason is required"):
        run.correct(WHO, 1, "")


@pytest.mark.req("PRO-6")
def test_wrong_actions_are_refused_and_record_nothing(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    run = ProtocolRun(LIBRARY.get("bp-spike"), clock, WHO, "inc", vitals, sink.append)
    with pytest.raises(StepNotAllowed, match="start the run first"):
        run.done(WHO)
    run.start()
    count = len(sink)
    with pytest.raises(StepNotAllowed, match="not answered"):
        run.answer(WHO, "yes")
    with pytest.raises(StepNotAllowed, match="needs the name"):
        run.done("   ")
    run.done(WHO)
    with pytest.raises(StepNotAllowed, match="'maybe' is not an answer"):
        run.answer(WHO, "maybe")
    with pytest.raises(StepNotAllowed, match="cannot be skipped"):
        run.skip(WHO, "busy")
    with pytest.raises(StepNotAllowed, match="not a decision"):
        run.decide(WHO, "stop_session")
    assert len(sink) == count + 2  # the one done + the next step shown
    with pytest.raises(StepNotAllowed, match="already started"):
        run.start()


@pytest.mark.req("PRO-6")
def test_decision_must_be_an_offered_option(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    run = _run("cardiac-arrhythmia", clock, vitals, sink)
    vitals.nibp(120, 80, 93)
    run.done(WHO)
    run.answer(WHO, "no")
    run.done(WHO)
    run.answer(WHO, "no")
    run.done(WHO)
    run.done(WHO)
    clock.advance(300)
    run.tick()
    run.done(WHO)
    vitals.nibp(118, 78, 91)
    run.done(WHO)
    run.answer(WHO, "yes")
    assert run.current().options == ("pause_infusion", "stop_session")
    with pytest.raises(StepNotAllowed, match="not offered"):
        run.decide(WHO, "continue_session")
    run.decide(WHO, "stop_session")
    assert sink[-2].kind is StepKind.DECIDED and sink[-2].value == "stop_session"


@pytest.mark.req("PRO-6")
def test_two_runs_at_once_keep_separate_records_and_timers(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    runner = ProtocolRunner(clock, vitals, sink.append)
    emergence = runner.start(LIBRARY.get("emergence-reaction"), WHO, "inc-5", run_id="a")
    clock.advance(20)
    spike = runner.start(LIBRARY.get("bp-spike"), "Dr. Ana Ruiz", "inc-5", run_id="b")
    assert [r.run_id for r in runner.active()] == ["a", "b"]
    assert vitals.nibp_requests == 1  # the emergence tree's first check started a cycle
    # One reading satisfies both waiting checks once the spike tree asks for its own cycle.
    spike.done("Dr. Ana Ruiz")
    spike.answer("Dr. Ana Ruiz", "no")
    clock.advance(30)
    runner.vital_recorded(vitals.nibp(185, 105, 132))
    assert emergence.records[-1].kind is StepKind.VITALS_RECORDED
    assert spike.records[-1].kind is StepKind.VITALS_RECORDED
    emergence.done(WHO)
    emergence.answer(WHO, "no")
    emergence.done(WHO)
    emergence.done(WHO)
    emergence.answer(WHO, "no")
    emergence.answer(WHO, "no")
    assert emergence.current().type is NodeType.TIMER
    clock.advance(300)
    prompts = runner.tick()
    assert [(p.run_id, p.node_id) for p in prompts] == [("a", "reassess_timer")]
    assert {r.run_id for r in sink} == {"a", "b"}
    for run_id in ("a", "b"):
        seqs = [r.seq for r in sink if r.run_id == run_id]
        assert seqs == list(range(1, len(seqs) + 1))
    spike.call_911("Dr. Ana Ruiz")
    assert [r.run_id for r in runner.active()] == ["a"]
    assert runner.run("b").outcome is NodeType.CALL_911
    with pytest.raises(ValueError, match="already in use"):
        runner.start(LIBRARY.get("bp-spike"), WHO, "inc-5", run_id="a")


@pytest.mark.req("PRO-6")
def test_call_911_works_for_a_protocol_without_its_own_call_911_end(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    run = _run("readiness-checklist", clock, vitals, sink)
    run.call_911(WHO)
    assert run.outcome is NodeType.CALL_911
    view = run.current()
    assert view.type is NodeType.CALL_911 and "Call 911" in view.text
    assert [k for _, k in kinds(sink[-3:])] == [StepKind.CALL_911, StepKind.SHOWN, StepKind.ENDED]
    with pytest.raises(StepNotAllowed, match="already been called"):
        run.call_911(WHO)


@pytest.mark.req("PRO-6")
def test_call_911_after_a_resolved_end_and_after_abandoning(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    run = _run("discharge-checklist", clock, vitals, [])
    run.abandon(WHO, "started by mistake")
    assert not run.is_active
    with pytest.raises(StepNotAllowed, match="abandoned"):
        run.done(WHO)
    run.call_911(WHO)
    assert run.outcome is NodeType.CALL_911


@pytest.mark.req("PRO-1")
def test_flagged_protocol_needs_an_acknowledged_start(clock: FakeClock) -> None:
    edited: LoadedProtocol = load_protocol(EDITED)
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    with pytest.raises(ProtocolNotApproved, match="content changed"):
        ProtocolRun(edited, clock, WHO, "inc", vitals, sink.append).start()
    assert sink == []
    run = ProtocolRun(edited, clock, WHO, "inc", vitals, sink.append, acknowledge_flags=True)
    run.start()
    assert [r.kind for r in sink[:3]] == [StepKind.RUN_STARTED, StepKind.FLAGS_ACKNOWLEDGED, StepKind.SHOWN]
    assert sink[1].value == "changed_without_approval" and sink[1].person == WHO


def test_a_failing_store_does_not_stop_the_protocol(clock: FakeClock) -> None:
    def broken(_record: StepRecord) -> None:
        raise OSError("disk full")

    run = ProtocolRun(LIBRARY.get("bp-spike"), clock, WHO, "inc", FakeVitals(clock), broken)
    run.start()
    run.done(WHO)
    assert run.current().node_id == "emergency_signs"
    assert run.unsaved_records == run.records


def test_medication_time_cannot_be_in_the_future(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    run = _run("allergic-reaction", clock, vitals, [])
    run.done(WHO)
    vitals.nibp(90, 50, 63)
    run.done(WHO)
    run.answer(WHO, "yes")
    run.done(WHO)
    with pytest.raises(StepNotAllowed, match="future"):
        run.confirm_medication(WHO, clock.now() + timedelta(minutes=2), given=True)
    with pytest.raises(StepNotAllowed, match="say when"):
        run.confirm_medication(WHO, None, given=True)
    with pytest.raises(StepNotAllowed, match="reason is required"):
        run.confirm_medication(WHO, None, given=False, reason="")
