"""Composition root for `bedside monitor`: devices (or simulators), core, storage, window."""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import signal
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from bedside.core import MonitorCore

if TYPE_CHECKING:
    from bedside.clinical import ClinicalSession
    from bedside.simulation import SimulationRig
    from bedside.window import MonitorWindow
from drivers.clock import Clock, ScaledClock, SystemClock
from drivers.device_clock import ClockSettingError, DeviceClockSetting
from drivers.registry import DRIVERS, make_driver
from drivers.transports.base import DeviceLink
from drivers.transports.mllp import MllpListener
from drivers.transports.serial import SerialLink
from drivers.types import DeviceDriver, Stamp, VitalKind

if TYPE_CHECKING:
    from bedside.protocol_desk import ProtocolDesk
    from bedside.recorder import SessionRecorder
    from storage import Database

log = logging.getLogger(__name__)

#: What `bedside monitor` simulates when no real device is given: an oximeter and an NIBP module
#: that Bedside can start remotely (MON-3).
DEFAULT_SIM_DEVICES = ("masimo-ascii", "suntech-advantage")


class DeviceSpecError(ValueError):
    """A --device argument that cannot be used, with what to write instead."""


@dataclass(frozen=True)
class DeviceSpec:
    """A device to connect: its wire protocol and where (serial URL or mllp://host:port to listen on).

    ``clock`` is how to read the device's times (ALM-4); None means this PC's local zone, or UTC for
    Bedside's own simulators (they write UTC). ``--device-clock`` settings are applied by
    ``build_monitor``, which knows each device's name.
    """

    protocol: str
    url: str
    clock: DeviceClockSetting | None = None

    @classmethod
    def parse(cls, text: str) -> DeviceSpec:
        protocol, sep, url = text.partition("=")
        if not sep or not url:
            raise DeviceSpecError(f"--device {text!r}: write PROTOCOL=URL, e.g. masimo-ascii=/dev/ttyUSB0")
        if protocol not in DRIVERS:
            raise DeviceSpecError(f"--device {text!r}: unknown protocol; known: {', '.join(sorted(DRIVERS))}")
        if protocol == "hl7-pcd01" and not url.startswith("mllp://"):
            raise DeviceSpecError(
                f"--device {text!r}: HL7 listens on mllp://HOST:PORT (e.g. mllp://127.0.0.1:2575)"
            )
        return cls(protocol, url)


_SOURCE_NAME = re.compile(r"^(?:sim-)?(?P<protocol>[a-z0-9-]+?)-\d+$")


def parse_device_clocks(texts: Sequence[str]) -> dict[str, DeviceClockSetting]:
    """``--device-clock KEY=SETTING`` arguments by key; KEY is a protocol (every device speaking it)
    or a device name as the monitor shows it (``masimo-ascii-1``, ``sim-masimo-ascii-1``).

    Raises DeviceSpecError with one sentence for a malformed argument, an unknown key, a protocol
    whose frames carry no time, or a setting that is not a zone, an offset, local or arrival.
    """
    settings: dict[str, DeviceClockSetting] = {}
    timed = sorted(p for p, entry in DRIVERS.items() if entry.device_time)
    for text in texts:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key or not value.strip():
            raise DeviceSpecError(
                f"--device-clock {text!r}: write DEVICE=SETTING, e.g. masimo-ascii=Europe/Berlin"
            )
        named = _SOURCE_NAME.match(key)
        protocol = key if key in DRIVERS else (named.group("protocol") if named else "")
        if protocol not in DRIVERS:
            raise DeviceSpecError(
                f"--device-clock {text!r}: {key!r} is neither a protocol nor a device name such as "
                f"masimo-ascii-1; protocols with a device clock: {', '.join(timed)}"
            )
        if not DRIVERS[protocol].device_time:
            raise DeviceSpecError(
                f"--device-clock {text!r}: {protocol} frames carry no device time, so there is no clock "
                f"to set; clock settings apply to {', '.join(timed)}"
            )
        try:
            settings[key] = DeviceClockSetting.parse(value)
        except ClockSettingError as exc:
            raise DeviceSpecError(f"--device-clock {key}: {exc}") from None
    return settings


