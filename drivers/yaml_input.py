"""Read a YAML file a person wrote, within bounds, remembering the line of every key and item.

Clinic configuration, written protocols and simulator scenarios are all files someone edits by
hand (or receives by e-mail), so each is read the same careful way: at most a few hundred KiB,
UTF-8 text without control characters or bidirectional overrides, nested a few dozen levels at
most, and with YAML aliases counted so that a "billion laughs" file cannot expand without end.
Every problem is a ``YamlIssue`` with a 1-based line and one sentence; nothing here raises on bad
input, so a caller can accept or reject a file within a second and never show a traceback.

The document is built from the parser's *events* by an explicit stack instead of PyYAML's
recursive composer: a 10,000-deep list is refused at depth ``max_depth`` instead of exhausting
Python's recursion limit, and an alias adds the size of what it names to the count instead of
being expanded. Keys are kept as the text written (``yes:`` stays ``"yes"``), duplicate keys,
merge keys (``<<``) and non-standard tags are refused.

This module sits in ``drivers`` (the bottom layer) because every other package reads such files:
``alarms`` (clinic config), ``protocols`` and ``simulators`` (which may not import ``alarms``).
"""

from __future__ import annotations

import itertools
import logging
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.resolver import Resolver

log = logging.getLogger(__name__)

#: Where a value sits in the document: mapping keys and list indexes from the top.
DataPath = tuple[str | int, ...]

_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
#: Explicit scalar tags a person may write (``!!str 1.10``); anything else (``!!python/...``,
#: ``!!binary``) is refused, not constructed.
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("str", "int", "float", "bool", "null", "timestamp")
)

#: Characters refused anywhere in the file: C0/C1 controls except tab and line breaks, DEL, the
#: bidirectional embeddings/overrides/isolates (they make text display in another order than it
#: is read: "Trojan source"), Unicode line/paragraph separators (YAML counts them as line breaks,
#: so every line number after them would be wrong), a byte-order mark after the start, and the
#: noncharacters U+FFFE/U+FFFF.
_FORBIDDEN_IN_FILE = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff\ufffe\uffff]"
)
#: The same set for a value after YAML escapes were applied (``"\e"``, ``"\u202e"``); a tab or a
#: line break written as an escape is ordinary text.
_FORBIDDEN_IN_VALUE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff\ufffe\uffff]"
)
#: Unicode categories a clinician cannot read: controls, invisible format characters, surrogates,
#: private-use and unassigned code points, line and paragraph separators.
_UNREADABLE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_CONTROL_NAMES = {
    0x00: "NUL",
    0x07: "BEL",
    0x08: "BACKSPACE",
    0x09: "TAB",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESC",
    0x7F: "DEL",
    0x85: "NEXT LINE",
}
#: At most this many character problems are listed: one is enough to reject the file.
_MAX_CHARACTER_ISSUES = 5


@dataclass(frozen=True, slots=True)
class YamlLimits:
    """How big a hand-written YAML file may be, read before anything else is trusted."""

    #: Bytes on disk; refused before decoding.
    max_bytes: int = 256 * 1024
    #: Nesting of lists and mappings (a hand-written settings file needs fewer than ten).
    max_depth: int = 30
    #: Values in the document, counting each alias as the values it stands for.
    max_values: int = 20_000
    #: Alias uses (``*name``) in the file.
    max_aliases: int = 100


DEFAULT_LIMITS = YamlLimits()


@dataclass(frozen=True, slots=True)
class YamlIssue:
    """A problem found while reading the YAML itself (before any schema check)."""

    line: int
    message: str


