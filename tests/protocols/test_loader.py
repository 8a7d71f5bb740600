"""Loading protocol files: all or nothing, every problem named by file and line (PRO-1)."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from protocols.approval import ProtocolFlag
from protocols.errors import ProtocolFileError
from protocols.hash import compute_hash
from protocols.loader import LIBRARY_DIR, MAX_FILE_BYTES, load_library, load_protocol, load_protocol_bytes

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocols"
MALFORMED = sorted((FIXTURES / "malformed").glob("*.yaml"))
APPROVED = FIXTURES / "valid" / "approved-example.yaml"
EDITED = FIXTURES / "flagged" / "approved-example.yaml"


def _expectation(path: Path) -> tuple[int, str]:
    """Each malformed fixture states on its first line: ``# expect: LINE: message fragment``."""
    head = path.read_bytes().split(b"\n", 1)[0].decode("ascii")
    _, line, fragment = head.split(": ", 2)
    return int(line), fragment


def test_there_are_at_least_thirty_malformed_fixtures() -> None:
    assert len(MALFORMED) >= 30


@pytest.mark.req("PRO-1")
@pytest.mark.parametrize("path", MALFORMED, ids=[p.stem for p in MALFORMED])
def test_malformed_file_is_rejected_naming_file_and_line(path: Path) -> None:
    line, fragment = _expectation(path)
    with pytest.raises(ProtocolFileError) as caught:
        load_protocol(path)
    err = caught.value
    assert err.file == path
    assert all(p.file == path for p in err.problems)
    hits = [p for p in err.problems if fragment in p.message]
    assert hits, [str(p) for p in err.problems]
    assert hits[0].line == line, [str(p) for p in err.problems]
    assert f"{path}:{line}: " in str(err)


@pytest.mark.req("PRO-1")
def test_malformed_folder_loads_nothing_and_reports_every_file() -> None:
    result = load_library(FIXTURES / "malformed")
    assert result.protocols == {}
    assert sorted(e.file for e in result.errors) == MALFORMED


@pytest.mark.req("PRO-1")
def test_rest_of_the_library_loads_beside_a_bad_file(tmp_path: Path) -> None:
    for source in LIBRARY_DIR.glob("*.yaml"):
        shutil.copy(source, tmp_path)
    bad = FIXTURES / "malformed" / "dangling-branch.yaml"
    shutil.copy(bad, tmp_path)
    # A broken copy of a real protocol under its own name: rejected whole, not half-loaded.
    broken = (LIBRARY_DIR / "bp-spike.yaml").read_text().replace("next: recheck_after", "next: nowhere")
    (tmp_path / "bp-spike.yaml").write_text(broken)
    result = load_library(tmp_path)
    assert "bp-spike" not in result.protocols
    assert len(result.protocols) == len(list(LIBRARY_DIR.glob("*.yaml"))) - 1
    assert {e.file.name for e in result.errors} == {"bp-spike.yaml", "dangling-branch.yaml"}
    bp_error = next(e for e in result.errors if e.file.name == "bp-spike.yaml")
    line = broken.splitlines().index("    next: nowhere") + 1
    assert [p.line for p in bp_error.problems] == [line]


@pytest.mark.req("PRO-1")
def test_all_problems_of_a_file_are_reported_together(tmp_path: Path) -> None:
    text = APPROVED.read_text()
    text = text.replace('version: "2.0"', "version: 2.0", 1)  # wrong type
    text = text.replace("    seconds: 300", "    seconds: soon")  # wrong type in a node
    text = text.replace('      "yes": done', '      "yes": finished')  # dangling branch
    text = text.replace("    text: All done.", "    text: All done.\n    colour: green")  # unknown field
    path = tmp_path / "approved-example.yaml"
    path.write_text(text)
    with pytest.raises(ProtocolFileError) as caught:
        load_protocol(path)
    lines = text.splitlines()
    got = {(p.line, p.message.split(":")[0]) for p in caught.value.problems}
    assert got == {
        (lines.index("version: 2.0") + 1, "version"),
        (lines.index("    seconds: soon") + 1, "nodes.wait.seconds"),
        (
            lines.index('      "yes": finished') + 1,
            "branch 'yes' of node 'ask' goes to 'finished', which does not exist",
        ),
        (lines.index("    colour: green") + 1, "nodes.done.colour"),
    }


