"""One cable pull is one technical alarm for that device (ALM-2), and a latched alarm keeps its
worst reading as well as its last (ALM-3). Issue 10: "One cable pull raises three alarms"; "a
latched alarm keeps its worst reading, not only the last"."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from alarms.conditions import CONDITIONS, ConditionId, alarm_key
from alarms.config import load_config
from alarms.manager import AlarmManager
from drivers.clock import FakeClock
from drivers.types import DeviceEvent, DeviceEventKind, Quality, VitalKind
from tests.alarms.helpers import obs

CONFIG = load_config()
LINK = {ConditionId.DEVICE_DISCONNECTED, ConditionId.DEVICE_SILENT}


def _technical(manager: AlarmManager, source: str) -> list[ConditionId]:
    return sorted(a.condition for a in manager.active() if a.source == source and a.technical and a.present)


def _stream(manager: AlarmManager, clock: FakeClock, seconds: int, source: str = "ox1") -> None:
    for _ in range(seconds):
        manager.observe(obs(clock, VitalKind.SPO2, 97, source=source))
        manager.observe(obs(clock, VitalKind.PULSE_RATE, 72, source=source))
        clock.advance(1)
        manager.tick()


@pytest.mark.req("ALM-2")
def test_a_cable_pull_is_one_alarm_naming_what_it_stopped() -> None:
    """Finding: link down + silent + no valid SpO2 were three alarms for one pulled cable."""
    clock = FakeClock()
    manager = AlarmManager(clock, CONFIG)
    _stream(manager, clock, 5)
    manager.device_event(DeviceEvent(DeviceEventKind.SILENT, "ox1", clock.stamp()))
    manager.device_event(DeviceEvent(DeviceEventKind.DISCONNECTED, "ox1", clock.stamp()))
    for _ in range(40):
        clock.advance(1)
        manager.tick()
    assert _technical(manager, "ox1") == [ConditionId.DEVICE_DISCONNECTED]
    (alarm,) = [a for a in manager.active() if a.technical]
    assert "no valid SpO2" in alarm.message
    # Plugged back in and sending: the link alarm ends, and the vitals are judged again.
    manager.device_event(DeviceEvent(DeviceEventKind.CONNECTED, "ox1", clock.stamp()))
    _stream(manager, clock, 2)
    assert _technical(manager, "ox1") == []


@pytest.mark.req("ALM-2")
def test_no_valid_spo2_before_the_link_is_called_dead_is_folded_into_it() -> None:
    """ "No valid SpO2" fires at 10 s, the silence check later: when the link alarm comes, the SpO2
    alarm ends into it; the link alarm keeps the higher of the two priorities."""
    clock = FakeClock()
    manager = AlarmManager(clock, CONFIG)
    _stream(manager, clock, 3)
    for _ in range(12):
        clock.advance(1)
        manager.tick()
    assert _technical(manager, "ox1") == [ConditionId.SPO2_NO_SIGNAL]
    manager.device_event(DeviceEvent(DeviceEventKind.SILENT, "ox1", clock.stamp()))
    assert _technical(manager, "ox1") == [ConditionId.DEVICE_SILENT]
    (alarm,) = [a for a in manager.active() if a.technical]
    assert alarm.priority >= CONDITIONS[ConditionId.SPO2_NO_SIGNAL].priority


@dataclass(frozen=True)
class _Step:
    device: str
    action: str  # "sample", "probe_off", "disconnect", "connect", "silent", "resumed", "wait"
    seconds: float = 1.0


_steps = st.lists(
    st.builds(
        _Step,
        device=st.sampled_from(["ox1", "ox2", "ox3"]),
        action=st.sampled_from(
            ["sample", "sample", "sample", "probe_off", "disconnect", "connect", "silent", "resumed", "wait"]
        ),
        seconds=st.floats(min_value=0.2, max_value=15.0),
    ),
    min_size=1,
    max_size=60,
)


@pytest.mark.req("ALM-2")
@settings(max_examples=120, deadline=None)
@given(steps=_steps)
def test_over_interleaved_devices_a_dead_device_has_one_technical_alarm_and_others_are_untouched(
    steps: list[_Step],
) -> None:
    """Three oximeters, their samples, probe-offs, cable pulls, silences and reconnections
    interleaved at random times, a tick every step. After every step: a device whose link is down
    or silent has exactly one technical alarm, its link's (disconnected over silent); and every
    device's alarms are exactly those of an alarm system that saw that device alone (a dead device
    neither adds to nor hides another's alarms)."""
    clock = FakeClock()
    together = AlarmManager(clock, CONFIG)
    alone = {d: AlarmManager(clock, CONFIG) for d in ("ox1", "ox2", "ox3")}
    disconnected: set[str] = set()
    silent: set[str] = set()
    for step in steps:
        d = step.device
        targets = (together, alone[d])
        if step.action in ("sample", "probe_off"):
            quality = Quality.VALID if step.action == "sample" else Quality.PROBE_OFF
            value = 96.0 if step.action == "sample" else None
            for m in targets:
                m.observe(obs(clock, VitalKind.SPO2, value, quality, source=d))
                m.observe(obs(clock, VitalKind.PULSE_RATE, 70.0 if value else None, quality, source=d))
        elif step.action == "wait":
            clock.advance(step.seconds)
        else:
            kind = {
                "disconnect": DeviceEventKind.DISCONNECTED,
                "connect": DeviceEventKind.CONNECTED,
                "silent": DeviceEventKind.SILENT,
                "resumed": DeviceEventKind.RESUMED,
            }[step.action]
            if kind is DeviceEventKind.DISCONNECTED:
                disconnected.add(d)
            elif kind is DeviceEventKind.CONNECTED:
                disconnected.discard(d)
                silent.discard(d)
            elif kind is DeviceEventKind.SILENT:
                silent.add(d)
            else:
                silent.discard(d)
            for m in targets:
                m.device_event(DeviceEvent(kind, d, clock.stamp()))
        clock.advance(0.5)
        for m in (together, *alone.values()):
            m.tick()
        for device, by_itself in alone.items():
            technical = _technical(together, device)
            if device in disconnected:
                assert technical == [ConditionId.DEVICE_DISCONNECTED]
            elif device in silent:
                assert technical == [ConditionId.DEVICE_SILENT]
            else:
                assert not set(technical) & LINK
            mine = {(a.key, a.priority, a.present) for a in together.active() if a.source == device}
            assert mine == {(a.key, a.priority, a.present) for a in by_itself.active()}