@dataclass(slots=True)
class SourceMap:
    """1-based line of every key (for mapping entries) and item (for list entries)."""

    lines: dict[tuple[object, ...], int] = field(default_factory=dict)

    def line_of(self, path: tuple[object, ...]) -> int:
        """The line of the deepest part of ``path`` the file contains (1 when nothing matches).

        Parts the file does not contain (a pydantic union tag, a missing field) are skipped, so a
        missing field points at the line of the mapping that lacks it.
        """
        best = self.lines.get((), 1)
        prefix: tuple[object, ...] = ()
        for part in path:
            candidate = (*prefix, part)
            if candidate in self.lines:
                prefix = candidate
                best = self.lines[candidate]
        return best


@dataclass(frozen=True, slots=True)
class ParsedYaml:
    """The document as plain Python data with its source map, or the issues that stopped it.

    ``data`` is None when the file could not be read at all; ``issues`` may be non-empty even
    when ``data`` is set (e.g. a duplicate key), and then the file must still be rejected.
    """

    data: object
    source: SourceMap
    issues: tuple[YamlIssue, ...]

    @property
    def ok(self) -> bool:
        """True when the file was read and nothing is wrong with it as YAML."""
        return self.data is not None and not self.issues


class YamlInputError(ValueError):
    """A hand-written YAML file was rejected: ``origin:line: reason``, one sentence."""

    def __init__(self, origin: str | Path, line: int, reason: str) -> None:
        self.origin = str(origin)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.origin}:{line}: {reason}")


def describe_character(ch: str) -> str:
    """``U+202E RIGHT-TO-LEFT OVERRIDE``: how a message names a character nobody can see."""
    code = ord(ch)
    name = _CONTROL_NAMES.get(code) or unicodedata.name(ch, "")
    return f"U+{code:04X}" + (f" {name}" if name else "")


def unreadable_text(text: str, *, multiline: bool = True) -> str | None:
    """Why ``text`` cannot be shown to a clinician as written, or None when it can.

    Text a clinician reads must hold something besides spaces and only characters a screen shows
    as written: no controls (a line break only where ``multiline``), no invisible formatting
    characters such as bidirectional overrides or zero-width spaces.
    """
    if not text.strip():
        return "is empty; write the words the clinician should read"
    for ch in text:
        if ch == "\n" and multiline:
            continue
        if unicodedata.category(ch) in _UNREADABLE_CATEGORIES:
            what = "a line break" if ch == "\n" else describe_character(ch)
            return f"contains {what}, which a screen does not show as written; retype the text as plain words"
    return None


def tab_indent_lines(text: str) -> Iterator[int]:
    """Lines whose indentation holds a tab (YAML indents with spaces only)."""
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            yield number


