"""`bedside monitor`: the Qt run of the composition root (window, the app's timers, event loop)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bedside.app.build import (
    DEFAULT_SIM_DEVICES,
    DeviceSpec,
    DeviceSpecError,
    MonitorParts,
    build_monitor,
    parse_device_clocks,
    restore_session,
    resume_clock,
    write_state_report,
)
from bedside.app.supervisor import supervisor_heartbeat
from bedside.app.tone_player import TonePlayer
from bedside.app.watchdog import GuiWatchdog
from drivers.clock import Clock, ScaledClock, SystemClock

if TYPE_CHECKING:
    from PySide6.QtCore import QCoreApplication, QTimer
    from PySide6.QtWidgets import QLabel

    from alarms import ClinicalConfig
    from bedside.monitor.recorder import SessionRecorder
    from bedside.views.window import MonitorWindow
    from bedside.workflow.clinical import ClinicalSession
    from drivers.types import Observation
    from protocols import LibraryLoad
    from storage import Database

log = logging.getLogger(__name__)

#: The window's thread proves it turns its event loop this often (``GuiWatchdog.beat``).
HEARTBEAT_MS = 200
#: After the first reading, time for the tile to paint it before the graphs and the database are
#: built on the window's thread (issue 10: the first number first).
FIRST_PAINT_MS = 100
#: The graphs and the database are built by then even if no device has sent anything yet.
REST_AT_THE_LATEST_MS = 1000
#: How long a window closed during start-up waits for the database to store what it showed.
OPEN_ON_CLOSE_S = 10.0
#: Said where the alarm bar will be, until the clinical session judges (issue 10: the numbers
#: show before the database is open; nobody may take a quiet screen for "no alarm").
NOT_JUDGED_YET = "STARTING: alarms are not judged yet (opening the database)"


def _measure_now(clinical: ClinicalSession, window: MonitorWindow) -> bool:
    """A protocol's "recheck BP" step: start a cycle now; False when the clinician must start it."""
    who = window.session_controls.who() or "protocol recheck"
    clinical.measure_now(who)
    return clinical.scheduler.device_can_start


def wait_as_standby(go_fd: int) -> bool:
    """A supervisor's spare monitor: load everything now, then wait for the word to start (MON-8).

    Importing Qt, the views, storage and the simulators takes seconds (6 s on a loaded two-core
    machine); a spare that has done it already is up within the 5 s a restart may take. Returns
    True on "go", False when the supervisor is gone (the pipe closed): then the spare just ends.
    """
    import importlib

    for module in (
        "PySide6.QtWidgets",
        "PySide6.QtMultimedia",
        "alarms",
        "protocols",
        # storage and bedside.workflow import their names on first use: name what a start needs.
        "storage.database",
        "storage.repository",
        "storage.writer",
        "bedside.app.autopilot",
        "bedside.app.session",
        "bedside.app.simulation",
        "bedside.monitor.recorder",
        "bedside.monitor.trend_history",
        "bedside.views.pleth",
        "bedside.views.trend",
        "bedside.views.window",
        "bedside.workflow.audit",
        "bedside.workflow.clinical",
        "bedside.workflow.protocol_desk",
        "bedside.workflow.session_state",
    ):
        importlib.import_module(module)
    log.info("standing by as the spare monitor (pid %d)", os.getpid())
    # Ctrl-C in the terminal reaches the whole process group: the supervisor ends the spare itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        word = os.read(go_fd, 16)
    finally:
        os.close(go_fd)
        signal.signal(signal.SIGINT, signal.default_int_handler)
    return bool(word)


def _database_problem(args: argparse.Namespace, exc: Exception) -> str:
    """The one sentence for a database that cannot be used: any driver's error, for the clinic's IT person."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return f"bedside monitor: the database {args.db or '(default file)'} cannot be used: {first}"


def _open_database(args: argparse.Namespace, drill: bool) -> Database:
    """Open (and migrate) the database ``--db`` names; the driver's exceptions pass through."""
    from storage import open_database, url_from_command_line

    return open_database(url_from_command_line(args.db), drill=drill)


@dataclass
class _Opened:
    """What the database thread prepared for the window's thread: the recorder, or a problem."""

    recorder: SessionRecorder | None = None
    library: LibraryLoad | None = None
    problem: str = ""
    seconds: float = 0.0


