"""`bedside simulate`: play a scenario as a device's own bytes on a pty or an MLLP connection.

Prints one line on stdout, the port to connect to (a pty path, or ``mllp://host:port``), then runs
until the scenario ends or Ctrl-C. ``python -m simulators.cli`` runs the same command.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import textwrap
import threading
from collections.abc import Sequence

from drivers.clock import SystemClock
from simulators.encoders import encoder_protocols
from simulators.host import MLLP_PROTOCOL, SUNTECH_PROTOCOL, make_host
from simulators.scenario import ScenarioError, list_scenarios, load_scenario

log = logging.getLogger(__name__)

DEFAULT_MLLP = "127.0.0.1:2575"


def simulated_devices() -> tuple[str, ...]:
    """Every device name ``--device`` accepts."""
    return (*encoder_protocols(), SUNTECH_PROTOCOL)


def add_simulate_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the ``simulate`` options to ``parser``."""
    parser.add_argument("--device", choices=simulated_devices(), help="the device protocol to simulate")
    parser.add_argument(
        "--scenario",
        default="full-session",
        help="scenario name (see --list) or path to a scenario YAML file",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="scenario seconds per real second (default 1)"
    )
    parser.add_argument("--seed", type=int, default=None, help="noise seed (default: the scenario's own)")
    parser.add_argument(
        "--mllp",
        default=None,
        metavar="HOST:PORT",
        help=f"where an {MLLP_PROTOCOL} simulator sends its messages (default {DEFAULT_MLLP})",
    )
    parser.add_argument("--list", action="store_true", help="list the shipped scenarios and exit")


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"--mllp must be HOST:PORT (e.g. {DEFAULT_MLLP}), not {text!r}")
    return host, int(port)


def _print_scenarios() -> int:
    for scenario in list_scenarios():
        description = textwrap.fill(
            scenario.description, width=100, initial_indent="    ", subsequent_indent="    "
        )
        print(f"{scenario.name}\n{description}\n")
    return 0


def run_simulate(args: argparse.Namespace) -> int:
    """Run the ``simulate`` command; returns the process exit status."""
    if args.list:
        return _print_scenarios()
    if args.device is None:
        print("bedside simulate: --device is required (or --list)", file=sys.stderr)
        return 2
    if not math.isfinite(args.speed) or args.speed <= 0:
        print(f"bedside simulate: --speed must be positive, not {args.speed}", file=sys.stderr)
        return 2
    try:
        scenario = load_scenario(args.scenario).with_seed(args.seed)
        mllp = _host_port(args.mllp or DEFAULT_MLLP)
    except (ScenarioError, ValueError) as exc:
        print(f"bedside simulate: {exc}", file=sys.stderr)
        return 2
    host = make_host(args.device, scenario, SystemClock(), speed=args.speed, mllp=mllp)
    stop = threading.Event()
    with host:
        print(host.open(), flush=True)
        log.info("playing %s as %s at %gx", scenario.name, args.device, args.speed)
        try:
            host.run_forever(stop)
        except KeyboardInterrupt:
            stop.set()
            log.info("stopped by the user")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point for ``python -m simulators.cli``."""
    parser = argparse.ArgumentParser(prog="python -m simulators.cli", description=__doc__)
    add_simulate_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return run_simulate(args)


if __name__ == "__main__":
    sys.exit(main())
