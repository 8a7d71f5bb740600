"""A value the device cannot have measured is a technical alarm, never judged (ALM-2, MON-6; issue 11)."""

from __future__ import annotations

import pytest

from alarms.config import load_config
from alarms.manager import AlarmEventKind as K
from alarms.manager import AlarmManager
from drivers.clock import FakeClock
from drivers.suntech import BpData, SuntechAdvantageDriver
from drivers.types import Quality, VitalKind


@pytest.mark.req("ALM-2")
@pytest.mark.req("MON-6")
def test_a_reading_outside_the_cuffs_range_is_data_implausible() -> None:
    """Systolic 270 is clinically possible (the clinic's range goes to 300) but past the SunTech's
    260: the frame was garbled, so the reading is not judged and the link raises "data implausible"."""
    clock = FakeClock()
    manager = AlarmManager(clock, load_config())
    driver = SuntechAdvantageDriver("cuff")
    result = driver.feed(BpData(270, 80, 143, 72).encode(), clock.stamp())
    nibp = [o for o in result.observations if o.kind.is_nibp]
    assert {o.quality for o in nibp} == {Quality.IMPLAUSIBLE}
    events = [e for o in result.observations for e in manager.observe(o)]
    assert (K.STARTED, "data_implausible@cuff") in [(e.kind, e.key) for e in events]
    assert all("bp_" not in e.key for e in events)
    # The next good reading clears it.
    clock.advance(300)
    good = driver.feed(BpData(128, 80, 96, 72).encode(), clock.stamp())
    cleared = [(e.kind, e.key) for o in good.observations for e in manager.observe(o)]
    assert (K.ENDED, "data_implausible@cuff") in cleared
    assert all(o.is_valid for o in good.observations if o.kind is VitalKind.NIBP_SYSTOLIC)
