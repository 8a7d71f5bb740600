"""Hand-written-file attacks and accidents, shared by the config, protocol and scenario tests (finding 15).

Each case is bytes a clinic might end up passing as a YAML file, the line the rejection must name
(None where any line of the file will do, e.g. a binary file) and a fragment of the sentence.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

E = TypeVar("E", bound=BaseException)

#: The requirement itself: accepted or rejected within a second (not a benchmark).
WITHIN_S = 1.0


@dataclass(frozen=True)
class Hostile:
    """A bad file: its bytes, the line its rejection must name (None: any), a message fragment."""

    name: str
    raw: bytes
    line: int | None
    fragment: str


def billion_laughs(levels: int = 9, aliases: int = 9) -> bytes:
    """The classic entity-expansion file: each level is ``aliases`` aliases of the level below."""
    lines = ["a0: &a0 [" + ", ".join(['"lol"'] * aliases) + "]"]
    for level in range(1, levels):
        below = f"*a{level - 1}"
        lines.append(f"a{level}: &a{level} [" + ", ".join([below] * aliases) + "]")
    return ("\n".join(lines) + "\n").encode()


HOSTILE: tuple[Hostile, ...] = (
    Hostile("deep-list", b"[" * 10_000 + b"]" * 10_000, 1, "levels deep"),
    Hostile("deep-map", b"{a: " * 10_000 + b"1" + b"}" * 10_000, 1, "levels deep"),
    Hostile("deep-block-list", b"- " * 10_000 + b"x\n", 1, "levels deep"),
    # 9 levels x 9 aliases: the counter stops it at the level where it passes the cap.
    Hostile("billion-laughs", billion_laughs(), None, "aliases"),
    Hostile("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, None, "binary"),
    Hostile("not-utf8", b"id: x\ntitle: Caf\xe9 protocol\n", 2, "not UTF-8"),
    Hostile("empty", b"", 1, "empty"),
    Hostile("comments-only", b"# nothing here yet\n", 1, "empty"),
    Hostile("top-level-list", b"# a list, not settings\n- a\n- b\n", 2, "must be a mapping"),
    Hostile("nul", b"id: x\ntitle: a\x00b\n", 2, "NUL"),
    Hostile("esc", b"id: x\ntitle: a\x1b[31mred\n", 2, "U+001B"),
    Hostile("bidi-override", "id: x\ntitle: a\u202eb\n".encode(), 2, "U+202E"),
    Hostile("esc-as-escape", b'id: x\ntitle: "a\\eb"\n', 2, "U+001B"),
    Hostile("bidi-as-escape", b'id: x\ntitle: "a\\u202Eb"\n', 2, "U+202E"),
    Hostile("duplicate-key", b"id: x\ntitle: a\nid: y\n", 3, "duplicate key 'id'"),
    Hostile("python-tag", b"id: !!python/object/apply:os.system [true]\n", 1, "not allowed"),
    Hostile("self-alias", b"id: &a [*a]\n", 1, "alias"),
    Hostile("oversized", b"# padding\n" * 30_000, 1, "at most"),
)
IDS = [h.name for h in HOSTILE]


def write(tmp_path: Path, case: Hostile, name: str | None = None) -> Path:
    """The case written to a file (named after the case unless ``name`` is given)."""
    path = tmp_path / (name or f"{case.name}.yaml")
    path.write_bytes(case.raw)
    return path


def rejected(load: Callable[[], object], error: type[E]) -> E:
    """Run ``load``; it must raise exactly ``error`` (any other exception fails) within a second."""
    started = time.perf_counter()
    with pytest.raises(error) as caught:
        load()
    elapsed = time.perf_counter() - started
    assert elapsed < WITHIN_S, f"took {elapsed:.2f} s"
    return caught.value


def assert_names_file_and_line(message: str, path: Path, case: Hostile) -> None:
    """``message`` has a line ``path:line: <sentence>`` with the case's line and fragment."""
    found = re.findall(re.escape(str(path)) + r":(\d+): (\S.*)", message)
    assert found, message
    assert any(
        case.fragment in sentence and (case.line is None or int(line) == case.line)
        for line, sentence in found
    ), message
    assert "Traceback" not in message
