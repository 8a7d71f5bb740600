"""HL7 v2 ORU^R01 (IHE PCD-01 "communicate PCD data") over MLLP: vitals out, an ACK back for each.

Pure: bytes in (any chunking), observations and MLLP-framed ACKs out. Each message gets exactly
one ACK: ``AA`` when used, ``AE`` when read but some vital rows could not be used (the good rows
are still returned), ``AR`` when rejected whole (not ORU^R01, unsupported version, unreadable,
too large). The reason is in an ERR segment (and MSA-3 before v2.7).

What is read (MON-4, MON-6):
- Versions 2.3 to 2.8.2. Rows are read segment by segment (``drivers.hl7.er7``): an OBX belongs
  to the OBR before it, an OBX after SPM describes the specimen and is skipped; no grammar and
  no group finding, so the cost is linear in the message's size whatever its shape.
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
- ``simulated``: MSH-11 processing id T (training) or D (debugging) marks every value of the
  message as simulated (DRL-1): Bedside's own HL7 simulator sends T.

Nothing from PID or PV1 is ever logged: a log line names the message by its control id, the
segment and the HL7 error code only.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import ClassVar, TypeVar

from drivers.hl7.ack import ERROR_TEXT, build_ack
from drivers.hl7.dtm import Hl7DateTimeError, parse_hl7_datetime
from drivers.hl7.er7 import (
    SEGMENT_ID,
    Delimiters,
    Er7Error,
    Segment,
    decode_text,
    read_delimiters,
    split_segments,
)
from drivers.mdc import CodeConflictError, UnitNotAcceptedError, to_canonical, vital_for_code
from drivers.mllp import DEFAULT_MAX_MESSAGE_BYTES, MllpFramer, MllpRejection, frame
from drivers.ranges import screen
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

#: HL7 versions accepted: every ORU^R01 from 2.3 (older gateways) to 2.8.2 carries OBX-2..14.
SUPPORTED_VERSIONS: frozenset[str] = frozenset(
    {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8", "2.8.1", "2.8.2"}
)

#: Processing ids (MSH-11) that mark a message as not from a patient: training, debugging.
SIMULATED_PROCESSING_IDS: frozenset[str] = frozenset({"T", "D"})

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

#: Segments an ORU^R01 may carry (v2.3 to v2.8.2) besides OBR/OBX/SPM; Z-segments are also let by.
ORU_R01_SEGMENTS: frozenset[str] = frozenset(
    {"SFT", "UAC", "PID", "PD1", "PRT", "NTE", "NK1", "ARV", "PV1", "PV2", "ORC", "TQ1", "TQ2", "CTD"}
    | {"FT1", "CTI", "DSC", "OH1", "OH2", "OH3", "OH4"}
)

_T = TypeVar("_T")
_NM = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)")
_LOGGABLE_ID = re.compile(r"[A-Za-z0-9._:\-]{1,40}")


@dataclass(frozen=True, slots=True)
class Hl7Limits:
    """Caps on one message's shape. Reading is linear, so these bound what a message can ask of
    the rest of the monitor (observations per message), not the parser's time."""

    max_segments: int = 1000
    max_component_separators: int = 20000
    max_repetition_separators: int = 2000


class _MessageRejected(Exception):
    """A whole message cannot be used; carries the ACK code, HL7 error code and the segment."""

    def __init__(self, ack_code: str, error_code: int, reason: str, where: str = "") -> None:
        super().__init__(reason)
        self.ack_code = ack_code
        self.error_code = error_code
        self.reason = reason
        self.where = where


@dataclass(slots=True)
class OrderGroup:
    """One OBR and the OBX rows that report its results (specimen rows excluded)."""

    obr: Segment
    rows: list[Segment] = field(default_factory=list)


def order_groups(segments: list[Segment]) -> list[OrderGroup]:
    """(OBR, its OBX rows) per order, by walking the segments once; raises on a stray OBX."""
    orders: list[OrderGroup] = []
    current: OrderGroup | None = None
    in_specimen = False
    for n, seg in enumerate(segments[1:], start=2):
        sid = seg.id
        if sid == "OBX":
            if current is None:
                raise _MessageRejected(
                    "AR", 100, "an OBX row is outside any OBR order group", f"OBX (segment {n})"
                )
            if not in_specimen:
                current.rows.append(seg)
        elif sid == "OBR":
            current = OrderGroup(seg)
            orders.append(current)
            in_specimen = False
        elif sid == "SPM":
            if current is None:
                raise _MessageRejected("AR", 100, "an SPM segment is outside any OBR order group", "SPM")
            in_specimen = True
        elif sid in ("PID", "ORC"):
            current = None  # a new patient or order starts: an OBX now needs its OBR first
            in_specimen = False
        elif sid not in ORU_R01_SEGMENTS and not sid.startswith("Z"):
            raise _MessageRejected("AR", 100, f"segment {sid} is not part of an ORU^R01", sid)
    return orders


