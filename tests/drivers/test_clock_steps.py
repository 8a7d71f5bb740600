"""This PC's clock set back or forward an hour: stamps stay in order, device-clock learning re-bases
(MON-6, ALM-4; issue 11, "clock steps").

``FakeClock.step_wall`` moves wall time only, as a person changing the PC's time (or NTP stepping
it) does; monotonic time runs on.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.clock import ClockStep, FakeClock, OsClock, SteadyClock, SystemClock
from drivers.device_clock import DeviceClockWatch
from drivers.nonin import NoninDf2Driver
from simulators.encoders.nonin import NoninDf2Encoder
from simulators.model import VitalsSnapshot

HOUR = 3600.0


def test_step_wall_moves_wall_time_only() -> None:
    clock = FakeClock()
    wall, mono = clock.now(), clock.monotonic()
    clock.step_wall(-HOUR)
    assert clock.now() == wall - timedelta(hours=1) and clock.monotonic() == mono
    clock.step_wall(2 * HOUR)
    assert clock.now() == wall + timedelta(hours=1) and clock.monotonic() == mono


@pytest.mark.req("MON-6")
def test_a_step_back_does_not_move_stamps_back(caplog: pytest.LogCaptureFixture) -> None:
    """Set back an hour: stamps run on from where they were, the step is logged and kept."""
    base = FakeClock()
    seen: list[ClockStep] = []
    clock = SteadyClock(base, on_step=seen.append)
    before = clock.stamp()
    base.advance(1)
    base.step_wall(-HOUR)
    with caplog.at_level(logging.WARNING, logger="drivers.clock"):
        after = clock.stamp()
    assert after.wall == before.wall + timedelta(seconds=1)  # a second passed, not minus an hour
    assert after.mono == before.mono + 1
    assert [(s.step_s, s.followed) for s in clock.steps] == [(-HOUR, False)] and seen == clock.steps
    assert "set back by 3600 s" in caplog.text
    base.advance(5)
    assert clock.now() == before.wall + timedelta(seconds=6)
    assert len(clock.steps) == 1  # one step, reported once


@pytest.mark.req("MON-6")
def test_a_step_forward_is_followed_and_reported() -> None:
    base = FakeClock()
    clock = SteadyClock(base)
    before = clock.now()
    base.advance(1)
    base.step_wall(HOUR)
    assert clock.now() == before + timedelta(seconds=1 + HOUR)
    assert [(s.step_s, s.followed) for s in clock.steps] == [(HOUR, True)]


def test_a_clock_set_back_then_put_right_is_two_steps_and_stamps_never_jump_back() -> None:
    base = FakeClock()
    clock = SteadyClock(base)
    t0 = clock.now()
    base.step_wall(-HOUR)
    assert clock.now() == t0
    base.advance(10)
    base.step_wall(HOUR)
    assert clock.now() == t0 + timedelta(seconds=10)
    assert [s.step_s for s in clock.steps] == [-HOUR, HOUR]
    # Steps between two readings that cancel out are no step at all.
    base.step_wall(-HOUR)
    base.step_wall(HOUR)
    assert clock.now() == t0 + timedelta(seconds=10) and len(clock.steps) == 2


@pytest.mark.req("MON-6")
@settings(max_examples=150, deadline=None)
@given(
    ops=st.lists(
        st.one_of(
            st.tuples(st.just("advance"), st.floats(0, 600)),
            st.tuples(st.just("step"), st.sampled_from([-HOUR, HOUR, -7200.0, 90.0, -90.0, 0.5, -0.5])),
        ),
        max_size=40,
    )
)
def test_stamps_never_go_back_whatever_the_clock_does(ops: list[tuple[str, float]]) -> None:
    """Any mix of time passing and the clock being set: wall stamps never decrease, never run
    slower than monotonic time, and every step beyond the tolerance is reported."""
    base = FakeClock()
    clock = SteadyClock(base, step_tolerance_s=2.0)
    last = clock.stamp()
    big_steps = 0
    for op, amount in ops:
        if op == "advance":
            base.advance(amount)
        else:
            base.step_wall(amount)
            big_steps += abs(amount) > 2.0
        stamp = clock.stamp()
        assert stamp.wall >= last.wall
        assert (stamp.wall - last.wall).total_seconds() >= (stamp.mono - last.mono) - 1e-6
        last = stamp
    assert len(clock.steps) <= big_steps


def test_the_system_clock_is_the_steady_one() -> None:
    """The app's clock keeps stamps in order; only OsClock reads the operating system raw."""
    clock = SystemClock()
    assert isinstance(clock, SteadyClock) and isinstance(clock.base, OsClock)
    assert abs((clock.now() - datetime.now(UTC)).total_seconds()) < 2
    assert clock.steps == []


