"""HL7 v2 ORU^R01 (IHE PCD-01 "communicate PCD data") over MLLP: vitals out, an ACK back for each.

Pure: bytes in (any chunking), observations and MLLP-framed ACKs out. Each message gets exactly
one ACK: ``AA`` when used, ``AE`` when read but some vital rows could not be used (the good rows
are still returned), ``AR`` when rejected whole (not ORU^R01, unsupported version, unreadable,
too large). The reason is in MSA-3 and in an ERR segment.

What is read (MON-4, MON-6):
- Vitals are OBX rows whose OBX-3 code is in ``drivers.mdc`` (MDC or LOINC); other rows (glucose,
  weight, temperature, device context...) are skipped and do not make the ACK an error.
- OBX-5 is the number (OBX-2 must be NM); OBX-6 its unit, converted to the canonical unit.
- ``measured_at``: the row's OBX-14, else the nearest parent row's OBX-14 (PCD-01 nests rows by
  OBX-4 "mds.vmd.chan.metric", zero-padded or short; a compound's time covers its parts), else
  OBR-7, else MSH-7, else the arrival time. A time without a UTC offset is read in ``device_tz``
  (default UTC; ``make_driver`` passes the device's clock setting). With ``use_device_time=False``
  every value is stamped on arrival (a sender whose clock cannot be trusted).
- Quality: OBX-11 F/R/C/P/U is valid; X (cannot be obtained), D (deleted), W (wrong), a missing
  status and anything else is UNKNOWN with the reason in ``detail``. OBX-8 null flavours (NAV,
  OFF, NAN...), QUES (questionable) and off-scale (< >) also make a value UNKNOWN.
- ``source``: ``"{driver source}/{equipment}"`` where equipment is the row's OBX-18 (else its
  nearest parent's, usually the MDS row carrying the device EUI-64), e.g.
  ``"bed1-gateway/0123456789ABCDEF"``; the driver's own source when no row names a device.

hl7apy is slow on large or deeply repeated input, so a message is size-capped by the framer and
checked by a fast pre-reader (segment ids, counts of segments, components and repetitions)
before hl7apy sees it; any exception from parsing becomes a counted rejection, never a raise.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from typing import Any, ClassVar

from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from drivers.mdc import CodeConflictError, UnitNotAcceptedError, to_canonical, vital_for_code
from drivers.mllp import DEFAULT_MAX_MESSAGE_BYTES, MllpFramer, MllpRejection, frame
from drivers.types import (
    CANONICAL_UNIT,
    DecodeResult,
    FrameCounters,
    FrameRejection,
    LineSettings,
    Observation,
    Quality,
    Stamp,
)

log = logging.getLogger(__name__)

#: HL7 versions whose ORU^R01 carries everything PCD-01 needs (OBX-18, DTM with offsets).
SUPPORTED_VERSIONS: frozenset[str] = frozenset(
    {"2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"}
)

#: OBX-11 result status (HL7 table 0085) -> (quality, detail). Absent codes are UNKNOWN.
RESULT_STATUS_QUALITY: dict[str, tuple[Quality, str]] = {
    "F": (Quality.VALID, ""),
    "R": (Quality.VALID, ""),
    "C": (Quality.VALID, ""),
    "P": (Quality.VALID, ""),
    "U": (Quality.VALID, ""),
    "X": (Quality.UNKNOWN, "result cannot be obtained (OBX-11 X)"),
    "D": (Quality.UNKNOWN, "result deleted (OBX-11 D)"),
    "W": (Quality.UNKNOWN, "result posted as wrong (OBX-11 W)"),
}

#: OBX-8 flags that say a value must not be trusted: PCD null flavours, questionable, off scale.
UNTRUSTED_FLAGS: dict[str, str] = {
    "NI": "no information (OBX-8 NI)",
    "NA": "not applicable (OBX-8 NA)",
    "NAV": "temporarily not available (OBX-8 NAV)",
    "OFF": "measurement switched off (OBX-8 OFF)",
    "MSK": "masked (OBX-8 MSK)",
    "OTH": "value not in domain (OBX-8 OTH)",
    "NAN": "not a number (OBX-8 NAN)",
    "PINF": "positive infinity (OBX-8 PINF)",
    "NINF": "negative infinity (OBX-8 NINF)",
    "QUES": "questionable (OBX-8 QUES)",
    "<": "below the instrument's scale (OBX-8 <)",
    ">": "above the instrument's scale (OBX-8 >)",
}

#: HL7 table 0357 message error codes used in ERR-3.
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

_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_DTM = re.compile(
    r"(?P<y>\d{4})(?P<mo>\d{2})(?P<d>\d{2})(?P<h>\d{2})(?P<mi>\d{2})(?P<s>\d{2})?"
    r"(?:\.(?P<frac>\d{1,4}))?(?P<tz>[+-]\d{4})?"
)
_NM = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_TOP_LEVEL_SEGMENTS = frozenset({"MSH", "SFT", "UAC", "DSC"})


@dataclass(frozen=True, slots=True)
class Hl7Limits:
    """Caps that keep one hostile message from stalling the link (hl7apy is superlinear)."""

    max_segments: int = 200
    max_component_separators: int = 4000
    max_repetition_separators: int = 200


class Hl7DateTimeError(ValueError):
    """An HL7 DTM that is not ``YYYYMMDDHHMM[SS[.S...]][+/-ZZZZ]``."""


def parse_hl7_datetime(text: str, default_tz: tzinfo = UTC) -> datetime:
    """An HL7 DTM as an aware UTC datetime; no offset means ``default_tz`` (minute precision at least)."""
    m = _DTM.fullmatch(text.strip())
    if m is None:
        raise Hl7DateTimeError(f"{text!r} is not an HL7 date/time YYYYMMDDHHMM[SS][+/-ZZZZ]")
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


def escape_hl7(text: str) -> str:
    """Text made safe for a field with the standard delimiters ``|^~\\&`` (control bytes removed)."""
    text = "".join(ch if ch >= " " else " " for ch in text)
    return (
        text.replace("\\", "\\E\\")
        .replace("|", "\\F\\")
        .replace("^", "\\S\\")
        .replace("&", "\\T\\")
        .replace("~", "\\R\\")
    )


def _without_content(reason: str) -> str:
    """A rejection reason as safe to log: no bytes of the message itself (issue 11: rejection lines
    carried PID fragments). Quoted fragments and a library's error text are cut; the ACK keeps them."""
    cut = min((i for i in (reason.find("'"), reason.find('"')) if i >= 0), default=len(reason))
    text = reason[:cut].rstrip(": ")
    if text.startswith("HL7 grammar: "):
        text = ": ".join(text.split(": ")[:2])
    return text