@dataclass(slots=True)
class _RowContext:
    """Per OBR: each OBX-4 sub-id's own time and equipment, for its children to inherit."""

    times: dict[str, datetime] = field(default_factory=dict)
    equipment: dict[str, str] = field(default_factory=dict)

    @staticmethod
    def inherited(table: dict[str, _T], sub_id: str) -> _T | None:
        """The nearest parent's entry. Parents of 1.1.1.1 are 1.1.1.0, 1.1.0.0, 1.0.0.0 (PCD-01's
        zero-padded mds.vmd.chan.metric) and 1.1.1, 1.1, 1 (the Continua WAN short form)."""
        parts = sub_id.split(".")[:8]  # PCD-01 nests four deep; a longer id is not searched further
        for n in range(len(parts) - 1, 0, -1):
            for parent in (".".join(parts[:n] + ["0"] * (len(parts) - n)), ".".join(parts[:n])):
                if parent != sub_id and parent in table:
                    return table[parent]
        return None


#: Reads segments into order groups: the ER7 walk by default, hl7apy's grammar for cross-checks.
OrderReader = Callable[[str, list[str], Delimiters], list[OrderGroup]]


def er7_orders(text: str, segments: list[str], delimiters: Delimiters) -> list[OrderGroup]:
    """The fast path: segment-level split and one walk (``text`` is unused here)."""
    return order_groups([Segment(s, delimiters) for s in segments])


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
        receiving_facility: str = "",
        order_reader: OrderReader = er7_orders,
    ) -> None:
        self.source = source
        self.counters = FrameCounters()
        self.device_tz = device_tz
        self.use_device_time = use_device_time
        self.limits = limits or Hl7Limits()
        self.receiving_application = receiving_application
        self.receiving_facility = receiving_facility
        self._order_reader = order_reader
        self._framer = MllpFramer(max_message_bytes)

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
                msh = _msh_from_bytes(item.head)
                log.info(
                    "HL7 block from %s refused (AR 100): MLLP framing, message %s",
                    self.source,
                    _loggable_id(msh),
                )
                replies.append(self._ack(msh, "AR", stamp, [(100, item.reason)]))
                self._count_rejection(rejections, item.reason, msh)
                continue
            obs, reply, problem, msh = self._decode_message(item, stamp)
            # A value no monitor can measure (a checksum-free wire lets a mutation through) is kept
            # but marked implausible, never judged or plotted as valid (issue 11, MON-6, ALM-2).
            screened = screen(self.protocol, obs)
            self.counters.count_implausible(screened)
            observations.extend(screened)
            replies.append(reply)
            if problem:
                self._count_rejection(rejections, problem, msh)
            else:
                self.counters.frames_ok += 1
        self.counters.bytes_discarded += self._framer.counters.bytes_discarded - before
        return DecodeResult(
            tuple(observations), tuple(replies), tuple(rejections), len(items) - len(rejections)
        )

    def _count_rejection(self, rejections: list[FrameRejection], reason: str, msh: Segment | None) -> None:
        self.counters.frames_rejected += 1
        self.counters.last_rejection = reason
        # Only MSH-1..12 go with a rejection: the rest of a message (and, when a segment end was
        # lost, the rest of a broken MSH) may name the patient.
        head = msh.fields[:1] + msh.fields[2:13] if msh is not None else []
        raw = msh.delimiters.field.join(head)[:256].encode("utf-8") if msh is not None else b""
        rejections.append(FrameRejection(reason, raw))

    def _decode_message(
        self, raw: bytes, stamp: Stamp
    ) -> tuple[list[Observation], bytes, str, Segment | None]:
        """(observations, ACK, problem, MSH) for one message; problem is "" when the ACK is AA."""
        msh: Segment | None = None
        try:
            text = decode_text(raw)
            segments = split_segments(text)
            if not segments:
                raise _MessageRejected("AR", 100, "empty message")
            try:
                delimiters = read_delimiters(segments[0])
            except Er7Error as exc:
                code = 100 if "MSH segment" in str(exc) else 102
                raise _MessageRejected("AR", code, str(exc), "MSH") from None
            msh = Segment(segments[0], delimiters)
            self._precheck(msh, segments)
            orders = self._order_reader(text, segments, delimiters)
            if not orders:
                raise _MessageRejected(
                    "AR", 100, "no OBR order group: an ORU^R01 needs OBR before its OBX rows"
                )
            observations, row_errors = self._read_observations(msh, orders, stamp)
        except _MessageRejected as rejected:
            log.info(
                "HL7 message %s from %s refused (%s %d %s)%s",
                _loggable_id(msh),
                self.source,
                rejected.ack_code,
                rejected.error_code,
                ERROR_TEXT.get(rejected.error_code, ""),
                f" at {rejected.where}" if rejected.where else "",
            )
            ack = self._ack(msh, rejected.ack_code, stamp, [(rejected.error_code, rejected.reason)])
            return [], ack, rejected.reason, msh
        except Exception as exc:  # a bug or a value nothing above foresaw: never out of feed
            log.warning(
                "HL7 message %s from %s could not be read (AE 207): %s",
                _loggable_id(msh),
                self.source,
                type(exc).__name__,
            )
            reason = f"message could not be read: {type(exc).__name__}"
            return [], self._ack(msh, "AE", stamp, [(207, reason)]), reason, msh
        if row_errors:
            log.info(
                "HL7 message %s from %s accepted with row errors (AE): %s",
                _loggable_id(msh),
                self.source,
                ", ".join(f"{code} at {where}" for code, where, _ in row_errors[:10]),
            )
            errors = [(code, f"{where}: {text}") for code, where, text in row_errors]
            reason = "; ".join(text for _, text in errors)
            return observations, self._ack(msh, "AE", stamp, errors), reason, msh
        return observations, self._ack(msh, "AA", stamp, []), "", msh

    def _precheck(self, msh: Segment, segments: list[str]) -> None:
        """Cheap whole-message checks that decide AR before any row is read."""
        limits = self.limits
        if len(segments) > limits.max_segments:
            raise _MessageRejected("AR", 100, f"{len(segments)} segments; the limit is {limits.max_segments}")
        d = msh.delimiters
        components = repetitions = 0
        for n, segment in enumerate(segments, start=1):
            seg_id = segment[:3]
            if not SEGMENT_ID.fullmatch(seg_id) or (len(segment) > 3 and segment[3] != d.field):
                # Never quote the segment: a broken line may be the middle of a patient's name.
                raise _MessageRejected("AR", 100, f"segment {n} does not start with a segment id")
            if n > 1 and seg_id == "MSH":
                raise _MessageRejected("AR", 100, f"segment {n} is a second MSH (two messages in one block?)")
            components += segment.count(d.component)
            repetitions += segment.count(d.repetition)
        if components > limits.max_component_separators or repetitions > limits.max_repetition_separators:
            raise _MessageRejected(
                "AR", 100, "message has too many components or repetitions to be a PCD-01 result"
            )
        code = msh.component(9, 1)
        trigger = msh.component(9, 2)
        if code != "ORU":
            raise _MessageRejected(
                "AR", 200, f"message type {code[:10] or '(none)'} is not ORU (IHE PCD-01 results only)", "MSH"
            )
        if trigger != "R01":
            raise _MessageRejected(
                "AR", 201, f"event {code}^{trigger[:10] or '(none)'} is not ORU^R01", "MSH"
            )
        version = msh.component(12)
        if version not in SUPPORTED_VERSIONS:
            raise _MessageRejected(
                "AR",
                203,
                f"HL7 version {version[:10] or '(none)'} is not supported (2.3 to 2.8.2; PCD-01 uses 2.6)",
                "MSH",
            )

    def _read_observations(
        self, msh: Segment, orders: list[OrderGroup], stamp: Stamp
    ) -> tuple[list[Observation], list[tuple[int, str, str]]]:
        errors: list[tuple[int, str, str]] = []
        msh_time = self._optional_time(msh.component(7), "MSH-7", errors, "MSH")
        simulated = msh.component(11) in SIMULATED_PROCESSING_IDS
        observations: list[Observation] = []
        for order in orders:
            obr_time = self._optional_time(order.obr.component(7), "OBR-7", errors, "OBR") or msh_time
            context = _RowContext()
            for obx in order.rows:
                obs = self._read_obx(obx, context=context, obr_time=obr_time, stamp=stamp, errors=errors)
                if obs is not None:
                    observations.append(obs if not simulated else _as_simulated(obs))
        return observations, errors

    def _read_obx(
        self,
        obx: Segment,
        *,
        context: _RowContext,
        obr_time: datetime | None,
        stamp: Stamp,
        errors: list[tuple[int, str, str]],
    ) -> Observation | None:
        set_id = obx.component(1)[:10] or "?"
        where = f"OBX {set_id}"
        value_type = obx.component(2)
        ident = obx.components(3)
        sub_id = obx.component(4).strip()
        values = obx.repetitions(5)
        has_value = any(v.strip() for v in values)
        errors_before = len(errors)
        own_time = self._optional_time(obx.component(14), "OBX-14", errors, where)
        bad_time = len(errors) > errors_before
        equipment = _equipment(obx.components(18))
        if sub_id:
            if own_time is not None:
                context.times[sub_id] = own_time
            if equipment:
                context.equipment[sub_id] = equipment
        if has_value and not value_type:
            errors.append((101, where, "OBX-5 has a value but OBX-2 (value type) is empty"))
            return None
        try:
            vital = vital_for_code(ident[0], _at(ident, 2), _at(ident, 1))
            if vital is None and _at(ident, 3):
                vital = vital_for_code(_at(ident, 3), _at(ident, 5), _at(ident, 4))
        except CodeConflictError as exc:
            errors.append((103, where, str(exc)))
            return None
        if vital is None:
            return None  # not a vital Bedside tracks (glucose, weight, device context...)
        kind = vital.kind
        if bad_time:
            return None  # a vital with an unreadable time of its own is not placed at a guessed time
        if has_value and value_type != "NM":
            errors.append((102, where, f"{kind.value} must be NM, not {value_type[:10]}"))
            return None
        present = [v for v in values if v.strip()]
        if len(present) > 1:
            errors.append((102, where, f"{kind.value} has more than one value"))
            return None
        value: float | None = None
        unit = CANONICAL_UNIT[kind]
        if present:
            text = obx.delimiters.unescape(present[0]).strip()
            if not _NM.fullmatch(text) or not math.isfinite(float(text)):
                errors.append((102, where, f"{kind.value} value {text[:20]!r} is not a number"))
                return None
            units = obx.components(6)
            try:
                value = to_canonical(kind, float(text), units[0], _at(units, 2), _at(units, 1))
            except UnitNotAcceptedError as exc:
                errors.append((103, where, str(exc)))
                return None
        flags = [obx.delimiters.unescape(f) for f in obx.repetitions(8)]
        quality, detail = self._quality(obx.component(11).strip(), flags)
        if value is None and quality is Quality.VALID:
            quality, detail = Quality.UNKNOWN, "no value in OBX-5"
        inherited_time = context.inherited(context.times, sub_id) if sub_id else None
        measured_at = (
            stamp.wall if not self.use_device_time else (own_time or inherited_time or obr_time or stamp.wall)
        )
        device = equipment or ((context.inherited(context.equipment, sub_id) or "") if sub_id else "")
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

    def _optional_time(
        self, text: str, label: str, errors: list[tuple[int, str, str]], where: str
    ) -> datetime | None:
        if not text.strip():
            return None
        try:
            return parse_hl7_datetime(text, self.device_tz)
        except Hl7DateTimeError as exc:
            errors.append((102, where, f"{label}: {exc}"))
            return None

    def _ack(self, msh: Segment | None, code: str, stamp: Stamp, errors: list[tuple[int, str]]) -> bytes:
        """An MLLP-framed ACK echoing MSH-10, with its reasons in ERR (see ``drivers.hl7.ack``)."""
        message = build_ack(
            msh,
            code,
            stamp.wall,
            errors,
            application=self.receiving_application,
            facility=self.receiving_facility,
        )
        return frame(message)


