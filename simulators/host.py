"""Hosts that put a simulated device's bytes where a driver reads them: a pty or an MLLP connection.

A pty ignores baud rate, so each host paces its own output: one encoded emission per
``encoder.period_s`` of scenario time, which is ``period_s / speed`` of clock time. ``step()`` does
what is due at the clock's current time (tests drive it with a ``FakeClock``); ``run_forever``
calls ``step()`` in a loop paced by the real clock until the scenario ends or ``stop`` is set.
Nothing opens in a constructor: call ``open()`` (or use the host as a context manager).
"""

from __future__ import annotations

import errno
import logging
import math
import os
import select
import termios
import threading
import tty
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, Self

from drivers.clock import Clock
from drivers.mllp import CARRIAGE_RETURN, END_BLOCK, START_BLOCK
from simulators.encoders import encoder_for
from simulators.model import WireEncoder
from simulators.physiology import ScenarioPlayer
from simulators.scenario import Scenario

log = logging.getLogger(__name__)

#: Longest real-time wait between two checks of ``stop`` (keeps Ctrl-C and shutdown prompt).
MAX_WAIT_S = 0.1
#: When the real clock falls this far behind the emission schedule (a stalled machine), skip ahead
#: instead of bursting a backlog of stale values at the driver.
MAX_LAG_S = 2.0
#: Seconds (clock time) to wait before reconnecting to an MLLP listener that refused us.
MLLP_RETRY_S = 2.0


class HostNotOpenError(RuntimeError):
    """The host was used before ``open()`` or after ``close()``."""


class _EmissionSchedule:
    """Emission k falls due at scenario time ``k * period_s``; counts what has been emitted."""

    def __init__(self, period_s: float) -> None:
        if not math.isfinite(period_s) or period_s <= 0:
            raise ValueError(f"an encoder's period_s must be positive, not {period_s}")
        self.period_s = period_s
        self.next_index = 0

    def due(self, scenario_t: float) -> list[float]:
        """Scenario times of the emissions due by ``scenario_t`` (and marks them emitted)."""
        times: list[float] = []
        while self.next_index * self.period_s <= scenario_t:
            times.append(self.next_index * self.period_s)
            self.next_index += 1
        return times

    def next_time(self) -> float:
        """Scenario time of the next emission."""
        return self.next_index * self.period_s

    def skip_to(self, scenario_t: float) -> int:
        """Drop every emission due before ``scenario_t``; returns how many were dropped."""
        target = math.ceil(scenario_t / self.period_s)
        dropped = max(0, target - self.next_index)
        self.next_index = max(self.next_index, target)
        return dropped


class _Pty:
    """The device end of a pseudo-terminal; ``path`` is what a driver opens as its serial port."""

    def __init__(self) -> None:
        self.master_fd, self._slave_fd = os.openpty()
        # Raw: the driver must see the device's bytes unchanged (no CR/LF rewriting, no echo).
        tty.setraw(self._slave_fd)
        # Non-blocking: with nobody reading, a full pty buffer must not freeze the host.
        os.set_blocking(self.master_fd, False)
        self.path = os.ttyname(self._slave_fd)
        self.bytes_dropped = 0
        self.backlog_flushes = 0

    def write(self, data: bytes) -> int:
        """Write ``data``; bytes nobody drains are dropped like a serial line with no listener."""
        view = memoryview(data)
        written_total = 0
        flushed = False
        while view:
            try:
                written = os.write(self.master_fd, view)
            except BlockingIOError:
                if flushed:
                    self.bytes_dropped += len(view)
                    break
                # No reader: discard the stale backlog so a driver that opens later sees live data.
                termios.tcflush(self._slave_fd, termios.TCIFLUSH)
                self.backlog_flushes += 1
                flushed = True
                continue
            view = view[written:]
            written_total += written
        return written_total

    def read(self, timeout_s: float = 0.0) -> bytes:
        """Bytes the driver wrote to the device (commands), waiting at most ``timeout_s``."""
        ready, _, _ = select.select([self.master_fd], [], [], timeout_s)
        if not ready:
            return b""
        try:
            return os.read(self.master_fd, 4096)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno == errno.EIO:  # the driver's side is closed: nothing to read
                return b""
            raise

    def close(self) -> None:
        """Close both ends: to the driver, the device was unplugged."""
        for fd in (self.master_fd, self._slave_fd):
            try:
                os.close(fd)
            except OSError as exc:
                log.debug("closing pty fd %d: %s", fd, exc)


