"""HL7 date-times (DTM, and the first component of a v2.3-2.5 TS) to and from aware datetimes."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo

log = logging.getLogger(__name__)

_DTM = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?"
    r"(?:\.(?P<frac>\d{1,4}))?(?P<tz>[+-]\d{4})?"
)
#: Longer than any DTM: a longer text is refused before the regular expression looks at it.
_MAX_DTM_LENGTH = 32


class Hl7DateTimeError(ValueError):
    """An HL7 DTM that is not ``YYYYMMDDHHMM[SS[.S...]][+/-ZZZZ]``."""


def parse_hl7_datetime(text: str, default_tz: tzinfo = UTC) -> datetime:
    """An HL7 DTM as an aware UTC datetime; no offset means ``default_tz`` (minute precision at least)."""
    text = text.strip()
    m = _DTM.fullmatch(text) if len(text) <= _MAX_DTM_LENGTH else None
    if m is None:
        raise Hl7DateTimeError(f"{text[:40]!r} is not an HL7 date/time YYYYMMDDHHMM[SS][+/-ZZZZ]")
    frac = m["frac"] or ""
    try:
        tz: tzinfo = default_tz
        if m["tz"]:
            sign = -1 if m["tz"][0] == "-" else 1
            hours, minutes = int(m["tz"][1:3]), int(m["tz"][3:5])
            if hours > 14 or minutes > 59:
                raise Hl7DateTimeError(f"{text!r} has an impossible UTC offset")
            tz = timezone(sign * timedelta(hours=hours, minutes=minutes))
        local = datetime(
            int(m["y"]),
            int(m["mo"]),
            int(m["d"]),
            int(m["h"]),
            int(m["mi"]),
            int(m["s"] or 0),
            int(frac.ljust(6, "0")) if frac else 0,
            tzinfo=tz,
        )
    except ValueError as exc:
        raise Hl7DateTimeError(f"{text!r} is not a real date/time: {exc}") from None
    return local.astimezone(UTC)


def format_hl7_datetime(at: datetime) -> str:
    """An aware datetime as an HL7 DTM in UTC with an explicit +0000 offset."""
    return at.astimezone(UTC).strftime("%Y%m%d%H%M%S") + "+0000"


__all__ = ["Hl7DateTimeError", "format_hl7_datetime", "parse_hl7_datetime"]
