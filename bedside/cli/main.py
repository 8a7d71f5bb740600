"""The `bedside` command: monitor, decode, replay, simulate, protocols."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, cast

from bedside.cli.monitor import add_monitor_arguments, run_monitor_command

log = logging.getLogger(__name__)


class _OneSentenceParser(argparse.ArgumentParser):
    """A sub-command parser whose errors are one sentence on stderr and exit code 2."""

    def error(self, message: str) -> NoReturn:
        """Say what is wrong and where help is, without a usage dump."""
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("bedside")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


#: Options the top-level parser takes before the sub-command.
_TOP_LEVEL_FLAGS = ("-v", "--verbose")
#: Sub-commands that start the monitor: their parser is built alone, so starting the monitor does
#: not import every other sub-command's libraries (reportlab, argon2, the export formats: issue
#: 10, cold start to the first number under 1 s).
_MONITOR_COMMANDS = ("monitor", "run")


def _monitor_command(argv: Sequence[str] | None) -> str | None:
    """``monitor`` or ``run`` when ``argv`` starts the monitor (after ``-v`` at most), else None."""
    if argv is None:
        return None
    for word in argv:
        if word in _TOP_LEVEL_FLAGS:
            continue
        return word if word in _MONITOR_COMMANDS else None
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The ``bedside`` parser with every sub-command; with ``argv`` that starts the monitor
    (``monitor`` or ``run``), the same parser holding only that sub-command, which parses
    ``argv`` exactly as the full one does."""
    only = _monitor_command(argv)
    parser = _OneSentenceParser(prog="bedside", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--version", action="version", version=f"bedside {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_OneSentenceParser)

    if only in (None, "monitor"):
        add_monitor_arguments(sub.add_parser("monitor", help="open the monitor window (unsupervised)"))
    if only in (None, "run"):
        from bedside.cli.run import add_run_arguments

        add_run_arguments(
            sub.add_parser(
                "run",
                help="open the monitor under a supervisor that restarts it (how a clinic starts Bedside)",
                description="The monitor in its own process, restarted within seconds if it dies or "
                "hangs; takes every option of `bedside monitor`.",
            )
        )
    if only is not None:
        return parser
    from bedside.cli.decode import add_decode_arguments
    from bedside.cli.export import add_export_arguments
    from bedside.cli.followup import add_followup_commands
    from bedside.cli.replay import add_replay_arguments

    add_decode_arguments(sub.add_parser("decode", help="decode a capture file with a driver; JSON lines out"))

    add_replay_arguments(
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
    from bedside.cli.admin import add_admin_commands

    add_admin_commands(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    from bedside.cli.audit import add_audit_command

    add_audit_command(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    from bedside.cli.record import add_record_commands

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
    raw = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(raw)
    args = parser.parse_args(raw)
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
    if args.command == "run":
        from bedside.cli.run import run_supervised

        return run_supervised(args, raw)
    if args.command == "monitor":
        return run_monitor_command(args)
    if args.command == "decode":
        from bedside.cli.decode import run_decode_command

        return run_decode_command(args)
    if args.command == "replay":
        from bedside.cli.replay import run_replay_command

        return run_replay_command(args)
    if args.command == "simulate":
        from simulators.cli import run_simulate

        return run_simulate(args)
    if args.command == "export":
        from bedside.cli.export import run_export

        return run_export(args)
    if args.command == "protocols":
        from protocols.cli import run_protocols

        return run_protocols(args)
    if args.command in ("clinician", "patient"):
        from bedside.cli.admin import run_admin

        return run_admin(args)
    from bedside.cli.followup import FOLLOWUP_COMMANDS, run_followup

    if args.command in FOLLOWUP_COMMANDS:
        return run_followup(args)
    if args.command == "audit":
        from bedside.cli.audit import run_audit

        return run_audit(args)
    if args.command in ("incident", "note", "medication"):
        from bedside.cli.record import run_record

        return run_record(args)
    parser.error(f"unknown command {args.command!r}")  # argparse refuses it before this


if __name__ == "__main__":
    sys.exit(main())