class _PacedHost:
    """Shared pacing: ``step()`` when due, wait on ``stop`` in between, end with the scenario."""

    player: ScenarioPlayer
    clock: Clock

    def open(self) -> str:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def step(self) -> int:
        raise NotImplementedError

    def _seconds_to_next(self) -> float:
        raise NotImplementedError

    def _resync(self) -> None:
        """Called when the real clock fell behind; skip stale work."""

    def run_forever(self, stop: threading.Event) -> None:
        """Step until the scenario ends or ``stop`` is set, pacing with the (real) clock."""
        while not stop.is_set() and not self.player.is_finished():
            self.step()
            wait = self._seconds_to_next()
            if wait < -MAX_LAG_S:
                self._resync()
                wait = 0.0
            stop.wait(min(max(wait, 0.0), MAX_WAIT_S))


class PtyHost(_PacedHost):
    """Writes an encoder's bytes for a playing scenario to a pty, one emission per period."""

    def __init__(self, encoder: WireEncoder, player: ScenarioPlayer, clock: Clock) -> None:
        self.encoder = encoder
        self.player = player
        self.clock = clock
        self.emissions = 0
        self.bytes_written = 0
        self._schedule = _EmissionSchedule(encoder.period_s)
        self._pty: _Pty | None = None

    def open(self) -> str:
        """Open the pty pair; returns the path a driver opens (also ``port_path``)."""
        if self._pty is None:
            self._pty = _Pty()
            log.info("simulated %s on %s", self.encoder.protocol, self._pty.path)
        return self._pty.path

    @property
    def port_path(self) -> str:
        """The pty's device path, e.g. ``/dev/pts/7``: give it to the driver as its serial port."""
        return self._require().path

    @property
    def backlog_flushes(self) -> int:
        """Times unread bytes were discarded because nobody had the port open (0 when unopened)."""
        return self._pty.backlog_flushes if self._pty is not None else 0

    def _require(self) -> _Pty:
        if self._pty is None:
            raise HostNotOpenError("the simulator's pty is not open; call open() first")
        return self._pty

    def step(self) -> int:
        """Write every emission due by now; returns how many were encoded (silence encodes nothing)."""
        pty = self._require()
        pty.read()  # discard anything the driver sent: this device takes no commands
        count = 0
        for t in self._schedule.due(self.player.scenario_time()):
            snapshot = self.player.snapshot_at(t)
            if snapshot.silent:
                continue
            data = self.encoder.encode(snapshot)
            if data:
                self.bytes_written += pty.write(data)
                self.emissions += 1
                count += 1
        return count

    def _seconds_to_next(self) -> float:
        return (self._schedule.next_time() - self.player.scenario_time()) / self.player.speed

    def _resync(self) -> None:
        dropped = self._schedule.skip_to(self.player.scenario_time())
        log.warning(
            "%s simulator fell behind the clock; skipped %d emissions", self.encoder.protocol, dropped
        )

    def close(self) -> None:
        """Close the pty (the driver sees an unplugged device)."""
        if self._pty is not None:
            self._pty.close()
            self._pty = None


class MessageSender(Protocol):
    """What the MLLP host needs of a sender: send one message, get its ACK; close."""

    def send(self, message: bytes) -> bytes: ...

    def close(self) -> None: ...