def _open_recorder_in_background(
    args: argparse.Namespace,
    *,
    db: Database | None,
    drill: bool,
    make_recorder: Callable[[Database], SessionRecorder],
    load_protocols: Callable[[], LibraryLoad],
    done: Callable[[_Opened], None],
) -> threading.Thread:
    """Read the protocol library, open the database, find or start the session and read a resumed
    trend on a thread of its own, so the window shows its numbers meanwhile (issue 10); ``done``
    gets the outcome there."""

    def work() -> None:
        opened = _Opened()
        began = time.perf_counter()
        try:  # checked before the window: a file that cannot be used is flagged, not raised
            opened.library = load_protocols()
        except Exception as exc:
            log.info("the protocol library cannot be read", exc_info=True)
            opened.problem = (
                f"bedside monitor: the protocol library {args.protocols or ''} cannot be read: {exc}"
            )
            done(opened)
            return
        try:
            database = db if db is not None else _open_database(args, drill)
            opened.recorder = make_recorder(database)
            opened.recorder.load_history()
        except Exception as exc:  # any driver's error: one sentence, as before the window existed
            log.info("the database cannot be used", exc_info=True)  # the sentence is said below
            opened.problem = _database_problem(args, exc)
        opened.seconds = time.perf_counter() - began
        done(opened)

    thread = threading.Thread(target=work, name="open-database", daemon=True)
    thread.start()
    return thread


