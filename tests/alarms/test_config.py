"""The clinical defaults load from YAML, validate, and merge a clinic's overrides (THR-5)."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms.conditions import ConditionId
from alarms.config import ConfigError, load_config
from drivers.types import VitalKind
from tests.hostile_files import HOSTILE, IDS, Hostile, assert_names_file_and_line, rejected, write


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


@pytest.mark.req("THR-5")
@pytest.mark.parametrize("case", HOSTILE, ids=IDS)
def test_a_hostile_clinic_file_is_a_config_error_naming_file_and_line(tmp_path: Path, case: Hostile) -> None:
    """Finding 15: a deeply nested clinic config crashed start-up with RecursionError, an alias
    bomb stalled it for 43 s, a non-UTF-8 file ended in a UnicodeDecodeError traceback."""
    path = write(tmp_path, case, "clinic.yaml")
    error = rejected(lambda: load_config(path), ConfigError)
    assert_names_file_and_line(str(error), path, case)


@pytest.mark.req("THR-5")
@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("band:\n  high_factor: 1.10\n", 1, "band: band.high_factor must be greater"),
        ("# clinic\nnibp:\n  default_interval_min: 4\n", 2, "nibp: nibp.default_interval_min must be one of"),
        ("band:\n  low_factor: 1.1\nbogus_key: 1\n", 3, "bogus_key: unknown setting 'bogus_key'"),
        ("alarm_delays_s:\n  spo2_low: 5\n  not_a_condition: 3\n", 3, "alarm_delays_s.not_a_condition:"),
        ("audio_pause:\n  default_s: 600\n", 1, "must not exceed audio_pause.max_s"),
        ("spo2:\n  high_priority_below: lots\n", 2, "spo2.high_priority_below:"),
        ("band: [unclosed\n", 2, "YAML syntax error"),
        ("band:\n  low_factor: 1.1\nband:\n  high_factor: 1.4\n", 3, "duplicate key 'band'"),
    ],
)
def test_each_problem_in_a_clinic_file_names_its_line(
    tmp_path: Path, text: str, line: int, fragment: str
) -> None:
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text(text)
    error = rejected(lambda: load_config(clinic), ConfigError)
    assert f"{clinic}:{line}: " in str(error), str(error)
    assert fragment in str(error)


@pytest.mark.req("THR-5")
def test_an_empty_clinic_file_is_refused_not_taken_as_no_changes(tmp_path: Path) -> None:
    """A truncated or blank clinic file must not silently run the monitor on factory defaults."""
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("# our limits\n")
    with pytest.raises(ConfigError, match=r"clinic\.yaml:1: the file is empty"):
        load_config(clinic)


@pytest.mark.req("THR-5")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    raw=st.one_of(
        st.binary(max_size=400),
        st.text(max_size=400).map(lambda t: t.encode("utf-8", errors="surrogatepass")),
        st.sampled_from(
            [b"band:\n  high_factor: ", b"nibp: {", b"alarm_delays_s:\n  spo2_low: -1\n"]
        ).flatmap(lambda head: st.binary(max_size=40).map(lambda tail: head + tail)),
    )
)
def test_whatever_the_clinic_file_holds_the_answer_is_a_config_or_a_config_error(
    tmp_path: Path, raw: bytes
) -> None:
    """Property (finding 15): no input ends in any exception but ConfigError, and every
    ConfigError says file:line."""
    clinic = tmp_path / "clinic.yaml"
    clinic.write_bytes(raw)
    try:
        load_config(clinic)
    except ConfigError as exc:
        assert str(exc).startswith(f"{clinic}:")
        assert str(exc).split(":", 2)[1].isdigit()