def _clock_for(
    spec: DeviceSpec, source: str, device_clocks: Mapping[str, DeviceClockSetting], simulated: bool
) -> DeviceClockSetting | None:
    """The device's own name first, then its protocol, then what the spec says."""
    if source in device_clocks:
        return device_clocks[source]
    if spec.protocol in device_clocks:
        return device_clocks[spec.protocol]
    if spec.clock is not None:
        return spec.clock
    # Bedside's simulators write their device times in UTC (simulators/encoders).
    return DeviceClockSetting.fixed(UTC, "UTC") if simulated else None


def make_listener(spec: DeviceSpec, source: str, clock: Clock, core: MonitorCore) -> MllpListener:
    """An MLLP listener for HL7 senders; each connection gets its own driver."""
    where = urlsplit(spec.url)
    return MllpListener(
        source,
        lambda src: make_driver("hl7-pcd01", src, spec.clock),
        clock,
        core.result_sink(source),
        core.on_event,
        host=where.hostname or "127.0.0.1",
        port=where.port or 0,
    )


def make_link(
    spec: DeviceSpec, source: str, clock: Clock, core: MonitorCore
) -> tuple[DeviceLink, DeviceDriver | None]:
    """The transport for a device and, for a serial device, the one driver it reads with."""
    if spec.protocol == "hl7-pcd01":
        return make_listener(spec, source, clock, core), None
    driver = make_driver(spec.protocol, source, spec.clock)
    # A command-driven NIBP module is quiet between cycles by design: quiet is not "silent" there;
    # a dead module shows as a disconnect or as a cycle that never reports back.
    quiet_limit = float("inf") if driver.can_start_nibp else 10.0
    link = SerialLink(
        source, spec.url, driver, clock, core.result_sink(source), core.on_event, silence_after_s=quiet_limit
    )
    return link, driver


@dataclass
class MonitorParts:
    """Everything `bedside monitor` wires together, so tests and screenshots can build the same app."""

    clock: Clock
    core: MonitorCore
    rig: SimulationRig | None
    scenario: str | None
    nibp_links: list[tuple[DeviceLink, bytes]]


def build_monitor(
    devices: list[DeviceSpec],
    clock: Clock,
    *,
    scenario: str = "full-session",
    sim_devices: tuple[str, ...] = DEFAULT_SIM_DEVICES,
    seed: int | None = None,
    device_clocks: Mapping[str, DeviceClockSetting] | None = None,
) -> MonitorParts:
    """Build links for real devices, or start simulators when none are given (DRL-1).

    ``device_clocks`` (from ``parse_device_clocks``) sets how each device's times are read,
    by device name or by protocol (ALM-4).
    """
    clocks = dict(device_clocks or {})
    core = MonitorCore(clock)
    rig = None
    specs = list(devices)
    if not specs:
        from bedside.simulation import SimulationRig

        rig = SimulationRig(scenario, clock, seed=seed)
        for protocol in sim_devices:
            if protocol == "hl7-pcd01":
                continue
            specs.append(DeviceSpec(protocol, rig.add_serial(protocol).url))
    nibp_links: list[tuple[DeviceLink, bytes]] = []
    counts: dict[str, int] = {}
    for spec in specs:
        counts[spec.protocol] = counts.get(spec.protocol, 0) + 1
        source = f"{'sim-' if rig else ''}{spec.protocol}-{counts[spec.protocol]}"
        timed = replace(spec, clock=_clock_for(spec, source, clocks, rig is not None))
        link, driver = make_link(timed, source, clock, core)
        core.add_link(link)
        command = driver.start_nibp_command() if driver is not None else None
        if command is not None:
            nibp_links.append((link, command))
    if rig is not None and "hl7-pcd01" in sim_devices:
        sim_spec = DeviceSpec("hl7-pcd01", "mllp://127.0.0.1:0")
        sim_spec = replace(sim_spec, clock=_clock_for(sim_spec, "sim-hl7-pcd01-1", clocks, True))
        listener = make_listener(sim_spec, "sim-hl7-pcd01-1", clock, core)
        core.add_link(listener)
        listener.start()  # before the simulator connects, so it knows the port
        rig.add_mllp(listener.port)
    return MonitorParts(clock, core, rig, scenario if rig else None, nibp_links)


