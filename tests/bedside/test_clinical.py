"""ClinicalSession: the engine wired to NIBP cycling and storage records, on a fake clock."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from alarms import (
    BaselineField,
    BaselineNotReadyError,
    BpClass,
    ChecklistItem,
    DischargeAttestation,
    DischargeBlockedError,
    InfusionNotReadyError,
    SessionPhase,
    ThresholdError,
    ThresholdField,
    ThresholdSet,
    UnnamedClinicianError,
    load_config,
)
from bedside.workflow.clinical import ClinicalSession, PromptKind
from drivers.clock import FakeClock
from drivers.types import DeviceEvent, DeviceEventKind, Quality, VitalKind
from storage import (
    AlarmEventRecord,
    AttestationRecord,
    BaselineRecord,
    NibpIntervalChangeRecord,
    PhaseTransitionRecord,
    SessionEndedRecord,
    ThresholdChangeRecord,
    ThresholdSetRecord,
)
from tests.alarms.helpers import nibp_obs, obs

START = b"START"
NURSE = "RN Diaz"


@dataclass
class Room:
    """A session with its record sink and the bytes it sent to the NIBP module."""

    clock: FakeClock
    session: ClinicalSession
    records: list[object] = field(default_factory=list)
    sent: list[bytes] = field(default_factory=list)

    def cycle(self, systolic: float, diastolic: float) -> None:
        """Measure now; the cuff answers 40 s later."""
        self.session.measure_now(NURSE)
        self.seconds(40)
        self.nibp(systolic, diastolic)

    def of(self, kind: type) -> list[object]:
        return [r for r in self.records if isinstance(r, kind)]

    def alarm_records(self) -> list[AlarmEventRecord]:
        return [r for r in self.records if isinstance(r, AlarmEventRecord)]

    def seconds(self, n: int, spo2: float = 98, pulse: float = 72) -> None:
        """``n`` seconds of oximetry, one sample a second, with the session's tick."""
        for _ in range(n):
            self.clock.advance(1)
            self.session.on_observation(obs(self.clock, VitalKind.SPO2, spo2))
            self.session.on_observation(obs(self.clock, VitalKind.PULSE_RATE, pulse))
            self.session.tick()

    def nibp(self, systolic: float | None, diastolic: float | None, quality: Quality = Quality.VALID) -> None:
        mean = None if systolic is None or diastolic is None else round((systolic + 2 * diastolic) / 3)
        for o in nibp_obs(self.clock, systolic, diastolic, mean, quality):
            self.session.on_observation(o)


def make_room(clock: FakeClock, *, remote_start: bool = True) -> Room:
    room = Room(clock, None)  # type: ignore[arg-type]  # filled just below: the sinks need the room
    room.session = ClinicalSession(
        clock,
        load_config(),
        session_id="s-1",
        record=room.records.append,
        nibp_link_send=room.sent.append if remote_start else None,
        nibp_start_command=START if remote_start else None,
    )
    return room


def thresholds() -> ThresholdSet:
    return ThresholdSet(180, 110, 90, 45, 130, 85, 65, 20, 20)


def ready_for_infusion(room: Room) -> None:
    """Baseline 120/78 from two readings 3 min apart, thresholds confirmed, checklist attested."""
    room.session.begin_baseline(NURSE)
    room.seconds(30)
    room.nibp(118, 77)
    room.seconds(180)
    room.nibp(122, 79)
    room.session.confirm_baseline(NURSE)
    room.session.confirm_thresholds(NURSE, thresholds())
    for item in ChecklistItem:
        room.session.attest(item, NURSE)


def in_infusion(clock: FakeClock, *, remote_start: bool = True) -> Room:
    room = make_room(clock, remote_start=remote_start)
    ready_for_infusion(room)
    room.session.start_infusion("Dr Okafor")
    room.records.clear()
    room.sent.clear()
    return room


