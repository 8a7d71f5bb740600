"""A whole accelerated ketamine session through the engine, with the exact alarm sequence
(THR-1..6, MON-2, MON-3, ALM-1, ALM-3, PRO-2, DIS-1).

Baseline from two NIBP readings 3 min apart, confirmation, infusion; an expected 20 % rise that
does not alarm; a +40 % spike that alarms, offers the bp-spike protocol, prompts a re-measure and
shortens the NIBP interval; recovery ends the alarm and restores the interval; discharge is
blocked until the attestations are in. The oximeter sends one sample a second throughout and the
cuff answers 40 s after each cycle starts, all on a fake clock.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime

import pytest

from alarms.band import ExpectedRiseBand
from alarms.baseline import BaselineCalculator
from alarms.config import load_config
from alarms.discharge import DischargeAttestation, DischargeCriteria, DischargeStatus
from alarms.manager import AlarmEvent, AlarmEventKind, AlarmManager
from alarms.nibp_reading import NibpAssembler, NibpReading
from alarms.nibp_schedule import ConfirmRemeasure, IntervalChange, NibpAction, NibpScheduler, StartCycle
from alarms.priority import AlarmPriority
from alarms.session import ChecklistItem, DischargeBlockedError, InfusionSession, SessionPhase
from alarms.thresholds import NibpJudgement, ThresholdBook, ThresholdSet
from alarms.trend import BpTrend
from drivers.clock import FakeClock
from drivers.types import Observation, VitalKind
from tests.alarms.helpers import nibp_obs, obs

CUFF_S = 40  # seconds an NIBP cycle takes before the reading arrives


class Room:
    """The engine wired the way the app wires it, driven second by second."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.config = load_config()
        self.book = ThresholdBook(self.config, clock)
        self.session = InfusionSession(clock, self.book)
        self.alarms = AlarmManager(
            clock, self.config, lambda: self.book.current if self.book.has_confirmed_set else None
        )
        self.assembler = NibpAssembler()
        self.baseline_calc = BaselineCalculator(self.config)
        self.trend = BpTrend(self.config)
        self.discharge = DischargeCriteria(self.config, clock)
        self.scheduler: NibpScheduler | None = None
        self.band: ExpectedRiseBand | None = None
        self.cuff_script: deque[tuple[float, float]] = deque()
        self.cuff_due: list[float] = []  # monotonic times a started cycle delivers its reading
        self.readings: list[NibpReading] = []
        self.judgements: list[NibpJudgement] = []
        self.events: list[tuple[int, AlarmEvent]] = []
        self.actions: list[tuple[int, NibpAction]] = []
        self.last: dict[VitalKind, Observation] = {}
        self.t0 = clock.monotonic()

    @property
    def second(self) -> int:
        return round(self.clock.monotonic() - self.t0)

    def run(self, seconds: int, spo2: float = 98, pulse: float = 72) -> None:
        for _ in range(seconds):
            self.clock.advance(1)
            self.receive(
                [obs(self.clock, VitalKind.SPO2, spo2), obs(self.clock, VitalKind.PULSE_RATE, pulse)]
            )
            self._log(self.alarms.tick())
            if self.scheduler is not None:
                self._act(self.scheduler.tick())
            if self.cuff_due and self.clock.monotonic() >= self.cuff_due[0]:
                self.cuff_due.pop(0)
                s, d = self.cuff_script.popleft()
                self.receive(nibp_obs(self.clock, s, d, round((s + 2 * d) / 3)))

    def measure_now(self, who: str) -> None:
        assert self.scheduler is not None
        self._act([self.scheduler.measure_now(who)])

    def nibp_now(self, systolic: float, diastolic: float) -> None:
        self.receive(nibp_obs(self.clock, systolic, diastolic, round((systolic + 2 * diastolic) / 3)))

    def receive(self, observations: list[Observation]) -> None:
        for o in observations:
            self.last[o.kind] = o
            self._log(self.alarms.observe(o))
            if self.session.phase is SessionPhase.BASELINE:
                self.baseline_calc.add_observation(o)
        for reading in self.assembler.add_all(observations):
            self.readings.append(reading)
            if self.session.phase is SessionPhase.BASELINE:
                self.baseline_calc.add_nibp(reading)
            elif self.band is not None and self.scheduler is not None:
                judgement = self.book.judge_nibp(reading, self.band)
                self.judgements.append(judgement)
                self._log(self.alarms.nibp_judgement(judgement))
                trend = self.trend.assess(
                    self.readings[-3:], self.scheduler.next_cycle_at(), self.book.current, self.band
                )
                actions, _ = self.scheduler.on_reading(judgement, trend)
                self._act(actions)

    def _act(self, actions: list[NibpAction]) -> None:
        for action in actions:
            self.actions.append((self.second, action))
            if isinstance(action, StartCycle):
                self.cuff_due.append(self.clock.monotonic() + CUFF_S)

    def _log(self, events: list[AlarmEvent]) -> None:
        self.events.extend((self.second, e) for e in events)


