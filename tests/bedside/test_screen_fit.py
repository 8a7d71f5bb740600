"""The monitor screen reads from across the room and fits every supported screen (issue 10:
"Protocol answers are cut off", "The window does not fit a 1600x1000 screen", numerics readable at
3 m). Every visible button, label and drop-down (closed, and each choice of its open list) of the
monitor window, with a protocol at its longest answers and several alarms at once, is walked at
1366x768, 1600x1000 and 1920x1080 (and 4K): a text that does not fit its widget, or a widget cut by
its parent, fails the test."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QFontMetrics, QTextDocument
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractScrollArea,
    QApplication,
    QComboBox,
    QDialog,
    QLabel,
    QWidget,
)
from pytestqt.qtbot import QtBot

from alarms import ThresholdSet, load_config
from bedside.devtools.scene import LONG_ANSWERS_STEP, Scene, monitor_scene
from bedside.views.documentation import MedicationDialog, NoteDialog, ThresholdChangeDialog
from bedside.views.theme import use_theme
from bedside.views.threshold_dialog import ThresholdDialog
from bedside.views.widgets import WrapButton
from tests.bedside.text_fit import combo_problems

SIZES = [(1366, 768), (1600, 1000), (1920, 1080), (3840, 2160)]
#: 25 mm on a 24-inch 1080p panel (0.277 mm a pixel) is 90 px; the brief rounds up to 94.
CAP_HEIGHT_3M_PX = 94


def _plain(text: str) -> str:
    if re.search(r"<[a-zA-Z/]", text):
        doc = QTextDocument()
        doc.setHtml(text)
        return doc.toPlainText()
    return text


def _in_scroll_area(widget: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None:
        if isinstance(parent, QAbstractScrollArea):
            return True
        parent = parent.parentWidget()
    return False


def _texts(root: QWidget) -> Iterator[tuple[QWidget, str]]:
    for widget in root.findChildren(QWidget):
        if not widget.isVisible():
            continue
        if isinstance(widget, QLabel):
            yield widget, _plain(widget.text())
        elif isinstance(widget, QAbstractButton) and not isinstance(widget, WrapButton):
            yield widget, widget.text()


def clipped(root: QWidget) -> list[str]:
    """Every visible label or button whose text does not fit it, or that its parents cut."""
    problems: list[str] = []
    for widget, text in _texts(root):
        name = f"{type(widget).__name__} {text[:40]!r}"
        if text.strip():
            metrics = QFontMetrics(widget.font())
            area = widget.contentsRect()
            if isinstance(widget, QAbstractButton):
                hint = widget.sizeHint()
                if hint.width() > widget.width() or metrics.height() > widget.height():
                    problems.append(f"{name}: needs {hint.width()} px, has {widget.width()}")
            elif isinstance(widget, QLabel) and widget.wordWrap():
                need = metrics.boundingRect(
                    QRect(0, 0, area.width(), 100_000), int(Qt.TextFlag.TextWordWrap), text
                )
                if need.width() > area.width() + 1 or need.height() > area.height() + 1:
                    problems.append(
                        f"{name}: needs {need.width()}x{need.height()}, has {area.width()}x{area.height()}"
                    )
            else:
                lines = text.splitlines() or [text]
                width = max(metrics.horizontalAdvance(line) for line in lines)
                height = metrics.height() * len(lines)
                if width > area.width() + 1 or height > area.height() + 1:
                    problems.append(f"{name}: needs {width}x{height}, has {area.width()}x{area.height()}")
        if not _in_scroll_area(widget):
            shown = widget.visibleRegion().boundingRect()
            if shown != widget.rect():
                problems.append(f"{name}: cut by its parent to {shown.width()}x{shown.height()}")
    # Drop-downs: the chosen text closed, and every choice of the open list (issue 10).
    for combo in root.findChildren(QComboBox):
        if combo.isVisible():
            label = combo.objectName() or f"QComboBox {combo.currentText()[:40]!r}"
            problems += [f"{label}: {p}" for p in combo_problems(combo)]
    return problems


@pytest.fixture
def themed() -> Iterator[None]:
    yield
    use_theme("dark")


def _scene(qtbot: QtBot, size: tuple[int, int], theme: str = "dark") -> Scene:
    scene = monitor_scene(theme, size)
    qtbot.addWidget(scene.window)
    QApplication.processEvents()
    return scene


@pytest.mark.req("PRO-2")
@pytest.mark.req("ALM-1")
@pytest.mark.parametrize("size", SIZES, ids=[f"{w}x{h}" for w, h in SIZES])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_every_button_and_label_of_the_monitor_is_whole_at_every_supported_size(
    qtbot: QtBot, size: tuple[int, int], theme: str, themed: None
) -> None:
    """Issue 10: the BP-spike answers read ", no em"; a 1600x1000 screen cut labels in half; the
    window needed 1053 px and grew with each alarm row."""
    scene = _scene(qtbot, size, theme)
    window = scene.window
    run = scene.desk.runs()[-1]
    assert run.current_node_id == LONG_ANSWERS_STEP
    answers = window.protocol_panel.action_buttons()
    assert set(answers) == {
        "Coming down, no emergency signs",
        "Still above threshold, no emergency signs",
        "Emergency signs present",
    }
    assert len(scene.clinical.active_alarms()) >= 3  # more alarms than rows: "+N more"
    bar = window.alarm_bar
    assert bar.hidden_count() >= 1 and bar.more_label.isVisible() and "+1 more" in bar.more_label.text()
    hint = window.minimumSizeHint()
    # Text is sized from the window, so the window at each size must fit that size's screen.
    assert hint.width() <= size[0] and hint.height() <= size[1], f"minimum size {hint}"
    assert (window.width(), window.height()) == size
    assert clipped(window) == []
    for answer in answers.values():  # the whole answer is on screen, wrapped if need be
        assert answer.words.wordWrap() and answer.isVisible()


@pytest.mark.req("ALM-1")
def test_the_fit_check_fails_on_the_old_single_line_buttons(qtbot: QtBot) -> None:
    """The check itself: a push button narrower than its words is reported (it cannot fail silently)."""
    scene = _scene(qtbot, (1366, 768))
    old = scene.window.protocol_panel
    from PySide6.QtWidgets import QPushButton

    cut = QPushButton("Still above threshold, no emergency signs", old)
    cut.setGeometry(0, 0, 60, 30)
    cut.show()
    assert any("Still above threshold" in p for p in clipped(old))


@pytest.mark.req("ALM-1")
def test_numerics_are_readable_from_3_m_on_a_24_inch_1080p_panel(qtbot: QtBot) -> None:
    """Issue 10: numerics at least 25 mm tall on a 24-inch 1080p panel (capital height >= 94 px)."""
    scene = _scene(qtbot, (1920, 1080))
    for tile in (scene.window.spo2_tile, scene.window.pulse_tile, scene.window.nibp_tile):
        assert QFontMetrics(tile.value.font()).capHeight() >= CAP_HEIGHT_3M_PX, tile.value.text()
    small = _scene(qtbot, (1366, 768))
    # Text follows the window: smaller on the smaller screen, in proportion to its height.
    assert small.window.spo2_tile.value.font().pixelSize() < scene.window.spo2_tile.value.font().pixelSize()


def _dialogs(parent: QWidget) -> list[QDialog]:
    config = load_config()
    now = __import__("datetime").datetime.now().astimezone()
    return [
        NoteDialog("Add a note to the incident record", "Add a note to the incident record: the "
                   "readings, symptoms, what was done, and what was told to the patient.", parent),
        MedicationDialog(now, drug="[medical director to specify drug]", dose="[medical director to "
                         "specify dose]", route="[medical director to specify route]", parent=parent),
        ThresholdChangeDialog(ThresholdSet.clinic_default(config), parent),
        ThresholdDialog(ThresholdSet.clinic_default(config), parent),
    ]  # fmt: skip


@pytest.mark.req("THR-5")
@pytest.mark.parametrize("size", SIZES[:3], ids=[f"{w}x{h}" for w, h in SIZES[:3]])
def test_the_documentation_dialogs_are_whole_and_fit_the_screen(qtbot: QtBot, size: tuple[int, int]) -> None:
    scene = _scene(qtbot, size)
    for dialog in _dialogs(scene.window):
        dialog.show()
        QApplication.processEvents()
        hint = dialog.minimumSizeHint()
        assert hint.width() <= size[0] and hint.height() <= size[1]
        assert clipped(dialog) == [], dialog.windowTitle()
        dialog.close()


def test_no_colour_literal_outside_the_theme() -> None:
    """Issue 10, "one colour table for the whole app": every colour in bedside/views comes from
    views/theme.py (so the light theme and the meaning of each colour are decided in one place)."""
    views = Path(__file__).parents[2] / "bedside" / "views"
    hex_colour = re.compile(r"""["'][^"'\n]*(?<!&)#[0-9a-fA-F]{3,8}\b""")
    found = [
        f"{path.name}:{n}: {line.strip()}"
        for path in sorted(views.glob("*.py"))
        if path.name != "theme.py"
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if hex_colour.search(line)
    ]
    assert found == []
