"""MonitorCore wakes the GUI thread when data arrives, once per burst (issue 8: the alarm path)."""

from __future__ import annotations

import threading

import pytest

from bedside.monitor.core import MonitorCore
from drivers.clock import FakeClock
from drivers.types import DecodeResult, DeviceEvent, DeviceEventKind, VitalKind
from tests.alarms.helpers import obs


def _result(clock: FakeClock, value: float = 97) -> DecodeResult:
    return DecodeResult(observations=(obs(clock, VitalKind.SPO2, value),), frames=1)


@pytest.mark.req("MON-1")
def test_a_burst_from_link_threads_wakes_once_and_the_pump_re_arms(clock: FakeClock) -> None:
    """Data used to wait for a 100 ms pump timer; now the first arrival wakes the GUI thread, and
    a burst behind it does not wake it again until the pump has started draining."""
    core = MonitorCore(clock)
    wakes: list[int] = []
    core.set_waker(lambda: wakes.append(1))
    links = [threading.Thread(target=lambda: core.on_result(_result(clock), "ox")) for _ in range(8)]
    for link in links:
        link.start()
    for link in links:
        link.join()
    core.on_event(DeviceEvent(DeviceEventKind.CONNECTED, "ox", clock.stamp()))
    assert len(wakes) == 1
    report = core.pump()
    assert (report.observations, report.events) == (8, 1)
    core.on_result(_result(clock), "ox")
    assert len(wakes) == 2  # re-armed by the pump


def test_a_pump_that_stops_at_its_limit_wakes_itself_for_the_rest(clock: FakeClock) -> None:
    core = MonitorCore(clock)
    wakes: list[int] = []
    core.set_waker(lambda: wakes.append(1))
    for value in range(90, 95):
        core.on_result(_result(clock, value), "ox")
    assert core.pump(limit=3).observations == 3
    assert len(wakes) == 2
    assert core.pump().observations == 2


def test_a_waker_set_late_is_called_for_data_already_waiting_and_none_stops_it(clock: FakeClock) -> None:
    core = MonitorCore(clock)
    core.on_result(_result(clock), "ox")
    wakes: list[int] = []
    core.set_waker(lambda: wakes.append(1))
    assert wakes == [1]
    core.pump()
    core.set_waker(None)
    core.on_result(_result(clock), "ox")
    assert wakes == [1]


def test_a_failing_waker_never_breaks_the_reader_thread(clock: FakeClock) -> None:
    core = MonitorCore(clock)

    def broken() -> None:
        raise RuntimeError("window closed")

    core.set_waker(broken)
    core.on_result(_result(clock), "ox")  # logged, not raised into the link thread
    assert core.pump().observations == 1
