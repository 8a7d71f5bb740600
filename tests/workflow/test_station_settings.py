"""Station settings stored with platformdirs conventions, and the device setup the Devices screen
shows (issue 10): ports with their USB identity, PROTOCOL=URL choices, a connection test that
counts frames through the real driver."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from bedside.workflow.devices import (
    ConnectionTest,
    DeviceSetup,
    DeviceSetupError,
    device_argument,
    hl7_listener_url,
    list_serial_ports,
)
from bedside.workflow.settings import (
    DEFAULT_LOCK_AFTER_MIN,
    SettingsError,
    SettingsStore,
    StationSettings,
    settings_path,
)
from drivers.clock import FakeClock, SystemClock
from simulators.encoders import encoder_for
from simulators.host import PtyHost
from simulators.physiology import ScenarioPlayer
from simulators.scenario import load_scenario


def test_settings_live_in_the_users_config_folder_and_survive_a_restart(tmp_path: Path) -> None:
    """platformdirs' user config folder by default; a first start needs no file."""
    assert settings_path().parent.name == "bedside"
    store = SettingsStore(tmp_path / "cfg" / "settings.json")
    assert store.load() == StationSettings()
    assert store.load().lock_after_min == DEFAULT_LOCK_AFTER_MIN
    chosen = StationSettings(
        devices=("masimo-ascii=/dev/ttyUSB0",), lock_after_min=2, data_folder=str(tmp_path)
    )
    store.save(chosen)
    assert SettingsStore(store.path).load() == chosen
    assert chosen.export_path == tmp_path / "exports"
    assert chosen.lock_after_s == 120


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"lock_after_min": 0}, "screen lock"),
        ({"lock_after_min": 600}, "screen lock"),
        ({"devices": ("masimo-ascii",)}, "PROTOCOL=URL"),
        ({"database_url": "postgresql://bedside:secret@db.clinic/bedside"}, "password"),
    ],
)
def test_settings_that_cannot_be_used_are_refused_in_words(changes: dict[str, object], words: str) -> None:
    """A lock that never closes, a device without a port, a password stored in plain text."""
    with pytest.raises(SettingsError, match=words):
        StationSettings().with_changes(**changes)


def test_a_damaged_settings_file_names_the_file_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(SettingsError, match="delete it to start from the defaults") as caught:
        SettingsStore(path).load()
    assert str(path) in str(caught.value)
    path.write_text(json.dumps({"lock_after_min": 3, "from_a_newer_version": 1}), encoding="utf-8")
    assert SettingsStore(path).load().lock_after_min == 3  # an unknown entry is ignored, not fatal


def test_ports_are_listed_with_their_usb_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """pyserial's list_ports: path, description, vid:pid, serial number."""
    from serial.tools import list_ports

    fake = [
        SimpleNamespace(
            device="/dev/ttyUSB1", description="FT232R USB UART", vid=0x0403, pid=0x6001,
            serial_number="A5XK3RJT", manufacturer="FTDI",
        ),
        SimpleNamespace(
            device="/dev/ttyS0", description="n/a", vid=None, pid=None, serial_number=None, manufacturer=None,
        ),
    ]  # fmt: skip
    monkeypatch.setattr(list_ports, "comports", lambda: fake)
    ports = list_serial_ports()
    assert [p.device for p in ports] == ["/dev/ttyS0", "/dev/ttyUSB1"]
    assert ports[1].words == "/dev/ttyUSB1 — FT232R USB UART — USB 0403:6001 — serial A5XK3RJT"
    assert ports[0].words == "/dev/ttyS0"


def test_a_port_listing_failure_leaves_the_screen_usable(clock: FakeClock) -> None:
    def broken() -> list[object]:
        raise OSError("udev is not running")

    assert DeviceSetup(clock, port_lister=broken).ports() == []  # type: ignore[arg-type]


def test_device_choices_become_the_monitors_device_arguments() -> None:
    """The same PROTOCOL=URL strings `bedside monitor --device` takes; wrong pairs in words."""
    assert device_argument("masimo-ascii", "/dev/ttyUSB0") == "masimo-ascii=/dev/ttyUSB0"
    assert device_argument("hl7-pcd01", hl7_listener_url("0.0.0.0", 2575)) == "hl7-pcd01=mllp://0.0.0.0:2575"
    with pytest.raises(DeviceSetupError, match="not a known protocol"):
        device_argument("masimo", "/dev/ttyUSB0")
    with pytest.raises(DeviceSetupError, match="serial protocol"):
        device_argument("masimo-ascii", "mllp://127.0.0.1:2575")
    with pytest.raises(DeviceSetupError, match="1 to 65535"):
        hl7_listener_url("127.0.0.1", 0)


@pytest.mark.timeout(30)
def test_test_connection_counts_frames_through_the_real_driver() -> None:
    """A simulated Masimo on a pty: the test opens it with the real driver and serial transport
    and counts the frames that decode, with the age of the last one."""
    clock = SystemClock()
    host = PtyHost(encoder_for("masimo-ascii"), ScenarioPlayer(load_scenario("full-session"), clock), clock)
    path = host.open()
    test = ConnectionTest("masimo-ascii", path, clock)
    assert test.last_frame_age_s() is None and "no frame yet" in test.words()
    test.start()
    try:
        deadline = time.monotonic() + 15
        while test.frames < 2 and time.monotonic() < deadline:
            host.step()
            time.sleep(0.05)  # real device pacing on a real pty (no FakeClock across threads)
    finally:
        test.stop()
        host.close()
    assert test.frames >= 2
    age = test.last_frame_age_s()
    assert age is not None and age < 5
    assert f"{test.frames} frames" in test.words()
