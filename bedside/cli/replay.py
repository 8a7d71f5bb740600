"""`bedside replay`: capture files through the drivers and the clinical engine, headless."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from drivers.registry import DRIVERS

log = logging.getLogger(__name__)


def add_replay_arguments(p: argparse.ArgumentParser) -> None:
    """Add the options of ``bedside replay`` to its parser."""
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


def run_replay_command(args: argparse.Namespace) -> int:
    """`bedside replay`: 0 when it ran, 2 on bad input with one sentence on stderr."""
    from alarms import ConfigError, load_config
    from bedside.workflow.replay import ReplayBaseline, ReplayInput, ReplayInputError, run_replay
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