def run_monitor(args: argparse.Namespace) -> int:
    """Open the window; returns the process exit code.

    The window and the first number come before the database (issue 10, cold start): the links
    start as soon as the window shows, the core holds what they deliver, and the database is
    opened (and migrated) on a thread of its own. When it is open, the session is resumed or
    started, the clinical session is built and a resumed session's state restored, and only then
    does the core hand over what it held: nothing is lost, and every reading is judged after the
    restored state is back (MON-8). A database that cannot be used ends the monitor with the same
    one sentence and exit code 2 as before; ``--check`` and ``--speed`` (a drill clock resumes from
    the database) open it first, as before.
    """
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    from alarms import ConfigError, load_config

    # Issue 10: what Session > Settings and Devices saved for this station is used unless the
    # command line says otherwise (--device, --db, --clinic-config; --simulate for the simulators).
    from bedside.app.station_settings import apply_station_settings
    from bedside.monitor.recorder import default_station
    from bedside.views.gui_thread import gui_only
    from bedside.views.window import MonitorWindow
    from protocols import LIBRARY_DIR, load_library

    try:
        apply_station_settings(args)
    except ValueError as exc:  # SettingsError: the file and the fix in one sentence
        print(f"bedside monitor: {exc}", file=sys.stderr)
        return 2
    try:
        devices = [DeviceSpec.parse(d) for d in args.device]
        device_clocks = parse_device_clocks(getattr(args, "device_clock", None) or [])
    except DeviceSpecError as exc:
        print(f"bedside monitor: {exc}", file=sys.stderr)
        return 2
    from bedside.app.startup import StartupError, check_devices, open_log_file

    try:
        log.info("bedside monitor starting; log file %s", open_log_file(getattr(args, "log_file", None)))
    except StartupError as exc:
        print(f"bedside monitor: {exc}", file=sys.stderr)
        return 2
    base = SystemClock()
    clock: Clock = ScaledClock(base, args.speed) if args.speed != 1.0 else base
    if devices and args.speed != 1.0:
        print("bedside monitor: --speed applies to simulators only", file=sys.stderr)
        return 2
    # Every input file is read before anything starts, so a bad one is one sentence and exit 2,
    # never a traceback or a half-started monitor (issue 8, finding 15).
    try:
        config = load_config(args.clinic_config)
    except ConfigError as exc:
        print(f"bedside monitor: the clinic configuration was refused: {exc}", file=sys.stderr)
        return 2
    protocols_dir = args.protocols or LIBRARY_DIR
    if not Path(protocols_dir).is_dir():
        print(
            f"bedside monitor: --protocols {protocols_dir}: not a folder of protocol files", file=sys.stderr
        )
        return 2
    try:  # each port opened and closed once: a missing or taken port is one sentence, not a silent alarm
        check_devices([(d.protocol, d.url) for d in devices])
    except StartupError as exc:
        print(f"bedside monitor: {exc}", file=sys.stderr)
        return 2
    station = args.station or default_station()
    drill = not devices  # without a device the monitor runs its simulators
    if args.drill_autopilot and not drill:
        print("bedside monitor: --drill-autopilot is for simulation only", file=sys.stderr)
        return 2
    first_db: Database | None = None
    if getattr(args, "check", False) or args.speed != 1.0:
        # --check answers about the database; a drill at --speed resumes its clock from it.
        try:
            first_db = _open_database(args, drill)
        except Exception as exc:
            print(_database_problem(args, exc), file=sys.stderr)
            return 2
        if getattr(args, "check", False):
            first_db.close()
            print(f"bedside monitor: start-up check passed ({first_db.url}, {len(devices)} device(s))")
            return 0
        clock = resume_clock(clock, first_db, station)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    from bedside.views.theme import use_theme

    use_theme(getattr(args, "theme", "dark"))  # before any view is built: views take it as they are made
    sim_devices = tuple(args.sim_device) or DEFAULT_SIM_DEVICES
    parts = build_monitor(
        devices, clock, scenario=args.scenario, sim_devices=sim_devices, seed=args.seed,
        device_clocks=device_clocks,
    )  # fmt: skip
    core = parts.core
    core.clock_tolerance_s = config.monitoring.future_tolerance_s  # device clock offsets (ALM-4)
    core.clock_behind_tolerance_s = config.monitoring.past_tolerance_s
    rest_begun: list[bool] = []

    def first_reading(_reading: Observation) -> None:
        if not rest_begun:
            QTimer.singleShot(FIRST_PAINT_MS, the_rest)  # once the tile has painted it

    # Subscribed before hold(), so it sees readings as they come; it only times what follows.
    core.subscribe(on_observation=first_reading)
    core.hold()  # what arrives before the database is open waits for the recorder and the engine
    held_since = core.held_since
    assert held_since is not None
    # The session starts when monitoring does: the board's own start, as a wall time.
    started_at = held_since.wall - timedelta(seconds=held_since.mono - core.board.session_start_mono)
    window = MonitorWindow(core, parts.scenario, defer_graphs=True)
    from bedside.views.theme import palette

    not_judged = QLabel(NOT_JUDGED_YET)
    not_judged.setWordWrap(True)
    not_judged.setStyleSheet(f"color: {palette().warning}; font-weight: bold; padding: 4px 8px;")
    window.top_slot.addWidget(not_judged)  # where the alarm bar comes
    window.show()
    core.start()
    if parts.rig is not None:
        parts.rig.start()
    window.start_timers()
    # Ctrl-C in the terminal closes the window cleanly (Qt would otherwise swallow SIGINT).
    signal.signal(signal.SIGINT, lambda *_: app.quit())
    keepalive = QTimer()
    keepalive.start(250)
    keepalive.timeout.connect(lambda: None)
    if args.quit_after is not None:

        def finish() -> None:
            if args.screenshot is not None:
                window.refresh()
                Path(args.screenshot).parent.mkdir(parents=True, exist_ok=True)
                window.grab().save(str(args.screenshot))
                log.info("screenshot saved to %s", args.screenshot)
            app.quit()

        QTimer.singleShot(int(args.quit_after * 1000), finish)

    started = _Monitoring(
        args, app=app, window=window, parts=parts, clock=clock, config=config, station=station, drill=drill,
    )  # fmt: skip
    started.not_judged = not_judged

    def make_recorder(db: Database) -> SessionRecorder:
        from bedside.monitor.recorder import SessionRecorder

        return SessionRecorder(
            db, clock, clinician="unassigned", scenario=parts.scenario or "", station=station,
            write_hang_s=config.recording.write_hang_s, started_at=started_at,
        )  # fmt: skip

    outcome: list[_Opened] = []
    deliver = gui_only(lambda: started.database_ready(outcome[0]), window)

    def opened(result: _Opened) -> None:
        outcome.append(result)
        deliver()

    today = clock.now().date()

    def the_rest() -> None:
        """After the first number: the graphs, then the protocols and the database (held data waits)."""
        if rest_begun:
            return
        rest_begun.append(True)
        window.build_graphs()
        started.opening = _open_recorder_in_background(
            args, db=first_db, drill=drill, make_recorder=make_recorder,
            load_protocols=lambda: load_library(protocols_dir, today=today), done=opened,
        )  # fmt: skip

    started.begin_rest = the_rest
    QTimer.singleShot(REST_AT_THE_LATEST_MS, the_rest)  # devices that send nothing yet
    try:
        code = app.exec()
        return started.exit_code if started.exit_code is not None else code
    finally:
        started.stop(outcome)


