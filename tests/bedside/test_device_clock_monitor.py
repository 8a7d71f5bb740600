"""`bedside monitor --device-clock` and the clock offset each link shows (ALM-4).

Finding 2 of issue 8: a device clock ahead of the PC, or in another zone. Each device gets a clock
setting; the offset learned from its first samples is kept in ``LinkHealth`` and logged once.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bedside.app.build import DeviceSpec, DeviceSpecError, build_monitor, parse_device_clocks
from bedside.cli.main import main
from bedside.monitor.core import MonitorCore
from drivers.clock import FakeClock
from drivers.device_clock import DeviceClockSetting
from drivers.masimo import MasimoAsciiDriver
from drivers.transports.serial import SerialLink


def line(at: datetime) -> bytes:
    return f"{at:%m/%d/%y %H:%M:%S} SN=1 SPO2=097% BPM=072 PI=02.15% ALARM=0000 EXC=000800\r\n".encode()


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(("ahead_s", "implausible"), [(6.0, True), (-3600.0, True), (-1.0, False)])
def test_core_learns_and_logs_each_links_clock_offset(
    ahead_s: float, implausible: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Finding 2: a Masimo 6 s ahead is shown and logged as such; so is one an hour behind."""
    clock = FakeClock(start=datetime(2026, 11, 23, 9, 0, 0, 500000, tzinfo=UTC))
    core = MonitorCore(clock, clock_tolerance_s=5.0)
    driver = MasimoAsciiDriver("sim-masimo-ascii-1")
    sink = core.result_sink("sim-masimo-ascii-1")
    caplog.set_level(logging.INFO, logger="bedside.monitor.core")
    for _ in range(200):
        device_time = (clock.now() + timedelta(seconds=ahead_s)).replace(microsecond=0)
        sink(driver.feed(line(device_time), clock.stamp()))
        core.pump()
        clock.advance(1.0)
    health = core.health["sim-masimo-ascii-1"]
    # Device times are whole seconds and the PC's are half past: the device looks 0.5 s further behind.
    assert health.clock_offset_s == pytest.approx(ahead_s - 0.5)
    assert health.clock_implausible is implausible
    said = [r.getMessage() for r in caplog.records if "clock is" in r.getMessage()]
    assert len(said) == 1  # logged once, when learned
    if ahead_s == 6.0:
        assert said[0].startswith("sim-masimo-ascii-1 clock is 5.5 s ahead of this PC")
        assert caplog.records[-1].levelno == logging.WARNING


def test_a_device_without_a_clock_shows_no_offset() -> None:
    clock = FakeClock()
    core = MonitorCore(clock)
    driver = MasimoAsciiDriver("m", use_device_time=False)
    for _ in range(100):
        core.on_result(driver.feed(line(datetime(2031, 1, 1)), clock.stamp()), "m")
        core.pump()
        clock.advance(1.0)
    assert core.health["m"].clock_offset_s is None
    assert core.health["m"].clock_implausible is False


@pytest.mark.req("ALM-4")
def test_device_clock_arguments_by_protocol_and_by_device_name() -> None:
    clocks = parse_device_clocks(
        ["masimo-ascii=Europe/Berlin", "hl7-pcd01-2=+02:00", "sim-masimo-ascii-1=arrival"]
    )
    assert str(clocks["masimo-ascii"]) == "Europe/Berlin"
    assert str(clocks["hl7-pcd01-2"]) == "+02:00"
    assert clocks["sim-masimo-ascii-1"].uses_arrival


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("masimo-ascii=Europe/Berlni", "is not a time zone"),
        ("masimo-ascii", "write DEVICE=SETTING"),
        ("pulse-ox=UTC", "neither a protocol nor a device name"),
        ("nonin-df2=Europe/Berlin", "carry no device time"),
        ("ivy-ansar-1=UTC", "carry no device time"),
    ],
)
def test_bad_device_clock_arguments_are_refused(text: str, words: str) -> None:
    with pytest.raises(DeviceSpecError, match=words) as caught:
        parse_device_clocks([text])
    assert "\n" not in str(caught.value)


@pytest.mark.req("ALM-4")
def test_build_monitor_gives_each_driver_its_clock_setting() -> None:
    """The device's own name wins over its protocol; without either, this PC's zone is used."""
    specs = [DeviceSpec.parse("masimo-ascii=loop://"), DeviceSpec.parse("masimo-ascii=loop://")]
    clocks = parse_device_clocks(["masimo-ascii=Asia/Kolkata", "masimo-ascii-2=-05:00"])
    parts = build_monitor(specs, FakeClock(), device_clocks=clocks)
    zones = {}
    for source, link in parts.core.links.items():
        assert isinstance(link, SerialLink)
        driver = link._driver
        assert isinstance(driver, MasimoAsciiDriver)
        zones[source] = driver.device_tz.utcoffset(datetime(2026, 11, 23, 9, 0))
    assert zones == {"masimo-ascii-1": timedelta(hours=5, minutes=30), "masimo-ascii-2": timedelta(hours=-5)}


def test_simulated_devices_are_read_in_utc_as_the_simulators_write() -> None:
    """Bedside's own simulators write UTC device times; the local-zone default must not shift them."""
    parts = build_monitor([], FakeClock(), sim_devices=("masimo-ascii",))
    try:
        link = parts.core.links["sim-masimo-ascii-1"]
        assert isinstance(link, SerialLink)
        driver = link._driver
        assert isinstance(driver, MasimoAsciiDriver)
        assert driver.device_tz.utcoffset(datetime(2026, 7, 1)) == timedelta(0)
    finally:
        assert parts.rig is not None
        parts.rig.stop()


@pytest.mark.req("ALM-4")
def test_monitor_refuses_a_bad_zone_before_opening_anything(capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["monitor", "--device", "masimo-ascii=loop://", "--device-clock", "masimo-ascii=Mars/Olympus"])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.count("\n") == 1 and "Mars/Olympus" in err and "Traceback" not in err


def test_monitor_help_documents_the_clock_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["monitor", "--help"])
    out = capsys.readouterr().out
    assert "--device-clock" in out and "Europe/Berlin" in out and "arrival" in out


def test_default_setting_is_the_pc_zone() -> None:
    assert DeviceClockSetting.local().zone is not None


@pytest.mark.req("ALM-4")
def test_decode_reads_a_capture_in_the_zone_given(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`bedside decode --device-clock Europe/Berlin`: the fixture's 09:00:00 is 08:00:00 UTC."""
    capture = fixtures_dir / "masimo" / "rad8-session.txt"
    assert main(["decode", "--driver", "masimo-ascii", "--device-clock", "Europe/Berlin", str(capture)]) == 0
    first = json.loads(capsys.readouterr().out.splitlines()[0])
    assert first["measured_at"] == "2026-11-23T08:00:00+00:00"
    assert main(["decode", "--driver", "masimo-ascii", "--device-clock", "Berlin", str(capture)]) == 2
    err = capsys.readouterr().err
    assert "is not a time zone" in err and err.count("\n") == 1
