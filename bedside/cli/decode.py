"""`bedside decode`: a capture file through one driver, one JSON line per observation."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from drivers.registry import DRIVERS

log = logging.getLogger(__name__)


def add_decode_arguments(dec: argparse.ArgumentParser) -> None:
    """Add the options of ``bedside decode`` to its parser."""
    dec.add_argument("--driver", required=True, choices=sorted(DRIVERS))
    dec.add_argument(
        "--device-clock",
        default=None,
        metavar="SETTING",
        help="the zone the device clock is set to (Europe/Berlin, +02:00, local, arrival); default local",
    )
    dec.add_argument("file", type=Path)


def run_decode_command(args: argparse.Namespace) -> int:
    """`bedside decode`: 0 when decoded, 2 on a missing file or a bad clock setting."""
    from bedside.monitor.decode import decode_file

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