def unframe_mllp(block: bytes) -> bytes:
    """The HL7 message inside an MLLP block (unchanged when ``block`` is not framed)."""
    if block[:1] == bytes((START_BLOCK,)) and block[-2:] == bytes((END_BLOCK, CARRIAGE_RETURN)):
        return block[1:-2]
    return block


def ack_code(ack: bytes) -> str:
    """MSA-1 of an HL7 ACK (``AA``, ``AE``, ``AR``...), or "" when there is no MSA segment."""
    for segment in ack.replace(b"\n", b"\r").split(b"\r"):
        if segment.startswith(b"MSA") and len(segment) > 4:
            field_separator = segment[3:4]
            fields = segment.split(field_separator)
            return fields[1].decode("ascii", "replace").strip() if len(fields) > 1 else ""
    return ""


class MllpClientHost(_PacedHost):
    """Sends each encoded HL7 message to an MLLP listener and counts the ACKs it gets back.

    A refused or broken connection is retried every ``MLLP_RETRY_S`` of clock time (the listener
    may be restarting); messages that fall due meanwhile are lost, as from a real gateway.
    """

    def __init__(
        self,
        encoder: WireEncoder,
        player: ScenarioPlayer,
        clock: Clock,
        host: str,
        port: int,
        *,
        sender_factory: Callable[[str, int, Clock], MessageSender] | None = None,
    ) -> None:
        self.encoder = encoder
        self.player = player
        self.clock = clock
        self.host = host
        self.port = port
        self.sent = 0
        self.acks_accepted = 0
        self.acks_rejected = 0
        self.send_failures = 0
        self.last_error = ""
        self._schedule = _EmissionSchedule(encoder.period_s)
        self._sender_factory = sender_factory or _mllp_sender
        self._sender: MessageSender | None = None
        self._retry_at: float | None = None

    @property
    def address(self) -> str:
        """Where the messages go, as ``mllp://host:port``."""
        return f"mllp://{self.host}:{self.port}"

    def open(self) -> str:
        """Prepare the sender (it connects on the first message); returns ``address``."""
        if self._sender is None:
            self._sender = self._sender_factory(self.host, self.port, self.clock)
        return self.address

    def step(self) -> int:
        """Send every message due by now; returns how many were acknowledged with AA."""
        accepted = 0
        for t in self._schedule.due(self.player.scenario_time()):
            snapshot = self.player.snapshot_at(t)
            if snapshot.silent or not self._may_send():
                continue
            data = self.encoder.encode(snapshot)
            if data and self._send(unframe_mllp(data)):
                accepted += 1
        return accepted

    def _may_send(self) -> bool:
        return self._retry_at is None or self.clock.monotonic() >= self._retry_at

    def _send(self, message: bytes) -> bool:
        if self._sender is None:
            self.open()
        assert self._sender is not None
        try:
            ack = self._sender.send(message)
        except OSError as exc:  # MllpSendError is an OSError: refused, reset, or no ACK in time
            self.send_failures += 1
            self.last_error = str(exc)
            self._retry_at = self.clock.monotonic() + MLLP_RETRY_S
            self._sender.close()
            log.warning("MLLP %s: %s; retrying in %.0f s", self.address, exc, MLLP_RETRY_S)
            return False
        self._retry_at = None
        self.sent += 1
        code = ack_code(ack)
        if code in ("AA", "CA"):
            self.acks_accepted += 1
            return True
        self.acks_rejected += 1
        log.warning("MLLP %s: message not accepted (MSA %s)", self.address, code or "missing")
        return False

    def _seconds_to_next(self) -> float:
        return (self._schedule.next_time() - self.player.scenario_time()) / self.player.speed

    def _resync(self) -> None:
        self._schedule.skip_to(self.player.scenario_time())

    def close(self) -> None:
        """Close the connection."""
        if self._sender is not None:
            self._sender.close()
            self._sender = None


