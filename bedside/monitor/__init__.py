"""Qt-free monitoring core: device links into readings, the vitals board, the recorder."""

from __future__ import annotations
