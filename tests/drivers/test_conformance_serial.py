"""One contract, every serial driver: DeviceDriver shape, no exceptions, counters, any chunking (MON-6)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.ivy import IvyAnsarDriver
from drivers.masimo import MasimoAsciiDriver
from drivers.nonin import NoninDf2Driver
from drivers.registry import DRIVERS
from drivers.types import DecodeResult, DeviceDriver, Observation, Stamp
from simulators.encoders.nonin import NoninDf2Encoder
from simulators.model import VitalsSnapshot

STAMP = Stamp(wall=datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC), mono=1000.0)
FIXTURES = Path(__file__).parent.parent / "fixtures"


def _nonin_sample() -> bytes:
    encoder = NoninDf2Encoder()
    return b"".join(encoder.encode(VitalsSnapshot(at=STAMP.wall, spo2=96, pulse_rate=70)) for _ in range(3))


@dataclass(frozen=True)
class SerialCase:
    """A driver class and a stream of good bytes for it."""

    make: Callable[[str], DeviceDriver]
    sample: Callable[[], bytes]
    frames_in_sample: int


CASES = {
    "masimo-ascii": SerialCase(MasimoAsciiDriver, (FIXTURES / "masimo" / "rad8-session.txt").read_bytes, 9),
    "nonin-df2": SerialCase(NoninDf2Driver, _nonin_sample, 75),
    "ivy-ansar": SerialCase(IvyAnsarDriver, (FIXTURES / "ivy" / "ivy450c-ansar-b.bin").read_bytes, 27),
}
PROTOCOLS = sorted(CASES)


def chunked(driver: DeviceDriver, data: bytes, bounds: list[int]) -> DecodeResult:
    total = DecodeResult()
    edges = sorted({min(b, len(data)) for b in bounds} | {0, len(data)})
    for start, end in itertools.pairwise(edges):
        total = total + driver.feed(data[start:end], STAMP)
    return total


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_driver_has_the_device_driver_shape(protocol: str) -> None:
    driver = CASES[protocol].make("bed-1")
    assert driver.protocol == protocol
    assert DRIVERS[protocol].cls == type(driver).__name__  # the registry points at this class
    assert driver.source == "bed-1"
    assert driver.line_settings is not None and driver.line_settings.baudrate == 9600
    assert driver.can_start_nibp is False
    assert driver.start_nibp_command() is None
    assert (driver.counters.frames_ok, driver.counters.frames_rejected) == (0, 0)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_sample_decodes_with_source_units_and_times(protocol: str) -> None:
    case = CASES[protocol]
    driver = case.make("bed-1")
    result = driver.feed(case.sample(), STAMP)
    assert result.frames == case.frames_in_sample
    assert result.rejections == ()
    assert result.observations
    for obs in result.observations:
        assert isinstance(obs, Observation)
        assert obs.source == "bed-1"
        assert obs.received_at == STAMP.wall and obs.received_mono == STAMP.mono
        assert obs.measured_at.tzinfo is not None
        assert obs.value is None or obs.value >= 0
    assert driver.counters.frames_ok == case.frames_in_sample


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_garbage_never_raises_and_moves_the_counters(protocol: str) -> None:
    driver = CASES[protocol].make("bed-1")
    garbage = bytes(range(256)) * 8 + b"\r\n" + b"\xff" * 50 + b"\x01\x81\x00\x00\x00" + b"SPO2=abc\r\n"
    result = driver.feed(garbage, STAMP)
    assert result.observations == ()
    moved = driver.counters.frames_rejected + driver.counters.bytes_discarded
    assert moved > 0
    assert driver.counters.frames_rejected == len(result.rejections)
    # Good data after garbage still decodes: the framer resynchronised.
    after = driver.feed(CASES[protocol].sample(), STAMP)
    assert after.frames >= CASES[protocol].frames_in_sample - 1
    assert after.observations


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_one_piece_and_byte_by_byte_are_identical(protocol: str) -> None:
    case = CASES[protocol]
    data = b"\x00\xfe\x7f" + case.sample() + b"\x01\x80" + case.sample()
    whole_driver, bytewise_driver = case.make("s"), case.make("s")
    whole = whole_driver.feed(data, STAMP)
    assert chunked(bytewise_driver, data, list(range(len(data)))) == whole
    assert whole_driver.counters == bytewise_driver.counters


@pytest.mark.parametrize("protocol", PROTOCOLS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_any_chunking_gives_the_same_result(protocol: str, data: st.DataObject) -> None:
    case = CASES[protocol]
    stream = case.sample()
    bounds = data.draw(st.lists(st.integers(min_value=0, max_value=len(stream)), max_size=50))
    assert chunked(case.make("s"), stream, bounds) == case.make("s").feed(stream, STAMP)


@pytest.mark.parametrize("protocol", PROTOCOLS)
@settings(max_examples=150, deadline=None)
@given(blobs=st.lists(st.binary(max_size=700), max_size=8))
def test_random_bytes_never_raise(protocol: str, blobs: list[bytes]) -> None:
    driver = CASES[protocol].make("fuzz")
    for blob in blobs:
        result = driver.feed(blob, STAMP)
        assert isinstance(result, DecodeResult)
    assert driver.counters.frames_rejected >= 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
@settings(max_examples=60, deadline=None)
@given(noise=st.binary(min_size=1, max_size=300), position=st.integers(min_value=0))
def test_noise_spliced_into_good_data_never_raises(protocol: str, noise: bytes, position: int) -> None:
    case = CASES[protocol]
    stream = case.sample()
    cut = position % (len(stream) + 1)
    driver = case.make("fuzz")
    result = driver.feed(stream[:cut] + noise + stream[cut:], STAMP)
    # Noise can spoil at most the frame or two it touches; the framer resyncs for the rest.
    assert result.frames >= case.frames_in_sample - 2