@pytest.mark.req("PRO-1")
def test_approved_file_with_matching_hash_loads_without_flags() -> None:
    loaded = load_protocol(APPROVED)
    assert loaded.flags == frozenset()
    assert loaded.protocol.approved_by.startswith("Dr. A. Director")
    assert loaded.protocol.approved_on == date(2026, 2, 1)
    assert loaded.content_hash == loaded.protocol.approved_hash


@pytest.mark.req("PRO-1")
def test_content_changed_without_approval_is_flagged_not_rejected() -> None:
    loaded = load_protocol(EDITED)
    assert loaded.flags == {ProtocolFlag.CHANGED_WITHOUT_APPROVAL}
    assert loaded.needs_acknowledgement
    note = loaded.flag_notes[0]
    assert note.line == 9  # the approved_hash line
    assert loaded.content_hash in note.message and "raise the version" in note.message


@pytest.mark.req("PRO-1")
def test_raising_the_version_alone_does_not_clear_the_flag(tmp_path: Path) -> None:
    text = EDITED.read_text().replace('version: "2.0"', 'version: "2.1"')
    text = text.replace(
        "    what: Added the recheck timer.",
        "    what: Added the recheck timer.\n"
        '  - version: "2.1"\n    date: 2026-03-01\n    who: Someone\n    what: Twice.',
    )
    path = tmp_path / "approved-example.yaml"
    path.write_text(text)
    assert load_protocol(path).flags == {ProtocolFlag.CHANGED_WITHOUT_APPROVAL}
    # Recording the new hash (after approval) clears it.
    path.write_text(text.replace(load_protocol(APPROVED).content_hash, compute_hash(path)))
    assert load_protocol(path).flags == frozenset()


@pytest.mark.req("PRO-1")
def test_review_overdue_is_flagged_against_the_given_day() -> None:
    assert load_protocol(APPROVED, today=date(2027, 2, 1)).flags == frozenset()
    late = load_protocol(APPROVED, today=date(2027, 2, 2))
    assert late.flags == {ProtocolFlag.REVIEW_OVERDUE}
    assert late.flag_notes[0].line == 8
    assert not late.needs_acknowledgement


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    raw = b"# padding\n" * (MAX_FILE_BYTES // 10 + 1)
    with pytest.raises(ProtocolFileError) as caught:
        load_protocol_bytes(raw, tmp_path / "big.yaml")
    assert caught.value.problems[0].line == 1
    assert "at most" in caught.value.problems[0].message


def test_duplicate_protocol_id_in_a_folder_rejects_the_second(tmp_path: Path) -> None:
    shutil.copy(APPROVED, tmp_path / "approved-example.yaml")
    shutil.copy(APPROVED, tmp_path / "approved-example.yml")
    result = load_library(tmp_path)
    assert list(result.protocols) == ["approved-example"]
    assert result.errors[0].file.name == "approved-example.yml"
    assert "already used" in result.errors[0].problems[0].message


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(NotADirectoryError, match="does not exist"):
        load_library(tmp_path / "nope")


def test_unreadable_file_is_a_file_error(tmp_path: Path) -> None:
    with pytest.raises(ProtocolFileError, match="cannot read"):
        load_protocol(tmp_path / "absent.yaml")


def test_offered_for_finds_the_protocol_for_an_alarm_condition() -> None:
    library = load_library(LIBRARY_DIR)
    # "bp_spike" was never an alarm condition the engine raises (PRO-8): the BP-high alarm is.
    assert [p.id for p in library.offered_for("bp_high")] == ["bp-spike"]
    assert library.offered_for("no_such_condition") == ()


def test_yes_and_no_keys_stay_text_not_booleans() -> None:
    # YAML 1.1 reads a bare yes/no as True/False; answer labels must stay what the clinic wrote.
    loaded = load_protocol(APPROVED)
    text = APPROVED.read_text().replace('      "yes": done', "      yes: done")
    reloaded = load_protocol_bytes(text.encode(), APPROVED)
    assert reloaded.content_hash == loaded.content_hash
