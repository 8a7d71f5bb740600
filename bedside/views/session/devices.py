"""Devices: the serial ports present with their USB identity, a protocol per port, "test connection"
showing frames arriving, the HL7 listener, or the simulators (issue 10).

The choice is saved as the ``PROTOCOL=URL`` devices of the station settings, which ``bedside
monitor`` opens with the same drivers and transports (``bedside.app.build``).
"""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtCore import QTimer
from PySide6.QtGui import QHideEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QWidget,
)

from bedside.views.combo import WrapComboBox
from bedside.views.session.context import Screen, SessionServices, button, wrapped
from bedside.workflow.devices import HL7_PROTOCOL, device_argument, hl7_listener_url

log = logging.getLogger(__name__)

NOT_USED = "(not used)"


class DevicesScreen(Screen):
    """Choose a protocol for each port, test it, add the HL7 listener, or use the simulators."""

    title = "Devices"
    audience = "the clinic's IT person (and the CRNA checking the cables)"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.in_force = wrapped(name="devicesInForce")
        self.body.addWidget(self.in_force)
        self.ports_box = QGroupBox("Serial ports on this computer")
        self.grid = QGridLayout(self.ports_box)
        self.body.addWidget(self.ports_box)
        self.body.addWidget(button("Look for ports again", self.refresh_ports, name="rescanPorts"))
        hl7 = QGroupBox("HL7 listener (a gateway sends ORU^R01 over MLLP)")
        row = QHBoxLayout(hl7)
        self.hl7_on = QCheckBox("listen")
        self.hl7_on.setObjectName("hl7On")
        self.hl7_bind = QLineEdit("127.0.0.1")
        self.hl7_bind.setObjectName("hl7Bind")
        self.hl7_port = QSpinBox()
        self.hl7_port.setObjectName("hl7Port")
        self.hl7_port.setRange(1, 65535)
        self.hl7_port.setValue(2575)
        row.addWidget(self.hl7_on)
        row.addWidget(QLabel("bind"))
        row.addWidget(self.hl7_bind, 1)
        row.addWidget(QLabel("port"))
        row.addWidget(self.hl7_port)
        row.addWidget(button("Test listener", self._test_hl7, name="testHl7"))
        self.body.addWidget(hl7)
        self.simulate = QCheckBox("Use the simulators instead (drills and training: SIMULATION)")
        self.simulate.setObjectName("useSimulators")
        self.body.addWidget(self.simulate)
        self.tests = wrapped(name="connectionTests")
        self.tests.setStyleSheet("font-family: monospace;")
        self.body.addWidget(self.tests)
        self.body.addWidget(button("Save as this station's devices", self._save, name="saveDevices"))
        self.rows: dict[str, QComboBox] = {}
        self._heartbeat = QTimer(self)
        self._heartbeat.timeout.connect(self.show_tests)
        self.refresh_ports()

    def refresh_ports(self) -> None:
        """List the ports present now, each with a protocol choice and a test button."""
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.setParent(None)  # gone at once, not at the next turn of the event loop
                widget.deleteLater()
        self.rows.clear()
        ports = self.services.devices.ports()
        if not ports:
            self.grid.addWidget(
                wrapped("No serial port found: plug in the USB adapter, then look again."), 0, 0
            )
        saved = dict(d.split("=", 1)[::-1] for d in self.services.settings.load().devices if "=" in d)
        for i, port in enumerate(ports):
            self.grid.addWidget(wrapped(port.words), i, 0)
            choice = WrapComboBox()
            choice.setObjectName(f"protocol:{port.device}")
            choice.addItem(NOT_USED, "")
            for name, description in self.services.devices.protocols():
                if name != HL7_PROTOCOL:
                    choice.addItem(f"{name} — {description}", name)
            if port.device in saved:
                choice.setCurrentIndex(max(0, choice.findData(saved[port.device])))
            self.rows[port.device] = choice
            self.grid.addWidget(choice, i, 1)
            self.grid.addWidget(
                button("Test connection", partial(self._test, port.device), name=f"test:{port.device}"),
                i,
                2,
            )

    def _test(self, device: str) -> None:
        protocol = str(self.rows[device].currentData() or "")
        try:
            self.services.devices.test(protocol, device)
        except Exception as exc:  # the port cannot be opened or the choice is wrong: in words
            self.say(f"Test connection: {exc}", problem=True)
            return
        self.say(f"testing {device}: frames are counted as they arrive")
        self._heartbeat.start(1000)
        self.show_tests()

    def _test_hl7(self) -> None:
        try:
            url = hl7_listener_url(self.hl7_bind.text(), self.hl7_port.value())
            self.services.devices.test(HL7_PROTOCOL, url)
        except Exception as exc:  # port in use, bad address: in words
            self.say(f"Test listener: {exc}", problem=True)
            return
        self._heartbeat.start(1000)
        self.show_tests()

    def show_tests(self) -> None:
        """Each running test: frames counted, age of the last frame."""
        tests = self.services.devices.tests.values()
        self.tests.setText("\n".join(t.words() for t in tests) if tests else "")

    def chosen(self) -> tuple[str, ...]:
        """The devices chosen on the screen as PROTOCOL=URL (DeviceSetupError for a wrong pair)."""
        if self.simulate.isChecked():
            return ()
        chosen = [
            device_argument(str(combo.currentData()), device)
            for device, combo in self.rows.items()
            if combo.currentData()
        ]
        if self.hl7_on.isChecked():
            url = hl7_listener_url(self.hl7_bind.text(), self.hl7_port.value())
            chosen.append(device_argument(HL7_PROTOCOL, url))
        return tuple(chosen)

    def _save(self) -> None:
        try:
            devices = self.chosen()
            store = self.services.settings
            store.save(store.load().with_changes(devices=devices))
        except Exception as exc:  # a wrong pair, a settings file that cannot be written
            self.say(f"Save devices: {exc}", problem=True)
            return
        self.services.devices.stop_all()
        self._heartbeat.stop()
        words = " ".join(f"--device {d}" for d in devices) or "(none: the simulators)"
        self.say(f"saved; the monitor opens them at its next start (bedside monitor {words})")
        self.refresh()

    def refresh(self) -> None:
        """The devices in force for this station."""
        try:
            devices = self.services.settings.load().devices
        except Exception as exc:  # a damaged settings file: say so, keep the screen usable
            self.in_force.setText(f"The settings cannot be read: {exc}")
            return
        running = f"Now: simulators ({self.services.simulation})." if self.services.simulation else ""
        saved = ", ".join(devices) if devices else "none saved (the monitor starts its simulators)"
        self.in_force.setText(f"{running} Saved devices: {saved}".strip())

    def hideEvent(self, event: QHideEvent) -> None:
        """Leaving the screen stops the tests: their ports must be free for the monitor."""
        self.services.devices.stop_all()
        self._heartbeat.stop()
        super().hideEvent(event)