class ShiftedClock:
    """Another clock moved forward by a fixed wall offset (monotonic time unchanged).

    A drill at ``--speed`` runs its wall time ahead of the computer's; after a restart its records
    must not land before the ones already written, or ages and the gap would come out negative.
    """

    def __init__(self, base: Clock, offset: timedelta) -> None:
        self.base = base
        self.offset = offset

    def now(self) -> datetime:
        return self.base.now() + self.offset

    def monotonic(self) -> float:
        return self.base.monotonic()

    def stamp(self) -> Stamp:
        inner = self.base.stamp()
        return Stamp(wall=inner.wall + self.offset, mono=inner.mono)


def resume_clock(clock: Clock, db: Database, station: str) -> Clock:
    """A drill clock that starts no earlier than the last record of the session it will resume."""
    from storage import SessionRepository

    repo = SessionRepository(db)
    session = repo.latest_open_session(is_drill=db.is_drill, station=station)
    last = None if session is None else repo.last_record_at(session.session_id)
    now = clock.now()
    if last is None or last <= now:
        return clock
    return ShiftedClock(clock, last - now)


def restore_session(
    clinical: ClinicalSession, desk: ProtocolDesk, recorder: SessionRecorder, clock: Clock
) -> list[str]:
    """After a restart, put the resumed session's clinical state back and record the gap (MON-8).

    Returns what could not be restored, in words for the screen. Monitoring must go on whatever
    the stored state holds: a state that cannot be restored is reported, never a reason not to start.
    """
    from bedside import session_state

    problems: list[str] = []
    repo, session_id = recorder.repo, recorder.session_id
    snapshot = repo.latest_clinical_snapshot(session_id)
    offers = []
    if snapshot is None:
        problems.append(
            "no clinical state was stored for this session: confirm baseline and thresholds again"
        )
    else:
        from bedside.workflow.trend_history import baseline_samples_since

        # Bounded: only from the snapshot's first baseline reading, never the whole session (issue 9).
        since = baseline_samples_since(snapshot.state)
        samples = (
            repo.observations(
                session_id, since=since, kinds=(VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE)
            )
            if session_state.needs_baseline_samples(snapshot.state) and since is not None
            else []
        )
        try:
            clinical.restore(snapshot.state, baseline_samples=samples)
            offers = session_state.protocol_offers(snapshot.state)
        except Exception as exc:  # a damaged or foreign state: say so and keep monitoring
            log.exception("the clinical state of session %s could not be restored", session_id)
            problems.append(
                f"the clinical state could not be restored ({exc}): check phase, baseline and thresholds"
            )
    problems += desk.restore(repo.protocol_runs(session_id), offers)
    since = recorder.last_recorded_at or recorder.session.started_at
    clinical.note_gap(since, clock.now(), station=recorder.station)
    for problem in problems:
        log.error("restart: %s", problem)
    return problems


def write_state_report(path: Path, report: dict[str, object]) -> None:
    """Write the JSON report atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    os.replace(partial, path)


def _measure_now(clinical: ClinicalSession, window: MonitorWindow) -> bool:
    """A protocol's "recheck BP" step: start a cycle now; False when the clinician must start it."""
    who = window.session_controls.who() or "protocol recheck"
    clinical.measure_now(who)
    return clinical.scheduler.device_can_start


