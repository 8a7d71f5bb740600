"""Device setup for the Devices screen (issue 10): the serial ports present, a protocol per port,
"test connection" counting frames through the real driver, the HL7 listener, or the simulators.

Qt-free. The result of a setup is the list of ``PROTOCOL=URL`` strings ``bedside monitor --device``
takes (``bedside.app.build.DeviceSpec``), kept in the station settings.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from drivers.clock import Clock
from drivers.registry import DRIVERS, make_driver
from drivers.transports.base import DeviceLink
from drivers.transports.mllp import MllpListener
from drivers.transports.serial import SerialLink
from drivers.types import DecodeResult, DeviceEvent

log = logging.getLogger(__name__)

HL7_PROTOCOL = "hl7-pcd01"


class DeviceSetupError(ValueError):
    """A device choice that cannot be used; the message says what to pick instead."""


@dataclass(frozen=True, slots=True)
class SerialPortInfo:
    """A serial port present on this computer with its USB identity (when it is a USB adapter)."""

    device: str
    description: str = ""
    vid_pid: str = ""  # "0403:6001"
    serial_number: str = ""
    manufacturer: str = ""

    @property
    def words(self) -> str:
        """The port as the IT person reads it: path, description, vid:pid and serial number."""
        parts = [self.device]
        if self.description and self.description != "n/a":
            parts.append(self.description)
        if self.vid_pid:
            parts.append(f"USB {self.vid_pid}")
        if self.serial_number:
            parts.append(f"serial {self.serial_number}")
        return " — ".join(parts)


PortLister = Callable[[], list[SerialPortInfo]]


def list_serial_ports() -> list[SerialPortInfo]:
    """The serial ports present now (pyserial ``list_ports``), by path."""
    from serial.tools import list_ports

    found: list[SerialPortInfo] = []
    for port in list_ports.comports():
        vid_pid = f"{port.vid:04x}:{port.pid:04x}" if port.vid is not None and port.pid is not None else ""
        found.append(
            SerialPortInfo(
                device=port.device,
                description=port.description or "",
                vid_pid=vid_pid,
                serial_number=port.serial_number or "",
                manufacturer=port.manufacturer or "",
            )
        )
    return sorted(found, key=lambda p: p.device)


def protocols() -> list[tuple[str, str]]:
    """Every protocol the driver registry knows, with its description, by name."""
    return sorted((name, entry.description) for name, entry in DRIVERS.items())


def device_argument(protocol: str, url: str) -> str:
    """``PROTOCOL=URL`` for one device; DeviceSetupError when the pair cannot work."""
    protocol, url = protocol.strip(), url.strip()
    if protocol not in DRIVERS:
        raise DeviceSetupError(f"{protocol!r} is not a known protocol; known: {', '.join(sorted(DRIVERS))}")
    if not url:
        raise DeviceSetupError(f"{protocol}: choose the port it is plugged into")
    if protocol == HL7_PROTOCOL and not url.startswith("mllp://"):
        raise DeviceSetupError("the HL7 listener needs mllp://HOST:PORT, e.g. mllp://0.0.0.0:2575")
    if protocol != HL7_PROTOCOL and url.startswith("mllp://"):
        raise DeviceSetupError(f"{protocol} is a serial protocol: choose a serial port, not {url}")
    return f"{protocol}={url}"


def hl7_listener_url(bind: str, port: int) -> str:
    """The HL7 listener's URL; DeviceSetupError for a port outside 1..65535."""
    if not 1 <= port <= 65535:
        raise DeviceSetupError(f"the HL7 listener port must be 1 to 65535, not {port}")
    return f"mllp://{bind.strip() or '127.0.0.1'}:{port}"


class ConnectionTest:
    """Open one device with its real driver and transport and count the frames that decode.

    The link calls back on its own thread; the counts are read by the screen's heartbeat.
    """

    def __init__(self, protocol: str, url: str, clock: Clock, *, link: DeviceLink | None = None) -> None:
        device_argument(protocol, url)  # refuse a pair that cannot work before opening anything
        self.protocol = protocol
        self.url = url
        self._clock = clock
        self._lock = threading.Lock()
        self.frames = 0
        self.rejections = 0
        self.last_event = ""
        self._last_frame_mono: float | None = None
        source = f"test-{protocol}"
        self._link: DeviceLink = link if link is not None else self._make_link(source)

    def _make_link(self, source: str) -> DeviceLink:
        if self.protocol == HL7_PROTOCOL:
            host, _, port = self.url.removeprefix("mllp://").rpartition(":")
            return MllpListener(
                source,
                lambda src: make_driver(HL7_PROTOCOL, src),
                self._clock,
                self.on_result,
                self.on_event,
                host=host or "127.0.0.1",
                port=int(port or 0),
            )
        driver = make_driver(self.protocol, source)
        return SerialLink(source, self.url, driver, self._clock, self.on_result, self.on_event)

    def on_result(self, result: DecodeResult) -> None:
        """Count a decoded result (called on the link's thread)."""
        with self._lock:
            if result.frames:
                self.frames += result.frames
                self._last_frame_mono = self._clock.monotonic()
            self.rejections += len(result.rejections)

    def on_event(self, event: DeviceEvent) -> None:
        """Remember the link's last event in words (connected, silent, disconnected)."""
        with self._lock:
            self.last_event = event.kind.value + (f": {event.detail}" if event.detail else "")

    def start(self) -> None:
        """Open the port (or start listening)."""
        self._link.start()

    def stop(self) -> None:
        """Close the port."""
        self._link.stop()

    def last_frame_age_s(self) -> float | None:
        """Seconds since the last frame decoded, or None before the first one."""
        with self._lock:
            last = self._last_frame_mono
        return None if last is None else max(0.0, self._clock.monotonic() - last)

    def words(self) -> str:
        """What the test has seen, for the screen."""
        age = self.last_frame_age_s()
        with self._lock:
            frames, rejected, event = self.frames, self.rejections, self.last_event
        seen = "no frame yet" if age is None else f"{frames} frames, last {age:.0f} s ago"
        extra = f", {rejected} rejected" if rejected else ""
        return f"{self.protocol} on {self.url}: {seen}{extra}" + (f" ({event})" if event else "")


class DeviceSetup:
    """The Devices screen's service: ports, protocols, connection tests and the chosen devices."""

    def __init__(self, clock: Clock, *, port_lister: PortLister | None = None) -> None:
        self._clock = clock
        self._list_ports = port_lister or list_serial_ports
        self.tests: dict[str, ConnectionTest] = {}

    def ports(self) -> list[SerialPortInfo]:
        """The serial ports present now."""
        try:
            return self._list_ports()
        except Exception as exc:  # a port enumeration failure must not close the screen
            log.error("the serial ports cannot be listed: %s", exc)
            return []

    @staticmethod
    def protocols() -> list[tuple[str, str]]:
        """The protocols a port may speak."""
        return protocols()

    def test(self, protocol: str, url: str) -> ConnectionTest:
        """Start (or restart) a connection test on ``url``."""
        self.stop_test(url)
        test = ConnectionTest(protocol, url, self._clock)
        test.start()
        self.tests[url] = test
        return test

    def stop_test(self, url: str) -> None:
        """Stop the connection test on ``url``, if one runs."""
        test = self.tests.pop(url, None)
        if test is not None:
            test.stop()

    def stop_all(self) -> None:
        """Stop every connection test (the screen closes)."""
        for url in list(self.tests):
            self.stop_test(url)
