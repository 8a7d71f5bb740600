"""Which driver speaks which wire protocol. One table, so the CLI and the app agree."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from drivers.device_clock import DeviceClockSetting
from drivers.types import DeviceDriver

log = logging.getLogger(__name__)


class UnknownProtocolError(KeyError):
    """Asked for a wire protocol Bedside has no driver for."""

    def __str__(self) -> str:
        return f"no driver for protocol {self.args[0]!r}; known: {', '.join(DRIVERS)}"


@dataclass(frozen=True, slots=True)
class DriverEntry:
    """Where a driver lives, what it reads from a device, and how its device keeps time.

    ``device_time``: the frames carry the device's own clock (a clock setting applies to them).
    ``frame_period_s``: seconds between two frames as the device documents it, or None when the
    device sends at no fixed rate (a replay then needs the frames' own times).
    """

    module: str
    cls: str
    description: str
    device_time: bool = False
    frame_period_s: float | None = None


DRIVERS: dict[str, DriverEntry] = {
    "masimo-ascii": DriverEntry(
        "drivers.masimo",
        "MasimoAsciiDriver",
        "Masimo Rad-8 / Rad-7 / Radical-7 ASCII 1 serial output",
        device_time=True,
        frame_period_s=1.0,  # one line per second (drivers/masimo.py)
    ),
    "nonin-df2": DriverEntry(
        "drivers.nonin",
        "NoninDf2Driver",
        "Nonin OEM III serial Data Format #2",
        frame_period_s=1 / 75,  # 75 frames/s, 25 per packet = 3 packets/s (drivers/nonin.py)
    ),
    "ivy-ansar": DriverEntry(
        "drivers.ivy",
        "IvyAnsarDriver",
        "CPC / Ivy 450C ANSAR-B serial frames",
        frame_period_s=1.0,  # one frame per second, 200 ECG samples at 200 Hz (drivers/ivy.py)
    ),
    "hl7-pcd01": DriverEntry(
        "drivers.hl7_pcd01", "Hl7Pcd01Driver", "HL7 v2 ORU^R01 (IHE PCD-01) over MLLP", device_time=True
    ),
    "suntech-advantage": DriverEntry(
        "drivers.suntech", "SuntechAdvantageDriver", "SunTech Advantage OEM NIBP module (remote start)"
    ),
}


def driver_entry(protocol: str) -> DriverEntry:
    """The table entry for a protocol name."""
    try:
        return DRIVERS[protocol]
    except KeyError:
        raise UnknownProtocolError(protocol) from None


def driver_class(protocol: str) -> type[DeviceDriver]:
    """The driver class for a protocol name (imported on first use)."""
    entry = driver_entry(protocol)
    cls: type[DeviceDriver] = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def make_driver(protocol: str, source: str, clock_setting: DeviceClockSetting | None = None) -> DeviceDriver:
    """A fresh driver instance (drivers keep framing state, so one per link).

    ``clock_setting`` says how to read the device's times (ALM-4); None means this PC's local
    zone, because a device in the room is usually set to the room's wall clock. Drivers whose
    frames carry no time stamp values on arrival whatever the setting.
    """
    entry = driver_entry(protocol)
    cls = driver_class(protocol)
    if not entry.device_time:
        return cls(source)  # type: ignore[call-arg]
    setting = clock_setting or DeviceClockSetting.local()
    log.debug("%s: device clock read as %s", source, setting)
    if setting.zone is None:
        return cls(source, use_device_time=False)  # type: ignore[call-arg]
    return cls(source, device_tz=setting.zone)  # type: ignore[call-arg]
