"""The clinical defaults load from YAML, validate, and merge a clinic's overrides (THR-5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alarms.conditions import ConditionId
from alarms.config import ConfigError, load_config
from drivers.types import VitalKind


@pytest.mark.req("THR-5")
def test_defaults_hold_every_documented_value() -> None:
    config = load_config()
    assert (config.band.low_factor, config.band.high_factor) == (1.15, 1.30)
    assert config.baseline.min_nibp_readings == 2
    assert config.baseline.min_spacing_s == 120
    assert config.nibp.allowed_intervals_min == (1, 2, 3, 5, 10, 15)
    assert config.nibp.default_interval_min == 5
    assert config.nibp.shortened_interval_min == 2
    assert config.monitoring.no_valid_spo2_s == 10
    assert config.monitoring.stale_after_s == 30
    assert config.audio_pause.default_s == 120
    assert config.delay_s(ConditionId.SPO2_LOW) == 10
    assert config.possible_ranges[VitalKind.SPO2] == (0, 100)
    assert config.protocols.bp_spike == "bp-spike"


@pytest.mark.req("THR-5")
def test_every_condition_has_a_delay() -> None:
    config = load_config()
    assert set(config.alarm_delays_s) == set(ConditionId)


@pytest.mark.req("THR-5")
def test_clinic_file_overrides_nested_keys_and_keeps_the_rest(tmp_path: Path) -> None:
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("band:\n  high_factor: 1.25\nalarm_delays_s:\n  spo2_low: 15\n")
    config = load_config(clinic)
    assert config.band.high_factor == 1.25
    assert config.band.low_factor == 1.15
    assert config.delay_s(ConditionId.SPO2_LOW) == 15
    assert config.delay_s(ConditionId.PULSE_HIGH) == 10


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("band:\n  high_factor: 1.10\n", "high_factor"),
        ("nibp:\n  default_interval_min: 4\n", "default_interval_min"),
        ("bogus_key: 1\n", "bogus_key"),
        ("alarm_delays_s:\n  not_a_condition: 3\n", "alarm_delays_s"),
        ("- just\n- a list\n", "mapping"),
        ("band: [unclosed\n", "YAML"),
        ("audio_pause:\n  default_s: 600\n", "max_s"),
    ],
)
def test_invalid_clinic_files_are_rejected_with_the_key_named(
    tmp_path: Path, text: str, fragment: str
) -> None:
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(text)
    with pytest.raises(ConfigError, match=fragment):
        load_config(clinic)


def test_missing_clinic_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_possible_range_check() -> None:
    config = load_config()
    assert config.is_possible(VitalKind.SPO2, 100)
    assert not config.is_possible(VitalKind.SPO2, 101)
    assert not config.is_possible(VitalKind.PULSE_RATE, 400)
    assert config.is_possible(VitalKind.NIBP_SYSTOLIC, 40)
