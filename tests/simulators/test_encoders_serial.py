"""Serial encoders are the drivers' inverse: encode -> real driver -> the same values back (DRL-1, MON-6)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.ivy import IvyAnsarDriver, parse_ansar_frame
from drivers.masimo import MasimoAsciiDriver, parse_masimo_line
from drivers.nonin import NoninDf2Driver
from drivers.types import DecodeResult, Observation, Quality, Stamp, VitalKind
from simulators.encoders.ivy import IvyAnsarEncoder
from simulators.encoders.masimo import MasimoAsciiEncoder
from simulators.encoders.nonin import NoninDf2Encoder
from simulators.model import NibpSnapshot, VitalsSnapshot

STAMP = Stamp(wall=datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC), mono=1000.0)
#: The oximeter qualities these devices can express on their wire.
OXIMETER_QUALITIES = [
    Quality.VALID,
    Quality.PROBE_OFF,
    Quality.SEARCHING,
    Quality.LOW_PERFUSION,
    Quality.ARTIFACT,
    Quality.UNKNOWN,
]
#: Qualities under which the device shows no number at all.
NO_NUMBER = (Quality.PROBE_OFF, Quality.UNKNOWN)

times = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2098, 12, 31), timezones=st.just(UTC))
spo2s = st.none() | st.floats(min_value=50, max_value=100)
pulses = st.none() | st.floats(min_value=25, max_value=250)
perfusions = st.none() | st.floats(min_value=0.02, max_value=20)


def expected(value: float | None, quality: Quality, digits: int = 0) -> tuple[float | None, Quality]:
    """What the driver must give back for an encoded value at the device's resolution."""
    if quality in NO_NUMBER or value is None:
        return None, (Quality.UNKNOWN if quality is Quality.VALID else quality)
    return round(value, digits) if digits else float(round(value)), quality


def one(result: DecodeResult, kind: VitalKind) -> Observation:
    found = [o for o in result.observations if o.kind is kind]
    assert len(found) == 1, f"{kind}: {found}"
    return found[0]


@pytest.mark.req("MON-6")
@settings(max_examples=150, deadline=None)
@given(
    at=times,
    spo2=spo2s,
    pulse=pulses,
    perfusion=perfusions,
    quality=st.sampled_from(OXIMETER_QUALITIES),
    offset_h=st.integers(min_value=-12, max_value=14),
)
def test_masimo_round_trip(
    at: datetime,
    spo2: float | None,
    pulse: float | None,
    perfusion: float | None,
    quality: Quality,
    offset_h: int,
) -> None:
    zone = timezone(timedelta(hours=offset_h))
    snapshot = VitalsSnapshot(
        at=at, spo2=spo2, pulse_rate=pulse, perfusion_index=perfusion, oximeter_quality=quality
    )
    wire = MasimoAsciiEncoder(device_tz=zone).encode(snapshot)
    result = MasimoAsciiDriver("m", device_tz=zone).feed(wire, STAMP)
    assert result.frames == 1 and result.rejections == ()
    got_spo2, got_pulse = one(result, VitalKind.SPO2), one(result, VitalKind.PULSE_RATE)
    got_pi = one(result, VitalKind.PERFUSION_INDEX)
    assert (got_spo2.value, got_spo2.quality) == expected(spo2, quality)
    assert (got_pulse.value, got_pulse.quality) == expected(pulse, quality)
    want_pi, want_pi_quality = expected(perfusion, quality, digits=2)
    assert got_pi.quality == want_pi_quality
    assert got_pi.value == (None if want_pi is None else pytest.approx(want_pi, abs=0.0051))
    assert got_spo2.measured_at == at.replace(microsecond=0)


