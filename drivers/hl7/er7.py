"""ER7, HL7 v2's pipe-and-hat text encoding: delimiters, escapes and a segment-level reader.

Linear by construction: a message is split once into segments and each segment once into fields
(``str.split``); components and repetitions are split only for the fields a reader asks for, and
unescaping walks a field once. No grammar and no group finding: a message of n bytes costs O(n)
whatever its shape (a 60 KB field, thousands of separators, hundreds of rows).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

log = logging.getLogger(__name__)

#: A segment id: three upper-case letters or digits, starting with a letter (Z-segments included).
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
_HEX_PAIR = re.compile(r"[0-9A-Fa-f]{2}")


class Er7Error(ValueError):
    """Text that is not ER7 at all (no MSH, or MSH-1/MSH-2 not five distinct delimiters)."""


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The five delimiters a message declares in MSH-1 and MSH-2."""

    field: str = "|"
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        """MSH-2 as written: component, repetition, escape, subcomponent."""
        return self.component + self.repetition + self.escape + self.subcomponent

    def unescape(self, text: str) -> str:
        """Undo HL7 escapes (\\F\\ \\S\\ \\T\\ \\R\\ \\E\\ and \\Xhh..\\); formatting escapes
        (\\H\\, \\N\\, \\.br\\ ...) are dropped. One pass over the text."""
        esc = self.escape
        if not esc or esc not in text:
            return text
        table = {"F": self.field, "S": self.component, "T": self.subcomponent, "R": self.repetition, "E": esc}
        out: list[str] = []
        i = 0
        n = len(text)
        while i < n:
            j = text.find(esc, i)
            if j < 0:
                out.append(text[i:])
                break
            out.append(text[i:j])
            k = text.find(esc, j + 1)
            if k < 0:  # a lone escape character: kept as written
                out.append(text[j:])
                break
            out.append(_escape_value(text[j + 1 : k], table))
            i = k + 1
        return "".join(out)

    def escape_text(self, text: str) -> str:
        """Text made safe for a field (control characters become spaces)."""
        text = "".join(ch if ch >= " " else " " for ch in text)
        esc = self.escape
        return (
            text.replace(esc, f"{esc}E{esc}")
            .replace(self.field, f"{esc}F{esc}")
            .replace(self.component, f"{esc}S{esc}")
            .replace(self.subcomponent, f"{esc}T{esc}")
            .replace(self.repetition, f"{esc}R{esc}")
        )


STANDARD = Delimiters()


def _escape_value(name: str, table: dict[str, str]) -> str:
    simple = table.get(name)
    if simple is not None:
        return simple
    if name[:1] == "X" and len(name) > 1 and len(name) % 2 == 1:
        pairs = [name[i : i + 2] for i in range(1, len(name), 2)]
        if all(_HEX_PAIR.fullmatch(p) for p in pairs):
            return bytes(int(p, 16) for p in pairs).decode("latin-1")
    return ""  # formatting (\.br\, \H\, \N\) and unknown escapes carry no value text


def escape_hl7(text: str) -> str:
    """Text made safe for a field with the standard delimiters ``|^~\\&`` (control bytes removed)."""
    return STANDARD.escape_text(text)


class Segment:
    """One segment split into fields; components and repetitions are split on demand.

    ``fields[n]`` is field n as raw ER7 text (``fields[0]`` is the segment id). For MSH,
    ``fields[1]`` is the field separator and ``fields[2]`` the encoding characters, so MSH-n is
    ``fields[n]`` as in the standard.
    """

    __slots__ = ("delimiters", "fields", "id")

    def __init__(self, text: str, delimiters: Delimiters) -> None:
        self.delimiters = delimiters
        parts = text.split(delimiters.field)
        self.id = parts[0]
        if self.id == "MSH":
            parts.insert(1, delimiters.field)
        self.fields = parts

    def raw(self, n: int) -> str:
        """Field n as written (all repetitions, escapes kept); "" when absent."""
        return self.fields[n] if 0 < n < len(self.fields) else ""

    def repetitions(self, n: int) -> list[str]:
        """Field n's repetitions as raw text (components still joined); [] when the field is empty."""
        raw = self.raw(n)
        if not raw:
            return []
        if n == 2 and self.id == "MSH":
            return [raw]  # MSH-2 holds the repetition separator itself
        return raw.split(self.delimiters.repetition)

    def components(self, n: int) -> list[str]:
        """Unescaped components of field n's first repetition; [""] when the field is empty."""
        raw = self.raw(n)
        if n <= 2 and self.id == "MSH":
            return [raw]
        first = raw.split(self.delimiters.repetition, 1)[0]
        d = self.delimiters
        return [d.unescape(c) for c in first.split(d.component)]

    def component(self, n: int, index: int = 1) -> str:
        """One unescaped component (1-based) of field n's first repetition; "" when absent."""
        parts = self.components(n)
        return parts[index - 1] if 0 < index <= len(parts) else ""

    def text(self, n: int) -> str:
        """Field n's first repetition as one unescaped string (for ST fields such as MSH-10)."""
        raw = self.raw(n)
        if n <= 2 and self.id == "MSH":
            return raw
        return self.delimiters.unescape(raw.split(self.delimiters.repetition, 1)[0])


def split_segments(text: str) -> list[str]:
    """Segments of a message; HL7 ends them with CR, files and some senders with LF or CRLF."""
    text = text.replace("\r\n", "\r").replace("\n", "\r")
    return [s for s in text.split("\r") if s.strip()]


def read_delimiters(msh: str) -> Delimiters:
    """The delimiters declared by an MSH segment's first characters; ``Er7Error`` when unusable."""
    if not msh.startswith("MSH") or len(msh) < 8:
        raise Er7Error("message does not start with an MSH segment")
    sep = msh[3]
    enc = msh[4:].split(sep, 1)[0]
    if len(enc) < 4 or sep.isalnum() or sep.isspace() or len(set(sep + enc[:4])) != 5:
        raise Er7Error("MSH-1/MSH-2 do not declare five distinct delimiters")
    if any(ch.isalnum() or ch.isspace() for ch in enc[:4]):
        raise Er7Error("MSH-2 delimiters must not be letters, digits or spaces")
    return Delimiters(sep, enc[0], enc[1], enc[2], enc[3])


def decode_text(raw: bytes) -> str:
    """Message bytes as text: UTF-8 when valid, else ISO 8859-1 (HL7's common default; never fails)."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


__all__ = [
    "SEGMENT_ID",
    "STANDARD",
    "Delimiters",
    "Er7Error",
    "Segment",
    "decode_text",
    "escape_hl7",
    "read_delimiters",
    "split_segments",
]
