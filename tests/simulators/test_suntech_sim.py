"""The simulated SunTech Advantage module against the real driver: start, timed cycle, result, errors."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest

from drivers.clock import FakeClock
from drivers.suntech import (
    ERROR_CODES,
    ModuleAck,
    SuntechAdvantageDriver,
    ack_frame,
    host_command,
)
from drivers.transports.pty_pair import PtyPair, open_pty_pair
from drivers.transports.serial import SerialLink
from drivers.types import DecodeResult, DeviceEvent, DeviceEventKind, Observation, Quality, VitalKind
from simulators.model import NibpSnapshot, VitalsSnapshot
from simulators.suntech import ERROR_REASON_CODES, SuntechAdvantageSimulator, error_code_for

WAIT_S = 5.0


def snapshot_source(
    clock: FakeClock,
    systolic: float | None = 142.0,
    diastolic: float | None = 91.0,
    mean: float | None = 108.0,
    error: str = "",
    pulse: float | None = 77.0,
    nibp: bool = True,
) -> Callable[[], VitalsSnapshot]:
    def vitals() -> VitalsSnapshot:
        reading = NibpSnapshot(systolic, diastolic, mean, clock.now(), error) if nibp else None
        return VitalsSnapshot(at=clock.now(), spo2=97.0, pulse_rate=pulse, nibp=reading)

    return vitals


def run_cycle(
    sim: SuntechAdvantageSimulator, driver: SuntechAdvantageDriver, clock: FakeClock
) -> DecodeResult:
    """Host starts, time passes, the module says 'K', the driver asks, the module answers."""
    assert sim.receive(driver.start_nibp_command()) == ack_frame(ModuleAck.RECEIVED)
    clock.advance(sim.measurement_s)
    finished = driver.feed(sim.poll(), clock.stamp())
    assert finished.replies == (driver.request_result_command(),)
    return driver.feed(sim.receive(finished.replies[0]), clock.stamp())


def by_kind(result: DecodeResult) -> dict[VitalKind, Observation]:
    return {o.kind: o for o in result.observations}


@pytest.mark.req("MON-3")
def test_started_cycle_ends_after_measurement_time_with_the_scenario_values(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, 30.0, vitals=snapshot_source(clock))
    driver = SuntechAdvantageDriver("nibp-sim")
    assert sim.receive(driver.start_nibp_command()) == ack_frame(ModuleAck.RECEIVED)
    assert sim.measuring
    clock.advance(29.9)
    assert sim.poll() == b""
    clock.advance(0.1)
    done = sim.poll()
    assert done == ack_frame(ModuleAck.EXECUTED)
    assert sim.poll() == b""  # announced once
    request = driver.feed(done, clock.stamp()).replies
    result = driver.feed(sim.receive(request[0]), clock.stamp())
    got = {kind: obs.value for kind, obs in by_kind(result).items()}
    assert got == {
        VitalKind.NIBP_SYSTOLIC: 142.0,
        VitalKind.NIBP_DIASTOLIC: 91.0,
        VitalKind.NIBP_MEAN: 108.0,
        VitalKind.PULSE_RATE: 77.0,
    }
    assert all(o.quality is Quality.VALID for o in result.observations)


@pytest.mark.req("MON-3")
def test_values_are_those_at_completion_not_at_start(clock: FakeClock) -> None:
    level = {"sys": 120.0}

    def vitals() -> VitalsSnapshot:
        reading = NibpSnapshot(level["sys"], 80.0, 93.0, clock.now())
        return VitalsSnapshot(clock.now(), 98.0, 70.0, nibp=reading)

    sim = SuntechAdvantageSimulator(clock, 20.0, vitals=vitals)
    driver = SuntechAdvantageDriver("nibp-sim")
    sim.receive(driver.start_nibp_command())
    level["sys"] = 165.0  # BP rises during the cycle
    clock.advance(20.0)
    result = driver.feed(sim.receive(driver.feed(sim.poll(), clock.stamp()).replies[0]), clock.stamp())
    assert by_kind(result)[VitalKind.NIBP_SYSTOLIC].value == 165.0


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(
    ("reason", "code"),
    [("cuff leak", 0x57), ("motion artifact", 0x02), ("cuff error", 0x57), ("cuff overpressure", 0x59)],
)
def test_scenario_cuff_error_round_trips_to_cuff_error(clock: FakeClock, reason: str, code: int) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock, None, None, None, error=reason))
    result = run_cycle(sim, SuntechAdvantageDriver("nibp-sim"), clock)
    assert [o.kind for o in result.observations] == [
        VitalKind.NIBP_SYSTOLIC,
        VitalKind.NIBP_DIASTOLIC,
        VitalKind.NIBP_MEAN,
    ]
    for obs in result.observations:
        assert obs.value is None and obs.quality is Quality.CUFF_ERROR
        assert ERROR_CODES[code] in obs.detail


@pytest.mark.req("MON-6")
def test_scenario_without_nibp_is_a_weak_signal_failure(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock, nibp=False))
    result = run_cycle(sim, SuntechAdvantageDriver("nibp-sim"), clock)
    assert {o.quality for o in result.observations} == {Quality.CUFF_ERROR}
    assert ERROR_CODES[0x01] in result.observations[0].detail


@pytest.mark.parametrize(("keyword", "code"), ERROR_REASON_CODES)
def test_every_reason_keyword_maps_to_a_documented_code(keyword: str, code: int) -> None:
    assert error_code_for(f"Cuff {keyword.upper()} seen") == code
    assert code in ERROR_CODES


def test_bad_checksum_command_is_refused_and_starts_nothing(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock))
    corrupt = bytearray(host_command(b"\x20"))
    corrupt[-1] ^= 0xFF
    assert sim.receive(bytes(corrupt)) == ack_frame(ModuleAck.NOT_ACCEPTED)
    assert not sim.measuring and sim.commands_rejected == 1
    # The module is still listening: a good command after the bad one works.
    assert sim.receive(host_command(b"\x20")) == ack_frame(ModuleAck.RECEIVED)


def test_commands_arrive_in_any_chunking(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock))
    out = b"".join(sim.receive(bytes([b])) for b in b"\x00noise" + host_command(b"\x20"))
    assert out == ack_frame(ModuleAck.RECEIVED)


def test_start_while_measuring_is_busy(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock))
    sim.receive(host_command(b"\x20"))
    assert sim.receive(host_command(b"\x87")) == ack_frame(ModuleAck.BUSY)


@pytest.mark.req("MON-3")
def test_abort_stops_the_cycle_and_the_driver_fetches_nothing(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock))
    driver = SuntechAdvantageDriver("nibp-sim")
    sim.receive(driver.start_nibp_command())
    answer = sim.receive(driver.abort_command())
    assert answer == ack_frame(ModuleAck.ABORTED) + ack_frame(ModuleAck.EXECUTED)
    assert driver.feed(answer, clock.stamp()).replies == ()
    clock.advance(60.0)
    assert sim.poll() == b"" and not sim.measuring
    assert sim.stored_result.error_code == 0x56


def test_cuff_pressure_is_reported_while_measuring(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock))
    driver = SuntechAdvantageDriver("nibp-sim")
    driver.feed(sim.receive(driver.cuff_pressure_command()), clock.stamp())
    assert driver.cuff_pressure == 0
    sim.receive(driver.start_nibp_command())
    driver.feed(sim.receive(driver.cuff_pressure_command()), clock.stamp())
    assert driver.cuff_pressure == 150


def test_unknown_and_unsimulated_commands_are_unrecognised(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock))
    assert sim.receive(host_command(b"\x55")).startswith(ack_frame(ModuleAck.UNRECOGNIZED))
    assert sim.receive(host_command(b"\x8a")) == ack_frame(ModuleAck.UNRECOGNIZED)
    assert sim.receive(host_command(b"\x20")) == ack_frame(ModuleAck.RECEIVED)


def test_result_request_before_any_cycle_gives_no_observation(clock: FakeClock) -> None:
    sim = SuntechAdvantageSimulator(clock, vitals=snapshot_source(clock))
    driver = SuntechAdvantageDriver("nibp-sim")
    result = driver.feed(sim.receive(driver.request_result_command()), clock.stamp())
    assert result.frames == 1 and result.observations == ()


def test_rejects_a_non_positive_measurement_time(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="measurement_s"):
        SuntechAdvantageSimulator(clock, 0.0, vitals=snapshot_source(clock))


class ModuleOnPty:
    """Runs the simulator on the device side of a pty, as ``bedside simulate`` would."""

    def __init__(self, sim: SuntechAdvantageSimulator, pty: PtyPair) -> None:
        self._sim, self._pty = sim, pty
        self._stop = threading.Event()
        self.started_cycle = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> ModuleOnPty:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(WAIT_S)

    def _run(self) -> None:
        while not self._stop.is_set():
            out = self._sim.receive(self._pty.read(timeout_s=0.02)) + self._sim.poll()
            if self._sim.measuring:
                self.started_cycle.set()
            if out:
                self._pty.write(out)


@pytest.fixture
def pty() -> Iterator[PtyPair]:
    pair = open_pty_pair()
    yield pair
    pair.close()


@pytest.mark.req("MON-3")
def test_end_to_end_remote_start_over_a_pty_through_the_serial_link(clock: FakeClock, pty: PtyPair) -> None:
    sim = SuntechAdvantageSimulator(clock, 30.0, vitals=snapshot_source(clock, 151.0, 97.0, 115.0))
    observations: list[Observation] = []
    connected, got = threading.Event(), threading.Event()

    def on_result(result: DecodeResult) -> None:
        observations.extend(result.observations)
        if len(observations) >= 4:
            got.set()

    def on_event(event: DeviceEvent) -> None:
        if event.kind is DeviceEventKind.CONNECTED:
            connected.set()

    driver = SuntechAdvantageDriver("nibp-bed1")
    link = SerialLink("nibp-bed1", pty.device_path, driver, clock, on_result, on_event)
    with ModuleOnPty(sim, pty) as module:
        link.start()
        try:
            assert connected.wait(WAIT_S)
            link.send(driver.start_nibp_command())
            assert module.started_cycle.wait(WAIT_S)
            assert not got.wait(0.2)  # nothing before the cycle's time has passed
            clock.advance(30.0)
            assert got.wait(WAIT_S)
        finally:
            link.stop()
    values = {o.kind: o.value for o in observations}
    assert values == {
        VitalKind.NIBP_SYSTOLIC: 151.0,
        VitalKind.NIBP_DIASTOLIC: 97.0,
        VitalKind.NIBP_MEAN: 115.0,
        VitalKind.PULSE_RATE: 77.0,
    }
    assert all(o.source == "nibp-bed1" and o.is_valid for o in observations)
