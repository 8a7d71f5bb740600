"""The slow path: hl7apy's grammar and group finding, as a cross-check of the ER7 walk.

``Hl7Pcd01Driver(..., order_reader=hl7apy_orders)`` reads a message's order groups through
hl7apy (``parse_message(find_groups=True)``) instead of walking segments. It exists so tests can
show both paths give the same observations and the benchmark can measure what the ER7 walk
saves; it is not the driver's default. hl7apy has no v2.7.1 grammar and misplaces result rows
in v2.8, and it is superlinear on large or deeply repeated input, so never feed it untrusted
input outside a test.
"""

from __future__ import annotations

import logging
from typing import Any

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from drivers.hl7.er7 import Delimiters, Segment
from drivers.hl7.pcd01 import OrderGroup, _MessageRejected

log = logging.getLogger(__name__)

_TOP_LEVEL_SEGMENTS = frozenset({"MSH", "SFT", "UAC", "DSC"})


def hl7apy_orders(text: str, segments: list[str], delimiters: Delimiters) -> list[OrderGroup]:
    """(OBR, its OBX rows) per ORDER_OBSERVATION group as hl7apy's grammar places them."""
    try:
        message = parse_message(
            "\r".join(segments), validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True
        )
    except Exception as exc:
        raise _MessageRejected("AR", 102, f"HL7 grammar: {type(exc).__name__}") from None
    orders: list[OrderGroup] = []
    for node in message.children:
        if node.classname == "Segment":
            if node.name not in _TOP_LEVEL_SEGMENTS:
                raise _MessageRejected("AR", 100, f"segment {node.name} is out of place for ORU^R01")
            continue
        for group in node.children:  # PATIENT_RESULT children
            if group.classname == "Segment":
                raise _MessageRejected("AR", 100, f"segment {group.name} is out of place for ORU^R01")
            if not group.name.endswith("ORDER_OBSERVATION"):
                if _contains_obx(group):
                    raise _MessageRejected("AR", 100, "an OBX row is outside any OBR order group")
                continue
            obr: Segment | None = None
            rows: list[Segment] = []
            for child in group.children:
                if child.classname == "Segment" and child.name == "OBR":
                    obr = Segment(str(child.to_er7()), delimiters)
                elif child.classname == "Group" and child.name.endswith("_OBSERVATION"):
                    rows.extend(
                        Segment(str(c.to_er7()), delimiters) for c in child.children if c.name == "OBX"
                    )
                elif _contains_obx(child) and not child.name.endswith("SPECIMEN"):
                    raise _MessageRejected("AR", 100, "an OBX row is outside its OBR observation group")
            if obr is None:
                raise _MessageRejected("AR", 100, "an order group has OBX rows but no OBR")
            orders.append(OrderGroup(obr, rows))
    return orders


def _contains_obx(node: Any) -> bool:
    if node.classname == "Segment":
        return bool(node.name == "OBX")
    return any(_contains_obx(c) for c in node.children)


__all__ = ["hl7apy_orders"]
