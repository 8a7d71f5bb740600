"""Everything Bedside writes about a patient is readable by its owner only (issue 11, security baseline).

The database, its folder, the log file and its folder are checked by their permission bits, not
by trying to read them as another user: the tests run as root, who could read them anyway.
The login's umask here is the common 022, which would make new files 0644 without Bedside's own.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_monitor_makes_its_data_folder_database_and_log_owner_only(tmp_path: Path) -> None:
    """Issue 11 (security baseline): before, the database was 0644 in a 0755 folder and there was
    no log file; now the data folder and the log folder are 0700, the database and the log 0600."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    command = [
        "sh",
        "-c",
        'umask 022 && exec "$@"',
        "sh",
        sys.executable,
        "-m",
        "bedside.cli",
        "monitor",
        "--check",
    ]
    done = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr

    folder = tmp_path / "data" / "bedside"
    assert _mode(folder) == 0o700
    assert _mode(folder / "logs") == 0o700
    assert _mode(folder / "logs" / "bedside-monitor.log") == 0o600
    written = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.name == "bedside-drills.sqlite3" for p in written)
    assert {p.name: _mode(p) for p in written} == {p.name: 0o600 for p in written}


def test_an_existing_log_file_readable_by_others_is_tightened(tmp_path: Path) -> None:
    """A log file left 0644 by an older version becomes 0600 at the next start."""
    log_file = tmp_path / "logs" / "monitor.log"
    log_file.parent.mkdir()
    log_file.write_text("older lines\n", encoding="utf-8")
    log_file.chmod(0o644)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    env["XDG_DATA_HOME"] = str(tmp_path / "data")
    command = [sys.executable, "-m", "bedside.cli", "monitor", "--check", "--log-file", str(log_file)]
    done = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert _mode(log_file) == 0o600
    assert "older lines" in log_file.read_text(encoding="utf-8")


def test_every_command_runs_with_an_owner_only_umask() -> None:
    """Files written by any command (state reports, screenshots, PDFs) are created 0600 / 0700."""
    from bedside.cli.main import main

    before = os.umask(0o022)
    try:
        assert main(["protocols", "check", str(ROOT / "protocols" / "library")]) == 0
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(before)
