"""The EMS hand-off built at a call-911 end (PRO-5, PRO-6)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from drivers.clock import FakeClock
from drivers.types import VitalKind
from protocols.engine import ProtocolRun, StepRecord
from protocols.handoff import HandoffPatient, RunHistory, build_ems_handoff, handoff_text
from protocols.loader import LIBRARY_DIR, load_library
from tests.protocols.helpers import WHO, FakeVitals

LIBRARY = load_library(LIBRARY_DIR)
PATIENT = HandoffPatient("Jordan Lee", "MRN-0042", date(1980, 5, 17), allergies="penicillin")


@pytest.mark.req("PRO-5")
def test_handoff_from_an_anaphylaxis_call_911(clock: FakeClock) -> None:
    vitals = FakeVitals(clock)
    session_start = clock.now()
    observations = []
    for minute in range(45):  # 45 min of once-a-minute values; only the last 30 reach the sheet
        observations.append(vitals.observe(VitalKind.SPO2, 97 - (minute > 40) * 6))
        observations.append(vitals.observe(VitalKind.PULSE_RATE, 80 + minute))
        clock.advance(60)
    sink: list[StepRecord] = []
    run = ProtocolRun(LIBRARY.get("allergic-reaction"), clock, WHO, "inc-77", vitals, sink.append)
    run.start()
    event_start = clock.now()
    run.done(WHO)
    clock.advance(20)
    observations += vitals.nibp(82, 48, 59)
    run.vital_recorded(observations[-3:])
    run.done(WHO)
    run.answer(WHO, "yes")
    run.done(WHO)
    given = clock.now()
    clock.advance(30)
    run.confirm_medication(WHO, given, given=True)
    run.correct("Dr. Ana Ruiz", run.records[-3].seq, "second dose drawn up, not given")
    assert run.outcome == "call_911"
    handoff = build_ems_handoff(
        PATIENT,
        "inc-77",
        [RunHistory.of(run)],
        observations,
        clock.now(),
        session_started_at=session_start,
        infusion_started_at=session_start + timedelta(minutes=10),
    )
    assert handoff.patient is PATIENT
    assert handoff.event_started_at == event_start
    assert handoff.called_911_at == run.called_911_at == clock.now()
    assert handoff.vitals and all(
        clock.now() - timedelta(minutes=30) <= o.measured_at for o in handoff.vitals
    )
    assert len([o for o in observations if o.kind is VitalKind.SPO2]) == 45
    # Values every minute from 09:00 to 09:44; 911 called at 09:45:50, so 09:16..09:44 remain.
    assert len([o for o in handoff.vitals if o.kind is VitalKind.SPO2]) == 29
    [med] = handoff.medications
    assert med.drug == "Epinephrine per clinic anaphylaxis protocol"
    assert med.given_at == given and med.confirmed_by == WHO
    assert med.corrections == ("Dr. Ana Ruiz: second dose drawn up, not given",)
    texts = [s.text for s in handoff.steps]
    assert any(t.startswith("Asked: Any sign of anaphylaxis") and t.endswith("Answer: yes") for t in texts)
    assert "Reading: nibp_systolic 82 mm[Hg]; nibp_diastolic 48 mm[Hg]; nibp_mean 59 mm[Hg]" in texts
    assert handoff.protocols == ("Allergic-type reaction v0.1 (TEMPLATE, not approved)",)

    sheet = handoff_text(handoff)
    assert "Patient: Jordan Lee  ID: MRN-0042  DOB: 1980-05-17" in sheet
    assert "Allergies: penicillin" in sheet
    assert "Epinephrine per clinic anaphylaxis protocol" in sheet
    assert "82/48 (59)" in sheet
    assert "correction: Dr. Ana Ruiz: second dose drawn up, not given" in sheet
    assert f"911 called: {clock.now():%Y-%m-%d %H:%M:%S}" in sheet


def test_handoff_with_nothing_recorded_says_so(clock: FakeClock) -> None:
    handoff = build_ems_handoff(HandoffPatient("Sam Doe"), "inc-1", [], [], clock.now())
    sheet = handoff_text(handoff)
    assert handoff.called_911_at is None
    assert "Allergies: none recorded" in sheet
    assert sheet.count("none recorded") == 3
    assert "no valid values" in sheet