@pytest.mark.req("ALM-3")
def test_a_latched_spo2_alarm_keeps_the_lowest_reading_as_well_as_the_last() -> None:
    """Finding: the latched alarm showed only the last reading (e.g. 88 %), not how low it went."""
    clock = FakeClock()
    manager = AlarmManager(clock, CONFIG)
    for value in [84] * 11 + [78, 80, 83, 88, 97, 97]:
        manager.observe(obs(clock, VitalKind.SPO2, value))
        clock.advance(1)
        manager.tick()
    (alarm,) = [a for a in manager.active() if a.condition is ConditionId.SPO2_LOW]
    assert alarm.latched
    assert alarm.worst_value == 78
    assert "SpO2 78 %" in alarm.worst_text
    assert "88" in alarm.message  # the last reading it alarmed on is still the message


@pytest.mark.req("ALM-3")
def test_a_pulse_high_alarm_keeps_the_highest_rate() -> None:
    clock = FakeClock()
    manager = AlarmManager(clock, CONFIG)
    for value in [160] * 11 + [185, 170]:
        manager.observe(obs(clock, VitalKind.PULSE_RATE, value))
        clock.advance(1)
        manager.tick()
    (alarm,) = [a for a in manager.active() if a.condition is ConditionId.PULSE_HIGH]
    assert alarm.worst_value == 185 and "185 /min" in alarm.worst_text


@pytest.mark.req("ALM-3")
@settings(max_examples=120, deadline=None)
@given(
    runs=st.lists(
        st.tuples(st.integers(min_value=70, max_value=100), st.integers(min_value=1, max_value=14)),
        min_size=1,
        max_size=12,
    ),
    acks=st.sets(st.integers(min_value=0, max_value=150), max_size=6),
)
def test_the_worst_reading_is_the_lowest_since_the_alarm_was_first_shown(
    runs: list[tuple[int, int]], acks: set[int]
) -> None:
    """Over random SpO2 series at 1 Hz with acknowledgements at random seconds: whenever SpO2 low
    is shown, its worst value is the lowest SpO2 since it was last not shown (latched and
    recurring occurrences included), and it survives a snapshot and restore."""
    clock = FakeClock()
    manager = AlarmManager(clock, CONFIG)
    key = alarm_key(ConditionId.SPO2_LOW, "oximeter")
    # Runs of one value, so onset delays are met (a value below the floor for 10 s and more).
    values = [value for value, repeat in runs for _ in range(repeat)]
    shown_ever = False
    worst: list[float] = []  # the readings judged since the alarm was last not shown

    def check(current: float) -> None:
        shown = {a.key: a for a in manager.active()}
        if key not in shown:
            worst.clear()
            return
        nonlocal shown_ever
        shown_ever = True
        worst.append(current)
        assert shown[key].worst_value == min(worst)

    for second, value in enumerate(values):
        manager.observe(obs(clock, VitalKind.SPO2, value))
        check(value)
        if second in acks and key in {a.key for a in manager.active()}:
            manager.acknowledge(key, "Dr Ada Grey")
            check(value)
        clock.advance(1)
        manager.tick()  # an onset delay may end here: judged on the newest value
        check(value)
    restored = AlarmManager(clock, CONFIG)
    restored.restore(manager.snapshot())
    assert [a.worst_value for a in restored.active() if a.key == key] == [
        a.worst_value for a in manager.active() if a.key == key
    ]