@pytest.mark.req("THR-1")
@pytest.mark.req("THR-2")
def test_setup_records_baseline_thresholds_attestations_and_phases(clock: FakeClock) -> None:
    room = make_room(clock)
    ready_for_infusion(room)
    room.session.start_infusion("Dr Okafor")

    phases = [(r.from_phase, r.to_phase, r.who) for r in room.of(PhaseTransitionRecord)]  # type: ignore[attr-defined]
    assert phases == [
        ("setup", "baseline", NURSE),
        ("baseline", "ready", NURSE),
        ("ready", "infusion", "Dr Okafor"),
    ]
    [baseline] = room.of(BaselineRecord)
    assert isinstance(baseline, BaselineRecord)
    assert (baseline.systolic, baseline.diastolic, baseline.confirmed_by) == (120, 78, NURSE)
    assert baseline.spo2 == 98 and baseline.pulse == 72
    [limits] = room.of(ThresholdSetRecord)
    assert isinstance(limits, ThresholdSetRecord)
    assert (limits.systolic_ceiling, limits.spo2_floor, limits.confirmed_by) == (180, 90, NURSE)
    assert (limits.expected_rise_low, limits.expected_rise_high) == (1.15, 1.30)
    assert limits.session_id == "s-1" and limits.threshold_set_id
    attested = [(r.checklist, r.item, r.who) for r in room.of(AttestationRecord)]  # type: ignore[attr-defined]
    assert attested == [("readiness", item.value, NURSE) for item in ChecklistItem]
    # begin_baseline started the first cycle on the module at once.
    assert room.sent and all(s == START for s in room.sent)
    assert room.session.phase is SessionPhase.INFUSION


@pytest.mark.req("THR-2")
def test_baseline_override_is_recorded_with_its_reason(clock: FakeClock) -> None:
    room = make_room(clock)
    room.session.begin_baseline(NURSE)
    room.nibp(150, 90)  # anxious first reading
    room.seconds(130)
    room.nibp(124, 80)
    baseline = room.session.confirm_baseline(
        NURSE, {BaselineField.SYSTOLIC: (122, "white-coat first reading")}
    )
    assert baseline.systolic == 122
    [record] = room.of(BaselineRecord)
    assert isinstance(record, BaselineRecord)
    assert record.systolic == 122
    [override] = record.overrides
    assert (override.field, override.computed, override.value) == ("systolic", 137, 122)
    assert override.reason == "white-coat first reading"
    view = room.session.band_for_display()
    assert view is not None and view.systolic_band == pytest.approx((122 * 1.15, 122 * 1.30))


@pytest.mark.req("THR-2")
def test_baseline_needs_two_spaced_readings(clock: FakeClock) -> None:
    room = make_room(clock)
    room.session.begin_baseline(NURSE)
    room.nibp(120, 78)
    room.seconds(60)
    room.nibp(121, 78)  # only 1 min apart
    with pytest.raises(BaselineNotReadyError):
        room.session.confirm_baseline(NURSE)
    assert not room.of(BaselineRecord)


@pytest.mark.req("THR-1")
def test_infusion_refused_until_checklist_complete(clock: FakeClock) -> None:
    room = make_room(clock)
    room.session.begin_baseline(NURSE)
    room.nibp(120, 78)
    room.seconds(130)
    room.nibp(120, 78)
    room.session.confirm_baseline(NURSE)
    room.session.confirm_thresholds(NURSE, thresholds())
    room.session.attest(ChecklistItem.IV, NURSE)
    before = len(room.records)
    with pytest.raises(InfusionNotReadyError) as refused:
        room.session.start_infusion("Dr Okafor")
    assert any("airway" in m for m in refused.value.missing)
    assert len(room.records) == before
    assert room.session.phase is SessionPhase.READY


