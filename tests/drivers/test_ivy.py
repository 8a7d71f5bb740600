"""Ivy 450C ANSAR-B driver against the real OpenICE capture, plus edge cases (MON-1, MON-4, MON-6)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ivy import (
    ALARM_QUALITY,
    MAX_TEXT,
    TEXT_OFFSET,
    AnsarFrameError,
    AnsarFramer,
    AnsarParameter,
    IvyAnsarDriver,
    IvyNibp,
    alarm_quality,
    parse_ansar_frame,
)
from drivers.types import DecodeResult, DeviceDriver, Quality, Stamp, VitalKind

STAMP = Stamp(wall=datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC), mono=1000.0)
CAPTURE = Path(__file__).parent.parent / "fixtures" / "ivy" / "ivy450c-ansar-b.bin"
FRAME_LENGTH = 562
FIRST_FRAME = 252
#: Frame indexes in the capture whose P1 line reads 110 instead of 111 (found by reading the dump).
P1_110_FRAMES = {8, 9, 13, 18, 20}


def capture() -> bytes:
    return CAPTURE.read_bytes()


def text_of(*lines: str) -> bytes:
    return "".join(line + "\r" for line in lines).encode()


def frame(*lines: str, waveform: bytes = bytes([0x80]) * 400) -> bytes:
    return b"\xffANSAR-B " + waveform + text_of(*lines) + b"\xfe"


def vitals(hr: str = "80", spo2: str = "100", pr: str = "80 ", nibp: str = "121;75;92;80;;") -> bytes:
    return frame(f"HR=1;{hr};ECG-II-DIAG;", f"SPO2=1;{spo2};PR={pr};", f"NIBP=4;{nibp}")


def feed_bytewise(driver: IvyAnsarDriver, data: bytes) -> DecodeResult:
    total = DecodeResult()
    for i in range(len(data)):
        total = total + driver.feed(data[i : i + 1], STAMP)
    return total


def of_kind(result: DecodeResult, kind: VitalKind) -> list[float | None]:
    return [o.value for o in result.observations if o.kind is kind]


@pytest.mark.req("MON-1")
@pytest.mark.req("MON-4")
def test_frame_at_offset_252_decodes_exactly() -> None:
    data = capture()
    assert data[FIRST_FRAME] == 0xFF and data[813] == 0xFE
    parsed = parse_ansar_frame(data[FIRST_FRAME:814])
    assert parsed.heart_rate == 80
    assert parsed.ecg_label == "ECG-II-DIAG"
    assert parsed.spo2 == 100
    assert parsed.pulse_rate == 80
    assert parsed.nibp == IvyNibp(systolic=121, diastolic=75, mean=92, pulse_rate=80)
    assert len(parsed.waveform) == 400
    assert parsed.waveform[-50:] == bytes([0xFB]) * 50  # P2 has no transducer: filler
    # Everything else is kept raw, as the device sent it.
    assert parsed.parameter("RR") == AnsarParameter("RR", 1, ("35",), "APNEA: 20 SEC", "")
    assert parsed.parameter("ETCO2") == AnsarParameter("ETCO2", 1, ("",), "", "")
    assert parsed.parameter("P1") == AnsarParameter("P1", 3, ("111", "73", "88"), "", "")
    assert parsed.parameter("P2") == AnsarParameter("P2", 3, ("", "", ""), "NO TRANSDUCER", "")
    assert parsed.parameter("T1") == AnsarParameter("T1", 1, ("",), "", "")
    assert parsed.parameter("T2") == AnsarParameter("T2", 1, ("",), "", "")
    assert parsed.parameter("NIBP") == AnsarParameter("NIBP", 4, ("121", "75", "92", "80"), "", "")
    names = [p.name for p in parsed.parameters]
    assert names == ["HR", "RR", "ETCO2", "SPO2", "NIBP", "P1", "P2", "T1", "T2"]


@pytest.mark.req("MON-1")
@pytest.mark.req("MON-4")
@pytest.mark.req("MON-6")
def test_whole_capture_every_frame_and_one_nibp_reading() -> None:
    data = capture()
    driver = IvyAnsarDriver("ivy-bed3")
    result = driver.feed(data, STAMP)
    assert result.frames == 27
    assert result.rejections == ()
    # The capture starts mid-frame: the 252 bytes before the first start byte are skipped.
    assert driver.counters.bytes_discarded == FIRST_FRAME
    assert driver.counters.frames_ok == 27
    assert of_kind(result, VitalKind.HEART_RATE) == [80.0] * 27
    assert of_kind(result, VitalKind.SPO2) == [100.0] * 27
    assert of_kind(result, VitalKind.PULSE_RATE) == [80.0] * 27
    # NIBP never changes in the capture: one reading, not 27.
    assert of_kind(result, VitalKind.NIBP_SYSTOLIC) == [121.0]
    assert of_kind(result, VitalKind.NIBP_DIASTOLIC) == [75.0]
    assert of_kind(result, VitalKind.NIBP_MEAN) == [92.0]
    assert {o.quality for o in result.observations} == {Quality.VALID}
    assert {o.source for o in result.observations} == {"ivy-bed3"}
    assert {o.measured_at for o in result.observations} == {STAMP.wall}  # the frame carries no clock
    units = {o.kind: o.unit for o in result.observations}
    assert units[VitalKind.NIBP_SYSTOLIC] == "mm[Hg]" and units[VitalKind.HEART_RATE] == "/min"


def test_every_frame_of_the_capture_listed() -> None:
    data = capture()
    starts = [FIRST_FRAME + FRAME_LENGTH * k for k in range(27)]
    assert starts[-1] + FRAME_LENGTH == len(data)
    for index, start in enumerate(starts):
        parsed = parse_ansar_frame(data[start : start + FRAME_LENGTH])
        p1 = parsed.parameter("P1")
        assert p1 is not None
        observed = (parsed.heart_rate, parsed.spo2, parsed.pulse_rate, parsed.nibp, p1.values)
        expected_p1 = ("110" if index in P1_110_FRAMES else "111", "73", "88")
        assert observed == (80, 100, 80, IvyNibp(121, 75, 92, 80), expected_p1), f"frame {index}"


@pytest.mark.req("MON-6")
def test_capture_in_one_piece_and_byte_by_byte_are_identical() -> None:
    data = capture()
    whole_driver, bytewise_driver = IvyAnsarDriver("ivy"), IvyAnsarDriver("ivy")
    whole = whole_driver.feed(data, STAMP)
    assert feed_bytewise(bytewise_driver, data) == whole
    assert whole_driver.counters == bytewise_driver.counters


@settings(max_examples=40, deadline=None)
@given(cuts=st.lists(st.integers(min_value=0, max_value=16_000), max_size=30))
def test_any_chunking_gives_the_same_result(cuts: list[int]) -> None:
    data = capture()[:3000] + b"\xff\xff" + vitals(nibp="130;80;97;70;;") + capture()[5000:]
    whole = IvyAnsarDriver("ivy").feed(data, STAMP)
    driver = IvyAnsarDriver("ivy")
    total = DecodeResult()
    bounds = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for start, end in itertools.pairwise(bounds):
        total = total + driver.feed(data[start:end], STAMP)
    assert total == whole


@pytest.mark.req("MON-6")
def test_nibp_is_a_new_reading_only_when_it_changes() -> None:
    driver = IvyAnsarDriver("ivy")
    same = vitals(nibp="121;75;92;80;;")
    first = driver.feed(same + same + same, STAMP)
    assert of_kind(first, VitalKind.NIBP_SYSTOLIC) == [121.0]
    assert of_kind(first, VitalKind.HEART_RATE) == [80.0] * 3  # HR/SpO2/PR every frame
    changed = driver.feed(vitals(nibp="150;95;113;88;;") * 2, STAMP)
    assert of_kind(changed, VitalKind.NIBP_SYSTOLIC) == [150.0]
    assert of_kind(changed, VitalKind.NIBP_DIASTOLIC) == [95.0]
    assert of_kind(changed, VitalKind.NIBP_MEAN) == [113.0]
    # Only the NIBP pulse differs: still a different reading shown by the device.
    pulse_only = driver.feed(vitals(nibp="150;95;113;90;;"), STAMP)
    assert of_kind(pulse_only, VitalKind.NIBP_SYSTOLIC) == [150.0]
    back = driver.feed(same, STAMP)
    assert of_kind(back, VitalKind.NIBP_SYSTOLIC) == [121.0]


@pytest.mark.req("MON-6")
def test_nibp_error_is_one_cuff_error_reading() -> None:
    driver = IvyAnsarDriver("ivy")
    failed = vitals(nibp=";;;;;CUFF LEAK")
    result = driver.feed(failed * 3, STAMP)
    nibp = [o for o in result.observations if o.kind.is_nibp]
    assert [(o.kind, o.value, o.quality, o.detail) for o in nibp] == [
        (VitalKind.NIBP_SYSTOLIC, None, Quality.CUFF_ERROR, "CUFF LEAK"),
        (VitalKind.NIBP_DIASTOLIC, None, Quality.CUFF_ERROR, "CUFF LEAK"),
        (VitalKind.NIBP_MEAN, None, Quality.CUFF_ERROR, "CUFF LEAK"),
    ]


def test_no_nibp_yet_gives_no_nibp_observation() -> None:
    result = IvyAnsarDriver("ivy").feed(vitals(nibp=";;;;;"), STAMP)
    assert not any(o.kind.is_nibp for o in result.observations)
    assert of_kind(result, VitalKind.SPO2) == [100.0]


@pytest.mark.req("MON-6")
def test_empty_values_are_no_number() -> None:
    result = IvyAnsarDriver("ivy").feed(vitals(hr="", spo2="", pr="---"), STAMP)
    assert of_kind(result, VitalKind.HEART_RATE) == [None]
    assert of_kind(result, VitalKind.SPO2) == [None]
    assert of_kind(result, VitalKind.PULSE_RATE) == [None]
    assert {o.quality for o in result.observations if not o.kind.is_nibp} == {Quality.UNKNOWN}


#: Each alarm-table text and the quality it must give (written independently of ALARM_QUALITY).
EXPECTED_ALARM_QUALITY = {
    "PROBE OFF": Quality.PROBE_OFF,
    "NO SENSOR": Quality.PROBE_OFF,
    "SENSOR OFF": Quality.PROBE_OFF,
    "LEADS OFF": Quality.PROBE_OFF,
    "LEAD OFF": Quality.PROBE_OFF,
    "SEARCH": Quality.SEARCHING,
    "LOW PERF": Quality.LOW_PERFUSION,
    "ARTIFACT": Quality.ARTIFACT,
    "NOISE": Quality.ARTIFACT,
}


def test_alarm_table_is_exactly_the_tested_one() -> None:
    assert ALARM_QUALITY == EXPECTED_ALARM_QUALITY


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(("text", "quality"), sorted(EXPECTED_ALARM_QUALITY.items()))
def test_each_alarm_text_sets_the_oximeter_quality(text: str, quality: Quality) -> None:
    data = frame("HR=1;80;ECG-II;", f"SPO2=1;97;PR=80 ;SPO2 {text}")
    result = IvyAnsarDriver("ivy").feed(data, STAMP)
    spo2 = [o for o in result.observations if o.kind in (VitalKind.SPO2, VitalKind.PULSE_RATE)]
    assert [o.quality for o in spo2] == [quality, quality]
    assert spo2[0].detail == f"SPO2 {text}"
    heart = [o for o in result.observations if o.kind is VitalKind.HEART_RATE]
    assert heart[0].quality is Quality.VALID


def test_a_physiological_alarm_does_not_invalidate_the_value() -> None:
    assert alarm_quality("HR HIGH") is Quality.VALID
    assert alarm_quality("") is Quality.VALID
    assert alarm_quality("spo2 probe off") is Quality.PROBE_OFF


@pytest.mark.parametrize(
    ("lines", "reason"),
    [
        (("HR=1;80;",), "too few fields"),
        (("HR=x;80;;",), "does not start with NAME=count"),
        (("HR=1;8O;ECG;",), "HR value '8O' is not a whole number"),
        (("SPO2=1;101;PR=80 ;",), "above 100"),
        (("NIBP=2;120;80;;",), "needs at least 3"),
        (("HR=1;80;;", "HR=1;81;;"), "appears twice"),
    ],
)
def test_grammar_errors_reject_the_whole_frame(lines: tuple[str, ...], reason: str) -> None:
    bad = frame(*lines)
    with pytest.raises(AnsarFrameError, match=reason):
        parse_ansar_frame(bad)
    driver = IvyAnsarDriver("ivy")
    result = driver.feed(bad + vitals(), STAMP)
    assert result.frames == 1
    assert len(result.rejections) == 1 and reason in result.rejections[0].reason
    assert driver.counters.frames_rejected == 1
    assert of_kind(result, VitalKind.HEART_RATE) == [80.0]


def test_text_without_final_cr_and_non_ascii_are_rejected() -> None:
    with pytest.raises(AnsarFrameError, match="no CR"):
        parse_ansar_frame(b"\xffANSAR-B " + bytes(400) + b"HR=1;80;;" + b"\xfe")
    with pytest.raises(AnsarFrameError, match="not ASCII"):
        parse_ansar_frame(b"\xffANSAR-B " + bytes(400) + b"HR=1;\xe980;;\r" + b"\xfe")


def test_end_byte_inside_the_waveform_does_not_end_the_frame() -> None:
    waveform = bytes([0xFE, 0x10]) * 200
    result = IvyAnsarDriver("ivy").feed(frame("HR=1;66;ECG-II;", waveform=waveform), STAMP)
    assert result.frames == 1
    assert of_kind(result, VitalKind.HEART_RATE) == [66.0]


def test_a_frame_cut_short_by_a_new_start_is_rejected_and_the_next_decodes() -> None:
    truncated = vitals()[: TEXT_OFFSET + 20]
    driver = IvyAnsarDriver("ivy")
    result = driver.feed(truncated + vitals(hr="90"), STAMP)
    assert [r.reason for r in result.rejections] == ["frame cut short by a new frame start"]
    assert of_kind(result, VitalKind.HEART_RATE) == [90.0]


def test_a_frame_without_end_is_bounded_and_rejected_once() -> None:
    driver = IvyAnsarDriver("ivy")
    rejections = 0
    rejections += len(driver.feed(b"\xffANSAR-B " + bytes(400), STAMP).rejections)
    for _ in range(100):
        rejections += len(driver.feed(b"A" * 1000, STAMP).rejections)
        assert driver._framer.pending <= TEXT_OFFSET + MAX_TEXT + 1
    assert rejections == 1
    assert driver.feed(vitals(), STAMP).frames == 1


def test_framer_waits_on_a_partial_header_and_skips_a_stray_start_byte() -> None:
    framer = AnsarFramer()
    assert framer.feed(b"\xffANS") == []
    assert framer.pending == 4
    assert framer.feed(b"X") == []  # "\xffANSX" is not a header: the 0xFF was stray
    assert framer.pending == 0
    assert framer.bytes_discarded == 5


def test_cannot_start_nibp() -> None:
    driver: DeviceDriver = IvyAnsarDriver("ivy")
    assert driver.can_start_nibp is False
    assert driver.start_nibp_command() is None
    assert driver.protocol == "ivy-ansar"
    assert driver.line_settings is not None and driver.line_settings.baudrate == 9600
