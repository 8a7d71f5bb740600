"""Hosts: exact encoder bytes on a pty at the encoder's pace (times speed), the real drivers on the
other end, MLLP with ACKs and reconnection, and the SunTech module answering a remote start."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import serial

from drivers.clock import FakeClock, SystemClock
from drivers.registry import make_driver
from drivers.suntech import SuntechAdvantageDriver
from drivers.transports.mllp import MllpListener
from drivers.types import DecodeResult, DeviceEvent, Observation, Quality, Stamp, VitalKind
from simulators.encoders import ENCODERS, UnknownEncoderError, encoder_for, encoder_protocols
from simulators.host import (
    HostNotOpenError,
    MllpClientHost,
    PtyHost,
    SuntechHost,
    ack_code,
    make_host,
    unframe_mllp,
)
from simulators.model import VitalsSnapshot
from simulators.physiology import ScenarioPlayer
from simulators.scenario import Scenario, load_scenario, parse_scenario
from simulators.suntech import SuntechAdvantageSimulator

pytestmark = pytest.mark.req("DRL-1")

READ_TIMEOUT_S = 2.0
START = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)


class CountingEncoder:
    """A tiny test protocol: ``<index> <spo2> <pulse>\\n`` (silence encodes nothing)."""

    protocol = "test-lines"

    def __init__(self, period_s: float = 0.5) -> None:
        self.period_s = period_s
        self.count = 0

    def encode(self, snapshot: VitalsSnapshot) -> bytes:
        if snapshot.silent:
            return b""
        self.count += 1
        return f"{self.count} {snapshot.spo2} {snapshot.pulse_rate} {snapshot.at:%H:%M:%S.%f}\n".encode()


def tiny(**overrides: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "tiny",
        "description": "test",
        "duration": "10m",
        "nibp": {"interval": "1m", "first_at": 0, "measurement": "30s"},
        "keyframes": [
            {"at": 0, "spo2": 98, "pulse": 70, "pi": 3.0, "systolic": 120, "diastolic": 80},
            {"at": "10m", "spo2": 90, "pulse": 110, "pi": 1.5, "systolic": 160, "diastolic": 100},
        ],
    }
    data.update(overrides)
    return parse_scenario(data, "test")


@pytest.fixture
def port_reader() -> Iterator[Callable[[str], serial.Serial]]:
    opened: list[serial.Serial] = []

    def open_port(path: str) -> serial.Serial:
        port = serial.Serial(path, baudrate=9600, timeout=0.2)
        opened.append(port)
        return port

    yield open_port
    for port in opened:
        port.close()


def read_exactly(port: serial.Serial, count: int) -> bytes:
    data = b""
    deadline = SystemClock().monotonic() + READ_TIMEOUT_S
    while len(data) < count and SystemClock().monotonic() < deadline:
        data += port.read(count - len(data))
    return data


def expected_bytes(encoder_factory: Callable[[], Any], scenario: Scenario, times: list[float]) -> bytes:
    """What the same encoder produces for the same scenario instants, computed without a host."""
    encoder = encoder_factory()
    player = ScenarioPlayer(scenario, FakeClock(start=START), start_wall=START)
    return b"".join(encoder.encode(player.snapshot_at(t)) for t in times)


def test_step_writes_exactly_the_encoded_bytes_to_the_pty(
    port_reader: Callable[[str], serial.Serial],
) -> None:
    clock = FakeClock(start=START)
    scenario = tiny()
    player = ScenarioPlayer(scenario, clock, start_wall=START)
    with PtyHost(CountingEncoder(), player, clock) as host:
        port = port_reader(host.port_path)
        assert host.step() == 1  # emission 0 is due at once
        clock.advance(1.0)
        assert host.step() == 2  # 0.5 s and 1.0 s
        clock.advance(0.4)
        assert host.step() == 0
        expected = expected_bytes(CountingEncoder, scenario, [0.0, 0.5, 1.0])
        assert read_exactly(port, len(expected)) == expected
        assert host.emissions == 3
        assert host.bytes_written == len(expected)
        assert port.read(100) == b""  # nothing more than was due


def test_speed_ten_gives_ten_times_the_emissions(port_reader: Callable[[str], serial.Serial]) -> None:
    counts = {}
    for speed in (1.0, 10.0):
        clock = FakeClock(start=START)
        player = ScenarioPlayer(tiny(), clock, speed=speed, start_wall=START)
        with PtyHost(CountingEncoder(period_s=1.0), player, clock) as host:
            port = port_reader(host.port_path)
            host.step()
            for _ in range(20):
                clock.advance(0.5)
                host.step()
            counts[speed] = host.emissions - 1  # the emission at time 0 is not per second
            lines = read_exactly(port, host.bytes_written).splitlines()
            assert len(lines) == host.emissions
    assert counts == {1.0: 10, 10.0: 100}


def test_nothing_is_written_while_the_device_is_silent(port_reader: Callable[[str], serial.Serial]) -> None:
    clock = FakeClock(start=START)
    player = ScenarioPlayer(tiny(events=[{"kind": "silence", "from": 2, "to": 5}]), clock, start_wall=START)
    with PtyHost(CountingEncoder(period_s=1.0), player, clock) as host:
        port = port_reader(host.port_path)
        for _ in range(8):
            host.step()
            clock.advance(1.0)
        lines = read_exactly(port, host.bytes_written).decode().splitlines()
    stamps = [line.split()[3][:8] for line in lines]
    assert stamps == ["09:00:00", "09:00:01", "09:00:05", "09:00:06", "09:00:07"]


def test_an_unopened_host_says_so(clock: FakeClock) -> None:
    host = PtyHost(CountingEncoder(), ScenarioPlayer(tiny(), clock), clock)
    with pytest.raises(HostNotOpenError):
        host.step()
    with pytest.raises(HostNotOpenError):
        _ = host.port_path


def test_no_reader_never_blocks_and_a_late_reader_gets_live_bytes(
    port_reader: Callable[[str], serial.Serial],
) -> None:
    clock = FakeClock(start=START)
    player = ScenarioPlayer(tiny(), clock, speed=50.0, start_wall=START)
    with PtyHost(CountingEncoder(period_s=0.02), player, clock) as host:
        for _ in range(40):  # 10000 lines (~400 kB), far more than a pty buffers, with nobody reading
            clock.advance(0.1)
            host.step()
        assert host.backlog_flushes > 0  # the stale backlog was dropped, not blocked on
        port = port_reader(host.port_path)
        clock.advance(0.1)
        host.step()
        data = read_exactly(port, 200)
        assert data, "a reader that opens late still gets bytes"
        port.close()  # the peer goes away; the host carries on
        clock.advance(0.1)
        assert host.step() > 0


def test_run_forever_paces_with_the_real_clock_and_ends_with_the_scenario(
    port_reader: Callable[[str], serial.Serial],
) -> None:
    clock = SystemClock()
    short = tiny(
        duration="3s", keyframes=[{"at": 0, "spo2": 97, "pulse": 72, "systolic": 120, "diastolic": 80}]
    )
    player = ScenarioPlayer(short, clock, speed=10.0)  # 0.3 s of real time
    with PtyHost(CountingEncoder(period_s=0.1), player, clock) as host:
        port = port_reader(host.port_path)
        stop = threading.Event()
        runner = threading.Thread(target=host.run_forever, args=(stop,))
        runner.start()
        runner.join(READ_TIMEOUT_S)
        assert not runner.is_alive()
        assert 29 <= host.emissions <= 31
        assert len(read_exactly(port, host.bytes_written).splitlines()) == host.emissions


def test_run_forever_stops_when_asked() -> None:
    clock = SystemClock()
    player = ScenarioPlayer(tiny(), clock)
    with PtyHost(CountingEncoder(), player, clock) as host:
        stop = threading.Event()
        runner = threading.Thread(target=host.run_forever, args=(stop,))
        runner.start()
        stop.set()
        runner.join(READ_TIMEOUT_S)
        assert not runner.is_alive()


def test_the_encoder_registry_covers_every_streaming_protocol() -> None:
    assert encoder_protocols() == ("hl7-pcd01", "ivy-ansar", "masimo-ascii", "nonin-df2")
    for protocol in ENCODERS:
        encoder = encoder_for(protocol)
        assert encoder.protocol == protocol
        assert encoder.period_s > 0
        assert encoder_for(protocol) is not encoder  # fresh state per link
    with pytest.raises(UnknownEncoderError, match="no simulator encoder for protocol 'philips'"):
        encoder_for("philips")


def decode_values(observations: list[Observation], kind: VitalKind) -> list[float | None]:
    return [o.value for o in observations if o.kind is kind]


@pytest.mark.parametrize("protocol", ["masimo-ascii", "nonin-df2", "ivy-ansar"])
def test_the_real_driver_reads_the_scenario_back_from_the_pty(
    protocol: str, port_reader: Callable[[str], serial.Serial]
) -> None:
    """A simulator on a pty and the real driver on the other end see the scenario's values."""
    clock = FakeClock(start=START)
    scenario = tiny(
        events=[{"kind": "probe-off", "from": 3, "to": 5}],
        nibp={"interval": "1m", "first_at": 0, "measurement": "5s"},
    )
    player = ScenarioPlayer(scenario, clock, start_wall=START)
    encoder = encoder_for(protocol)
    driver = make_driver(protocol, "sim")
    truth: list[VitalsSnapshot] = []
    with PtyHost(encoder, player, clock) as host:
        port = port_reader(host.port_path)
        for _ in range(8):
            before = host.emissions
            host.step()
            truth.extend(player.snapshot_at(i * encoder.period_s) for i in range(before, host.emissions))
            clock.advance(1.0)
        raw = read_exactly(port, host.bytes_written)
    assert len(raw) == host.bytes_written
    result = driver.feed(raw, Stamp(wall=clock.now(), mono=clock.monotonic()))
    assert result.rejections == ()
    spo2 = [o for o in result.observations if o.kind is VitalKind.SPO2]
    assert len(spo2) == len(truth)
    assert [o.value for o in spo2] == [s.spo2 for s in truth]
    assert decode_values(list(result.observations), VitalKind.PULSE_RATE) == [s.pulse_rate for s in truth]
    off = [o for o, s in zip(spo2, truth, strict=True) if s.oximeter_quality is Quality.PROBE_OFF]
    assert off and all(o.quality is Quality.PROBE_OFF and o.value is None for o in off)
    if protocol == "ivy-ansar":
        systolic = decode_values(list(result.observations), VitalKind.NIBP_SYSTOLIC)
        first_nibp = next(s.nibp for s in truth if s.nibp is not None)
        assert first_nibp is not None and systolic == [first_nibp.systolic]  # one reading, not one per frame
        assert decode_values(list(result.observations), VitalKind.NIBP_MEAN) == [first_nibp.mean]