def run_monitor(args: argparse.Namespace) -> int:
    """Open the window; returns the process exit code."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QLabel

    from alarms import ConfigError, load_config
    from bedside.autopilot import AUTOPILOT, DrillAutopilot
    from bedside.clinical import ClinicalSession
    from bedside.protocol_desk import ProtocolDesk
    from bedside.recorder import SessionRecorder, default_station
    from bedside.session_state import ClinicalStateKeeper, state_report
    from bedside.window import MonitorWindow
    from protocols import LIBRARY_DIR, load_library
    from storage import open_database, url_from_command_line

    try:
        devices = [DeviceSpec.parse(d) for d in args.device]
        device_clocks = parse_device_clocks(getattr(args, "device_clock", None) or [])
    except DeviceSpecError as exc:
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
    base_library = load_library(protocols_dir, today=clock.now().date())
    station = args.station or default_station()
    drill = not devices  # without a device the monitor runs its simulators
    try:
        db = open_database(url_from_command_line(args.db), drill=drill)
    except Exception as exc:  # any driver's error: one sentence for the clinic's IT person
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"bedside monitor: the database {args.db or '(default file)'} cannot be used: {first}",
              file=sys.stderr)  # fmt: skip
        return 2
    if args.speed != 1.0:
        clock = resume_clock(clock, db, station)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    sim_devices = tuple(args.sim_device) or DEFAULT_SIM_DEVICES
    parts = build_monitor(
        devices, clock, scenario=args.scenario, sim_devices=sim_devices, seed=args.seed,
        device_clocks=device_clocks,
    )  # fmt: skip
    recorder = SessionRecorder(
        db, clock, clinician="unassigned", scenario=parts.scenario or "", station=station
    )
    recorder.attach(parts.core)
    window = MonitorWindow(parts.core, parts.scenario)
    parts.core.clock_tolerance_s = config.monitoring.future_tolerance_s  # device clock offsets (ALM-4)
    parts.core.clock_behind_tolerance_s = config.monitoring.past_tolerance_s
    send, command = (
        (parts.nibp_links[0][0].send, parts.nibp_links[0][1]) if parts.nibp_links else (None, None)
    )
    from bedside.workflow.audit import AuditTrail, trail_sink

    audit = trail_sink(AuditTrail(db, clock, station))  # clinician actions, durable (issue 9)
    clinical = ClinicalSession(
        clock, config, session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=send, nibp_start_command=command,
        protocols_for=lambda condition: [p.id for p in base_library.offered_for(condition)],
        audit=audit,
    )  # fmt: skip
    window.attach_clinical(clinical, recorder.session.started_at)
    autopilot: DrillAutopilot | None = None
    storage_watch = QTimer()
    storage_watch.timeout.connect(
        lambda: clinical.recording_failed(recorder.outage is not None, recorder.outage or "")
    )
    storage_watch.start(1000)
    board = parts.core.board
    desk = ProtocolDesk(
        clock,
        base_library,
        session_id=recorder.session_id,
        put=recorder.writer.put,
        latest=board.latest,
        request_nibp=lambda: _measure_now(clinical, window),
        audit=audit,
    )
    desk.alarm_events = lambda: clinical.alarm_events  # for the EMS hand-off sheet
    window.attach_protocols(desk)
    if recorder.resumed:
        problems = restore_session(clinical, desk, recorder, clock)
        # Shown until the window closes: every value before this moment was not watched live.
        words = "; ".join([f"MONITORING GAP: {clinical.monitoring_gaps[-1].words}", *problems])
        gap_label = QLabel(words)
        gap_label.setWordWrap(True)
        gap_label.setStyleSheet("color: #ffd400; font-weight: bold; padding: 2px 8px;")
        window.statusBar().addPermanentWidget(gap_label)
    keeper = ClinicalStateKeeper(clinical, recorder.writer.put, desk=desk)
    log.info("clinical state kept after every change (%d snapshot so far)", keeper.written)
    report_timer = QTimer()
    if args.state_report is not None:
        report_path = Path(args.state_report)

        def report() -> None:
            state = state_report(clinical, desk)
            shown = board.nibp(clock.monotonic())
            state.update(
                resumed=recorder.resumed,
                station=recorder.station,
                snapshots=keeper.written,
                nibp_tile={"text": shown.text, "age_s": shown.age_s, "restart_note": shown.restart_note},
            )
            write_state_report(report_path, state)

        report_timer.timeout.connect(report)
        report_timer.start(1000)
    if args.drill_autopilot:
        if not drill:
            print("bedside monitor: --drill-autopilot is for simulation only", file=sys.stderr)
            return 2
        autopilot = DrillAutopilot(clinical, desk)
        window.session_controls.clinician.setText(AUTOPILOT)
        pilot_timer = QTimer()
        pilot_timer.timeout.connect(autopilot.tick)
        pilot_timer.start(1000)
    window.show()
    parts.core.start()
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
    try:
        return app.exec()
    finally:
        window.stop_timers()
        parts.core.stop()  # links first, so closing the simulators is not seen as an unplug
        if parts.rig is not None:
            parts.rig.stop()
        # A patient session stays open when the window closes (a restart resumes it); it ends by
        # discharge or "end early". A drill ends with its window.
        recorder.close(end_session=drill and clinical.phase.value not in ("discharged", "ended_early"))
