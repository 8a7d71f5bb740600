"""Protocol files that are hostile or broken are rejected with file:line and a sentence (finding 15).

Before: a 10,000-deep file crashed ``load_protocol``, ``bedside protocols check`` and
``monitor --protocols`` with RecursionError; control characters and bidirectional overrides in a
step reached the screen; "Yes" and "yes" could be two answers to one question; ``check`` took only
a folder. Each test measures that the answer comes within a second (the requirement itself).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocols.errors import ProtocolFileError
from protocols.loader import LIBRARY_DIR, load_library, load_protocol
from tests.hostile_files import HOSTILE, IDS, Hostile, assert_names_file_and_line, rejected, write

BP_SPIKE = (LIBRARY_DIR / "bp-spike.yaml").read_text(encoding="utf-8")
STEP = "    text: Slow or pause the ketamine infusion per clinic protocol."
STEP_LINE = BP_SPIKE.splitlines().index(STEP) + 1
WORKTREE = Path(__file__).parents[2]

pytestmark = pytest.mark.req("PRO-1")


def _bp_spike(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bp-spike.yaml"
    path.write_bytes(text.encode("utf-8", errors="surrogateescape"))
    return path


def _with_step(step: str) -> str:
    assert STEP in BP_SPIKE
    return BP_SPIKE.replace(STEP, step, 1)


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_hostile_file_is_a_protocol_file_error_with_file_and_line(tmp_path: Path, case: Hostile) -> None:
    path = write(tmp_path, case)
    error = rejected(lambda: load_protocol(path), ProtocolFileError)
    assert error.file == path
    assert_names_file_and_line(str(error), path, case)


def test_a_folder_of_hostile_files_loads_the_good_ones_beside_them(tmp_path: Path) -> None:
    for case in HOSTILE:
        write(tmp_path, case)
    (tmp_path / "bp-spike.yaml").write_text(BP_SPIKE, encoding="utf-8")
    result = load_library(tmp_path)
    assert list(result.protocols) == ["bp-spike"]
    assert len(result.errors) == len(HOSTILE)


@pytest.mark.parametrize(
    ("step", "fragment"),
    [
        ("    text: Slow or pause\x00 the infusion.", "NUL"),
        ("    text: Slow or pause \x1b[2J the infusion.", "U+001B"),
        ("    text: Slow or pause \u202egnisod\u202c the infusion.", "U+202E"),
        ("    text: Slow or pause \u2066the\u2069 infusion.", "U+2066"),
        ('    text: "Slow or pause \\e[2J the infusion."', "U+001B"),
        ('    text: "Slow or pause \\u202Egnisod the infusion."', "U+202E"),
        ('    text: "Slow or pause \\0 the infusion."', "U+0000"),
        ('    text: "Slow or pause\\u200B the infusion."', "U+200B"),
        ('    text: "   "', "must not be blank"),
    ],
    ids=["nul", "esc", "rlo", "isolate", "esc-escape", "rlo-escape", "nul-escape", "zero-width", "blank"],
)
def test_step_text_a_clinician_reads_must_be_printable(tmp_path: Path, step: str, fragment: str) -> None:
    path = _bp_spike(tmp_path, _with_step(step))
    error = rejected(lambda: load_protocol(path), ProtocolFileError)
    hits = [p for p in error.problems if fragment in p.message]
    assert hits, [str(p) for p in error.problems]
    assert hits[0].line == STEP_LINE
    assert f"{path}:{STEP_LINE}: " in str(error)


TITLE = "title: Blood-pressure spike above the patient's threshold"
LABEL = '      "no": recheck_bp'
DOSE = '    dose: "[medical director to specify dose]"'


@pytest.mark.parametrize(
    ("old", "new", "fragment"),
    [
        (TITLE, 'title: "Blood-pressure\\tspike"', "U+0009"),
        (TITLE, 'title: "Blood-pressure\\nspike"', "a line break"),
        (TITLE, 'title: "Blood-pressure spike \\u202E"', "U+202E"),
        (LABEL, '      "n\\u202Eo": recheck_bp', "U+202E"),
        (LABEL, '      "no\\u200B": recheck_bp', "U+200B"),
        (DOSE, '    dose: "10 mg\\u202E"', "U+202E"),
        (DOSE, '    dose: "10 mg\\x07"', "U+0007"),
    ],
    ids=["title-tab", "title-newline", "title-rlo", "label-rlo", "label-zero-width", "dose-rlo", "dose-bel"],
)
def test_titles_labels_and_doses_must_be_printable_too(
    tmp_path: Path, old: str, new: str, fragment: str
) -> None:
    assert old in BP_SPIKE
    text = BP_SPIKE.replace(old, new, 1)
    path = _bp_spike(tmp_path, text)
    error = rejected(lambda: load_protocol(path), ProtocolFileError)
    hits = [p for p in error.problems if fragment in p.message]
    assert hits, [str(p) for p in error.problems]
    assert hits[0].line == text.splitlines().index(new) + 1


@pytest.mark.parametrize(
    ("labels", "line_of", "fragment"),
    [
        (('      "yes": stop_infusion_emergency', '      "yes": recheck_bp'), 2, "duplicate key 'yes'"),
        (('      "yes": stop_infusion_emergency', '      "Yes": recheck_bp'), 0, "look the same"),
        (('      "yes": stop_infusion_emergency', '      " YES ": recheck_bp'), 0, "look the same"),
        (('      "call  911": stop_infusion_emergency', '      "Call 911": recheck_bp'), 0, "look the same"),
    ],
    ids=["exact", "case", "case-and-spaces", "inner-spaces"],
)
def test_answer_labels_in_one_question_are_distinct(
    tmp_path: Path, labels: tuple[str, str], line_of: int, fragment: str
) -> None:
    old = '      "yes": stop_infusion_emergency\n      "no": recheck_bp'
    assert old in BP_SPIKE
    text = BP_SPIKE.replace(old, "\n".join(labels), 1)
    path = _bp_spike(tmp_path, text)
    error = rejected(lambda: load_protocol(path), ProtocolFileError)
    hits = [p for p in error.problems if fragment in p.message]
    assert hits, [str(p) for p in error.problems]
    lines = text.splitlines()
    # An exact repeat is named at the second label; labels that only look alike at "answers:".
    answers_line = lines.index(labels[0])  # 1-based: the line just above the first label
    expected = lines.index(labels[1]) + 1 if line_of == 2 else answers_line
    assert hits[0].line == expected, [str(p) for p in error.problems]


def test_distinct_labels_that_differ_in_words_still_load(tmp_path: Path) -> None:
    old = '      "yes": stop_infusion_emergency\n      "no": recheck_bp'
    text = BP_SPIKE.replace(old, '      "yes, now": stop_infusion_emergency\n      "not now": recheck_bp', 1)
    loaded = load_protocol(_bp_spike(tmp_path, text))
    assert set(loaded.protocol.nodes["emergency_signs"].targets()) == {
        ("yes, now", "stop_infusion_emergency"),
        ("not now", "recheck_bp"),
    }


def _cli(*argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(WORKTREE), "QT_QPA_PLATFORM": "offscreen"}
    return subprocess.run(
        [sys.executable, "-m", "bedside.cli", "protocols", *argv],
        capture_output=True,
        text=True,
        env=env,
        cwd=WORKTREE,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    "case",
    [
        h
        for h in HOSTILE
        if h.name in {"deep-list", "deep-map", "billion-laughs", "nul", "not-utf8", "binary"}
    ],
    ids=lambda h: h.name,
)
def test_cli_check_of_a_hostile_file_says_file_line_on_stderr_without_traceback(
    tmp_path: Path, case: Hostile
) -> None:
    path = write(tmp_path, case)
    done = _cli("check", str(path))
    assert done.returncode in (1, 2), done
    assert "Traceback" not in done.stderr + done.stdout
    assert_names_file_and_line(done.stderr, path, case)


def test_cli_check_takes_a_single_good_file(tmp_path: Path) -> None:
    path = _bp_spike(tmp_path, BP_SPIKE)
    done = _cli("check", str(path))
    assert done.returncode == 0, done.stderr
    assert "1 protocol(s) loaded, 0 file(s) rejected" in done.stdout
    assert "FLAG template" in done.stdout


def test_cli_check_of_a_folder_reports_every_bad_file_on_stderr(tmp_path: Path) -> None:
    for case in HOSTILE:
        write(tmp_path, case)
    done = _cli("check", str(tmp_path))
    assert done.returncode == 1
    assert "Traceback" not in done.stderr + done.stdout
    for case in HOSTILE:
        assert f"{tmp_path / f'{case.name}.yaml'}:" in done.stderr
    assert f"0 protocol(s) loaded, {len(HOSTILE)} file(s) rejected" in done.stdout


_UNREADABLE = st.characters(categories=("Cc", "Cf", "Cs", "Co", "Zl", "Zp"))


def _escape(ch: str) -> str:
    return f"\\u{ord(ch):04X}" if ord(ch) <= 0xFFFF else f"\\U{ord(ch):08X}"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ch=_UNREADABLE, where=st.sampled_from(["title", "label", "step"]), at=st.integers(0, 5))
def test_no_unreadable_character_reaches_a_clinician_whatever_it_is(
    tmp_path: Path, ch: str, where: str, at: int
) -> None:
    """Property: any control, format, surrogate, private-use or separator character written as an
    escape into a title, an answer label or a step is rejected at that line."""
    words = {"title": "Blood-pressure spike", "label": "no", "step": "Slow or pause the infusion."}[where]
    written = words[:at] + _escape(ch) + words[at:]
    line = {
        "title": f'title: "{written}"',
        "label": f'      "{written}": recheck_bp',
        "step": f'    text: "{written}"',
    }[where]
    old = {"title": TITLE, "label": LABEL, "step": STEP}[where]
    text = BP_SPIKE.replace(old, line, 1)
    path = _bp_spike(tmp_path, text)
    error = rejected(lambda: load_protocol(path), ProtocolFileError)
    assert text.splitlines().index(line) + 1 in [p.line for p in error.problems], [
        str(p) for p in error.problems
    ]


def test_a_failure_nobody_foresaw_costs_that_file_not_the_library(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``monitor --protocols`` must start even when one file trips an unforeseen error."""
    import protocols.loader as loader

    (tmp_path / "bp-spike.yaml").write_text(BP_SPIKE, encoding="utf-8")
    (tmp_path / "zz-odd.yaml").write_text("id: zz-odd\n", encoding="utf-8")
    real = loader.load_protocol

    def flaky(path: Path, today: object = None) -> object:
        if path.name == "zz-odd.yaml":
            raise RecursionError("maximum recursion depth exceeded")
        return real(path)

    monkeypatch.setattr(loader, "load_protocol", flaky)
    result = loader.load_library(tmp_path)
    assert list(result.protocols) == ["bp-spike"]
    [problem] = result.problems
    assert (problem.file.name, problem.line) == ("zz-odd.yaml", 1)
    assert "could not be checked (RecursionError)" in problem.message
