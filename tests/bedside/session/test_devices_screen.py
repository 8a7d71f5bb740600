"""The Devices screen tests a connection through the real driver and transport (issue 10: "test
connection" showing frames arriving) and saves the choice as the station's devices."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QLabel, QWidget
from pytestqt.qtbot import QtBot

from bedside.views.session.hub import SessionScreens
from bedside.workflow.devices import SerialPortInfo
from drivers.clock import SystemClock
from simulators.encoders import encoder_for
from simulators.host import PtyHost
from simulators.physiology import ScenarioPlayer
from simulators.scenario import load_scenario
from tests.bedside.session.conftest import Rig
from tests.bedside.session.test_full_session import choose, click, field, said, sign_in_first_start


@pytest.mark.timeout(60)
def test_test_connection_shows_frames_from_a_device_on_the_port(qtbot: QtBot, rig: Rig) -> None:
    clock = SystemClock()  # a real pty and a real link thread: device time is real time here
    host = PtyHost(encoder_for("masimo-ascii"), ScenarioPlayer(load_scenario("full-session"), clock), clock)
    path = host.open()
    rig.services.devices._list_ports = lambda: [SerialPortInfo(path, "simulated Masimo on a pty")]
    rig.services.devices._clock = clock
    hub = SessionScreens(rig.services)
    qtbot.addWidget(hub)
    sign_in_first_start(hub)
    devices = hub.show_screen("Devices")
    devices.refresh_ports()  # type: ignore[attr-defined]
    choose(devices, f"protocol:{path}", "masimo-ascii")
    click(devices, f"test:{path}")
    shown = field(devices, QLabel, "connectionTests")
    assert isinstance(shown, QLabel)
    assert "testing" in said(devices), said(devices)
    seen = ""
    try:
        deadline = time.monotonic() + 20
        while "frames" not in shown.text() and time.monotonic() < deadline:
            host.step()
            qtbot.wait(50)
            devices.show_tests()  # type: ignore[attr-defined]
            seen = shown.text()
    finally:
        rig.services.devices.stop_all()
        host.close()
    assert "masimo-ascii on" in seen and "frames, last" in seen, seen

    click(devices, "saveDevices")
    assert rig.services.settings.load().devices == (f"masimo-ascii={path}",), said(devices)


def test_a_port_that_cannot_be_opened_is_said_in_words(qtbot: QtBot, rig: Rig) -> None:
    hub = SessionScreens(rig.services)
    qtbot.addWidget(hub)
    sign_in_first_start(hub)
    devices = hub.show_screen("Devices")
    click(devices, "test:/dev/ttyUSB0")  # no protocol chosen
    assert "not a known protocol" in said(devices)
    field(devices, QWidget, "hl7On").setChecked(True)  # type: ignore[attr-defined]
    field(devices, QWidget, "hl7Bind").setText("127.0.0.1")  # type: ignore[attr-defined]
    click(devices, "saveDevices")
    assert rig.services.settings.load().devices == ("hl7-pcd01=mllp://127.0.0.1:2575",)
