"""SunTech Advantage driver: documented command bytes, result decoding, cuff errors, resync."""

from __future__ import annotations

import pytest

from drivers.clock import FakeClock
from drivers.registry import make_driver
from drivers.suntech import (
    ERROR_CODES,
    BpData,
    ModuleAck,
    SuntechAdvantageDriver,
    ack_frame,
    checksum,
    error_text,
    host_command,
    module_frame,
)
from drivers.types import DecodeResult, LineSettings, Quality, VitalKind

# A complete BP data frame as printed, field by field, in a public host's test of this module
# (package com.ak.comm.bytes.suntech, NIBPConverterTest): 115/74 mmHg, MAP 88, HR 85, 30 beats,
# status 1, test codes 00 00 00 00 00 00 31 07, checksum 0xE9.
PUBLISHED_RESULT = bytes.fromhex("3e18 7300 4a00 1e 01 0000000000003107 55 00 5800 00 0000 e9")
# Its cuff-pressure example: 258 mmHg.
PUBLISHED_CUFF_PRESSURE = bytes.fromhex("3e05 0201 ba")

NIBP = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)


def values(result: DecodeResult) -> dict[VitalKind, float | None]:
    return {o.kind: o.value for o in result.observations}


@pytest.fixture
def driver() -> SuntechAdvantageDriver:
    return SuntechAdvantageDriver("nibp-1")


@pytest.mark.req("MON-3")
def test_commands_are_the_documented_bytes(driver: SuntechAdvantageDriver) -> None:
    assert driver.start_nibp_command() == bytes.fromhex("3a20a6")
    assert driver.request_result_command() == bytes.fromhex("3a7903004a")
    assert driver.cuff_pressure_command() == bytes.fromhex("3a79050048")
    assert driver.abort_command() == bytes.fromhex("3a7901004c")
    assert driver.can_start_nibp is True
    assert driver.line_settings == LineSettings(9600, 8, "N", 1)


def test_checksum_makes_every_frame_sum_to_zero() -> None:
    frames = (host_command(b"\x20"), module_frame(b"O"), PUBLISHED_RESULT, BpData(200, 120, 150, 99).encode())
    for frame in frames:
        assert sum(frame) & 0xFF == 0
    assert checksum(b"\x3a\x20") == 0xA6


def test_registry_builds_this_driver() -> None:
    built = make_driver("suntech-advantage", "nibp-9")
    assert isinstance(built, SuntechAdvantageDriver) and built.source == "nibp-9"


@pytest.mark.req("MON-6")
def test_published_result_frame_decodes_to_its_values(
    driver: SuntechAdvantageDriver, clock: FakeClock
) -> None:
    result = driver.feed(PUBLISHED_RESULT, clock.stamp())
    assert values(result) == {
        VitalKind.NIBP_SYSTOLIC: 115.0,
        VitalKind.NIBP_DIASTOLIC: 74.0,
        VitalKind.NIBP_MEAN: 88.0,
        VitalKind.PULSE_RATE: 85.0,
    }
    for obs in result.observations:
        assert obs.quality is Quality.VALID and obs.source == "nibp-1"
        assert obs.measured_at == clock.now() and obs.received_mono == clock.monotonic()
        assert obs.unit == ("/min" if obs.kind is VitalKind.PULSE_RATE else "mm[Hg]")
    assert result.frames == 1 and driver.counters.frames_ok == 1


def test_published_frame_fields_round_trip_through_the_encoder() -> None:
    from drivers.suntech import parse_bp_data

    parsed = parse_bp_data(PUBLISHED_RESULT)
    assert parsed == BpData(
        systolic=115,
        diastolic=74,
        mean=88,
        heart_rate=85,
        error_code=0,
        heart_beats=30,
        bp_status=1,
        test_codes=bytes.fromhex("0000000000003107"),
    )
    assert parsed.encode() == PUBLISHED_RESULT


def test_cuff_pressure_frame_updates_the_gauge_without_observations(
    driver: SuntechAdvantageDriver, clock: FakeClock
) -> None:
    result = driver.feed(PUBLISHED_CUFF_PRESSURE, clock.stamp())
    assert result.observations == () and result.frames == 1
    assert driver.cuff_pressure == 258


def test_one_byte_at_a_time_equals_all_at_once(clock: FakeClock) -> None:
    stream = b"\x00garbage" + ack_frame(ModuleAck.RECEIVED) + PUBLISHED_CUFF_PRESSURE + PUBLISHED_RESULT
    whole = SuntechAdvantageDriver("a").feed(stream, clock.stamp())
    byte_driver = SuntechAdvantageDriver("a")
    pieces = DecodeResult()
    for b in stream:
        pieces += byte_driver.feed(bytes([b]), clock.stamp())
    assert pieces == whole
    assert values(whole)[VitalKind.NIBP_SYSTOLIC] == 115.0
    assert byte_driver.counters.bytes_discarded == len(b"\x00garbage")


