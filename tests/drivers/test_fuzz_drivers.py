"""Every registered driver, fuzzed in CI: random bytes, mutated valid frames, any chunking (MON-6).

The drivers are taken from ``drivers.registry.DRIVERS``, so a new driver is fuzzed the day it is
registered. An escape (any exception out of ``feed``) fails the test with the input that caused
it; so does a driver that keeps more bytes than one frame needs (issue 11, "every driver's framer
and parser fuzzed ... memory stays bounded"). The long run is ``python -m tests.fuzz``.
"""

from __future__ import annotations

import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.mllp import MllpFramer, MllpRejection
from tests.fuzz.corpus import fuzzed_protocols, seeds_for
from tests.fuzz.harness import (
    STATE_CAP_BYTES,
    Escape,
    Mutator,
    check_state,
    feed,
    fresh_driver,
    observation_problems,
)

PROTOCOLS = fuzzed_protocols()
SEEDS = {protocol: seeds_for(protocol) for protocol in PROTOCOLS}
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _assert_no_escape(protocol: str, data: bytes, cuts: list[int]) -> None:
    driver = fresh_driver(protocol)
    result = feed(driver, data, cuts)
    assert not isinstance(result, Escape), result.describe()
    assert observation_problems(result.observations, protocol) == []
    check_state(driver)


def test_every_registered_driver_is_fuzzed_and_seeded() -> None:
    """The registry is the list: every driver it names has valid seeds to mutate from."""
    from drivers.registry import DRIVERS

    assert set(PROTOCOLS) == set(DRIVERS)
    for protocol in PROTOCOLS:
        assert SEEDS[protocol], f"no valid stream to mutate for {protocol}"


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_seeds_decode_cleanly(protocol: str) -> None:
    """The seeds are valid frames: they decode to values, so mutations start from the parser's inside."""
    driver = fresh_driver(protocol)
    decoded = 0
    for seed in SEEDS[protocol]:
        result = feed(driver, seed)
        assert not isinstance(result, Escape), result.describe()
        decoded += result.frames
    assert decoded > 0


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("protocol", PROTOCOLS)
@FUZZ
@given(data=st.binary(max_size=2048), cuts=st.lists(st.integers(0, 2048), max_size=20))
def test_random_bytes_never_escape(protocol: str, data: bytes, cuts: list[int]) -> None:
    _assert_no_escape(protocol, data, cuts)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("protocol", PROTOCOLS)
