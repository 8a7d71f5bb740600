"""Qt-free composition for `bedside monitor`: devices (or simulators) by URL scheme, core, restore.

The Qt run (window, timers, event loop) is in `bedside.app.run`; this half is built and tested without Qt.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from bedside.monitor.core import MonitorCore

if TYPE_CHECKING:
    from bedside.app.simulation import SimulationRig
    from bedside.workflow.clinical import ClinicalSession
from drivers.clock import Clock
from drivers.device_clock import ClockSettingError, DeviceClockSetting
from drivers.registry import DRIVERS, make_driver
from drivers.transports.base import DeviceLink
from drivers.transports.mllp import MllpConfigError, MllpListener, listen_address
from drivers.transports.serial import SerialLink
from drivers.types import DeviceDriver, Stamp, VitalKind

if TYPE_CHECKING:
    from bedside.monitor.recorder import SessionRecorder
    from bedside.workflow.protocol_desk import ProtocolDesk
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
        if protocol == "hl7-pcd01":
            try:
                listen_address(url)  # beyond 127.0.0.1 only with ?allow=senders (issue 11)
            except MllpConfigError as exc:
                raise DeviceSpecError(f"--device {text!r}: {exc}") from None
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
    where = listen_address(spec.url)
    return MllpListener(
        source,
        lambda src: make_driver("hl7-pcd01", src, spec.clock),
        clock,
        core.result_sink(source),
        core.on_event,
        host=where.host,
        port=where.port,
        allow_remote=where.allow_remote,
        allowed_senders=where.allowed_senders,
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
        from bedside.app.simulation import SimulationRig

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
    clinical: ClinicalSession,
    desk: ProtocolDesk,
    recorder: SessionRecorder,
    clock: Clock,
    *,
    resumed_at: datetime | None = None,
) -> list[str]:
    """After a restart, put the resumed session's clinical state back and record the gap (MON-8).

    Returns what could not be restored, in words for the screen. Monitoring must go on whatever
    the stored state holds: a state that cannot be restored is reported, never a reason not to start.
    ``resumed_at``: when this monitor began watching again (the gap's end), when that was before
    the database opened (issue 10); default now.
    """
    from bedside.workflow import session_state

    problems: list[str] = []
    repo, session_id = recorder.repo, recorder.session_id
    snapshot = repo.latest_clinical_snapshot(session_id)
    offers = []
    emergency_call = None
    if snapshot is None:
        problems.append(
            "no clinical state was stored for this session: confirm baseline and thresholds again"
        )
    else:
        from bedside.monitor.trend_history import baseline_samples_since

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
            emergency_call = session_state.emergency_call(snapshot.state)
        except Exception as exc:  # a damaged or foreign state: say so and keep monitoring
            log.exception("the clinical state of session %s could not be restored", session_id)
            problems.append(
                f"the clinical state could not be restored ({exc}): check phase, baseline and thresholds"
            )
    problems += desk.restore(repo.protocol_runs(session_id), offers, emergency_call)
    since = recorder.last_recorded_at or recorder.session.started_at
    clinical.note_gap(since, resumed_at or clock.now(), station=recorder.station)
    for problem in problems:
        log.error("restart: %s", problem)
    return problems


def write_state_report(path: Path, report: dict[str, object]) -> None:
    """Write the JSON report atomically, so a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    os.replace(partial, path)
