"""The `bedside` command: monitor, decode, simulate, protocols."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bedside.app import DEFAULT_SIM_DEVICES
from drivers.registry import DRIVERS


def _monitor_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--device",
        action="append",
        default=[],
        metavar="PROTOCOL=URL",
        help="a real device: e.g. masimo-ascii=/dev/ttyUSB0, ivy-ansar=socket://host:port, "
        "hl7-pcd01=mllp://127.0.0.1:2575 (listen). Repeatable. Without --device the monitor "
        "starts its own simulators and shows SIMULATION.",
    )
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
    p.add_argument("--db", default=None, help="SQLAlchemy URL (default: SQLite in the user data directory)")
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
    p.add_argument(
        "--station",
        default=None,
        help="this monitor's station (room) id; a restart resumes only this station's open session "
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
    p.add_argument(
        "--screenshot", type=Path, default=None, help="save a screenshot after --quit-after seconds"
    )
    p.add_argument(
        "--quit-after", type=float, default=None, help="close after this many seconds (demos, screenshots)"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bedside", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    _monitor_arguments(sub.add_parser("monitor", help="open the monitor window"))

    dec = sub.add_parser("decode", help="decode a capture file with a driver; JSON lines out")
    dec.add_argument("--driver", required=True, choices=sorted(DRIVERS))
    dec.add_argument("file", type=Path)

    from simulators.cli import add_simulate_arguments

    add_simulate_arguments(sub.add_parser("simulate", help="run a simulated device on a pty or MLLP"))

    from protocols.cli import add_protocols_arguments

    add_protocols_arguments(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "decode":
        from bedside.decode import decode_file

        if not args.file.is_file():
            print(f"bedside decode: no such file: {args.file}", file=sys.stderr)
            return 2
        return decode_file(args.driver, args.file)
    if args.command == "simulate":
        from simulators.cli import run_simulate

        return run_simulate(args)
    if args.command == "protocols":
        from protocols.cli import run_protocols

        return run_protocols(args)
    from bedside.app import run_monitor

    return run_monitor(args)


if __name__ == "__main__":
    sys.exit(main())
