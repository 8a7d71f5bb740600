"""Keep a view's listener on the GUI thread when the engine may run on another (ALM-5).

While the window's thread is stalled, ``bedside.app.watchdog.GuiWatchdog`` pumps and judges the
data in its place; the clinical session and the protocol desk then tell their listeners from the
watchdog's thread. A widget must never be touched from there, so a view registers its listener
through ``gui_only``: on the GUI thread it is called at once (no latency added to the tone or
the alarm bar), from any other thread it is queued to the GUI thread, coalesced so a stall's
burst of changes re-renders once when the window is back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class _Relay(QObject):
    """Lives on the GUI thread; its signal, emitted elsewhere, is delivered there (queued)."""

    later = Signal()


class GuiOnlyListener:
    """A listener that always runs on the GUI thread (the thread that built it and ``owner``)."""

    def __init__(self, listener: Callable[[], None], owner: QObject) -> None:
        self._listener = listener
        self._owner = owner
        self._relay = _Relay(owner)
        self._relay.later.connect(self._deliver)
        self._pending = False
        self._lock = threading.Lock()
        # The owner is built on the GUI thread, and so is this wrapper (in the view's constructor).
        self._gui_thread = threading.get_ident()

    def __call__(self) -> None:
        """Call the listener now on the GUI thread; queue one call from any other thread."""
        if threading.get_ident() == self._gui_thread:
            self._listener()
            return
        with self._lock:
            if self._pending:
                return  # one delivery renders everything that changed meanwhile
            self._pending = True
        self._relay.later.emit()

    def _deliver(self) -> None:
        with self._lock:
            self._pending = False
        self._listener()


def gui_only(listener: Callable[[], None], owner: QObject) -> GuiOnlyListener:
    """``listener`` wrapped so that it only ever runs on ``owner``'s (the GUI) thread."""
    return GuiOnlyListener(listener, owner)
