"""The pleth waveform where the device sends one (issue 10: "a pleth waveform where the device sends
one (the Nonin DF2 and Ivy frames carry it)"): decoded from both, kept in a bounded ring, drawn
in a strip whose repaints are budgeted, not one per sample."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pytestqt.qtbot import QtBot

from bedside.monitor.core import MonitorCore
from bedside.monitor.vitals_board import PlethBuffer, VitalsBoard
from bedside.views.pleth import PlethStrip
from drivers.clock import FakeClock
from drivers.ivy import IvyAnsarDriver
from drivers.nonin import NoninDf2Driver
from drivers.types import Stamp, Waveform
from tests.drivers.test_ivy import frame
from tests.drivers.test_nonin import packet

STAMP = Stamp(wall=datetime(2026, 11, 27, 9, 0, tzinfo=UTC), mono=50.0)


def test_a_nonin_packet_carries_its_25_pleth_samples_at_75_hz() -> None:
    result = NoninDf2Driver("ox1").feed(packet(), STAMP)
    (wave,) = result.waveforms
    assert wave.samples == tuple(100 + n for n in range(25))  # the PLETH byte of each frame
    assert wave.rate_hz == 75 and wave.source == "ox1" and wave.received_mono == 50.0


def test_an_ivy_frame_carries_its_50_pleth_samples_only_with_oximetry() -> None:
    waveform = bytes(range(200)) + bytes([1] * 50) + bytes(range(100, 150)) + bytes([0x80] * 100)
    driver = IvyAnsarDriver("ivy1")
    with_spo2 = driver.feed(frame("HR=1;80;ECG-II;", "SPO2=1;97;PR=80 ;", waveform=waveform), STAMP)
    (wave,) = with_spo2.waveforms
    assert wave.samples == tuple(range(100, 150)) and wave.rate_hz == 50
    assert driver.feed(frame("HR=1;80;ECG-II;", waveform=waveform), STAMP).waveforms == ()


@settings(max_examples=60, deadline=None)
@given(runs=st.lists(st.integers(min_value=1, max_value=80), min_size=1, max_size=200))
def test_the_ring_holds_exactly_the_newest_seconds_whatever_the_runs(runs: list[int]) -> None:
    """Bounded: never more than ``seconds`` of samples, and always the newest ones, in order."""
    buffer = PlethBuffer(seconds=2.0)
    sent: list[int] = []
    for n, size in enumerate(runs):
        samples = tuple((len(sent) + k) % 256 for k in range(size))
        sent.extend(samples)
        buffer.add(Waveform(samples, 75.0, "ox1", float(n)))
    shown = buffer.newest()
    assert shown.size == 150
    want = np.asarray(sent[-150:], dtype=np.float64)
    assert np.array_equal(shown[-want.size :], want)
    assert np.isnan(shown[: 150 - want.size]).all()


def test_a_second_oximeter_does_not_interleave_its_wave_until_the_first_stops() -> None:
    board = VitalsBoard(0.0)
    board.add_waveform(Waveform((1,) * 25, 75.0, "ox1", 1.0))
    board.add_waveform(Waveform((9,) * 25, 75.0, "ox2", 1.1))
    assert board.pleth.source == "ox1" and 9 not in board.pleth.newest()
    board.add_waveform(Waveform((9,) * 25, 75.0, "ox2", 4.0))
    assert board.pleth.source == "ox2"


def test_the_strip_repaints_within_its_budget_not_per_sample(qtbot: QtBot, clock: FakeClock) -> None:
    """75 packets arriving in one burst (3 s of a DF2) give at most two repaints, not 75."""
    core = MonitorCore(clock)
    strip = PlethStrip()
    qtbot.addWidget(strip)
    strip.show()
    qtbot.waitExposed(strip)
    qtbot.wait(PlethStrip.FRAME_MS + 20)
    before = strip.repaints
    driver = NoninDf2Driver("ox1")
    for _ in range(75):
        core.on_result(driver.feed(packet(), clock.stamp()), "ox1")
        core.pump()
        strip.show_pleth(core.board.pleth, clock.monotonic())
    qtbot.wait(PlethStrip.FRAME_MS * 2 + 50)
    assert 1 <= strip.repaints - before <= 2
    shown = strip.repaints
    strip.show_pleth(core.board.pleth, clock.monotonic())  # nothing new: no repaint
    qtbot.wait(PlethStrip.FRAME_MS + 20)
    assert strip.repaints == shown