def _as_simulated(obs: Observation) -> Observation:
    return Observation(
        kind=obs.kind,
        value=obs.value,
        unit=obs.unit,
        measured_at=obs.measured_at,
        received_at=obs.received_at,
        received_mono=obs.received_mono,
        source=obs.source,
        quality=obs.quality,
        detail=obs.detail,
        simulated=True,
    )


def _msh_from_bytes(raw: bytes) -> Segment | None:
    """Best-effort MSH read from (the head of) a block, for an ACK to a rejected one."""
    text = decode_text(raw)
    first = re.split(r"[\r\n]", text, maxsplit=1)[0]
    try:
        return Segment(first, read_delimiters(first))
    except Er7Error:
        return None


def _loggable_id(msh: Segment | None) -> str:
    """MSH-10 for a log line when it looks like a control id; never free text from a message."""
    if msh is None:
        return "(no MSH)"
    control = msh.text(10)
    return control if _LOGGABLE_ID.fullmatch(control) else "(unreadable control id)"


def _at(items: list[str], index: int) -> str:
    return items[index] if index < len(items) else ""


def _equipment(ei: list[str]) -> str:
    """The device id in an OBX-18 EI: the part tagged EUI-64 if any, else its first non-empty part."""
    for i, part in enumerate(ei):
        if part.strip().upper() in ("EUI-64", "EUI64") and i > 0 and ei[i - 1].strip():
            return ei[i - 1].strip()
    return next((p.strip() for p in ei if p.strip()), "")


__all__ = [
    "ORU_R01_SEGMENTS",
    "RESULT_STATUS_QUALITY",
    "SIMULATED_PROCESSING_IDS",
    "SUPPORTED_VERSIONS",
    "UNTRUSTED_FLAGS",
    "Hl7Limits",
    "Hl7Pcd01Driver",
    "OrderGroup",
    "OrderReader",
    "er7_orders",
    "order_groups",
]
