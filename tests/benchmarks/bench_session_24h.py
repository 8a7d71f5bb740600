"""An accelerated whole session (issue 11, "Measured"): memory at hour 1, 6, 12 and 24, the database's
size, and the time to reopen it the way a restarted monitor does.

Real path, no Qt: each simulated device's wire encoder writes its own bytes (a Masimo line a
second, a Nonin DF2 packet of 25 frames every 1/3 s with its pleth, an HL7 PCD-01 message every
5 s, MLLP-framed and answered with an ACK), the device's driver decodes them, ``MonitorCore``
applies them, a ``ClinicalSession`` judges them and starts a SunTech NIBP cycle every 5 minutes
(its module simulator answers through the SunTech driver; the drill autopilot confirms the
baseline and starts the infusion, which ends at 45 minutes: recovery for the rest), the
``SessionRecorder`` queues every observation and device event for the ``StorageWriter`` thread,
which writes a SQLite file; the ``ClinicalStateKeeper`` stores the clinical state as the app does.
Time is a ``FakeClock`` moved from one due emission to the next, as fast as the machine goes
(``--speed`` caps it, in simulated seconds per real second). Transports (pty, MLLP socket) are
left out on purpose: their threads cannot follow a fake clock; ``bench_unplug`` and
``bench_frame_latency`` measure them.

At the end the session is left open, the database closed, and reopened as ``bedside monitor``
does after a restart (``open_database`` -> ``SessionRecorder`` resuming -> ``attach`` reading the
trend as columns -> ``restore_session``), timed, and checked: every observation decoded was
stored, and the reopened board ends on the same values.

    PYTHONPATH=$PWD python -m tests.benchmarks.bench_session_24h --hours 24
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sqlite3
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alarms import SessionPhase, load_config
from bedside.app.autopilot import DrillAutopilot
from bedside.app.build import restore_session
from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.protocol_desk import ProtocolDesk
from bedside.workflow.session_state import ClinicalStateKeeper
from drivers.clock import FakeClock
from drivers.device_clock import DeviceClockSetting
from drivers.registry import make_driver
from drivers.types import DecodeResult, DeviceDriver, VitalKind
from protocols import LIBRARY_DIR, load_library
from simulators.encoders import encoder_for
from simulators.host import ack_code
from simulators.model import WireEncoder
from simulators.physiology import ScenarioPlayer
from simulators.scenario import Scenario, load_scenario
from simulators.suntech import SuntechAdvantageSimulator
from storage import open_database

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
#: The streaming devices at their native rates (the encoders' own periods).
STREAMING = ("masimo-ascii", "nonin-df2", "hl7-pcd01")
#: Hours at which memory is sampled (those within the run).
CHECKPOINT_HOURS = (1, 6, 12, 24)
#: Simulated seconds between two heartbeats (the app's 1 s tick: silence, alarms, NIBP countdown).
TICK_S = 1.0
#: Simulated seconds from the start to the end of the infusion; recovery runs from then on.
INFUSION_ENDS_S = 45 * 60
#: Records the writer may hold before the benchmark waits for it. A monitor never produces faster
#: than real time; an accelerated one can outrun the writer, and its memory bound would then shed
#: readings, which is not what is being measured.
WRITER_BACKLOG = 20_000


def rss_mb() -> float:
    """This process's resident memory now, in MB (Linux)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return math.nan


