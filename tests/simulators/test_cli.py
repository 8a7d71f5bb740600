"""`python -m simulators.cli`: prints the port to open, then the device's bytes arrive there."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from drivers.clock import SystemClock
from drivers.masimo import parse_masimo_line
from drivers.registry import make_driver
from drivers.transports.mllp import MllpListener
from drivers.types import DecodeResult, DeviceEvent, VitalKind
from simulators.cli import simulated_devices

pytestmark = pytest.mark.req("DRL-1")

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 10.0


def start(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "simulators.cli", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def first_line(process: subprocess.Popen[bytes]) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], WAIT_S)
    assert ready, "the simulator printed no port within the time limit"
    return process.stdout.readline().decode().strip()


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(WAIT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(WAIT_S)


def test_a_masimo_simulator_prints_its_pty_and_writes_lines_there(
    processes: list[subprocess.Popen[bytes]],
) -> None:
    process = start("--device", "masimo-ascii", "--scenario", "baseline", "--speed", "20", "--seed", "3")
    processes.append(process)
    path = first_line(process)
    assert path.startswith("/dev/")
    with serial.Serial(path, timeout=WAIT_S) as port:
        port.read_until(b"\r\n")  # the first line may have been cut when the port opened
        line = port.read_until(b"\r\n")
    reading = parse_masimo_line(line.rstrip(b"\r\n"))
    assert reading.spo2 is not None and 96 <= reading.spo2 <= 100
    process.send_signal(signal.SIGINT)  # Ctrl-C ends it cleanly
    assert process.wait(WAIT_S) == 0


def test_a_short_scenario_runs_to_its_end(processes: list[subprocess.Popen[bytes]]) -> None:
    process = start("--device", "nonin-df2", "--scenario", "probe-off", "--speed", "400")  # 8 min in 1.2 s
    processes.append(process)
    assert first_line(process).startswith("/dev/")
    assert process.wait(WAIT_S) == 0


def test_hl7_goes_to_an_mllp_listener(processes: list[subprocess.Popen[bytes]]) -> None:
    results: list[DecodeResult] = []

    def on_event(event: DeviceEvent) -> None:
        del event

    listener = MllpListener(
        "hl7", lambda source: make_driver("hl7-pcd01", source), SystemClock(), results.append, on_event
    )
    listener.start()
    try:
        process = start(
            "--device",
            "hl7-pcd01",
            "--scenario",
            "baseline",
            "--speed",
            "50",
            "--mllp",
            f"127.0.0.1:{listener.port}",
        )
        processes.append(process)
        assert first_line(process) == f"mllp://127.0.0.1:{listener.port}"
        clock = SystemClock()
        deadline = clock.monotonic() + WAIT_S
        while clock.monotonic() < deadline and not any(
            o.kind is VitalKind.SPO2 for r in list(results) for o in r.observations
        ):
            select.select([], [], [], 0.05)
        assert any(o.kind is VitalKind.SPO2 and o.value for r in list(results) for o in r.observations)
    finally:
        listener.stop()


def test_list_prints_every_scenario_with_its_description() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulators.cli", "--list"],
        cwd=ROOT,
        capture_output=True,
        timeout=WAIT_S,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    text = done.stdout.decode()
    for name in ("baseline", "bp-spike", "full-session", "device-silence"):
        assert f"\n{name}\n" in f"\n{text}"
    assert "15-30 %" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "--device is required"),
        (("--device", "masimo-ascii", "--scenario", "nope"), "no scenario named 'nope'"),
        (("--device", "masimo-ascii", "--speed", "0"), "--speed must be positive"),
        (("--device", "hl7-pcd01", "--mllp", "nowhere"), "--mllp must be HOST:PORT"),
    ],
)
def test_bad_arguments_exit_2_with_a_reason(args: tuple[str, ...], message: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "simulators.cli", *args],
        check=False,
        cwd=ROOT,
        capture_output=True,
        timeout=WAIT_S,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 2
    assert message in done.stderr.decode()


def test_every_driver_protocol_can_be_simulated() -> None:
    from drivers.registry import DRIVERS

    assert set(simulated_devices()) == set(DRIVERS)


def test_the_suntech_module_answers_a_start_on_its_pty(processes: list[subprocess.Popen[bytes]]) -> None:
    from drivers.suntech import ModuleAck, SuntechAdvantageDriver, ack_frame

    process = start("--device", "suntech-advantage", "--scenario", "baseline", "--speed", "10")
    processes.append(process)
    path = first_line(process)
    with serial.Serial(path, timeout=WAIT_S) as port:
        port.write(SuntechAdvantageDriver("cuff").start_nibp_command())
        expected = ack_frame(ModuleAck.RECEIVED)
        assert port.read(len(expected)) == expected
