"""Session phases, attribution and the preconditions of infusion (THR-1, PRO-7)."""

from __future__ import annotations

import pytest

from alarms.baseline import Baseline
from alarms.clinician import UnnamedClinicianError
from alarms.config import load_config
from alarms.discharge import DischargeStatus
from alarms.session import (
    ChecklistItem,
    DischargeBlockedError,
    InfusionNotReadyError,
    InfusionSession,
    PhaseOrderError,
    PhaseTransition,
    SessionError,
    SessionPhase,
)
from alarms.thresholds import ThresholdBook, ThresholdSet, ThresholdsLockedError
from drivers.clock import FakeClock

P = SessionPhase


def new_session(clock: FakeClock) -> InfusionSession:
    return InfusionSession(clock, ThresholdBook(load_config(), clock))


def baseline(clock: FakeClock) -> Baseline:
    return Baseline(120, 80, 93, 98, 72, clock.now(), clock.now())


def ready_session(clock: FakeClock) -> InfusionSession:
    s = new_session(clock)
    s.begin_baseline("Dr Okafor")
    clock.advance(300)
    s.set_baseline(baseline(clock).confirm("Dr Okafor", clock.now()))
    s.thresholds.enter(ThresholdSet.clinic_default(load_config()))
    s.thresholds.confirm("Dr Okafor")
    for item in ChecklistItem:
        s.attest(item, "RN Diaz")
    s.mark_ready("Dr Okafor")
    return s


@pytest.mark.req("THR-1")
def test_infusion_refused_until_baseline_thresholds_and_checklist(clock: FakeClock) -> None:
    s = new_session(clock)
    s.begin_baseline("Dr Okafor")
    s.mark_ready("Dr Okafor")
    with pytest.raises(InfusionNotReadyError) as err:
        s.start_infusion("Dr Okafor")
    assert err.value.missing == (
        "the baseline is not confirmed by a named clinician",
        "the thresholds are not confirmed by a named clinician",
        "checklist: emergency medications in the room not attested",
        "checklist: airway equipment in the room not attested",
        "checklist: monitor in the room and working not attested",
        "checklist: IV in place not attested",
    )
    s.set_baseline(baseline(clock))  # computed but unconfirmed
    s.thresholds.enter(ThresholdSet.clinic_default(load_config()))
    with pytest.raises(InfusionNotReadyError, match="baseline is not confirmed"):
        s.start_infusion("Dr Okafor")
    assert s.phase is P.READY


@pytest.mark.req("PRO-7")
def test_each_checklist_item_is_attested_by_a_person(clock: FakeClock) -> None:
    s = new_session(clock)
    with pytest.raises(UnnamedClinicianError):
        s.attest(ChecklistItem.IV, " ")
    record = s.attest(ChecklistItem.IV, "RN Diaz")
    assert (record.by, record.at) == ("RN Diaz", clock.now())
    assert s.checklist_missing() == [
        ChecklistItem.EMERGENCY_MEDICATIONS,
        ChecklistItem.AIRWAY_EQUIPMENT,
        ChecklistItem.MONITOR,
    ]


@pytest.mark.req("THR-1")
def test_full_path_is_timed_and_attributed(clock: FakeClock) -> None:
    s = ready_session(clock)
    clock.advance(60)
    start = s.start_infusion("Dr Okafor")
    assert start == PhaseTransition(P.READY, P.INFUSION, clock.now(), "Dr Okafor")
    assert s.thresholds.locked
    with pytest.raises(ThresholdsLockedError):
        s.thresholds.enter(ThresholdSet.clinic_default(load_config()))
    clock.advance(2400)
    s.end_infusion("Dr Okafor")
    with pytest.raises(DischargeBlockedError, match="nausea"):
        s.discharge("Dr Okafor", DischargeStatus(False, ("not attested: nausea controlled",)))
    s.discharge("Dr Okafor", DischargeStatus(True, ()))
    assert [(t.from_phase, t.to_phase) for t in s.transitions] == [
        (P.SETUP, P.BASELINE),
        (P.BASELINE, P.READY),
        (P.READY, P.INFUSION),
        (P.INFUSION, P.RECOVERY),
        (P.RECOVERY, P.DISCHARGED),
    ]
    assert all(t.by for t in s.transitions)
    with pytest.raises(PhaseOrderError, match="ended"):
        s.end_early("Dr Okafor", "late")


@pytest.mark.req("THR-1")
def test_transitions_out_of_order_are_refused(clock: FakeClock) -> None:
    s = new_session(clock)
    with pytest.raises(PhaseOrderError, match="from setup to recovery"):
        s.end_infusion("Dr Okafor")
    with pytest.raises(PhaseOrderError, match="ready phase"):
        s.start_infusion("Dr Okafor")
    with pytest.raises(UnnamedClinicianError):
        s.begin_baseline("")


def test_end_early_from_any_phase_needs_a_reason(clock: FakeClock) -> None:
    s = ready_session(clock)
    s.start_infusion("Dr Okafor")
    with pytest.raises(SessionError, match="reason"):
        s.end_early("Dr Okafor", " ")
    t = s.end_early("Dr Okafor", "emergence reaction; patient asked to stop")
    assert (t.from_phase, t.to_phase, t.note) == (
        P.INFUSION,
        P.ENDED_EARLY,
        "emergence reaction; patient asked to stop",
    )
    with pytest.raises(PhaseOrderError):
        s.attest(ChecklistItem.IV, "RN Diaz")


def test_baseline_cannot_be_replaced_during_infusion(clock: FakeClock) -> None:
    s = ready_session(clock)
    s.start_infusion("Dr Okafor")
    with pytest.raises(PhaseOrderError):
        s.set_baseline(baseline(clock))


def test_phase_groups_have_one_home() -> None:
    """Finding 14: the phase groups were written in the app; they are the session's rules."""
    assert [p for p in P if p.builds_baseline] == [P.SETUP, P.BASELINE, P.READY]
    assert [p for p in P if p.nibp_cycles] == [P.BASELINE, P.READY, P.INFUSION, P.RECOVERY]
    assert [p for p in P if p.is_final] == [P.DISCHARGED, P.ENDED_EARLY]


@pytest.mark.req("DIS-1")
def test_the_session_knows_when_recovery_began(clock: FakeClock) -> None:
    """Finding 10: discharge judges readings taken in recovery, so the start of recovery is known."""
    s = ready_session(clock)
    s.start_infusion("Dr Okafor")
    assert s.recovery_began is None
    clock.advance(1800)
    s.end_infusion("Dr Okafor")
    assert s.recovery_began == clock.now()
