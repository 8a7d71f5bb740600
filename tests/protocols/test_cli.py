"""``bedside protocols check|show|pdf|hash`` as functions (PRO-1)."""

from __future__ import annotations

import argparse
import io
import shutil
from pathlib import Path

import pytest

from protocols.cli import add_protocols_arguments, run_protocols
from protocols.loader import LIBRARY_DIR

FIXTURES = Path(__file__).parents[1] / "fixtures" / "protocols"


def _run(*argv: str) -> tuple[int, str, str]:
    parser = argparse.ArgumentParser(prog="bedside")
    add_protocols_arguments(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["protocols", *argv])
    out, err = io.StringIO(), io.StringIO()
    code = run_protocols(args, out, err)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.req("PRO-1")
def test_check_the_shipped_library_passes_and_shows_template_flags() -> None:
    code, out, _ = _run("check", str(LIBRARY_DIR))
    assert code == 0
    assert "10 protocol(s) loaded, 0 file(s) rejected" in out
    assert out.count("FLAG template") == 10


@pytest.mark.req("PRO-1")
def test_check_prints_every_problem_with_file_and_line(tmp_path: Path) -> None:
    shutil.copy(LIBRARY_DIR / "bp-spike.yaml", tmp_path)
    shutil.copy(FIXTURES / "malformed" / "unknown-field.yaml", tmp_path)
    shutil.copy(FIXTURES / "malformed" / "tab-indentation.yaml", tmp_path)
    code, out, err = _run("check", str(tmp_path))
    assert code == 1
    # Problems go to stderr (finding 15), the summary to stdout.
    assert f"{tmp_path / 'unknown-field.yaml'}:22: nodes.first.nxt: unknown field 'nxt'" in err
    assert f"{tmp_path / 'unknown-field.yaml'}:19: nodes.first: missing required field 'next'" in err
    assert f"{tmp_path / 'tab-indentation.yaml'}:25: tab character" in err
    assert "1 protocol(s) loaded, 2 file(s) rejected with 3 problem(s)" in out


def test_show_prints_the_outline_and_draws(tmp_path: Path) -> None:
    png, svg = tmp_path / "t.png", tmp_path / "t.svg"
    code, out, _ = _run("show", "cardiac-arrhythmia", "--png", str(png), "--svg", str(svg))
    assert code == 0
    assert "(start_cpr) DO: Call for help." in out
    assert png.read_bytes().startswith(b"\x89PNG") and b"<svg" in svg.read_bytes()


def test_show_an_unknown_or_rejected_protocol_fails(tmp_path: Path) -> None:
    shutil.copy(FIXTURES / "malformed" / "dangling-branch.yaml", tmp_path)
    code, _, err = _run("show", "dangling-branch", "--dir", str(tmp_path))
    assert code == 1
    assert "dangling-branch.yaml:28:" in err and "no loadable protocol" in err


def test_pdf_writes_the_binder(tmp_path: Path) -> None:
    target = tmp_path / "binder.pdf"
    code, out, _ = _run("pdf", str(target))
    assert code == 0 and "10 protocol(s)" in out
    assert target.read_bytes().startswith(b"%PDF")


@pytest.mark.req("PRO-1")
def test_hash_prints_the_value_to_record_after_approval() -> None:
    code, out, _ = _run("hash", str(FIXTURES / "flagged" / "approved-example.yaml"))
    assert code == 0
    digest = out.split()[0]
    assert digest.startswith("sha256:") and len(digest) == 71
    assert f'write approved_hash: "{digest}"' in out
    code, out, _ = _run("hash", str(LIBRARY_DIR / "bp-spike.yaml"))
    assert code == 0 and "note:" not in out


def test_hash_of_an_invalid_file_fails() -> None:
    code, _, err = _run("hash", str(FIXTURES / "malformed" / "bad-date.yaml"))
    assert code == 1 and "bad-date.yaml:7:" in err


def test_check_a_missing_folder_fails_cleanly(tmp_path: Path) -> None:
    code, _, err = _run("check", str(tmp_path / "nope"))
    assert code == 1 and "does not exist" in err