@pytest.mark.req("THR-3")
def test_expected_rise_is_labelled_not_alarmed(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.seconds(60)
    room.nibp(142, 92)  # +18 %
    last = room.session.last_reading()
    assert last is not None and last.band_class is BpClass.EXPECTED_RISE
    assert last.label == "expected rise"
    assert not [r for r in room.alarm_records() if r.condition == "bp_high"]
    assert room.session.offered_protocols == ()
    assert not room.session.prompts


@pytest.mark.req("THR-4")
@pytest.mark.req("ALM-1")
def test_spike_above_band_alarms_offers_protocol_and_prompts_remeasure(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.seconds(60)
    room.nibp(165, 100)  # +37.5 % systolic
    started = [r for r in room.alarm_records() if r.kind == "started"]
    assert [(r.condition, r.priority, r.person) for r in started] == [("bp_high", "medium", "")]
    assert "above expected" in started[0].message
    [offer] = room.session.offered_protocols
    assert offer.protocol_id == "bp-spike"
    assert [p.kind for p in room.session.prompts] == [PromptKind.CONFIRM_REMEASURE]
    assert "re-measure" in room.session.prompts[0].message
    [active] = room.session.active_alarms()
    assert active.key == "bp_high"

    # The re-measure answers the prompt; back in the band the alarm ends.
    room.session.measure_now(NURSE)
    assert room.sent == [START]
    room.seconds(40)
    room.nibp(140, 88)
    assert not room.session.prompts
    assert [r.kind for r in room.alarm_records() if r.condition == "bp_high"] == ["started", "ended"]


@pytest.mark.req("THR-4")
def test_past_own_ceiling_is_high_priority(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.nibp(185, 100)
    [started] = [r for r in room.alarm_records() if r.kind == "started"]
    assert (started.condition, started.priority) == ("bp_high", "high")


@pytest.mark.req("THR-5")
def test_threshold_change_after_lock_is_recorded(clock: FakeClock) -> None:
    room = in_infusion(clock)
    with pytest.raises(ThresholdError):
        room.session.change_threshold(ThresholdField.SYSTOLIC_CEILING, 170, " ", "Dr Okafor")
    with pytest.raises(UnnamedClinicianError):
        room.session.change_threshold(ThresholdField.SYSTOLIC_CEILING, 170, "history of stroke", "")
    room.session.change_threshold(ThresholdField.SYSTOLIC_CEILING, 170, "history of stroke", "Dr Okafor")
    [change] = room.of(ThresholdChangeRecord)
    assert isinstance(change, ThresholdChangeRecord)
    assert (change.field, change.old, change.new, change.who) == ("systolic_ceiling", 180, 170, "Dr Okafor")
    assert change.reason == "history of stroke" and change.at == clock.now()
    assert change.threshold_set_id == "s-1/thresholds/1"
    view = room.session.band_for_display()
    assert view is not None and view.thresholds is not None and view.thresholds.systolic_ceiling == 170


@pytest.mark.req("MON-2")
def test_cycles_at_the_interval_with_a_countdown(clock: FakeClock) -> None:
    room = in_infusion(clock)
    assert room.session.interval_min == 5
    countdown = room.session.seconds_to_next_nibp()
    assert countdown is not None and 0 < countdown <= 300
    room.seconds(int(countdown) - 1)
    assert room.sent == []
    room.seconds(1)
    assert room.sent == [START]
    assert room.session.seconds_to_next_nibp() == 300


@pytest.mark.req("MON-3")
def test_without_remote_start_the_clinician_is_prompted(clock: FakeClock) -> None:
    room = in_infusion(clock, remote_start=False)
    room.seconds(300)
    kinds = [p.kind for p in room.session.prompts]
    assert PromptKind.START_CYCLE in kinds
    assert room.sent == []
    room.nibp(125, 80)
    assert not room.session.prompts  # the reading answered the prompt


@pytest.mark.req("MON-3")
@pytest.mark.req("THR-6")
def test_rising_trend_shortens_then_restores_the_interval(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.cycle(125, 80)
    room.seconds(260)
    room.cycle(145, 88)  # expected rise, but 4 mmHg/min projects past the band top by the next cycle
    assert not [r for r in room.alarm_records() if r.condition == "bp_high"]
    [shortened] = room.of(NibpIntervalChangeRecord)
    assert isinstance(shortened, NibpIntervalChangeRecord)
    assert (shortened.old_interval_s, shortened.new_interval_s, shortened.who) == (300, 120, "")
    assert shortened.reason.startswith("trend: systolic rising")
    assert room.session.interval_min == 2
    room.seconds(80)
    room.cycle(146, 88)  # slower now: no longer projected past the band top
    restored = room.of(NibpIntervalChangeRecord)[-1]
    assert isinstance(restored, NibpIntervalChangeRecord)
    assert (restored.old_interval_s, restored.new_interval_s) == (120, 300)
    assert room.session.interval_min == 5


@pytest.mark.req("ALM-1")
def test_spo2_low_alarms_after_its_delay(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.seconds(9, spo2=88)
    assert not [r for r in room.alarm_records() if r.condition == "spo2_low"]
    room.seconds(2, spo2=88)
    [started] = [r for r in room.alarm_records() if r.condition == "spo2_low"]
    assert (started.kind, started.priority) == ("started", "medium")


@pytest.mark.req("ALM-3")
def test_acknowledge_and_pause_are_recorded_with_the_person(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.nibp(185, 100)
    room.session.pause_audio(NURSE)
    assert room.session.audio_paused and room.session.pause_remaining_s() == 120
    assert room.session.audio_state() is None
    room.session.acknowledge("bp_high", NURSE)
    people = [(r.kind, r.person) for r in room.alarm_records() if r.person]
    assert people == [("paused", NURSE), ("acknowledged", NURSE)]
    [paused] = [r for r in room.alarm_records() if r.kind == "paused"]
    assert paused.condition == "audio" and paused.priority == ""
    room.seconds(121)
    assert [r.kind for r in room.alarm_records()][-1] == "unpaused"


@pytest.mark.req("ALM-2")
def test_device_disconnect_is_a_technical_alarm(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.session.on_device_event(
        DeviceEvent(DeviceEventKind.DISCONNECTED, "nibp", clock.stamp(), "unplugged")
    )
    [started] = room.alarm_records()
    assert (started.kind, started.condition) == ("started", "device_disconnected")
    assert started.message.startswith("device_disconnected@nibp")


@pytest.mark.req("MON-6")
def test_cuff_error_reading_is_not_judged(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.nibp(None, None, Quality.CUFF_ERROR)
    last = room.session.last_reading()
    assert last is not None and last.band_class is None and last.label == "not judged: cuff error"
    conditions = {r.condition for r in room.alarm_records()}
    assert conditions == {"nibp_failed"}


@pytest.mark.req("DIS-1")
def test_discharge_blocked_until_attested_then_session_ends(clock: FakeClock) -> None:
    room = in_infusion(clock)
    room.session.end_infusion("Dr Okafor")
    room.seconds(60)
    room.nibp(124, 80)
    status = room.session.discharge_status()
    assert not status.allowed and len(status.unmet) == 3
    with pytest.raises(DischargeBlockedError):
        room.session.discharge_patient("Dr Okafor")
    for item in DischargeAttestation:
        room.session.attest(item, NURSE)
    assert room.session.discharge_status().allowed
    room.session.discharge_patient("Dr Okafor")
    assert [r.checklist for r in room.of(AttestationRecord)] == ["discharge"] * 3  # type: ignore[attr-defined]
    assert [(r.from_phase, r.to_phase) for r in room.of(PhaseTransitionRecord)] == [  # type: ignore[attr-defined]
        ("infusion", "recovery"),
        ("recovery", "discharged"),
    ]
    assert len(room.of(SessionEndedRecord)) == 1
    assert room.session.seconds_to_next_nibp() is None


def test_listeners_hear_every_change(clock: FakeClock) -> None:
    room = make_room(clock)
    heard: list[int] = []
    room.session.add_listener(lambda: heard.append(1))
    room.session.tick()
    room.session.on_observation(obs(clock, VitalKind.SPO2, 97))
    assert len(heard) == 2


@pytest.mark.req("ALM-2")
def test_a_storage_outage_raises_and_records_a_technical_alarm_once(clock: FakeClock) -> None:
    room = make_room(clock)
    room.session.recording_failed(True, "database or disk is full")
    room.session.recording_failed(True, "database or disk is full")  # polled every second: no repeats
    [alarm] = room.session.active_alarms()
    assert alarm.technical and alarm.title == "Recording failed"
    room.session.recording_failed(False)
    kinds = [(r.kind, r.condition) for r in room.records if isinstance(r, AlarmEventRecord)]
    assert kinds == [("started", "recording_failed"), ("ended", "recording_failed")]


@pytest.mark.req("DIS-1")
def test_a_bp_from_the_infusion_does_not_discharge(clock: FakeClock) -> None:
    """Issue 8, finding 10: a BP taken during the infusion discharged with no reading in recovery."""
    room = in_infusion(clock)
    room.nibp(124, 80)  # during the infusion
    room.seconds(30)
    room.session.end_infusion("Dr Okafor")
    for item in DischargeAttestation:
        room.session.attest(item, NURSE)
    room.seconds(60)
    assert room.session.discharge_status().unmet == (
        "no valid NIBP reading since recovery began: measure the blood pressure",
    )
    room.nibp(124, 80)
    assert room.session.discharge_status().allowed


@pytest.mark.req("DIS-1")
def test_an_unacknowledged_alarm_blocks_discharge_until_acknowledged(clock: FakeClock) -> None:
    """Issue 8, finding 10: an unacknowledged HIGH alarm did not block discharge."""
    room = in_infusion(clock)
    room.nibp(185, 100)  # past the ceiling: HIGH
    room.session.end_infusion("Dr Okafor")
    for item in DischargeAttestation:
        room.session.attest(item, NURSE)
    room.seconds(60)
    room.nibp(124, 80)  # back at baseline: the alarm ended but nobody acknowledged it
    status = room.session.discharge_status()
    assert status.unmet == ("unacknowledged alarm: BP high",)
    with pytest.raises(DischargeBlockedError, match="unacknowledged alarm: BP high"):
        room.session.discharge_patient("Dr Okafor")
    room.session.acknowledge("bp_high", NURSE)
    assert room.session.discharge_status().allowed


@pytest.mark.req("THR-7")
def test_the_floor_cannot_be_removed_and_a_low_pressure_alarms_high(clock: FakeClock) -> None:
    """Issue 8, finding 6: the floor was removed mid-infusion, after which 62/35 was silent."""
    room = in_infusion(clock)
    with pytest.raises(ThresholdError, match="cannot be removed"):
        room.session.change_threshold(ThresholdField.HYPOTENSION_FLOOR, None, "patient asleep", "Dr Okafor")
    assert not room.of(ThresholdChangeRecord)
    room.nibp(62, 35)
    [started] = [r for r in room.alarm_records() if r.kind == "started"]
    assert (started.condition, started.priority) == ("bp_low", "high")
    assert "below floor (systolic 85, mean 65)" in started.message


@pytest.mark.req("THR-7")
def test_a_fall_from_baseline_alarms_medium(clock: FakeClock) -> None:
    """Issue 8, finding 6: a fall of more than 20 % above every floor (88/60 from 120/78) was silent."""
    room = in_infusion(clock)
    room.nibp(88, 60)
    [started] = [r for r in room.alarm_records() if r.kind == "started"]
    assert (started.condition, started.priority) == ("bp_low", "medium")
    assert "fall from baseline (-27 %)" in started.message


def test_the_recorded_spo2_critical_floor_is_the_engines(clock: FakeClock) -> None:
    """Issue 8, finding 14: the SpO2 critical floor has one home in alarms/."""
    room = make_room(clock)
    chosen = room.session.confirm_thresholds(NURSE, replace(thresholds(), spo2_floor=80))
    [record] = room.of(ThresholdSetRecord)
    assert isinstance(record, ThresholdSetRecord)
    assert record.spo2_critical_floor == chosen.spo2_critical_floor(room.session.config) == 80
