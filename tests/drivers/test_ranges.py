"""Values that pass a checksum but no device can measure are never valid (MON-6, ALM-2; issue 11).

For every driver, values at and beyond the edges of its device's range (drivers/ranges.py) are put
on its own wire and decoded: inside the range a value is VALID; outside it is kept, marked
IMPLAUSIBLE with the reason, and counted on the link, never dropped and never valid. NIBP readings
whose diastolic is not below the systolic, or whose mean is outside them, are marked too.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from drivers.masimo import MasimoAsciiDriver
from drivers.nonin import FRAMES_PER_PACKET, GPRF, STATUS_ALWAYS_SET, SYNC, encode_frame
from drivers.ranges import (
    DEVICE_RANGES,
    GENERIC_RANGES,
    MeasurementRange,
    measurement_range,
    nibp_inconsistency,
    out_of_range,
    screen,
)
from drivers.registry import DRIVERS
from drivers.suntech import BpData, SuntechAdvantageDriver
from drivers.types import DeviceDriver, Observation, Quality, Stamp, VitalKind
from simulators.encoders.hl7 import Hl7Pcd01Encoder
from simulators.encoders.ivy import IvyAnsarEncoder
from simulators.model import NibpSnapshot, VitalsSnapshot

STAMP = Stamp(wall=datetime(2026, 11, 23, 14, 0, 0, tzinfo=UTC), mono=1000.0)
NIBP = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)


def _masimo(kind: VitalKind, value: float) -> bytes:
    spo2, bpm, pi = "097%", "072", "03.20%"
    if kind is VitalKind.SPO2:
        spo2 = f"{value:03.0f}%"
    elif kind is VitalKind.PULSE_RATE:
        bpm = f"{value:03.0f}"
    else:
        pi = f"{value:05.2f}%"
    return f"11/23/26 14:00:00 SN=0000056661 SPO2={spo2} BPM={bpm} PI={pi} ALARM=0000 EXC=000800\r\n".encode()


def _nonin(kind: VitalKind, value: float) -> bytes:
    spo2, rate = 97, 72
    if kind is VitalKind.SPO2:
        spo2 = int(value)
    else:
        rate = int(value)
    data = [0] * FRAMES_PER_PACKET
    data[0], data[1], data[2] = (rate >> 7) & 0x03, rate & 0x7F, spo2
    out = b""
    for n in range(FRAMES_PER_PACKET):
        status = STATUS_ALWAYS_SET | GPRF | (SYNC if n == 0 else 0)
        out += encode_frame(status, 128, data[n])
    return out


def _ivy_snapshot(kind: VitalKind, value: float) -> VitalsSnapshot:
    values = {VitalKind.SPO2: 97.0, VitalKind.PULSE_RATE: 72.0, VitalKind.HEART_RATE: 71.0, kind: value}
    return VitalsSnapshot(
        STAMP.wall,
        values[VitalKind.SPO2],
        values[VitalKind.PULSE_RATE],
        heart_rate=values[VitalKind.HEART_RATE],
    )


def _ivy(kind: VitalKind, value: float) -> bytes:
    return IvyAnsarEncoder().encode(_ivy_snapshot(kind, value))


def _hl7(kind: VitalKind, value: float) -> bytes:
    snap = _ivy_snapshot(kind, value) if kind is not VitalKind.PERFUSION_INDEX else None
    if snap is None:
        snap = VitalsSnapshot(STAMP.wall, 97, 72, perfusion_index=value)
    return Hl7Pcd01Encoder().encode(snap)


def _suntech(kind: VitalKind, value: float) -> bytes:
    return BpData(128, 82, 97, int(value)).encode()


#: How to put one value of a kind on each device's wire: (kinds, wire limits, writer).
Writer = Callable[[VitalKind, float], bytes]
WIRES: dict[str, tuple[tuple[VitalKind, ...], tuple[float, float], Writer]] = {
    # Masimo refuses SpO2 above 100 in its grammar (a rejection), so only 0-100 reaches the range.
    "masimo-ascii": ((VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.PERFUSION_INDEX), (0, 999), _masimo),
    # DF2 carries SpO2 in 7 bits (127 = missing, above 100 a rejection) and a rate in 9 bits.
    "nonin-df2": ((VitalKind.SPO2, VitalKind.PULSE_RATE), (0, 510), _nonin),
    "ivy-ansar": ((VitalKind.PULSE_RATE, VitalKind.HEART_RATE), (0, 99_999), _ivy),
    "suntech-advantage": ((VitalKind.PULSE_RATE,), (1, 255), _suntech),
    "hl7-pcd01": ((VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE), (-500, 99_999), _hl7),
}


def _edge_values(protocol: str, kind: VitalKind) -> st.SearchStrategy[float]:
    """Values at, just inside and beyond the device's edges, anything the wire can carry."""
    bounds = measurement_range(protocol, kind)
    wire_low, wire_high = WIRES[protocol][1]
    if kind is VitalKind.SPO2 and protocol in ("masimo-ascii", "nonin-df2", "ivy-ansar"):
        wire_high = 100
    step = 0.01 if kind is VitalKind.PERFUSION_INDEX else 1.0
    edges = [bounds.low - step, bounds.low, bounds.high, bounds.high + step, 59_722.0, 5_640.0, -1.0]
    edges = [e for e in edges if wire_low <= e <= wire_high]
    whole = st.integers(int(wire_low), int(wire_high)).map(float)
    picked = st.sampled_from(edges) if edges else whole
    if kind is VitalKind.PERFUSION_INDEX:
        return st.one_of(picked, st.integers(0, 99_99).map(lambda v: v / 100))
    return st.one_of(picked, whole)


