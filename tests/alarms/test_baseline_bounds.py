"""A long pre-infusion phase: the baseline considers only current readings and holds a bounded
amount (issue 11, finding 1; THR-2, THR-8, MON-8).

The accelerated 24-hour session found every SpO2 and pulse sample kept as a baseline candidate
(~31 000 an hour with three devices), all listed on the baseline screen and read back on resume.
The rule now considers only readings within ``baseline.max_age_min`` before the newest one. The
properties below drive hours of generated pre-infusion data (several oximeters with their own
rates, clocks and gaps, flagged and impossible samples, NIBP cycles with gaps) and check the
calculator against a reference written here over the raw list.
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.baseline import BaselineCalculator, BaselineField, BaselineNotReadyError
from alarms.config import ClinicalConfig, ConfigError, load_config
from alarms.nibp_reading import NibpReading
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind

CONFIG: ClinicalConfig = load_config()
RULES = CONFIG.baseline
MAX_AGE = timedelta(minutes=RULES.max_age_min)
T0 = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Oximeter:
    """One oximeter: its name, sample interval, clock offset and stretches with no data."""

    source: str
    every_s: int
    skew_s: int
    gaps: tuple[tuple[int, int], ...]  # (start s, length s) with no samples


def _sample(at: datetime, kind: VitalKind, value: float | None, quality: Quality, source: str) -> Observation:
    return Observation(kind, value, CANONICAL_UNIT[kind], at, at, 0.0, source, quality)


oximeters = st.builds(
    Oximeter,
    source=st.sampled_from(["masimo", "nonin", "hl7-gw"]),
    every_s=st.integers(min_value=5, max_value=60),
    skew_s=st.integers(min_value=-90, max_value=90),
    gaps=st.lists(st.tuples(st.integers(0, 6 * 3600), st.integers(60, 3 * 3600)), max_size=3).map(tuple),
)


@st.composite
def phases(draw: st.DrawFn) -> list[NibpReading | Observation]:
    """Hours of pre-infusion data in arrival order: NIBP cycles (with gaps and some impossible
    readings) and samples of up to three oximeters (flagged, impossible, skewed, with gaps)."""
    hours = draw(st.floats(min_value=0.5, max_value=6))
    end_s = int(hours * 3600)
    devices = draw(st.lists(oximeters, min_size=1, max_size=3, unique_by=lambda o: o.source))
    # Values from a drawn seed: thousands of samples would overflow hypothesis's own buffer.
    rnd = random.Random(draw(st.integers(0, 2**32)))
    events: list[tuple[float, NibpReading | Observation]] = []
    t = draw(st.integers(0, 600))
    while t < end_s:
        systolic, diastolic = rnd.randint(108, 126), rnd.randint(68, 80)
        if rnd.random() < 0.05:
            systolic, diastolic = diastolic, systolic  # swapped: implausible, listed unused
        at = T0 + timedelta(seconds=t)
        reading = NibpReading(float(systolic), float(diastolic), None, at, "nibp")
        events.append((t + rnd.randint(0, 60), reading))  # a result arrives after its start
        t += rnd.choice([60, 120, 180, 300, 300, 600, 2400, 5400])
    for device in devices:
        for s in range(0, end_s, device.every_s):
            if any(start <= s < start + length for start, length in device.gaps):
                continue
            at = T0 + timedelta(seconds=s + device.skew_s)
            quality = Quality.ARTIFACT if rnd.random() < 0.08 else Quality.VALID
            spo2 = 130.0 if rnd.random() < 0.03 else float(rnd.randint(93, 100))
            events.append((s, _sample(at, VitalKind.SPO2, spo2, quality, device.source)))
            pulse = float(rnd.randint(55, 95))
            events.append((s, _sample(at, VitalKind.PULSE_RATE, pulse, quality, device.source)))
    events.sort(key=lambda e: e[0])  # arrival order: sources interleave, skewed clocks disorder
    return [e for _, e in events]


def _accepted(item: NibpReading | Observation) -> bool:
    """Whether the rule can use this reading at all (THR-8, MON-6): valid, inside the possible
    range, diastolic below systolic. Written from the requirement, not from the calculator."""
    if isinstance(item, NibpReading):
        return (
            item.quality is Quality.VALID
            and item.systolic is not None
            and item.diastolic is not None
            and 40 <= item.systolic <= 300
            and 20 <= item.diastolic <= 200
            and item.diastolic < item.systolic
        )
    low, high = CONFIG.possible_ranges[item.kind]
    return item.quality is Quality.VALID and item.value is not None and low <= item.value <= high


def _offer(calc: BaselineCalculator, item: NibpReading | Observation) -> None:
    if isinstance(item, NibpReading):
        calc.add_nibp(item)
    else:
        calc.add_observation(item)


def reference(raw: list[NibpReading | Observation]) -> tuple[float, float, float | None, float | None] | None:
    """The rule over the raw list: readings within max_age before the newest usable one; the latest
    NIBP readings spaced min_spacing_s apart counting back; SpO2/pulse medians over their window."""
    usable = [r for r in raw if _accepted(r)]
    if not usable:
        return None
    newest = max(r.measured_at for r in usable)
    current = [r for r in usable if r.measured_at >= newest - MAX_AGE]
    nibp = sorted((r for r in current if isinstance(r, NibpReading)), key=lambda r: r.measured_at)
    picked: list[NibpReading] = []
    for r in reversed(nibp):
        if not picked or (picked[-1].measured_at - r.measured_at).total_seconds() >= RULES.min_spacing_s:
            picked.append(r)
    if len(picked) < RULES.min_nibp_readings:
        return None
    start, end = picked[-1].measured_at, picked[0].measured_at

    def median(kind: VitalKind) -> float | None:
        values = [
            o.value
            for o in current
            if isinstance(o, Observation)
            and o.kind is kind
            and o.value is not None
            and start <= o.measured_at <= end
        ]
        return statistics.median(values) if values else None

    systolic = statistics.median(r.systolic for r in picked if r.systolic is not None)
    diastolic = statistics.median(r.diastolic for r in picked if r.diastolic is not None)
    return systolic, diastolic, median(VitalKind.SPO2), median(VitalKind.PULSE_RATE)


@pytest.mark.req("THR-2")
@pytest.mark.req("THR-8")
@pytest.mark.req("MON-8")
@settings(max_examples=40, deadline=None)
@given(phases())
def test_a_long_pre_infusion_phase_holds_only_current_readings_and_proposes_the_rule(
    raw: list[NibpReading | Observation],
) -> None:
    """Finding 1 (issue 11): hours in setup/baseline kept every oximeter sample. Whatever the
    phase's length, sources, clocks and gaps, what the calculator holds is exactly the usable
    readings within max_age before the newest (so bounded by that time), the candidates are a
    bounded summary, and the proposed baseline equals the rule applied to the raw list."""
    calc = BaselineCalculator(CONFIG)
    offered: list[NibpReading | Observation] = []
    most_held = 0
    for item in raw:
        _offer(calc, item)
        offered.append(item)
        held = len(calc._spo2) + len(calc._pulse) + len(calc._nibp)
        most_held = max(most_held, held)
    usable = [r for r in offered if _accepted(r)]
    if usable:
        newest = max(r.measured_at for r in usable)
        current = [r for r in usable if r.measured_at >= newest - MAX_AGE]
        assert len(calc._spo2) == sum(
            isinstance(r, Observation) and r.kind is VitalKind.SPO2 for r in current
        )
        assert len(calc._pulse) == sum(
            isinstance(r, Observation) and r.kind is VitalKind.PULSE_RATE for r in current
        )
        assert len(calc._nibp) == sum(isinstance(r, NibpReading) for r in current)
        assert all(r.measured_at >= newest - MAX_AGE for r, _ in calc._left_out)
    # Bounded by max_age, never by the phase's length: per source at most one SpO2 and one pulse
    # sample every 5 s (plus the skew), and an NIBP cycle a minute.
    sources = {r.source for r in raw if isinstance(r, Observation)}
    window_s = MAX_AGE.total_seconds() + 2 * 90 + 60
    assert most_held <= len(sources) * 2 * (window_s / 5 + 1) + window_s / 60 + 2
    candidates = calc.candidates()
    oximetry = [c for c in candidates if c.field in (BaselineField.SPO2, BaselineField.PULSE)]
    assert len(oximetry) <= 2 * 3 * len(sources)  # per field, source and part: before, in, after
    assert len(candidates) - len(oximetry) <= 3 * (len(calc._nibp) + len(calc._left_out))
    assert sum(c.samples for c in oximetry) == len(calc._spo2) + len(calc._pulse)
    expected = reference(offered)
    try:
        b = calc.propose()
    except BaselineNotReadyError:
        assert expected is None
        return
    assert expected == (b.systolic, b.diastolic, b.spo2, b.pulse)
    for c in b.candidates:
        if c.used and c.field in (BaselineField.SPO2, BaselineField.PULSE):
            assert c.first_at is not None
            assert b.window_start <= c.first_at <= c.measured_at <= b.window_end


def _nibp(at: datetime, systolic: float, diastolic: float) -> NibpReading:
    return NibpReading(systolic, diastolic, None, at, "nibp")


@pytest.mark.req("THR-2")
def test_a_reading_older_than_max_age_before_the_newest_is_dropped_and_listed_nowhere() -> None:
    """Finding 1: the baseline is the patient's current resting state. A pressure from more than
    max_age before the newest reading is neither used nor listed; one exactly at the edge is."""
    calc = BaselineCalculator(CONFIG)
    old = _nibp(T0, 160, 100)  # the patient an hour and more ago, before settling
    calc.add_nibp(old)
    edge = T0 + timedelta(seconds=1)
    calc.add_nibp(_nibp(edge, 120, 80))
    newest = edge + MAX_AGE
    calc.add_nibp(_nibp(newest, 124, 82))
    b = calc.propose()
    assert (b.systolic, b.diastolic) == (122, 81)
    assert b.window_start == edge
    assert old.measured_at not in {c.measured_at for c in b.candidates}
    # An oximeter sample newer still moves the window on: the edge reading is then too old.
    calc.add_observation(_sample(newest + timedelta(seconds=2), VitalKind.SPO2, 97, Quality.VALID, "masimo"))
    with pytest.raises(BaselineNotReadyError, match="1 so far"):
        calc.propose()


@pytest.mark.req("THR-2")
def test_an_hour_of_samples_from_three_oximeters_is_a_handful_of_candidates() -> None:
    """Finding 1: an hour at 1 Hz from three oximeters was 21 600 candidates on the screen and in
    memory per propose; now one median per source, field and part (before, inside, after the NIBP
    window)."""
    calc = BaselineCalculator(CONFIG)
    for s in range(3600):
        at = T0 + timedelta(seconds=s)
        for source in ("masimo", "nonin", "hl7-gw"):
            calc.add_observation(_sample(at, VitalKind.SPO2, 97 + s % 3, Quality.VALID, source))
            calc.add_observation(_sample(at, VitalKind.PULSE_RATE, 70 + s % 5, Quality.VALID, source))
        if s in (1200, 1500, 1800):
            calc.add_nibp(_nibp(at, 120, 80))
    b = calc.propose()
    oximetry = [c for c in b.candidates if c.field in (BaselineField.SPO2, BaselineField.PULSE)]
    assert len(oximetry) == 2 * 3 * 3  # per field and source: before, inside, after the window
    used = [c for c in oximetry if c.used]
    assert {c.samples for c in used} == {601}
    assert b.spo2 == 98 and b.pulse == 72


@pytest.mark.req("THR-2")
@pytest.mark.parametrize("minutes", ["0", "1"])
def test_max_age_is_required_positive_and_long_enough_for_the_readings(tmp_path: Path, minutes: str) -> None:
    """Finding 1: max_age_min is a clinic's number, validated: it must hold min_nibp_readings
    readings min_spacing_s apart (1 min cannot hold two readings 2 min apart; 0 holds none)."""
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(f"baseline:\n  max_age_min: {minutes}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_age_min"):
        load_config(clinic)


@pytest.mark.req("THR-2")
@pytest.mark.req("ALM-4")
@given(ahead_h=st.floats(min_value=1.1, max_value=24 * 365 * 5), every_s=st.integers(1, 30))
@settings(max_examples=40, deadline=None)
def test_an_oximeter_whose_clock_is_ahead_never_ages_the_pressures_out(ahead_h: float, every_s: int) -> None:
    """A device clock ahead (another zone, a wrong date) must not fool the window: the newest time
    follows arrival, so the cuff's pressures, stamped on arrival, stay current and the baseline
    is offered. Before, one oximeter an hour or more ahead aged every pressure out for good."""
    calc = BaselineCalculator(CONFIG)
    ahead = timedelta(hours=ahead_h)
    spacing = timedelta(seconds=RULES.min_spacing_s)
    for k in range(RULES.readings_when_spread):
        at = T0 + k * spacing
        calc.add_nibp(NibpReading(120 + k, 80, None, at, "nibp", received_at=at))
        for s in range(0, int(spacing.total_seconds()), every_s):
            arrived = at + timedelta(seconds=s)
            calc.add_observation(
                Observation(VitalKind.SPO2, 97, "%", arrived + ahead, arrived, 0.0, "masimo", Quality.VALID)
            )
    b = calc.propose()
    assert b.systolic == 121 and b.diastolic == 80
