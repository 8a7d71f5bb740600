"""Walk a widget tree and name every visible button, label or drop-down whose text does not fit
(issue 10: "a test fails when any visible button or label in any screen is clipped at 1366x768").

A label that wraps must be tall enough for its wrapped text at its width; one that does not wrap
must be wide enough for its longest line. A button (push button, check box, radio) must be wide
enough for its text plus its icon and frame. A drop-down (QComboBox) must show its chosen text
whole when closed (wrapped in a ``WrapComboBox``, on one line otherwise), and opened, its list must
be wide enough for every choice on one line. Only widgets shown on screen are judged.
"""

from __future__ import annotations

from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QCheckBox,
    QComboBox,
    QLabel,
    QPushButton,
    QRadioButton,
    QStyle,
    QStyleOptionComboBox,
    QTableWidget,
    QWidget,
)

from bedside.views.combo import WrapComboBox

#: Pixels of slack for anti-aliasing and frame rounding.
SLACK = 2


def _visible_rect(widget: QWidget) -> QRect:
    """The part of ``widget`` its ancestors show (empty when scrolled out of view or hidden)."""
    rect = widget.rect()
    current: QWidget | None = widget
    offset_x = offset_y = 0
    visible = QRect(rect)
    while current is not None and current.parentWidget() is not None:
        pos = current.pos()
        offset_x += pos.x()
        offset_y += pos.y()
        parent = current.parentWidget()
        assert parent is not None
        clip = parent.rect().translated(-offset_x, -offset_y)
        visible = visible.intersected(clip)
        current = parent
    return visible


def _label_problem(label: QLabel) -> str | None:
    text = label.text()
    if not text or label.textFormat() == 1 or "<" in text:  # rich text: Qt lays it out itself
        return None
    metrics = label.fontMetrics()
    margin = label.margin() * 2 + label.contentsMargins().left() + label.contentsMargins().right()
    width = label.contentsRect().width()
    if label.wordWrap():
        needed = label.heightForWidth(label.width())
        if needed > label.height() + SLACK:
            return f"wrapped text needs {needed} px height, has {label.height()}"
        return None
    widest = max(metrics.horizontalAdvance(line) for line in text.splitlines() or [""])
    if widest + margin > width + SLACK:
        return f"needs {widest + margin} px width, has {width}"
    lines = max(1, len(text.splitlines()))
    if metrics.height() * lines > label.height() + SLACK:
        return f"needs {metrics.height() * lines} px height, has {label.height()}"
    return None


def _button_problem(button: QAbstractButton) -> str | None:
    text = button.text().replace("&&", "\0").replace("&", "").replace("\0", "&")
    if not text:
        return None
    metrics = button.fontMetrics()
    widest = max(metrics.horizontalAdvance(line) for line in text.splitlines())
    if isinstance(button, QCheckBox | QRadioButton):
        needed = widest + 24  # the indicator and its spacing
    elif isinstance(button, QPushButton):
        needed = widest + 12  # the frame and the style's text margin
    else:
        needed = widest
    if needed > button.width() + SLACK:
        return f"needs {needed} px width, has {button.width()}"
    if metrics.height() * len(text.splitlines()) > button.height() + SLACK:
        return f"needs {metrics.height()} px height, has {button.height()}"
    return None


def _table_problems(table: QTableWidget) -> list[str]:
    """Cells whose text is wider than their column (Qt would cut it with "...")."""
    metrics = table.fontMetrics()
    problems = []
    for row in range(table.rowCount()):
        for column in range(table.columnCount()):
            item = table.item(row, column)
            if item is None or not item.text():
                continue
            needed = metrics.horizontalAdvance(item.text()) + 8  # the cell's padding
            if needed > table.columnWidth(column) + SLACK:
                has = table.columnWidth(column)
                problems.append(f"cell {row},{column} {item.text()[:40]!r} needs {needed} px, has {has}")
    return problems


#: Room an item of an open list needs beside its words (the view's focus frame and text margins).
ITEM_MARGIN_PX = 8


def combo_problems(combo: QComboBox) -> list[str]:
    """What a drop-down cuts: its chosen text when closed, and each choice in its open list."""
    problems: list[str] = []
    text = combo.currentText()
    metrics = combo.fontMetrics()
    if text and isinstance(combo, WrapComboBox):
        area, needs = combo.text_rect(), combo.text_needs()
        if needs.height() > area.height() + SLACK:
            problems.append(
                f"closed: wrapped {text[:40]!r} needs {needs.height()} px height, has {area.height()}"
            )
    elif text:
        option = QStyleOptionComboBox()
        combo.initStyleOption(option)
        field = combo.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, combo
        )
        icon = combo.iconSize().width() + 4 if not combo.itemIcon(combo.currentIndex()).isNull() else 0
        needed = metrics.horizontalAdvance(text) + icon
        if needed > field.width() + SLACK:
            problems.append(f"closed: {text[:40]!r} needs {needed} px, has {field.width()}")
    if combo.count() == 0:
        return problems
    combo.showPopup()
    QApplication.processEvents()
    try:
        view = combo.view()
        width = view.viewport().width()
        item_metrics = view.fontMetrics()
        for row in range(combo.count()):
            choice = combo.itemText(row)
            icon = combo.iconSize().width() + 4 if not combo.itemIcon(row).isNull() else 0
            needed = item_metrics.horizontalAdvance(choice) + icon + ITEM_MARGIN_PX
            if needed > width + SLACK:
                problems.append(f"open list: {choice[:40]!r} needs {needed} px, has {width}")
    finally:
        combo.hidePopup()
        QApplication.processEvents()
    return problems


def clipped_texts(root: QWidget) -> list[str]:
    """Every visible label or button under ``root`` (itself included) whose text is cut, in words."""
    problems: list[str] = []
    widgets = [root, *root.findChildren(QWidget)]
    for widget in widgets:
        if not widget.isVisible() or _visible_rect(widget).isEmpty():
            continue
        problem = None
        if isinstance(widget, QLabel):
            problem = _label_problem(widget)
        elif isinstance(widget, QAbstractButton):
            problem = _button_problem(widget)
        elif isinstance(widget, QTableWidget):
            problem = "; ".join(_table_problems(widget)) or None
        elif isinstance(widget, QComboBox):
            problem = "; ".join(combo_problems(widget)) or None
        if problem is not None:
            name = widget.objectName() or type(widget).__name__
            text = widget.text() if isinstance(widget, QLabel | QAbstractButton) else ""
            text = widget.currentText() if isinstance(widget, QComboBox) else text
            problems.append(f"{name} {text[:60]!r}: {problem}")
    return problems