def _decoded(protocol: str, kind: VitalKind, value: float) -> tuple[list[Observation], DeviceDriver]:
    from tests.fuzz.harness import fresh_driver

    driver = fresh_driver(protocol)
    result = driver.feed(WIRES[protocol][2](kind, value), STAMP)
    return [o for o in result.observations if o.kind is kind], driver


def _check_value(protocol: str, kind: VitalKind, value: float) -> None:
    observations, driver = _decoded(protocol, kind, value)
    assert len(observations) == 1, f"{protocol} gave {observations} for {kind.value} {value}"
    obs = observations[0]
    assert obs.value == pytest.approx(value)
    if measurement_range(protocol, kind).contains(value):
        assert obs.quality is Quality.VALID, obs.detail
        assert driver.counters.values_implausible == 0
    else:
        assert obs.quality is Quality.IMPLAUSIBLE
        assert not obs.is_valid
        assert "outside what" in obs.detail and protocol in obs.detail
        assert driver.counters.values_implausible >= 1


#: Shrinking HL7 cases takes long: generate and replay only.
NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
CASES = [(p, k) for p, (kinds, _, _) in WIRES.items() for k in kinds]


@pytest.mark.req("MON-6")
@pytest.mark.req("ALM-2")
@pytest.mark.parametrize(
    ("protocol", "kind"),
    CASES,
)
@settings(max_examples=40, deadline=None, phases=NO_SHRINK)
@given(data=st.data())
def test_values_at_and_beyond_the_device_edges(protocol: str, kind: VitalKind, data: st.DataObject) -> None:
    """Finding 11 ("impossible values"): inside the device's range VALID, outside IMPLAUSIBLE and counted."""
    value = data.draw(_edge_values(protocol, kind))
    _check_value(protocol, kind, value)
    # The drawn value may be inside: make sure each run also proves the outside case once.
    bounds = measurement_range(protocol, kind)
    above = bounds.high + (0.01 if kind is VitalKind.PERFUSION_INDEX else 1)
    if above <= WIRES[protocol][1][1] and not (kind is VitalKind.SPO2 and above > 100):
        _check_value(protocol, kind, above)


@pytest.mark.req("MON-6")
@pytest.mark.parametrize(("protocol", "kind"), [(p, k) for p, k in CASES if p == "hl7-pcd01"])
@settings(max_examples=12, deadline=None)
@given(value=st.integers(-500, 99_999).map(float))
def test_the_table_marks_hl7_rows_once_screened(protocol: str, kind: VitalKind, value: float) -> None:
    """The HL7 driver's rows, passed through ``screen`` as its owner is to do, obey the same table."""
    observations, _ = _decoded(protocol, kind, value)
    (obs,) = screen(protocol, observations)
    assert (obs.quality is Quality.VALID) == measurement_range(protocol, kind).contains(value)


def test_the_reported_examples_are_marked() -> None:
    """Issue 11's examples: diastolic 59,722 mmHg and PI 5,640 % passed a checksum."""
    driver = SuntechAdvantageDriver("cuff")
    result = driver.feed(BpData(128, 59_722, 97, 72).encode(), STAMP)
    by_kind = {o.kind: o for o in result.observations}
    assert by_kind[VitalKind.NIBP_DIASTOLIC].quality is Quality.IMPLAUSIBLE
    assert "59722" in by_kind[VitalKind.NIBP_DIASTOLIC].detail
    # 59,722 above 128: the reading cannot be right, so systolic and mean are not vouched for either.
    assert not any(by_kind[k].is_valid for k in NIBP)
    assert by_kind[VitalKind.PULSE_RATE].is_valid
    assert driver.counters.values_implausible == 3 == result.implausible
    masimo = MasimoAsciiDriver("ox")
    (pi,) = [
        o
        for o in masimo.feed(_masimo(VitalKind.PERFUSION_INDEX, 5640), STAMP).observations
        if o.kind.value == "perfusion_index"
    ]
    assert pi.quality is Quality.IMPLAUSIBLE and pi.value == 5640


NIBP_WIRES: dict[str, Callable[[int, int, int], bytes]] = {
    "suntech-advantage": lambda s, d, m: BpData(s, d, m, 72).encode(),
    "ivy-ansar": lambda s, d, m: IvyAnsarEncoder().encode(
        VitalsSnapshot(STAMP.wall, 97, 72, heart_rate=71, nibp=NibpSnapshot(s, d, m, STAMP.wall))
    ),
    "hl7-pcd01": lambda s, d, m: Hl7Pcd01Encoder().encode(
        VitalsSnapshot(STAMP.wall, 97, 72, nibp=NibpSnapshot(s, d, m, STAMP.wall))
    ),
}