def test_masimo_probe_off_uses_the_device_bits_and_dashes() -> None:
    at = datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC)
    snapshot = VitalsSnapshot(at=at, spo2=97, pulse_rate=70, oximeter_quality=Quality.PROBE_OFF)
    wire = MasimoAsciiEncoder().encode(snapshot)
    assert wire.endswith(b"\r\n")
    reading = parse_masimo_line(wire.rstrip(b"\r\n"))
    assert b"SPO2=---% BPM=---" in wire
    assert reading.exceptions == 0x020  # "sensor off patient"
    assert reading.device_time == datetime(2026, 11, 23, 9, 30, 5)


def test_masimo_device_time_in_a_named_zone() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    at = datetime(2026, 7, 1, 10, 0, 0, tzinfo=UTC)
    wire = MasimoAsciiEncoder(device_tz=berlin).encode(VitalsSnapshot(at=at, spo2=98, pulse_rate=60))
    assert wire.startswith(b"07/01/26 12:00:00 ")  # CEST = UTC+2
    result = MasimoAsciiDriver("m", device_tz=berlin).feed(wire, STAMP)
    assert {o.measured_at for o in result.observations} == {at}


@pytest.mark.req("MON-1")
@pytest.mark.req("MON-6")
@settings(max_examples=150, deadline=None)
@given(spo2=spo2s, pulse=pulses, quality=st.sampled_from(OXIMETER_QUALITIES))
def test_nonin_round_trip(spo2: float | None, pulse: float | None, quality: Quality) -> None:
    snapshot = VitalsSnapshot(at=STAMP.wall, spo2=spo2, pulse_rate=pulse, oximeter_quality=quality)
    encoder = NoninDf2Encoder()
    wire = encoder.encode(snapshot)
    assert len(wire) == 125
    result = NoninDf2Driver("n").feed(wire, STAMP)
    assert result.frames == 25 and result.rejections == ()
    got_spo2, got_pulse = one(result, VitalKind.SPO2), one(result, VitalKind.PULSE_RATE)
    assert (got_spo2.value, got_spo2.quality) == expected(spo2, quality)
    assert (got_pulse.value, got_pulse.quality) == expected(pulse, quality)


def test_nonin_stream_of_packets_is_one_observation_pair_each() -> None:
    encoder = NoninDf2Encoder()
    assert encoder.period_s == pytest.approx(1 / 3)
    wire = b"".join(
        encoder.encode(VitalsSnapshot(at=STAMP.wall, spo2=90 + i, pulse_rate=60 + i)) for i in range(6)
    )
    result = NoninDf2Driver("n").feed(wire, STAMP)
    assert [o.value for o in result.observations if o.kind is VitalKind.SPO2] == [90.0 + i for i in range(6)]
    assert [o.value for o in result.observations if o.kind is VitalKind.PULSE_RATE] == [
        60.0 + i for i in range(6)
    ]


@pytest.mark.req("MON-1")
@pytest.mark.req("MON-4")
@pytest.mark.req("MON-6")
@settings(max_examples=150, deadline=None)
@given(
    spo2=spo2s,
    pulse=pulses,
    heart=st.none() | st.floats(min_value=25, max_value=250),
    quality=st.sampled_from(OXIMETER_QUALITIES),
)
def test_ivy_round_trip(
    spo2: float | None, pulse: float | None, heart: float | None, quality: Quality
) -> None:
    snapshot = VitalsSnapshot(
        at=STAMP.wall, spo2=spo2, pulse_rate=pulse, heart_rate=heart, oximeter_quality=quality
    )
    wire = IvyAnsarEncoder().encode(snapshot)
    result = IvyAnsarDriver("ivy").feed(wire, STAMP)
    assert result.frames == 1 and result.rejections == ()
    got_spo2, got_pulse = one(result, VitalKind.SPO2), one(result, VitalKind.PULSE_RATE)
    assert (got_spo2.value, got_spo2.quality) == expected(spo2, quality)
    assert (got_pulse.value, got_pulse.quality) == expected(pulse, quality)
    got_heart = one(result, VitalKind.HEART_RATE)
    assert (got_heart.value, got_heart.quality) == expected(heart, Quality.VALID)


