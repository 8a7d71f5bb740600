"""`bedside run`: the monitor under its supervisor, the way a clinic starts it (MON-8, ALM-5).

Takes every option of ``bedside monitor`` (passed on to the monitor process unchanged) plus the
supervisor's own; ``--no-supervisor`` runs the monitor in this process (development, debugging).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from bedside.cli.monitor import add_monitor_arguments

log = logging.getLogger(__name__)

#: The supervisor's own options (with whether each takes a value): never passed to the monitor.
SUPERVISOR_OPTIONS: dict[str, bool] = {
    "--no-supervisor": False,
    "--no-spare": False,
    "--silent-after": True,
    "--max-restarts": True,
    "--restart-window": True,
    "--restart-stalled-window": True,
}


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``bedside run``: the monitor's, then the supervisor's."""
    add_monitor_arguments(p)
    sup = p.add_argument_group("supervisor")
    sup.add_argument(
        "--no-supervisor",
        action="store_true",
        help="run the monitor in this process, unsupervised (development; a crash is not restarted)",
    )
    sup.add_argument(
        "--no-spare",
        action="store_true",
        help="keep no loaded spare monitor (saves its memory; a restart then takes as long as a start)",
    )
    sup.add_argument(
        "--silent-after",
        type=float,
        default=3.0,
        metavar="S",
        help="a monitor that writes no heartbeat for S seconds is stopped or hung: alarm and restart "
        "(default 3)",
    )
    sup.add_argument(
        "--restart-stalled-window",
        type=float,
        default=30.0,
        metavar="S",
        help="a monitor whose window has not updated for S seconds (its watchdog keeps monitoring and "
        "sounding) is replaced by a new one on the same session (default 30)",
    )
    sup.add_argument(
        "--max-restarts",
        type=int,
        default=5,
        metavar="N",
        help="more than N restarts within --restart-window is a crash loop: stop with exit code 3 "
        "(default 5)",
    )
    sup.add_argument(
        "--restart-window", type=float, default=120.0, metavar="S", help="see --max-restarts (default 120)"
    )


def monitor_argv(run_argv: Sequence[str]) -> list[str]:
    """The arguments after ``run`` without the supervisor's own options: what the monitor gets."""
    out: list[str] = []
    skip = False
    for arg in run_argv:
        if skip:
            skip = False
            continue
        name = arg.split("=", 1)[0]
        if name in SUPERVISOR_OPTIONS:
            skip = SUPERVISOR_OPTIONS[name] and "=" not in arg
            continue
        out.append(arg)
    return out


def run_supervised(args: argparse.Namespace, argv: Sequence[str]) -> int:
    """`bedside run`: start the supervisor (or the monitor itself with --no-supervisor)."""
    if args.no_supervisor:
        from bedside.cli.monitor import run_monitor_command

        return run_monitor_command(args)
    from bedside.app.supervisor import Supervisor, SupervisorPolicy
    from bedside.app.tone_player import TonePlayer

    if min(args.silent_after, args.restart_window, args.restart_stalled_window) <= 0 or args.max_restarts < 0:
        print(
            "bedside run: --silent-after, --restart-window and --restart-stalled-window must be above 0 "
            "and --max-restarts at least 0",
            file=sys.stderr,
        )
        return 2
    after_run = list(argv)[list(argv).index("run") + 1 :]
    command = [sys.executable, "-m", "bedside.cli", *(["-v"] if args.verbose else []), "monitor"]
    command += monitor_argv(after_run)
    policy = SupervisorPolicy(
        silent_after_s=args.silent_after,
        max_restarts=args.max_restarts,
        restart_window_s=args.restart_window,
        window_stalled_restart_s=args.restart_stalled_window,
    )
    tones = TonePlayer()
    supervisor = Supervisor(command, policy, tones=tones, spare=not args.no_spare)
    supervisor.install_signal_handlers()
    try:
        return supervisor.run()
    finally:
        tones.stop()