@pytest.mark.req("MON-6")
@pytest.mark.req("THR-8")
@pytest.mark.parametrize("protocol", sorted(NIBP_WIRES))
@settings(max_examples=60, deadline=None, phases=NO_SHRINK)
@given(systolic=st.integers(20, 320), diastolic=st.integers(5, 320), mean=st.integers(5, 320))
def test_an_nibp_reading_that_cannot_be_right_is_never_valid(
    protocol: str, systolic: int, diastolic: int, mean: int
) -> None:
    """Finding 11: systolic below diastolic, a mean outside them, any part outside the cuff's range."""
    from tests.fuzz.harness import fresh_driver

    driver = fresh_driver(protocol)
    result = driver.feed(NIBP_WIRES[protocol](systolic, diastolic, mean), STAMP)
    by_kind = {o.kind: o for o in result.observations if o.kind.is_nibp}
    assert set(by_kind) == set(NIBP)
    values = {
        VitalKind.NIBP_SYSTOLIC: systolic,
        VitalKind.NIBP_DIASTOLIC: diastolic,
        VitalKind.NIBP_MEAN: mean,
    }

    def inside(kind: VitalKind) -> bool:
        return measurement_range(protocol, kind).contains(values[kind])

    # Systolic or diastolic garbled (out of range, or not in order): the whole reading is spoiled.
    reading_ok = inside(VitalKind.NIBP_SYSTOLIC) and inside(VitalKind.NIBP_DIASTOLIC) and diastolic < systolic
    mean_ok = inside(VitalKind.NIBP_MEAN) and diastolic <= mean <= systolic
    for kind, obs in by_kind.items():
        assert obs.value == values[kind]  # kept for the record, never dropped
        should_be_valid = reading_ok and (kind is not VitalKind.NIBP_MEAN or mean_ok)
        assert obs.is_valid == should_be_valid, (kind, obs.detail)
        if not should_be_valid:
            assert obs.quality is Quality.IMPLAUSIBLE and obs.detail
    assert driver.counters.values_implausible == sum(1 for o in by_kind.values() if not o.is_valid)


def test_a_mean_outside_systolic_and_diastolic_marks_the_mean_only() -> None:
    """The engine judges such a reading on a calculated mean (alarms/nibp_reading.py): keep the pressures."""
    assert set(nibp_inconsistency(120, 80, 130)) == {VitalKind.NIBP_MEAN}
    assert set(nibp_inconsistency(120, 80, 70)) == {VitalKind.NIBP_MEAN}
    assert set(nibp_inconsistency(80, 120, 100)) == set(NIBP)
    assert set(nibp_inconsistency(120, 120, 120)) == set(NIBP)
    assert nibp_inconsistency(120, 80, 93) == {}


def test_a_value_the_device_flagged_keeps_its_flag() -> None:
    """A cuff error with a garbage number stays a cuff error; the range adds its reason."""
    driver = SuntechAdvantageDriver("cuff")
    result = driver.feed(BpData(0, 0, 0, 0, error_code=0x57).encode(), STAMP)
    assert {o.quality for o in result.observations} == {Quality.CUFF_ERROR}


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize("protocol", sorted(DRIVERS))
def test_extreme_but_possible_rates_stay_valid(protocol: str) -> None:
    """ALM-4: a pulse of 18/min or 250/min (past Masimo's specified 240) is judged, never called a
    data error; a negative rate or one past 350/min is."""
    for kind in (VitalKind.PULSE_RATE, VitalKind.HEART_RATE):
        assert out_of_range(protocol, kind, -1) is not None
        assert out_of_range(protocol, kind, 351) is not None
        for value in (0.0, 18.0, 250.0, 300.0, 350.0):
            assert out_of_range(protocol, kind, value) is None


def test_every_registered_device_has_a_range_for_every_kind() -> None:
    """A new driver falls back to the generic ranges: nothing it decodes escapes the table."""
    for protocol in DRIVERS:
        for kind in VitalKind:
            assert isinstance(measurement_range(protocol, kind), MeasurementRange)
    for ranges in DEVICE_RANGES.values():
        for kind, bounds in ranges.items():
            assert bounds.low >= GENERIC_RANGES[kind].low - 1e-9 or kind.is_nibp
    assert out_of_range("a-new-device", VitalKind.SPO2, 101) is not None
    assert out_of_range("nonin-df2", VitalKind.PULSE_RATE, -1) is not None
    assert out_of_range("nonin-df2", VitalKind.PULSE_RATE, float("nan")) is not None


def test_screening_twice_changes_nothing_more() -> None:
    driver = SuntechAdvantageDriver("cuff")
    once = driver.feed(BpData(80, 120, 100, 72).encode(), STAMP).observations
    assert screen("suntech-advantage", once) == once
