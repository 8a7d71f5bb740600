"""Qt only: the window and its widgets. Views show what the workflow and monitor decide."""

from __future__ import annotations
