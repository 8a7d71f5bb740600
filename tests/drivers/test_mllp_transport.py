"""MLLP listener and sender on real loopback sockets (port 0), silence on a fake clock."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from drivers.clock import FakeClock
from drivers.hl7_pcd01 import Hl7Pcd01Driver
from drivers.mllp import MllpFramer, frame
from drivers.transports.base import DeviceLink
from drivers.transports.mllp import MllpListener, MllpSender, MllpSendError
from drivers.types import DecodeResult, DeviceDriver, DeviceEvent, DeviceEventKind, Stamp, VitalKind

IPF = Path(__file__).parent.parent / "fixtures" / "hl7" / "ipf"
BP = (IPF / "valid-bp-continua-wan.hl7v2").read_bytes()
WAIT_S = 5.0


class Recorder:
    """Collects results and events from the listener thread; tests wait on it with a timeout."""

    def __init__(self) -> None:
        self.results: list[DecodeResult] = []
        self.events: list[DeviceEvent] = []
        self._cond = threading.Condition()

    def on_result(self, result: DecodeResult) -> None:
        with self._cond:
            self.results.append(result)
            self._cond.notify_all()

    def on_event(self, event: DeviceEvent) -> None:
        with self._cond:
            self.events.append(event)
            self._cond.notify_all()

    def kinds(self) -> list[DeviceEventKind]:
        with self._cond:
            return [e.kind for e in self.events]

    def wait_for(self, predicate: object, timeout: float = WAIT_S) -> None:
        assert callable(predicate)
        with self._cond:
            assert self._cond.wait_for(predicate, timeout), "timed out waiting for the listener"


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Wait for the listener thread to react to a socket event (bounded; not a clock wait)."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if predicate():
            return
        pause.wait(0.01)
    raise AssertionError("timed out waiting for the listener")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def listener(clock: FakeClock, recorder: Recorder) -> Iterator[MllpListener]:
    link = MllpListener("bed1-hl7", Hl7Pcd01Driver, clock, recorder.on_result, recorder.on_event)
    link.start()
    yield link
    link.stop()


def test_listener_is_a_device_link(listener: MllpListener) -> None:
    link: DeviceLink = listener
    assert link.source == "bed1-hl7"


def test_binds_loopback_on_an_ephemeral_port(listener: MllpListener) -> None:
    assert listener.host == "127.0.0.1"
    assert listener.port > 0


def test_port_before_start_is_an_error(clock: FakeClock, recorder: Recorder) -> None:
    link = MllpListener("x", Hl7Pcd01Driver, clock, recorder.on_result, recorder.on_event)
    with pytest.raises(RuntimeError):
        _ = link.port


@pytest.mark.req("MON-6")
def test_message_is_decoded_and_acked_on_its_connection(
    listener: MllpListener, clock: FakeClock, recorder: Recorder
) -> None:
    with MllpSender("127.0.0.1", listener.port, clock, connect_timeout_s=2.0, ack_timeout_s=WAIT_S) as sender:
        ack = sender.send(BP)
    assert b"\rMSA|AA|MSGID1234" in ack
    recorder.wait_for(lambda: recorder.results)
    values = {o.kind: o.value for o in recorder.results[0].observations}
    assert values == {
        VitalKind.NIBP_SYSTOLIC: 120.0,
        VitalKind.NIBP_DIASTOLIC: 80.0,
        VitalKind.NIBP_MEAN: 100.0,
    }
    assert recorder.results[0].observations[0].source == "bed1-hl7/0123456789ABCDEF"
    assert recorder.kinds()[:1] == [DeviceEventKind.CONNECTED]


@pytest.mark.req("ALM-2")
def test_a_gateway_closing_between_messages_is_not_a_disconnected_device(
    listener: MllpListener, recorder: Recorder
) -> None:
    """Many gateways open one connection per message: an orderly close after the ACK is not a link
    failure (it used to raise "device disconnected" after every message); a close mid-message is."""
    for _ in range(3):
        with socket.create_connection(("127.0.0.1", listener.port), timeout=WAIT_S) as sock:
            sock.sendall(frame(BP))
            assert b"MSA|AA" in sock.recv(4096)
    with socket.create_connection(("127.0.0.1", listener.port), timeout=WAIT_S) as sock:
        sock.sendall(frame(BP)[:40])  # the start block and part of MSH, then the line is gone
        wait_until(lambda: len(recorder.results) >= 3)
    recorder.wait_for(lambda: DeviceEventKind.DISCONNECTED in recorder.kinds())
    kinds = recorder.kinds()
    assert kinds.count(DeviceEventKind.DISCONNECTED) == 1
    assert kinds[-1] is DeviceEventKind.DISCONNECTED


def test_several_connections_each_get_their_own_acks(listener: MllpListener, clock: FakeClock) -> None:
    senders = [
        MllpSender("127.0.0.1", listener.port, clock, connect_timeout_s=2.0, ack_timeout_s=WAIT_S)
        for _ in range(3)
    ]
    try:
        for round_ in range(2):
            for n, sender in enumerate(senders):
                cid = f"S{n}R{round_}".encode()
                ack = sender.send(BP.replace(b"MSGID1234", cid))
                assert f"\rMSA|AA|{cid.decode()}|".encode() in ack
        assert listener.connection_count == 3
    finally:
        for sender in senders:
            sender.close()


def test_garbage_and_split_blocks_on_a_raw_socket(listener: MllpListener, recorder: Recorder) -> None:
    with socket.create_connection(("127.0.0.1", listener.port), timeout=WAIT_S) as sock:
        block = frame(BP)
        sock.sendall(b"garbage" + block[:50])
        sock.sendall(block[50:] + frame(b"MSH|^~\\&|X||||||ADT^A01|Q1|P|2.6"))
        framer = MllpFramer()
        acks: list[bytes] = []
        while len(acks) < 2:
            data = sock.recv(4096)
            assert data
            acks.extend(a for a in framer.feed(data) if isinstance(a, bytes))
    assert b"MSA|AA|MSGID1234" in acks[0]
    assert b"MSA|AR|Q1" in acks[1]
    recorder.wait_for(lambda: DeviceEventKind.FRAME_ERRORS in recorder.kinds())
    errors = [e for e in recorder.events if e.kind is DeviceEventKind.FRAME_ERRORS]
    assert errors[0].frames_rejected == 1 and errors[0].frames_ok == 1


@pytest.mark.req("MON-1")
def test_silence_and_resumed_on_the_fake_clock(
    listener: MllpListener, clock: FakeClock, recorder: Recorder
) -> None:
    clock.advance(9.9)
    listener.check_silence()
    assert DeviceEventKind.SILENT not in recorder.kinds()
    clock.advance(0.2)
    listener.check_silence()
    listener.check_silence()  # once, not every tick
    assert recorder.kinds().count(DeviceEventKind.SILENT) == 1
    with MllpSender("127.0.0.1", listener.port, clock, connect_timeout_s=2.0, ack_timeout_s=WAIT_S) as sender:
        sender.send(BP)
    recorder.wait_for(lambda: DeviceEventKind.RESUMED in recorder.kinds())
    listener.check_silence()
    assert recorder.kinds().count(DeviceEventKind.SILENT) == 1


class ExplodingDriver(Hl7Pcd01Driver):
    """A driver with a bug: raises on every feed."""

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult:
        raise RuntimeError("driver bug")


def test_a_raising_driver_or_sink_does_not_kill_the_loop(clock: FakeClock, recorder: Recorder) -> None:
    drivers: list[type[Hl7Pcd01Driver]] = [ExplodingDriver, Hl7Pcd01Driver]

    def factory(source: str) -> DeviceDriver:
        return drivers.pop(0)(source)

    def bad_sink(result: DecodeResult) -> None:
        raise ValueError("sink bug")

    link = MllpListener("x", factory, clock, bad_sink, recorder.on_event)
    link.start()
    try:
        with socket.create_connection(("127.0.0.1", link.port), timeout=WAIT_S) as sock:
            sock.sendall(frame(BP))
            wait_until(lambda: link.loop_errors >= 1)
        with MllpSender("127.0.0.1", link.port, clock, connect_timeout_s=2.0, ack_timeout_s=WAIT_S) as sender:
            assert b"MSA|AA" in sender.send(BP)  # the second connection is served normally
        assert link.loop_errors >= 2  # the driver bug, then the sink bug
    finally:
        link.stop()


def test_stop_closes_connections_and_frees_the_port(clock: FakeClock, recorder: Recorder) -> None:
    link = MllpListener("x", Hl7Pcd01Driver, clock, recorder.on_result, recorder.on_event)
    link.start()
    port = link.port
    sender = MllpSender("127.0.0.1", port, clock, connect_timeout_s=2.0, ack_timeout_s=WAIT_S)
    sender.send(BP)
    link.stop()
    assert DeviceEventKind.DISCONNECTED in recorder.kinds()
    with pytest.raises(MllpSendError):
        sender.send(BP)
    sender.close()


def test_sender_reconnects_after_the_listener_dropped_it(
    listener: MllpListener, clock: FakeClock, recorder: Recorder
) -> None:
    sender = MllpSender("127.0.0.1", listener.port, clock, connect_timeout_s=2.0, ack_timeout_s=WAIT_S)
    try:
        sender.send(BP)
        # Drop the server side of the connection, as a restarted gateway would.
        recorder.wait_for(lambda: listener.connection_count == 1)
        for peer in list(listener._peers.values()):
            peer.sock.shutdown(socket.SHUT_RDWR)
        ack = sender.send(BP.replace(b"MSGID1234", b"AFTER"))
        assert b"MSA|AA|AFTER" in ack
    finally:
        sender.close()


def test_sender_times_out_when_no_ack_comes(clock: FakeClock) -> None:
    with socket.create_server(("127.0.0.1", 0)) as mute:
        sender = MllpSender(
            "127.0.0.1", mute.getsockname()[1], clock, connect_timeout_s=1.0, ack_timeout_s=0.3
        )
        with pytest.raises(MllpSendError, match="no ACK"):
            sender.send(BP)
        sender.close()


def test_sender_reports_a_refused_connection(clock: FakeClock) -> None:
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]
    with pytest.raises(MllpSendError, match="cannot connect"):
        MllpSender("127.0.0.1", port, clock, connect_timeout_s=1.0, ack_timeout_s=1.0).send(BP)
