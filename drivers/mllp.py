"""MLLP framing (HL7 v2 Minimal Lower Layer Protocol): ``0x0B <message> 0x1C 0x0D``.

Pure: bytes in, whole messages (or counted rejections) out, in any chunking. A block longer than
the size cap is rejected as soon as it passes the cap, without buffering the rest of it, and the
framer resynchronises on the next start byte.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)

START_BLOCK = 0x0B
END_BLOCK = 0x1C
CARRIAGE_RETURN = 0x0D
_SB = bytes([START_BLOCK])
_EB = bytes([END_BLOCK])

DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
#: How much of a rejected block is kept, so a reply can still name the message (MSH-10).
REJECTED_HEAD_BYTES = 1024


class MllpFramingError(ValueError):
    """A message cannot be put in an MLLP block (it contains a framing byte)."""


@dataclass(frozen=True, slots=True)
class MllpRejection:
    """A block that was not delivered: too long, cut short by a new start byte, or badly ended.

    ``head`` is the block's first bytes (at most ``REJECTED_HEAD_BYTES``), enough to read MSH.
    """

    reason: str
    head: bytes = b""


@dataclass(slots=True)
class MllpCounters:
    """Running totals of what the framer saw."""

    messages: int = 0
    rejected: int = 0
    bytes_discarded: int = 0


class _State(enum.Enum):
    OUTSIDE = enum.auto()  # between blocks: bytes here are noise
    INSIDE = enum.auto()  # collecting a block's content
    SKIPPING = enum.auto()  # inside a block already rejected as too long
    END_SEEN = enum.auto()  # 0x1C was the last byte of the previous chunk; 0x0D must follow


def frame(message: bytes) -> bytes:
    """Wrap one HL7 message in an MLLP block."""
    if START_BLOCK in message or END_BLOCK in message:
        raise MllpFramingError("an HL7 message must not contain the MLLP bytes 0x0B or 0x1C")
    return _SB + message + _EB + b"\r"


class MllpFramer:
    """Splits an MLLP byte stream into messages; everything outside a block is counted and dropped."""

    def __init__(self, max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES) -> None:
        if max_message_bytes < 1:
            raise ValueError("max_message_bytes must be at least 1")
        self.max_message_bytes = max_message_bytes
        self.counters = MllpCounters()
        self._state = _State.OUTSIDE
        self._block = bytearray()
        self._end_seen_while_skipping = False

    def feed(self, data: bytes) -> list[bytes | MllpRejection]:
        """Consume a chunk; return complete messages and rejections in the order they ended."""
        out: list[bytes | MllpRejection] = []
        i = 0
        n = len(data)
        while i < n:
            if self._state is _State.OUTSIDE:
                j = data.find(_SB, i)
                if j < 0:
                    self.counters.bytes_discarded += n - i
                    break
                self.counters.bytes_discarded += j - i
                self._begin_block()
                i = j + 1
            elif self._state is _State.END_SEEN:
                skipping = self._end_seen_while_skipping
                self._state = _State.OUTSIDE
                if data[i] == CARRIAGE_RETURN:
                    if not skipping:
                        self._deliver(out)
                    i += 1
                elif not skipping:
                    # The byte is not consumed: it may be the start of the next block.
                    self._reject(out, "MLLP end byte 0x1C not followed by 0x0D")
            else:
                i = self._consume_block(data, i, out)
        return out

    def _consume_block(self, data: bytes, i: int, out: list[bytes | MllpRejection]) -> int:
        """Inside a block: take bytes up to the next framing byte; return where to continue."""
        end = data.find(_EB, i)
        start = data.find(_SB, i)
        stops = [k for k in (end, start) if k >= 0]
        k = min(stops) if stops else len(data)
        self._take(data[i:k], out)
        if not stops:
            return k
        if k == start:
            if self._state is _State.INSIDE:
                self._reject(out, "MLLP block cut short: a new start byte 0x0B arrived before 0x1C 0x0D")
            # A start byte also ends skipping: resynchronise on it.
            self._begin_block()
            return k + 1
        skipping = self._state is _State.SKIPPING
        if k + 1 < len(data):
            self._state = _State.OUTSIDE
            if data[k + 1] == CARRIAGE_RETURN:
                if not skipping:
                    self._deliver(out)
                return k + 2
            if not skipping:
                self._reject(out, "MLLP end byte 0x1C not followed by 0x0D")
            return k + 1
        self._state = _State.END_SEEN
        self._end_seen_while_skipping = skipping
        return k + 1

    def _take(self, piece: bytes, out: list[bytes | MllpRejection]) -> None:
        if not piece:
            return
        if self._state is _State.SKIPPING:
            self.counters.bytes_discarded += len(piece)
            return
        if len(self._block) + len(piece) > self.max_message_bytes:
            room = max(REJECTED_HEAD_BYTES - len(self._block), 0)
            head = bytes(self._block[:REJECTED_HEAD_BYTES]) + piece[:room]
            self.counters.bytes_discarded += len(piece)
            reason = f"HL7 message longer than the {self.max_message_bytes}-byte limit; skipped"
            self._reject(out, reason, head)
            self._state = _State.SKIPPING
            return
        self._block += piece

    def _begin_block(self) -> None:
        self._state = _State.INSIDE
        self._block = bytearray()

    def _deliver(self, out: list[bytes | MllpRejection]) -> None:
        self.counters.messages += 1
        out.append(bytes(self._block))
        self._block = bytearray()

    def _reject(self, out: list[bytes | MllpRejection], reason: str, head: bytes | None = None) -> None:
        self.counters.rejected += 1
        self.counters.bytes_discarded += len(self._block)
        log.debug("MLLP block rejected: %s", reason)
        out.append(MllpRejection(reason, bytes(self._block[:REJECTED_HEAD_BYTES]) if head is None else head))
        self._block = bytearray()