@pytest.mark.req("THR-4")
@pytest.mark.req("MON-3")
@pytest.mark.req("DIS-1")
def test_accelerated_ketamine_session(clock: FakeClock) -> None:
    room = Room(clock)
    s = room.session

    # Baseline: two NIBP readings 3 min apart, oximetry throughout.
    s.begin_baseline("Dr Okafor")
    room.run(10)
    room.nibp_now(118, 78)
    room.run(180)
    room.nibp_now(122, 82)
    proposed = room.baseline_calc.propose()
    assert (proposed.systolic, proposed.diastolic, proposed.spo2, proposed.pulse) == (120, 80, 98, 72)
    s.set_baseline(proposed.confirm("Dr Okafor", clock.now()))
    room.book.enter(ThresholdSet.clinic_default(room.config))
    room.book.confirm("Dr Okafor")
    for item in ChecklistItem:
        s.attest(item, "RN Diaz")
    s.mark_ready("Dr Okafor")
    assert s.baseline is not None
    room.band = ExpectedRiseBand.from_baseline(s.baseline, room.config)
    room.run(10)

    # Infusion: the scheduler starts with the session, device accepts a remote start.
    s.start_infusion("Dr Okafor")
    infusion_at = room.second
    room.scheduler = NibpScheduler(clock, room.config, device_can_start=True)
    room.cuff_script.extend([(138, 92), (144, 96), (168, 100), (166, 99), (150, 94), (130, 86), (124, 82)])

    room.run(650, pulse=80)  # two cycles: +15 %, +20 %: expected rise, no alarm
    assert [j.summary() for j in room.judgements] == [
        "NIBP 138/92: expected rise",
        "NIBP 144/96: expected rise",
    ]
    assert room.events == []

    room.run(300, pulse=84)  # third cycle: 168 = +40 %
    spike = room.judgements[2]
    assert spike.summary() == "NIBP 168/100: above expected rise" and spike.offered_protocol == "bp-spike"
    prompts = [a for _, a in room.actions if isinstance(a, ConfirmRemeasure)]
    assert [p.reading.systolic for p in prompts] == [168]
    assert room.scheduler.interval_min == 2

    room.measure_now("RN Diaz")  # the clinician confirms the re-measure (PRO-2)
    room.run(250)  # re-measure 166/99, then the shortened cycle: 150/94
    s.end_infusion("Dr Okafor")
    room.run(620, pulse=74)  # recovery cycles at 5 min again: 130/86, 124/82

    t = infusion_at
    assert [(sec - t, e.kind, e.key, e.priority, e.person) for sec, e in room.events] == [
        (940, AlarmEventKind.STARTED, "bp_high", AlarmPriority.MEDIUM, None),
        (1110, AlarmEventKind.ENDED, "bp_high", AlarmPriority.MEDIUM, None),
    ]
    assert room.events[0][1].message == "NIBP 168/100: above expected rise"
    changes = room.scheduler.changes
    assert [(c.old_min, c.new_min, c.by) for c in changes] == [(5, 2, None), (2, 5, None)]
    assert changes[0].reason.startswith("trend: systolic rising")
    assert changes[1].reason.startswith("trend settled")
    assert all(isinstance(c, IntervalChange) and isinstance(c.at, datetime) for c in changes)
    starts = [sec - t for sec, a in room.actions if isinstance(a, StartCycle)]
    assert starts == [300, 600, 900, 950, 1070, 1370, 1670]
    assert [r.systolic for r in room.readings[2:]] == [138, 144, 168, 166, 150, 130, 124]
    assert room.alarms.active() == [] and room.alarms.audio_state() is None

    # Discharge: vitals are back, attestations are not.
    def evaluate(spo2: Observation | None, pulses: list[Observation]) -> DischargeStatus:
        return room.discharge.evaluate(
            s.baseline,
            recovery_began=s.recovery_began,
            nibp=room.readings[-1],
            spo2=spo2,
            pulses=pulses,
            unacknowledged=[a.title for a in room.alarms.active() if a.acknowledged_by is None],
        )

    def status() -> tuple[bool, tuple[str, ...]]:
        result = evaluate(room.last[VitalKind.SPO2], [room.last[VitalKind.PULSE_RATE]])
        return result.allowed, result.unmet

    allowed, unmet = status()
    assert not allowed and unmet == (
        "not attested: patient ambulatory and oriented",
        "not attested: nausea controlled",
        "not attested: a sober adult driver present",
    )
    with pytest.raises(DischargeBlockedError):
        s.discharge("Dr Okafor", evaluate(None, []))
    for criterion in DischargeAttestation:
        room.discharge.attest(criterion, "RN Diaz")
    assert status() == (True, ())
    s.discharge("Dr Okafor", evaluate(room.last[VitalKind.SPO2], [room.last[VitalKind.PULSE_RATE]]))
    assert [t.to_phase for t in s.transitions] == [
        SessionPhase.BASELINE,
        SessionPhase.READY,
        SessionPhase.INFUSION,
        SessionPhase.RECOVERY,
        SessionPhase.DISCHARGED,
    ]
