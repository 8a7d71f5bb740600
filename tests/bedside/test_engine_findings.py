"""Issue 8's findings, reproduced the way they were found: device bytes through the real encoders
and drivers into the monitor's ClinicalSession on a fake clock. Each test names its requirement id
and the finding number; each failed on the engine before issue 8.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone

import pytest

from alarms import (
    AlarmPriority,
    ChecklistItem,
    ConditionId,
    ReadingClass,
    SessionPhase,
    ThresholdError,
    ThresholdField,
    ThresholdSet,
    load_config,
)
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import FakeClock
from drivers.ivy import IvyAnsarDriver
from drivers.masimo import MasimoAsciiDriver
from drivers.types import Observation, Quality, Stamp, VitalKind
from simulators.encoders.ivy import IvyAnsarEncoder
from simulators.encoders.masimo import MasimoAsciiEncoder
from simulators.model import VitalsSnapshot
from tests.alarms.helpers import nibp_obs, obs

NURSE = "RN Diaz"


@dataclass
class Bed:
    """A ClinicalSession fed through real drivers; one oximeter line and one tick a second."""

    clock: FakeClock
    session: ClinicalSession
    records: list[object] = field(default_factory=list)
    masimo: MasimoAsciiDriver = field(default_factory=lambda: MasimoAsciiDriver("masimo-1"))
    masimo_out: MasimoAsciiEncoder = field(default_factory=MasimoAsciiEncoder)
    ivy: IvyAnsarDriver = field(default_factory=lambda: IvyAnsarDriver("ivy-1"))
    ivy_out: IvyAnsarEncoder = field(default_factory=IvyAnsarEncoder)

    def feed(self, observations: tuple[Observation, ...] | list[Observation]) -> None:
        for o in observations:
            self.session.on_observation(o)

    def masimo_second(
        self, spo2: float, pulse: float = 72, quality: Quality = Quality.VALID, device_ahead_s: float = 0
    ) -> None:
        """One Masimo line for this second (device clock ``device_ahead_s`` ahead), then a tick."""
        self.clock.advance(1)
        at = self.clock.now() + timedelta(seconds=device_ahead_s)
        line = self.masimo_out.encode(VitalsSnapshot(at, spo2, pulse, None, 2.0, quality))
        stamp = Stamp(self.clock.now(), self.clock.monotonic())
        self.feed(self.masimo.feed(line, stamp).observations)
        self.session.tick()

    def ivy_second(self, heart_rate: float | None, pulse_rate: float, spo2: float = 98) -> None:
        """One Ivy frame (ECG heart rate and oximeter pulse rate from one monitor), then a tick."""
        self.clock.advance(1)
        frame = self.ivy_out.encode(VitalsSnapshot(self.clock.now(), spo2, pulse_rate, heart_rate))
        stamp = Stamp(self.clock.now(), self.clock.monotonic())
        self.feed(self.ivy.feed(frame, stamp).observations)
        self.session.tick()

    def nibp(self, systolic: float, diastolic: float, mean: float | None = None) -> None:
        if mean is None:
            mean = round((systolic + 2 * diastolic) / 3)
        self.feed(nibp_obs(self.clock, systolic, diastolic, mean))

    def quiet(self, seconds: int, spo2: float = 98, pulse: float = 72) -> None:
        for _ in range(seconds):
            self.masimo_second(spo2, pulse)

    def active(self, condition: ConditionId) -> list[AlarmPriority]:
        return [a.priority for a in self.session.active_alarms() if a.condition is condition and a.present]


def thresholds() -> ThresholdSet:
    return ThresholdSet.clinic_default(load_config())


def make_bed(clock: FakeClock) -> Bed:
    bed = Bed(clock, None)  # type: ignore[arg-type]  # the record sink needs the bed first
    bed.session = ClinicalSession(
        clock,
        load_config(),
        session_id="s-1",
        record=bed.records.append,
        nibp_link_send=None,
        nibp_start_command=None,
    )
    return bed


def infusion_bed(clock: FakeClock, systolic: float = 120, diastolic: float = 80) -> Bed:
    """Baseline ``systolic/diastolic`` (two readings 3 min apart), default thresholds, infusion."""
    bed = make_bed(clock)
    bed.session.begin_baseline(NURSE)
    bed.quiet(10)
    bed.nibp(systolic, diastolic)
    bed.quiet(180)
    bed.nibp(systolic, diastolic)
    bed.session.confirm_baseline(NURSE)
    bed.session.confirm_thresholds(NURSE, thresholds())
    for item in ChecklistItem:
        bed.session.attest(item, NURSE)
    bed.session.start_infusion("Dr Okafor")
    bed.quiet(5)
    return bed


@pytest.mark.req("ALM-4")
def test_finding_1_flagged_lines_do_not_silence_a_desaturation(clock: FakeClock) -> None:
    """Finding 1: SpO2 80 % with one Masimo line in six flagged low perfusion alarms HIGH within
    its 10 s delay (plus one line), as clean lines do."""
    bed = infusion_bed(clock)
    for second in range(11):
        flagged = second % 6 == 5
        bed.masimo_second(80, quality=Quality.LOW_PERFUSION if flagged else Quality.VALID)
    assert bed.active(ConditionId.SPO2_LOW) == [AlarmPriority.HIGH]


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize("ahead_s", [6, 3600, -3600, 2 * 3600])
def test_finding_2_a_device_clock_off_never_stops_judgement(clock: FakeClock, ahead_s: float) -> None:
    """Finding 2: a Masimo whose clock is 6 s ahead (or an hour off: a zone read wrongly) sending
    SpO2 85 % for 35 s still raises SpO2 low; the skew is a technical alarm besides."""
    bed = infusion_bed(clock)
    for _ in range(35):
        bed.masimo_second(85, device_ahead_s=ahead_s)
    assert bed.active(ConditionId.SPO2_LOW) == [AlarmPriority.MEDIUM]
    assert bed.active(ConditionId.CLOCK_IMPLAUSIBLE)


@pytest.mark.req("ALM-4")
def test_finding_2_a_device_clock_in_another_zone_through_the_driver(clock: FakeClock) -> None:
    """Finding 2: a Masimo set to UTC+2 read as UTC (2 h in the future) still alarms."""
    bed = infusion_bed(clock)
    bed.masimo_out = MasimoAsciiEncoder(device_tz=timezone(timedelta(hours=2)))
    bed.masimo = MasimoAsciiDriver("masimo-1", device_tz=UTC)
    for _ in range(15):
        bed.masimo_second(80)
    assert bed.active(ConditionId.SPO2_LOW) == [AlarmPriority.HIGH]


@pytest.mark.req("MON-7")
def test_finding_3_heart_rate_38_is_not_masked_by_pulse_rate_76(clock: FakeClock) -> None:
    """Finding 3: HR 38 interleaved with PR 76 from one monitor alarms on heart rate."""
    bed = infusion_bed(clock)
    for _ in range(12):
        bed.ivy_second(heart_rate=38, pulse_rate=76)
    assert bed.active(ConditionId.HR_LOW)
    assert not bed.active(ConditionId.PULSE_LOW)


@pytest.mark.req("MON-7")
def test_finding_3_a_pulse_deficit_is_shown(clock: FakeClock) -> None:
    """Finding 3: HR 150 with PR 96 (atrial fibrillation's pulse deficit) alarms on heart rate and,
    once sustained, shows the HR-PR difference."""
    bed = infusion_bed(clock)
    for _ in range(40):
        bed.ivy_second(heart_rate=150, pulse_rate=96)
    assert bed.active(ConditionId.HR_HIGH)
    assert bed.active(ConditionId.PULSE_DEFICIT)


@pytest.mark.req("THR-4")
@pytest.mark.req("THR-7")
def test_finding_5_a_label_never_contradicts_the_alarm(clock: FakeClock) -> None:
    """Finding 5: 152/90 past a 150/95 ceiling is not "expected rise"; 70/40 is not "at baseline"."""
    bed = infusion_bed(clock)
    bed.session.change_threshold(ThresholdField.SYSTOLIC_CEILING, 150, "cardiology advice", NURSE)
    bed.nibp(152, 90)
    last = bed.session.last_reading()
    assert last is not None and last.label != "expected rise"
    assert bed.active(ConditionId.BP_HIGH) == [AlarmPriority.HIGH]
    bed.quiet(60)
    bed.nibp(70, 40)
    last = bed.session.last_reading()
    assert last is not None and last.label not in ("at baseline", "expected rise")
    assert bed.active(ConditionId.BP_LOW)


@pytest.mark.req("THR-7")
def test_finding_6_a_27_percent_fall_alarms_and_floors_cannot_be_removed(clock: FakeClock) -> None:
    """Finding 6: 88/45 from a 120/80 baseline (a 27 % fall) alarms; the floor cannot be removed;
    62/35 is below the floors and is urgent."""
    bed = infusion_bed(clock)
    bed.nibp(88, 45)
    assert bed.active(ConditionId.BP_LOW)
    with pytest.raises(ThresholdError):
        bed.session.change_threshold(ThresholdField.HYPOTENSION_FLOOR, None, "annoying", NURSE)
    bed.quiet(60)
    bed.nibp(62, 35)
    assert bed.active(ConditionId.BP_LOW) == [AlarmPriority.HIGH]


@pytest.mark.req("THR-8")
def test_finding_7_readings_before_the_baseline_are_judged(clock: FakeClock) -> None:
    """Finding 7: 215/125 before the infusion alarms at once and does not become the baseline."""
    bed = make_bed(clock)
    bed.session.begin_baseline(NURSE)
    bed.quiet(5)
    bed.nibp(215, 125)
    assert bed.active(ConditionId.BP_HIGH) == [AlarmPriority.HIGH]
    last = bed.session.last_reading()
    assert last is not None and last.reading_class is ReadingClass.PAST_CEILING
    bed.quiet(180)
    bed.nibp(214, 124)
    with pytest.raises(ValueError, match=r"(?i)limit|ceiling"):
        bed.session.confirm_baseline(NURSE)
    assert bed.session.phase is SessionPhase.BASELINE


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(("rate", "priority"), [(21, AlarmPriority.HIGH), (250, AlarmPriority.HIGH)])
def test_finding_8_extreme_pulse_is_urgent(clock: FakeClock, rate: float, priority: AlarmPriority) -> None:
    """Finding 8: a pulse of 21/min or 250/min is a HIGH alarm, not MEDIUM."""
    bed = infusion_bed(clock)
    for _ in range(12):
        bed.masimo_second(97, pulse=rate)
    assert priority in bed.active(ConditionId.PULSE_LOW) + bed.active(ConditionId.PULSE_HIGH)


@pytest.mark.req("ALM-4")
def test_finding_8_a_pulse_of_19_is_judged_not_dismissed(clock: FakeClock) -> None:
    """Finding 8: 19/min is judged (HIGH pulse low), not a LOW "implausible" notice."""
    bed = infusion_bed(clock)
    for _ in range(12):
        bed.session.on_observation(obs(clock, VitalKind.PULSE_RATE, 19, source="masimo-1"))
        bed.masimo_second(97, pulse=19)
    assert bed.active(ConditionId.PULSE_LOW) == [AlarmPriority.HIGH]
    assert not bed.active(ConditionId.DATA_IMPLAUSIBLE)


@pytest.mark.req("ALM-3")
def test_finding_9_a_latched_alarm_that_returns_during_a_pause_sounds(clock: FakeClock) -> None:
    """Finding 9: SpO2 78 % clears (HIGH, latched), audio is paused, a second desaturation sounds."""
    bed = infusion_bed(clock)
    bed.quiet(12, spo2=78)
    bed.quiet(12, spo2=97)
    [latched] = [a for a in bed.session.active_alarms() if a.condition is ConditionId.SPO2_LOW]
    assert latched.latched
    bed.session.pause_audio(NURSE)
    bed.quiet(12, spo2=78)
    assert bed.session.audio_state() is AlarmPriority.HIGH


def offering_bed(clock: FakeClock) -> Bed:
    """An infusion bed whose session offers the shipped library's protocols for its alarms."""
    from protocols import LIBRARY_DIR, load_library

    library = load_library(LIBRARY_DIR, today=clock.now().date())
    bed = make_bed(clock)
    bed.session = ClinicalSession(
        clock,
        load_config(),
        session_id="s-1",
        record=bed.records.append,
        nibp_link_send=None,
        nibp_start_command=None,
        protocols_for=lambda condition: [p.id for p in library.offered_for(condition)],
    )
    bed.session.begin_baseline(NURSE)
    bed.quiet(10)
    bed.nibp(120, 80)
    bed.quiet(180)
    bed.nibp(121, 79)
    bed.session.confirm_baseline(NURSE)
    bed.session.confirm_thresholds(NURSE, thresholds())
    for item in ChecklistItem:
        bed.session.attest(item, NURSE)
    bed.session.start_infusion("Dr Okafor")
    return bed


@pytest.mark.req("PRO-8")
@pytest.mark.parametrize(
    ("spo2", "pulse", "protocol"),
    [(83, 72, "respiratory-depression"), (97, 41, "cardiac-arrhythmia"), (97, 150, "cardiac-arrhythmia")],
)
def test_finding_11_every_alarm_with_a_tree_offers_it(
    clock: FakeClock, spo2: float, pulse: float, protocol: str
) -> None:
    """Finding 11: SpO2 83 % and pulse 41 offered nothing; now the written tree is offered."""
    bed = offering_bed(clock)
    bed.quiet(12, spo2=spo2, pulse=pulse)
    assert protocol in [o.protocol_id for o in bed.session.offered_protocols]


@pytest.mark.req("PRO-8")
def test_finding_11_a_bp_spike_still_offers_its_tree(clock: FakeClock) -> None:
    """PRO-2 / PRO-8: a reading above the band offers bp-spike."""
    bed = offering_bed(clock)
    bed.nibp(175, 100)
    assert "bp-spike" in [o.protocol_id for o in bed.session.offered_protocols]


@pytest.mark.req("ALM-5")
def test_finding_13_unavailable_audio_is_a_technical_alarm(clock: FakeClock) -> None:
    """Finding 13: no audio device is an alarm on screen, not a log line."""
    bed = infusion_bed(clock)
    bed.session.audio_failed(True, "QSoundEffect: playback not supported")
    assert bed.active(ConditionId.AUDIO_UNAVAILABLE)
    bed.session.audio_failed(False, "")
    assert not bed.active(ConditionId.AUDIO_UNAVAILABLE)


def attest_discharge(bed: Bed) -> None:
    from alarms import DischargeAttestation

    for item in DischargeAttestation:
        bed.session.attest(item, NURSE)


@pytest.mark.req("DIS-1")
def test_finding_10_discharge_needs_a_bp_taken_in_recovery(clock: FakeClock) -> None:
    """Finding 10: a BP taken during the infusion does not discharge the patient."""
    bed = infusion_bed(clock)
    bed.quiet(30)
    bed.nibp(121, 80)
    bed.quiet(30)
    bed.session.end_infusion(NURSE)
    attest_discharge(bed)
    bed.quiet(30)
    status = bed.session.discharge_status()
    assert not status.allowed
    assert any("recovery" in reason for reason in status.unmet)
    bed.nibp(119, 79)
    bed.quiet(2)
    assert bed.session.discharge_status().allowed, bed.session.discharge_status().unmet


@pytest.mark.req("DIS-1")
def test_finding_10_an_unacknowledged_high_alarm_blocks_discharge(clock: FakeClock) -> None:
    """Finding 10: a latched HIGH alarm nobody acknowledged blocks discharge, by name."""
    bed = infusion_bed(clock)
    bed.session.end_infusion(NURSE)
    bed.quiet(12, spo2=78)
    bed.quiet(12)
    bed.nibp(120, 80)
    attest_discharge(bed)
    status = bed.session.discharge_status()
    assert not status.allowed
    assert any("SpO2" in reason for reason in status.unmet)
    [alarm] = [a for a in bed.session.active_alarms() if a.condition is ConditionId.SPO2_LOW]
    bed.session.acknowledge(alarm.key, NURSE)
    assert bed.session.discharge_status().allowed, bed.session.discharge_status().unmet


@pytest.mark.req("DIS-1")
def test_finding_10_a_baseline_without_pulse_blocks_the_pulse_check(clock: FakeClock) -> None:
    """Finding 10: with no pulse in the baseline the pulse check is not skipped: it blocks."""
    bed = make_bed(clock)
    bed.session.begin_baseline(NURSE)
    clock.advance(10)
    bed.nibp(120, 80)
    clock.advance(180)
    bed.nibp(121, 79)
    bed.session.confirm_baseline(NURSE)
    bed.session.confirm_thresholds(NURSE, thresholds())
    for item in ChecklistItem:
        bed.session.attest(item, NURSE)
    bed.session.start_infusion(NURSE)
    bed.session.end_infusion(NURSE)
    bed.quiet(5, pulse=140)
    bed.nibp(120, 80)
    attest_discharge(bed)
    status = bed.session.discharge_status()
    assert not status.allowed
    assert any("pulse" in reason for reason in status.unmet)


@pytest.mark.req("THR-6")
def test_finding_12_a_projected_crossing_is_recorded_at_any_interval(clock: FakeClock) -> None:
    """Finding 12: at a 2-minute interval a rising series projected past the band top before the
    next cycle is flagged with its reason and recorded, not only used to shorten the interval."""
    bed = infusion_bed(clock)
    sent: list[bytes] = []
    bed.session = ClinicalSession(
        clock,
        load_config(),
        session_id="s-2",
        record=bed.records.append,
        nibp_link_send=sent.append,
        nibp_start_command=b"START",
    )
    bed.session.begin_baseline(NURSE)
    bed.nibp(120, 80)
    bed.quiet(180)
    bed.nibp(120, 80)
    bed.session.confirm_baseline(NURSE)
    bed.session.confirm_thresholds(NURSE, thresholds())
    for item in ChecklistItem:
        bed.session.attest(item, NURSE)
    bed.session.start_infusion(NURSE)
    bed.session.set_interval(2, NURSE)
    for systolic in (140, 147, 154):
        bed.session.measure_now(NURSE)  # the cuff inflates now; its result comes 40 s later
        bed.quiet(40)
        bed.nibp(systolic, 85)
        bed.quiet(60)
    assert bed.session.interval_min == 2
    flag = bed.session.trend_flag
    assert flag is not None and "rising" in flag and "projected" in flag and "band top 156" in flag
    notes = [r for r in bed.records if "BP trend" in str(getattr(r, "text", ""))]
    assert notes and "projected" in notes[-1].text  # type: ignore[attr-defined]


@pytest.mark.req("PRO-1")
def test_finding_15_a_bad_clinic_config_stops_the_monitor_with_one_sentence(tmp_path: object) -> None:
    """Finding 15: a deeply nested clinic config ended in a RecursionError traceback at start-up;
    now the monitor refuses it with file:line and one sentence, exit 2, before opening anything."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    bad = tmp_path / "clinic.yaml"
    bad.write_text("a: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run(
        [sys.executable, "-m", "bedside.cli", "monitor", "--clinic-config", str(bad),
         "--db", f"sqlite:///{tmp_path / 'x.sqlite3'}"],
        check=False, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{bad}:1:" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.sqlite3").exists()