class _MessageRejected(Exception):
    """A whole message cannot be used; carries the ACK code and HL7 error code."""

    def __init__(self, ack_code: str, error_code: int, reason: str) -> None:
        super().__init__(reason)
        self.ack_code = ack_code
        self.error_code = error_code
        self.reason = reason


@dataclass(frozen=True, slots=True)
class _Delimiters:
    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    def unescape(self, text: str) -> str:
        """Undo HL7 escapes; formatting escapes (\\H\\, \\N\\, \\.br\\...) are dropped."""
        esc = self.escape
        if not esc or esc not in text:
            return text
        table = {"F": self.field, "S": self.component, "T": self.subcomponent, "R": self.repetition, "E": esc}
        out: list[str] = []
        i = 0
        while i < len(text):
            if text[i] == esc:
                j = text.find(esc, i + 1)
                if j > i:
                    out.append(table.get(text[i + 1 : j], ""))
                    i = j + 1
                    continue
            out.append(text[i])
            i += 1
        return "".join(out)


@dataclass(frozen=True, slots=True)
class _Header:
    """The MSH fields an ACK needs, read without hl7apy so even a broken message gets one."""

    delimiters: _Delimiters
    fields: tuple[str, ...]  # fields[n] is MSH-n (MSH-1 is the field separator)

    def get(self, n: int, component: int = 1) -> str:
        if n >= len(self.fields):
            return ""
        raw = self.fields[n].split(self.delimiters.repetition)[0]
        parts = raw.split(self.delimiters.component)
        return self.delimiters.unescape(parts[component - 1]) if component <= len(parts) else ""

    def text(self, n: int) -> str:
        """Field n's first repetition as one unescaped string (for ST fields like MSH-10)."""
        if n >= len(self.fields):
            return ""
        return self.delimiters.unescape(self.fields[n].split(self.delimiters.repetition)[0])

    def components(self, n: int) -> list[str]:
        if n >= len(self.fields):
            return []
        raw = self.fields[n].split(self.delimiters.repetition)[0]
        return [self.delimiters.unescape(p) for p in raw.split(self.delimiters.component)]


