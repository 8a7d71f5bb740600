"""A drop-down that never cuts its words (issue 10: wrap, never elide).

Qt's combo box cuts a long choice twice: closed, it elides the chosen text to the box's width
("Acute psychiatric worse"); open, its list is only as wide as the box, so every long protocol
title or patient name ends in "...". ``WrapComboBox`` wraps the chosen text over as many lines as
it needs (the box grows in height, like a wrapped label), and opens a list as wide as its longest
choice. Each ``QComboBox`` of the monitor and the session screens is one.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QRect, QSize, Qt
from PySide6.QtGui import QPaintEvent, QPalette, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QListView,
    QSizePolicy,
    QStyle,
    QStyleOptionComboBox,
    QStylePainter,
    QWidget,
)

log = logging.getLogger(__name__)

#: How the chosen text is laid out in the closed box.
_TEXT_FLAGS = Qt.TextFlag.TextWordWrap | Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft
#: Room beside an item's words in the open list (the view's focus margins and item padding).
ITEM_PADDING_PX = 16
#: The narrowest a box may be squeezed to, in average characters (its words then wrap).
MIN_CHARS = 6


class WrapComboBox(QComboBox):
    """A combo box whose chosen text wraps instead of being elided, and whose open list is as wide
    as its longest choice (never "...")."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        view = QListView(self)
        view.setTextElideMode(Qt.TextElideMode.ElideNone)
        view.setWordWrap(True)  # only a choice wider than the whole screen needs it
        view.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setView(view)
        policy = self.sizePolicy()
        policy.setHorizontalPolicy(QSizePolicy.Policy.Preferred)
        # Not Fixed (Qt's default): a fixed box is held to one line's height and cannot wrap. Its
        # growth is bounded instead by a maximum height that follows its width (``_hold_height``).
        policy.setVerticalPolicy(QSizePolicy.Policy.Minimum)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        model = self.model()
        for signal in (model.rowsInserted, model.rowsRemoved, model.modelReset, model.dataChanged):
            signal.connect(self._choices_changed)
        self.currentIndexChanged.connect(lambda _i: self._hold_height())

    # -- sizes -----------------------------------------------------------------------------------

    def _option(self, width: int, height: int) -> QStyleOptionComboBox:
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        option.rect = QRect(0, 0, width, height)
        return option

    def _chrome(self) -> QSize:
        """Frame, arrow and padding around the text field: the box's size minus its field."""
        base = super().sizeHint()
        probe = QSize(400, max(base.height(), 30))
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox,
            self._option(probe.width(), probe.height()),
            QStyle.SubControl.SC_ComboBoxEditField,
            self,
        )
        return QSize(probe.width() - field.width(), probe.height() - field.height())

    def _icon_width(self) -> int:
        return self.iconSize().width() + 4 if not self.itemIcon(self.currentIndex()).isNull() else 0

    def _text_height(self, text: str, width: int) -> int:
        bounds = self.fontMetrics().boundingRect(QRect(0, 0, max(1, width), 1_000_000), _TEXT_FLAGS, text)
        return bounds.height()

    def _longest_item_px(self) -> int:
        metrics = self.fontMetrics()
        return max((metrics.horizontalAdvance(self.itemText(i)) for i in range(self.count())), default=0)

    def hasHeightForWidth(self) -> bool:
        """The height follows the width: a narrower box wraps its text over more lines."""
        return True

    def heightForWidth(self, width: int) -> int:
        """Tall enough for the chosen text wrapped at ``width`` (never less than one line's box)."""
        chrome = self._chrome()
        text_width = width - chrome.width() - self._icon_width()
        wrapped = self._text_height(self.currentText(), text_width) + chrome.height()
        return max(super().sizeHint().height(), wrapped)

    def sizeHint(self) -> QSize:
        """Wide enough for the longest choice on one line when there is room."""
        width = self._longest_item_px() + self._chrome().width() + self._icon_width() + 2
        width = max(width, super().minimumSizeHint().width())
        return QSize(width, self.heightForWidth(width))

    def minimumSizeHint(self) -> QSize:
        """Narrow (its words wrap), but never narrower than a few characters or its longest word."""
        metrics = self.fontMetrics()
        words = self.currentText().split() or [""]
        widest_word = max(metrics.horizontalAdvance(w) for w in words)
        field = max(widest_word, metrics.averageCharWidth() * MIN_CHARS)
        width = field + self._chrome().width() + self._icon_width() + 2
        return QSize(width, super().minimumSizeHint().height())

    def text_rect(self) -> QRect:
        """Where the chosen text is drawn in the box as it is now (the fit test reads it)."""
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox,
            self._option(self.width(), self.height()),
            QStyle.SubControl.SC_ComboBoxEditField,
            self,
        )
        return field.adjusted(self._icon_width(), 0, 0, 0)

    def text_needs(self) -> QSize:
        """The size the chosen text needs when wrapped at the width it has now."""
        area = self.text_rect()
        return QSize(area.width(), self._text_height(self.currentText(), area.width()))

    # -- the open list ---------------------------------------------------------------------------

    def popup_width(self) -> int:
        """The open list's width: the longest choice on one line, with the list's frame and bar."""
        view = self.view()
        frame = 2 * view.frameWidth()
        scroll = self.style().pixelMetric(QStyle.PixelMetric.PM_ScrollBarExtent)
        icon = (
            self.iconSize().width() + 4
            if any(not self.itemIcon(i).isNull() for i in range(self.count()))
            else 0
        )
        return self._longest_item_px() + icon + ITEM_PADDING_PX + frame + scroll

    def _choices_changed(self, *_args: object) -> None:
        self.view().setMinimumWidth(self.popup_width())
        self._hold_height()

    def _hold_height(self) -> None:
        """As tall as the wrapped text needs at the width the box has, never taller (a layout
        would otherwise stretch a box in a tall row)."""
        wanted = self.heightForWidth(max(self.width(), self.minimumSizeHint().width()))
        if self.maximumHeight() != wanted:
            self.setMaximumHeight(wanted)
        self.updateGeometry()

    def resizeEvent(self, event: QResizeEvent) -> None:
        """A new width wraps the text over a different number of lines."""
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self._hold_height()

    def changeEvent(self, event: QEvent) -> None:
        """A new font or style (the window scales its text) changes every width: measured again."""
        super().changeEvent(event)
        if event.type() in (QEvent.Type.FontChange, QEvent.Type.StyleChange):
            self._choices_changed()

    def showPopup(self) -> None:
        """Open the list at least as wide as the longest choice (the font may have changed)."""
        self.view().setMinimumWidth(self.popup_width())
        self.view().setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        super().showPopup()

    # -- painting --------------------------------------------------------------------------------

    def paintEvent(self, event: QPaintEvent) -> None:
        """The box as the style draws it, with the chosen text wrapped in its field (never elided)."""
        if self.isEditable():  # its line edit draws the text
            super().paintEvent(event)
            return
        painter = QStylePainter(self)
        option = QStyleOptionComboBox()
        self.initStyleOption(option)
        text, icon = option.currentText, option.currentIcon
        option.currentText = ""
        painter.drawComplexControl(QStyle.ComplexControl.CC_ComboBox, option)
        field = self.style().subControlRect(
            QStyle.ComplexControl.CC_ComboBox, option, QStyle.SubControl.SC_ComboBoxEditField, self
        )
        if not icon.isNull():
            size = self.iconSize()
            top = field.top() + (field.height() - size.height()) // 2
            painter.drawPixmap(field.left(), top, icon.pixmap(size))
            field.setLeft(field.left() + size.width() + 4)
        painter.drawItemText(
            field, int(_TEXT_FLAGS), option.palette, self.isEnabled(), text, QPalette.ColorRole.ButtonText
        )
