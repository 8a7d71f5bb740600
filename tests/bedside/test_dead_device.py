"""A dead device looks dead: its last values stay, greyed, smaller and aged, never as live (ALM-2);
data that is not a patient's says SIMULATION on its tile. Issue 10: "the dead device's BP stays
full size"; "A simulator connected as a device passes as a real patient"."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

from bedside.monitor.core import MonitorCore
from bedside.monitor.vitals_board import Freshness, VitalsBoard
from bedside.views.theme import palette
from bedside.views.widgets import LOST_VALUE_PX, NumericTile
from drivers.clock import FakeClock
from drivers.types import DecodeResult, DeviceEvent, DeviceEventKind, Observation, Quality, VitalKind


def _obs(
    clock: FakeClock, kind: VitalKind, value: float | None, source: str = "ox1", simulated: bool = False
) -> Observation:
    s = clock.stamp()
    quality = Quality.VALID if value is not None else Quality.PROBE_OFF
    return Observation(kind, value, "%", s.wall, s.wall, s.mono, source, quality, simulated=simulated)


def _event(clock: FakeClock, kind: DeviceEventKind, source: str = "ox1") -> DeviceEvent:
    return DeviceEvent(kind, source, clock.stamp())


@pytest.mark.req("ALM-2")
def test_a_pulled_cable_leaves_the_last_value_greyed_with_its_age_through_the_core(
    clock: FakeClock,
) -> None:
    core = MonitorCore(clock)
    core.on_result(DecodeResult(observations=(_obs(clock, VitalKind.SPO2, 96),), frames=1), "ox1")
    core.pump()
    clock.advance(4)
    core.on_event(_event(clock, DeviceEventKind.DISCONNECTED))
    core.pump()
    clock.advance(40)
    shown = core.board.numeric(VitalKind.SPO2, clock.monotonic())
    assert shown.freshness is Freshness.DEVICE_LOST
    assert shown.text == "96" and shown.age_s == pytest.approx(44)
    assert shown.detail == "DEVICE DISCONNECTED"
    core.on_event(_event(clock, DeviceEventKind.CONNECTED))
    core.pump()
    assert core.board.numeric(VitalKind.SPO2, clock.monotonic()).freshness is Freshness.NO_DATA


@pytest.mark.req("ALM-2")
@settings(max_examples=100, deadline=None)
@given(
    steps=st.lists(
        st.tuples(
            st.sampled_from(["ox1", "ox2"]),
            st.sampled_from(["sample", "probe_off", "disconnected", "silent", "connected", "resumed"]),
            st.floats(min_value=0.1, max_value=20),
        ),
        max_size=40,
    )
)
def test_a_value_is_never_current_while_its_device_is_dead(steps: list[tuple[str, str, float]]) -> None:
    """Over two interleaved oximeters dying and coming back: the SpO2 tile is CURRENT only with
    a live device's value; a dead device's value is DEVICE_LOST and shows its number only when
    the newest thing it sent was valid."""
    clock = FakeClock()
    board = VitalsBoard(clock.monotonic())
    dead: set[str] = set()
    for source, action, dt in steps:
        clock.advance(dt)
        if action in ("sample", "probe_off"):
            board.add(_obs(clock, VitalKind.SPO2, 95 if action == "sample" else None, source))
        else:
            kind = DeviceEventKind(action)
            board.link_event(_event(clock, kind, source))
            if kind is DeviceEventKind.DISCONNECTED:
                dead.add(source)
            elif kind is DeviceEventKind.CONNECTED:
                dead.discard(source)
            elif kind is DeviceEventKind.SILENT:
                dead.add(source)
            elif board.device_lost(source) == "":
                dead.discard(source)
        shown = board.numeric(VitalKind.SPO2, clock.monotonic())
        if shown.source in dead:
            assert shown.freshness is Freshness.DEVICE_LOST
        else:
            assert shown.freshness is not Freshness.DEVICE_LOST
        if shown.freshness is Freshness.DEVICE_LOST and shown.quality is not Quality.VALID:
            assert shown.text == "---"


@pytest.mark.req("ALM-2")
def test_the_tile_greys_and_shrinks_a_dead_devices_value(qtbot: QtBot, clock: FakeClock) -> None:
    board = VitalsBoard(clock.monotonic())
    tile = NumericTile("SpO2", "%", "#00e5ff")
    qtbot.addWidget(tile)
    board.add(_obs(clock, VitalKind.SPO2, 96))
    tile.show_numeric(board.numeric(VitalKind.SPO2, clock.monotonic()))
    assert "px" not in tile.value.styleSheet()  # live digits: the numeric size of the type scale
    board.link_event(_event(clock, DeviceEventKind.SILENT))
    clock.advance(75)
    tile.show_numeric(board.numeric(VitalKind.SPO2, clock.monotonic()))
    assert tile.value.text() == "96"
    assert f"{LOST_VALUE_PX}px" in tile.value.styleSheet() and palette().stale in tile.value.styleSheet()
    assert tile.state.text() == "DEVICE SILENT"
    assert "1 min 15 s ago" in tile.status.text()


@pytest.mark.req("ALM-2")
def test_the_nibp_of_a_dead_device_is_greyed_too(qtbot: QtBot, clock: FakeClock) -> None:
    board = VitalsBoard(clock.monotonic())
    for kind, v in (
        (VitalKind.NIBP_SYSTOLIC, 150),
        (VitalKind.NIBP_DIASTOLIC, 95),
        (VitalKind.NIBP_MEAN, 113),
    ):
        board.add(_obs(clock, kind, v, "nibp1"))
    board.link_event(_event(clock, DeviceEventKind.DISCONNECTED, "nibp1"))
    tile = NumericTile("NIBP", "mmHg", "#ff5c5c")
    qtbot.addWidget(tile)
    tile.show_nibp(board.nibp(clock.monotonic()))
    assert tile.value.text() == "150/95"
    assert f"{LOST_VALUE_PX}px" in tile.value.styleSheet()
    assert tile.state.text() == "DEVICE DISCONNECTED"


def test_simulated_data_says_simulation_on_the_tile(qtbot: QtBot, clock: FakeClock) -> None:
    """In-band flagged data (HL7 MSH-11 "T") and data from a simulator link ("sim-...") alike.
    (Each source is its own stream since issue 10's per-source tiles: each is asked for by name.)"""
    board = VitalsBoard(clock.monotonic())
    tile = NumericTile("SpO2", "%", "#00e5ff")
    qtbot.addWidget(tile)
    board.add(_obs(clock, VitalKind.SPO2, 96, "hl7-gw", simulated=True))
    tile.show_numeric(board.numeric(VitalKind.SPO2, clock.monotonic()))
    assert "SIMULATION" in tile.title.text()
    board.add(_obs(clock, VitalKind.SPO2, 96, "masimo-1"))
    tile.show_numeric(board.numeric(VitalKind.SPO2, clock.monotonic(), "masimo-1"))
    assert "SIMULATION" not in tile.title.text()
    board.add(_obs(clock, VitalKind.SPO2, 96, "sim-masimo-ascii-1"))
    tile.show_numeric(board.numeric(VitalKind.SPO2, clock.monotonic(), "sim-masimo-ascii-1"))
    assert "SIMULATION" in tile.title.text()
