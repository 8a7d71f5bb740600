"""`bedside decode`: run a capture file through a driver and print what it decoded.

Clinics use it to check a capture from their own device against Bedside's driver.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TextIO

from drivers.clock import Clock, SystemClock
from drivers.device_clock import DeviceClockSetting
from drivers.registry import make_driver
from drivers.types import DecodeResult, Observation

_MLLP_START = b"\x0b"
_MLLP_END = b"\x1c\x0d"
_CHUNK = 4096


def frame_plain_hl7(data: bytes) -> bytes:
    """Wrap a plain-text HL7 file (one or more messages, any line endings) in MLLP blocks.

    Capture files and the IHE examples are saved without MLLP framing; the driver reads the wire.
    """
    if _MLLP_START in data:
        return data
    lines = [line for line in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n") if line.strip()]
    messages: list[list[bytes]] = []
    for line in lines:
        if line.startswith(b"MSH") or not messages:
            messages.append([])
        messages[-1].append(line)
    return b"".join(_MLLP_START + b"\r".join(m) + b"\r" + _MLLP_END for m in messages)


def observation_json(obs: Observation) -> str:
    """One observation as a JSON object on one line."""
    return json.dumps(
        {
            "kind": obs.kind.value,
            "value": obs.value,
            "unit": obs.unit,
            "measured_at": obs.measured_at.isoformat(),
            "quality": obs.quality.value,
            "source": obs.source,
            **({"detail": obs.detail} if obs.detail else {}),
        },
        sort_keys=False,
    )


def decode_file(
    protocol: str,
    path: Path,
    out: TextIO | None = None,
    err: TextIO | None = None,
    *,
    clock: Clock | None = None,
    clock_setting: DeviceClockSetting | None = None,
) -> int:
    """Decode ``path`` with the driver for ``protocol``; 0 when every frame decoded, 1 otherwise.

    ``clock_setting`` is how the device's times are read (default: this PC's zone, ALM-4)."""
    out = out or sys.stdout
    err = err or sys.stderr
    clock = clock or SystemClock()
    data = path.read_bytes()
    if protocol == "hl7-pcd01":
        data = frame_plain_hl7(data)
    driver = make_driver(protocol, path.name, clock_setting)
    total = DecodeResult()
    for start in range(0, len(data), _CHUNK):
        result = driver.feed(data[start : start + _CHUNK], clock.stamp())
        for obs in result.observations:
            print(observation_json(obs), file=out)
        total = total + DecodeResult(rejections=result.rejections, frames=result.frames)
    for rejection in total.rejections:
        print(f"rejected: {rejection.reason}", file=err)
    counters = driver.counters
    print(
        f"{path}: frames read {counters.frames_ok + counters.frames_rejected}, "
        f"frames rejected {counters.frames_rejected}, bytes discarded {counters.bytes_discarded}",
        file=err,
    )
    return 0 if counters.frames_rejected == 0 else 1
