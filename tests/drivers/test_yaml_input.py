"""The bounded reader every hand-written YAML file goes through (finding 15).

Every file is accepted or rejected with a line and one sentence within a second; nothing but
``YamlInputError`` (or issues in the result) comes out, whatever the bytes.
"""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.yaml_input import (
    YamlInputError,
    YamlLimits,
    parse_yaml_bytes,
    read_yaml_mapping,
    unreadable_text,
)
from tests.hostile_files import HOSTILE, IDS, WITHIN_S, Hostile, assert_names_file_and_line, rejected, write

#: Finding 15: config (THR-5) and protocol files (PRO-1) are accepted or rejected with file:line.
pytestmark = [pytest.mark.req("PRO-1"), pytest.mark.req("THR-5")]


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_hostile_bytes_come_back_as_an_issue_with_its_line_not_an_exception(case: Hostile) -> None:
    """Finding 15: RecursionError on deep nesting, a 43 s stall on an alias bomb, tracebacks."""
    started = time.perf_counter()
    parsed = parse_yaml_bytes(case.raw, what="a test file")
    assert time.perf_counter() - started < WITHIN_S
    if case.name == "top-level-list":
        assert parsed.data == ["a", "b"] and parsed.issues == ()
        return
    assert parsed.issues, case.name
    first = parsed.issues[0]
    if case.line is not None:
        assert first.line == case.line
    assert case.fragment in first.message


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_read_yaml_mapping_raises_only_its_own_error_naming_file_and_line(
    tmp_path: Path, case: Hostile
) -> None:
    path = write(tmp_path, case)
    error = rejected(lambda: read_yaml_mapping(path, what="a test file"), YamlInputError)
    assert_names_file_and_line(str(error), path, case)
    assert error.line >= 1 and error.reason


def test_a_missing_file_is_the_same_error() -> None:
    with pytest.raises(YamlInputError, match=r"absent\.yaml:1: cannot read the file"):
        read_yaml_mapping(Path("/nonexistent/absent.yaml"))


def test_keys_stay_the_text_written_and_every_key_and_item_has_its_line() -> None:
    raw = b'# heading\nyes: 1\n"2": [a,\n  b]\nwhen: 2026-01-31\nnested:\n  on: off\n'
    parsed = parse_yaml_bytes(raw)
    assert parsed.ok
    assert parsed.data == {"yes": 1, "2": ["a", "b"], "when": date(2026, 1, 31), "nested": {"on": False}}
    assert parsed.source.line_of(("yes",)) == 2
    assert parsed.source.line_of(("2", 1)) == 4
    assert parsed.source.line_of(("nested", "on")) == 7
    # A path the file lacks points at the deepest part it has.
    assert parsed.source.line_of(("nested", "missing", 3)) == 6


def test_a_few_aliases_within_the_limits_are_read() -> None:
    parsed = parse_yaml_bytes(b"base: &b {x: 1}\ncopy: *b\n")
    assert parsed.ok and parsed.data == {"base": {"x": 1}, "copy": {"x": 1}}


def test_the_limits_are_the_callers() -> None:
    tight = YamlLimits(max_bytes=100, max_depth=2, max_values=5, max_aliases=1)
    assert "at most 100 bytes" in parse_yaml_bytes(b"#" * 101, tight).issues[0].message
    assert "2 levels" in parse_yaml_bytes(b"a: {b: {c: 1}}", tight).issues[0].message
    assert "more than 5 values" in parse_yaml_bytes(b"[1, 2, 3, 4, 5, 6]", tight).issues[0].message
    one_alias = YamlLimits(max_aliases=1)
    assert "more than 1 aliases" in parse_yaml_bytes(b"a: &x 1\nb: *x\nc: *x\n", one_alias).issues[0].message


def test_a_byte_order_mark_crlf_and_escaped_tabs_are_ordinary() -> None:
    parsed = parse_yaml_bytes(b'\xef\xbb\xbfa: "x\\ty"\r\nb: 2\r\n')
    assert parsed.ok and parsed.data == {"a": "x\ty", "b": 2}


@pytest.mark.parametrize(
    ("text", "multiline", "why"),
    [
        ("Recheck BP", False, None),
        ("Recheck BP\nthen call", True, None),
        ("Recheck BP\nthen call", False, "line break"),
        ("   ", False, "empty"),
        ("", True, "empty"),
        ("Give \x1b[31m10 mg", True, "U+001B"),
        ("Give\u202e gm 01", True, "U+202E RIGHT-TO-LEFT OVERRIDE"),
        ("zero\u200bwidth", False, "U+200B"),
        ("tab\there", True, "U+0009"),
        ("Café, 0.5 mg/kg, ≥ 90 %", False, None),
    ],
)
def test_unreadable_text_names_the_character(text: str, multiline: bool, why: str | None) -> None:
    reason = unreadable_text(text, multiline=multiline)
    if why is None:
        assert reason is None
    else:
        assert reason is not None and why in reason


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_are_answered_without_an_exception(raw: bytes) -> None:
    started = time.perf_counter()
    parsed = parse_yaml_bytes(raw)
    assert time.perf_counter() - started < WITHIN_S
    assert parsed.data is not None or parsed.issues
    assert all(issue.line >= 1 and issue.message for issue in parsed.issues)


_SCALARS = st.one_of(
    st.integers(-(10**6), 10**6),
    st.booleans(),
    st.none(),
    st.text(st.characters(categories=("L", "N", "P", "Zs")), max_size=20),
)
_DATA = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8), inner, max_size=4
        )
    ),
    max_leaves=25,
)


@settings(max_examples=100, deadline=None)
@given(
    st.dictionaries(st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8), _DATA, max_size=5)
)
def test_ordinary_documents_read_back_exactly_what_was_written(data: dict[str, object]) -> None:
    for style in (False, True, None):
        raw = yaml.safe_dump(data, default_flow_style=style, allow_unicode=True).encode()
        parsed = parse_yaml_bytes(raw)
        if not data:
            # "{}" is a document, an empty mapping: read as such.
            assert parsed.data == {}
            continue
        assert parsed.ok, parsed.issues
        assert parsed.data == yaml.safe_load(raw)


def test_error_says_file_line_and_sentence() -> None:
    error = YamlInputError("clinic.yaml", 7, "duplicate key 'band' (first written at line 2)")
    assert str(error) == "clinic.yaml:7: duplicate key 'band' (first written at line 2)"
    assert isinstance(error, ValueError)
