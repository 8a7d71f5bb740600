"""MLLP over TCP: a listener that HL7 gateways send results to, and a sender (simulators, tests).

The listener is a ``DeviceLink``: it binds 127.0.0.1 unless told otherwise, accepts several
connections (one driver each, made by ``driver_factory``), reads in chunks, and writes every reply
the driver produces (the ACKs) back on the connection it came from. It reports CONNECTED /
DISCONNECTED per peer, SILENT / RESUMED through ``check_silence`` on the injected clock, and
SENDER_REFUSED (a technical alarm, ALM-2) when it turns a sender away.

No sender can starve or lock out another:
- One loop thread, non-blocking sockets, turns bounded per connection in bytes and in messages:
  in one turn a connection gets at most one read of ``READ_CHUNK`` bytes (only once what it sent
  before holds no complete message) and at most one complete message handled, and that message's
  ACK is written before the next connection's turn. A fast sender's backlog waits in its own
  buffer (at most two chunks; the rest stays in the kernel and slows the sender down), so a
  gateway's message waits for at most one message of each other sender, whatever they send.
  Connections are served least recently served first; queued ACKs leave before any parsing.
  Starting a listener shortens the interpreter's switch interval to 1 ms (``switch_interval_s``):
  with Python's 5 ms, a busy pump thread delayed every socket call of the ACK path.
  ACKs are never written with a blocking call: a sender that does not read them is dropped.
- A connection that stops mid-message is closed after ``message_timeout_s``; one with no complete
  message for ``idle_timeout_s`` is closed too (quietly: an idle gateway did nothing wrong).
- At most ``max_connections_per_address`` from one address and ``max_connections`` in all; when
  full, a connection that never completed a message, else the one idle longest, else (for a
  newcomer from an address with fewer connections) the busiest address's oldest connection that
  never completed a message, makes room for the newcomer, so idle or flooding connections cannot
  lock new senders out. A sender turned away is a SENDER_REFUSED event (rate-limited).
- Binding anywhere but loopback needs ``allow_remote=True`` and an allow-list of sender addresses;
  the listener logs both at start and refuses everyone else.
The timeouts run on the injected clock's monotonic time (a FakeClock in tests).
No exception from a driver, a sink or a socket ends its loop: each is logged and counted.
"""

from __future__ import annotations

import contextlib
import errno
import ipaddress
import logging
import queue
import selectors
import socket
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

from drivers.clock import Clock
from drivers.mllp import END_BLOCK, START_BLOCK, MllpFramer, MllpRejection, frame
from drivers.transports.base import EventSink, ResultSink
from drivers.types import DecodeResult, DeviceDriver, DeviceEvent, DeviceEventKind, Stamp

log = logging.getLogger(__name__)

#: Bytes read from one connection per turn of the loop: a 200-row message in five turns.
#: A turn handles at most one complete message per connection, however many this chunk holds.
READ_CHUNK = 4096
#: Seconds the loop waits in select; bounds how long ``stop`` and a timeout take to be noticed.
SELECT_TIMEOUT_S = 0.05
#: Seconds a reply write may block before the peer counts as gone (the sender's side).
REPLY_TIMEOUT_S = 2.0
#: Seconds ``stop`` waits for the loop thread.
STOP_JOIN_S = 2.0
#: Seconds another thread (the window's pump, a storage writer) may keep the interpreter while
#: the listener waits for it, once per socket call (select, read, write). With a fast sender
#: keeping the pump busy, a gateway's ACK p99 was 50-67 ms at Python's default of 5 ms and
#: 32-38 ms at 1 ms on a loaded machine, about the same on a quieter one (bench_hl7_ingest
#: --core, issue 11); the median does not change.
ACK_SWITCH_INTERVAL_S = 0.001
#: Clock seconds between two FRAME_ERRORS events, and between two SENDER_REFUSED events.
FRAME_ERROR_EVENT_INTERVAL_S = 1.0
#: Connections held at once by default (kept for callers that read it).
MAX_CONNECTIONS = 32
#: Connections accepted per loop turn: a flood of connects cannot starve the readers.
ACCEPTS_PER_TURN = 64
_SB = bytes([START_BLOCK])
_EB = bytes([END_BLOCK])

