"""Start-up problems are one sentence on stderr and exit code 2, never a traceback (issue 11).

Issue 11, "Faults and bad input": a database that cannot be reached, a missing driver, a bad
config, a serial port missing or in use, an MLLP port in use, an unwritable data folder. Each runs
the real command line in a subprocess with ``--check`` (build everything, then exit).
"""

from __future__ import annotations

import fcntl
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drivers.transports.pty_pair import PtyPair

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Setup:
    """What a case needs: extra arguments, extra environment, and things to close afterwards."""

    tmp: Path
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    cleanup: list[Callable[[], None]] = field(default_factory=list)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _db(s: Setup) -> list[str]:
    return ["--db", f"sqlite:///{s.tmp / 'bedside.sqlite3'}"]


def unreachable_database(s: Setup) -> None:
    s.args += ["--db", f"postgresql://bedside@127.0.0.1:{_free_port()}/bedside"]


def missing_postgres_driver(s: Setup) -> None:
    shadow = s.tmp / "no-driver"
    (shadow / "psycopg").mkdir(parents=True)
    (shadow / "psycopg" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'psycopg'\", name='psycopg')\n", encoding="utf-8"
    )
    s.env["PYTHONPATH"] = f"{shadow}{os.pathsep}{ROOT}"
    s.args += ["--db", "postgresql://bedside@127.0.0.1:5432/bedside"]


def bad_config_file(s: Setup) -> None:
    bad = s.tmp / "clinic.yaml"
    bad.write_text("band: [\n", encoding="utf-8")
    s.args += [*_db(s), "--clinic-config", str(bad)]


def missing_serial_port(s: Setup) -> None:
    s.args += [*_db(s), "--device", "masimo-ascii=/dev/ttyBEDSIDE-NO-SUCH-PORT"]


def serial_port_in_use(s: Setup) -> None:
    pair = PtyPair()
    holder = os.open(pair.device_path, os.O_RDWR | os.O_NOCTTY)
    fcntl.flock(holder, fcntl.LOCK_EX | fcntl.LOCK_NB)  # another program holds the port
    s.cleanup += [lambda: os.close(holder), pair.close]
    s.args += [*_db(s), "--device", f"masimo-ascii={pair.device_path}"]


def mllp_port_in_use(s: Setup) -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    s.cleanup.append(taken.close)
    s.args += [*_db(s), "--device", f"hl7-pcd01=mllp://127.0.0.1:{taken.getsockname()[1]}"]


def unwritable_data_folder(s: Setup) -> None:
    # /proc takes no new folders, even for root (the tests run as root: permission bits would not stop it).
    s.env["XDG_DATA_HOME"] = "/proc/bedside-no-such-folder"


def unwritable_database_folder(s: Setup) -> None:
    s.args += ["--db", "sqlite:////proc/bedside-no-such-folder/bedside.sqlite3"]


CASES = {
    "database unreachable": (unreachable_database, "server cannot be reached (connection failed"),
    "PostgreSQL driver missing": (missing_postgres_driver, "driver (psycopg) is not installed"),
    "bad clinic config": (bad_config_file, "clinic configuration was refused"),
    "serial port missing": (missing_serial_port, "does not exist"),
    "serial port in use": (serial_port_in_use, "is in use by another program"),
    "MLLP port in use": (mllp_port_in_use, "is already in use by another program"),
    "data folder unwritable": (unwritable_data_folder, "log file /proc/bedside-no-such-folder"),
    "database folder unwritable": (unwritable_database_folder, "cannot be created in /proc/"),
}


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[Setup]:
    s = Setup(tmp_path, env={"XDG_DATA_HOME": str(tmp_path / "data")})
    yield s
    for close in reversed(s.cleanup):
        close()


def _run(s: Setup) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen", **s.env}
    command = [sys.executable, "-m", "bedside.cli", "monitor", "--check", *s.args]
    return subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_start_up_problem_is_one_sentence_and_exit_code_2(setup: Setup, case: str) -> None:
    """Issue 11 (faults: start-up problems). Before: a missing or taken serial port started the
    monitor anyway, an unwritable folder gave a raw errno, and INFO lines crowded stderr."""
    make, words = CASES[case]
    make(setup)
    done = _run(setup)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("bedside monitor: ") and words in lines[0]


def test_check_exits_0_when_everything_is_usable(setup: Setup) -> None:
    """``--check`` builds what the monitor needs and says so; nothing on stderr, a log file written."""
    pair = PtyPair()
    setup.cleanup.append(pair.close)
    listen = f"hl7-pcd01=mllp://127.0.0.1:{_free_port()}"
    setup.args += [*_db(setup), "--device", f"masimo-ascii={pair.device_path}", "--device", listen]
    done = _run(setup)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert "start-up check passed" in done.stdout
    log_file = setup.tmp / "data" / "bedside" / "logs" / "bedside-monitor.log"
    assert "bedside monitor starting" in log_file.read_text(encoding="utf-8")


def test_version_is_one_line_and_exit_0() -> None:
    """Issue 11 (faults): ``bedside --version`` says which build runs, for a support call."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "bedside.cli", "--version"]
    done = subprocess.run(command, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == ""
    assert done.stdout.startswith("bedside ") and done.stdout.count("\n") == 1
