"""A continuous value older than 30 s is never shown as current (MON-1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from alarms.config import ConfigError, load_config
from alarms.freshness import Freshness, age_s, freshness_state, is_current
from drivers.clock import FakeClock
from drivers.types import Quality, VitalKind
from tests.alarms.helpers import obs


@pytest.mark.req("MON-1")
def test_value_goes_stale_after_30_s(clock: FakeClock) -> None:
    config = load_config()
    o = obs(clock, VitalKind.SPO2, 97)
    clock.advance(30)
    assert is_current(o, clock, config) and age_s(o, clock) == 30
    clock.advance(0.5)
    assert not is_current(o, clock, config)


@pytest.mark.req("MON-6")
def test_invalid_value_is_never_current(clock: FakeClock) -> None:
    assert not is_current(obs(clock, VitalKind.SPO2, None, Quality.PROBE_OFF), clock, load_config())


@pytest.mark.req("MON-1")
def test_freshness_state_uses_the_configured_limits(clock: FakeClock) -> None:
    """Finding 14 (issue 8): the screen hard-coded 10 s / 30 s; the one rule lives here now."""
    config = load_config()
    o = obs(clock, VitalKind.SPO2, 97)
    clock.advance(9.9)
    assert freshness_state(o, clock, config) is Freshness.CURRENT
    clock.advance(0.1)  # no_valid_spo2_s: the alarm system no longer judges it either
    assert freshness_state(o, clock, config) is Freshness.STALE
    clock.advance(20)  # stale_after_s: still shown greyed, with its age
    assert freshness_state(o, clock, config) is Freshness.STALE and is_current(o, clock, config)
    clock.advance(0.5)
    assert freshness_state(o, clock, config) is Freshness.NO_VALID and not is_current(o, clock, config)


@pytest.mark.req("MON-1")
def test_a_clinic_configuration_changes_what_the_screen_may_claim(clock: FakeClock, tmp_path: Path) -> None:
    """Finding 14: a clinic's ``stale_after_s`` must change the screen, not be ignored."""
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("monitoring:\n  no_valid_spo2_s: 5\n  stale_after_s: 60\n")
    config = load_config(clinic)
    o = obs(clock, VitalKind.PULSE_RATE, 72)
    clock.advance(5)
    assert freshness_state(o, clock, config) is Freshness.STALE
    clock.advance(55)
    assert freshness_state(o, clock, config) is Freshness.STALE
    clock.advance(1)
    assert freshness_state(o, clock, config) is Freshness.NO_VALID


@pytest.mark.req("MON-6")
def test_no_valid_value_is_never_shown(clock: FakeClock) -> None:
    """Finding 14: a flagged value or none at all is "---", never a number."""
    config = load_config()
    assert freshness_state(None, clock, config) is Freshness.NO_VALID
    flagged = obs(clock, VitalKind.SPO2, 97, Quality.LOW_PERFUSION)
    assert freshness_state(flagged, clock, config) is Freshness.NO_VALID


@pytest.mark.req("MON-1")
def test_a_stale_limit_below_the_no_signal_limit_is_rejected(tmp_path: Path) -> None:
    """Finding 14: a value cannot be greyed before it has stopped being current."""
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("monitoring:\n  no_valid_spo2_s: 20\n  stale_after_s: 15\n")
    with pytest.raises(ConfigError, match="stale_after_s"):
        load_config(clinic)
