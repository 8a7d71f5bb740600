"""The monitor outlives its process (issue 11, MON-8, ALM-5): `bedside run` supervises it.

Before: a monitor that died stayed dead until someone noticed and started it again, and a monitor
stopped as a whole (SIGSTOP, a frozen machine) was never noticed at all. Here ``bedside run`` is a
real subprocess running the real monitor (offscreen Qt, simulators, SQLite in tmp_path); every
wait polls the monitor's ``--state-report`` file or the log with a deadline. The crash-loop and
silence rules are tested with tiny stand-in children, so they take a second.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from alarms import AlarmPriority, ConditionId
from bedside.app.supervisor import EXIT_CRASH_LOOP, Supervisor, SupervisorPolicy, supervisor_heartbeat
from bedside.cli.run import monitor_argv

ROOT = Path(__file__).resolve().parents[2]
GAP = ConditionId.MONITORING_GAP.value
#: The clinic's requirement for a crashed monitor (issue 11): back within this, same session.
BACK_WITHIN_S = 5.0

Report = dict[str, Any]


class Supervised:
    """One ``bedside run`` process (supervisor + monitor + spare) and the files it writes."""

    def __init__(self, tmp_path: Path, *extra: str) -> None:
        self.db_file = tmp_path / "supervised.sqlite3"
        self.report = tmp_path / "state.json"
        self.log = tmp_path / "run.log"
        #: The monitors' own log (the terminal shows warnings only; the file has everything).
        self.monitor_log = tmp_path / "monitor.log"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
        command = [
            sys.executable, "-m", "bedside.cli", "run", "--db", f"sqlite:///{self.db_file}",
            "--station", "supervised-room", "--state-report", str(self.report),
            "--log-file", str(self.monitor_log), *extra,
        ]  # fmt: skip
        with self.log.open("wb") as out:
            self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)

    def read(self) -> Report:
        try:
            report: Report = json.loads(self.report.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return {}
        return report

    def wait_for(self, what: str, ready: Callable[[Report], bool], timeout_s: float) -> Report:
        """Poll the state report until ``ready`` holds; fail with the log's tail on timeout."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"bedside run exited ({self.process.returncode}) before {what}:\n{self.tail()}")
            report = self.read()
            if report and ready(report):
                return report
            time.sleep(0.05)
        pytest.fail(
            f"timed out waiting for {what}; last report: {json.dumps(self.read())[:1500]}\n{self.tail()}"
        )

    def wait_for_log(self, text: str, timeout_s: float, count: int = 1) -> None:
        """Poll the log until ``text`` appears ``count`` times."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            files = [f for f in (self.log, self.monitor_log) if f.exists()]
            logs = [f.read_text(encoding="utf-8", errors="replace") for f in files]
            if sum(log.count(text) for log in logs) >= count:
                return
            time.sleep(0.1)
        pytest.fail(f"timed out waiting for {text!r} in the log:\n{self.tail()}")

    def close(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        return self.process.returncode

    def tail(self) -> str:
        lines = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(line for line in lines if "qt.multimedia" not in line and " INFO " not in line)[
            -4000:
        ]


@pytest.fixture
def supervised(tmp_path: Path) -> Iterator[Callable[..., Supervised]]:
    started: list[Supervised] = []

    def start(*extra: str) -> Supervised:
        run = Supervised(tmp_path, *extra)
        started.append(run)
        return run

    yield start
    for run in started:
        code = run.close()
        assert code == 0, f"bedside run did not close cleanly ({code}):\n{run.tail()}"
        left = _processes_naming(str(run.db_file))
        assert not left, f"monitor processes left behind: {left}"


def _processes_naming(text: str) -> list[int]:
    """Live processes whose command line contains ``text`` (no procps needed)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if text.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue  # ended while we looked
    return found


def _gap_alarms_recorded(db_file: Path, session_id: str) -> int:
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as connection:
        (count,) = connection.execute(
            "SELECT count(*) FROM alarm_events WHERE session_id = ? AND condition = ? AND kind = 'started'",
            (session_id, GAP),
        ).fetchone()
    return int(count)