def database_mb(path: Path) -> tuple[float, float]:
    """The SQLite file's size and its write-ahead log's, in MB."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size / 1e6, (wal.stat().st_size / 1e6 if wal.exists() else 0.0)


@dataclass
class StreamingDevice:
    """One simulated device: its encoder's bytes go straight into its driver, one emission per period."""

    protocol: str
    source: str
    encoder: WireEncoder
    driver: DeviceDriver
    player: ScenarioPlayer
    next_index: int = 0
    emissions: int = 0
    observations: int = 0
    acks: int = 0

    def next_due_mono(self, start_mono: float) -> float:
        """Clock time of the next emission."""
        return start_mono + self.next_index * self.encoder.period_s

    def emit_due(self, clock: FakeClock, deliver: Callable[[DecodeResult, str], None]) -> None:
        """Encode and decode every emission due by the clock's now."""
        scenario_t = self.player.scenario_time()
        while self.next_index * self.encoder.period_s <= scenario_t + 1e-9:
            snapshot = self.player.snapshot_at(self.next_index * self.encoder.period_s)
            self.next_index += 1
            data = self.encoder.encode(snapshot)
            if not data:
                continue
            self.emissions += 1
            result = self.driver.feed(data, clock.stamp())
            self.observations += len(result.observations)
            self.acks += sum(1 for reply in result.replies if ack_code(reply) in ("AA", "CA"))
            deliver(result, self.source)


@dataclass
class NibpModule:
    """A SunTech module the session starts (MON-3): commands in, the driver reads its answers."""

    source: str
    module: SuntechAdvantageSimulator
    driver: DeviceDriver
    clock: FakeClock
    deliver: Callable[[DecodeResult, str], None]
    observations: int = 0
    commands: int = 0

    def send(self, data: bytes) -> None:
        """The link's ``send``: what the session writes to the module."""
        self.commands += 1
        self._decode(self.module.receive(data))

    def poll(self) -> None:
        """What the module sends by itself (the end of a cycle)."""
        self._decode(self.module.poll())

    def _decode(self, answer: bytes) -> None:
        if not answer:
            return
        result = self.driver.feed(answer, self.clock.stamp())
        self.observations += len(result.observations)
        for reply in result.replies:  # the driver asks the module for its result
            self._decode(self.module.receive(reply))
        self.deliver(result, self.source)


@dataclass
class SessionRun:
    """A running simulated session on one database, and what it counted."""

    clock: FakeClock
    db_path: Path
    core: MonitorCore
    recorder: SessionRecorder
    clinical: ClinicalSession
    keeper: ClinicalStateKeeper
    devices: list[StreamingDevice]
    nibp: NibpModule
    start_mono: float
    #: Plays the clinician (baseline confirmed, thresholds, infusion); None: left in the baseline phase.
    autopilot: DrillAutopilot | None
    checkpoints: dict[str, float] = field(default_factory=dict)

    def clinician_steps(self) -> None:
        """What the clinician does by this time: the drill autopilot up to the infusion, which
        ends at ``INFUSION_ENDS_S``; recovery (NIBP still cycling) for the rest of the run."""
        if self.autopilot is None:
            return
        self.autopilot.tick()
        elapsed = self.clock.monotonic() - self.start_mono
        if self.clinical.phase is SessionPhase.INFUSION and elapsed >= INFUSION_ENDS_S:
            self.clinical.end_infusion("bench")

    @property
    def readings_made(self) -> int:
        """Observations the drivers decoded."""
        return sum(d.observations for d in self.devices) + self.nibp.observations


def scenario_for(hours: float) -> Scenario:
    """The shipped quiet patient, long enough for the run (its values hold after the last keyframe)."""
    scenario = load_scenario("baseline").with_seed(1)
    return scenario.model_copy(update={"duration": hours * 3600 + 60})