@FUZZ
@given(seed=st.integers(0, 2**32 - 1), rounds=st.integers(1, 6))
def test_mutated_valid_frames_never_escape(protocol: str, seed: int, rounds: int) -> None:
    """Mutations of encoder output and real captures: bit flips, splices, impossible numbers, floods."""
    rng = random.Random(seed)
    mutator = Mutator(SEEDS[protocol], rng)
    data = bytearray(rng.choice(SEEDS[protocol]))
    for _ in range(rounds):
        data = mutator.mutate(data)
    _assert_no_escape(protocol, bytes(data), mutator.cuts(len(data)))


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("protocol", PROTOCOLS)
@FUZZ
@given(
    pieces=st.lists(
        st.one_of(
            st.binary(max_size=64),
            st.sampled_from(sorted({b for s in SEEDS.values() for b in s}, key=len)[:40]),
        ),
        max_size=12,
    )
)
def test_valid_frames_between_garbage_never_escape(protocol: str, pieces: list[bytes]) -> None:
    """Good frames of this and other devices interleaved with noise, fed as they come."""
    driver = fresh_driver(protocol)
    for piece in pieces:
        result = feed(driver, piece)
        assert not isinstance(result, Escape), result.describe()
        check_state(driver)


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_a_megabyte_without_frame_ends_keeps_state_bounded(protocol: str) -> None:
    """Endless traffic with no terminator (a stuck line, a sender that never ends a block)."""
    driver = fresh_driver(protocol)
    seed = SEEDS[protocol][0]
    floods = [
        b"A" * 4096,
        b"\x0b" + b"B" * 4096,
        seed[: len(seed) // 2] + b"7" * 4096,
        bytes(range(256)) * 16,
    ]
    for i in range(256):
        result = feed(driver, floods[i % len(floods)])
        assert not isinstance(result, Escape), result.describe()
        assert check_state(driver) <= STATE_CAP_BYTES


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_decoding_resumes_after_fuzzed_input(protocol: str) -> None:
    """After a burst of mutated input the driver still decodes a good stream (it resynchronised)."""
    driver = fresh_driver(protocol)
    mutator = Mutator(SEEDS[protocol], random.Random(11))
    for _ in range(200):
        assert not isinstance(feed(driver, mutator.input()), Escape)
    # An MLLP block or a line cut off mid-way is closed by the next start byte or terminator.
    good = SEEDS[protocol][0]
    result = feed(driver, good + good)
    assert not isinstance(result, Escape)
    assert result.frames >= 1


@FUZZ
@given(data=st.binary(max_size=4096), cuts=st.lists(st.integers(0, 4096), max_size=20))
def test_mllp_framer_public_api_never_escapes(data: bytes, cuts: list[int]) -> None:
    """The MLLP framer on its own (the HL7 listener's first stage), with a small message cap."""
    from tests.fuzz.harness import chunks

    framer = MllpFramer(max_message_bytes=512)
    for piece in chunks(data, cuts):
        for item in framer.feed(piece):
            assert isinstance(item, bytes | MllpRejection)
            if isinstance(item, bytes):
                assert len(item) <= 512
    assert framer.counters.bytes_discarded >= 0


@pytest.mark.req("MON-6")
def test_a_value_hundreds_of_digits_long_is_a_rejection_not_an_escape() -> None:
    """Found by the long run (seed 1, ivy-ansar): ``HR=1;999...9;`` raised OverflowError out of feed,
    and the same digits on a Masimo line decoded as an infinite pulse rate."""
    from simulators.encoders.ivy import IvyAnsarEncoder
    from simulators.model import VitalsSnapshot
    from tests.fuzz.harness import STAMP

    frame = IvyAnsarEncoder().encode(VitalsSnapshot(STAMP.wall, 97, 72, heart_rate=71))
    garbled = frame.replace(b"HR=1;71;", b"HR=1;" + b"9" * 400 + b";")
    driver = fresh_driver("ivy-ansar")
    result = feed(driver, garbled)
    assert not isinstance(result, Escape), result.describe()
    assert result.observations == () and len(result.rejections) == 1
    assert "whole number" in result.rejections[0].reason
    pr = frame.replace(b"PR=72 ", b"PR=" + b"7" * 400)
    result = feed(fresh_driver("ivy-ansar"), pr)
    assert not isinstance(result, Escape), result.describe()
    masimo = fresh_driver("masimo-ascii")
    line = b"11/23/26 14:00:00 SPO2=097% BPM=" + b"9" * 400 + b" PI=03.20% EXC=000800\r\n"
    result = feed(masimo, line)
    assert not isinstance(result, Escape)
    assert result.observations == () and len(result.rejections) == 1


class _BrokenDriver:
    """A driver that breaks the contract both ways the harness looks for."""

    protocol = "broken"
    source = "fuzz"

    def __init__(self) -> None:
        self.held = bytearray()

    def feed(self, data: bytes, stamp: object) -> object:
        self.held += data  # never lets go of anything
        if b"\xff" in data:
            raise IndexError("list index out of range")
        from drivers.types import DecodeResult

        return DecodeResult()


def test_the_harness_catches_an_escape_and_a_growing_buffer() -> None:
    """The harness itself can fail: a raise is an Escape, a buffer that grows is StateGrewError."""
    from tests.fuzz.harness import StateGrewError

    driver = _BrokenDriver()
    escaped = feed(driver, b"ok\xff", [1, 2])  # type: ignore[arg-type]
    assert isinstance(escaped, Escape) and "IndexError" in escaped.error and escaped.cuts == (1, 2)
    assert not isinstance(feed(driver, b"A" * (STATE_CAP_BYTES + 1)), Escape)  # type: ignore[arg-type]
    with pytest.raises(StateGrewError, match="holds"):
        check_state(driver)  # type: ignore[arg-type]
