"""The `bedside` command, one module per sub-command; `main` (in `bedside.cli.main`) dispatches."""

from __future__ import annotations
