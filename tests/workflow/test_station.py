"""The inactivity lock (issue 10): actions lock after ``lock_after_s`` without a touch, a touch
before that keeps them open, only the PIN opens the lock, and nobody signed in means no lock."""

from __future__ import annotations

from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bedside.workflow.identity import NotSignedIn, Role, SignedIn, SignInDesk, SignInRefused
from bedside.workflow.station import Station, StationLocked
from drivers.clock import FakeClock

PIN = "1357"


class _Desk:
    """A sign-in desk that knows one clinician and one PIN (the identity service has its own tests)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.current: SignedIn | None = None

    def sign_in(self, login: str, secret: str) -> SignedIn:
        if secret != PIN:
            raise SignInRefused("wrong PIN or password")
        self.current = SignedIn(login, "Robin Diaz", Role.CLINICIAN, self.clock.now(), "room-1", "c-1")
        return self.current

    def sign_out(self) -> None:
        self.current = None

    def require(self) -> SignedIn:
        if self.current is None:
            raise NotSignedIn("sign in first")
        return self.current


def _station(clock: FakeClock, lock_after_s: float) -> Station:
    return Station(cast(SignInDesk, _Desk(clock)), clock, lock_after_s=lock_after_s)


# Each step: ("wait", seconds) then a heartbeat, or ("touch", 0).
_steps = st.lists(
    st.one_of(
        st.tuples(st.just("wait"), st.floats(min_value=0, max_value=400, allow_nan=False)),
        st.tuples(st.just("touch"), st.just(0.0)),
    ),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(steps=_steps, lock_after_s=st.floats(min_value=30, max_value=3600, allow_nan=False))
def test_the_lock_closes_exactly_when_the_quiet_time_reaches_the_setting(
    steps: list[tuple[str, float]], lock_after_s: float
) -> None:
    """Touches and heartbeats in any order, any gaps, values at and beyond the edge: the station
    locks at the first heartbeat at least ``lock_after_s`` after the last touch, and stays locked
    (touches do not open it) until the PIN is given."""
    clock = FakeClock()
    station = _station(clock, lock_after_s)
    station.sign_in("rdiaz", PIN)
    last_touch = clock.monotonic()
    expect_locked = False
    for kind, seconds in steps:
        if kind == "touch":
            station.touched()
            if not expect_locked:
                last_touch = clock.monotonic()
        else:
            clock.advance(seconds)
            station.tick()
            if clock.monotonic() - last_touch >= lock_after_s:
                expect_locked = True
        assert station.locked is expect_locked
        if expect_locked:
            with pytest.raises(StationLocked):
                station.require()
        else:
            assert station.require().who == "rdiaz"


def test_only_the_pin_opens_the_lock_and_nobody_signed_in_never_locks() -> None:
    clock = FakeClock()
    station = _station(clock, 60)
    clock.advance(600)
    station.tick()
    assert not station.locked  # nobody signed in: actions are refused as "sign in first" instead
    station.sign_in("rdiaz", PIN)
    clock.advance(60)
    station.tick()
    assert station.locked
    with pytest.raises(SignInRefused):
        station.unlock("0000")
    assert station.locked
    station.unlock(PIN)
    assert not station.locked and station.who() == "rdiaz"
    station.sign_out()
    assert station.who() == "" and not station.locked
