"""An NIBP cycle sent again is the same cycle (issue 11, found by the accelerated 24-hour session).

An HL7 PCD-01 gateway repeats the last NIBP reading, with its own measurement time, in every
periodic message (every 5 s). Each repeat used to become a new reading: judged again, added to
the trend's points again and kept in every clinical snapshot, so a day-long session held 17,000
copies of its 288 cycles and its memory, snapshots and per-observation work grew all day.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.nibp_reading import NibpAssembler, NibpReading
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
PARTS = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)

#: One cycle: (systolic, diastolic, quality, how many messages carry it).
cycles = st.tuples(
    st.integers(40, 300),
    st.integers(20, 200),
    st.sampled_from([Quality.VALID, Quality.VALID, Quality.CUFF_ERROR, Quality.ARTIFACT]),
    st.integers(1, 6),
)


def _message(
    source: str, at: datetime, sys_: float, dia: float, quality: Quality, arrival: float
) -> list[Observation]:
    mean = round((sys_ + 2 * dia) / 3)
    received = T0 + timedelta(seconds=arrival)
    return [
        Observation(kind, value, CANONICAL_UNIT[kind], at, received, arrival, source, quality)
        for kind, value in zip(PARTS, (sys_, dia, mean), strict=True)
    ]


@pytest.mark.req("MON-2")
@pytest.mark.req("MON-5")
@settings(max_examples=200, deadline=None)
@given(
    per_source=st.lists(st.lists(cycles, min_size=1, max_size=6), min_size=1, max_size=3),
    order=st.randoms(use_true_random=False),
)
def test_a_repeated_cycle_is_one_reading(
    per_source: list[list[tuple[int, int, Quality, int]]], order: random.Random
) -> None:
    """Finding: every repeat of an HL7 gateway's last NIBP was a new reading. Property: whatever the
    repeats and however the sources' messages interleave, each source's readings are its distinct
    cycles, once each, in order."""
    queues: list[list[tuple[str, datetime, int, int, Quality]]] = []
    expected: dict[str, list[tuple[float, float, datetime, Quality]]] = {}
    for n, source_cycles in enumerate(per_source):
        source = f"gateway-{n}/EUI{n}"
        queue = []
        for k, (sys_, dia, quality, repeats) in enumerate(source_cycles):
            at = T0 + timedelta(minutes=5 * k, seconds=n)
            expected.setdefault(source, []).append((float(sys_), float(dia), at, quality))
            queue += [(source, at, sys_, dia, quality)] * repeats
        queues.append(queue)
    assembler = NibpAssembler()
    got: list[NibpReading] = []
    arrival = 0.0
    while any(queues):
        queue = order.choice([q for q in queues if q])  # the sources' messages interleave
        source, at, sys_, dia, quality = queue.pop(0)
        arrival += 5.0
        got += assembler.add_all(_message(source, at, sys_, dia, quality, arrival))
    got += assembler.flush()
    for source, cycles_sent in expected.items():
        readings = [(r.systolic, r.diastolic, r.measured_at, r.quality) for r in got if r.source == source]
        want = [(s, d, at, Quality.VALID if q is Quality.VALID else q) for s, d, at, q in cycles_sent]
        assert readings == want


@pytest.mark.req("MON-2")
def test_a_corrected_reading_at_the_same_time_is_a_new_reading() -> None:
    """Same source and measurement time but other values (a device correcting itself, or a test
    clock that did not move) is not a repeat: it is judged."""
    assembler = NibpAssembler()
    first = assembler.add_all(_message("nibp", T0, 120, 78, Quality.VALID, 1.0))
    again = assembler.add_all(_message("nibp", T0, 120, 78, Quality.VALID, 6.0))
    corrected = assembler.add_all(_message("nibp", T0, 185, 100, Quality.VALID, 11.0))
    assert [r.systolic for r in first] == [120]
    assert again == []
    assert [r.systolic for r in corrected] == [185]


@pytest.mark.req("MON-2")
def test_the_next_cycle_after_repeats_is_read() -> None:
    """Repeats of one cycle never hold back the next one, even with the same values."""
    assembler = NibpAssembler()
    readings = []
    for k in range(3):
        readings += assembler.add_all(_message("nibp", T0, 120, 78, Quality.VALID, 1.0 + k))
    readings += assembler.add_all(_message("nibp", T0 + timedelta(minutes=5), 120, 78, Quality.VALID, 300.0))
    assert [r.measured_at for r in readings] == [T0, T0 + timedelta(minutes=5)]
