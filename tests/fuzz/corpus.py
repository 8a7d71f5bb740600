"""Valid byte streams per wire protocol, to mutate from.

Seeds come from three places, in this order: the simulators' encoders (any protocol that has
one, found by name, so a new driver with an encoder is seeded automatically), the real captures
and reference vectors kept in tests/fixtures and /work/shared/reference, and hand-built frames
for devices that have no encoder (SunTech, from its own framing functions). A protocol with no
seed at all is still fuzzed with random bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from drivers.mllp import frame as mllp_frame
from drivers.registry import DRIVERS
from drivers.suntech import BpData, ModuleAck, ack_frame, module_frame
from drivers.types import Quality
from simulators.encoders import ENCODERS, encoder_for
from simulators.model import NibpSnapshot, VitalsSnapshot

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
#: The shared reference captures; tests fall back to tests/fixtures when it is not mounted.
REFERENCE = Path(os.environ.get("BEDSIDE_REFERENCE_DIR", "/work/shared/reference"))

_T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)


def _snapshots() -> list[VitalsSnapshot]:
    """A handful of clinical moments: normal, desaturating, probe off, a cuff error, extremes."""
    nibp = NibpSnapshot(128, 82, 97, _T0)
    return [
        VitalsSnapshot(_T0, 97, 72, heart_rate=71, perfusion_index=3.2, nibp=nibp),
        VitalsSnapshot(_T0 + timedelta(seconds=1), 84, 131, heart_rate=130, perfusion_index=0.4),
        VitalsSnapshot(_T0 + timedelta(seconds=2), None, None, oximeter_quality=Quality.PROBE_OFF),
        VitalsSnapshot(
            _T0 + timedelta(seconds=3),
            99,
            18,
            heart_rate=18,
            nibp=NibpSnapshot(None, None, None, _T0, "cuff error"),
        ),
        VitalsSnapshot(
            _T0 + timedelta(seconds=4), 100, 240, heart_rate=250, nibp=NibpSnapshot(255, 180, 205, _T0)
        ),
    ]


def encoder_seeds(protocol: str) -> list[bytes]:
    """What the protocol's simulator encoder writes for a few clinical moments (none if no encoder)."""
    if protocol not in ENCODERS:
        return []
    encoder = encoder_for(protocol)
    return [data for data in (encoder.encode(s) for s in _snapshots()) if data]


def _reference(*names: str) -> list[Path]:
    return [p for p in (REFERENCE / n for n in names) if p.is_file()]


def _text_lines(path: Path) -> list[bytes]:
    """Non-comment lines of a reference text file, each with the CR LF a device sends."""
    lines = path.read_bytes().splitlines()
    return [line + b"\r\n" for line in lines if line.strip() and not line.startswith(b"#")]


def _masimo() -> list[bytes]:
    seeds = [(FIXTURES / "masimo" / "rad8-session.txt").read_bytes()]
    for path in _reference("serial/masimo-ascii1-lines.txt"):
        seeds.extend(_text_lines(path))
    return seeds


def _nonin() -> list[bytes]:
    seeds: list[bytes] = []
    for path in [FIXTURES / "nonin" / "nonin-df2-frames.txt", *_reference("serial/nonin-df2-frames.txt")]:
        for line in path.read_text().splitlines():
            if line.strip() and not line.startswith("#"):
                try:
                    seeds.append(bytes.fromhex(line))
                except ValueError:
                    continue  # a prose line in the vector file
    return seeds


def _ivy() -> list[bytes]:
    paths = [FIXTURES / "ivy" / "ivy450c-ansar-b.bin", *_reference("captures/ivy450c-ansar-b.bin")]
    return [p.read_bytes() for p in paths if p.is_file()]


def _hl7() -> list[bytes]:
    folders = [FIXTURES / "hl7" / "ipf", REFERENCE / "hl7" / "ipf"]
    seeds: list[bytes] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in (".hl7v2", ".hl7"):
                text = path.read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r")
                seeds.append(mllp_frame(text.strip(b"\r") + b"\r"))
    return seeds


def _suntech() -> list[bytes]:
    results = [
        BpData(128, 82, 97, 72, heart_beats=30).encode(),
        BpData(0, 0, 0, 0, error_code=0x57).encode(),
        BpData(255, 180, 205, 250).encode(),
    ]
    acks = [ack_frame(ack) for ack in ModuleAck]
    cuff = module_frame((142).to_bytes(2, "little"))
    # The usual cycle: 'O' received, cuff pressures, 'K' done, then the result frame.
    cycle = ack_frame(ModuleAck.RECEIVED) + cuff + ack_frame(ModuleAck.EXECUTED) + results[0]
    return [*results, *acks, cuff, cycle]


#: Captures and hand-built frames for protocols whose device has them (keyed by protocol name).
_EXTRA: dict[str, Callable[[], list[bytes]]] = {
    "masimo-ascii": _masimo,
    "nonin-df2": _nonin,
    "ivy-ansar": _ivy,
    "hl7-pcd01": _hl7,
    "suntech-advantage": _suntech,
}


def seeds_for(protocol: str) -> list[bytes]:
    """Every valid stream known for ``protocol`` (encoder output first, then captures)."""
    seeds = encoder_seeds(protocol)
    extra = _EXTRA.get(protocol)
    if extra is not None:
        seeds.extend(extra())
    return [s for s in seeds if s]


def fuzzed_protocols() -> list[str]:
    """Every protocol the registry knows: a new driver is fuzzed without touching this file."""
    return sorted(DRIVERS)