def test_unframe_and_ack_code() -> None:
    assert unframe_mllp(b"\x0bMSH|x\r\x1c\x0d") == b"MSH|x\r"
    assert unframe_mllp(b"MSH|x\r") == b"MSH|x\r"
    assert ack_code(b"MSH|^~\\&|A\rMSA|AA|123\r") == "AA"
    assert ack_code(b"MSH|^~\\&|A\rMSA|AE|123|bad\r") == "AE"
    assert ack_code(b"MSH|^~\\&|A\r") == ""


class Collector:
    def __init__(self) -> None:
        self.results: list[DecodeResult] = []
        self.events: list[DeviceEvent] = []
        self.lock = threading.Lock()

    def on_result(self, result: DecodeResult) -> None:
        with self.lock:
            self.results.append(result)

    def on_event(self, event: DeviceEvent) -> None:
        with self.lock:
            self.events.append(event)

    def observations(self) -> list[Observation]:
        with self.lock:
            return [o for r in self.results for o in r.observations]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_mllp_host_sends_each_message_counts_acks_and_reconnects() -> None:
    clock = FakeClock(start=START)
    collector = Collector()
    port = free_port()

    def listener() -> MllpListener:
        return MllpListener(
            "hl7",
            lambda source: make_driver("hl7-pcd01", source),
            SystemClock(),
            collector.on_result,
            collector.on_event,
            port=port,
        )

    server = listener()
    server.start()
    player = ScenarioPlayer(tiny(), clock, start_wall=START)
    encoder = encoder_for("hl7-pcd01")
    host = MllpClientHost(encoder, player, clock, "127.0.0.1", port)
    try:
        assert host.open() == f"mllp://127.0.0.1:{port}"
        for _ in range(3):
            host.step()
            clock.advance(encoder.period_s)
        assert (host.sent, host.acks_accepted, host.acks_rejected) == (3, 3, 0)
        spo2 = [o.value for o in collector.observations() if o.kind is VitalKind.SPO2]
        assert spo2 == [player.snapshot_at(i * encoder.period_s).spo2 for i in range(3)]

        server.stop()  # the monitor restarts
        host.step()
        assert host.send_failures == 1 and host.sent == 3
        server = listener()
        server.start()
        clock.advance(encoder.period_s)
        host.step()
        assert host.sent == 4 and host.acks_accepted == 4  # reconnected by itself
    finally:
        host.close()
        server.stop()


