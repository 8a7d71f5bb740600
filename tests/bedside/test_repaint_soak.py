"""A Qt upgrade that crashes under repeated repaints must fail here, not at a bedside."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.soak
@pytest.mark.timeout(300)
def test_thousands_of_trend_repaints_do_not_crash_the_process() -> None:
    """MON-5: the trend view survives 2,000 repaints (PySide6 6.12.0 on 3.11 dies within hundreds)."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run(
        [sys.executable, "-m", "bedside.devtools.soak", "--frames", "2000"],
        capture_output=True,
        text=True,
        env=env,
        timeout=280,
        check=False,
    )
    assert proc.returncode == 0, f"soak crashed (rc {proc.returncode}): {proc.stderr[-2000:]}"
    assert "soak ok: frames 2000, points 4000" in proc.stdout
