"""Original-mode HL7 ACKs: one per message, whatever state the message was in.

The ACK swaps the whole sender/receiver pair (its MSH-3/4 are the message's MSH-5/6 and its
MSH-5/6 the message's MSH-3/4), carries a control id unique across connections and restarts,
echoes the version (MSH-12) and processing id (MSH-11), and names each problem in an ERR segment
in the shape the message's version defines: ERR-1 (ELD) up to v2.4, ERR-3/4/8 from v2.5. From
v2.7 MSA-3 (text message) is withdrawn, so the reason is in ERR-8 only.
"""

from __future__ import annotations

import itertools
import logging
import os
import re
import threading
from collections.abc import Sequence
from datetime import datetime

from drivers.hl7.dtm import format_hl7_datetime
from drivers.hl7.er7 import STANDARD, Segment, escape_hl7

log = logging.getLogger(__name__)

#: HL7 table 0357 message error codes used in ERR.
ERROR_TEXT: dict[int, str] = {
    100: "Segment sequence error",
    101: "Required field missing",
    102: "Data type error",
    103: "Table value not found",
    200: "Unsupported message type",
    201: "Unsupported event code",
    203: "Unsupported version id",
    207: "Application internal error",
}

#: The version an ACK says when the message's MSH-12 is missing or unreadable (PCD-01's own).
DEFAULT_VERSION = "2.6"
_VERSION = re.compile(r"2\.\d(?:\.\d)?")
_PROCESSING_ID = re.compile(r"[PTD](?:\^[AIRT]?)?")
#: MSA-3 carries at most this many characters of the reason (its length in v2.5 is 80).
MSA3_LENGTH = 80
#: At most this many ERR segments per ACK: a message with 500 bad rows gets a short ACK.
MAX_ERR_SEGMENTS = 10

_PREFIX = os.urandom(4).hex().upper()
_SEQUENCE = itertools.count(1)
_SEQUENCE_LOCK = threading.Lock()


def next_control_id() -> str:
    """A 20-character MSH-10 unique in this process and, by its random prefix, across restarts."""
    with _SEQUENCE_LOCK:
        number = next(_SEQUENCE)
    return f"{_PREFIX}{number:012d}"


def version_tuple(version: str) -> tuple[int, ...]:
    """``"2.7.1"`` -> (2, 7, 1); an unreadable version sorts first."""
    if not _VERSION.fullmatch(version):
        return ()
    return tuple(int(p) for p in version.split("."))


def _copied(msh: Segment | None, n: int) -> str:
    """MSH-n's first repetition re-encoded with the standard delimiters the ACK uses."""
    if msh is None:
        return ""
    if msh.delimiters == STANDARD:
        return msh.raw(n).split(STANDARD.repetition, 1)[0]
    return "^".join(escape_hl7(c) for c in msh.components(n))


def build_ack(
    msh: Segment | None,
    code: str,
    at: datetime,
    errors: Sequence[tuple[int, str]] = (),
    *,
    application: str = "BEDSIDE",
    facility: str = "",
    control_id: str | None = None,
) -> bytes:
    """An unframed ACK to the message whose MSH is ``msh`` (None when there was none to read).

    ``code`` is AA, AE or AR; ``errors`` are (HL7 table 0357 code, reason) pairs. ``application``
    and ``facility`` name Bedside when the message left its own receiver fields (MSH-5/6) empty.
    """
    version = msh.component(12) if msh is not None else ""
    if not _VERSION.fullmatch(version):
        version = DEFAULT_VERSION
    numbers = version_tuple(version)
    processing = _copied(msh, 11)
    if not _PROCESSING_ID.fullmatch(processing):
        processing = "P"
    trigger = escape_hl7(msh.component(9, 2)) if msh is not None else ""
    message_type = f"ACK^{trigger or 'R01'}" + ("^ACK" if numbers >= (2, 3, 1) else "")
    fields = [
        "MSH",
        STANDARD.encoding_characters,
        _copied(msh, 5) or escape_hl7(application),
        _copied(msh, 6) or escape_hl7(facility),
        _copied(msh, 3),
        _copied(msh, 4),
        format_hl7_datetime(at),
        "",
        message_type,
        control_id or next_control_id(),
        processing,
        version,
        "",
        "",
        "NE",
        "NE",
    ]
    reason = "; ".join(text for _, text in errors)
    control = escape_hl7(msh.text(10)) if msh is not None else ""
    msa = ["MSA", code, control]
    if numbers < (2, 7):
        msa.append(escape_hl7(reason[:MSA3_LENGTH]))
    segments = ["|".join(fields), "|".join(msa)]
    severity = "E" if code != "AA" else "I"
    for error_code, text in errors[:MAX_ERR_SEGMENTS]:
        err_text = ERROR_TEXT.get(error_code, "")
        if numbers < (2, 5):
            segments.append(f"ERR|^^^{error_code}&{escape_hl7(err_text)}&HL70357")
        else:
            segments.append(f"ERR|||{error_code}^{err_text}^HL70357|{severity}||||{escape_hl7(text[:250])}")
    return ("\r".join(segments) + "\r").encode("utf-8")


__all__ = ["DEFAULT_VERSION", "ERROR_TEXT", "build_ack", "next_control_id", "version_tuple"]