DriverFactory = Callable[[str], DeviceDriver]


class MllpSendError(OSError):
    """The sender could not deliver a message or get its ACK (host, port and cause in the text)."""


class MllpConfigError(ValueError):
    """The listener was asked for something unsafe or impossible (the text says what to change)."""


@dataclass(frozen=True, slots=True)
class MllpLimits:
    """How long and how many: what keeps one sender from starving or locking out the others.

    These are transport limits, not clinical ones: the clinical "no data" limit is the link's
    ``silence_after_s`` (MON-1, ALM-2).
    """

    idle_timeout_s: float = 60.0
    message_timeout_s: float = 5.0
    max_connections: int = MAX_CONNECTIONS
    max_connections_per_address: int = 4
    #: ACK bytes queued for a peer that is not reading them before it is dropped.
    max_pending_reply_bytes: int = 256 * 1024
    #: A connection idle at least this long may be closed to make room for a new sender.
    evict_idle_after_s: float = 1.0
    #: A connection that has not completed one message this long after connecting may be closed
    #: to make room (a connect flood or a slowloris cannot hold the slots).
    unproven_grace_s: float = 0.1

    def __post_init__(self) -> None:
        for name in ("idle_timeout_s", "message_timeout_s", "evict_idle_after_s", "unproven_grace_s"):
            if getattr(self, name) <= 0:
                raise MllpConfigError(f"MLLP {name} must be positive, got {getattr(self, name)}")
        if self.max_connections < 1 or self.max_connections_per_address < 1:
            raise MllpConfigError("MLLP connection limits must be at least 1")
        if self.max_pending_reply_bytes < 1024:
            raise MllpConfigError("max_pending_reply_bytes must be at least 1024")


@dataclass(slots=True)
class _Peer:
    sock: socket.socket
    name: str
    address: str
    driver: DeviceDriver
    accepted_mono: float
    last_message_mono: float
    #: When the unfinished block began (None between blocks).
    block_started_mono: float | None = None
    out: bytearray = field(default_factory=bytearray)
    writing: bool = False
    #: True once the peer completed a message (an end block arrived).
    proven: bool = False
    #: Bytes read but not yet handed to the driver (at most two chunks: see ``_serve``).
    inbox: bytearray = field(default_factory=bytearray)
    #: The loop turn that last handled this peer's bytes: the least recently served go first.
    served_turn: int = 0


@dataclass(frozen=True, slots=True)
class ListenAddress:
    """Where an MLLP listener binds and whom it accepts, read from ``mllp://HOST:PORT[?allow=...]``."""

    host: str
    port: int
    allowed_senders: tuple[str, ...] = ()

    @property
    def allow_remote(self) -> bool:
        """Listening beyond this computer was asked for explicitly (an ``allow=`` list)."""
        return bool(self.allowed_senders)


def listen_address(url: str) -> ListenAddress:
    """``mllp://HOST:PORT`` (127.0.0.1 and an ephemeral port when left out); another host than
    this computer needs ``?allow=ADDRESS[,NETWORK...]``. Raises ``MllpConfigError`` in one
    sentence for anything else, so a bad setting is caught before the monitor starts."""
    where = urlsplit(url)
    if where.scheme != "mllp":
        raise MllpConfigError(f"{url!r}: HL7 listens on mllp://HOST:PORT (e.g. mllp://127.0.0.1:2575)")
    try:
        port = where.port or 0
    except ValueError:
        raise MllpConfigError(f"{url!r}: the port must be a number from 1 to 65535") from None
    query = parse_qs(where.query)
    unknown = sorted(set(query) - {"allow"})
    if unknown:
        raise MllpConfigError(f"{url!r}: unknown option {unknown[0]!r}; the only option is allow=ADDRESS,...")
    allowed = tuple(a.strip() for value in query.get("allow", []) for a in value.split(",") if a.strip())
    address = ListenAddress(where.hostname or "127.0.0.1", port, allowed)
    # Validated here exactly as the listener will: one sentence now, never a traceback later.
    MllpListener._allow_list(address.host, address.allow_remote, address.allowed_senders)
    return address


