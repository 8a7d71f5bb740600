"""Suite-wide setup: Qt offscreen, the requirement marker, and shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from drivers.clock import FakeClock

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def fixtures_dir() -> Path:
    """Real device data copied from shared/reference, with its licence beside it."""
    return FIXTURES


@pytest.fixture
def clock() -> FakeClock:
    """A fake clock; tests advance it instead of sleeping."""
    return FakeClock()