@pytest.mark.req("MON-6")
def test_arrival_stamped_values_stay_in_order_across_a_step_back() -> None:
    """A Nonin (no device clock) stamps values on arrival: set the PC back and they stay in order."""
    base = FakeClock()
    clock = SteadyClock(base)
    driver = NoninDf2Driver("ox")
    encoder = NoninDf2Encoder()
    times = []
    for second in range(6):
        if second == 3:
            base.step_wall(-HOUR)
        data = encoder.encode(VitalsSnapshot(base.now(), 97, 70))
        times += [o.measured_at for o in driver.feed(data, clock.stamp()).observations]
        base.advance(1)
    assert times == sorted(times) and len(set(times)) == 6


def _learn(watch: DeviceClockWatch, base: FakeClock, device_offset_s: float, n: int) -> None:
    for _ in range(n):
        stamp = base.stamp()
        watch.observe(stamp.wall + timedelta(seconds=device_offset_s), stamp.wall, stamp.mono)
        base.advance(1)


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize("step", [-HOUR, HOUR])
def test_a_step_while_learning_the_device_offset_starts_learning_again(step: float) -> None:
    """ALM-4: a device 6 s ahead is learned as 6 s ahead, not as an hour off, when this PC's clock
    is set during learning (the offsets before the step are measured against the old time)."""
    base = FakeClock()
    watch = DeviceClockWatch("ox", tolerance_s=30, learn_samples=20)
    device_wall = base.now() + timedelta(seconds=6)
    for i in range(30):
        if i == 10:
            base.step_wall(step)
        stamp = base.stamp()
        watch.observe(device_wall, stamp.wall, stamp.mono)  # the device's own clock runs on
        device_wall += timedelta(seconds=1)
        base.advance(1)
    assert watch.rebases == 1
    assert watch.learned is not None
    assert watch.offset_s == pytest.approx(6 - step)  # against the PC's new time
    assert watch.learned.samples == 20


@pytest.mark.req("ALM-4")
def test_a_step_after_learning_relearns_the_offset() -> None:
    """Once learned, the offset is kept; a PC clock step makes it wrong, so it is learned again."""
    base = FakeClock()
    watch = DeviceClockWatch("ox", tolerance_s=30, learn_samples=5)
    _learn(watch, base, 6.0, 5)
    assert watch.offset_s == pytest.approx(6.0) and not watch.implausible
    base.step_wall(HOUR)
    # The device clock did not move: measured against the PC's new time it is an hour behind.
    _learn(watch, base, 6.0 - HOUR, 6)
    assert watch.rebases == 1
    assert watch.offset_s == pytest.approx(6.0 - HOUR) and watch.implausible


def test_without_monotonic_times_learning_is_as_before() -> None:
    base = FakeClock()
    watch = DeviceClockWatch("ox", tolerance_s=30, learn_samples=3)
    for _ in range(3):
        now = base.now()
        watch.observe(now + timedelta(seconds=2), now)
        base.advance(1)
    assert watch.offset_s == pytest.approx(2.0) and watch.rebases == 0