def _is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return host == "localhost"
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MllpListener:
    """Accepts MLLP connections from HL7 gateways; one driver per connection (a ``DeviceLink``)."""

    def __init__(
        self,
        source: str,
        driver_factory: DriverFactory,
        clock: Clock,
        on_result: ResultSink,
        on_event: EventSink,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        silence_after_s: float = 10.0,
        limits: MllpLimits | None = None,
        allow_remote: bool = False,
        allowed_senders: Iterable[str] = (),
        switch_interval_s: float | None = ACK_SWITCH_INTERVAL_S,
    ) -> None:
        if silence_after_s <= 0:
            raise ValueError(f"silence_after_s must be positive, got {silence_after_s}")
        self._allowed = self._allow_list(host, allow_remote, allowed_senders)
        self.source = source
        self.host = host
        self.limits = limits or MllpLimits()
        self._requested_port = port
        self._driver_factory = driver_factory
        self._clock = clock
        self._on_result = on_result
        self._on_event = on_event
        self._silence_after_s = silence_after_s
        if switch_interval_s is not None and switch_interval_s <= 0:
            raise ValueError(f"switch_interval_s must be positive, got {switch_interval_s}")
        self._switch_interval_s = switch_interval_s
        #: Exceptions caught in the loop (a driver, a sink or a socket misbehaved).
        self.loop_errors = 0
        #: Senders turned away (limits, allow-list) and connections closed by a timeout.
        self.refused_total = 0
        self.timed_out_total = 0
        #: Connections closed to make room for a new sender.
        self.evicted_total = 0
        self._port: int | None = None
        self._server: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._peers: dict[int, _Peer] = {}
        #: Turns of the loop so far (orders connections by when they were last served).
        self._turns = 0
        self._outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # silence, frame-error and refusal bookkeeping (loop + tick)
        self._last_rx_mono = clock.monotonic()
        self._silent = False
        self._rejected_total = 0
        self._rejected_reported = 0
        self._ok_total = 0
        self._last_frame_event_mono: float | None = None
        self._refused_reported = 0
        self._last_refused_event_mono: float | None = None
        self._last_refusal = ""

    @staticmethod
    def _allow_list(
        host: str, allow_remote: bool, allowed_senders: Iterable[str]
    ) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        networks = []
        for text in allowed_senders:
            try:
                networks.append(ipaddress.ip_network(text.strip(), strict=False))
            except ValueError:
                raise MllpConfigError(
                    f"MLLP allowed sender {text!r} is not an IP address or network "
                    "(e.g. 10.0.0.5 or 10.0.0.0/24)"
                ) from None
        if _is_loopback(host):
            return tuple(networks)
        if not allow_remote:
            raise MllpConfigError(
                f"the HL7 listener binds 127.0.0.1 unless told otherwise; to listen on {host!r} "
                "allow remote senders explicitly and list their addresses (mllp://HOST:PORT?allow=10.0.0.5)"
            )
        if not networks:
            raise MllpConfigError(
                f"the HL7 listener on {host!r} needs a list of the sender addresses it may accept"
            )
        return tuple(networks)

    @property
    def port(self) -> int:
        """The TCP port listened on (the ephemeral one chosen when constructed with port 0)."""
        if self._port is None:
            raise RuntimeError("the MLLP listener has not been started")
        return self._port

    @property
    def connection_count(self) -> int:
        """Connections open now."""
        return len(self._peers)

    def start(self) -> None:
        """Bind and listen, then serve on a daemon thread; returns at once. OSError if the port is taken."""
        if self._thread is not None and self._thread.is_alive():
            return
        server = socket.create_server((self.host, self._requested_port), reuse_port=False, backlog=128)
        server.setblocking(False)
        self._server = server
        self._port = server.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(server, selectors.EVENT_READ, None)
        self._stop.clear()
        with self._lock:
            self._last_rx_mono = self._clock.monotonic()
            self._silent = False
        self._prefer_prompt_acks()
        self._thread = threading.Thread(target=self._run, name=f"mllp-listener-{self.source}", daemon=True)
        self._thread.start()
        if _is_loopback(self.host):
            log.info("MLLP listener %s on %s:%d (this computer only)", self.source, self.host, self._port)
        else:
            log.warning(
                "MLLP listener %s on %s:%d accepts remote senders: %s (and this computer)",
                self.source,
                self.host,
                self._port,
                ", ".join(str(n) for n in self._allowed),
            )

    def _prefer_prompt_acks(self) -> None:
        """Shorten the interpreter's switch interval to ``switch_interval_s`` (never lengthen it).

        The interval is the whole process's: the listener thread shares the interpreter with the
        window's pump, and each socket call hands it over and waits up to that long to get it
        back. Left as it is when ``switch_interval_s`` is None or the interval is already shorter.
        """
        wanted = self._switch_interval_s
        current = sys.getswitchinterval()
        if wanted is None or current <= wanted:
            return
        sys.setswitchinterval(wanted)
        log.info(
            "MLLP listener %s: interpreter switch interval %.1f ms -> %.1f ms, so ACKs wait less "
            "for other threads",
            self.source,
            current * 1000,
            wanted * 1000,
        )

    def stop(self) -> None:
        """Close every connection and the listening socket; waits at most ``STOP_JOIN_S``."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(STOP_JOIN_S)
            if thread.is_alive():
                log.warning("MLLP listener %s: loop did not stop within %.1f s", self.source, STOP_JOIN_S)
        self._thread = None

    def send(self, data: bytes) -> None:
        """Queue bytes for every connected peer (written by the loop thread); never blocks."""
        self._outbox.put(bytes(data))

    def check_silence(self) -> None:
        """Emit SILENT once when no message was read for ``silence_after_s`` of clock time (ALM-2);
        bytes that make no message (junk, refused blocks) do not count."""
        with self._lock:
            now = self._clock.monotonic()
            quiet_for = now - self._last_rx_mono
            emit = not self._silent and quiet_for >= self._silence_after_s
            if emit:
                self._silent = True
        if emit:
            self._emit(DeviceEventKind.SILENT, f"no HL7 data for {quiet_for:.1f} s")
        self._report_frame_errors()
        self._report_refusals()

    # -- the loop thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        selector = self._selector
        assert selector is not None
        try:
            while not self._stop.is_set():
                try:
                    self._turn(selector)
                    self._close_timed_out()
                except Exception:
                    # Last line of defence: the loop outlives any bug; never spin hot on one.
                    self.loop_errors += 1
                    log.exception("MLLP listener %s: unexpected error in the loop", self.source)
                    self._stop.wait(SELECT_TIMEOUT_S)
        finally:
            for peer in list(self._peers.values()):
                self._drop(peer, "listener stopped")
            selector.close()
            if self._server is not None:
                self._server.close()
                self._server = None

    def _turn(self, selector: selectors.BaseSelector) -> None:
        """One turn of the loop: ACKs out, new senders in, then one message per connection."""
        self._turns += 1
        self._flush_outbox()
        # A connection whose buffer already holds a message has work without any socket event.
        backlog = any(peer.inbox for peer in self._peers.values())
        readable: list[_Peer] = []
        accept = False
        for key, mask in selector.select(0 if backlog else SELECT_TIMEOUT_S):
            peer = key.data
            if peer is None:
                accept = True
                continue
            # The ACK path before any parsing: what is already answered leaves first.
            if mask & selectors.EVENT_WRITE:
                self._write(peer)
            if mask & selectors.EVENT_READ:
                readable.append(peer)
        if accept:
            self._accept_some()
        readable_ids = {id(peer) for peer in readable}
        due = [peer for peer in self._peers.values() if peer.inbox or id(peer) in readable_ids]
        # Least recently served first: a gateway's one message goes before a busy sender's next.
        due.sort(key=lambda peer: peer.served_turn)
        for peer in due:
            if self._peers.get(peer.sock.fileno()) is peer:  # not dropped earlier in this turn
                self._serve(peer, id(peer) in readable_ids)

    def _accept_some(self) -> None:
        for _ in range(ACCEPTS_PER_TURN):
            if not self._accept():
                return

    def _accept(self) -> bool:
        """Accept one pending connection; False when none is waiting."""
        assert self._server is not None and self._selector is not None
        try:
            sock, address = self._server.accept()
        except (BlockingIOError, InterruptedError):
            return False
        except OSError as exc:
            self.loop_errors += 1
            log.warning("MLLP listener %s: accept failed: %s", self.source, exc)
            return exc.errno not in (errno.EMFILE, errno.ENFILE)
        host = str(address[0])
        name = f"{host}:{address[1]}"
        why = self._why_refused(host)
        if why:
            self._refuse(sock, name, why)
            return True
        sock.setblocking(False)
        try:
            driver = self._driver_factory(self.source)
        except Exception:
            self.loop_errors += 1
            log.exception("MLLP listener %s: driver factory failed for %s", self.source, name)
            sock.close()
            return True
        now = self._clock.monotonic()
        peer = _Peer(sock, name, host, driver, now, now)
        self._peers[sock.fileno()] = peer
        self._selector.register(sock, selectors.EVENT_READ, peer)
        self._emit(DeviceEventKind.CONNECTED, f"HL7 sender {name} connected")
        return True

    def _why_refused(self, host: str) -> str:
        """Why a connection from ``host`` cannot be taken now ("" when it can)."""
        limits = self.limits
        try:
            ip = ipaddress.ip_address(host.split("%", 1)[0])
        except ValueError:
            return "not an IP address"
        if not ip.is_loopback and not any(ip in n for n in self._allowed):
            return "not on the listener's list of allowed senders"
        same = sum(1 for p in self._peers.values() if p.address == host)
        if same >= limits.max_connections_per_address:
            return (
                f"{same} connections from this address already (limit {limits.max_connections_per_address})"
            )
        if len(self._peers) >= limits.max_connections and not self._evict_idlest(host):
            return f"{len(self._peers)} connections already, none idle (limit {limits.max_connections})"
        return ""

    def _evict_idlest(self, newcomer: str) -> bool:
        """Close one connection to make room for a sender from ``newcomer``; False when every
        one is busy or too new.

        First choice: the oldest connection that has never completed a message and is older than
        ``unproven_grace_s`` (a connect flood, a slowloris that never finished one; a gateway
        sends its message right after connecting). Then the proven connection idle longest, once
        idle ``evict_idle_after_s``. Last, a fair share between addresses: when the newcomer's
        address holds at least two connections fewer than the busiest address, that address's
        oldest unproven connection, however new (a flood that reconnects faster than the grace
        would otherwise keep every slot too young to close). A proven sender in the middle of a
        message is never evicted.
        """
        now = self._clock.monotonic()
        limits = self.limits
        unproven = [
            p
            for p in self._peers.values()
            if not p.proven and not p.out and now - p.accepted_mono >= limits.unproven_grace_s
        ]
        if unproven:
            peer = min(unproven, key=lambda p: p.accepted_mono)
        else:
            idle = [
                p for p in self._peers.values() if p.block_started_mono is None and not p.out and not p.inbox
            ]
            oldest_idle = min(idle, key=lambda p: p.last_message_mono) if idle else None
            if oldest_idle is not None and now - oldest_idle.last_message_mono >= limits.evict_idle_after_s:
                peer = oldest_idle
            else:
                fair = self._over_share(newcomer)
                if fair is None:
                    return False
                peer = fair
        # Debug only: under a connect flood this happens for every connection (counted instead).
        self.evicted_total += 1
        log.debug("MLLP listener %s: closing %s to make room for a new sender", self.source, peer.name)
        self._drop(peer, "closed to make room for a new sender", report=False)
        return True

    def _over_share(self, newcomer: str) -> _Peer | None:
        """The oldest unproven connection of the busiest address, when the newcomer's address
        holds at least two fewer (so closing it leaves no address with more than its share)."""
        counts = Counter(p.address for p in self._peers.values())
        if not counts:
            return None
        most = max(counts.values())
        if counts.get(newcomer, 0) >= most - 1:
            return None
        candidates = [
            p
            for p in self._peers.values()
            if counts[p.address] == most and not p.proven and not p.out and not p.inbox
        ]
        return min(candidates, key=lambda p: p.accepted_mono) if candidates else None

    def _refuse(self, sock: socket.socket, name: str, why: str) -> None:
        with contextlib.suppress(OSError):
            sock.close()
        with self._lock:
            self.refused_total += 1
            self._last_refusal = f"HL7 sender {name} refused: {why}"
        self._report_refusals()

    def _serve(self, peer: _Peer, readable: bool) -> None:
        """A peer's turn: at most one read, then at most one complete message handled and ACKed.

        The socket is read only when the buffer holds no complete message, so a fast sender's
        backlog stays in the kernel (TCP slows it down) and this buffer stays under two chunks.
        """
        closed = False
        if readable and _EB not in peer.inbox:
            try:
                data = peer.sock.recv(READ_CHUNK)
            except (BlockingIOError, InterruptedError):
                data = None
            except OSError as exc:
                self._drop(peer, f"read error: {exc}")
                return
            if data == b"":
                closed = True
            elif data:
                peer.inbox += data
        if peer.inbox:
            self._handle(peer, self._next_piece(peer))
        if closed:
            # A gateway that closes between messages (one connection per message is common) did
            # nothing wrong: silence is watched on its own. Only a close mid-message is reported.
            mid_message = peer.block_started_mono is not None
            why = "closed by the sender mid-message" if mid_message else "closed by the sender"
            self._drop(peer, why, report=mid_message)

    @staticmethod
    def _next_piece(peer: _Peer) -> bytes:
        """The buffer up to and including its first end block (and the CR after it), or all of it
        when it holds none; the driver's framer accepts any cut, this one bounds a turn's work."""
        end = peer.inbox.find(_EB)
        cut = len(peer.inbox) if end < 0 else min(end + 2, len(peer.inbox))
        piece = bytes(peer.inbox[:cut])
        del peer.inbox[:cut]
        return piece

    def _handle(self, peer: _Peer, data: bytes) -> None:
        """Feed the driver, hand the values on, and write the ACK before anyone else's turn."""
        peer.served_turn = self._turns
        stamp = self._clock.stamp()
        self._track_blocks(peer, data, stamp.mono)
        try:
            result = peer.driver.feed(data, stamp)
        except Exception as exc:
            self.loop_errors += 1
            # The class only: an exception's text may quote the message (patient data).
            log.error(
                "MLLP listener %s: driver raised %s on %d bytes from %s",
                self.source,
                type(exc).__name__,
                len(data),
                peer.name,
            )
            return
        if result.frames or result.observations:
            # Only a message read is data: a sender of junk must not hide that the gateway went quiet.
            self._mark_received(stamp)
        # Hand the values on before acknowledging them: an ACK says the monitor has them.
        self._deliver(result)
        if result.replies:
            peer.out += b"".join(result.replies)
            self._write(peer)

    @staticmethod
    def _track_blocks(peer: _Peer, data: bytes, now: float) -> None:
        """Note when a block starts and ends, for the mid-message and idle timeouts."""
        last_start = data.rfind(_SB)
        last_end = data.rfind(_EB)
        if last_end >= 0:
            peer.last_message_mono = now
            peer.proven = True
        if last_start > last_end:
            if peer.block_started_mono is None or last_end >= 0:
                peer.block_started_mono = now
        elif last_end >= 0:
            peer.block_started_mono = None

    def _write(self, peer: _Peer) -> None:
        """Send what is queued for a peer without blocking; wait for writability for the rest."""
        if peer.sock.fileno() not in self._peers:
            return
        while peer.out:
            try:
                sent = peer.sock.send(peer.out)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._drop(peer, f"could not send ACK: {exc}")
                return
            del peer.out[:sent]
        if len(peer.out) > self.limits.max_pending_reply_bytes:
            self._drop(peer, "not reading its ACKs")
            return
        want_write = bool(peer.out)
        if want_write != peer.writing and self._selector is not None:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if want_write else 0)
            self._selector.modify(peer.sock, events, peer)
            peer.writing = want_write

    def _close_timed_out(self) -> None:
        now = self._clock.monotonic()
        limits = self.limits
        for peer in list(self._peers.values()):
            if peer.block_started_mono is not None:
                stalled = now - peer.block_started_mono
                if stalled >= limits.message_timeout_s:
                    self.timed_out_total += 1
                    log.info("MLLP listener %s: %s stalled mid-message; closing", self.source, peer.name)
                    self._drop(peer, f"no end of message within {limits.message_timeout_s:g} s")
            elif now - peer.last_message_mono >= limits.idle_timeout_s and not peer.out and not peer.inbox:
                self.timed_out_total += 1
                log.debug("MLLP listener %s: %s idle; closing", self.source, peer.name)
                # An idle gateway did nothing wrong: no DISCONNECTED (silence is watched on its own).
                self._drop(peer, f"idle for {limits.idle_timeout_s:g} s", report=False)

    def _deliver(self, result: DecodeResult) -> None:
        with self._lock:
            self._ok_total += result.frames
            self._rejected_total += len(result.rejections)
        if result.observations or result.rejections:
            try:
                self._on_result(result)
            except Exception as exc:
                self.loop_errors += 1
                log.error("MLLP listener %s: result sink raised %s", self.source, type(exc).__name__)
        if result.rejections:
            self._report_frame_errors()

    def _flush_outbox(self) -> None:
        while True:
            try:
                data = self._outbox.get_nowait()
            except queue.Empty:
                return
            for peer in list(self._peers.values()):
                peer.out += data
                self._write(peer)

    def _drop(self, peer: _Peer, why: str, *, report: bool = True) -> None:
        if self._peers.pop(peer.sock.fileno(), None) is None:
            return
        try:
            if self._selector is not None:
                self._selector.unregister(peer.sock)
        except (KeyError, ValueError):
            pass
        peer.sock.close()
        if report:
            self._emit(DeviceEventKind.DISCONNECTED, f"HL7 sender {peer.name}: {why}")

    def _mark_received(self, stamp: Stamp) -> None:
        with self._lock:
            self._last_rx_mono = stamp.mono
            resumed = self._silent
            self._silent = False
        if resumed:
            self._emit(DeviceEventKind.RESUMED, "HL7 data again", stamp)

    def _report_frame_errors(self) -> None:
        with self._lock:
            now = self._clock.monotonic()
            if self._rejected_total == self._rejected_reported:
                return
            last = self._last_frame_event_mono
            if last is not None and now - last < FRAME_ERROR_EVENT_INTERVAL_S:
                return
            self._last_frame_event_mono = now
            new = self._rejected_total - self._rejected_reported
            self._rejected_reported = self._rejected_total
        self._emit(DeviceEventKind.FRAME_ERRORS, f"{new} HL7 message(s) rejected")

    def _report_refusals(self) -> None:
        """One SENDER_REFUSED event (and log line) per interval, however many were turned away."""
        with self._lock:
            now = self._clock.monotonic()
            if self.refused_total == self._refused_reported:
                return
            last = self._last_refused_event_mono
            if last is not None and now - last < FRAME_ERROR_EVENT_INTERVAL_S:
                return
            self._last_refused_event_mono = now
            new = self.refused_total - self._refused_reported
            self._refused_reported = self.refused_total
            detail = self._last_refusal + (f" ({new} refused since the last report)" if new > 1 else "")
        log.warning("MLLP listener %s: %s", self.source, detail)
        self._emit(DeviceEventKind.SENDER_REFUSED, detail)

    def _emit(self, kind: DeviceEventKind, detail: str, stamp: Stamp | None = None) -> None:
        with self._lock:
            ok, rejected = self._ok_total, self._rejected_total
        event = DeviceEvent(kind, self.source, stamp or self._clock.stamp(), detail, ok, rejected)
        try:
            self._on_event(event)
        except Exception as exc:
            self.loop_errors += 1
            log.error(
                "MLLP listener %s: event sink raised %s on %s", self.source, type(exc).__name__, kind.value
            )


