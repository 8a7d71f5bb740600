"""Feeding bytes through a driver the way a serial port or socket would, and judging the outcome.

An *escape* is any exception out of ``driver.feed``: the DeviceDriver contract says a bad frame is
a counted rejection, never a raise. *State* is every byte a driver keeps between feeds (framer
buffers, half-built packets), measured by walking the driver object, so a new driver's buffers are
measured without naming them here.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from drivers.ranges import out_of_range
from drivers.registry import make_driver
from drivers.types import DecodeResult, DeviceDriver, Observation, Stamp

STAMP = Stamp(wall=datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC), mono=1000.0)

#: Most bytes any driver may keep between feeds. The largest legitimate holding is one HL7
#: message at the MLLP framer's cap (64 KiB, drivers/mllp.py); serial framers hold one line or
#: frame (at most a few KiB). Anything above this is a buffer that grows with what arrives.
STATE_CAP_BYTES = 96 * 1024


@dataclass(frozen=True, slots=True)
class Escape:
    """An exception that left ``feed``: what was fed, how it was cut, and what was raised."""

    protocol: str
    error: str
    data: bytes
    cuts: tuple[int, ...]

    def describe(self) -> str:
        """One line for a report: the exception and the first bytes of the input."""
        head = self.data[:60]
        return f"{self.protocol}: {self.error} on {len(self.data)} bytes {head!r} cut at {self.cuts[:8]}"


class StateGrewError(AssertionError):
    """A driver kept more bytes between feeds than any one frame or message needs."""


def fresh_driver(protocol: str) -> DeviceDriver:
    """A driver as the app makes it (registry, device clock read as UTC so runs are repeatable)."""
    from drivers.device_clock import DeviceClockSetting

    return make_driver(protocol, "fuzz", DeviceClockSetting.fixed(UTC, "UTC"))


def chunks(data: bytes, cuts: Sequence[int]) -> Iterator[bytes]:
    """``data`` split at ``cuts`` (any order, out-of-range cuts clipped), empty pieces included."""
    edges = sorted({max(0, min(c, len(data))) for c in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(edges):
        yield data[start:end]
    if len(edges) == 1:
        yield b""


def feed(driver: DeviceDriver, data: bytes, cuts: Sequence[int] = ()) -> DecodeResult | Escape:
    """Everything the driver decodes from ``data`` fed in pieces, or the Escape if it raised."""
    total = DecodeResult()
    try:
        for piece in chunks(data, cuts):
            result = driver.feed(piece, STAMP)
            if not isinstance(result, DecodeResult):
                raise TypeError(f"feed returned {type(result).__name__}, not DecodeResult")
            total = total + result
    except Exception as exc:  # the point of the harness: anything at all that escapes
        return Escape(driver.protocol, f"{type(exc).__name__}: {exc}"[:300], data, tuple(cuts))
    return total


#: Drivers that build their Observations without drivers.ranges (issue 11): the HL7 driver is
#: owned by the HL7 work and must pass its rows through ``drivers.ranges.screen``; empty this then.
UNSCREENED: frozenset[str] = frozenset()


def observation_problems(observations: Sequence[Observation], protocol: str = "") -> list[str]:
    """Errors in decoded values: a non-finite number, a value without its times or source, and
    (given the protocol) a VALID value the device cannot have measured (drivers/ranges.py)."""
    problems: list[str] = []
    for obs in observations:
        if protocol and protocol not in UNSCREENED and obs.is_valid:
            reason = out_of_range(protocol, obs.kind, obs.value)
            if reason is not None:
                problems.append(f"VALID although {reason}")
        if obs.value is not None and not math.isfinite(obs.value):
            problems.append(f"{obs.kind.value} value {obs.value!r} is not finite")
        if obs.measured_at.tzinfo is None or obs.received_at.tzinfo is None:
            problems.append(f"{obs.kind.value} carries a naive time")
        if not obs.source:
            problems.append(f"{obs.kind.value} has no source")
    return problems


def retained_bytes(root: object, _depth: int = 0, _seen: set[int] | None = None) -> int:
    """Bytes of data (bytes, bytearray, str) reachable from ``root``'s attributes and containers."""
    seen = set() if _seen is None else _seen
    if id(root) in seen or _depth > 12:
        return 0
    seen.add(id(root))
    if isinstance(root, bytes | bytearray | memoryview | str):
        return len(root)
    if isinstance(root, int | float | bool | type(None) | type) or callable(root):
        return 0
    if isinstance(root, dict):
        return sum(
            retained_bytes(k, _depth + 1, seen) + retained_bytes(v, _depth + 1, seen) for k, v in root.items()
        )
    if isinstance(root, list | tuple | set | frozenset):
        return sum(retained_bytes(item, _depth + 1, seen) for item in root)
    total = 0
    for name in _attribute_names(root):
        try:
            value = getattr(root, name)
        except AttributeError:
            continue
        total += retained_bytes(value, _depth + 1, seen)
    return total


