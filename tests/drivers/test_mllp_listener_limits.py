"""The MLLP listener under attack: no sender can starve or lock out another (issue 11).

Real loopback sockets. Timeouts run on the injected clock: most tests use a FakeClock and
advance it; the slow-drip test uses the system clock with 0.2 s timeouts. Attackers connect
from 127.0.0.3/127.0.0.4 and the well-formed gateway from 127.0.0.2 (all loopback), so
per-address limits can tell them apart. Latency figures are the benchmark's job
(tests/benchmarks/bench_hl7_ingest.py); these tests assert behaviour.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from alarms.config import load_config
from alarms.manager import AlarmEventKind, AlarmManager
from drivers.clock import FakeClock, SystemClock
from drivers.hl7_pcd01 import Hl7Pcd01Driver
from drivers.mllp import MllpFramer, frame
from drivers.transports.mllp import MllpConfigError, MllpLimits, MllpListener, MllpSender, listen_address
from drivers.types import DecodeResult, DeviceEvent, DeviceEventKind, Stamp

IPF = Path(__file__).parent.parent / "fixtures" / "hl7" / "ipf"
BP = (IPF / "valid-bp-continua-wan.hl7v2").read_bytes()
GATEWAY = "127.0.0.2"
ATTACKER = "127.0.0.3"
WAIT_S = 5.0


class Events:
    """Events from the listener thread, waited on with a bound."""

    def __init__(self) -> None:
        self.items: list[DeviceEvent] = []
        self.results: list[DecodeResult] = []
        self._cond = threading.Condition()

    def on_event(self, event: DeviceEvent) -> None:
        with self._cond:
            self.items.append(event)
            self._cond.notify_all()

    def on_result(self, result: DecodeResult) -> None:
        with self._cond:
            self.results.append(result)
            self._cond.notify_all()

    def of(self, kind: DeviceEventKind) -> list[DeviceEvent]:
        with self._cond:
            return [e for e in self.items if e.kind is kind]


def wait_until(predicate: Callable[[], bool], timeout: float = WAIT_S) -> None:
    """Wait for the listener thread to react to a socket event (bounded; not a clock wait)."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.005)):
        if predicate():
            return
        pause.wait(0.005)
    raise AssertionError("timed out waiting for the listener")


def connect(port: int, source: str = ATTACKER) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=WAIT_S, source_address=(source, 0))


def is_closed_by_listener(sock: socket.socket) -> bool:
    """True when the listener closed this connection (EOF or reset on read)."""
    sock.settimeout(WAIT_S)
    try:
        return sock.recv(4096) == b""
    except (ConnectionResetError, ConnectionAbortedError):
        return True


def gateway(port: int, clock: FakeClock | SystemClock) -> MllpSender:
    return MllpSender(
        "127.0.0.1", port, clock, connect_timeout_s=2.0, ack_timeout_s=WAIT_S, source_address=(GATEWAY, 0)
    )


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def make_listener(clock: FakeClock, events: Events) -> Iterator[Callable[..., MllpListener]]:
    made: list[MllpListener] = []

    def build(limits: MllpLimits | None = None, **kwargs: object) -> MllpListener:
        link = MllpListener(
            "bed1-hl7",
            kwargs.pop("factory", Hl7Pcd01Driver),  # type: ignore[arg-type]
            kwargs.pop("clock", clock),  # type: ignore[arg-type]
            events.on_result,
            events.on_event,
            limits=limits,
            **kwargs,  # type: ignore[arg-type]
        )
        link.start()
        made.append(link)
        return link

    yield build
    for link in made:
        link.stop()


