"""MLLP over TCP: a listener that HL7 gateways send results to, and a sender (simulators, tests).

The listener is a ``DeviceLink``: it binds 127.0.0.1 unless told otherwise, accepts several
connections (one driver each, made by ``driver_factory``), reads in chunks, writes every reply
the driver produces (the ACKs) back on the connection it came from, and reports CONNECTED /
DISCONNECTED per peer and SILENT / RESUMED through ``check_silence`` on the injected clock.
No exception from a driver, a sink or a socket ends its loop: each is logged and counted.
"""

from __future__ import annotations

import logging
import queue
import selectors
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass

from drivers.clock import Clock
from drivers.mllp import MllpFramer, MllpRejection, frame
from drivers.transports.base import EventSink, ResultSink
from drivers.types import DecodeResult, DeviceDriver, DeviceEvent, DeviceEventKind, Stamp

log = logging.getLogger(__name__)

#: Bytes asked for per recv: a chunk, never a byte at a time.
READ_CHUNK = 65536
#: Seconds the loop waits in select; bounds how long ``stop`` takes to be noticed.
SELECT_TIMEOUT_S = 0.1
#: Seconds a reply write may block before the peer counts as gone.
REPLY_TIMEOUT_S = 2.0
#: Seconds ``stop`` waits for the loop thread.
STOP_JOIN_S = 2.0
#: Clock seconds between two FRAME_ERRORS events.
FRAME_ERROR_EVENT_INTERVAL_S = 1.0
#: Connections held at once; more are closed on accept (a misconfigured sender in a loop).
MAX_CONNECTIONS = 16

DriverFactory = Callable[[str], DeviceDriver]


class MllpSendError(OSError):
    """The sender could not deliver a message or get its ACK (host, port and cause in the text)."""