def _read_header(first_segment: str) -> _Header:
    if not first_segment.startswith("MSH") or len(first_segment) < 8:
        raise _MessageRejected("AR", 100, "message does not start with an MSH segment")
    sep = first_segment[3]
    enc = first_segment[4:].split(sep, 1)[0]
    if len(enc) < 4 or sep.isalnum() or sep.isspace() or len(set(sep + enc[:4])) != 5:
        raise _MessageRejected("AR", 102, "MSH-1/MSH-2 do not declare five distinct delimiters")
    delimiters = _Delimiters(sep, enc[0], enc[1], enc[2], enc[3])
    parts = first_segment.split(sep)
    # parts[0] = "MSH", parts[1] = MSH-2; MSH-1 is the separator itself.
    fields = ("MSH", sep, *parts[1:])
    return _Header(delimiters, tuple(fields))


def _header_from_bytes(raw: bytes) -> _Header | None:
    """Best-effort MSH read from (the head of) a block, for an ACK to a rejected one."""
    text = raw.decode("latin-1")
    first = re.split(r"[\r\n]", text, maxsplit=1)[0]
    try:
        return _read_header(first)
    except _MessageRejected:
        return None


@dataclass(slots=True)
class _RowContext:
    """Per OBR: each OBX-4 sub-id's own time and equipment, for its children to inherit."""

    times: dict[str, datetime] = field(default_factory=dict)
    equipment: dict[str, str] = field(default_factory=dict)

    def inherited(self, table: dict[str, Any], sub_id: str) -> Any:
        """The nearest parent's entry. Parents of 1.1.1.1 are 1.1.1.0, 1.1.0.0, 1.0.0.0 (PCD-01's
        zero-padded mds.vmd.chan.metric) and 1.1.1, 1.1, 1 (the Continua WAN short form)."""
        parts = sub_id.split(".")
        for n in range(len(parts) - 1, 0, -1):
            for parent in (".".join(parts[:n] + ["0"] * (len(parts) - n)), ".".join(parts[:n])):
                if parent != sub_id and parent in table:
                    return table[parent]
        return None


