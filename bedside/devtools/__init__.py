"""Developer tools run by scripts and tests (soak, screenshots); the app never imports them."""

from __future__ import annotations
