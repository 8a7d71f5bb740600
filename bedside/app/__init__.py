"""Composition root: devices by URL scheme, the Qt-free build, the one heartbeat and the Qt run."""

from __future__ import annotations