def _back_with(session_id: str, old_pid: int) -> Callable[[Report], bool]:
    def ready(report: Report) -> bool:
        return (
            report.get("pid") != old_pid
            and report.get("resumed") is True
            and report.get("session_id") == session_id
            and any(a["condition"] == GAP for a in report.get("alarms", []))
        )

    return ready


def _restart_after(
    run: Supervised, old: Report, spares: int, stop_it: Callable[[int], None], within_s: float
) -> tuple[Report, float]:
    """Wait for the ``spares``-th spare to stand by, ``stop_it(pid)`` on the running monitor, and
    return the new monitor's first report with the seconds it took."""
    run.wait_for_log("standing by as the spare monitor", 90, count=spares)
    started = time.monotonic()
    stop_it(int(old["pid"]))
    back = run.wait_for("the restarted monitor", _back_with(old["session_id"], old["pid"]), within_s)
    return back, time.monotonic() - started


@pytest.mark.req("MON-8")
@pytest.mark.req("ALM-5")
@pytest.mark.timeout(150)
def test_a_monitor_killed_or_stopped_is_back_within_5_s_with_its_session_and_a_gap_alarm(
    supervised: Callable[..., Supervised],
) -> None:
    """Issue 11: a dead monitor stayed dead, and one stopped as a whole (SIGSTOP, a frozen machine)
    kept its window up and was never noticed. Under `bedside run`:

    - SIGKILL: back within 5 s (the supervisor's measure: death to the new monitor's first
      heartbeat; the state report, written once a second, may add a second), resuming the same
      session, with the monitoring-gap alarm sounding and recorded;
    - SIGSTOP: its watchdog's heartbeat stops, and after ``--silent-after`` the supervisor alarms,
      kills it and starts the spare, which resumes the same session the same way.

    One supervised run for both, so the suite pays the monitor's start-up once."""
    run = supervised("--silent-after", "1.5")
    first = run.wait_for("the first monitor", lambda r: "pid" in r, 90)
    back, seconds = _restart_after(
        run, first, 1, lambda pid: os.kill(pid, signal.SIGKILL), BACK_WITHIN_S + 1.0
    )
    assert seconds <= BACK_WITHIN_S + 1.0
    run.wait_for_log("the monitor is back", 5)
    said = [line for line in run.log.read_text().splitlines() if "the monitor is back" in line][-1]
    assert float(said.split(" s after")[0].rsplit(" ", 1)[1]) <= BACK_WITHIN_S
    deadline = time.monotonic() + 10
    while _gap_alarms_recorded(run.db_file, back["session_id"]) < 1:
        assert time.monotonic() < deadline, "the monitoring-gap alarm was never recorded"
        time.sleep(0.1)

    again, seconds = _restart_after(
        run, back, 2, lambda pid: os.kill(pid, signal.SIGSTOP), 1.5 + BACK_WITHIN_S + 1.0
    )
    assert again["session_id"] == first["session_id"]
    run.wait_for_log("has written no heartbeat", 5)
    assert seconds <= 1.5 + BACK_WITHIN_S + 1.0


# -- the supervisor's rules, with stand-in children ----------------------------------------------

BEAT_THEN = (
    "import os, sys, time\n"
    "fd = int(sys.argv[sys.argv.index('--supervisor-fd') + 1])\n"
    "os.write(fd, b'beat\\n')\n"
)


class Tones:
    """The supervisor's tone player, heard by the test."""

    def __init__(self) -> None:
        self.asked: list[AlarmPriority | None] = []

    def update(self, wanted: AlarmPriority | None) -> None:
        self.asked.append(wanted)


def _policy(**changes: Any) -> SupervisorPolicy:
    base = {"max_restarts": 2, "restart_window_s": 60.0, "backoff_s": (0.0,), "silent_after_s": 0.5}
    return SupervisorPolicy(**{**base, **changes})