class MllpSender:
    """Sends HL7 messages over MLLP and returns each ACK; reconnects when the connection broke."""

    def __init__(
        self,
        host: str,
        port: int,
        clock: Clock,
        *,
        connect_timeout_s: float = 5.0,
        ack_timeout_s: float = 10.0,
        max_message_bytes: int = 64 * 1024,
        source_address: tuple[str, int] | None = None,
    ) -> None:
        self.host = host
        self._source_address = source_address
        self.port = port
        self._clock = clock
        self._connect_timeout_s = connect_timeout_s
        self._ack_timeout_s = ack_timeout_s
        self._max_message_bytes = max_message_bytes
        self._sock: socket.socket | None = None
        self._framer = MllpFramer(max_message_bytes)
        self._pending: list[bytes] = []  # ACKs already framed but not yet returned

    def __enter__(self) -> MllpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        """True while a connection is open."""
        return self._sock is not None

    def send(self, message: bytes) -> bytes:
        """Send one HL7 message and return the ACK message (unframed).

        A connection found broken while sending is reopened and the message sent once more;
        raises ``MllpSendError`` when that fails too or no ACK comes within ``ack_timeout_s``.
        """
        block = frame(message)
        for attempt in (1, 2):
            sock = self._connect()
            try:
                sock.sendall(block)
                return self._await_ack(sock)
            except _ConnectionBroken as exc:
                self.close()
                if attempt == 2:
                    raise MllpSendError(f"MLLP {self.host}:{self.port}: {exc}") from None
                log.info("MLLP %s:%d: %s; reconnecting", self.host, self.port, exc)
            except OSError as exc:
                self.close()
                if attempt == 2 or isinstance(exc, TimeoutError):
                    raise MllpSendError(f"MLLP {self.host}:{self.port}: {exc}") from exc
                log.info("MLLP %s:%d: %s; reconnecting", self.host, self.port, exc)
        raise AssertionError("unreachable")

    def close(self) -> None:
        """Close the connection (the next ``send`` opens a new one)."""
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._framer = MllpFramer(self._max_message_bytes)
                self._pending.clear()

    def _connect(self) -> socket.socket:
        if self._sock is None:
            try:
                self._sock = socket.create_connection(
                    (self.host, self.port),
                    timeout=self._connect_timeout_s,
                    source_address=self._source_address,
                )
            except OSError as exc:
                raise MllpSendError(f"cannot connect to MLLP {self.host}:{self.port}: {exc}") from exc
            self._sock.settimeout(self._ack_timeout_s)
        return self._sock

    def _await_ack(self, sock: socket.socket) -> bytes:
        deadline = self._clock.monotonic() + self._ack_timeout_s
        while not self._pending:
            try:
                data = sock.recv(READ_CHUNK)
            except TimeoutError:
                raise TimeoutError(f"no ACK within {self._ack_timeout_s:.1f} s") from None
            if not data:
                raise _ConnectionBroken("connection closed before the ACK came")
            for item in self._framer.feed(data):
                if isinstance(item, MllpRejection):
                    log.warning("MLLP %s:%d: bad ACK block: %s", self.host, self.port, item.reason)
                else:
                    self._pending.append(item)
            if not self._pending and self._clock.monotonic() > deadline:
                raise TimeoutError(f"no complete ACK within {self._ack_timeout_s:.1f} s")
        return self._pending.pop(0)


class _ConnectionBroken(Exception):
    """The peer closed the connection mid-exchange (worth one reconnect)."""
