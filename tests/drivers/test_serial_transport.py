"""SerialLink: bytes in and out over loop:// and a pty, reconnection after an unplug, silence (ALM-2)."""

from __future__ import annotations

import os
import termios
import threading
from collections.abc import Callable, Iterator
from typing import ClassVar

import pytest

from drivers.clock import FakeClock
from drivers.transports.base import DeviceLink
from drivers.transports.pty_pair import PtyPair, open_pty_pair
from drivers.transports.serial import SerialLink, find_port_by_usb
from drivers.types import (
    CANONICAL_UNIT,
    DecodeResult,
    DeviceEvent,
    DeviceEventKind,
    FrameCounters,
    FrameRejection,
    LineSettings,
    Observation,
    Stamp,
    VitalKind,
)

WAIT_S = 5.0  # bounded wait for real I/O on the link thread


class LineDriver:
    """A tiny newline-framed test protocol: ``spo2=97`` is a reading, ``ping`` asks for a reply,
    ``boom`` makes the driver raise, anything else is a rejected frame."""

    protocol: ClassVar[str] = "test-lines"
    line_settings: ClassVar[LineSettings | None] = LineSettings(baudrate=19200)
    can_start_nibp: ClassVar[bool] = False

    def __init__(self, source: str) -> None:
        self.source = source
        self.counters = FrameCounters()
        self._buffer = b""
        self.stamps: list[Stamp] = []
        self.boomed = threading.Event()

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult:
        self.stamps.append(stamp)
        self._buffer += data
        result = DecodeResult()
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            result += self._line(line.strip(), stamp)
        return result

    def _line(self, line: bytes, stamp: Stamp) -> DecodeResult:
        if line == b"boom":
            self.boomed.set()
            raise RuntimeError("driver bug")
        if line == b"ping":
            self.counters.frames_ok += 1
            return DecodeResult(replies=(b"spo2=98\n",), frames=1)
        if line.startswith(b"spo2="):
            self.counters.frames_ok += 1
            value = float(line[5:])
            obs = Observation(
                VitalKind.SPO2,
                value,
                CANONICAL_UNIT[VitalKind.SPO2],
                stamp.wall,
                stamp.wall,
                stamp.mono,
                self.source,
            )
            return DecodeResult(observations=(obs,), frames=1)
        self.counters.frames_rejected += 1
        self.counters.last_rejection = f"not a line: {line!r}"
        return DecodeResult(rejections=(FrameRejection(self.counters.last_rejection, line),))

    def start_nibp_command(self) -> bytes | None:
        return None