@pytest.mark.req("MON-6")
def test_bad_checksum_is_counted_and_skipped_then_the_next_frame_decodes(
    driver: SuntechAdvantageDriver, clock: FakeClock
) -> None:
    corrupt = bytearray(PUBLISHED_RESULT)
    corrupt[2] ^= 0x10  # systolic changed in transit
    good = BpData(130, 85, 100, 70).encode()
    result = driver.feed(bytes(corrupt) + good, clock.stamp())
    assert values(result)[VitalKind.NIBP_SYSTOLIC] == 130.0
    assert len(result.observations) == 4
    assert len(result.rejections) == 1 and "checksum" in result.rejections[0].reason
    assert driver.counters.frames_rejected == 1 and driver.counters.frames_ok == 1


def test_a_stray_start_byte_does_not_hold_back_a_complete_frame(
    driver: SuntechAdvantageDriver, clock: FakeClock
) -> None:
    # '>' followed by a plausible length of 60 would wait for 60 bytes; the real frame is already here.
    result = driver.feed(b">\x3c" + PUBLISHED_RESULT, clock.stamp())
    assert values(result)[VitalKind.NIBP_MEAN] == 88.0


def test_impossible_length_bytes_are_discarded(driver: SuntechAdvantageDriver, clock: FakeClock) -> None:
    result = driver.feed(b">\x00>\xff>\x02" + ack_frame(ModuleAck.BUSY), clock.stamp())
    assert result.frames == 1 and driver.last_ack is ModuleAck.BUSY
    assert driver.counters.frames_rejected == 0


@pytest.mark.req("MON-3")
def test_cycle_finished_ack_asks_for_the_result(driver: SuntechAdvantageDriver, clock: FakeClock) -> None:
    assert driver.feed(ack_frame(ModuleAck.RECEIVED), clock.stamp()).replies == ()
    finished = driver.feed(ack_frame(ModuleAck.EXECUTED), clock.stamp())
    assert finished.replies == (driver.request_result_command(),)


@pytest.mark.req("MON-3")
def test_aborted_cycle_has_nothing_to_fetch(driver: SuntechAdvantageDriver, clock: FakeClock) -> None:
    result = driver.feed(ack_frame(ModuleAck.ABORTED) + ack_frame(ModuleAck.EXECUTED), clock.stamp())
    assert result.replies == ()
    # The next normal cycle is fetched again.
    again = driver.feed(ack_frame(ModuleAck.EXECUTED), clock.stamp())
    assert again.replies == (driver.request_result_command(),)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("code", sorted(ERROR_CODES))
def test_every_module_error_code_is_a_cuff_error_with_its_reason(
    code: int, driver: SuntechAdvantageDriver, clock: FakeClock
) -> None:
    frame = BpData(0, 0, 0, 0, error_code=code).encode()
    result = driver.feed(frame, clock.stamp())
    assert [o.kind for o in result.observations] == list(NIBP)
    for obs in result.observations:
        assert obs.value is None and obs.quality is Quality.CUFF_ERROR and not obs.is_valid
        assert ERROR_CODES[code] in obs.detail and f"0x{code:02X}" in obs.detail


@pytest.mark.req("MON-6")
def test_failed_cycle_values_are_never_valid_even_if_numbers_were_sent(
    driver: SuntechAdvantageDriver, clock: FakeClock
) -> None:
    frame = BpData(180, 110, 130, 90, error_code=0x02).encode()
    result = driver.feed(frame, clock.stamp())
    assert all(o.value is None and o.quality is Quality.CUFF_ERROR for o in result.observations)
    assert "motion artifact" in result.observations[0].detail
    assert VitalKind.PULSE_RATE not in values(result)


def test_error_table_holds_the_documented_codes() -> None:
    # The manual's table is decimal: 1-4 signal/range/time, 85-91, 97 and 99 pneumatic and hardware.
    assert set(ERROR_CODES) == {1, 2, 3, 4, 85, 86, 87, 88, 89, 90, 91, 97, 99}
    assert "blockage" in ERROR_CODES[85] and "loose cuff" in ERROR_CODES[87]
    assert "overpressure" in ERROR_CODES[89] and "motion" in ERROR_CODES[2]
    assert "unknown" in error_text(0x7F) and "0x7F" in error_text(0x7F)


@pytest.mark.req("MON-6")
def test_unknown_error_code_is_still_a_cuff_error(driver: SuntechAdvantageDriver, clock: FakeClock) -> None:
    result = driver.feed(BpData(0, 0, 0, 0, error_code=0x7F).encode(), clock.stamp())
    assert {o.quality for o in result.observations} == {Quality.CUFF_ERROR}
    assert "unknown module error" in result.observations[0].detail


def test_no_stored_measurement_gives_no_observations(
    driver: SuntechAdvantageDriver, clock: FakeClock
) -> None:
    result = driver.feed(BpData(0, 0, 0, 0).encode(), clock.stamp())
    assert result.observations == () and result.frames == 1


def test_zero_heart_rate_gives_no_pulse_observation(driver: SuntechAdvantageDriver, clock: FakeClock) -> None:
    result = driver.feed(BpData(120, 80, 93, 0).encode(), clock.stamp())
    assert set(values(result)) == set(NIBP)


def test_module_frame_refuses_oversized_data() -> None:
    with pytest.raises(ValueError, match="67"):
        module_frame(bytes(65))
