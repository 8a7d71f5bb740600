"""Wire encoders, one per device protocol, found by protocol name (the drivers' inverses).

Encoder modules are imported on first use, so asking for one protocol never loads the others.
"""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass

from simulators.model import WireEncoder

log = logging.getLogger(__name__)


class UnknownEncoderError(KeyError):
    """Asked for a wire protocol no simulator encoder speaks."""

    def __str__(self) -> str:
        return f"no simulator encoder for protocol {self.args[0]!r}; known: {', '.join(ENCODERS)}"


@dataclass(frozen=True, slots=True)
class EncoderEntry:
    """Where an encoder class lives."""

    module: str
    cls: str


#: Protocol name (the same names as ``drivers.registry.DRIVERS``) to encoder class.
ENCODERS: dict[str, EncoderEntry] = {
    "masimo-ascii": EncoderEntry("simulators.encoders.masimo", "MasimoAsciiEncoder"),
    "nonin-df2": EncoderEntry("simulators.encoders.nonin", "NoninDf2Encoder"),
    "ivy-ansar": EncoderEntry("simulators.encoders.ivy", "IvyAnsarEncoder"),
    "hl7-pcd01": EncoderEntry("simulators.encoders.hl7", "Hl7Pcd01Encoder"),
}


def encoder_protocols() -> tuple[str, ...]:
    """The protocol names an encoder exists for, sorted."""
    return tuple(sorted(ENCODERS))


def encoder_for(protocol: str) -> WireEncoder:
    """A fresh encoder for ``protocol`` with the device's default settings."""
    try:
        entry = ENCODERS[protocol]
    except KeyError:
        raise UnknownEncoderError(protocol) from None
    factory = getattr(importlib.import_module(entry.module), entry.cls)
    encoder: WireEncoder = factory()
    return encoder


__all__ = ["ENCODERS", "EncoderEntry", "UnknownEncoderError", "encoder_for", "encoder_protocols"]
