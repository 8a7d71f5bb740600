"""The IHE PCD-01 driver under its first name (the registry, the simulator and tests use it).

The code lives in ``drivers.hl7`` (``er7``, ``dtm``, ``ack``, ``pcd01``).
"""

from __future__ import annotations

from drivers.hl7.ack import ERROR_TEXT
from drivers.hl7.dtm import Hl7DateTimeError, format_hl7_datetime, parse_hl7_datetime
from drivers.hl7.er7 import escape_hl7
from drivers.hl7.pcd01 import (
    RESULT_STATUS_QUALITY,
    SIMULATED_PROCESSING_IDS,
    SUPPORTED_VERSIONS,
    UNTRUSTED_FLAGS,
    Hl7Limits,
    Hl7Pcd01Driver,
)

__all__ = [
    "ERROR_TEXT",
    "RESULT_STATUS_QUALITY",
    "SIMULATED_PROCESSING_IDS",
    "SUPPORTED_VERSIONS",
    "UNTRUSTED_FLAGS",
    "Hl7DateTimeError",
    "Hl7Limits",
    "Hl7Pcd01Driver",
    "escape_hl7",
    "format_hl7_datetime",
    "parse_hl7_datetime",
]