class ScriptedSender:
    def __init__(self, answers: list[bytes | OSError]) -> None:
        self.answers = answers
        self.messages: list[bytes] = []
        self.closed = 0

    def send(self, message: bytes) -> bytes:
        self.messages.append(message)
        answer = self.answers.pop(0)
        if isinstance(answer, OSError):
            raise answer
        return answer

    def close(self) -> None:
        self.closed += 1


def test_mllp_host_unframes_counts_rejections_and_waits_before_retrying() -> None:
    clock = FakeClock(start=START)
    sender = ScriptedSender(
        [b"MSH|^~\\&\rMSA|AE|1\r", ConnectionRefusedError("refused"), b"MSH|^~\\&\rMSA|AA|3\r"]
    )
    encoder = encoder_for("hl7-pcd01")
    player = ScenarioPlayer(tiny(), clock, start_wall=START)
    host = MllpClientHost(encoder, player, clock, "h", 1, sender_factory=lambda h, p, c: sender)
    host.step()
    assert sender.messages[0].startswith(b"MSH|") and sender.messages[0].endswith(b"\r")  # no MLLP bytes
    assert host.acks_rejected == 1
    clock.advance(encoder.period_s)
    host.step()
    assert host.send_failures == 1 and sender.closed == 1 and "refused" in host.last_error
    clock.advance(1.0)  # inside the retry wait: nothing is tried
    host.step()
    assert len(sender.messages) == 2
    clock.advance(encoder.period_s)
    host.step()
    assert host.acks_accepted == 1 and len(sender.messages) == 3


