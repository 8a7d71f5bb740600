"""Which driver speaks which wire protocol. One table, so the CLI and the app agree."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from drivers.types import DeviceDriver


class UnknownProtocolError(KeyError):
    """Asked for a wire protocol Bedside has no driver for."""

    def __str__(self) -> str:
        return f"no driver for protocol {self.args[0]!r}; known: {', '.join(DRIVERS)}"


@dataclass(frozen=True, slots=True)
class DriverEntry:
    """Where a driver lives and what it reads from a device."""

    module: str
    cls: str
    description: str


DRIVERS: dict[str, DriverEntry] = {
    "masimo-ascii": DriverEntry(
        "drivers.masimo", "MasimoAsciiDriver", "Masimo Rad-8 / Rad-7 / Radical-7 ASCII 1 serial output"
    ),
    "nonin-df2": DriverEntry("drivers.nonin", "NoninDf2Driver", "Nonin OEM III serial Data Format #2"),
    "ivy-ansar": DriverEntry("drivers.ivy", "IvyAnsarDriver", "CPC / Ivy 450C ANSAR-B serial frames"),
    "hl7-pcd01": DriverEntry("drivers.hl7_pcd01", "Hl7Pcd01Driver", "HL7 v2 ORU^R01 (IHE PCD-01) over MLLP"),
    "suntech-advantage": DriverEntry(
        "drivers.suntech", "SuntechAdvantageDriver", "SunTech Advantage OEM NIBP module (remote start)"
    ),
}


def driver_class(protocol: str) -> type[DeviceDriver]:
    """The driver class for a protocol name (imported on first use)."""
    try:
        entry = DRIVERS[protocol]
    except KeyError:
        raise UnknownProtocolError(protocol) from None
    cls: type[DeviceDriver] = getattr(importlib.import_module(entry.module), entry.cls)
    return cls


def make_driver(protocol: str, source: str) -> DeviceDriver:
    """A fresh driver instance (drivers keep framing state, so one per link)."""
    return driver_class(protocol)(source)  # type: ignore[call-arg]
