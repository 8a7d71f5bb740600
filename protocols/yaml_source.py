"""How a protocol file's YAML is read: the bounded reader shared by every hand-written file.

The reader lives in ``drivers.yaml_input`` (clinic config and simulator scenarios use it too);
this module names the limits a protocol file is held to and keeps the names the loader and the
graph checks use.
"""

from __future__ import annotations

import logging
from pathlib import Path

from drivers.yaml_input import (
    DataPath,
    ParsedYaml,
    SourceMap,
    YamlIssue,
    YamlLimits,
    parse_yaml_bytes,
    parse_yaml_file,
    parse_yaml_text,
    tab_indent_lines,
)

log = logging.getLogger(__name__)

#: A protocol is a few pages of text; anything bigger is a mistake (or an attack) and is refused.
MAX_FILE_BYTES = 256 * 1024
#: Beyond this many values (an alias counting as what it names) the file is rejected.
MAX_VALUES = 20_000
#: Deeper nesting than this is no protocol (a node's answers sit four levels down).
MAX_DEPTH = 30
#: Aliases a protocol may use; the shipped library uses none.
MAX_ALIASES = 100

PROTOCOL_LIMITS = YamlLimits(
    max_bytes=MAX_FILE_BYTES, max_depth=MAX_DEPTH, max_values=MAX_VALUES, max_aliases=MAX_ALIASES
)
#: How messages name the file being read.
WHAT = "a protocol file"


def parse_yaml(text: str) -> ParsedYaml:
    """Parse a protocol held as text; never raises on bad input."""
    return parse_yaml_text(text, PROTOCOL_LIMITS, what=WHAT)


def parse_protocol_file(path: Path) -> ParsedYaml:
    """Read and parse a protocol file within the limits; never raises on bad input."""
    return parse_yaml_file(path, PROTOCOL_LIMITS, what=WHAT)


def parse_protocol_bytes(raw: bytes) -> ParsedYaml:
    """Check size and encoding, then parse a protocol file's bytes; never raises on bad input."""
    return parse_yaml_bytes(raw, PROTOCOL_LIMITS, what=WHAT)


__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "PROTOCOL_LIMITS",
    "DataPath",
    "ParsedYaml",
    "SourceMap",
    "YamlIssue",
    "parse_protocol_bytes",
    "parse_protocol_file",
    "parse_yaml",
    "tab_indent_lines",
]