def test_binding_beyond_loopback_needs_an_explicit_option_and_an_allow_list(
    clock: FakeClock, events: Events, caplog: pytest.LogCaptureFixture
) -> None:
    with pytest.raises(MllpConfigError, match="allow remote senders explicitly"):
        MllpListener("x", Hl7Pcd01Driver, clock, events.on_result, events.on_event, host="0.0.0.0")
    with pytest.raises(MllpConfigError, match="list of the sender addresses"):
        MllpListener(
            "x", Hl7Pcd01Driver, clock, events.on_result, events.on_event, host="0.0.0.0", allow_remote=True
        )
    with pytest.raises(MllpConfigError, match="not an IP address"):
        MllpListener(
            "x",
            Hl7Pcd01Driver,
            clock,
            events.on_result,
            events.on_event,
            host="0.0.0.0",
            allow_remote=True,
            allowed_senders=["gateway.local"],
        )
    link = MllpListener(
        "x",
        Hl7Pcd01Driver,
        clock,
        events.on_result,
        events.on_event,
        host="0.0.0.0",
        allow_remote=True,
        allowed_senders=["10.20.30.40", "192.168.7.0/24"],
    )
    with caplog.at_level(logging.INFO, logger="drivers.transports.mllp"):
        link.start()
    try:
        assert "accepts remote senders: 10.20.30.40/32, 192.168.7.0/24" in caplog.text
        assert link._why_refused("10.20.30.41") == "not on the listener's list of allowed senders"
        assert link._why_refused("192.168.7.99") == ""
        assert link._why_refused("10.20.30.40") == ""
        with MllpSender("127.0.0.1", link.port, clock, connect_timeout_s=2.0, ack_timeout_s=WAIT_S) as s:
            assert b"MSA|AA|" in s.send(BP)  # this computer is always allowed
    finally:
        link.stop()


def test_default_binding_is_loopback_and_said_at_start(
    make_listener: Callable[..., MllpListener], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="drivers.transports.mllp"):
        link = make_listener()
    assert link.host == "127.0.0.1"
    assert "this computer only" in caplog.text


