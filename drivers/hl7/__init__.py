"""HL7 v2 for Bedside, split the way python-hl7 splits it: MLLP framing lives in ``drivers.mllp``;
here ``er7`` (delimiters, escapes, segments), ``dtm`` (date-times), ``ack`` (building ACKs) and
``pcd01`` (the IHE PCD-01 driver). ``drivers.hl7_pcd01`` re-exports the public names."""

from __future__ import annotations

from drivers.hl7.ack import build_ack, next_control_id
from drivers.hl7.dtm import Hl7DateTimeError, format_hl7_datetime, parse_hl7_datetime
from drivers.hl7.er7 import Delimiters, Er7Error, Segment, escape_hl7
from drivers.hl7.pcd01 import SUPPORTED_VERSIONS, Hl7Limits, Hl7Pcd01Driver

__all__ = [
    "SUPPORTED_VERSIONS",
    "Delimiters",
    "Er7Error",
    "Hl7DateTimeError",
    "Hl7Limits",
    "Hl7Pcd01Driver",
    "Segment",
    "build_ack",
    "escape_hl7",
    "format_hl7_datetime",
    "next_control_id",
    "parse_hl7_datetime",
]