def start_session(
    db_path: Path, hours: float, clock: FakeClock | None = None, *, stay_in_baseline: bool = False
) -> SessionRun:
    """Open the database and wire devices -> drivers -> core -> session -> recorder -> writer.

    The drill autopilot plays the clinician through baseline and infusion into recovery; with
    ``stay_in_baseline`` nobody confirms the baseline (every SpO2 and pulse sample stays a
    baseline candidate: the worst case for memory)."""
    clock = clock or FakeClock(START)
    db = open_database(f"sqlite:///{db_path}", drill=True)
    recorder = SessionRecorder(db, clock, clinician="bench", scenario="baseline", station="bench")
    core = MonitorCore(clock)
    recorder.attach(core)
    scenario = scenario_for(hours)
    utc = DeviceClockSetting.fixed(UTC, "UTC")  # the simulators write UTC
    devices = []
    for protocol in STREAMING:
        source = f"sim-{protocol}-1"
        devices.append(
            StreamingDevice(
                protocol, source, encoder_for(protocol), make_driver(protocol, source, utc),
                ScenarioPlayer(scenario, clock),
            )
        )  # fmt: skip
    nibp_player = ScenarioPlayer(scenario, clock, remote_nibp_only=True)
    nibp_driver = make_driver("suntech-advantage", "sim-suntech-advantage-1", utc)
    nibp = NibpModule(
        "sim-suntech-advantage-1",
        SuntechAdvantageSimulator(clock, scenario.nibp.measurement, vitals=nibp_player.measure_nibp_now),
        nibp_driver,
        clock,
        core.on_result,
    )
    clinical = ClinicalSession(
        clock, load_config(), session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=nibp.send, nibp_start_command=nibp_driver.start_nibp_command(),
    )  # fmt: skip
    core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
    keeper = ClinicalStateKeeper(clinical, recorder.writer.put)
    clinical.begin_baseline("bench")  # NIBP now cycles every 5 minutes by itself (MON-2)
    autopilot = None if stay_in_baseline else DrillAutopilot(clinical)
    return SessionRun(
        clock, db_path, core, recorder, clinical, keeper, devices, nibp, clock.monotonic(), autopilot
    )


def play(run: SessionRun, until_s: float, speed: float = 0.0) -> None:
    """Play the session up to ``until_s`` simulated seconds; ``speed`` > 0 caps simulated s per real s."""
    clock, core = run.clock, run.core
    began_real, began_sim = time.perf_counter(), clock.monotonic() - run.start_mono
    next_tick = run.start_mono + math.floor((clock.monotonic() - run.start_mono) / TICK_S + 1) * TICK_S
    end = run.start_mono + until_s
    while True:
        due = min(*(d.next_due_mono(run.start_mono) for d in run.devices), next_tick)
        if due > end + 1e-9:
            break
        now = clock.monotonic()
        if due > now:
            clock.advance(due - now)
        for device in run.devices:
            device.emit_due(clock, core.on_result)
        if clock.monotonic() >= next_tick - 1e-9:
            next_tick += TICK_S
            run.nibp.poll()
            core.pump()
            core.tick()
            run.clinical.tick()
            run.clinician_steps()
            core.pump()  # what the tick started (an NIBP cycle's answer)
            _keep_writer_up(run)
            if speed > 0:
                ahead = (clock.monotonic() - run.start_mono - began_sim) / speed
                lag = ahead - (time.perf_counter() - began_real)
                if lag > 0:
                    time.sleep(lag)
        else:
            core.pump()
    if clock.monotonic() < end:
        clock.advance(end - clock.monotonic())


def _keep_writer_up(run: SessionRun) -> None:
    writer = run.recorder.writer
    if writer.pending_count > WRITER_BACKLOG and not writer.flush(timeout=120):
        raise RuntimeError("the storage writer did not catch up within 120 s")


def stored_observations(db_path: Path, session_id: str) -> int:
    """Observation rows of the session in the file (read with sqlite3, beside the app)."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM observations WHERE session_id = ?", (session_id,)
        ).fetchone()
    return int(count)


def last_values(core: MonitorCore) -> dict[str, float | None]:
    """The last valid value of each drawn curve and the NIBP tile's reading."""
    out: dict[str, float | None] = {}
    for kind in (VitalKind.SPO2, VitalKind.PULSE_RATE):
        series = core.board.trends[kind]
        values = [v for v in series.v[-50:] if not math.isnan(v)]
        out[kind.value] = values[-1] if values else None
    shown = core.board.nibp(core.clock.monotonic())
    out["nibp_systolic"], out["nibp_diastolic"] = shown.systolic, shown.diastolic
    return out


