"""HL7 v2 ORU^R01 (IHE PCD-01) driver against the IPF sample messages and hand-made edge cases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.clock import FakeClock
from drivers.hl7_pcd01 import (
    Hl7DateTimeError,
    Hl7Limits,
    Hl7Pcd01Driver,
    escape_hl7,
    format_hl7_datetime,
    parse_hl7_datetime,
)
from drivers.mllp import frame
from drivers.types import DecodeResult, DeviceDriver, Observation, Quality, VitalKind

IPF = Path(__file__).parent.parent / "fixtures" / "hl7" / "ipf"
VALID_ORU = [
    "valid-bp-continua-wan.hl7v2",
    "valid-fitness-and-activity-continua-wan.hl7v2",
    "valid-fitness-continua-wan.hl7v2",
    "valid-glucose-continua-wan.hl7v2",
    "valid-oximeter-continua-wan.hl7v2",
    "valid-pcd01-MaximumRequest2.hl7",
    "valid-pcd01-request.hl7v2",
    "valid-pcd01-request2.hl7v2",
    "valid-scale-continua-wan.hl7v2",
    "valid-thermometer-continua-wan.hl7v2",
]
NOT_RESULTS = [  # valid HL7, but acknowledgements, not results: a PCD-01 receiver refuses them
    "valid-pcd01-response.hl7v2",
    "valid-pcd01-response2.hl7v2",
    "valid-wan-response.hl7v2",
    "invalid-wan-response.hl7v2",
]
EUI = "0123456789ABCDEF"


def utc(y: int, mo: int, d: int, h: int, mi: int, s: int, offset_h: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, s, tzinfo=timezone(timedelta(hours=offset_h))).astimezone(UTC)


def decode(
    raw: bytes, clock: FakeClock | None = None, source: str = "gw"
) -> tuple[DecodeResult, Hl7Pcd01Driver]:
    driver = Hl7Pcd01Driver(source)
    return driver.feed(frame(raw), (clock or FakeClock()).stamp()), driver


def fixture(name: str) -> bytes:
    return (IPF / name).read_bytes()


def ack_fields(reply: bytes) -> dict[str, list[str]]:
    """Segments of an MLLP-framed ACK by id, checked to be one block that hl7apy can read."""
    assert reply.startswith(b"\x0b") and reply.endswith(b"\x1c\r")
    text = reply[1:-2].decode()
    parse_message(text.strip("\r"), validation_level=VALIDATION_LEVEL.STRICT, find_groups=False)
    out: dict[str, list[str]] = {}
    for seg in text.strip("\r").split("\r"):
        out.setdefault(seg[:3], seg.split("|"))
    return out


def by_kind(result: DecodeResult) -> dict[VitalKind, Observation]:
    kinds = [o.kind for o in result.observations]
    assert len(kinds) == len(set(kinds))
    return {o.kind: o for o in result.observations}


def test_driver_meets_the_device_driver_protocol() -> None:
    driver: DeviceDriver = Hl7Pcd01Driver("gw")
    assert driver.protocol == "hl7-pcd01"
    assert driver.line_settings is None
    assert driver.can_start_nibp is False
    assert driver.start_nibp_command() is None


def test_fixture_files_use_crlf_segment_ends() -> None:
    # The copies keep the IPF files' own line ends; the driver must accept them.
    assert b"\r\n" in fixture("valid-bp-continua-wan.hl7v2")


@pytest.mark.req("MON-6")
def test_continua_bp_gives_120_80_100_at_the_compound_time(clock: FakeClock) -> None:
    result, driver = decode(fixture("valid-bp-continua-wan.hl7v2"), clock)
    obs = by_kind(result)
    assert set(obs) == {VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN}
    assert [
        obs[k].value for k in (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
    ] == [
        120.0,
        80.0,
        100.0,
    ]
    for o in obs.values():
        assert o.unit == "mm[Hg]"
        assert o.measured_at == utc(2009, 8, 13, 9, 57, 15)  # from the MDC_PRESS_BLD_NONINV row (1.0.1)
        assert o.received_at == clock.now()
        assert o.received_mono == clock.monotonic()
        assert o.source == f"gw/{EUI}"  # the MDS row's OBX-18 EUI-64
        assert o.quality is Quality.VALID and o.is_valid
    assert driver.counters.frames_ok == 1 and driver.counters.frames_rejected == 0
    assert ack_fields(result.replies[0])["MSA"][1:3] == ["AA", "MSGID1234"]


@pytest.mark.req("MON-6")
def test_continua_oximeter_gives_its_spo2() -> None:
    result, _ = decode(fixture("valid-oximeter-continua-wan.hl7v2"))
    # The file carries SpO2 and a pleth waveform (NA), no pulse-rate row.
    (spo2,) = result.observations
    assert spo2.kind is VitalKind.SPO2
    assert spo2.value == 80.5
    assert spo2.unit == "%"
    assert spo2.measured_at == utc(2009, 7, 15, 7, 7, 7)
    assert spo2.source == f"gw/{EUI}"
    assert spo2.is_valid


@pytest.mark.req("MON-6")
def test_pcd01_request_times_carry_their_plus_five_hours_offset() -> None:
    result, _ = decode(fixture("valid-pcd01-request.hl7v2"))
    obs = by_kind(result)
    assert obs[VitalKind.NIBP_SYSTOLIC].value == 120.0
    assert obs[VitalKind.NIBP_DIASTOLIC].value == 80.0
    assert obs[VitalKind.NIBP_MEAN].value == 100.0
    for o in obs.values():
        assert o.measured_at == utc(2009, 8, 13, 9, 57, 15, offset_h=5)
        assert o.measured_at == datetime(2009, 8, 13, 4, 57, 15, tzinfo=UTC)
        assert o.source == f"gw/{EUI}"


@pytest.mark.req("MON-4")
def test_pcd01_request2_gives_ecg_heart_rate_and_skips_invasive_pressures() -> None:
    result, _ = decode(fixture("valid-pcd01-request2.hl7v2"))
    (hr,) = result.observations
    assert hr.kind is VitalKind.HEART_RATE
    assert hr.value == 60.0
    assert hr.unit == "/min"
    assert hr.measured_at == datetime(2008, 12, 11, 14, 45, 0, tzinfo=UTC)  # OBR-7, no offset: device tz
    assert hr.source == "gw"  # no OBX-18 anywhere
    assert hr.is_valid
    assert ack_fields(result.replies[0])["MSA"][1:3] == ["AA", "12d15a9:11df9e61347:-7fee:30456965"]


@pytest.mark.req("MON-6")
def test_maximum_request_status_and_flags_decide_quality() -> None:
    result, driver = decode(fixture("valid-pcd01-MaximumRequest2.hl7"))
    obs = by_kind(result)
    sys_, dia, mean = obs[VitalKind.NIBP_SYSTOLIC], obs[VitalKind.NIBP_DIASTOLIC], obs[VitalKind.NIBP_MEAN]
    assert (sys_.value, dia.value, mean.value) == (140.0, 70.0, 100.0)
    assert sys_.quality is Quality.UNKNOWN and "QUES" in sys_.detail  # corrected but questionable
    assert dia.quality is Quality.UNKNOWN and "deleted" in dia.detail  # OBX-11 D
    assert mean.quality is Quality.VALID  # OBX-11 F
    assert not sys_.is_valid and not dia.is_valid and mean.is_valid
    assert sys_.measured_at == dia.measured_at == datetime(2009, 8, 13, 4, 57, 25, tzinfo=UTC)
    assert mean.measured_at == datetime(2009, 8, 13, 4, 57, 15, tzinfo=UTC)  # parent 1.0.1's OBX-14
    assert {o.source for o in obs.values()} == {f"gw/{EUI}"}
    assert driver.counters.frames_ok == 1
    # Echoes the sender and its facility back as receiver.
    msh = ack_fields(result.replies[0])["MSH"]
    assert msh[4] == "AcmeInc^ACDE48234567ABCD^EUI-64" and msh[5] == "SendFac^1.2.3.4^ISO"


@pytest.mark.parametrize(
    "name",
    [
        "valid-fitness-and-activity-continua-wan.hl7v2",
        "valid-fitness-continua-wan.hl7v2",
        "valid-glucose-continua-wan.hl7v2",
        "valid-scale-continua-wan.hl7v2",
        "valid-thermometer-continua-wan.hl7v2",
    ],
)
def test_non_vital_results_are_acknowledged_and_ignored(name: str) -> None:
    result, driver = decode(fixture(name))
    assert result.observations == ()
    assert result.rejections == ()
    assert driver.counters.frames_ok == 1
    assert ack_fields(result.replies[0])["MSA"][1:3] == ["AA", "MSGID1234"]


@pytest.mark.parametrize("name", VALID_ORU)
def test_every_valid_result_is_acked_aa(name: str) -> None:
    result, driver = decode(fixture(name))
    assert len(result.replies) == 1
    assert ack_fields(result.replies[0])["MSA"][1] == "AA"
    assert result.frames == 1 and driver.counters.frames_ok == 1


@pytest.mark.req("MON-6")
def test_invalid_glucose_is_rejected_ae_with_the_reason() -> None:
    result, driver = decode(fixture("invalid-glucose-continua-wan.hl7v2"))
    assert result.observations == ()
    (rejection,) = result.rejections
    assert "OBX 8: OBX-5 has a value but OBX-2 (value type) is empty" in rejection.reason
    assert driver.counters.frames_rejected == 1
    ack = ack_fields(result.replies[0])
    assert ack["MSA"][1:3] == ["AE", "MSGID1234"]
    assert "OBX-2" in ack["MSA"][3]
    assert ack["ERR"][3].startswith("101^")
    assert "OBX 8" in ack["ERR"][8]


@pytest.mark.parametrize("name", NOT_RESULTS)
def test_acknowledgements_are_refused_ar_not_crashed(name: str) -> None:
    result, driver = decode(fixture(name))
    assert result.observations == ()
    assert "not ORU" in result.rejections[0].reason
    ack = ack_fields(result.replies[0])
    assert ack["MSA"][1:3] == ["AR", "AMSGID1234"]
    assert ack["ERR"][3].startswith("200^")
    assert driver.counters.frames_rejected == 1


# --- hand-made messages -------------------------------------------------------------------------

HEAD = (
    "MSH|^~\\&|MON^0011223344556677^EUI-64||||20260105101500+0100||ORU^R01^ORU_R01|CTRL-{cid}|P|{ver}|||NE|AL\r"
    "PID|||42^^^Clinic^PI\r"
    "OBR|1|1^MON|1^MON|182777000^monitoring of patient^SNOMED-CT|||20260105101000+0100\r"
    "OBX|1||69837^MDC_DEV_METER_PULS_OXIM^MDC|1|||||||X|||||||AABBCCDDEEFF0011^EUI-64\r"
)


def message(*obx: str, cid: str = "1", ver: str = "2.6", eol: str = "\r") -> bytes:
    text = HEAD.format(cid=cid, ver=ver) + "\r".join(obx)
    return text.replace("\r", eol).encode()


SPO2_ROW = (
    "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|262688^MDC_DIM_PERCENT^MDC"
    "|||||F|||20260105101455+0100"
)
PR_ROW = "OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.2|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||F"


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("eol", ["\r", "\n", "\r\n"])
def test_segment_terminators_cr_lf_and_crlf(eol: str) -> None:
    result, _ = decode(message(SPO2_ROW, PR_ROW, eol=eol))
    obs = by_kind(result)
    assert obs[VitalKind.SPO2].value == 97.0
    assert obs[VitalKind.SPO2].measured_at == datetime(2026, 1, 5, 9, 14, 55, tzinfo=UTC)
    assert obs[VitalKind.PULSE_RATE].value == 72.0
    assert obs[VitalKind.PULSE_RATE].measured_at == datetime(2026, 1, 5, 9, 10, 0, tzinfo=UTC)  # OBR-7
    assert obs[VitalKind.SPO2].source == "gw/AABBCCDDEEFF0011"


@pytest.mark.req("MON-6")
def test_time_falls_back_to_msh7_then_to_arrival(clock: FakeClock) -> None:
    text = message(PR_ROW).decode().replace("|||20260105101000+0100\r", "|||\r")
    result, _ = decode(text.encode(), clock)
    assert result.observations[0].measured_at == datetime(2026, 1, 5, 9, 15, 0, tzinfo=UTC)
    text = text.replace("20260105101500+0100", "")
    result, _ = decode(text.encode(), clock)
    assert result.observations[0].measured_at == clock.now()


def test_times_without_offset_use_the_device_timezone() -> None:
    driver = Hl7Pcd01Driver("gw", device_tz=timezone(timedelta(hours=-5)))
    row = PR_ROW + "|||20260105101500"
    result = driver.feed(frame(message(row)), FakeClock().stamp())
    assert result.observations[0].measured_at == datetime(2026, 1, 5, 15, 15, 0, tzinfo=UTC)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(
    ("status", "flag", "quality", "detail"),
    [
        ("F", "", Quality.VALID, ""),
        ("R", "", Quality.VALID, ""),
        ("C", "", Quality.VALID, ""),
        ("P", "", Quality.VALID, ""),
        ("U", "", Quality.VALID, ""),
        ("F", "H", Quality.VALID, ""),  # above normal range is still a real number
        ("X", "", Quality.UNKNOWN, "cannot be obtained"),
        ("D", "", Quality.UNKNOWN, "deleted"),
        ("W", "", Quality.UNKNOWN, "wrong"),
        ("I", "", Quality.UNKNOWN, "not a usable result"),
        ("", "", Quality.UNKNOWN, "OBX-11 empty"),
        ("F", "NAV", Quality.UNKNOWN, "not available"),
        ("F", "QUES", Quality.UNKNOWN, "questionable"),
        ("F", ">", Quality.UNKNOWN, "above the instrument"),
    ],
)
def test_result_status_and_flags_map_to_quality(
    status: str, flag: str, quality: Quality, detail: str
) -> None:
    row = f"OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|262688^MDC_DIM_PERCENT^MDC||{flag}|||{status}"
    result, _ = decode(message(row))
    (obs,) = result.observations
    assert obs.quality is quality
    assert detail in obs.detail
    assert obs.is_valid is (quality is Quality.VALID)


@pytest.mark.req("MON-6")
def test_status_x_without_value_is_an_observation_with_no_number() -> None:
    row = "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1||262688^MDC_DIM_PERCENT^MDC|||||X"
    result, driver = decode(message(row))
    (obs,) = result.observations
    assert obs.value is None and obs.quality is Quality.UNKNOWN and not obs.is_valid
    assert ack_fields(result.replies[0])["MSA"][1] == "AA"
    assert driver.counters.frames_ok == 1


@pytest.mark.req("MON-6")
def test_loinc_coded_vitals_with_ucum_units() -> None:
    rows = (
        "OBX|2|NM|59408-5^SpO2^LN|1.1.1.1|95|%^%^UCUM|||||F",
        "OBX|3|NM|8889-8^Pulse^LN|1.1.1.2|64|{beats}/min^^UCUM|||||F",
        "OBX|4|NM|8480-6^Sys^LN|1.2.1.1|16|kPa^^UCUM|||||F",
    )
    obs = by_kind(decode(message(*rows))[0])
    assert obs[VitalKind.SPO2].value == 95.0
    assert obs[VitalKind.PULSE_RATE].value == 64.0
    assert obs[VitalKind.NIBP_SYSTOLIC].value == pytest.approx(120.0, abs=0.05)
    assert obs[VitalKind.NIBP_SYSTOLIC].unit == "mm[Hg]"


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|266016^MDC_DIM_MMHG^MDC|||||F",
            "measures pressure",
        ),
        ("OBX|2|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.2.1.1|120|mmHg^Unit|||||F", "not a known unit"),
        ("OBX|2|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.2.1.1|120||||||F", "not a known unit"),
        (
            "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|9x7|262688^MDC_DIM_PERCENT^MDC|||||F",
            "not a number",
        ),
        (
            "OBX|2|ST|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|262688^MDC_DIM_PERCENT^MDC|||||F",
            "must be NM",
        ),
        (
            "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97~98|262688^MDC_DIM_PERCENT^MDC|||||F",
            "more than one",
        ),
        (
            "OBX|2|NM|150021^MDC_PRESS_BLD_NONINV_DIA^MDC|1.2.1.1|80|266016^^MDC|||||F",
            "MDC_PRESS_BLD_NONINV_SYS",
        ),
        ("OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|97|%^^UCUM|||||F|||20260132", "OBX-14"),
    ],
)
def test_unusable_vital_rows_are_rejected_ae_and_good_rows_kept(row: str, reason: str) -> None:
    result, driver = decode(message(row, PR_ROW, cid="77"))
    assert [o.kind for o in result.observations] == [VitalKind.PULSE_RATE]
    assert reason in result.rejections[0].reason
    ack = ack_fields(result.replies[0])
    assert ack["MSA"][1:3] == ["AE", "CTRL-77"]
    assert reason[:20] in ack["ERR"][8].replace("\\S\\", "^")
    assert driver.counters.frames_rejected == 1


@pytest.mark.parametrize(
    ("raw", "code", "reason"),
    [
        (message(SPO2_ROW, ver="2.2"), "203", "version 2.2"),
        (message(SPO2_ROW).replace(b"ORU^R01^ORU_R01", b"ORU^R30^ORU_R30"), "201", "not ORU^R01"),
        (message(SPO2_ROW).replace(b"ORU^R01^ORU_R01", b"ADT^A01^ADT_A01"), "200", "not ORU"),
        (b"PID|||1\rOBX|1|NM|150456^^MDC", "100", "MSH"),
        (b"MSH|^~\\&", "200", "(none)"),
        (b"MSH|^^\\&|x", "102", "delimiters"),
        (message(SPO2_ROW) + b"\robx|9|NM", "100", "segment id"),
        (message(SPO2_ROW) + b"\r" + message(PR_ROW), "100", "second MSH"),
        (HEAD.format(cid=1, ver="2.6").split("OBR")[0].encode() + SPO2_ROW.encode(), "100", "OBX"),
    ],
)
def test_unusable_messages_are_refused_ar(raw: bytes, code: str, reason: str) -> None:
    result, driver = decode(raw)
    assert result.observations == ()
    assert reason in result.rejections[0].reason
    assert driver.counters.frames_rejected == 1
    reply = result.replies[0]
    text = reply[1:-2].decode()
    assert "\rMSA|AR|" in text
    # ERR-3 from v2.5; up to v2.4 (the refused 2.2 echoed) the code is in ERR-1's ELD.
    assert f"ERR|||{code}^" in text or f"ERR|^^^{code}&" in text


def test_segment_limit_is_enforced_before_parsing() -> None:
    driver = Hl7Pcd01Driver("gw", limits=Hl7Limits(max_segments=10))
    rows = [PR_ROW.replace("OBX|3", f"OBX|{n}") for n in range(3, 20)]
    result = driver.feed(frame(message(*rows)), FakeClock().stamp())
    assert "limit is 10" in result.rejections[0].reason


def test_many_repetitions_are_refused() -> None:
    # Time is the benchmark's to report (bench_hl7_ingest *_median_ms), never a bound in a test.
    row = "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.1|" + "~".join(["1"] * 20000) + "|%|||||F"
    result, _ = decode(message(row))
    assert "too many" in result.rejections[0].reason


def test_a_100_kb_field_is_refused_by_the_size_cap() -> None:
    row = SPO2_ROW.replace("|97|", "|" + "9" * 100_000 + "|")
    result, driver = decode(message(row, cid="BIG"))
    assert result.observations == ()
    assert "65536-byte limit" in result.rejections[0].reason
    ack = ack_fields(result.replies[0])  # the ACK still names the message from its head
    assert ack["MSA"][1:3] == ["AR", "CTRL-BIG"]
    assert driver.counters.frames_rejected == 1


def test_byte_by_byte_equals_whole(clock: FakeClock) -> None:
    stream = b"junk" + frame(fixture("valid-bp-continua-wan.hl7v2")) + frame(message(SPO2_ROW, PR_ROW))
    whole = Hl7Pcd01Driver("gw")
    expected = whole.feed(stream, clock.stamp())
    driver = Hl7Pcd01Driver("gw")
    total = DecodeResult()
    for i in range(len(stream)):
        total = total + driver.feed(stream[i : i + 1], clock.stamp())
    assert total.observations == expected.observations
    assert [r.split(b"|", 10)[-1] for r in total.replies] == [r.split(b"|", 10)[-1] for r in expected.replies]
    assert len(total.observations) == 5
    assert driver.counters == whole.counters
    assert driver.counters.bytes_discarded == 4


def test_ack_control_ids_echo_msh10_and_are_unique() -> None:
    driver = Hl7Pcd01Driver("gw")
    stamp = FakeClock().stamp()
    replies = [driver.feed(frame(message(SPO2_ROW, cid=c)), stamp).replies[0] for c in ("a1", "b|2", "c^3")]
    msas = [ack_fields(r)["MSA"] for r in replies]
    assert [m[2] for m in msas] == ["CTRL-a1", "CTRL-b", "CTRL-c\\S\\3"]  # b|2 ends MSH-10 at the "|"
    own_ids = [ack_fields(r)["MSH"][9] for r in replies]
    assert len(set(own_ids)) == 3


@given(
    base=st.sampled_from(VALID_ORU),
    data=st.data(),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_messages_never_raise_and_always_get_one_ack(base: str, data: st.DataObject) -> None:
    raw = bytearray(fixture(base))
    for _ in range(data.draw(st.integers(min_value=1, max_value=8))):
        op = data.draw(st.sampled_from(["flip", "insert", "delete"]))
        pos = data.draw(st.integers(min_value=0, max_value=max(len(raw) - 1, 0)))
        if op == "flip" and raw:
            raw[pos] = data.draw(st.sampled_from(b"|^~\\&\r\n0123456789ABCXYZ.+- \x00\xff"))
        elif op == "insert":
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=8))
        elif raw:
            del raw[pos : pos + data.draw(st.integers(min_value=1, max_value=30))]
    payload = bytes(raw).replace(b"\x0b", b"").replace(b"\x1c", b"")
    driver = Hl7Pcd01Driver("gw")
    result = driver.feed(frame(payload), FakeClock().stamp())
    assert len(result.replies) == 1
    assert driver.counters.frames_ok + driver.counters.frames_rejected == 1
    for obs in result.observations:
        assert obs.kind in VitalKind
        assert obs.measured_at.tzinfo is not None


@given(st.binary(max_size=400))
@settings(max_examples=200, deadline=None)
def test_random_bytes_never_raise(data: bytes) -> None:
    driver = Hl7Pcd01Driver("gw")
    result = driver.feed(data, FakeClock().stamp())
    # Every MLLP block gets exactly one ACK: AA/AE for a decoded one, AR for a rejected one.
    assert len(result.replies) == result.frames + len(result.rejections)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("20090813095715+0000", datetime(2009, 8, 13, 9, 57, 15, tzinfo=UTC)),
        ("20090813095715+0500", datetime(2009, 8, 13, 4, 57, 15, tzinfo=UTC)),
        ("20090813095715-0330", datetime(2009, 8, 13, 13, 27, 15, tzinfo=UTC)),
        ("200908130957", datetime(2009, 8, 13, 9, 57, 0, tzinfo=UTC)),
        ("20090813095715.25+0000", datetime(2009, 8, 13, 9, 57, 15, 250000, tzinfo=UTC)),
    ],
)
def test_parse_hl7_datetime(text: str, expected: datetime) -> None:
    assert parse_hl7_datetime(text) == expected


@pytest.mark.parametrize(
    "text", ["2009", "20091313095715", "20090813095715+2500", "x20090813095715", "2009081309"]
)
def test_parse_hl7_datetime_rejects_bad_input(text: str) -> None:
    with pytest.raises(Hl7DateTimeError):
        parse_hl7_datetime(text)


def test_format_and_escape() -> None:
    assert format_hl7_datetime(datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "20260102030405+0000"
    assert escape_hl7("a|b^c~d\\e&f\rg") == "a\\F\\b\\S\\c\\R\\d\\E\\e\\T\\f g"