class Hl7Pcd01Driver:
    """IHE PCD-01 ORU^R01 messages in MLLP blocks -> vitals, plus one MLLP-framed ACK per message."""

    protocol: ClassVar[str] = "hl7-pcd01"
    line_settings: ClassVar[LineSettings | None] = None
    can_start_nibp: ClassVar[bool] = False

    def __init__(
        self,
        source: str,
        max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
        *,
        device_tz: tzinfo = UTC,
        use_device_time: bool = True,
        limits: Hl7Limits | None = None,
        receiving_application: str = "BEDSIDE",
    ) -> None:
        self.source = source
        self.counters = FrameCounters()
        self.device_tz = device_tz
        self.use_device_time = use_device_time
        self.limits = limits or Hl7Limits()
        self.receiving_application = receiving_application
        self._framer = MllpFramer(max_message_bytes)
        self._acks_sent = 0

    def start_nibp_command(self) -> None:
        """PCD-01 is one-way results: a gateway cannot be asked to start a cuff cycle."""
        return None

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult:
        """Consume a chunk; return the vitals of each complete message and its ACK."""
        observations: list[Observation] = []
        replies: list[bytes] = []
        rejections: list[FrameRejection] = []
        before = self._framer.counters.bytes_discarded
        items = self._framer.feed(data)
        for item in items:
            if isinstance(item, MllpRejection):
                header = _header_from_bytes(item.head)
                replies.append(self._ack(header, "AR", stamp, [(100, item.reason)]))
                self._count_rejection(rejections, item.reason, item.head)
                continue
            obs, reply, problem = self._decode_message(item, stamp)
            observations.extend(obs)
            replies.append(reply)
            if problem:
                self._count_rejection(rejections, problem, item[:256])
            else:
                self.counters.frames_ok += 1
        self.counters.bytes_discarded += self._framer.counters.bytes_discarded - before
        return DecodeResult(
            tuple(observations), tuple(replies), tuple(rejections), len(items) - len(rejections)
        )

    def _count_rejection(self, rejections: list[FrameRejection], reason: str, raw: bytes) -> None:
        self.counters.frames_rejected += 1
        self.counters.last_rejection = reason
        rejections.append(FrameRejection(reason, raw))

    def _decode_message(self, raw: bytes, stamp: Stamp) -> tuple[list[Observation], bytes, str]:
        """(observations, ACK, problem) for one message; problem is "" when the ACK is AA."""
        header: _Header | None = None
        try:
            segments = self._split_segments(raw)
            header = _read_header(segments[0])
            self._precheck(header, segments)
            observations, row_errors = self._read_observations(header, segments, stamp)
        except _MessageRejected as rejected:
            log.info("HL7 message rejected (%s): %s", rejected.ack_code, _without_content(rejected.reason))
            ack = self._ack(header, rejected.ack_code, stamp, [(rejected.error_code, rejected.reason)])
            return [], ack, rejected.reason
        except Exception as exc:  # hl7apy or a malformed value: never out of feed
            # No traceback: an exception's text may quote the message, and with it the patient's PID.
            log.warning("HL7 message could not be read (%s); the sender got an AE", type(exc).__name__)
            reason = f"message could not be read: {type(exc).__name__}: {exc}"[:240]
            return [], self._ack(header, "AE", stamp, [(207, reason)]), reason
        if row_errors:
            reason = "; ".join(text for _, text in row_errors)
            return observations, self._ack(header, "AE", stamp, row_errors), reason
        return observations, self._ack(header, "AA", stamp, []), ""

    def _split_segments(self, raw: bytes) -> list[str]:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")  # HL7's common 8859/1; never fails
        # Files and some senders end segments with \n or \r\n; HL7 itself uses \r.
        text = text.replace("\r\n", "\r").replace("\n", "\r")
        segments = [s for s in text.split("\r") if s.strip()]
        if not segments:
            raise _MessageRejected("AR", 100, "empty message")
        return segments

    def _precheck(self, header: _Header, segments: list[str]) -> None:
        """Cheap checks that decide AR before hl7apy spends time on a message."""
        limits = self.limits
        if len(segments) > limits.max_segments:
            raise _MessageRejected("AR", 100, f"{len(segments)} segments; the limit is {limits.max_segments}")
        d = header.delimiters
        components = repetitions = 0
        for n, segment in enumerate(segments, start=1):
            seg_id = segment[:3]
            if not _SEGMENT_ID.fullmatch(seg_id) or (len(segment) > 3 and segment[3] != d.field):
                raise _MessageRejected(
                    "AR", 100, f"segment {n} does not start with a segment id: {segment[:8]!r}"
                )
            if n > 1 and seg_id == "MSH":
                raise _MessageRejected("AR", 100, f"segment {n} is a second MSH (two messages in one block?)")
            components += segment.count(d.component)
            repetitions += segment.count(d.repetition)
        if components > limits.max_component_separators or repetitions > limits.max_repetition_separators:
            raise _MessageRejected(
                "AR", 100, "message has too many components or repetitions to be a PCD-01 result"
            )
        msg_type = header.components(9)
        code = msg_type[0] if msg_type else ""
        trigger = msg_type[1] if len(msg_type) > 1 else ""
        if code != "ORU":
            raise _MessageRejected(
                "AR", 200, f"message type {code or '(none)'} is not ORU (IHE PCD-01 results only)"
            )
        if trigger != "R01":
            raise _MessageRejected("AR", 201, f"event {code}^{trigger or '(none)'} is not ORU^R01")
        version = header.get(12)
        if version not in SUPPORTED_VERSIONS:
            raise _MessageRejected(
                "AR",
                203,
                f"HL7 version {version or '(none)'} is not supported (2.5 to 2.8.2; PCD-01 uses 2.6)",
            )

    def _read_observations(
        self, header: _Header, segments: list[str], stamp: Stamp
    ) -> tuple[list[Observation], list[tuple[int, str]]]:
        try:
            message = parse_message(
                "\r".join(segments), validation_level=VALIDATION_LEVEL.TOLERANT, find_groups=True
            )
        except Exception as exc:
            raise _MessageRejected("AR", 102, f"HL7 grammar: {type(exc).__name__}: {exc}"[:240]) from None
        d = header.delimiters
        msh_time = self._optional_time(header.get(7), "MSH-7", [])
        errors: list[tuple[int, str]] = []
        orders = self._order_groups(message)
        if not orders:
            raise _MessageRejected("AR", 100, "no OBR order group: an ORU^R01 needs OBR before its OBX rows")
        observations: list[Observation] = []
        for obr, obx_rows in orders:
            obr_time = self._optional_time(_components(obr, 7, d)[0], "OBR-7", errors) or msh_time
            context = _RowContext()
            for obx in obx_rows:
                obs = self._read_obx(obx, d=d, context=context, obr_time=obr_time, stamp=stamp, errors=errors)
                if obs is not None:
                    observations.append(obs)
        return observations, errors

    def _order_groups(self, message: Any) -> list[tuple[Any, list[Any]]]:
        """(OBR, its OBX rows) per order group; a stray OBX or misplaced segment is a sequence error."""
        orders: list[tuple[Any, list[Any]]] = []
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
                obr = None
                rows: list[Any] = []
                for child in group.children:
                    if child.classname == "Segment" and child.name == "OBR":
                        obr = child
                    elif child.classname == "Group" and child.name.endswith("_OBSERVATION"):
                        rows.extend(c for c in child.children if c.name == "OBX")
                    elif _contains_obx(child):
                        raise _MessageRejected("AR", 100, "an OBX row is outside its OBR observation group")
                if obr is None:
                    raise _MessageRejected("AR", 100, "an order group has OBX rows but no OBR")
                orders.append((obr, rows))
        return orders

    def _read_obx(
        self,
        obx: Any,
        *,
        d: _Delimiters,
        context: _RowContext,
        obr_time: datetime | None,
        stamp: Stamp,
        errors: list[tuple[int, str]],
    ) -> Observation | None:
        set_id = _components(obx, 1, d)[0] or "?"
        where = f"OBX {set_id}"
        value_type = _components(obx, 2, d)[0]
        ident = _components(obx, 3, d)
        sub_id = _components(obx, 4, d)[0].strip()
        values = _repetitions(obx, 5)
        has_value = any(v.strip() for v in values)
        errors_before = len(errors)
        own_time = self._optional_time(_components(obx, 14, d)[0], f"{where} OBX-14", errors)
        bad_time = len(errors) > errors_before
        equipment = _equipment(_components(obx, 18, d))
        if sub_id:
            if own_time is not None:
                context.times[sub_id] = own_time
            if equipment:
                context.equipment[sub_id] = equipment
        if has_value and not value_type:
            errors.append((101, f"{where}: OBX-5 has a value but OBX-2 (value type) is empty"))
            return None
        try:
            vital = vital_for_code(ident[0], _at(ident, 2), _at(ident, 1))
            if vital is None and _at(ident, 3):
                vital = vital_for_code(_at(ident, 3), _at(ident, 5), _at(ident, 4))
        except CodeConflictError as exc:
            errors.append((103, f"{where}: {exc}"))
            return None
        if vital is None:
            return None  # not a vital Bedside tracks (glucose, weight, device context...)
        kind = vital.kind
        if bad_time:
            return None  # a vital with an unreadable time of its own is not placed at a guessed time
        if has_value and value_type != "NM":
            errors.append((102, f"{where}: {kind.value} must be NM, not {value_type}"))
            return None
        if len([v for v in values if v.strip()]) > 1:
            errors.append((102, f"{where}: {kind.value} has more than one value"))
            return None
        value: float | None = None
        unit = CANONICAL_UNIT[kind]
        if has_value:
            text = next(v for v in values if v.strip()).strip()
            if not _NM.fullmatch(text) or not math.isfinite(float(text)):
                errors.append((102, f"{where}: {kind.value} value {text[:20]!r} is not a number"))
                return None
            units = _components(obx, 6, d)
            try:
                value = to_canonical(kind, float(text), units[0], _at(units, 2), _at(units, 1))
            except UnitNotAcceptedError as exc:
                errors.append((103, f"{where}: {exc}"))
                return None
        quality, detail = self._quality(_components(obx, 11, d)[0].strip(), _repetitions(obx, 8))
        if value is None and quality is Quality.VALID:
            quality, detail = Quality.UNKNOWN, "no value in OBX-5"
        measured_at = (
            stamp.wall
            if not self.use_device_time
            else (
                own_time
                or (context.inherited(context.times, sub_id) if sub_id else None)
                or obr_time
                or stamp.wall
            )
        )
        device = equipment or (context.inherited(context.equipment, sub_id) if sub_id else None)
        return Observation(
            kind=kind,
            value=value,
            unit=unit,
            measured_at=measured_at,
            received_at=stamp.wall,
            received_mono=stamp.mono,
            source=f"{self.source}/{device}" if device else self.source,
            quality=quality,
            detail=detail,
        )

    @staticmethod
    def _quality(status: str, flags: list[str]) -> tuple[Quality, str]:
        if not status:
            return Quality.UNKNOWN, "no result status (OBX-11 empty)"
        quality, detail = RESULT_STATUS_QUALITY.get(
            status, (Quality.UNKNOWN, f"result status {status[:8]!r} (OBX-11) is not a usable result")
        )
        if quality is Quality.VALID:
            for flag in flags:
                reason = UNTRUSTED_FLAGS.get(flag.strip())
                if reason:
                    return Quality.UNKNOWN, reason
        return quality, detail

    def _optional_time(self, text: str, where: str, errors: list[tuple[int, str]]) -> datetime | None:
        if not text.strip():
            return None
        try:
            return parse_hl7_datetime(text, self.device_tz)
        except Hl7DateTimeError as exc:
            errors.append((102, f"{where}: {exc}"))
            return None

    def _ack(self, header: _Header | None, code: str, stamp: Stamp, errors: list[tuple[int, str]]) -> bytes:
        """An MLLP-framed ACK (standard delimiters) echoing MSH-10, with MSA-3 and ERR reasons."""
        self._acks_sent += 1
        control_id = header.text(10) if header else ""
        version = header.get(12) if header else ""
        trigger = header.get(9, 2) if header else ""
        processing = header.get(11) if header else ""
        sender = header.components(3) if header else []
        facility = header.components(4) if header else []
        msh = "|".join(
            [
                "MSH",
                "^~\\&",
                escape_hl7(self.receiving_application),
                "",
                "^".join(escape_hl7(c) for c in sender),
                "^".join(escape_hl7(c) for c in facility),
                format_hl7_datetime(stamp.wall),
                "",
                f"ACK^{escape_hl7(trigger or 'R01')}^ACK",
                f"BEDSIDE-ACK-{self._acks_sent}",
                processing if processing in ("P", "T", "D") else "P",
                version if version in SUPPORTED_VERSIONS else "2.6",
                "",
                "",
                "NE",
                "NE",
            ]
        )
        reason = "; ".join(text for _, text in errors)
        segments = [msh, f"MSA|{code}|{escape_hl7(control_id)}|{escape_hl7(reason[:80])}"]
        severity = "E" if code != "AA" else "I"
        for error_code, text in errors[:10]:
            err_text = ERROR_TEXT.get(error_code, "")
            segments.append(f"ERR|||{error_code}^{err_text}^HL70357|{severity}||||{escape_hl7(text[:250])}")
        return frame(("\r".join(segments) + "\r").encode("utf-8"))


def _contains_obx(node: Any) -> bool:
    if node.classname == "Segment":
        return bool(node.name == "OBX")
    return any(_contains_obx(c) for c in node.children)


def _repetitions(segment: Any, n: int) -> list[str]:
    """Raw ER7 text of each repetition of field n (components still joined)."""
    name = f"{segment.name}_{n}"
    return [str(f.to_er7()) for f in segment.children if f.name == name]


def _components(segment: Any, n: int, d: _Delimiters) -> list[str]:
    """Unescaped components of the first repetition of field n; [""] when the field is empty."""
    reps = _repetitions(segment, n)
    if not reps:
        return [""]
    return [d.unescape(c) for c in reps[0].split(d.component)]


def _at(items: list[str], index: int) -> str:
    return items[index] if index < len(items) else ""


def _equipment(ei: list[str]) -> str:
    """The device id in an OBX-18 EI: the part tagged EUI-64 if any, else its first non-empty part."""
    for i, part in enumerate(ei):
        if part.strip().upper() in ("EUI-64", "EUI64") and i > 0 and ei[i - 1].strip():
            return ei[i - 1].strip()
    return next((p.strip() for p in ei if p.strip()), "")