@pytest.mark.req("ALM-5")
@pytest.mark.timeout(30)
def test_a_crash_loop_is_bounded_loud_and_ends_with_exit_code_3(capsys: pytest.CaptureFixture[str]) -> None:
    """A monitor that dies at every start must not be restarted forever in silence."""
    tones = Tones()
    supervisor = Supervisor(
        [sys.executable, "-c", "import sys; sys.exit(1)"], _policy(), tones=tones, spare=False
    )
    assert supervisor.run() == EXIT_CRASH_LOOP
    assert len(supervisor.restarts) == 2
    assert "BEDSIDE IS NOT MONITORING" in capsys.readouterr().err
    assert AlarmPriority.MEDIUM in tones.asked  # the monitoring-gap tone sounded between restarts


@pytest.mark.req("ALM-5")
@pytest.mark.timeout(30)
def test_a_silent_child_is_killed_and_the_stall_tone_sounds() -> None:
    """A monitor that beats once and then says nothing (hung) is treated as dead after the limit."""
    tones = Tones()
    supervisor = Supervisor(
        [sys.executable, "-c", BEAT_THEN + "time.sleep(60)\n"],
        _policy(max_restarts=1),
        tones=tones,
        spare=False,
    )
    started = time.monotonic()
    assert supervisor.run() == EXIT_CRASH_LOOP
    assert time.monotonic() - started < 10
    assert AlarmPriority.HIGH in tones.asked
    assert len(supervisor.restarts) == 1 and "silent" in supervisor.restarts[0].reason


@pytest.mark.req("ALM-5")
@pytest.mark.timeout(30)
def test_a_monitor_whose_window_stays_stalled_is_replaced() -> None:
    """Its watchdog keeps judging and sounding, but nobody can read or acknowledge a frozen screen:
    past the limit the monitor is replaced (same session, by the restart path)."""
    tones = Tones()
    stalled = BEAT_THEN + "while True:\n    os.write(fd, b'beat gui_age=9.50\\n')\n    time.sleep(0.05)\n"
    supervisor = Supervisor(
        [sys.executable, "-c", stalled],
        _policy(max_restarts=1, window_stalled_restart_s=2.0),
        tones=tones,
        spare=False,
    )
    assert supervisor.run() == EXIT_CRASH_LOOP
    assert len(supervisor.restarts) == 1 and "window stalled for 10 s" in supervisor.restarts[0].reason
    assert AlarmPriority.HIGH in tones.asked


@pytest.mark.parametrize(("code", "why"), [(0, "closed on purpose"), (2, "refused its configuration")])
@pytest.mark.timeout(30)
def test_a_monitor_that_ends_on_purpose_is_not_restarted(code: int, why: str) -> None:
    """Closing the window (0) or a refused configuration (2) ends the supervisor with that code."""
    supervisor = Supervisor([sys.executable, "-c", BEAT_THEN + f"sys.exit({code})\n"], _policy(), spare=False)
    assert supervisor.run() == code, why
    assert supervisor.restarts == []


def test_the_supervisors_own_options_are_not_passed_to_the_monitor() -> None:
    """`bedside run` takes the monitor's options and its own; only the monitor's reach the monitor."""
    argv = ["--db", "x", "--silent-after", "2", "--max-restarts=3", "--no-supervisor", "--station", "r1"]
    assert monitor_argv(argv) == ["--db", "x", "--station", "r1"]


@pytest.mark.req("ALM-5")
@pytest.mark.timeout(10)
def test_the_heartbeat_never_blocks_the_watchdog_on_a_full_pipe_or_a_gone_supervisor() -> None:
    """The watchdog must keep judging and sounding whatever the supervisor does with its pipe."""
    read_end, write_end = os.pipe()
    beat = supervisor_heartbeat(write_end)
    assert beat is not None
    for _ in range(20_000):  # far beyond a pipe's 64 KiB: would block without O_NONBLOCK
        beat("beat gui_age=0.10\n")
    assert os.read(read_end, 64).startswith(b"beat gui_age=0.10\n")
    os.close(read_end)
    beat("beat gui_age=0.10\n")  # the supervisor is gone: no BrokenPipeError
    os.close(write_end)
    assert supervisor_heartbeat(None) is None
