"""HL7 PCD-01 encoder round trip: encode -> the real driver gives the snapshot's values back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.clock import FakeClock
from drivers.hl7_pcd01 import Hl7Pcd01Driver
from drivers.transports.mllp import MllpListener, MllpSender
from drivers.types import DecodeResult, DeviceEvent, Observation, Quality, VitalKind
from simulators.encoders.hl7 import Hl7Pcd01Encoder
from simulators.model import NibpSnapshot, VitalsSnapshot, WireEncoder

AT = datetime(2026, 11, 23, 9, 30, 5, tzinfo=UTC)
CUFF_AT = AT - timedelta(minutes=2)


def snapshot(**changes: object) -> VitalsSnapshot:
    base: dict[str, object] = {
        "at": AT,
        "spo2": 97.4,
        "pulse_rate": 71.6,
        "heart_rate": 73.0,
        "perfusion_index": 3.456,
        "nibp": NibpSnapshot(121.2, 78.8, 93.0, CUFF_AT),
    }
    base.update(changes)
    return VitalsSnapshot(**base)  # type: ignore[arg-type]


def round_trip(encoder: Hl7Pcd01Encoder, snap: VitalsSnapshot) -> tuple[dict[VitalKind, Observation], bytes]:
    driver = Hl7Pcd01Driver("sim")
    result = driver.feed(encoder.encode(snap), FakeClock().stamp())
    assert result.rejections == ()
    (ack,) = result.replies
    kinds = [o.kind for o in result.observations]
    assert len(kinds) == len(set(kinds))
    return {o.kind: o for o in result.observations}, ack


def test_encoder_is_a_wire_encoder() -> None:
    encoder: WireEncoder = Hl7Pcd01Encoder()
    assert encoder.protocol == "hl7-pcd01" == Hl7Pcd01Driver.protocol
    assert encoder.period_s == 5.0


def test_one_mllp_framed_oru_r01() -> None:
    raw = Hl7Pcd01Encoder().encode(snapshot())
    assert raw.startswith(b"\x0bMSH|^~\\&|BEDSIDE-SIM^0123456789ABCDEF^EUI-64|")
    assert raw.endswith(b"\x1c\r")
    assert b"|ORU^R01^ORU_R01|BSIM00000001|T|2.6|" in raw
    assert (
        b"\rOBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||0123456789ABCDEF^EUI-64\r"
        in raw
    )


@pytest.mark.req("MON-6")
def test_values_times_sources_and_qualities_come_back() -> None:
    obs, ack = round_trip(Hl7Pcd01Encoder(), snapshot())
    expected = {
        VitalKind.SPO2: (97.0, "%", AT),
        VitalKind.PULSE_RATE: (72.0, "/min", AT),
        VitalKind.PERFUSION_INDEX: (3.46, "%", AT),
        VitalKind.HEART_RATE: (73.0, "/min", AT),
        VitalKind.NIBP_SYSTOLIC: (121.0, "mm[Hg]", CUFF_AT),
        VitalKind.NIBP_DIASTOLIC: (79.0, "mm[Hg]", CUFF_AT),
        VitalKind.NIBP_MEAN: (93.0, "mm[Hg]", CUFF_AT),
    }
    assert set(obs) == set(expected)
    for kind, (value, unit, at) in expected.items():
        o = obs[kind]
        assert o.value == pytest.approx(value), kind
        assert (o.unit, o.measured_at) == (unit, at), kind
        assert o.quality is Quality.VALID and o.is_valid
        assert o.source == "sim/0123456789ABCDEF"
    assert b"\rMSA|AA|BSIM00000001|" in ack


def test_control_ids_increment_and_the_ack_echoes_each() -> None:
    encoder = Hl7Pcd01Encoder(control_id_prefix="GW")
    for n in (1, 2, 3):
        _, ack = round_trip(encoder, snapshot())
        assert encoder.last_control_id == f"GW{n:08d}"
        assert f"\rMSA|AA|GW{n:08d}|".encode() in ack


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("quality", [q for q in Quality if q is not Quality.VALID])
def test_oximeter_trouble_is_never_a_number(quality: Quality) -> None:
    obs, ack = round_trip(Hl7Pcd01Encoder(), snapshot(oximeter_quality=quality))
    for kind in (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.PERFUSION_INDEX):
        assert obs[kind].value is None
        assert obs[kind].quality is Quality.UNKNOWN and not obs[kind].is_valid
        assert "OBX-11 X" in obs[kind].detail
        assert obs[kind].measured_at == AT
    assert obs[VitalKind.HEART_RATE].is_valid  # ECG is not the oximeter
    assert b"MSA|AA" in ack


@pytest.mark.req("MON-6")
def test_missing_values_are_sent_as_x_and_optional_rows_left_out() -> None:
    obs, _ = round_trip(
        Hl7Pcd01Encoder(), snapshot(spo2=None, heart_rate=None, perfusion_index=None, nibp=None)
    )
    assert set(obs) == {VitalKind.SPO2, VitalKind.PULSE_RATE}
    assert obs[VitalKind.SPO2].value is None and not obs[VitalKind.SPO2].is_valid
    assert obs[VitalKind.PULSE_RATE].value == 72.0 and obs[VitalKind.PULSE_RATE].is_valid


@pytest.mark.req("MON-6")
def test_cuff_error_gives_invalid_nibp_at_the_cycle_time() -> None:
    failed = NibpSnapshot(None, None, None, CUFF_AT, error="cuff leak")
    obs, _ = round_trip(Hl7Pcd01Encoder(), snapshot(nibp=failed))
    for kind in (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN):
        assert obs[kind].value is None and not obs[kind].is_valid
        assert obs[kind].measured_at == CUFF_AT


def test_silent_device_sends_nothing() -> None:
    encoder = Hl7Pcd01Encoder()
    assert encoder.encode(snapshot(silent=True)) == b""
    assert encoder.last_control_id == ""


def test_device_timezone_keeps_the_instant() -> None:
    encoder = Hl7Pcd01Encoder(device_tz=timezone(timedelta(hours=-5)))
    raw = encoder.encode(snapshot())
    assert b"|20261123043005-0500|" in raw
    obs, _ = round_trip(Hl7Pcd01Encoder(device_tz=timezone(timedelta(hours=-5))), snapshot())
    assert obs[VitalKind.SPO2].measured_at == AT


def test_period_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Hl7Pcd01Encoder(period_s=0)


@given(
    spo2=st.one_of(st.none(), st.floats(min_value=50, max_value=100)),
    pr=st.one_of(st.none(), st.floats(min_value=20, max_value=250)),
    sys_=st.floats(min_value=60, max_value=250),
    seconds=st.integers(min_value=0, max_value=10**8),
)
@settings(max_examples=60, deadline=None)
def test_round_trip_property(spo2: float | None, pr: float | None, sys_: float, seconds: int) -> None:
    at = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)
    nibp = NibpSnapshot(sys_, sys_ * 0.6, sys_ * 0.75, at - timedelta(seconds=30))
    obs, _ = round_trip(Hl7Pcd01Encoder(), snapshot(at=at, spo2=spo2, pulse_rate=pr, nibp=nibp))
    for kind, value in ((VitalKind.SPO2, spo2), (VitalKind.PULSE_RATE, pr)):
        assert obs[kind].value == (None if value is None else round(value))
        assert obs[kind].is_valid is (value is not None)
        assert obs[kind].measured_at == at
    assert obs[VitalKind.NIBP_SYSTOLIC].value == round(sys_)
    assert obs[VitalKind.NIBP_SYSTOLIC].measured_at == at - timedelta(seconds=30)


def test_end_to_end_over_mllp(clock: FakeClock) -> None:
    results: list[DecodeResult] = []
    events: list[DeviceEvent] = []
    listener = MllpListener("bed1", Hl7Pcd01Driver, clock, results.append, events.append)
    listener.start()
    try:
        encoder = Hl7Pcd01Encoder()
        with MllpSender(
            "127.0.0.1", listener.port, clock, connect_timeout_s=2.0, ack_timeout_s=5.0
        ) as sender:
            block = encoder.encode(snapshot())
            ack = sender.send(block[1:-2])  # the sender frames it again
        assert b"\rMSA|AA|BSIM00000001|" in ack
        # The listener hands results on before it sends the ACK, so they are here already.
        values = {o.kind: o.value for r in results for o in r.observations}
        assert values[VitalKind.SPO2] == 97.0
        assert values[VitalKind.NIBP_MEAN] == 93.0
    finally:
        listener.stop()


@pytest.mark.req("DRL-1")
def test_simulated_messages_are_marked_training_and_every_value_simulated() -> None:
    """Issue 10: simulated data is marked in-band (MSH-11 T), and the driver flags each value."""
    values, ack = round_trip(Hl7Pcd01Encoder(), snapshot())
    assert values and all(o.simulated for o in values.values())
    assert b"|T|2.6|" in ack  # the ACK echoes the processing id
