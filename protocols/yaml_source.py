"""Parse a protocol file's YAML safely while remembering the line of every key and item.

``yaml.safe_load`` loses line numbers, so we ``compose`` the node tree with the safe loader and
build plain Python data ourselves. That also lets us reject what ``safe_load`` silently accepts:
duplicate keys (the last one would win), non-text keys, and alias bombs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

log = logging.getLogger(__name__)

#: Where a value sits in the document: mapping keys and list indexes from the top.
DataPath = tuple[str | int, ...]

#: Beyond this many constructed values the file is rejected (an alias bomb or a runaway file).
MAX_VALUES = 20_000
#: Deeper nesting than this is no protocol (and a self-referencing alias would never end).
MAX_DEPTH = 30

_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"


@dataclass(frozen=True, slots=True)
class YamlIssue:
    """A problem found while reading the YAML itself (before any schema check)."""

    line: int
    message: str


@dataclass(slots=True)
class SourceMap:
    """1-based line of every key (for mapping entries) and item (for list entries)."""

    lines: dict[DataPath, int] = field(default_factory=dict)

    def line_of(self, path: DataPath) -> int:
        """The line of the deepest part of ``path`` the file contains (1 when nothing matches).

        Parts the file does not contain (a pydantic union tag, a missing field) are skipped, so a
        missing field points at the line of the mapping that lacks it.
        """
        best = self.lines.get((), 1)
        prefix: DataPath = ()
        for part in path:
            candidate = (*prefix, part)
            if candidate in self.lines:
                prefix = candidate
                best = self.lines[candidate]
        return best


@dataclass(frozen=True, slots=True)
class ParsedYaml:
    """The document as plain Python data with its source map, or the issues that stopped it."""

    data: object
    source: SourceMap
    issues: tuple[YamlIssue, ...]


def tab_indent_lines(text: str) -> Iterator[int]:
    """Lines whose indentation holds a tab (YAML indents with spaces only)."""
    for number, line in enumerate(text.splitlines(), start=1):
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        if "\t" in indent:
            yield number


def parse_yaml(text: str) -> ParsedYaml:
    """Parse one YAML document into data plus line numbers; never raises on bad input."""
    issues: list[YamlIssue] = [
        YamlIssue(n, "tab character in the indentation: YAML indents with spaces only")
        for n in tab_indent_lines(text)
    ]
    tab_lines = {i.line for i in issues}
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 1
        if line not in tab_lines:
            what = exc.problem or exc.context or "invalid YAML"
            issues.append(YamlIssue(line, f"YAML syntax error: {what}"))
        return ParsedYaml(None, SourceMap(), tuple(issues))
    except yaml.YAMLError as exc:
        issues.append(YamlIssue(1, f"YAML error: {exc}"))
        return ParsedYaml(None, SourceMap(), tuple(issues))
    if root is None:
        issues.append(YamlIssue(1, "the file is empty: a protocol file holds one YAML mapping"))
        return ParsedYaml(None, SourceMap(), tuple(issues))
    builder = _Builder()
    try:
        data = builder.build(root, ())
    except _TooBig as exc:
        issues.append(YamlIssue(exc.line, str(exc)))
        return ParsedYaml(None, builder.source, tuple(issues))
    issues.extend(builder.issues)
    return ParsedYaml(data, builder.source, tuple(issues))


class _TooBig(Exception):
    def __init__(self, line: int, why: str) -> None:
        self.line = line
        super().__init__(why)


class _Builder:
    """Turns composed YAML nodes into dicts, lists and scalars, recording lines as it goes."""

    def __init__(self) -> None:
        self.source = SourceMap()
        self.issues: list[YamlIssue] = []
        self._constructor = SafeConstructor()
        self._count = 0
        # Aliased nodes carry the line of their anchor; blame the top-level entry being read.
        self._entry_line = 1

    def build(self, node: yaml.Node, path: DataPath) -> object:
        self._count += 1
        line = node.start_mark.line + 1
        if self._count > MAX_VALUES:
            raise _TooBig(
                self._entry_line,
                f"the file expands to more than {MAX_VALUES} values (aliases or sheer size); "
                "a protocol file is a short document",
            )
        if len(path) > MAX_DEPTH:
            raise _TooBig(line, f"nested more than {MAX_DEPTH} levels deep (a self-referencing alias?)")
        self.source.lines.setdefault(path, line)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if node.tag != _SEQ_TAG:
                self.issues.append(YamlIssue(line, f"YAML tag {node.tag!r} is not allowed here"))
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        assert isinstance(node, yaml.ScalarNode)
        return self._scalar(node, line)

    def _scalar(self, node: yaml.ScalarNode, line: int) -> object:
        try:
            return self._constructor.construct_object(node, deep=True)
        except (ConstructorError, ValueError, TypeError) as exc:
            if node.tag == _TIMESTAMP_TAG:
                # An impossible date such as 2026-13-45: keep the text so the schema names the field.
                return node.value
            self.issues.append(YamlIssue(line, f"cannot read value {node.value!r}: {exc}"))
            return None

    def _mapping(self, node: yaml.MappingNode, path: DataPath) -> dict[str, object]:
        if node.tag != _MAP_TAG:
            self.issues.append(
                YamlIssue(node.start_mark.line + 1, f"YAML tag {node.tag!r} is not allowed here")
            )
        result: dict[str, object] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                self.issues.append(YamlIssue(key_line, "a key must be plain text, not a list or mapping"))
                continue
            # Keys are always text: read raw, so `yes:` stays "yes" instead of becoming True.
            key = key_node.value
            if key == "<<":
                self.issues.append(YamlIssue(key_line, "YAML merge keys (<<) are not allowed"))
                continue
            if key in first_line:
                self.issues.append(
                    YamlIssue(key_line, f"duplicate key {key!r} (first written at line {first_line[key]})")
                )
                continue
            first_line[key] = key_line
            if not path:
                self._entry_line = key_line
            self.source.lines[(*path, key)] = key_line
            result[key] = self.build(value_node, (*path, key))
        return result