def test_an_idle_connection_is_closed_quietly_after_the_idle_timeout(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    link = make_listener(MllpLimits(idle_timeout_s=10.0))
    with connect(link.port) as idle:
        wait_until(lambda: link.connection_count == 1)
        clock.advance(9.9)
        with gateway(link.port, clock) as gw:
            assert b"MSA|AA|" in gw.send(BP)  # the listener's loop turned: 9.9 s is not enough
        assert link.connection_count >= 1
        clock.advance(0.2)
        assert is_closed_by_listener(idle)
    wait_until(lambda: link.timed_out_total >= 1)
    assert not [e for e in events.of(DeviceEventKind.DISCONNECTED) if "idle" in e.detail]


@pytest.mark.req("ALM-2")
def test_a_sender_stopped_mid_message_is_closed_and_reported(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    """Issue 11: a connection with no end block stayed open 75 s."""
    link = make_listener(MllpLimits(message_timeout_s=5.0, idle_timeout_s=60.0))
    with connect(link.port) as stalled:
        stalled.sendall(frame(BP)[:80])
        wait_until(lambda: any(p.block_started_mono is not None for p in list(link._peers.values())))
        clock.advance(5.0)
        assert is_closed_by_listener(stalled)
    wait_until(lambda: bool(events.of(DeviceEventKind.DISCONNECTED)))
    assert "no end of message within 5 s" in events.of(DeviceEventKind.DISCONNECTED)[-1].detail


def test_a_byte_a_tick_sender_cannot_hold_a_connection_open(
    make_listener: Callable[..., MllpListener], events: Events
) -> None:
    """Issue 11: a byte-a-second sender kept its connection 40 s. Real clock, 0.2 s limit."""
    link = make_listener(MllpLimits(message_timeout_s=0.2, idle_timeout_s=0.3), clock=SystemClock())
    block = frame(BP)
    pause = threading.Event()
    closed = False
    with connect(link.port) as drip:
        for i in range(len(block)):  # at most 1 s of dripping: the limit is 0.2 s
            try:
                drip.sendall(block[i : i + 1])
            except OSError:
                closed = True
                break
            if pause.wait(0.02) or link.connection_count == 0:
                closed = True
                break
        assert closed
        assert is_closed_by_listener(drip)
    assert link.timed_out_total == 1


@pytest.mark.req("ALM-2")
def test_a_refused_sender_is_a_technical_alarm_and_the_gateway_still_gets_in(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    """Issue 11: the per-address limit refuses a flooding address; the refusal raises ALM-2's
    link alarm through the engine, and a gateway from another address is still served."""
    link = make_listener(MllpLimits(max_connections_per_address=2, max_connections=8))
    socks = [connect(link.port) for _ in range(2)]
    try:
        wait_until(lambda: link.connection_count == 2)
        extra = connect(link.port)
        assert is_closed_by_listener(extra)
        extra.close()
        wait_until(lambda: bool(events.of(DeviceEventKind.SENDER_REFUSED)))
        refused = events.of(DeviceEventKind.SENDER_REFUSED)[0]
        assert refused.source == "bed1-hl7"
        assert "127.0.0.3" in refused.detail and "limit 2" in refused.detail
        engine = AlarmManager(clock, load_config())
        started = [(e.kind, e.key) for e in engine.device_event(refused)]
        assert started == [(AlarmEventKind.STARTED, "device_disconnected@bed1-hl7")]
        with gateway(link.port, clock) as gw:
            assert b"MSA|AA|" in gw.send(BP)
    finally:
        for s in socks:
            s.close()


def test_refusals_are_reported_once_per_interval_not_once_per_connection(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    link = make_listener(MllpLimits(max_connections_per_address=1))
    first = connect(link.port)
    try:
        wait_until(lambda: link.connection_count == 1)
        for _ in range(20):
            with connect(link.port) as extra:
                assert is_closed_by_listener(extra)
        wait_until(lambda: link.refused_total == 20)
        assert len(events.of(DeviceEventKind.SENDER_REFUSED)) == 1
        clock.advance(1.0)
        link.check_silence()  # the tick reports what was refused since
        refused = events.of(DeviceEventKind.SENDER_REFUSED)
        assert len(refused) == 2 and "19 refused since the last report" in refused[1].detail
    finally:
        first.close()


def test_idle_connections_cannot_lock_new_senders_out(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    """Issue 11: with 16 idle connections every new sender was accepted and dropped unanswered."""
    link = make_listener(
        MllpLimits(
            max_connections=4, max_connections_per_address=4, evict_idle_after_s=1.0, idle_timeout_s=60
        )
    )
    idle = [connect(link.port) for _ in range(4)]
    try:
        wait_until(lambda: link.connection_count == 4)
        clock.advance(1.5)
        with gateway(link.port, clock) as gw:
            for n in range(3):
                assert f"MSA|AA|M{n}|".encode() in gw.send(BP.replace(b"MSGID1234", f"M{n}".encode()))
        assert sum(is_closed_by_listener(s) for s in idle[:1]) == 1  # the idlest made room
        assert link.connection_count <= 4
        assert not events.of(DeviceEventKind.SENDER_REFUSED)
    finally:
        for s in idle:
            s.close()


def test_proven_busy_connections_are_not_evicted_and_the_newcomer_is_refused(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    link = make_listener(MllpLimits(max_connections=2, max_connections_per_address=4, evict_idle_after_s=1.0))
    busy = [connect(link.port) for _ in range(2)]
    try:
        for s in busy:
            s.sendall(frame(BP) + frame(BP)[:40])  # one whole message, then mid-message
        wait_until(lambda: sum(p.block_started_mono is not None for p in list(link._peers.values())) == 2)
        clock.advance(1.5)
        with connect(link.port, GATEWAY) as late:
            assert is_closed_by_listener(late)
        wait_until(lambda: bool(events.of(DeviceEventKind.SENDER_REFUSED)))
        assert "none idle" in events.of(DeviceEventKind.SENDER_REFUSED)[0].detail
    finally:
        for s in busy:
            s.close()


def test_connections_that_never_finish_a_message_make_room_for_a_gateway(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    """A connect flood or a slowloris from many addresses cannot hold every slot."""
    link = make_listener(MllpLimits(max_connections=4, max_connections_per_address=1, unproven_grace_s=0.5))
    squatters = [connect(link.port, f"127.0.0.{20 + n}") for n in range(4)]
    try:
        for s in squatters[:2]:
            s.sendall(frame(BP)[:40])  # mid-message, never finished
        wait_until(lambda: link.connection_count == 4)
        clock.advance(0.6)
        with gateway(link.port, clock) as gw:
            assert b"MSA|AA|" in gw.send(BP)
        assert is_closed_by_listener(squatters[0])  # the oldest unproven made room
        assert link.evicted_total == 1
        assert not events.of(DeviceEventKind.SENDER_REFUSED)
    finally:
        for s in squatters:
            s.close()


@pytest.mark.req("MON-1")
def test_a_flood_reconnecting_faster_than_the_grace_cannot_hold_every_slot(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    """Issue 11: in one of five benchmark rounds a gateway got no ACK for any of its 200 messages
    during a 200-connection flood: the flood reconnects so fast that every slot holds a
    connection younger than ``unproven_grace_s``, which was never closed to make room. Now a
    newcomer from an address with fewer connections takes the place of the busiest address's
    oldest unproven connection, however new; the clock never moves here."""
    link = make_listener(MllpLimits(max_connections=8, max_connections_per_address=4, unproven_grace_s=0.1))
    squatters = [connect(link.port, f"127.0.0.{20 + n % 2}") for n in range(8)]
    try:
        wait_until(lambda: link.connection_count == 8)
        with gateway(link.port, clock) as gw:
            for n in range(3):
                assert f"MSA|AA|M{n}|".encode() in gw.send(BP.replace(b"MSGID1234", f"M{n}".encode()))
            assert is_closed_by_listener(squatters[0])  # the oldest of the busiest address made room
            assert link.evicted_total == 1
            assert link.connection_count == 8
            assert not events.of(DeviceEventKind.SENDER_REFUSED)
            # The flood's other address (three now, against four) gains nothing from it: refused.
            with connect(link.port, "127.0.0.20") as more:
                assert is_closed_by_listener(more)
            assert link.evicted_total == 1
    finally:
        for s in squatters:
            s.close()


def test_a_200_connection_flood_does_not_stop_the_gateway(
    make_listener: Callable[..., MllpListener], clock: FakeClock
) -> None:
    """Issue 11: during a 200-connection flood a well-formed gateway got no ACK."""
    link = make_listener(MllpLimits(max_connections_per_address=4, max_connections=32))
    flood: list[socket.socket] = []
    acks: list[bytes] = []
    try:
        with gateway(link.port, clock) as gw:
            for n in range(200):
                # A refused connect is the flood failing, not the test.
                with contextlib.suppress(OSError):
                    flood.append(connect(link.port, f"127.0.0.{10 + n % 8}"))
                if n % 10 == 0:
                    acks.append(gw.send(BP.replace(b"MSGID1234", f"F{n}".encode())))
        assert len(acks) == 20 and all(b"MSA|AA|F" in a for a in acks)
        assert link.connection_count <= 32
        wait_until(lambda: link.refused_total + link.connection_count >= 160)
    finally:
        for s in flood:
            s.close()


class HugeReplyDriver(Hl7Pcd01Driver):
    """Answers each message with 64 KB: a sender that never reads fills its queue fast."""

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult:
        result = super().feed(data, stamp)
        return DecodeResult(result.observations, tuple(r * 300 for r in result.replies), result.rejections)


def test_a_sender_that_never_reads_its_acks_is_dropped_not_waited_for(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    link = make_listener(MllpLimits(max_pending_reply_bytes=64 * 1024), factory=HugeReplyDriver)
    with connect(link.port) as deaf:
        deaf.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        wait_until(lambda: link.connection_count == 1)
        try:
            for _ in range(400):
                deaf.sendall(frame(BP))
                if link.connection_count == 0:
                    break
        except OSError:
            pass
        wait_until(
            lambda: any("not reading its ACKs" in e.detail for e in events.of(DeviceEventKind.DISCONNECTED))
        )
    with gateway(link.port, clock) as gw:
        assert b"MSA|AA|" in gw.send(BP)[:4096]


def test_a_fast_sender_does_not_hold_back_another_gateways_ack(
    make_listener: Callable[..., MllpListener], clock: FakeClock
) -> None:
    """Issue 11: one fast sender pushed another gateway's ACK to a median of 3.9 s. The loop
    handles at most one message per connection per turn, so the gateway's ACK comes back while
    the fast sender still has hundreds of its own outstanding (the bound on how many of them
    come first is in test_mllp_fairness.py)."""
    link = make_listener()
    count = 3000
    burst = b"".join(frame(BP.replace(b"MSGID1234", f"B{n:06d}".encode())) for n in range(count))
    acked = [0]
    done = threading.Event()

    def fast_sender() -> None:
        with connect(link.port, ATTACKER) as fast:
            writer = threading.Thread(target=fast.sendall, args=(burst,), daemon=True)
            writer.start()
            framer = MllpFramer()
            while acked[0] < count:
                data = fast.recv(65536)
                if not data:
                    break
                acked[0] += sum(1 for item in framer.feed(data) if isinstance(item, bytes))
            writer.join(WAIT_S)
        done.set()

    thread = threading.Thread(target=fast_sender, daemon=True)
    thread.start()
    wait_until(lambda: acked[0] >= 50)
    with gateway(link.port, clock) as gw:
        ack = gw.send(BP.replace(b"MSGID1234", b"GATEWAY"))
    seen = acked[0]
    assert b"MSA|AA|GATEWAY|" in ack
    assert seen < count, "the fast sender's burst was answered in full before the gateway's one message"
    assert done.wait(30)
    assert acked[0] == count


def test_mutated_messages_from_one_sender_do_not_disturb_another(
    make_listener: Callable[..., MllpListener], clock: FakeClock
) -> None:
    link = make_listener()
    text = BP.decode("latin-1")
    mutants = [text.replace("|", "^", n).encode("latin-1") for n in range(1, 40, 3)] + [
        text[: n * 37].encode("latin-1") for n in range(1, 20)
    ]
    with connect(link.port) as bad, gateway(link.port, clock) as gw:
        framer = MllpFramer()
        replies = 0
        for n, mutant in enumerate(mutants):
            bad.sendall(frame(mutant))
            assert f"MSA|AA|G{n}|".encode() in gw.send(BP.replace(b"MSGID1234", f"G{n}".encode()))
        bad.settimeout(WAIT_S)
        while replies < len(mutants):
            replies += sum(1 for i in framer.feed(bad.recv(65536)) if isinstance(i, bytes))
        assert replies == len(mutants)  # one ACK each, whatever was wrong with them


@pytest.mark.parametrize(
    ("url", "host", "port", "allowed"),
    [
        ("mllp://127.0.0.1:2575", "127.0.0.1", 2575, ()),
        ("mllp://:2575", "127.0.0.1", 2575, ()),
        ("mllp://localhost", "localhost", 0, ()),
        ("mllp://0.0.0.0:2575?allow=10.0.0.5,10.1.0.0/24", "0.0.0.0", 2575, ("10.0.0.5", "10.1.0.0/24")),
    ],
)
def test_listen_address_from_the_device_url(url: str, host: str, port: int, allowed: tuple[str, ...]) -> None:
    where = listen_address(url)
    assert (where.host, where.port, where.allowed_senders) == (host, port, allowed)
    assert where.allow_remote is bool(allowed)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("mllp://0.0.0.0:2575", "allow remote senders explicitly"),
        ("mllp://192.168.1.10:2575?allow=gateway", "not an IP address"),
        ("mllp://127.0.0.1:2575?open=1", "unknown option"),
        ("mllp://127.0.0.1:99999", "port"),
        ("tcp://127.0.0.1:2575", "mllp://HOST:PORT"),
    ],
)
def test_unsafe_or_broken_device_urls_are_one_sentence_before_start(url: str, words: str) -> None:
    """Issue 11: the listener binds 127.0.0.1; elsewhere only with an allow-list, said up front."""
    from bedside.app.build import DeviceSpec, DeviceSpecError

    with pytest.raises(MllpConfigError, match=words):
        listen_address(url)
    if url.startswith("mllp://"):
        with pytest.raises(DeviceSpecError, match=words):
            DeviceSpec.parse(f"hl7-pcd01={url}")


@pytest.mark.req("ALM-2")
@pytest.mark.req("MON-1")
def test_junk_bytes_do_not_hide_that_the_gateway_went_quiet(
    make_listener: Callable[..., MllpListener], clock: FakeClock, events: Events
) -> None:
    """A sender of garbage kept the link 'receiving' while no message came: SILENT must still
    fire after the silence limit, and a real message ends it."""
    link = make_listener(MllpLimits(idle_timeout_s=600))
    with connect(link.port) as junk:
        for _ in range(12):
            junk.sendall(b"\x0bnot hl7 at all\x1c\r" + b"noise")
            wait_until(lambda: bool(events.results) and len(events.results) >= 1)
            clock.advance(1.0)
            link.check_silence()
        assert events.of(DeviceEventKind.SILENT)
    with gateway(link.port, clock) as gw:
        assert b"MSA|AA|" in gw.send(BP)
    wait_until(lambda: bool(events.of(DeviceEventKind.RESUMED)))