def _attribute_names(obj: object) -> list[str]:
    names = list(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        slots = cls.__dict__.get("__slots__", ())
        names.extend([slots] if isinstance(slots, str) else slots)
    if type(obj).__module__.split(".")[0] not in ("drivers", "tests"):
        return []  # zone objects, enums from the standard library: constant size, not driver state
    return names


def check_state(driver: DeviceDriver) -> int:
    """The bytes ``driver`` keeps; raises StateGrewError past ``STATE_CAP_BYTES``."""
    held = retained_bytes(driver)
    if held > STATE_CAP_BYTES:
        raise StateGrewError(
            f"{driver.protocol} driver holds {held} bytes between feeds (cap {STATE_CAP_BYTES})"
        )
    return held


#: Bytes that mean something to some framer: frame starts and ends, separators, line ends.
INTERESTING = b"\x00\x01\x0b\x0d\x0a\x1c\x3e\x7f\x80\xfe\xff|^~\\&=;%-.:"
#: Numbers a checksum does not catch: huge, negative, fractional, not numbers at all.
NUMBERS = (
    b"59722",
    b"5640",
    b"-1",
    b"0",
    b"999999999",
    b"1e308",
    b"nan",
    b"inf",
    b"255",
    b"65535",
    b"127",
    b"101",
)


class Mutator:
    """Deterministic mutations of valid streams (a seeded ``random.Random``: a run can be repeated)."""

    def __init__(self, seeds: Sequence[bytes], rng: random.Random) -> None:
        self.seeds = list(seeds) or [b""]
        self.rng = rng

    def input(self) -> bytes:
        """A fresh input: a seed mutated one to four times, or (one time in eight) pure noise."""
        rng = self.rng
        if rng.random() < 0.125:
            return rng.randbytes(rng.randint(0, 600))
        data = bytearray(rng.choice(self.seeds))
        for _ in range(rng.randint(1, 4)):
            data = self.mutate(data)
        return bytes(data)

    def mutate(self, data: bytearray) -> bytearray:
        """One mutation of ``data``."""
        rng = self.rng
        if not data:
            return bytearray(rng.randbytes(rng.randint(1, 64)))
        i = rng.randrange(len(data))
        j = min(len(data), i + rng.randint(1, 32))
        op = rng.randrange(10)
        if op == 0:
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[i] = rng.choice(INTERESTING)
        elif op == 2:
            data[i] = rng.randrange(256)
        elif op == 3:
            data[i:i] = rng.randbytes(rng.randint(1, 16))
        elif op == 4:
            del data[i:j]
        elif op == 5:
            data[i:i] = data[i:j] * rng.randint(2, 50)
        elif op == 6:
            other = rng.choice(self.seeds)
            k = rng.randrange(len(other) + 1)
            data = data[:i] + bytearray(other[k : k + rng.randint(1, 400)]) + data[i:]
        elif op == 7:
            data = data[: rng.randint(0, len(data))]
        elif op == 8:
            data[i:j] = rng.choice(NUMBERS)
        else:
            data[i:i] = bytes([rng.choice(INTERESTING)]) * rng.randint(1, 3000)
        return data

    def cuts(self, length: int) -> list[int]:
        """Where to split an input of ``length`` bytes: whole, byte by byte, or at random places."""
        rng = self.rng
        pick = rng.random()
        if pick < 0.5 or length == 0:
            return []
        if pick < 0.6 and length <= 256:
            return list(range(length))
        return sorted(rng.randint(0, length) for _ in range(rng.randint(1, 12)))