def test_suntech_host_answers_a_remote_start_with_the_scenario_reading(
    port_reader: Callable[[str], serial.Serial],
) -> None:
    clock = FakeClock(start=START)
    events = [{"kind": "cuff-error", "cycle": 2, "reason": "cuff leak"}]
    scenario = tiny(events=events, noise={"spo2": 0, "pulse": 0, "nibp": 0, "pi": 0})
    player = ScenarioPlayer(scenario, clock, speed=2.0, start_wall=START, remote_nibp_only=True)
    device = SuntechAdvantageSimulator(clock, 30.0 / 2.0, vitals=player.measure_nibp_now)
    driver = SuntechAdvantageDriver("cuff")
    with SuntechHost(device, player, clock) as host:
        port = port_reader(host.port_path)
        port.timeout = 0.05
        observations: list[Observation] = []

        def exchange() -> None:
            # The host answers within a step; the driver's replies (fetch the result) go back.
            for _ in range(3):
                host.step(timeout_s=0.05)
                data = port.read(200)
                result = driver.feed(data, clock.stamp())
                observations.extend(result.observations)
                for reply in result.replies:
                    port.write(reply)

        for _ in range(2):
            port.write(driver.start_nibp_command())
            exchange()
            clock.advance(15.0)  # 30 s of scenario time: the cycle ends
            exchange()
    systolic = [o for o in observations if o.kind is VitalKind.NIBP_SYSTOLIC]
    assert systolic[0].value == 120 + 40 * 30 / 600  # the ramp at scenario time 30 s, when the cycle ended
    assert systolic[0].quality is Quality.VALID
    assert systolic[-1].quality is Quality.CUFF_ERROR and systolic[-1].value is None


def test_pty_paths_are_real_ttys() -> None:
    clock = FakeClock(start=START)
    with PtyHost(CountingEncoder(), ScenarioPlayer(tiny(), clock), clock) as host:
        fd = os.open(host.port_path, os.O_RDWR | os.O_NOCTTY)
        try:
            assert os.isatty(fd)
        finally:
            os.close(fd)


def test_shipped_scenarios_play_through_every_encoder() -> None:
    for protocol in encoder_protocols():
        clock = FakeClock(start=START)
        player = ScenarioPlayer(load_scenario("full-session"), clock, speed=600.0)
        encoder = encoder_for(protocol)
        for _ in range(5):
            clock.advance(1.0)
            assert encoder.encode(player.snapshot()), f"{protocol} encoded nothing"


def test_make_host_picks_the_host_each_device_needs() -> None:
    clock = FakeClock(start=START)
    scenario = load_scenario("baseline")
    hosts = {p: make_host(p, scenario, clock, speed=4.0, mllp=("127.0.0.1", 9)) for p in encoder_protocols()}
    assert (
        isinstance(hosts["hl7-pcd01"], MllpClientHost) and hosts["hl7-pcd01"].address == "mllp://127.0.0.1:9"
    )
    for protocol in ("masimo-ascii", "nonin-df2", "ivy-ansar"):
        host = hosts[protocol]
        assert isinstance(host, PtyHost) and host.encoder.protocol == protocol and host.player.speed == 4.0
    suntech = make_host("suntech-advantage", scenario, clock, speed=4.0)
    assert isinstance(suntech, SuntechHost) and suntech.player.remote_nibp_only
    clock.advance(3600)
    assert suntech.player.snapshot().nibp is None  # the module measures only when started
