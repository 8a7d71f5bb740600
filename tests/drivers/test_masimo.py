"""Masimo ASCII 1 driver: values, exception bits -> quality, device time, framing (MON-1, MON-6)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.masimo import (
    EXCEPTION_BITS,
    MAX_LINE,
    MasimoAsciiDriver,
    MasimoLineError,
    exception_names,
    exception_quality,
    parse_masimo_line,
)
from drivers.types import DecodeResult, DeviceDriver, Quality, Stamp, VitalKind

STAMP = Stamp(wall=datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC), mono=1000.0)
FIXTURE = Path(__file__).parent.parent / "fixtures" / "masimo" / "rad8-session.txt"


def feed_bytewise(driver: MasimoAsciiDriver, data: bytes) -> DecodeResult:
    total = DecodeResult()
    for i in range(len(data)):
        total = total + driver.feed(data[i : i + 1], STAMP)
    return total


def values(result: DecodeResult, kind: VitalKind) -> list[float | None]:
    return [o.value for o in result.observations if o.kind is kind]


def qualities(result: DecodeResult, kind: VitalKind) -> list[Quality]:
    return [o.quality for o in result.observations if o.kind is kind]


def line(exc: str = "000800", spo2: str = "097%", bpm: str = "072", pi: str = "02.15%") -> bytes:
    return (
        f"11/23/26 09:00:00 SN=0000031415 SPO2={spo2} BPM={bpm} PI={pi} SPCO=--.-% SPMET=--.-% "
        f"DESAT=-- PIDELTA=+-- ALARM=0000 EXC={exc}\r\n"
    ).encode()


#: (SpO2, pulse, PI, quality) of each line of rad8-session.txt, written independently of the driver.
EXPECTED_SESSION = [
    (97.0, 72.0, 2.15, Quality.VALID),
    (96.0, 74.0, 1.98, Quality.VALID),
    (95.0, 81.0, 0.31, Quality.LOW_PERFUSION),  # EXC 804: low perfusion + SET
    (94.0, 88.0, 1.10, Quality.ARTIFACT),  # EXC C00: low signal IQ + SET
    (None, None, None, Quality.PROBE_OFF),  # EXC 028: sensor off + pulse search
    (None, None, None, Quality.PROBE_OFF),  # EXC 001: no sensor
    (None, None, None, Quality.SEARCHING),  # EXC 008: pulse search
    (93.0, 118.0, 0.72, Quality.VALID),  # Rad-7 variant: 7-digit EXC, EXC1, PI without %
    (99.0, 65.0, 5.40, Quality.VALID),  # Radical short form: 3-digit EXC, 2-digit ALARM
]


@pytest.mark.req("MON-1")
@pytest.mark.req("MON-6")
def test_fixture_session_decodes_every_line_exactly() -> None:
    driver = MasimoAsciiDriver("rad8-bed1")
    result = driver.feed(FIXTURE.read_bytes(), STAMP)
    assert result.frames == len(EXPECTED_SESSION)
    assert result.rejections == ()
    assert values(result, VitalKind.SPO2) == [e[0] for e in EXPECTED_SESSION]
    assert values(result, VitalKind.PULSE_RATE) == [e[1] for e in EXPECTED_SESSION]
    assert values(result, VitalKind.PERFUSION_INDEX) == pytest.approx([e[2] for e in EXPECTED_SESSION])
    for kind in (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.PERFUSION_INDEX):
        assert qualities(result, kind) == [e[3] for e in EXPECTED_SESSION]
    times = [o.measured_at for o in result.observations if o.kind is VitalKind.SPO2]
    assert times == [datetime(2026, 11, 23, 9, 0, s, tzinfo=UTC) for s in range(9)]
    assert {o.source for o in result.observations} == {"rad8-bed1"}
    assert {o.received_at for o in result.observations} == {STAMP.wall}
    assert {o.unit for o in result.observations} == {"%", "/min"}
    assert driver.counters.frames_ok == 9
    assert driver.counters.frames_rejected == 0


@pytest.mark.req("MON-6")
def test_fixture_in_one_piece_and_byte_by_byte_give_identical_results() -> None:
    data = FIXTURE.read_bytes()
    whole = MasimoAsciiDriver("m").feed(data, STAMP)
    assert feed_bytewise(MasimoAsciiDriver("m"), data) == whole


@settings(max_examples=60, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=40))
def test_any_chunking_gives_the_same_result(cuts: list[int]) -> None:
    data = b"\x00junk\r" + FIXTURE.read_bytes() + b"SPO2=1" * 100 + b"\n" + line()
    whole = MasimoAsciiDriver("m").feed(data, STAMP)
    driver = MasimoAsciiDriver("m")
    total = DecodeResult()
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(bounds):
        total = total + driver.feed(data[start:end], STAMP)
    assert total == whole
    assert whole.frames == 10


#: What each EXC bit must mean, written from the manual's list, independently of EXCEPTION_BITS.
EXPECTED_BIT_QUALITY = {
    0x001: Quality.PROBE_OFF,  # no sensor
    0x002: Quality.PROBE_OFF,  # defective sensor
    0x004: Quality.LOW_PERFUSION,
    0x008: Quality.SEARCHING,  # pulse search
    0x010: Quality.ARTIFACT,  # interference
    0x020: Quality.PROBE_OFF,  # sensor off patient
    0x040: Quality.ARTIFACT,  # ambient light
    0x080: Quality.PROBE_OFF,  # unrecognized sensor
    0x400: Quality.ARTIFACT,  # low signal IQ
    0x800: Quality.VALID,  # Masimo SET running
}


def test_exception_table_has_exactly_the_documented_bits() -> None:
    assert set(EXCEPTION_BITS) == set(EXPECTED_BIT_QUALITY)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("mask", sorted(EXPECTED_BIT_QUALITY))
def test_each_exception_bit_sets_its_quality_on_every_value(mask: int) -> None:
    result = MasimoAsciiDriver("m").feed(line(exc=f"{mask:06X}"), STAMP)
    expected = EXPECTED_BIT_QUALITY[mask]
    assert [o.quality for o in result.observations] == [expected] * 3
    assert EXCEPTION_BITS[mask].name in result.observations[0].detail
    assert exception_names(mask) == (EXCEPTION_BITS[mask].name,)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (0x000, Quality.VALID),
        (0x820, Quality.PROBE_OFF),  # manual sample: OffPat,SET
        (0x828, Quality.PROBE_OFF),  # manual sample: Search,OffPat,SET -> probe off wins
        (0xC00, Quality.ARTIFACT),  # manual sample: LowSigIQ,SET
        (0x80C, Quality.SEARCHING),  # search beats low perfusion
        (0x414, Quality.LOW_PERFUSION),  # low perfusion beats interference / low SIQ
        (0x300, Quality.VALID),  # reserved bits alone do not invent a problem
    ],
)
def test_combined_exception_bits_take_the_most_serious_quality(exc: int, expected: Quality) -> None:
    assert exception_quality(exc) is expected


@pytest.mark.req("MON-6")
def test_dashes_are_no_number_never_zero() -> None:
    result = MasimoAsciiDriver("m").feed(line(exc="000000", spo2="---%", bpm="---", pi="--.--%"), STAMP)
    assert [o.value for o in result.observations] == [None, None, None]
    # Nothing flagged, yet no number: not trustworthy either.
    assert [o.quality for o in result.observations] == [Quality.UNKNOWN] * 3
    assert not any(o.is_valid for o in result.observations)


def test_rad8_no_sensor_line_with_bpm_percent_sign() -> None:
    reading = parse_masimo_line(
        b"03/19/16 13:37:12 SN=0000093112 SPO2=---% BPM=---% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000001"
    )
    assert (reading.spo2, reading.pulse_rate, reading.perfusion_index) == (None, None, None)
    assert reading.quality is Quality.PROBE_OFF
    assert reading.serial_number == "0000093112"
    assert reading.other == (("DESAT", "--"), ("PIDELTA", "+--"))


def test_rad7_fields_are_kept_raw() -> None:
    reading = parse_masimo_line(
        b"11/23/26 09:00:07 SN=---------- SPO2=093% BPM=118 PI=00.72 SPCO=--% SPMET=--.-% SPHB=--.- "
        b"PVI=014 ALARM=000000 EXC=0000C00 EXC1=00000010"
    )
    assert reading.serial_number is None
    assert reading.perfusion_index == pytest.approx(0.72)
    assert reading.exceptions == 0xC00
    assert reading.exceptions1 == 0x10
    assert reading.alarm == 0
    assert dict(reading.other)["PVI"] == "014"
    assert reading.device_time == datetime(2026, 11, 23, 9, 0, 7)


def test_trend_output_zeros_while_off_patient_are_no_number() -> None:
    off = parse_masimo_line(b"07/21/04 09:56:08 SpO2=000 PR=000 PI=00.00 EXC=820:OffPat,SET")
    assert (off.spo2, off.pulse_rate, off.perfusion_index) == (None, None, None)
    assert off.quality is Quality.PROBE_OFF
    ok = parse_masimo_line(b"07/21/04 09:56:12 SpO2=097 PR=069 PI=04.69 EXC=800:SET")
    assert (ok.spo2, ok.pulse_rate) == (97.0, 69.0)
    assert ok.perfusion_index == pytest.approx(4.69)
    assert ok.quality is Quality.VALID


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("terminator", [b"\r\n", b"\n\r", b"\n", b"\r"])
def test_either_terminator_order_gives_one_line_each(terminator: bytes) -> None:
    data = line().rstrip(b"\r\n") + terminator
    result = MasimoAsciiDriver("m").feed(data * 3, STAMP)
    assert result.frames == 3
    assert result.rejections == ()


@pytest.mark.req("MON-6")
def test_device_time_is_read_in_the_device_zone_and_stored_as_utc() -> None:
    driver = MasimoAsciiDriver("m", device_tz=ZoneInfo("America/Chicago"))
    result = driver.feed(line(), STAMP)
    # 09:00 in Chicago on 23 Nov (CST, UTC-6) is 15:00 UTC.
    assert result.observations[0].measured_at == datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    fixed = MasimoAsciiDriver("m", device_tz=timezone(timedelta(hours=2))).feed(line(), STAMP)
    assert fixed.observations[0].measured_at == datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@pytest.mark.req("MON-6")
def test_a_line_without_date_is_timed_by_arrival() -> None:
    result = MasimoAsciiDriver("m").feed(b"SPO2=098% BPM=061 PI=03.00% ALARM=0000 EXC=000800\r\n", STAMP)
    assert result.frames == 1
    assert {o.measured_at for o in result.observations} == {STAMP.wall}
    assert values(result, VitalKind.SPO2) == [98.0]


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        (b"hello world", "not KEY=VALUE"),
        (b"11/23/26 09:00:00 SPO2=9x% BPM=072 EXC=000800", "SPO2 value '9x%'"),
        (b"11/23/26 09:00:00 SPO2=097% BPM=072 PI=02.15%", "no EXC= field"),
        (b"11/23/26 09:00:00 BPM=072 EXC=000800", "no SPO2= field"),
        (b"11/23/26 09:00:00 SPO2=097% EXC=000800", "no BPM= field"),
        (b"13/40/26 09:00:00 SPO2=097% BPM=072 EXC=000800", "does not exist"),
        (b"11/23/26 9h00 SPO2=097% BPM=072 EXC=000800", "not MM/DD/YY HH:MM:SS"),
        (b"11/23/26 09:00:00 SPO2=097% BPM=072 EXC=00G800", "EXC value '00G800' is not hexadecimal"),
        (b"11/23/26 09:00:00 SPO2=097% SPO2=096% BPM=072 EXC=000800", "SPO2 appears twice"),
        (b"11/23/26 09:00:00 SPO2=101% BPM=072 EXC=000800", "above 100"),
        (b"11/23/26 09:00:00 SPO2=\xe9\xe9% BPM=072 EXC=000800", "not ASCII"),
    ],
)
def test_bad_lines_are_rejected_with_a_specific_reason(bad: bytes, reason: str) -> None:
    with pytest.raises(MasimoLineError, match=reason):
        parse_masimo_line(bad)
    driver = MasimoAsciiDriver("m")
    result = driver.feed(bad + b"\r\n" + line(), STAMP)
    assert len(result.rejections) == 1
    assert reason in result.rejections[0].reason
    assert result.rejections[0].raw == bad
    assert result.frames == 1  # the good line after it still decodes
    assert driver.counters.frames_rejected == 1
    assert driver.counters.last_rejection == result.rejections[0].reason


def test_garbage_without_line_end_is_bounded_and_rejected_once() -> None:
    driver = MasimoAsciiDriver("m")
    rejected = 0
    for _ in range(200):
        rejected += len(driver.feed(b"A" * 1000, STAMP).rejections)
        assert driver._framer.pending <= MAX_LINE
    after = driver.feed(b"\r\n" + line(), STAMP)
    assert rejected + len(after.rejections) == 1
    assert after.frames == 1
    assert driver.counters.bytes_discarded == 200_000


def test_cannot_start_nibp() -> None:
    driver: DeviceDriver = MasimoAsciiDriver("m")
    assert driver.can_start_nibp is False
    assert driver.start_nibp_command() is None
    assert driver.protocol == "masimo-ascii"
    assert driver.line_settings is not None
    assert (driver.line_settings.baudrate, driver.line_settings.bytesize) == (9600, 8)
    assert (driver.line_settings.parity, driver.line_settings.stopbits) == ("N", 1)