def parse_yaml_bytes(
    raw: bytes, limits: YamlLimits = DEFAULT_LIMITS, *, what: str = "a settings file"
) -> ParsedYaml:
    """Check size and encoding, then parse; never raises on bad input.

    ``what`` names the kind of file in messages ("a protocol file", "a clinic configuration").
    """
    if len(raw) > limits.max_bytes:
        return _refused(1, f"the file is {len(raw)} bytes; {what} is at most {limits.max_bytes} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        if b"\x00" in raw[:8192]:
            return _refused(line, "not a text file (it holds NUL bytes): is this a binary file?")
        return _refused(line, "not UTF-8 text (save the file as UTF-8)")
    return parse_yaml_text(text, limits, what=what)


def parse_yaml_text(
    text: str, limits: YamlLimits = DEFAULT_LIMITS, *, what: str = "a settings file"
) -> ParsedYaml:
    """Parse one YAML document into data plus line numbers; never raises on bad input."""
    text = text.removeprefix("\ufeff")  # a byte-order mark at the start is harmless
    character_issues = list(_character_issues(text, what))
    if character_issues:
        return ParsedYaml(None, SourceMap(), tuple(character_issues))
    issues = [
        YamlIssue(n, "tab character in the indentation: YAML indents with spaces only")
        for n in tab_indent_lines(text)
    ]
    builder = _Builder(limits, what)
    try:
        data = builder.build(text)
    except _Stop as stop:
        # A syntax error on a line already blamed for its tab says the same thing twice.
        if stop.syntax is False or stop.line not in {i.line for i in issues}:
            issues.append(YamlIssue(stop.line, str(stop)))
        issues.extend(builder.issues)
        return ParsedYaml(None, builder.source, tuple(sorted(issues, key=lambda i: i.line)))
    issues.extend(builder.issues)
    return ParsedYaml(data, builder.source, tuple(sorted(issues, key=lambda i: i.line)))


def parse_yaml_file(
    path: Path, limits: YamlLimits = DEFAULT_LIMITS, *, what: str = "a settings file"
) -> ParsedYaml:
    """Read (at most ``max_bytes`` + 1 of) the file and parse it; never raises on bad input."""
    try:
        with Path(path).open("rb") as handle:
            raw = handle.read(limits.max_bytes + 1)
        size = Path(path).stat().st_size if len(raw) > limits.max_bytes else len(raw)
    except OSError as exc:
        return _refused(1, f"cannot read the file: {exc.strerror or exc}")
    if size > limits.max_bytes:
        # Refused before reading it all: a stray multi-gigabyte file must not fill the memory.
        return _refused(1, f"the file is {size} bytes; {what} is at most {limits.max_bytes} bytes")
    return parse_yaml_bytes(raw, limits, what=what)


def read_yaml_mapping(
    path: Path, limits: YamlLimits = DEFAULT_LIMITS, *, what: str = "a settings file"
) -> tuple[dict[str, object], SourceMap]:
    """Read a file whose top level is a mapping; raises ``YamlInputError`` naming file and line.

    Only the first problem is raised (the others are logged): one sentence a person can act on.
    """
    parsed = parse_yaml_file(path, limits, what=what)
    if parsed.issues:
        first, *rest = parsed.issues
        for issue in rest:
            log.info("%s:%d: %s", path, issue.line, issue.message)
        raise YamlInputError(path, first.line, first.message)
    if not isinstance(parsed.data, dict):
        raise YamlInputError(
            path,
            parsed.source.line_of(()),
            f"the top level must be a mapping of fields (name: value), not {kind_of(parsed.data)}",
        )
    return parsed.data, parsed.source


def kind_of(value: object) -> str:
    """How a message names a parsed value's type: "a list", "text", "a number"."""
    names = {
        dict: "a mapping",
        list: "a list",
        str: "text",
        int: "a number",
        float: "a number",
        bool: "yes/no",
    }
    if value is None:
        return "nothing"
    return names.get(type(value), type(value).__name__)


def _refused(line: int, message: str) -> ParsedYaml:
    return ParsedYaml(None, SourceMap(), (YamlIssue(line, message),))


def _character_issues(text: str, what: str) -> Iterator[YamlIssue]:
    matches = itertools.islice(_FORBIDDEN_IN_FILE.finditer(text), _MAX_CHARACTER_ISSUES)
    for match in matches:
        line = text.count("\n", 0, match.start()) + 1
        ch = match.group()
        if ch == "\x00":
            message = "not a text file (it holds NUL bytes): is this a binary file?"
        else:
            message = (
                f"the character {describe_character(ch)} is not allowed: "
                f"{what} is plain text without control or text-direction characters"
            )
        yield YamlIssue(line, message)


class _Stop(Exception):
    """Reading cannot go on (syntax error, limit exceeded): the file is rejected at ``line``."""

    def __init__(self, line: int, why: str, *, syntax: bool = False) -> None:
        self.line = line
        self.syntax = syntax
        super().__init__(why)


class _Skip:
    """Marks a mapping entry whose key was refused: its value is read but not kept."""


_SKIP = _Skip()


@dataclass(slots=True)
class _Frame:
    """A list or mapping being built."""

    path: DataPath
    line: int
    anchor: str | None
    first_count: int
    items: list[object] | None = None
    entries: dict[str, object] | None = None
    #: For a mapping: the key whose value comes next, None when a key comes next.
    key: str | _Skip | None = None
    key_lines: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _Anchored:
    value: object
    size: int


class _Builder:
    """Builds dicts, lists and scalars from parser events with an explicit stack."""

    def __init__(self, limits: YamlLimits, what: str) -> None:
        self.limits = limits
        self.what = what
        self.source = SourceMap()
        self.issues: list[YamlIssue] = []
        self._constructor = SafeConstructor()
        self._resolver = Resolver()
        self._count = 0
        self._aliases = 0
        self._anchors: dict[str, _Anchored] = {}
        self._stack: list[_Frame] = []
        self._root: object = None
        self._has_root = False

    def build(self, text: str) -> object:
        """The document's data; raises ``_Stop`` when the file cannot be read."""
        loader = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader
        documents = 0
        try:
            for event in yaml.parse(text, Loader=loader):
                if isinstance(event, yaml.DocumentStartEvent):
                    documents += 1
                    if documents > 1:
                        raise _Stop(
                            _line(event),
                            "YAML syntax error: a second document starts here ('---'); "
                            f"{self.what} holds exactly one",
                            syntax=True,
                        )
                elif isinstance(event, yaml.ScalarEvent):
                    self._scalar(event)
                elif isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
                    self._open(event)
                elif isinstance(event, yaml.SequenceEndEvent | yaml.MappingEndEvent):
                    self._close()
                elif isinstance(event, yaml.AliasEvent):
                    self._alias(event)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark is not None else 1
            what = exc.problem or exc.context or "invalid YAML"
            if "nesting depth" in what:
                # libyaml's own cap (1000 levels) can trip while it scans ahead of our count.
                raise _Stop(line, self._too_deep()) from None
            raise _Stop(line, f"YAML syntax error: {what}", syntax=True) from None
        except yaml.YAMLError as exc:
            raise _Stop(1, f"YAML syntax error: {exc}", syntax=True) from None
        if not self._has_root or self._root is None:
            raise _Stop(1, f"the file is empty: {self.what} holds one YAML mapping")
        return self._root

    # -- events --------------------------------------------------------------------------------

    def _scalar(self, event: yaml.ScalarEvent) -> None:
        line = _line(event)
        top = self._stack[-1] if self._stack else None
        if top is not None and top.entries is not None and top.key is None:
            self._key(top, event, line)
            return
        self._counted(1, line)
        value = self._construct(event, line)
        if isinstance(value, str):
            self._check_text(value, line)
        self._place(value, line, 1, event.anchor)

    def _open(self, event: yaml.SequenceStartEvent | yaml.MappingStartEvent) -> None:
        line = _line(event)
        is_map = isinstance(event, yaml.MappingStartEvent)
        default = _MAP_TAG if is_map else _SEQ_TAG
        if event.tag not in (None, "!", default):
            self.issues.append(YamlIssue(line, f"YAML tag {event.tag!r} is not allowed here"))
        if len(self._stack) >= self.limits.max_depth:
            raise _Stop(line, self._too_deep())
        self._counted(1, line)
        path = self._child_path()
        self.source.lines.setdefault(path, line)
        frame = _Frame(path, line, event.anchor, self._count)
        if is_map:
            frame.entries = {}
        else:
            frame.items = []
        self._stack.append(frame)

    def _close(self) -> None:
        frame = self._stack.pop()
        value: object = frame.entries if frame.entries is not None else frame.items
        size = self._count - frame.first_count + 1
        self._place(value, frame.line, size, frame.anchor)

    def _alias(self, event: yaml.AliasEvent) -> None:
        line = _line(event)
        self._aliases += 1
        if self._aliases > self.limits.max_aliases:
            raise _Stop(
                line,
                f"more than {self.limits.max_aliases} aliases (*name); {self.what} repeats "
                "values by writing them out",
            )
        anchored = self._anchors.get(event.anchor or "")
        if anchored is None:
            raise _Stop(
                line,
                f"alias *{event.anchor} names no anchor &{event.anchor} written before it "
                "(an alias cannot name the value that contains it)",
            )
        self._counted(anchored.size, line)
        self._place(anchored.value, line, anchored.size, None)

    # -- helpers -------------------------------------------------------------------------------

    def _key(self, frame: _Frame, event: yaml.ScalarEvent, line: int) -> None:
        # Keys are always text: read raw, so `yes:` stays "yes" instead of becoming True.
        key = event.value
        self._counted(1, line)
        if event.anchor is not None:
            self.issues.append(YamlIssue(line, f"an anchor (&{event.anchor}) on a key is not allowed"))
        if key == "<<" and event.implicit[0]:
            self.issues.append(YamlIssue(line, "YAML merge keys (<<) are not allowed"))
            frame.key = _SKIP
            return
        if key in frame.key_lines:
            self.issues.append(
                YamlIssue(line, f"duplicate key {key!r} (first written at line {frame.key_lines[key]})")
            )
            frame.key = _SKIP
            return
        self._check_text(key, line)
        frame.key_lines[key] = line
        frame.key = key
        self.source.lines[(*frame.path, key)] = line

    def _place(self, value: object, line: int, size: int, anchor: str | None) -> None:
        if anchor is not None:
            self._anchors[anchor] = _Anchored(value, size)
        if not self._stack:
            self._root = value
            self._has_root = True
            self.source.lines.setdefault((), line)
            return
        top = self._stack[-1]
        if top.items is not None:
            self.source.lines.setdefault((*top.path, len(top.items)), line)
            top.items.append(value)
            return
        assert top.entries is not None
        if top.key is None:
            # A list, mapping or alias where a key belongs.
            self.issues.append(YamlIssue(line, "a key must be plain text, not a list or mapping"))
            top.key = _SKIP
            return
        if isinstance(top.key, str):
            top.entries[top.key] = value
        top.key = None

    def _too_deep(self) -> str:
        return (
            f"nested more than {self.limits.max_depth} levels deep; "
            f"{self.what} is a short document, not a deep tree"
        )

    def _child_path(self) -> DataPath:
        if not self._stack:
            return ()
        top = self._stack[-1]
        if top.items is not None:
            return (*top.path, len(top.items))
        if isinstance(top.key, str):
            return (*top.path, top.key)
        # A container used as a key, or the value of a refused key: kept out of the source map.
        return (*top.path, f"\x00{self._count}")

    def _counted(self, values: int, line: int) -> None:
        self._count += values
        if self._count > self.limits.max_values:
            raise _Stop(
                line,
                f"the file expands to more than {self.limits.max_values} values (aliases or sheer "
                f"size); {self.what} is a short document",
            )

    def _construct(self, event: yaml.ScalarEvent, line: int) -> object:
        tag = event.tag
        if tag is None or tag == "!":
            resolved: str = self._resolver.resolve(  # type: ignore[no-untyped-call]
                yaml.ScalarNode, event.value, event.implicit
            )
            tag = resolved
        elif tag not in _SCALAR_TAGS:
            self.issues.append(YamlIssue(line, f"YAML tag {tag!r} is not allowed here"))
            return None
        # Marks only decorate PyYAML's own messages; ours carry the line already.
        node = yaml.ScalarNode(tag, event.value, None, None, event.style)
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ConstructorError, ValueError, TypeError, OverflowError) as exc:
            if tag == _TIMESTAMP_TAG:
                # An impossible date such as 2026-13-45: keep the text so the schema names the field.
                return event.value
            self.issues.append(YamlIssue(line, f"cannot read value {event.value!r}: {exc}"))
            return None

    def _check_text(self, value: str, line: int) -> None:
        bad = _FORBIDDEN_IN_VALUE.search(value)
        if bad is not None:
            self.issues.append(
                YamlIssue(
                    line,
                    f"the character {describe_character(bad.group())} (written as an escape) is not "
                    "allowed: text must be plain, without control or text-direction characters",
                )
            )


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 1