@pytest.mark.req("MON-6")
def test_ivy_nibp_is_reported_once_per_new_cycle_and_errors_as_cuff_error() -> None:
    encoder, driver = IvyAnsarEncoder(), IvyAnsarDriver("ivy")
    t0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    first = NibpSnapshot(systolic=121, diastolic=75, mean=92, measured_at=t0)
    second = NibpSnapshot(systolic=152.4, diastolic=96.6, mean=115, measured_at=t0 + timedelta(minutes=5))
    failed = NibpSnapshot(None, None, None, measured_at=t0 + timedelta(minutes=10), error="Cuff leak")
    timeline = [None, None, first, first, first, second, second, failed, failed]
    readings: list[tuple[float | None, float | None, float | None, Quality, str]] = []
    for i, nibp in enumerate(timeline):
        snapshot = VitalsSnapshot(at=t0 + timedelta(seconds=i), spo2=97, pulse_rate=72, nibp=nibp)
        result = driver.feed(encoder.encode(snapshot), STAMP)
        nibp_obs = {o.kind: o for o in result.observations if o.kind.is_nibp}
        if nibp_obs:
            sys_, dia, mean = (
                nibp_obs[VitalKind.NIBP_SYSTOLIC],
                nibp_obs[VitalKind.NIBP_DIASTOLIC],
                nibp_obs[VitalKind.NIBP_MEAN],
            )
            readings.append((sys_.value, dia.value, mean.value, sys_.quality, sys_.detail))
    assert readings == [
        (121.0, 75.0, 92.0, Quality.VALID, ""),
        (152.0, 97.0, 115.0, Quality.VALID, ""),
        (None, None, None, Quality.CUFF_ERROR, "CUFF LEAK"),
    ]


def test_ivy_frame_has_the_real_layout() -> None:
    encoder = IvyAnsarEncoder()
    assert encoder.period_s == 1.0
    wire = encoder.encode(VitalsSnapshot(at=STAMP.wall, spo2=99, pulse_rate=80, heart_rate=81))
    assert wire.startswith(b"\xffANSAR-B ") and wire.endswith(b"\r\xfe")
    parsed = parse_ansar_frame(wire)
    assert len(parsed.waveform) == 400
    assert max(parsed.waveform) <= 0xFB  # never a frame marker inside the waveform
    assert parsed.parameter("SPO2") is not None
    assert b"SPO2=1;99;PR=80 ;\r" in wire  # the rate left-aligned in three characters, as captured


@pytest.mark.parametrize(
    "encoder", [MasimoAsciiEncoder(), NoninDf2Encoder(), IvyAnsarEncoder()], ids=lambda e: e.protocol
)
def test_a_silent_device_sends_nothing(
    encoder: MasimoAsciiEncoder | NoninDf2Encoder | IvyAnsarEncoder,
) -> None:
    assert encoder.encode(VitalsSnapshot(at=STAMP.wall, spo2=97, pulse_rate=70, silent=True)) == b""


def test_encoders_name_their_driver_protocol() -> None:
    assert MasimoAsciiEncoder.protocol == MasimoAsciiDriver.protocol
    assert NoninDf2Encoder.protocol == NoninDf2Driver.protocol
    assert IvyAnsarEncoder.protocol == IvyAnsarDriver.protocol
    assert MasimoAsciiEncoder.period_s == 1.0


@pytest.mark.req("DRL-1")
def test_simulated_masimo_prints_a_recognisable_serial() -> None:
    """Issue 10: a simulator marks its data where the protocol can; Masimo's SN= can."""
    from simulators.encoders.masimo import SIMULATED_SERIAL

    snapshot = VitalsSnapshot(at=datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC), spo2=97, pulse_rate=70)
    wire = MasimoAsciiEncoder().encode(snapshot)
    assert f"SN={SIMULATED_SERIAL} ".encode() in wire
    assert parse_masimo_line(wire.rstrip(b"\r\n")).serial_number == SIMULATED_SERIAL
