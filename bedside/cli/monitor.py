"""`bedside monitor`: its options; the run itself is the composition root's (`bedside.app.run`)."""

from __future__ import annotations

import argparse
import contextlib
import logging
from pathlib import Path

from bedside.app.build import DEFAULT_SIM_DEVICES
from bedside.cli._common import add_db_argument, add_station_argument
from drivers.registry import DRIVERS

log = logging.getLogger(__name__)

_CLOCK_HELP = (
    "how a device's clock is read: DEVICE=SETTING, DEVICE a protocol (masimo-ascii) or a device "
    "name (masimo-ascii-1); SETTING an IANA zone (Europe/Berlin), a fixed offset (+02:00, -0530), "
    "local (this PC's zone, the default) or arrival (ignore the device time, stamp on arrival). "
    "Repeatable. Applies to devices whose frames carry a time (masimo-ascii, hl7-pcd01)."
)


def add_monitor_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``bedside monitor`` to its parser."""
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="PROTOCOL=URL",
        help="a real device: e.g. masimo-ascii=/dev/ttyUSB0, ivy-ansar=socket://host:port, "
        "hl7-pcd01=mllp://127.0.0.1:2575 (listen). Repeatable. Without --device the monitor "
        "starts its own simulators and shows SIMULATION.",
    )
    p.add_argument("--device-clock", action="append", default=[], metavar="DEVICE=SETTING", help=_CLOCK_HELP)
    p.add_argument(
        "--scenario", default="full-session", help="simulator scenario (see `bedside simulate --list`)"
    )
    p.add_argument(
        "--sim-device",
        action="append",
        default=[],
        choices=sorted(DRIVERS),
        help=f"simulated devices to start (default: {', '.join(DEFAULT_SIM_DEVICES)})",
    )
    p.add_argument("--speed", type=float, default=1.0, help="simulator speed factor (drills: 1)")
    p.add_argument("--seed", type=int, default=None, help="simulator noise seed")
    add_db_argument(p)
    p.add_argument(
        "--clinic-config",
        type=Path,
        default=None,
        help="clinic defaults YAML overriding alarms/defaults.yaml",
    )
    p.add_argument(
        "--protocols", type=Path, default=None, help="protocol library folder (default: shipped templates)"
    )
    p.add_argument(
        "--drill-autopilot",
        action="store_true",
        help="simulation only: take the routine steps (baseline, thresholds, checklist, infusion) "
        "as 'Drill autopilot'",
    )
    add_station_argument(
        p,
        help_text="this monitor's station (room) id; a restart resumes only this station's open session "
        "(default: the computer's host name)",
    )
    p.add_argument(
        "--state-report",
        type=Path,
        default=None,
        metavar="FILE",
        help="write the clinical state in force (phase, baseline, thresholds, NIBP countdown, alarms, "
        "protocol runs, monitoring gaps) to FILE as JSON every second (tests, support)",
    )
    # Given by `bedside run`: the pipe the monitor's watchdog writes its heartbeat to (ALM-5).
    p.add_argument("--supervisor-fd", type=int, default=None, help=argparse.SUPPRESS)
    # Given by `bedside run` to its spare monitor: start when a byte arrives on this pipe.
    p.add_argument("--standby-fd", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument(
        "--simulate",
        action="store_true",
        help="start the simulators even when this station has saved devices (Session > Devices)",
    )
    p.add_argument(
        "--theme",
        choices=("dark", "light"),
        default="dark",
        help="screen colours: dark (default, for a dim infusion room) or light",
    )
    p.add_argument(
        "--screenshot", type=Path, default=None, help="save a screenshot after --quit-after seconds"
    )
    p.add_argument(
        "--quit-after", type=float, default=None, help="close after this many seconds (demos, screenshots)"
    )
    p.add_argument(
        "--check",
        action="store_true",
        help="check everything the monitor needs (log file, clinic config, protocols, database, device "
        "ports) and exit: 0 when it would start, 2 with one sentence saying what to fix",
    )
    p.add_argument(
        "--log-file",
        type=Path,
        default=None,
        help="the monitor's log file (default: logs/bedside-monitor.log in the user data folder; "
        "owner-only, rotated at 5 MB)",
    )


def run_monitor_command(args: argparse.Namespace) -> int:
    """`bedside monitor`: open the window (Qt is imported only now); returns the exit code."""
    from bedside.app.run import run_monitor, wait_as_standby

    if args.standby_fd is not None:
        from bedside.app.startup import StartupError, open_log_file

        # The spare's own lines (loading, standing by) belong in the log file too; a log file that
        # cannot be opened is said in one sentence by run_monitor when this spare is started.
        with contextlib.suppress(StartupError):
            open_log_file(getattr(args, "log_file", None))
    if args.standby_fd is not None and not wait_as_standby(args.standby_fd):
        return 0  # the supervisor closed without needing this spare
    try:
        return run_monitor(args)
    except Exception as exc:  # the last net: one sentence here, the traceback in the log file
        log.critical(
            "the monitor stopped on an unexpected error: %s: %s", type(exc).__name__, exc, exc_info=True
        )
        return 1
