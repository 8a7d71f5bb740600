"""Every button, label and drop-down (closed and open) of every session screen shows its whole text
at 1366x768 (issue 10: "a test fails when any visible button or label in any screen is clipped at
1366x768"; drop-downs cut long protocol titles and names)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from bedside.devtools.session_screens import scripted_session
from bedside.views.combo import WrapComboBox
from bedside.views.session.context import SCREENS
from bedside.views.session.hub import SessionScreens
from tests.bedside.text_fit import clipped_texts


def test_the_fit_check_sees_a_cut_button_and_a_cut_label(qtbot: QtBot) -> None:
    """The checker itself: a 40 px button with a long answer and a narrow unwrapped label fail."""
    root = QWidget()
    qtbot.addWidget(root)
    row = QHBoxLayout(root)
    cut = QPushButton("Yes, systolic above 180 and symptoms")
    cut.setFixedWidth(40)
    label = QLabel("Blood pressure past the patient's ceiling")
    label.setFixedWidth(30)
    fine = QPushButton("OK")
    row.addWidget(cut)
    row.addWidget(label)
    row.addWidget(fine)
    root.show()
    qtbot.waitExposed(root)
    problems = clipped_texts(root)
    assert len(problems) == 2 and any("systolic above 180" in p for p in problems)


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366x768", "1080p"])
@pytest.mark.parametrize("simulated", [False, True], ids=["patient", "drill"])
def test_every_screen_fits(qtbot: QtBot, tmp_path: Path, simulated: bool, size: tuple[int, int]) -> None:
    """Each screen, filled as a session half-way has it (alarms, incidents, follow-ups, drill
    timings), shown in turn in the session window; then the lock overlay."""
    scripted = scripted_session(tmp_path, drill=simulated)
    try:
        hub = SessionScreens(scripted.services)
        qtbot.addWidget(hub)
        hub.resize(*size)
        hub.show()
        qtbot.waitExposed(hub)
        problems: dict[str, list[str]] = {}
        for name in SCREENS:
            screen = hub.show_screen(name)
            qtbot.wait(1)
            found = clipped_texts(hub)
            if screen.horizontalScrollBar().maximum() > 0:  # content wider than the screen is cut too
                found.append(f"needs {screen.horizontalScrollBar().maximum()} px more width")
            if found:
                problems[name] = found
        scripted.services.station.lock_after_s = 1
        scripted.clock.advance(2)
        hub.tick()
        assert hub.lock.isVisible()
        qtbot.wait(1)
        locked = clipped_texts(hub.lock)
        if locked:
            problems["lock"] = locked
        assert not problems, problems
    finally:
        scripted.recorder.close(end_session=False)


def test_the_fit_check_sees_a_cut_drop_down_closed_and_open(qtbot: QtBot) -> None:
    """Issue 10 (drop-downs cut long titles): the checker reports a plain combo box that elides
    its chosen title and opens a list narrower than its choices; the same choices in a
    ``WrapComboBox`` of the same width are whole (wrapped closed, one line each open)."""
    titles = [
        "Acute psychiatric worsening (including new or intensifying suicidal thoughts)",
        "Prolonged dissociation beyond the 20-40 minute recovery window",
        "Nausea",
    ]
    root = QWidget()
    qtbot.addWidget(root)
    column = QVBoxLayout(root)
    plain = QComboBox()
    plain.setObjectName("plain")
    plain.setStyleSheet("QComboBox { combobox-popup: 0; }")  # a list as narrow as the box, as on Windows
    plain.addItems(titles)
    plain.setFixedWidth(180)
    wrapping = WrapComboBox()
    wrapping.setObjectName("wrapping")
    wrapping.addItems(titles)
    wrapping.setMaximumWidth(180)
    column.addWidget(plain)
    column.addWidget(wrapping)
    column.addStretch(1)
    root.resize(400, 400)
    root.show()
    qtbot.waitExposed(root)
    problems = clipped_texts(root)
    plain_problems = [p for p in problems if p.startswith("plain")]
    assert any("closed" in p for p in plain_problems), problems
    assert any("open list" in p and "Prolonged dissociation" in p for p in plain_problems), problems
    assert not [p for p in problems if p.startswith("wrapping")], problems
    assert wrapping.height() > plain.height()  # the chosen title wraps over more lines
    assert wrapping.view().minimumWidth() >= wrapping.fontMetrics().horizontalAdvance(titles[0])
