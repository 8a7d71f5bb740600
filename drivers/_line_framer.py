"""Splitting a byte stream into CR / LF terminated lines, with a bounded buffer.

Devices differ on CR LF vs LF CR, so any run of CR and LF ends a line and empty lines are
dropped. A line longer than ``max_line`` is reported once as overlong and the rest of it is
skipped up to its terminator, so garbage without a line end never grows memory. The result
does not depend on how the stream was chunked.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

_TERMINATOR = re.compile(rb"[\r\n]")


@dataclass(frozen=True, slots=True)
class OverlongLine:
    """A line that passed ``max_line`` bytes without a terminator (its first bytes kept)."""

    head: bytes


class LineFramer:
    """Pure CR/LF line framer: ``feed`` bytes, get complete lines (and overlong markers)."""

    def __init__(self, max_line: int = 512) -> None:
        if max_line < 1:
            raise ValueError("max_line must be at least one byte")
        self.max_line = max_line
        self.bytes_discarded = 0
        self._buffer = bytearray()
        self._skipping = False  # inside an overlong line: drop bytes until its terminator

    @property
    def pending(self) -> int:
        """Bytes held while waiting for a terminator (never more than ``max_line``)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes | OverlongLine]:
        """Complete lines (without terminators) in stream order."""
        out: list[bytes | OverlongLine] = []
        start = 0
        for match in _TERMINATOR.finditer(data):
            self._take(data[start : match.start()], complete=True, out=out)
            start = match.end()
        self._take(data[start:], complete=False, out=out)
        return out

    def _take(self, segment: bytes, *, complete: bool, out: list[bytes | OverlongLine]) -> None:
        if self._skipping:
            self.bytes_discarded += len(segment)
            self._skipping = not complete
            return
        self._buffer += segment
        if len(self._buffer) > self.max_line:
            out.append(OverlongLine(bytes(self._buffer[: self.max_line])))
            self.bytes_discarded += len(self._buffer)
            self._buffer.clear()
            self._skipping = not complete
            return
        if complete and self._buffer:
            out.append(bytes(self._buffer))
            self._buffer.clear()
