"""Scenarios as data: shipped files load, bad files name the file and field, timelines say what they claim."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from simulators.scenario import (
    CuffError,
    DeviceSilence,
    IrregularPulse,
    ProbeOff,
    Scenario,
    ScenarioError,
    list_scenarios,
    load_scenario,
    parse_scenario,
    parse_seconds,
    scenario_names,
)
from tests.hostile_files import HOSTILE, IDS, Hostile, assert_names_file_and_line, rejected
from tests.hostile_files import write as write_case

pytestmark = pytest.mark.req("DRL-1")

REQUIRED = {
    "baseline",
    "ketamine-expected-rise",
    "bp-spike",
    "desaturation",
    "tachycardia",
    "bradycardia",
    "irregular-pulse",
    "probe-off",
    "cuff-error",
    "device-silence",
    "full-session",
}


def minimal(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "tiny",
        "description": "a test scenario",
        "duration": "2m",
        "keyframes": [{"at": 0, "spo2": 98, "pulse": 70, "systolic": 120, "diastolic": 80}],
    }
    data.update(overrides)
    return data


def ramp(track: str, scenario: Scenario, t: float) -> float:
    times, values = scenario.track(track)
    return float(np.interp(t, times, values))


def test_every_required_scenario_ships_and_validates() -> None:
    scenarios = list_scenarios()
    names = {s.name for s in scenarios}
    assert names >= REQUIRED
    assert set(scenario_names()) == names
    for scenario in scenarios:
        assert len(scenario.description) > 60, f"{scenario.name} needs a real description"
        assert scenario.duration > 0


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (2.5, 2.5),
        ("90", 90.0),
        ("1m30s", 90.0),
        ("10m", 600.0),
        ("1h", 3600.0),
        ("01:30", 90.0),
        ("1:00:00", 3600.0),
        ("2m30s", 150.0),
        ("45s", 45.0),
    ],
)
def test_durations_parse(text: object, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "5 minutes", "-3", -3, True, None, "1m1h", "m"])
def test_bad_durations_are_refused(text: object) -> None:
    with pytest.raises(ValueError):
        parse_seconds(text)


def write(tmp_path: Path, data: Any, name: str = "bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def test_a_value_out_of_range_names_the_file_and_the_field(tmp_path: Path) -> None:
    data = minimal()
    data["keyframes"].append({"at": "1m", "spo2": 120})
    path = write(tmp_path, data)
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    assert "keyframes[1].spo2" in message


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"duration": "later"}, "duration"),
        ({"seed": -1}, "seed"),
        ({"name": "Bad Name"}, "name"),
        ({"colour": "red"}, "colour"),
        ({"events": [{"kind": "probe-off", "from": "2m", "to": "1m"}]}, "events[0]"),
        ({"events": [{"kind": "meteor", "at": 1}]}, "events[0]"),
        ({"events": [{"kind": "cuff-error", "cycle": 0}]}, "events[0].cycle"),
        ({"nibp": {"interval": "20s", "measurement": "40s"}}, "nibp"),
        ({"noise": {"spo2": 30}}, "noise.spo2"),
    ],
)
def test_bad_fields_are_named(tmp_path: Path, change: dict[str, Any], field: str) -> None:
    path = write(tmp_path, minimal(**change))
    with pytest.raises(ScenarioError, match=r"bad\.yaml") as caught:
        load_scenario(path)
    assert field in str(caught.value)


def test_keyframes_out_of_order_are_refused() -> None:
    data = minimal()
    data["keyframes"].append({"at": 0, "spo2": 90})
    with pytest.raises(ScenarioError, match="time order"):
        parse_scenario(data, "inline")


def test_a_scenario_without_blood_pressure_is_refused() -> None:
    data = minimal(keyframes=[{"at": 0, "spo2": 98, "pulse": 70}])
    with pytest.raises(ScenarioError, match="systolic"):
        parse_scenario(data, "inline")


def test_diastolic_above_systolic_is_refused() -> None:
    data = minimal(keyframes=[{"at": 0, "spo2": 98, "pulse": 70, "systolic": 80, "diastolic": 90}])
    with pytest.raises(ScenarioError, match=r"keyframes\[0\].*diastolic"):
        parse_scenario(data, "inline")


def test_not_yaml_and_not_a_mapping_are_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"broken\.yaml:\d+: YAML syntax error"):
        load_scenario(broken)
    with pytest.raises(ScenarioError, match=r"list\.yaml:1: a scenario must be a mapping"):
        load_scenario(write(tmp_path, [1, 2], "list.yaml"))
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "missing.yaml")


def test_yaml_tags_are_not_executed(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"evil\.yaml:1: YAML tag .* is not allowed"):
        load_scenario(path)


def test_an_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match=r"no scenario named 'nope'.*baseline"):
        load_scenario("nope")


def test_a_file_scenario_loads_by_path(tmp_path: Path) -> None:
    data = minimal(events=[{"kind": "silence", "from": 10, "to": "20s"}])
    scenario = load_scenario(str(write(tmp_path, data, "mine.yaml")))
    assert scenario.name == "tiny"
    assert scenario.duration == 120.0
    assert scenario.events == (DeviceSilence.model_validate({"kind": "silence", "from": 10, "to": 20}),)


def test_with_seed_replaces_only_the_seed() -> None:
    scenario = load_scenario("baseline")
    reseeded = scenario.with_seed(4242)
    assert reseeded.seed == 4242
    assert reseeded.model_copy(update={"seed": scenario.seed}) == scenario
    assert scenario.with_seed(None) is scenario
    with pytest.raises(ScenarioError):
        scenario.with_seed(-5)


def test_tracks_only_hold_keyframes_that_set_them() -> None:
    data = minimal()
    data["keyframes"].append({"at": 60, "systolic": 150, "diastolic": 95})
    scenario = parse_scenario(data, "inline")
    assert scenario.track("systolic") == ((0.0, 60.0), (120.0, 150.0))
    assert scenario.track("spo2") == ((0.0,), (98.0,))
    assert scenario.track("mean") == ((), ())
    with pytest.raises(KeyError):
        scenario.track("glucose")


def test_expected_rise_stays_inside_the_15_to_30_percent_band() -> None:
    scenario = load_scenario("ketamine-expected-rise")
    base_sys, base_dia = ramp("systolic", scenario, 0), ramp("diastolic", scenario, 0)
    assert (base_sys, base_dia) == (120, 78)
    peak_sys = max(scenario.track("systolic")[1])
    peak_dia = max(scenario.track("diastolic")[1])
    assert 1.15 * base_sys <= peak_sys <= 1.30 * base_sys
    assert 1.15 * base_dia <= peak_dia <= 1.30 * base_dia
    assert abs(ramp("systolic", scenario, scenario.duration) - base_sys) <= 5  # recovery


def test_bp_spike_goes_well_past_the_band_and_recovers() -> None:
    scenario = load_scenario("bp-spike")
    base = ramp("systolic", scenario, 0)
    systolic = scenario.track("systolic")[1]
    assert base == 120
    assert max(systolic) >= 1.40 * base  # comfortably beyond +30 %, even with +-3 noise
    assert any(1.15 * base <= v <= 1.30 * base for v in systolic)  # passes through the expected band
    assert ramp("systolic", scenario, scenario.duration) <= 1.05 * base


def test_desaturation_falls_from_97_to_84() -> None:
    scenario = load_scenario("desaturation")
    spo2 = scenario.track("spo2")[1]
    assert 97 in spo2
    assert min(spo2) == 84
    pulses = scenario.track("pulse")[1]
    assert max(pulses) - pulses[0] >= 15  # the pulse changes with the hypoxia


def test_heart_rate_scenarios() -> None:
    assert max(load_scenario("tachycardia").track("pulse")[1]) >= 120
    assert min(load_scenario("bradycardia").track("pulse")[1]) <= 45


def test_event_scenarios_carry_their_events() -> None:
    assert any(isinstance(e, IrregularPulse) for e in load_scenario("irregular-pulse").events)
    assert any(isinstance(e, ProbeOff) for e in load_scenario("probe-off").events)
    assert any(isinstance(e, CuffError) for e in load_scenario("cuff-error").events)
    silences = [e for e in load_scenario("device-silence").events if isinstance(e, DeviceSilence)]
    assert all(e.end - e.start > 10 for e in silences)  # long enough to trip the 10 s limit (MON-1)


def test_full_session_has_baseline_infusion_spike_and_recovery() -> None:
    scenario = load_scenario("full-session")
    assert scenario.duration == 70 * 60
    assert scenario.nibp.interval is not None and 120 <= scenario.nibp.interval <= 180
    base = ramp("systolic", scenario, 0)
    assert ramp("systolic", scenario, 10 * 60) == base  # 10 minutes of baseline
    assert 1.15 * base <= ramp("systolic", scenario, 25 * 60) <= 1.30 * base  # expected rise
    assert max(scenario.track("systolic")[1]) > 1.40 * base  # the spike
    assert ramp("systolic", scenario, scenario.duration) <= 1.05 * base  # recovered


@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_a_hostile_scenario_file_is_a_scenario_error_naming_file_and_line(
    tmp_path: Path, case: Hostile
) -> None:
    """Finding 15: scenario files are data too; they went through the same unbounded safe_load."""
    path = write_case(tmp_path, case)
    error = rejected(lambda: load_scenario(path), ScenarioError)
    assert_names_file_and_line(str(error), path, case)


def test_a_bad_field_names_its_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: tiny\ndescription: a test scenario\nduration: 2m\nkeyframes:\n"
        "  - {at: 0, spo2: 98, pulse: 70, systolic: 120, diastolic: 80}\n"
        "  - at: 1m\n    spo2: 120\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError, match=r"bad\.yaml:7: keyframes\[1\]\.spo2: "):
        load_scenario(path)