@dataclass(slots=True)
class _Peer:
    sock: socket.socket
    name: str
    driver: DeviceDriver


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
    ) -> None:
        if silence_after_s <= 0:
            raise ValueError(f"silence_after_s must be positive, got {silence_after_s}")
        self.source = source
        self.host = host
        self._requested_port = port
        self._driver_factory = driver_factory
        self._clock = clock
        self._on_result = on_result
        self._on_event = on_event
        self._silence_after_s = silence_after_s
        #: Exceptions caught in the loop (a driver, a sink or a socket misbehaved).
        self.loop_errors = 0
        self._port: int | None = None
        self._server: socket.socket | None = None
        self._selector: selectors.BaseSelector | None = None
        self._peers: dict[int, _Peer] = {}
        self._outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()  # silence and frame-error bookkeeping (loop thread + tick)
        self._last_rx_mono = clock.monotonic()
        self._silent = False
        self._rejected_total = 0
        self._rejected_reported = 0
        self._ok_total = 0
        self._last_frame_event_mono: float | None = None

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
        server = socket.create_server((self.host, self._requested_port), reuse_port=False)
        server.setblocking(False)
        self._server = server
        self._port = server.getsockname()[1]
        self._selector = selectors.DefaultSelector()
        self._selector.register(server, selectors.EVENT_READ, None)
        self._stop.clear()
        with self._lock:
            self._last_rx_mono = self._clock.monotonic()
            self._silent = False
        self._thread = threading.Thread(target=self._run, name=f"mllp-listener-{self.source}", daemon=True)
        self._thread.start()
        log.info("MLLP listener %s on %s:%d", self.source, self.host, self._port)

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
        """Emit SILENT once when no byte came for ``silence_after_s`` of clock time (ALM-2)."""
        with self._lock:
            now = self._clock.monotonic()
            quiet_for = now - self._last_rx_mono
            emit = not self._silent and quiet_for >= self._silence_after_s
            if emit:
                self._silent = True
        if emit:
            self._emit(DeviceEventKind.SILENT, f"no HL7 data for {quiet_for:.1f} s")
        self._report_frame_errors()

    # -- the loop thread ---------------------------------------------------------------------------

    def _run(self) -> None:
        selector = self._selector
        assert selector is not None
        try:
            while not self._stop.is_set():
                try:
                    self._flush_outbox()
                    for key, _ in selector.select(SELECT_TIMEOUT_S):
                        if key.data is None:
                            self._accept()
                        else:
                            self._read(key.data)
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

    def _accept(self) -> None:
        assert self._server is not None and self._selector is not None
        try:
            sock, address = self._server.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.loop_errors += 1
            log.warning("MLLP listener %s: accept failed: %s", self.source, exc)
            return
        name = f"{address[0]}:{address[1]}"
        if len(self._peers) >= MAX_CONNECTIONS:
            log.warning(
                "MLLP listener %s: refusing %s, %d connections already", self.source, name, MAX_CONNECTIONS
            )
            sock.close()
            return
        # A timeout makes the socket non-blocking for select and bounds a reply write.
        sock.settimeout(REPLY_TIMEOUT_S)
        try:
            driver = self._driver_factory(self.source)
        except Exception:
            self.loop_errors += 1
            log.exception("MLLP listener %s: driver factory failed for %s", self.source, name)
            sock.close()
            return
        peer = _Peer(sock, name, driver)
        self._peers[sock.fileno()] = peer
        self._selector.register(sock, selectors.EVENT_READ, peer)
        self._emit(DeviceEventKind.CONNECTED, f"HL7 sender {name} connected")

    def _read(self, peer: _Peer) -> None:
        try:
            data = peer.sock.recv(READ_CHUNK)
        except (BlockingIOError, InterruptedError, TimeoutError):
            return
        except OSError as exc:
            self._drop(peer, f"read error: {exc}")
            return
        if not data:
            self._drop(peer, "closed by the sender")
            return
        stamp = self._clock.stamp()
        self._mark_received(stamp)
        try:
            result = peer.driver.feed(data, stamp)
        except Exception:
            self.loop_errors += 1
            log.exception(
                "MLLP listener %s: driver raised on %d bytes from %s", self.source, len(data), peer.name
            )
            return
        # Hand the values on before acknowledging them: an ACK says the monitor has them.
        self._deliver(result)
        for reply in result.replies:
            try:
                peer.sock.sendall(reply)
            except OSError as exc:
                self._drop(peer, f"could not send ACK: {exc}")
                break

    def _deliver(self, result: DecodeResult) -> None:
        with self._lock:
            self._ok_total += result.frames
            self._rejected_total += len(result.rejections)
        if result.observations or result.rejections:
            try:
                self._on_result(result)
            except Exception:
                self.loop_errors += 1
                log.exception("MLLP listener %s: result sink raised", self.source)
        if result.rejections:
            self._report_frame_errors()

    def _flush_outbox(self) -> None:
        while True:
            try:
                data = self._outbox.get_nowait()
            except queue.Empty:
                return
            for peer in list(self._peers.values()):
                try:
                    peer.sock.sendall(data)
                except OSError as exc:
                    self._drop(peer, f"write error: {exc}")

    def _drop(self, peer: _Peer, why: str) -> None:
        if self._peers.pop(peer.sock.fileno(), None) is None:
            return
        try:
            if self._selector is not None:
                self._selector.unregister(peer.sock)
        except (KeyError, ValueError):
            pass
        peer.sock.close()
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

    def _emit(self, kind: DeviceEventKind, detail: str, stamp: Stamp | None = None) -> None:
        with self._lock:
            ok, rejected = self._ok_total, self._rejected_total
        event = DeviceEvent(kind, self.source, stamp or self._clock.stamp(), detail, ok, rejected)
        try:
            self._on_event(event)
        except Exception:
            self.loop_errors += 1
            log.exception("MLLP listener %s: event sink raised on %s", self.source, kind.value)


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
    ) -> None:
        self.host = host
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
                self._sock = socket.create_connection((self.host, self.port), timeout=self._connect_timeout_s)
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
