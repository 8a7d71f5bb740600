"""DOC-7 follow-up: scheduled by event type, listed as due and overdue, closed with an outcome; an
"adjust: earlier BP threshold" suggests (never confirms) the next session's thresholds."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms import ClinicalConfig, ThresholdSet, load_config
from alarms.config import FollowUpConfig
from bedside.workflow import AuditTrail, SignedIn
from bedside.workflow.followup import (
    Adjustment,
    FollowUpError,
    FollowUpOutcome,
    FollowUpService,
    FollowUpState,
    Workup,
    follow_up_state,
    outcome_details,
    plan_follow_up,
    suggest_next_thresholds,
)
from drivers.clock import FakeClock
from storage import Database
from storage.followup import FollowUpClosedError, FollowUpRecord

EVENT = datetime(2026, 11, 23, 14, 30, tzinfo=UTC)
CONFIG = load_config().follow_up


def _record(opens: datetime, due: datetime, closed: datetime | None = None) -> FollowUpRecord:
    items = plan_follow_up(CONFIG, event_type="default", event_at=opens, session_id="s")
    item = replace(items[0], opens_at=opens, due_by=due)
    return FollowUpRecord("f-1", item, opens, "rivera", closed, "rivera" if closed else "")


@pytest.fixture
def service(db: Database, clock: FakeClock, audit: AuditTrail, config: ClinicalConfig) -> FollowUpService:
    """The follow-up service of room-1."""
    return FollowUpService(db, clock, audit, config.follow_up)


@pytest.mark.req("DOC-7")
def test_schedule_follows_the_event_type_from_defaults_yaml() -> None:
    """Issue 9 DOC-7: a BP spike owes a phone call within 24 h and an extra visit; an emergence
    reaction owes a phone call and written symptom check-ins on several days; an unlisted type the
    default schedule."""
    spike = plan_follow_up(CONFIG, event_type="bp-spike", event_at=EVENT, session_id="s", incident_id="i")
    assert [i.contact for i in spike] == ["phone_call", "extra_visit"]
    call = spike[0]
    assert call.opens_at == EVENT
    assert call.due_by == EVENT + timedelta(hours=24)
    assert call.incident_id == "i"

    emergence = plan_follow_up(CONFIG, event_type="emergence-reaction", event_at=EVENT, session_id="s")
    check_ins = [i for i in emergence if i.contact == "symptom_check_in"]
    assert len(check_ins) == 3
    assert [i.number for i in check_ins] == [1, 2, 3]
    # one a day: each due a day after the one before
    assert [b.due_by - a.due_by for a, b in pairwise(check_ins)] == [timedelta(days=1)] * 2

    other = plan_follow_up(CONFIG, event_type="by_hand", event_at=EVENT, session_id="s")
    assert [i.contact for i in other] == [i.contact for i in CONFIG.schedules["default"]]


@pytest.mark.req("DOC-7")
def test_the_schedule_is_clinic_configuration() -> None:
    """Issue 9 DOC-7: a clinic file changes the schedule; a schedule due before it opens is refused."""
    data = CONFIG.model_dump()
    data["schedules"]["bp-spike"] = [{"contact": "phone_call", "opens_after_h": 0, "due_within_h": 12}]
    changed = FollowUpConfig.model_validate(data)
    items = plan_follow_up(changed, event_type="bp-spike", event_at=EVENT, session_id="s")
    assert [(i.contact, i.due_by) for i in items] == [("phone_call", EVENT + timedelta(hours=12))]
    data["schedules"]["bp-spike"] = [{"contact": "phone_call", "opens_after_h": 30, "due_within_h": 24}]
    with pytest.raises(ValueError, match="due"):
        FollowUpConfig.model_validate(data)
    del data["schedules"]["default"]
    data["schedules"]["bp-spike"] = [{"contact": "phone_call", "opens_after_h": 0, "due_within_h": 24}]
    with pytest.raises(ValueError, match="default"):
        FollowUpConfig.model_validate(data)


@pytest.mark.req("DOC-7")
@settings(max_examples=300, deadline=None)
@given(
    opens_after=st.integers(min_value=0, max_value=7 * 24 * 3600),
    window=st.integers(min_value=1, max_value=7 * 24 * 3600),
    offset=st.integers(min_value=-8 * 24 * 3600, max_value=16 * 24 * 3600),
    micro=st.sampled_from([-1, 0, 1]),
)
def test_due_and_overdue_edges(opens_after: int, window: int, offset: int, micro: int) -> None:
    """Issue 9 DOC-7: upcoming before the opening, due from the opening up to and including the due
    time, overdue one microsecond after it; a closed follow-up is never due or overdue."""
    opens = EVENT + timedelta(seconds=opens_after)
    due = opens + timedelta(seconds=window)
    record = _record(opens, due)
    for now in (
        opens + timedelta(microseconds=micro),
        due + timedelta(microseconds=micro),
        EVENT + timedelta(seconds=offset),
    ):
        state = follow_up_state(record, now)
        if now < opens:
            assert state is FollowUpState.UPCOMING
        elif now <= due:
            assert state is FollowUpState.DUE
        else:
            assert state is FollowUpState.OVERDUE
    closed = _record(opens, due, closed=EVENT)
    assert follow_up_state(closed, EVENT + timedelta(seconds=offset)) is FollowUpState.CLOSED


@pytest.mark.req("DOC-7")
def test_listed_as_due_and_overdue_with_the_injected_clock(
    service: FollowUpService, clock: FakeClock, clinician: SignedIn, audit: AuditTrail
) -> None:
    """Issue 9 DOC-7: after a BP spike the phone call is due at once and overdue after 24 h; the
    extra visit becomes due after a day; scheduling is audited."""
    event = clock.now()
    records = service.schedule(
        clinician, event_type="bp-spike", event_at=event, session_id="s-1", incident_id="i-1"
    )
    call, visit = records
    assert [r.follow_up_id for r in service.due()] == [call.follow_up_id]
    assert service.overdue() == []
    clock.advance(24 * 3600)  # exactly at the due time: still due
    assert call.follow_up_id in [r.follow_up_id for r in service.due()]
    clock.advance(1)
    assert [r.follow_up_id for r in service.overdue()] == [call.follow_up_id]
    assert [r.follow_up_id for r in service.due()] == [visit.follow_up_id]
    entries = [e for e in audit.entries() if e.action == "follow_up_scheduled"]
    assert len(entries) == 1
    assert entries[0].subject == "i-1"
    assert entries[0].who == "rivera"


@pytest.mark.req("DOC-7")
def test_closed_with_an_outcome_and_audited(
    service: FollowUpService, clock: FakeClock, clinician: SignedIn, audit: AuditTrail
) -> None:
    """Issue 9 DOC-7: adjust names what changes, pause the workup, stop nothing more; a closed
    follow-up leaves the lists, cannot be closed twice, and every close is in the audit trail."""
    call, visit = service.schedule(clinician, event_type="bp-spike", event_at=clock.now(), session_id="s-1")
    closed = service.close(
        clinician,
        call.follow_up_id,
        "adjust",
        adjustments=["premedication", "slower_rate"],
        note=" felt unwell ",
    )
    assert closed.outcome == "adjust"
    assert closed.outcome_details == {"adjustments": ["premedication", "slower_rate"]}
    assert closed.note == "felt unwell"
    assert closed.closed_by == "rivera"
    assert service.due() == []
    with pytest.raises(FollowUpClosedError):
        service.close(clinician, call.follow_up_id, "stop")
    paused = service.close(clinician, visit.follow_up_id, FollowUpOutcome.PAUSE, workup=Workup.CARDIOLOGY)
    assert paused.outcome_details == {"workup": "cardiology"}
    actions = [(e.action, e.subject) for e in audit.entries() if e.action == "follow_up_closed"]
    assert actions == [("follow_up_closed", call.follow_up_id), ("follow_up_closed", visit.follow_up_id)]


@pytest.mark.req("DOC-7")
@pytest.mark.parametrize(
    ("outcome", "adjustments", "workup", "words"),
    [
        ("adjust", [], None, "names what changes"),
        ("pause", [], None, "workup"),
        ("stop", ["premedication"], None, "adjustments go with"),
        ("stop", [], "urology", "workup goes with"),
        ("adjust", ["premedication"], "urology", "workup goes with"),
        ("later", [], None, "adjust|pause|stop"),
        ("adjust", ["more ketamine"], None, "adjustments"),
        ("pause", [], "dermatology", "workups"),
    ],
)
def test_an_outcome_without_its_details_is_refused(
    outcome: str, adjustments: list[str], workup: str | None, words: str
) -> None:
    """Issue 9 DOC-7: each outcome carries exactly its own details, checked before anything is stored."""
    with pytest.raises(FollowUpError, match=words):
        outcome_details(outcome, adjustments=adjustments, workup=workup)


def test_stop_carries_no_details() -> None:
    """Issue 9 DOC-7: stop is stop."""
    assert outcome_details("stop") == {}
    assert outcome_details("adjust", adjustments=[Adjustment.LOWER_STARTING_DOSE]) == {
        "adjustments": ["lower_starting_dose"]
    }


@pytest.mark.req("DOC-7")
def test_earlier_bp_threshold_suggests_the_next_sessions_thresholds(
    service: FollowUpService, clock: FakeClock, clinician: SignedIn, config: ClinicalConfig
) -> None:
    """Issue 9 DOC-7: an adjust with an earlier BP threshold suggests lower systolic and diastolic
    ceilings by the configured step, unconfirmed (the clinician confirms it); other outcomes none."""
    current = replace(ThresholdSet.clinic_default(config), confirmed_by="rivera", confirmed_at=clock.now())
    call, visit = service.schedule(clinician, event_type="bp-spike", event_at=clock.now(), session_id="s-1")
    closed = service.close(clinician, call.follow_up_id, "adjust", adjustments=["earlier_bp_threshold"])
    suggestion = suggest_next_thresholds(current, closed, config.follow_up)
    assert suggestion is not None
    step = config.follow_up.earlier_bp_threshold_mmhg
    assert suggestion.suggested.systolic_ceiling == current.systolic_ceiling - step
    assert suggestion.suggested.diastolic_ceiling == current.diastolic_ceiling - step
    assert suggestion.suggested.hypotension_floor == current.hypotension_floor
    assert not suggestion.suggested.is_confirmed
    assert suggestion.current is current
    assert "earlier BP threshold" in suggestion.reason

    stopped = service.close(clinician, visit.follow_up_id, "stop")
    assert suggest_next_thresholds(current, stopped, config.follow_up) is None
    other = replace(closed, outcome_details={"adjustments": ["premedication"]})
    assert suggest_next_thresholds(current, other, config.follow_up) is None


@pytest.mark.req("DOC-7")
def test_a_suggestion_that_would_meet_the_floors_is_refused(config: ClinicalConfig) -> None:
    """Issue 9 DOC-7: lowering the ceilings below the floors is refused with a sentence, not a traceback."""
    tight = replace(
        ThresholdSet.clinic_default(config),
        systolic_ceiling=95,
        diastolic_ceiling=60,
        hypotension_floor=85,
        mean_floor=65,
    )
    record = replace(
        _record(EVENT, EVENT + timedelta(hours=1), closed=EVENT),
        outcome="adjust",
        outcome_details={"adjustments": ["earlier_bp_threshold"]},
    )
    with pytest.raises(FollowUpError, match="set the next thresholds by hand"):
        suggest_next_thresholds(tight, record, config.follow_up)


@pytest.mark.req("DOC-7")
def test_moving_a_follow_up_is_an_audited_edit(
    service: FollowUpService, clock: FakeClock, clinician: SignedIn, audit: AuditTrail
) -> None:
    """Issue 9 DOC-7: an open follow-up moves with a reason (old and new due time in the audit
    trail); it then lists by its new time; a closed one cannot move."""
    call, visit = service.schedule(clinician, event_type="bp-spike", event_at=clock.now(), session_id="s-1")
    later = call.item.due_by + timedelta(hours=12)
    with pytest.raises(FollowUpError, match="say why"):
        service.move(clinician, call.follow_up_id, due_by=later, reason=" ")
    moved = service.move(clinician, call.follow_up_id, due_by=later, reason="patient at work until 6 pm")
    assert moved.item.due_by == later
    clock.advance(30 * 3600)  # past the old due time, before the new one
    assert call.follow_up_id in [r.follow_up_id for r in service.due()]
    (entry,) = [e for e in audit.entries() if e.action == "follow_up_moved"]
    assert entry.subject == call.follow_up_id
    service.close(clinician, visit.follow_up_id, "stop")
    with pytest.raises(FollowUpClosedError, match="cannot be moved"):
        service.move(clinician, visit.follow_up_id, due_by=later, reason="x")


@pytest.mark.req("DOC-7")
@settings(max_examples=200, deadline=None)
@given(
    event_type=st.sampled_from([*CONFIG.schedules, "alarm", "by_hand"]),
    minutes=st.integers(min_value=0, max_value=60 * 24 * 365),
)
def test_every_planned_contact_opens_before_it_is_due(event_type: str, minutes: int) -> None:
    """Issue 9 DOC-7: for every event type and time, each contact opens at or after the event and
    before it is due, the list is in due order, and the numbers count each contact kind from 1."""
    event_at = EVENT + timedelta(minutes=minutes)
    items = plan_follow_up(CONFIG, event_type=event_type, event_at=event_at, session_id="s")
    assert items
    assert all(event_at <= i.opens_at < i.due_by for i in items)
    assert [i.due_by for i in items] == sorted(i.due_by for i in items)
    for contact in {i.contact for i in items}:
        assert sorted(i.number for i in items if i.contact == contact) == list(
            range(1, 1 + sum(1 for i in items if i.contact == contact))
        )
