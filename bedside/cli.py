"""The `bedside` command: monitor, decode, replay, simulate, protocols."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NoReturn, cast

from bedside.app import DEFAULT_SIM_DEVICES
from bedside.cli_export import add_export_arguments, run_export
from bedside.cli_followup import FOLLOWUP_COMMANDS, add_followup_commands, run_followup
from drivers.registry import DRIVERS

log = logging.getLogger(__name__)


class _OneSentenceParser(argparse.ArgumentParser):
    """A sub-command parser whose errors are one sentence on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Say what is wrong and where help is, without a usage dump."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


_CLOCK_HELP = (
    "how a device's clock is read: DEVICE=SETTING, DEVICE a protocol (masimo-ascii) or a device "
    "name (masimo-ascii-1); SETTING an IANA zone (Europe/Berlin), a fixed offset (+02:00, -0530), "
    "local (this PC's zone, the default) or arrival (ignore the device time, stamp on arrival). "
    "Repeatable. Applies to devices whose frames carry a time (masimo-ascii, hl7-pcd01)."
)


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


def _replay_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--input",
        action="append",
        default=[],
        metavar="PROTOCOL=FILE",
        help=f"a capture file and its protocol ({', '.join(sorted(DRIVERS))}); repeatable, merged in "
        "time order. HL7 files may be plain text (one or more messages) or MLLP-framed.",
    )
    p.add_argument(
        "--clinic-config",
        type=Path,
        default=None,
        help="clinic defaults YAML overriding alarms/defaults.yaml",
    )
    p.add_argument(
        "--baseline-nibp",
        default=None,
        metavar="SYS/DIA",
        help="replay as an infusion with this baseline (mmHg; SYS/DIA/MEAN also accepted), the clinic's "
        "default thresholds and the checklist confirmed by 'replay', infusion started at the first value",
    )
    p.add_argument("--baseline-pulse", default=None, metavar="N", help="baseline pulse (/min)")
    p.add_argument("--baseline-spo2", default=None, metavar="N", help="baseline SpO2 (%%)")
    p.add_argument(
        "--protocols",
        type=Path,
        default=None,
        help="protocol folder whose trees are offered for the alarms (default: the shipped library)",
    )
    p.add_argument(
        "--device-clock",
        action="append",
        default=[],
        metavar="INPUT=SETTING",
        help="how an input's device times are read: INPUT a protocol or a file name; SETTING an IANA "
        "zone, an offset (+02:00), local (default) or arrival (frames placed at the device's rate)",
    )
    p.add_argument(
        "--start",
        default=None,
        metavar="ISO-TIME",
        help="when captures without any device time start (default: the first device time of the "
        "other inputs, else the file's last-modified time), e.g. 2026-11-23T09:00:00+00:00",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bedside")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


def build_parser() -> argparse.ArgumentParser:
    parser = _OneSentenceParser(prog="bedside", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"bedside {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneSentenceParser)

    _monitor_arguments(sub.add_parser("monitor", help="open the monitor window"))

    dec = sub.add_parser("decode", help="decode a capture file with a driver; JSON lines out")
    dec.add_argument("--driver", required=True, choices=sorted(DRIVERS))
    dec.add_argument(
        "--device-clock",
        default=None,
        metavar="SETTING",
        help="the zone the device clock is set to (Europe/Berlin, +02:00, local, arrival); default local",
    )
    dec.add_argument("file", type=Path)

    _replay_arguments(
        sub.add_parser(
            "replay",
            help="feed capture files through the drivers and the clinical engine; JSON lines out",
            description="Replay capture files through the real drivers and the clinical session, "
            "headless, on the devices' own times. Prints one JSON object per line: replay_started, "
            "alarm_started / alarm_escalated / alarm_ended, nibp_judged, protocol_offered, "
            "replay_finished. Frames without a time follow the device's frame rate (Nonin 75 frames/s, "
            "Ivy 1 frame/s, Masimo 1 line/s); SunTech and HL7 frames without a time are placed 1 s "
            "apart. Exit 0 when it ran, 2 on bad input.",
        )
    )

    from simulators.cli import add_simulate_arguments

    add_simulate_arguments(sub.add_parser("simulate", help="run a simulated device on a pty or MLLP"))

    from protocols.cli import add_protocols_arguments

    # The sub-parsers are ArgumentParsers (only their error text differs).
    add_protocols_arguments(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    from bedside.cli_admin import add_admin_commands

    add_admin_commands(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    from bedside.cli_audit import add_audit_command

    add_audit_command(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    from bedside.cli_record import add_record_commands

    add_record_commands(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    add_export_arguments(sub)
    add_followup_commands(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    return parser


class _TerminalFormatter(logging.Formatter):
    """Log lines for the terminal without tracebacks: those go to the monitor's log file only."""

    def format(self, record: logging.LogRecord) -> str:
        """The record's line, its exception reduced to nothing (the message already names it)."""
        plain = logging.makeLogRecord(record.__dict__)
        plain.exc_info, plain.exc_text, plain.stack_info = None, None, None
        return super().format(plain)


def main(argv: Sequence[str] | None = None) -> int:
    # Security baseline: every file Bedside creates (database, exports, logs, state reports) is
    # readable by its owner only, whatever the login's umask is.
    os.umask(0o077)
    parser = build_parser()
    args = parser.parse_args(argv)
    quiet = logging.WARNING if args.command == "replay" else logging.INFO  # replay: stdout is the output
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else quiet,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "monitor" and not args.verbose:
        # The monitor's full log goes to its file (run_monitor); the terminal shows warnings and
        # start-up problems as one sentence, never a traceback.
        for handler in logging.getLogger().handlers:
            if type(handler) is not logging.StreamHandler:
                continue  # only the terminal handler basicConfig made (not a test runner's)
            handler.setLevel(logging.WARNING)
            handler.setFormatter(_TerminalFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        # An error nobody caught (in a Qt slot or a thread) is one line here, its traceback in the file.
        sys.excepthook = lambda kind, value, tb: log.critical(
            "unexpected error: %s: %s (details in the log file)", kind.__name__, value,
            exc_info=(kind, value, tb),
        )  # fmt: skip
    if args.command == "decode":
        from bedside.decode import decode_file

        if not args.file.is_file():
            print(f"bedside decode: no such file: {args.file}", file=sys.stderr)
            return 2
        from drivers.device_clock import ClockSettingError, DeviceClockSetting

        try:
            setting = None if args.device_clock is None else DeviceClockSetting.parse(args.device_clock)
        except ClockSettingError as exc:
            print(f"bedside decode: {exc}", file=sys.stderr)
            return 2
        return decode_file(args.driver, args.file, clock_setting=setting)
    if args.command == "replay":
        return run_replay_command(args)
    if args.command == "simulate":
        from simulators.cli import run_simulate

        return run_simulate(args)
    if args.command == "export":
        return run_export(args)
    if args.command == "protocols":
        from protocols.cli import run_protocols

        return run_protocols(args)
    if args.command in ("clinician", "patient"):
        from bedside.cli_admin import run_admin

        return run_admin(args)
    if args.command in FOLLOWUP_COMMANDS:
        return run_followup(args)
    if args.command == "audit":
        from bedside.cli_audit import run_audit

        return run_audit(args)
    if args.command in ("incident", "note", "medication"):
        from bedside.cli_record import run_record

        return run_record(args)
    from bedside.app import run_monitor

    try:
        return run_monitor(args)
    except Exception as exc:  # the last net: one sentence here, the traceback in the log file
        log.critical(
            "the monitor stopped on an unexpected error: %s: %s", type(exc).__name__, exc, exc_info=True
        )
        return 1


def run_replay_command(args: argparse.Namespace) -> int:
    """`bedside replay`: 0 when it ran, 2 on bad input with one sentence on stderr."""
    from alarms import ConfigError, load_config
    from bedside.replay import ReplayBaseline, ReplayInput, ReplayInputError, run_replay
    from drivers.device_clock import ClockSettingError, DeviceClockSetting
    from protocols import LIBRARY_DIR, load_library

    def fail(message: str) -> int:
        print(f"bedside replay: {message}", file=sys.stderr)
        return 2

    if not args.input:
        return fail("give at least one --input PROTOCOL=FILE, e.g. --input masimo-ascii=capture.txt")
    clocks: dict[str, DeviceClockSetting] = {}
    for text in args.device_clock:
        key, sep, value = text.partition("=")
        if not sep or not key.strip() or not value.strip():
            return fail(f"--device-clock {text!r}: write INPUT=SETTING, e.g. masimo-ascii=Europe/Berlin")
        try:
            clocks[key.strip()] = DeviceClockSetting.parse(value)
        except ClockSettingError as exc:
            return fail(f"--device-clock {key.strip()}: {exc}")
    start: datetime | None = None
    if args.start is not None:
        try:
            start = datetime.fromisoformat(args.start)
        except ValueError:
            return fail(f"--start {args.start!r} is not an ISO time such as 2026-11-23T09:00:00+00:00")
        start = start.replace(tzinfo=UTC) if start.tzinfo is None else start.astimezone(UTC)
    try:
        config = load_config(args.clinic_config)
    except (ConfigError, OSError, ValueError, RecursionError) as exc:
        return fail(f"the clinic config cannot be used: {exc}")
    try:
        inputs = [ReplayInput.parse(text, clocks) for text in args.input]
        baseline = ReplayBaseline.parse(args.baseline_nibp, args.baseline_pulse, args.baseline_spo2, config)
        protocols_dir = args.protocols or LIBRARY_DIR
        if not Path(protocols_dir).is_dir():
            return fail(f"--protocols {protocols_dir}: not a folder of protocol files")
        library = load_library(protocols_dir)
        run_replay(
            inputs, config, _print_json_line, baseline=baseline, start=start,
            protocols_for=lambda condition: [p.id for p in library.offered_for(condition)],
        )  # fmt: skip
    except ReplayInputError as exc:
        return fail(str(exc))
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as exc:
        return fail(f"a capture file cannot be read: {exc}")
    return 0


def _print_json_line(event: dict[str, object]) -> None:
    import json

    print(json.dumps(event), flush=False)


if __name__ == "__main__":
    sys.exit(main())
