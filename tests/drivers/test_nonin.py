"""Nonin OEM III DF2 driver: frames, checksum, resync, packets, status -> quality (MON-1, MON-4, MON-6)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.nonin import (
    FRAMES_PER_PACKET,
    NoninDf2Driver,
    NoninFrame,
    NoninFramer,
    check_frame,
    encode_frame,
    parse_packet,
)
from drivers.types import DecodeResult, DeviceDriver, Quality, Stamp, VitalKind

STAMP = Stamp(wall=datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC), mono=1000.0)
VECTORS = Path(__file__).parent.parent / "fixtures" / "nonin" / "nonin-df2-frames.txt"


def vectors() -> list[bytes]:
    """The hex lines of the pufferfish test-vector file, in order."""
    return [
        bytes.fromhex(text)
        for text in VECTORS.read_text().splitlines()
        if text.strip() and not text.startswith("#")
    ]


def packet(
    hr: int = 72,
    spo2: int = 97,
    status: int = 0x80,
    perfusion: int = 0x02,
    data_overrides: dict[int, int] | None = None,
) -> bytes:
    """25 frames built by hand from the spec layout (not with the simulator's encoder)."""
    data = [0] * 25
    data[0], data[1], data[2], data[3] = (hr >> 7) & 0x03, hr & 0x7F, spo2, 0x48
    data[8] = data[9] = data[10] = data[15] = data[16] = spo2
    for msb in (13, 19, 21):
        data[msb], data[msb + 1] = (hr >> 7) & 0x03, hr & 0x7F
    for index, value in (data_overrides or {}).items():
        data[index] = value
    out = b""
    for n in range(25):
        frame_status = status | (0x01 if n == 0 else 0) | (perfusion if n < 12 else 0)
        out += encode_frame(frame_status, 100 + n, data[n])
    return out


def feed_bytewise(driver: NoninDf2Driver, data: bytes) -> DecodeResult:
    total = DecodeResult()
    for i in range(len(data)):
        total = total + driver.feed(data[i : i + 1], STAMP)
    return total


def test_vector_file_has_the_four_documented_cases() -> None:
    assert [len(v) for v in vectors()] == [10, 10, 10, 4]


def test_vector_two_valid_frames() -> None:
    driver = NoninDf2Driver("nonin")
    result = driver.feed(vectors()[0], STAMP)
    assert result.frames == 2
    assert result.rejections == ()
    assert check_frame(vectors()[0][:5]) == NoninFrame(status=0x81, pleth=0x01, data=0x00)
    assert check_frame(vectors()[0][5:]) == NoninFrame(status=0x80, pleth=0x01, data=0x48)
    assert driver.counters.frames_ok == 2


def test_vector_checksum_error_is_rejected() -> None:
    driver = NoninDf2Driver("nonin")
    result = driver.feed(vectors()[1], STAMP)
    assert result.frames == 1
    assert [r.reason for r in result.rejections] == ["checksum 0xCB != 0xCA"]
    assert result.rejections[0].raw == bytes.fromhex("018001 48CB".replace(" ", ""))
    assert driver.counters.frames_rejected == 1


def test_vector_status_without_bit7_is_rejected_and_the_framer_resyncs() -> None:
    driver = NoninDf2Driver("nonin")
    result = driver.feed(vectors()[2], STAMP)
    assert result.frames == 1
    assert len(result.rejections) == 1
    assert "bit 7 clear" in result.rejections[0].reason
    # After the bad frame, a full valid packet is found again and decoded.
    after = driver.feed(packet(hr=64, spo2=95), STAMP)
    assert [o.value for o in after.observations] == [95.0, 64.0]
    assert after.rejections == ()
    assert driver.counters.bytes_discarded > 0


def test_vector_partial_frame_waits_for_its_last_byte() -> None:
    framer = NoninFramer()
    partial = vectors()[3]
    assert framer.feed(partial) == []
    # The 4 bytes 01 81 00 00 need checksum 0x82 to complete the frame.
    assert framer.feed(b"\x82") == [NoninFrame(status=0x81, pleth=0x00, data=0x00)]
    assert framer.bytes_discarded == 0


@pytest.mark.req("MON-1")
@pytest.mark.req("MON-4")
@pytest.mark.req("MON-6")
def test_one_spo2_and_one_pulse_rate_per_packet_not_per_frame() -> None:
    driver = NoninDf2Driver("nonin-bed2")
    result = driver.feed(packet(hr=72, spo2=97) + packet(hr=73, spo2=96) + packet(hr=300, spo2=88), STAMP)
    assert result.frames == 75
    spo2 = [o.value for o in result.observations if o.kind is VitalKind.SPO2]
    pulse = [o.value for o in result.observations if o.kind is VitalKind.PULSE_RATE]
    assert spo2 == [97.0, 96.0, 88.0]
    assert pulse == [72.0, 73.0, 300.0]  # 300 needs the MSB bits: (2 << 7) | 44
    assert {o.quality for o in result.observations} == {Quality.VALID}
    assert {o.source for o in result.observations} == {"nonin-bed2"}
    assert {o.measured_at for o in result.observations} == {STAMP.wall}  # DF2 has no clock
    assert [o.unit for o in result.observations[:2]] == ["%", "/min"]


def test_packet_fields_follow_the_spec_layout() -> None:
    frames = [check_frame(packet(hr=130, spo2=93)[i : i + 5]) for i in range(0, 125, 5)]
    assert all(isinstance(f, NoninFrame) for f in frames)
    parsed = parse_packet([f for f in frames if isinstance(f, NoninFrame)])
    assert not isinstance(parsed, str)
    assert (parsed.pulse_rate, parsed.spo2, parsed.firmware_revision) == (130, 93, 0x48)
    assert (parsed.spo2_display, parsed.spo2_fast, parsed.spo2_beat_to_beat) == (93, 93, 93)
    assert (parsed.pulse_rate_extended, parsed.pulse_rate_display, parsed.pulse_rate_extended_display) == (
        130,
        130,
        130,
    )
    assert parsed.pleth == tuple(range(100, 125))


@pytest.mark.req("MON-6")
def test_missing_codes_are_no_number() -> None:
    result = NoninDf2Driver("n").feed(packet(hr=511, spo2=127, perfusion=0), STAMP)
    assert [o.value for o in result.observations] == [None, None]
    assert [o.quality for o in result.observations] == [Quality.UNKNOWN, Quality.UNKNOWN]


#: Status bits and the quality each must give, written from the spec independently of the driver.
STATUS_CASES = [
    (0x40, 0x00, Quality.PROBE_OFF, "sensor disconnect"),
    (0x08, 0x00, Quality.PROBE_OFF, "sensor alarm"),
    (0x10, 0x00, Quality.SEARCHING, "out of track"),
    (0x20, 0x02, Quality.ARTIFACT, "artifact"),
    (0x00, 0x04, Quality.LOW_PERFUSION, "red perfusion"),
    (0x00, 0x06, Quality.VALID, "yellow perfusion"),
    (0x00, 0x02, Quality.VALID, "green perfusion"),
    (0x60, 0x04, Quality.PROBE_OFF, "sensor disconnect"),  # disconnect outranks artifact / red
    (0x30, 0x04, Quality.SEARCHING, "out of track"),  # searching outranks low perfusion
    (0x20, 0x04, Quality.LOW_PERFUSION, "artifact"),  # low perfusion outranks artifact
]


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(("flags", "perfusion", "quality", "detail"), STATUS_CASES)
def test_status_flags_map_to_quality(flags: int, perfusion: int, quality: Quality, detail: str) -> None:
    result = NoninDf2Driver("n").feed(packet(status=0x80 | flags, perfusion=perfusion), STAMP)
    assert [o.quality for o in result.observations] == [quality, quality]
    assert detail in result.observations[0].detail


def test_a_flag_in_one_frame_taints_the_whole_packet() -> None:
    data = bytearray(packet())
    data[5 * 20 + 1] |= 0x40  # SNSD on frame 21 only
    data[5 * 20 + 4] = sum(data[5 * 20 : 5 * 20 + 4]) & 0xFF
    result = NoninDf2Driver("n").feed(bytes(data), STAMP)
    assert [o.quality for o in result.observations] == [Quality.PROBE_OFF] * 2


def test_frames_before_the_first_sync_are_skipped_without_error() -> None:
    stream = packet()[5 * 10 :] + packet(hr=88)
    result = NoninDf2Driver("n").feed(stream, STAMP)
    assert result.rejections == ()
    assert result.frames == 40
    assert [o.value for o in result.observations if o.kind is VitalKind.PULSE_RATE] == [88.0]


def test_a_lost_frame_drops_its_packet_and_is_counted() -> None:
    first = bytearray(packet(hr=70))
    first[5 * 7 + 4] ^= 0xFF  # break the checksum of frame 8
    driver = NoninDf2Driver("n")
    result = driver.feed(bytes(first) + packet(hr=71), STAMP)
    assert [o.value for o in result.observations if o.kind is VitalKind.PULSE_RATE] == [71.0]
    assert len(result.rejections) == 1
    assert "checksum" in result.rejections[0].reason


def test_a_packet_cut_short_by_the_next_sync_is_rejected() -> None:
    result = NoninDf2Driver("n").feed(packet(hr=70)[: 5 * 10] + packet(hr=71), STAMP)
    assert [r.reason for r in result.rejections] == ["packet cut short after 10 frames"]
    assert [o.value for o in result.observations if o.kind is VitalKind.PULSE_RATE] == [71.0]


def test_spo2_above_100_is_rejected() -> None:
    result = NoninDf2Driver("n").feed(packet(spo2=120), STAMP)
    assert result.observations == ()
    assert [r.reason for r in result.rejections] == ["SpO2 120 is above 100 %"]


def test_parse_packet_rejects_the_wrong_shape() -> None:
    frame = NoninFrame(status=0x81, pleth=0, data=0)
    assert parse_packet([frame] * 3) == f"packet has 3 frames, not {FRAMES_PER_PACKET}"
    assert parse_packet([frame] * 25) == "SYNC bit is not on the first frame only"


@pytest.mark.req("MON-6")
def test_one_piece_and_byte_by_byte_are_identical() -> None:
    data = b"\x13\x37" + vectors()[2] + packet() + packet(hr=511, spo2=127) + vectors()[1] + packet(spo2=90)
    whole = NoninDf2Driver("n").feed(data, STAMP)
    assert feed_bytewise(NoninDf2Driver("n"), data) == whole
    assert len(whole.observations) == 6


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=600), max_size=40))
def test_any_chunking_gives_the_same_result(cuts: list[int]) -> None:
    data = b"\xff\x01\x80" + packet() + vectors()[1] + packet(status=0x90) + packet(hr=100)
    whole = NoninDf2Driver("n").feed(data, STAMP)
    driver = NoninDf2Driver("n")
    total = DecodeResult()
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(bounds):
        total = total + driver.feed(data[start:end], STAMP)
    assert total == whole


def test_garbage_is_bounded_and_never_raises() -> None:
    driver = NoninDf2Driver("n")
    for _ in range(100):
        driver.feed(bytes(range(256)) * 4, STAMP)
        assert len(driver._framer._buffer) < 5
    assert driver.counters.bytes_discarded > 100_000 - 1000


def test_cannot_start_nibp() -> None:
    driver: DeviceDriver = NoninDf2Driver("n")
    assert driver.can_start_nibp is False
    assert driver.start_nibp_command() is None
    assert driver.protocol == "nonin-df2"
    assert driver.line_settings is not None and driver.line_settings.baudrate == 9600
