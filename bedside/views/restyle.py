"""Change a widget's look only when it changes, and without re-laying out the window.

Why this exists (issue 10, "Speed", measured with ``bench_idle_cpu``): ``setStyleSheet`` re-polishes
the widget and sends it a ``StyleChange``, and a ``StyleChange`` calls ``updateGeometry``: the
layout of every widget up to the window is invalidated and run again, and during that pass every
word-wrapped rich-text label (the tiles' titles, the link line) is re-measured and so repainted.
Views re-rendered on every sample set the same style sheet several times a second, and each time
the whole window was re-laid out. ``set_style`` skips an unchanged style sheet; ``set_state``
switches a look chosen by a dynamic property in a style sheet set once (the alarm rows' flash),
which repaints the widget without touching the layout.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QWidget

log = logging.getLogger(__name__)


def set_style(widget: QWidget, css: str) -> bool:
    """Give ``widget`` the style sheet ``css`` unless it has it already; True when it changed."""
    if widget.styleSheet() == css:
        return False
    widget.setStyleSheet(css)
    return True


def set_state(widget: QWidget, name: str, value: str) -> bool:
    """Set the dynamic property ``name`` that ``widget``'s style sheet selects on (``[name="value"]``)
    and redraw it in the new look; True when it changed.

    Re-polishing by hand (unpolish, polish) applies the rule that now matches without the
    ``StyleChange`` that ``setStyleSheet`` sends, so nothing is re-laid out: the look of a
    property may change colours and borders, never sizes (a size change would need a layout).
    """
    if widget.property(name) == value:
        return False
    widget.setProperty(name, value)
    style = widget.style()
    style.unpolish(widget)
    style.polish(widget)
    widget.update()
    return True
