"""A whole accelerated ketamine session through the real path (THR-1..6, MON-2, MON-3, ALM-1).

The shipped ``bp-spike`` scenario plays on a fake clock. A Masimo Rad-8 encoder writes its ASCII
lines to one pty and a simulated SunTech Advantage module answers on another; real ``SerialLink``
threads read both through the real drivers into a ``MonitorCore``, whose ``pump`` feeds the
``ClinicalSession``. The session starts each NIBP cycle by sending the driver's start command
down the link. Each fake second the hosts step, the test waits (bounded, real time) until the
bytes due have arrived, then ticks, so the run is deterministic however fast the machine is.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from alarms import BpClass, ChecklistItem, SessionPhase, ThresholdSet, load_config
from bedside.monitor.core import MonitorCore
from bedside.workflow.clinical import ClinicalSession, PromptKind
from drivers.clock import FakeClock, SystemClock
from drivers.masimo import MasimoAsciiDriver
from drivers.suntech import SuntechAdvantageDriver
from drivers.transports.serial import SerialLink
from drivers.types import DeviceEvent, DeviceEventKind, Observation, VitalKind
from simulators.encoders.masimo import MasimoAsciiEncoder
from simulators.host import PtyHost, SuntechHost
from simulators.physiology import ScenarioPlayer
from simulators.scenario import Scenario
from simulators.suntech import SuntechAdvantageSimulator
from storage import AlarmEventRecord, NibpIntervalChangeRecord, PhaseTransitionRecord

NURSE = "RN Diaz"
DOCTOR = "Dr Okafor"
#: Real seconds one fake second may take to arrive through the ptys before the test gives up.
SETTLE_S = 2.0

#: The shipped bp-spike scenario climbs straight through the band between two 5-min cycles, so this
#: one holds the expected rise long enough to be measured before the spike (all times in seconds).
KETAMINE_SESSION = Scenario.model_validate(
    {
        "name": "ketamine-e2e",
        "description": "baseline, expected +18 % rise, spike past +30 %, recovery",
        "seed": 3,
        "duration": 45 * 60,
        "nibp": {"interval": None},
        "keyframes": [
            {"at": 0, "spo2": 98, "pulse": 72, "pi": 3.5, "systolic": 120, "diastolic": 78},
            {"at": 8 * 60, "spo2": 98, "pulse": 72, "pi": 3.5, "systolic": 120, "diastolic": 78},
            {"at": 14 * 60, "spo2": 97, "pulse": 80, "pi": 3.1, "systolic": 142, "diastolic": 92},
            {"at": 20 * 60, "spo2": 97, "pulse": 82, "pi": 3.0, "systolic": 144, "diastolic": 93},
            {"at": 24 * 60, "spo2": 97, "pulse": 100, "pi": 2.4, "systolic": 175, "diastolic": 108},
            {"at": 27 * 60, "spo2": 97, "pulse": 98, "pi": 2.4, "systolic": 175, "diastolic": 108},
            {"at": 33 * 60, "spo2": 97, "pulse": 84, "pi": 2.9, "systolic": 140, "diastolic": 90},
            {"at": 40 * 60, "spo2": 98, "pulse": 74, "pi": 3.4, "systolic": 122, "diastolic": 80},
        ],
    }
)


@dataclass
class Bench:
    """The simulated room: devices on ptys, links, core and clinical session on one fake clock."""

    clock: FakeClock
    masimo: PtyHost
    module: SuntechAdvantageSimulator
    suntech: SuntechHost
    core: MonitorCore
    clinical: ClinicalSession
    result_request_len: int
    records: list[object] = field(default_factory=list)
    spo2_seen: int = 0
    nibp_seen: int = 0
    nibp_expected: int = 0
    command_bytes_expected: int = 0
    connected: set[str] = field(default_factory=set)
    real: SystemClock = field(default_factory=SystemClock)

    def count(self, obs: Observation) -> None:
        if obs.source == "oximeter" and obs.kind is VitalKind.SPO2:
            self.spo2_seen += 1
        elif obs.source == "nibp" and obs.kind is VitalKind.NIBP_SYSTOLIC:
            self.nibp_seen += 1

    def link_event(self, event: DeviceEvent) -> None:
        if event.kind is DeviceEventKind.CONNECTED:
            self.connected.add(event.source)

    def sent(self, nbytes: int) -> None:
        self.command_bytes_expected += nbytes

    def settled(self) -> bool:
        return (
            self.spo2_seen >= self.masimo.emissions
            and self.suntech.bytes_read >= self.command_bytes_expected
            and self.nibp_seen >= self.nibp_expected
        )

    def settle(self) -> None:
        """Step the module and pump the core until everything due by now has arrived."""
        deadline = self.real.monotonic() + SETTLE_S
        while True:
            was_measuring = self.module.measuring
            self.suntech.step(timeout_s=0.001)
            if was_measuring and not self.module.measuring:
                # 'K' went out: the driver asks for the result, the module answers with a reading.
                self.command_bytes_expected += self.result_request_len
                self.nibp_expected += 1
            self.core.pump()
            if self.settled():
                return
            if self.real.monotonic() > deadline:
                pytest.fail(
                    f"bytes did not arrive within {SETTLE_S} s: "
                    f"spo2 {self.spo2_seen}/{self.masimo.emissions}, "
                    f"command bytes {self.suntech.bytes_read}/{self.command_bytes_expected}, "
                    f"nibp {self.nibp_seen}/{self.nibp_expected}"
                )

    def second(self) -> None:
        """One fake second of the session."""
        self.clock.advance(1)
        self.masimo.step()
        self.settle()
        self.clinical.tick()

    def run_until(self, minute: float) -> None:
        while self.elapsed_s() < minute * 60:
            self.second()

    def elapsed_s(self) -> float:
        return self.masimo.player.scenario_time()

    def alarm_sequence(self) -> list[tuple[str, str, str]]:
        return [(r.kind, r.condition, r.priority) for r in self.records if isinstance(r, AlarmEventRecord)]


@pytest.fixture
def bench() -> Iterator[Bench]:
    clock = FakeClock()
    scenario = KETAMINE_SESSION
    player = ScenarioPlayer(scenario, clock)
    # The SunTech module measures only when started; it reads the same patient's physiology.
    nibp_player = ScenarioPlayer(scenario, clock, remote_nibp_only=True)
    masimo = PtyHost(MasimoAsciiEncoder(), player, clock)
    module = SuntechAdvantageSimulator(clock, 30.0, vitals=nibp_player.measure_nibp_now)
    suntech = SuntechHost(module, nibp_player, clock)
    masimo.open()
    suntech.open()
    core = MonitorCore(clock)
    nibp_driver = SuntechAdvantageDriver("nibp")
    oximeter = SerialLink(
        "oximeter", masimo.port_path, MasimoAsciiDriver("oximeter"), clock, core.on_result, core.on_event
    )
    # The module speaks only when asked, so its silence is no fault (the core's tick is not run here).
    cuff = SerialLink(
        "nibp", suntech.port_path, nibp_driver, clock, core.on_result, core.on_event, silence_after_s=3600
    )
    records: list[object] = []
    holder: list[Bench] = []

    def send(data: bytes) -> None:
        holder[0].sent(len(data))
        cuff.send(data)

    clinical = ClinicalSession(
        clock,
        load_config(),
        session_id="e2e",
        record=records.append,
        nibp_link_send=send,
        nibp_start_command=nibp_driver.start_nibp_command(),
    )
    b = Bench(
        clock, masimo, module, suntech, core, clinical, len(nibp_driver.request_result_command()), records
    )
    holder.append(b)
    core.subscribe(on_observation=b.count, on_event=b.link_event)
    core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
    core.add_link(oximeter)
    core.add_link(cuff)
    core.start()
    try:
        deadline = b.real.monotonic() + SETTLE_S
        while b.connected != {"oximeter", "nibp"}:
            core.pump()
            assert b.real.monotonic() < deadline, "links did not connect to the ptys"
            suntech.step(timeout_s=0.01)
        yield b
    finally:
        core.stop()
        masimo.close()
        suntech.close()


@pytest.mark.req("THR-1")
@pytest.mark.req("THR-3")
@pytest.mark.req("THR-4")
@pytest.mark.req("MON-3")
@pytest.mark.req("ALM-1")
@pytest.mark.timeout(120)
def test_ketamine_session_alarm_sequence(bench: Bench) -> None:
    clinical = bench.clinical
    bench.second()
    clinical.begin_baseline(NURSE)  # first cycle now, then every 5 min
    bench.run_until(5.75)  # readings at about 0:31 and 5:31
    baseline = clinical.confirm_baseline(NURSE)
    assert 115 <= baseline.systolic <= 125 and 74 <= baseline.diastolic <= 82
    # Ceilings above the scenario's peak: the spike alarms because it leaves the band (THR-4).
    clinical.confirm_thresholds(NURSE, ThresholdSet(200, 125, 90, 45, 130, 85, 65, 20, 20))
    for item in ChecklistItem:
        clinical.attest(item, NURSE)
    clinical.start_infusion(DOCTOR)
    assert clinical.phase is SessionPhase.INFUSION

    first_above: float | None = None
    remeasures = 0
    while bench.elapsed_s() < 40 * 60:
        bench.second()
        last = clinical.last_reading()
        if first_above is None and last is not None and last.band_class is BpClass.ABOVE_EXPECTED:
            first_above = bench.elapsed_s()
        if any(p.kind is PromptKind.CONFIRM_REMEASURE for p in clinical.prompts):
            # PRO-2's recheck: the clinician answers the first prompt with a re-measure; later
            # ones are seen and left to the shortened cycle.
            if remeasures == 0:
                clinical.measure_now(NURSE)
            else:
                clinical.dismiss_prompt(PromptKind.CONFIRM_REMEASURE)
            remeasures += 1
    clinical.end_infusion(DOCTOR)

    judged = [r for r in clinical.readings() if r.band_class is not None]
    infusion = [r.band_class for r in judged]
    # THR-3: the expected rise came first and raised no alarm; then the spike; then back.
    assert BpClass.EXPECTED_RISE in infusion[: infusion.index(BpClass.ABOVE_EXPECTED)]
    assert infusion[-1] is not BpClass.ABOVE_EXPECTED
    assert first_above is not None

    assert bench.alarm_sequence() == [
        ("started", "bp_high", "medium"),
        ("ended", "bp_high", "medium"),
    ]
    started, ended = [r for r in bench.records if isinstance(r, AlarmEventRecord)]
    assert isinstance(started, AlarmEventRecord) and isinstance(ended, AlarmEventRecord)
    assert "above expected" in started.message
    # The alarm starts with the first reading above the band and ends with the first back inside.
    above = [r.reading.measured_at for r in judged if r.band_class is BpClass.ABOVE_EXPECTED]
    back = [r.reading.measured_at for r in judged if r.reading.measured_at > above[-1]]
    assert started.at == above[0] and ended.at == back[0]

    # THR-4: the protocol was offered and the re-measure prompted at the spike.
    assert clinical.offered_protocols and clinical.offered_protocols[0].protocol_id == "bp-spike"
    assert clinical.offered_protocols[0].at == started.at
    assert remeasures >= 1
    # MON-3: the rising trend shortened the interval before or at the spike; it came back after.
    changes = [r for r in bench.records if isinstance(r, NibpIntervalChangeRecord)]
    assert (changes[0].old_interval_s, changes[0].new_interval_s) == (300, 120)
    assert changes[0].at <= started.at
    assert all({c.old_interval_s, c.new_interval_s} == {120, 300} for c in changes)
    assert clinical.interval_min == 5
    phases = [r.to_phase for r in bench.records if isinstance(r, PhaseTransitionRecord)]
    assert phases == ["baseline", "ready", "infusion", "recovery"]