class _Monitoring:
    """The rest of the monitor, built on the window's thread once the database is open."""

    def __init__(
        self,
        args: argparse.Namespace,
        *,
        app: QCoreApplication,
        window: MonitorWindow,
        parts: MonitorParts,
        clock: Clock,
        config: ClinicalConfig,
        station: str,
        drill: bool,
    ) -> None:
        self.args, self.app, self.window, self.parts = args, app, window, parts
        self.clock, self.config, self.station, self.drill = clock, config, station, drill
        self.exit_code: int | None = None
        #: The thread opening the database, once started (by ``begin_rest``).
        self.opening: threading.Thread | None = None
        self.begin_rest: Callable[[], None] = lambda: None
        self.recorder: SessionRecorder | None = None
        self.clinical: ClinicalSession | None = None
        self.watchdog: GuiWatchdog | None = None
        self.tones: TonePlayer | None = None
        self._timers: list[QTimer] = []
        self._keep: list[object] = []  # Qt objects and closures that must live as long as the window
        #: The "alarms are not judged yet" line, removed once the clinical session judges.
        self.not_judged: QLabel | None = None

    def database_ready(self, opened: _Opened) -> None:
        """On the window's thread: the database is open (or cannot be used)."""
        if opened.recorder is None:
            print(opened.problem, file=sys.stderr)
            self.exit_code = 2
            self.app.exit(2)
            return
        log.info("database ready: opened in %.2f s, after the window showed", opened.seconds)
        assert opened.library is not None
        try:
            self._build(opened.recorder, opened.library)
        except Exception:
            # The monitor cannot judge without its clinical session: stop, saying so (the
            # supervisor restarts it), rather than show numbers nobody judges.
            log.exception("the monitor could not be completed after the database opened")
            self.exit_code = 1
            self.app.exit(1)

    def _timer(self, ms: int, tick: Callable[[], None]) -> None:
        from PySide6.QtCore import QTimer

        timer = QTimer()
        timer.timeout.connect(tick)
        timer.start(ms)
        self._timers.append(timer)

    def _build(self, recorder: SessionRecorder, library: LibraryLoad) -> None:
        from PySide6.QtWidgets import QLabel

        from bedside.app.autopilot import AUTOPILOT, DrillAutopilot
        from bedside.app.session import attach_session_screens, build_session_services
        from bedside.views.theme import palette
        from bedside.workflow.audit import AuditTrail, trail_sink
        from bedside.workflow.clinical import ClinicalSession
        from bedside.workflow.protocol_desk import ProtocolDesk
        from bedside.workflow.session_state import ClinicalStateKeeper, state_report
        from simulators.scenario import list_scenarios

        args, window, parts, clock, config = self.args, self.window, self.parts, self.clock, self.config
        core = parts.core
        self.recorder = recorder
        db = recorder.db
        recorder.attach(core)
        send, command = (
            (parts.nibp_links[0][0].send, parts.nibp_links[0][1]) if parts.nibp_links else (None, None)
        )
        audit = trail_sink(AuditTrail(db, clock, self.station))  # clinician actions, durable (issue 9)
        clinical = ClinicalSession(
            clock, config, session_id=recorder.session_id, record=recorder.writer.put,
            nibp_link_send=send, nibp_start_command=command,
            protocols_for=lambda condition: [p.id for p in library.offered_for(condition)],
            audit=audit,
        )  # fmt: skip
        self.clinical = clinical
        window.attach_clinical(clinical, recorder.session.started_at)

        def check_storage() -> None:
            with core.engine_lock:  # also run by the watchdog while the window is stalled
                clinical.recording_failed(recorder.outage is not None, recorder.outage or "")

        self._timer(1000, check_storage)
        board = core.board
        desk = ProtocolDesk(
            clock,
            library,
            session_id=recorder.session_id,
            put=recorder.writer.put,
            latest=board.latest,
            request_nibp=lambda: _measure_now(clinical, window),
            audit=audit,
        )
        desk.alarm_events = lambda: clinical.alarm_events  # for the EMS hand-off sheet
        window.attach_protocols(desk)
        if recorder.resumed:
            held_since = core.held_since
            resumed_at = held_since.wall if held_since is not None else None
            problems = restore_session(clinical, desk, recorder, clock, resumed_at=resumed_at)
            # Shown until the window closes: every value before this moment was not watched live.
            words = "; ".join([f"MONITORING GAP: {clinical.monitoring_gaps[-1].words}", *problems])
            gap_label = QLabel(words)
            gap_label.setWordWrap(True)
            gap_label.setStyleSheet(f"color: {palette().warning}; font-weight: bold; padding: 2px 8px;")
            window.statusBar().addPermanentWidget(gap_label)
        keeper = ClinicalStateKeeper(clinical, recorder.writer.put, desk=desk)
        # The restored state is back: now the recorder, the engine and the desk get, in order,
        # what arrived while the database was opening (judged, stored, nothing lost).
        core.release_held()
        if self.not_judged is not None:
            self.not_judged.deleteLater()  # the alarm bar is there now
            self.not_judged = None
        log.info("clinical state kept after every change (%d snapshot so far)", keeper.written)
        if args.state_report is not None:
            report_path = Path(args.state_report)

            def report() -> None:
                with core.engine_lock:  # a consistent picture, never half a watchdog pass
                    state = state_report(clinical, desk)
                shown = core.board.nibp(clock.monotonic())
                state.update(
                    pid=os.getpid(),
                    display_stalls=watchdog.stalls,
                    resumed=recorder.resumed,
                    station=recorder.station,
                    snapshots=keeper.written,
                    nibp_tile={"text": shown.text, "age_s": shown.age_s, "restart_note": shown.restart_note},
                )
                write_state_report(report_path, state)

            self._timer(1000, report)
        if args.drill_autopilot:
            pilot = DrillAutopilot(clinical, desk)
            window.session_controls.clinician.setText(AUTOPILOT)

            def pilot_tick() -> None:
                with core.engine_lock:  # the autopilot acts like a clinician
                    pilot.tick()

            self._timer(1000, pilot_tick)
        # ALM-5: a watchdog thread stands in for a stalled window (judging, recording, sounding) and
        # tells a supervising `bedside run` that this process is alive.
        self.tones = TonePlayer()
        watchdog = GuiWatchdog(
            core,
            clinical,
            self.tones,
            stalled_after_s=config.monitoring.display_stalled_after_s,
            ticks=(check_storage,),
            heartbeat_out=supervisor_heartbeat(getattr(args, "supervisor_fd", None)),
        )
        self.watchdog = watchdog
        self._timer(HEARTBEAT_MS, watchdog.beat)
        # Issue 10: sign-in to discharge, reached from the window's Session menu (bedside.app.session).
        services = build_session_services(
            db, clock, config, station=self.station, session_id=recorder.session_id, clinical=clinical,
            desk=desk, simulation=parts.scenario, scenarios=[s.name for s in list_scenarios()],
            flush=recorder.writer.flush,
        )  # fmt: skip
        session_screens = attach_session_screens(window, services)
        self._keep += [keeper, services, session_screens, desk]
        if not services.identity.has_clinicians() or services.station.signed_in is None:
            session_screens.show_screen("Sign in")
        self._timer(1000, session_screens.tick)
        watchdog.start()

    def stop(self, outcome: Sequence[_Opened] = ()) -> None:
        """Close down whatever was started, links first, then the session's records.

        A window closed while the database was still opening waits for it (a bounded time) and
        stores what was shown meanwhile: no reading is lost because the monitor closed early.
        """
        if self.watchdog is not None:
            self.watchdog.stop()
        if self.tones is not None:
            self.tones.stop()
        for timer in self._timers:
            timer.stop()
        self.window.stop_timers()
        self.parts.core.stop()  # links first, so closing the simulators is not seen as an unplug
        if self.parts.rig is not None:
            self.parts.rig.stop()
        if self.recorder is None and self.opening is None and self.parts.core.held:
            self.begin_rest()  # closed before the database was asked for: open it now
        if self.recorder is None and self.opening is not None:
            self.opening.join(timeout=OPEN_ON_CLOSE_S)
            if outcome and outcome[0].recorder is not None:
                self.recorder = outcome[0].recorder
                self.recorder.attach(self.parts.core)
                stored = self.parts.core.release_held()
                log.info("closed before the database was ready: %d held items stored", stored)
        recorder, clinical = self.recorder, self.clinical
        if recorder is None:
            return
        self.parts.core.release_held()  # a start that failed half-way: what was held is still stored
        # A patient session stays open when the window closes (a restart resumes it); it ends by
        # discharge or "end early". A drill ends with its window.
        ended = clinical is not None and clinical.phase.value in ("discharged", "ended_early")
        recorder.close(end_session=self.drill and not ended)
