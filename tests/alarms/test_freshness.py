"""A continuous value older than 30 s is never shown as current (MON-1)."""

from __future__ import annotations

import pytest

from alarms.config import load_config
from alarms.freshness import age_s, is_current
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