def reopen(db_path: Path, clock: FakeClock) -> tuple[float, MonitorCore, int, list[str]]:
    """Reopen as a restarted monitor does; returns (seconds, core, readings replayed, problems)."""
    import bedside.monitor.recorder as recorder_module

    config = load_config()
    began = time.perf_counter()
    db = open_database(f"sqlite:///{db_path}", drill=True)
    recorder = SessionRecorder(db, clock, clinician="bench", station="bench")
    if not recorder.resumed:
        raise RuntimeError(f"the session was not resumed (resume window {recorder_module.RESUME_WITHIN})")
    core = MonitorCore(clock)
    replayed = recorder.attach(core)
    clinical = ClinicalSession(
        clock, config, session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip
    desk = ProtocolDesk(
        clock, load_library(LIBRARY_DIR, today=clock.now().date()), session_id=recorder.session_id,
        put=recorder.writer.put, latest=core.board.latest, request_nibp=lambda: False,
    )  # fmt: skip
    problems = restore_session(clinical, desk, recorder, clock)
    core.board.nibp(clock.monotonic())  # the first number shown
    seconds = time.perf_counter() - began
    recorder.close(end_session=False)
    return seconds, core, replayed, problems


def _sample(run: SessionRun, hour: float, traced: bool) -> None:
    if not run.recorder.writer.flush(timeout=300):
        raise RuntimeError("the storage writer did not finish")
    gc.collect()
    key = f"h{hour:g}"
    run.checkpoints[f"{key}_rss_mb"] = rss_mb()
    run.checkpoints[f"{key}_gc_objects"] = float(len(gc.get_objects()))
    if traced:
        run.checkpoints[f"{key}_traced_mb"] = tracemalloc.get_traced_memory()[0] / 1e6
    db_mb, wal_mb = database_mb(run.db_path)
    run.checkpoints[f"{key}_db_mb"] = db_mb
    run.checkpoints[f"{key}_wal_mb"] = wal_mb
    run.checkpoints[f"{key}_trend_points"] = float(len(run.core.board.trends[VitalKind.SPO2]))


def session_figures(
    folder: Path,
    hours: float,
    speed: float = 0.0,
    *,
    traced: bool = False,
    progress: bool = False,
    stay_in_baseline: bool = False,
) -> tuple[dict[str, float], dict[str, Any]]:
    """Play ``hours`` of session into ``folder``/session.sqlite3, reopen it; (figures, checks)."""
    import bedside.monitor.recorder as recorder_module

    # A restarted monitor resumes a session up to RESUME_WITHIN after its start (12 h); a day-long
    # session is reopened here to measure the read at the size the issue names.
    resume_within = recorder_module.RESUME_WITHIN
    recorder_module.RESUME_WITHIN = max(resume_within, timedelta(hours=hours + 1))
    try:
        return _session_figures(
            folder, hours, speed, traced=traced, progress=progress, stay_in_baseline=stay_in_baseline
        )
    finally:
        recorder_module.RESUME_WITHIN = resume_within


def _session_figures(
    folder: Path, hours: float, speed: float, *, traced: bool, progress: bool, stay_in_baseline: bool
) -> tuple[dict[str, float], dict[str, Any]]:
    if traced:
        tracemalloc.start()
    db_path = folder / "session.sqlite3"
    run = start_session(db_path, hours, stay_in_baseline=stay_in_baseline)
    began = time.perf_counter()
    marks = sorted({h for h in CHECKPOINT_HOURS if h <= hours} | {hours})
    for hour in marks:
        play(run, hour * 3600, speed)
        _sample(run, hour, traced)
        if progress:
            rss = run.checkpoints[f"h{hour:g}_rss_mb"]
            elapsed = time.perf_counter() - began
            print(
                f"  hour {hour:g}: {elapsed:.0f} s, RSS {rss:.0f} MB, {run.readings_made} readings",
                file=sys.stderr,
            )
    wall = time.perf_counter() - began
    live = last_values(run.core)
    live_nibp_points = len(run.core.board.nibp_points)
    session_id = run.recorder.session_id
    run.core.stop()
    run.recorder.close(end_session=False)  # the session stays open: the restart resumes it
    if traced:
        tracemalloc.stop()
    made = run.readings_made
    stored = stored_observations(db_path, session_id)
    run.clock.advance(60)  # a minute's restart
    reopen_s, core, replayed, problems = reopen(db_path, run.clock)
    reopened = last_values(core)
    hl7 = next(d for d in run.devices if d.protocol == "hl7-pcd01")
    figures = {
        "hours": float(hours),
        "wall_s": wall,
        "simulated_hours_per_s": hours / wall,
        **run.checkpoints,
        "readings_made": float(made),
        "rows_stored": float(stored),
        "nibp_cycles_started": float(run.nibp.commands),
        "nibp_readings_judged": float(len(run.clinical.readings())),
        "hl7_messages": float(hl7.emissions),
        "hl7_acks": float(hl7.acks),
        "snapshots": float(run.keeper.written),
        "reopen_s": reopen_s,
        "reopen_replayed": float(replayed),
    }
    checks: dict[str, Any] = {
        "live": live,
        "reopened": reopened,
        "live_nibp_points": live_nibp_points,
        "reopened_nibp_points": len(core.board.nibp_points),
        "distinct_nibp_cycles": distinct_nibp_cycles(db_path, session_id),
        "problems": problems,
        "phase": run.clinical.phase.value,
        "made": made,
        "stored": stored,
        "dropped": run.recorder.writer.dropped_count,
        "failures": list(run.recorder.failures),
        "per_device": {d.protocol: d.observations for d in run.devices} | {"suntech": run.nibp.observations},
    }
    return figures, checks


def distinct_nibp_cycles(db_path: Path, session_id: str) -> int:
    """NIBP cycles stored, each counted once however often its device sent it."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM (SELECT DISTINCT source, measured_at FROM observations"
            " WHERE session_id = ? AND kind = 'nibp_systolic')",
            (session_id,),
        ).fetchone()
    return int(count)


def run(hours: float = 24.0, speed: float = 0.0) -> dict[str, float]:
    """Figures of one accelerated session (``bash scripts/dev.sh bench`` runs the full day)."""
    with tempfile.TemporaryDirectory() as folder:
        figures, checks = session_figures(Path(folder), hours, speed)
    if checks["made"] != checks["stored"] or checks["live"] != checks["reopened"]:
        raise RuntimeError(f"session not kept whole: {checks}")
    figures["load_average_1m"] = os.getloadavg()[0]
    return figures


def main() -> int:
    """Command line: ``--hours``, ``--speed``, ``--tracemalloc``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--hours", type=float, default=24.0, help="simulated hours (default 24)")
    parser.add_argument(
        "--speed",
        type=float,
        default=0.0,
        help="cap in simulated seconds per real second (0: as fast as possible)",
    )
    parser.add_argument("--tracemalloc", action="store_true", help="also trace Python allocations (slower)")
    parser.add_argument(
        "--stay-in-baseline",
        action="store_true",
        help="nobody confirms the baseline: every sample stays a candidate (the worst case for memory)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        figures, checks = session_figures(
            Path(folder),
            args.hours,
            args.speed,
            traced=args.tracemalloc,
            progress=True,
            stay_in_baseline=args.stay_in_baseline,
        )
    figures["load_average_1m"] = os.getloadavg()[0]
    for key, value in figures.items():
        print(f"{key}: {value:.3f}")
    print(f"live last values {checks['live']}; reopened {checks['reopened']}")
    print(f"per device {checks['per_device']}; dropped {checks['dropped']}; problems {checks['problems']}")
    print(f"phase at the end: {checks['phase']}")
    ok = checks["made"] == checks["stored"] and checks["live"] == checks["reopened"]
    print("kept whole" if ok else "NOT KEPT WHOLE")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