def _mllp_sender(host: str, port: int, clock: Clock) -> MessageSender:
    from drivers.transports.mllp import MllpSender

    return MllpSender(host, port, clock, connect_timeout_s=2.0, ack_timeout_s=5.0)


class CommandedDevice(Protocol):
    """A simulated device that answers commands (e.g. ``SuntechAdvantageSimulator``)."""

    def receive(self, data: bytes) -> bytes: ...

    def poll(self) -> bytes: ...


class SuntechHost(_PacedHost):
    """Serves a command-driven NIBP simulator on a pty: reads commands, writes replies, polls.

    ``player`` only decides when the run ends; the device answers within ``POLL_S``.
    """

    POLL_S = 0.02

    def __init__(self, device: CommandedDevice, player: ScenarioPlayer, clock: Clock) -> None:
        self.device = device
        self.player = player
        self.clock = clock
        self.bytes_written = 0
        self.bytes_read = 0
        self._pty: _Pty | None = None

    def open(self) -> str:
        """Open the pty pair; returns the path a driver opens (also ``port_path``)."""
        if self._pty is None:
            self._pty = _Pty()
            log.info("simulated NIBP module on %s", self._pty.path)
        return self._pty.path

    @property
    def port_path(self) -> str:
        """The pty's device path for the driver."""
        if self._pty is None:
            raise HostNotOpenError("the simulator's pty is not open; call open() first")
        return self._pty.path

    def step(self, timeout_s: float = 0.0) -> int:
        """Answer commands that arrived (waiting at most ``timeout_s``) and send what the device has."""
        if self._pty is None:
            raise HostNotOpenError("the simulator's pty is not open; call open() first")
        out = b""
        command = self._pty.read(timeout_s)
        if command:
            self.bytes_read += len(command)
            out += self.device.receive(command)
        out += self.device.poll()
        if out:
            self.bytes_written += self._pty.write(out)
        return len(out)

    def run_forever(self, stop: threading.Event) -> None:
        """Serve until the scenario ends or ``stop`` is set; commands are answered as they come."""
        while not stop.is_set() and not self.player.is_finished():
            self.step(timeout_s=self.POLL_S)

    def _seconds_to_next(self) -> float:
        return self.POLL_S

    def close(self) -> None:
        """Close the pty."""
        if self._pty is not None:
            self._pty.close()
            self._pty = None


#: The command-driven NIBP module, served by ``SuntechHost`` rather than a streaming encoder.
SUNTECH_PROTOCOL = "suntech-advantage"
#: The protocol sent over MLLP by ``MllpClientHost`` rather than written to a pty.
MLLP_PROTOCOL = "hl7-pcd01"

SimulatorHost = PtyHost | MllpClientHost | SuntechHost


def make_host(
    protocol: str,
    scenario: Scenario,
    clock: Clock,
    *,
    speed: float = 1.0,
    mllp: tuple[str, int] = ("127.0.0.1", 2575),
) -> SimulatorHost:
    """The right host for a simulated device, with its scenario player (not yet opened).

    ``hl7-pcd01`` sends to the MLLP listener at ``mllp``; ``suntech-advantage`` measures only
    when started remotely; every other protocol streams its encoder's bytes on a pty.
    """
    if protocol == SUNTECH_PROTOCOL:
        from simulators.suntech import SuntechAdvantageSimulator

        player = ScenarioPlayer(scenario, clock, speed=speed, remote_nibp_only=True)
        # The module times its own cycle in clock seconds; the player's is in scenario seconds.
        device = SuntechAdvantageSimulator(
            clock, scenario.nibp.measurement / speed, vitals=player.measure_nibp_now
        )
        return SuntechHost(device, player, clock)
    encoder = encoder_for(protocol)
    player = ScenarioPlayer(scenario, clock, speed=speed)
    if protocol == MLLP_PROTOCOL:
        return MllpClientHost(encoder, player, clock, *mllp)
    return PtyHost(encoder, player, clock)