class Recorder:
    """Collects results and events from the link thread; tests wait on it with a bounded timeout."""

    def __init__(self) -> None:
        self.events: list[DeviceEvent] = []
        self.values: list[float | None] = []
        self.results: list[DecodeResult] = []
        self._cond = threading.Condition()

    def on_result(self, result: DecodeResult) -> None:
        with self._cond:
            self.results.append(result)
            self.values.extend(o.value for o in result.observations)
            self._cond.notify_all()

    def on_event(self, event: DeviceEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def kinds(self) -> list[DeviceEventKind]:
        with self._cond:
            return [e.kind for e in self.events]

    def count(self, kind: DeviceEventKind) -> int:
        return self.kinds().count(kind)

    def wait(self, predicate: Callable[[], bool], what: str) -> None:
        with self._cond:
            if not self._cond.wait_for(predicate, WAIT_S):
                raise AssertionError(
                    f"timed out waiting for {what}; events={self.events} values={self.values}"
                )

    def wait_event(self, kind: DeviceEventKind, count: int = 1) -> None:
        self.wait(lambda: [e.kind for e in self.events].count(kind) >= count, f"{count} x {kind}")

    def wait_values(self, n: int) -> None:
        self.wait(lambda: len(self.values) >= n, f"{n} values")


def make_link(
    url: str, clock: FakeClock, rec: Recorder, driver: LineDriver | None = None, **kwargs: object
) -> SerialLink:
    return SerialLink(
        "dev-1",
        url,
        driver or LineDriver("dev-1"),
        clock,
        rec.on_result,
        rec.on_event,
        reconnect_interval_s=0.02,
        **kwargs,
    )  # type: ignore[arg-type]


@pytest.fixture
def pty() -> Iterator[PtyPair]:
    pair = open_pty_pair()
    yield pair
    pair.close()


def test_loop_url_round_trip_writes_sends_and_driver_replies(clock: FakeClock) -> None:
    rec = Recorder()
    link = make_link("loop://", clock, rec)
    link.start()
    try:
        rec.wait_event(DeviceEventKind.CONNECTED)
        link.send(b"spo2=97\n")
        rec.wait_values(1)
        # "ping" makes the driver reply; the reply goes out on the loop and comes back as a reading.
        link.send(b"ping\n")
        rec.wait_values(2)
    finally:
        link.stop()
    assert rec.values == [97.0, 98.0]


def test_pty_bytes_reach_the_driver_in_any_chunking_with_arrival_stamps(
    clock: FakeClock, pty: PtyPair
) -> None:
    rec = Recorder()
    driver = LineDriver("dev-1")
    link = make_link(pty.device_path, clock, rec, driver)
    link.start()
    try:
        rec.wait_event(DeviceEventKind.CONNECTED)
        for byte in b"spo2=91\n":
            pty.write(bytes([byte]))
        pty.write(b"spo2=92\nspo2=93\n")
        rec.wait_values(3)
    finally:
        link.stop()
    assert rec.values == [91.0, 92.0, 93.0]
    assert driver.stamps and all(s == clock.stamp() for s in driver.stamps)
    assert link.current_path == pty.device_path


def test_pty_link_applies_driver_line_settings(clock: FakeClock, pty: PtyPair) -> None:
    rec = Recorder()
    link = make_link(pty.device_path, clock, rec)
    link.start()
    try:
        rec.wait_event(DeviceEventKind.CONNECTED)
        fd = os.open(pty.device_path, os.O_RDWR | os.O_NOCTTY)
        try:
            attrs = termios.tcgetattr(fd)
        finally:
            os.close(fd)
    finally:
        link.stop()
    assert attrs[4] == termios.B19200 and attrs[5] == termios.B19200


@pytest.mark.req("MON-3")
def test_send_reaches_the_device_side(clock: FakeClock, pty: PtyPair) -> None:
    rec = Recorder()
    link = make_link(pty.device_path, clock, rec)
    link.start()
    try:
        rec.wait_event(DeviceEventKind.CONNECTED)
        link.send(b":\x20\xa6")
        got = b""
        for _ in range(50):
            got += pty.read(timeout_s=0.1)
            if len(got) >= 3:
                break
    finally:
        link.stop()
    assert got == b":\x20\xa6"


@pytest.mark.req("ALM-2")
def test_unplug_reports_disconnect_then_reconnects_under_a_new_name(clock: FakeClock) -> None:
    first = open_pty_pair()
    second: list[PtyPair] = []
    current = {"path": first.device_path}
    rec = Recorder()
    link = make_link("unused", clock, rec, port_finder=lambda: current["path"])
    link.start()
    try:
        rec.wait_event(DeviceEventKind.CONNECTED)
        first.write(b"spo2=95\n")
        rec.wait_values(1)

        first.close()  # the adapter is pulled out
        rec.wait_event(DeviceEventKind.DISCONNECTED)

        # It comes back as a different device node, as Linux does after a replug.
        second.append(open_pty_pair())
        current["path"] = second[0].device_path
        rec.wait_event(DeviceEventKind.CONNECTED, 2)
        second[0].write(b"spo2=96\n")
        rec.wait_values(2)
    finally:
        link.stop()
        first.close()
        for pair in second:
            pair.close()
    assert rec.values == [95.0, 96.0]
    assert rec.count(DeviceEventKind.DISCONNECTED) == 1
    assert link.current_path == second[0].device_path


@pytest.mark.req("ALM-2")
def test_absent_device_is_reported_once_and_connects_when_it_appears(clock: FakeClock, pty: PtyPair) -> None:
    rec = Recorder()
    asked = threading.Event()
    calls = {"n": 0}
    present = {"path": None}

    def finder() -> str | None:
        calls["n"] += 1
        if calls["n"] >= 5:
            asked.set()
        return present["path"]

    link = make_link("unused", clock, rec, port_finder=finder)
    link.start()
    try:
        assert asked.wait(WAIT_S), "the link never retried"
        assert rec.kinds() == [DeviceEventKind.DISCONNECTED]  # once, despite several failed attempts
        present["path"] = pty.device_path  # type: ignore[assignment]
        rec.wait_event(DeviceEventKind.CONNECTED)
    finally:
        link.stop()


@pytest.mark.req("ALM-2")
def test_bad_url_is_a_disconnect_not_a_crash(clock: FakeClock) -> None:
    rec = Recorder()
    link = make_link("/dev/does-not-exist-bedside", clock, rec)
    link.start()
    try:
        rec.wait_event(DeviceEventKind.DISCONNECTED)
        assert not link.connected
    finally:
        link.stop()


@pytest.mark.req("ALM-2")
def test_silence_is_reported_once_by_the_clock_and_resumes_on_data(clock: FakeClock, pty: PtyPair) -> None:
    rec = Recorder()
    link = make_link(pty.device_path, clock, rec, silence_after_s=10.0)
    link.start()
    try:
        rec.wait_event(DeviceEventKind.CONNECTED)
        clock.advance(9.9)
        link.check_silence()
        assert DeviceEventKind.SILENT not in rec.kinds()
        clock.advance(0.2)
        link.check_silence()
        link.check_silence()
        assert rec.count(DeviceEventKind.SILENT) == 1

        pty.write(b"spo2=97\n")
        rec.wait_event(DeviceEventKind.RESUMED)
        rec.wait_values(1)
        clock.advance(5.0)
        link.check_silence()
        assert rec.count(DeviceEventKind.SILENT) == 1  # 5 s after the data is not silence
        clock.advance(5.0)
        link.check_silence()
        assert rec.count(DeviceEventKind.SILENT) == 2
    finally:
        link.stop()


@pytest.mark.req("ALM-2")
def test_a_raising_driver_or_sink_never_kills_the_loop(clock: FakeClock, pty: PtyPair) -> None:
    events: list[DeviceEvent] = []
    values: list[float | None] = []
    got_two = threading.Event()
    connected = threading.Event()
    sink_called = threading.Event()
    calls = {"n": 0}

    def flaky_sink(result: DecodeResult) -> None:
        calls["n"] += 1
        sink_called.set()
        if calls["n"] == 1:
            raise ValueError("sink bug")
        values.extend(o.value for o in result.observations)
        if len(values) >= 1:
            got_two.set()

    def flaky_events(event: DeviceEvent) -> None:
        events.append(event)
        connected.set()
        raise RuntimeError("event sink bug")

    driver = LineDriver("dev-1")
    link = SerialLink(
        "dev-1", pty.device_path, driver, clock, flaky_sink, flaky_events, reconnect_interval_s=0.02
    )
    link.start()
    try:
        assert connected.wait(WAIT_S)  # opening a port flushes what was written before
        pty.write(b"spo2=90\n")
        assert sink_called.wait(WAIT_S)  # ... and the sink raised on it
        pty.write(b"boom\n")
        assert driver.boomed.wait(WAIT_S)  # ... and the driver raised on it
        pty.write(b"spo2=94\n")
        assert got_two.wait(WAIT_S)
    finally:
        link.stop()
    assert values == [94.0]
    assert events[0].kind is DeviceEventKind.CONNECTED


@pytest.mark.req("ALM-2")
def test_frame_errors_are_reported_with_counts_at_most_once_per_second(
    clock: FakeClock, pty: PtyPair
) -> None:
    rec = Recorder()
    link = make_link(pty.device_path, clock, rec)
    link.start()
    try:
        rec.wait_event(DeviceEventKind.CONNECTED)
        pty.write(b"garbage\n")
        rec.wait_event(DeviceEventKind.FRAME_ERRORS)
        pty.write(b"junk\nspo2=97\n")
        rec.wait_values(1)
        link.check_silence()
        assert rec.count(DeviceEventKind.FRAME_ERRORS) == 1  # the same clock second
        clock.advance(1.0)
        link.check_silence()  # the held-back count goes out on the next tick
        assert rec.count(DeviceEventKind.FRAME_ERRORS) == 2
    finally:
        link.stop()
    errors = [e for e in rec.events if e.kind is DeviceEventKind.FRAME_ERRORS]
    assert [(e.frames_ok, e.frames_rejected) for e in errors] == [(0, 1), (1, 2)]
    assert "junk" in errors[1].detail


def test_stop_joins_promptly_and_can_be_called_twice(clock: FakeClock, pty: PtyPair) -> None:
    rec = Recorder()
    link = make_link(pty.device_path, clock, rec)
    link.start()
    rec.wait_event(DeviceEventKind.CONNECTED)
    thread = link._thread
    link.stop()
    link.stop()
    assert thread is not None and not thread.is_alive()
    assert not link.connected


def test_commands_sent_while_disconnected_are_dropped_not_replayed(clock: FakeClock, pty: PtyPair) -> None:
    rec = Recorder()
    present: dict[str, str | None] = {"path": None}
    attempts = threading.Semaphore(0)

    def finder() -> str | None:
        attempts.release()
        return present["path"]

    link = make_link("unused", clock, rec, port_finder=finder)
    link.start()
    try:
        rec.wait_event(DeviceEventKind.DISCONNECTED)
        link.send(b"stale start\n")
        # Two more failed attempts: the queue is emptied after each one.
        for _ in range(3):
            assert attempts.acquire(timeout=WAIT_S)
        present["path"] = pty.device_path
        rec.wait_event(DeviceEventKind.CONNECTED)
        link.send(b"fresh\n")
        got = b""
        for _ in range(50):
            got += pty.read(timeout_s=0.1)
            if got.endswith(b"\n"):
                break
    finally:
        link.stop()
    assert got == b"fresh\n"


def test_find_port_by_usb_matches_vid_pid_and_serial(monkeypatch: pytest.MonkeyPatch) -> None:
    class Port:
        def __init__(self, device: str, vid: int | None, pid: int | None, serial_number: str | None) -> None:
            self.device, self.vid, self.pid, self.serial_number = device, vid, pid, serial_number

    ports = [
        Port("/dev/ttyS0", None, None, None),
        Port("/dev/ttyUSB3", 0x0403, 0x6001, "A"),
        Port("/dev/ttyUSB4", 0x0403, 0x6001, "B"),
    ]
    monkeypatch.setattr("serial.tools.list_ports.comports", lambda: ports)
    assert find_port_by_usb(0x0403, 0x6001)() == "/dev/ttyUSB3"
    assert find_port_by_usb(0x0403, 0x6001, "B")() == "/dev/ttyUSB4"
    assert find_port_by_usb(0x0403, 0x6001, "C")() is None
    assert find_port_by_usb(0x067B, 0x2303)() is None


def test_rejects_nonsense_timings(clock: FakeClock) -> None:
    rec = Recorder()
    with pytest.raises(ValueError, match="silence_after_s"):
        make_link("loop://", clock, rec, silence_after_s=0)


def test_serial_link_keeps_the_device_link_contract(clock: FakeClock) -> None:
    link: DeviceLink = make_link("loop://", clock, Recorder())  # mypy checks the Protocol here
    assert link.source == "dev-1"
    link.check_silence()  # callable before start, emits nothing yet
