"""Protocol timers and NIBP rechecks when this PC's clock is set back or forward (PRO-6; issue 11).

``FakeClock.step_wall`` moves wall time only; a protocol's timer must come due on monotonic time
and a recheck must be answered by the reading taken after it was asked for, whatever the wall
clock says about when that reading arrived.
"""

from __future__ import annotations

import pytest

from drivers.clock import FakeClock
from protocols.engine import ProtocolRun, StepKind, StepRecord
from protocols.loader import LIBRARY_DIR, load_library
from tests.protocols.helpers import WHO, FakeVitals

LIBRARY = load_library(LIBRARY_DIR)
HOUR = 3600.0


def _run(protocol_id: str, clock: FakeClock, vitals: FakeVitals, sink: list[StepRecord]) -> ProtocolRun:
    run = ProtocolRun(LIBRARY.get(protocol_id), clock, WHO, "inc-1", vitals, sink.append, run_id="r1")
    run.start()
    return run


@pytest.mark.req("PRO-6")
@pytest.mark.parametrize("step", [-HOUR, HOUR])
def test_a_timer_comes_due_after_its_time_not_when_the_clock_is_set(step: float) -> None:
    clock = FakeClock()
    vitals = FakeVitals(clock)
    sink: list[StepRecord] = []
    run = _run("prolonged-dissociation", clock, vitals, sink)
    vitals.nibp(130, 80, 97)
    run.done(WHO)
    run.answer(WHO, "no")
    run.done(WHO)
    clock.advance(100)
    clock.step_wall(step)
    assert run.tick() == []
    timer = run.current().timer
    assert timer is not None and timer.remaining == 500 and not timer.due
    clock.advance(499)
    assert run.tick() == []
    clock.advance(1)
    assert [p.node_id for p in run.tick()] == ["recheck_timer"]


@pytest.mark.req("PRO-6")
def test_a_recheck_is_answered_by_the_reading_after_it_when_the_clock_was_set_back() -> None:
    """The NIBP asked for is recorded though its wall stamp (clock set back an hour) is before the
    request; a reading that arrived before the request still does not count."""
    clock = FakeClock()
    vitals = FakeVitals(clock, remote_start=False)
    sink: list[StepRecord] = []
    run = _run("bp-spike", clock, vitals, sink)
    old = vitals.nibp(150, 90, 110)
    clock.advance(5)
    run.done(WHO)
    run.answer(WHO, "no")  # asks for a new NIBP
    assert run.current().waiting_for_nibp
    assert not run.vital_recorded(old)
    clock.step_wall(-HOUR)
    clock.advance(40)
    assert run.vital_recorded(vitals.nibp(182, 104, 130))
    assert sink[-1].kind is StepKind.VITALS_RECORDED and "182" in sink[-1].value
    assert not run.current().waiting_for_nibp
