"""A serial device link: any ``serial.serial_for_url`` port, read on its own thread, self-healing.

Real ports (``/dev/ttyUSB0``), pty paths, ``loop://`` and ``socket://`` all go through the same code,
so a simulator on a pty exercises exactly what a bedside device will. The link reports CONNECTED,
DISCONNECTED, SILENT, RESUMED and FRAME_ERRORS events; it reconnects by itself when an unplugged
USB adapter comes back, possibly under a new name (``port_finder``), without restarting the app.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable

import serial
from serial.tools import list_ports

from drivers.clock import Clock
from drivers.transports.base import EventSink, ResultSink
from drivers.types import DecodeResult, DeviceDriver, DeviceEvent, DeviceEventKind, LineSettings, Stamp

log = logging.getLogger(__name__)

#: Seconds a blocking read waits; bounds how long ``stop`` and queued sends can wait.
READ_TIMEOUT_S = 0.1
#: Seconds a write may block before the bytes are dropped (a device that stopped reading).
WRITE_TIMEOUT_S = 1.0
#: Clock seconds between two FRAME_ERRORS events, so a noisy cable cannot flood the core.
FRAME_ERROR_EVENT_INTERVAL_S = 1.0
#: Seconds ``stop`` waits for the reader thread.
STOP_JOIN_S = 1.0

PortFinder = Callable[[], str | None]


def find_port_by_usb(vid: int, pid: int, serial_number: str | None = None) -> PortFinder:
    """A port finder that returns the current device path of a USB serial adapter, or None if absent.

    Linux may re-enumerate an adapter as ``/dev/ttyUSB1`` after a replug; vendor/product id
    (and serial number, when two identical adapters are attached) still identify it.
    """

    def find() -> str | None:
        for port in list_ports.comports():
            if port.vid != vid or port.pid != pid:
                continue
            if serial_number is not None and port.serial_number != serial_number:
                continue
            device: str = port.device
            return device
        return None

    return find


class SerialLink:
    """Moves bytes between one serial device and its driver on a daemon thread (a ``DeviceLink``)."""

    def __init__(  # noqa: PLR0917 - the DeviceLink constructor shape the core and the brief agreed on
        self,
        source: str,
        url: str,
        driver: DeviceDriver,
        clock: Clock,
        on_result: ResultSink,
        on_event: EventSink,
        *,
        silence_after_s: float = 10.0,
        reconnect_interval_s: float = 1.0,
        port_finder: PortFinder | None = None,
    ) -> None:
        if silence_after_s <= 0:
            raise ValueError(f"silence_after_s must be positive, got {silence_after_s}")
        if reconnect_interval_s <= 0:
            raise ValueError(f"reconnect_interval_s must be positive, got {reconnect_interval_s}")
        self.source = source
        self.url = url
        self._driver = driver
        self._clock = clock
        self._on_result = on_result
        self._on_event = on_event
        self._silence_after_s = silence_after_s
        self._reconnect_interval_s = reconnect_interval_s
        self._port_finder = port_finder

        self._outbox: queue.SimpleQueue[bytes] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._port: serial.SerialBase | None = None
        self._current_path: str | None = None
        # Guards the silence and frame-error bookkeeping shared by the reader thread and the tick.
        self._lock = threading.Lock()
        self._last_rx_mono = clock.monotonic()
        self._silent = False
        self._down_reported = False
        self._rejected_reported = 0
        self._last_frame_event_mono: float | None = None

    # -- DeviceLink -------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread; returns at once (opening happens on that thread)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        with self._lock:
            self._last_rx_mono = self._clock.monotonic()
            self._silent = False
        self._thread = threading.Thread(target=self._run, name=f"serial-link-{self.source}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the reader thread and close the port, waiting at most about a second."""
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(STOP_JOIN_S)
            if thread.is_alive():
                log.warning(
                    "serial link %s: reader thread did not stop within %.1f s", self.source, STOP_JOIN_S
                )
        self._thread = None

    def send(self, data: bytes) -> None:
        """Queue bytes for the device (e.g. an NIBP start command); written by the link thread."""
        self._outbox.put(bytes(data))

    def check_silence(self) -> None:
        """Emit SILENT once when no byte came for ``silence_after_s`` of clock time (ALM-2)."""
        emit_silent = False
        with self._lock:
            now = self._clock.monotonic()
            if not self._silent and now - self._last_rx_mono >= self._silence_after_s:
                self._silent = True
                emit_silent = True
            quiet_for = now - self._last_rx_mono
        if emit_silent:
            self._emit(DeviceEventKind.SILENT, f"no data for {quiet_for:.1f} s")
        # A frame-error count held back by the rate limit is reported on a later tick.
        self._report_frame_errors()

    # -- state others may read --------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """True while the port is open."""
        return self._port is not None

    @property
    def current_path(self) -> str | None:
        """The port path last opened (differs from ``url`` when a port finder moved it)."""
        return self._current_path

    # -- the link thread --------------------------------------------------------------------------

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._port is None and not self._open():
                    self._discard_outbox()
                    self._stop.wait(self._reconnect_interval_s)
                    continue
                try:
                    self._step()
                except (serial.SerialException, OSError) as exc:
                    self._lost(f"port error: {exc}")
                except Exception:
                    # The loop must outlive any bug in a driver or sink; each is logged where caught,
                    # so this is only a last line of defence.
                    log.exception("serial link %s: unexpected error in the read loop", self.source)
                    self._stop.wait(READ_TIMEOUT_S)  # never spin hot on a repeating bug
        finally:
            self._close()

    def _step(self) -> None:
        port = self._port
        assert port is not None
        self._flush_outbox(port)
        data = port.read(port.in_waiting or 1)
        if data:
            self._received(data, self._clock.stamp())

    def _received(self, data: bytes, stamp: Stamp) -> None:
        resumed = False
        with self._lock:
            self._last_rx_mono = stamp.mono
            if self._silent:
                self._silent = False
                resumed = True
        if resumed:
            self._emit(DeviceEventKind.RESUMED, "data again", stamp)
        try:
            result = self._driver.feed(data, stamp)
        except Exception:
            log.exception(
                "serial link %s: driver %s raised on %d bytes",
                self.source,
                type(self._driver).__name__,
                len(data),
            )
            return
        self._deliver(result)
        port = self._port
        if port is not None:
            for reply in result.replies:
                self._write(port, reply)
        self._report_frame_errors()

    def _deliver(self, result: DecodeResult) -> None:
        if not (result.observations or result.rejections or result.frames or result.replies):
            return
        try:
            self._on_result(result)
        except Exception:
            log.exception("serial link %s: result sink raised", self.source)

    def _flush_outbox(self, port: serial.SerialBase) -> None:
        while True:
            try:
                data = self._outbox.get_nowait()
            except queue.Empty:
                return
            self._write(port, data)

    def _write(self, port: serial.SerialBase, data: bytes) -> None:
        try:
            port.write(data)
        except serial.SerialTimeoutException:
            # A device that stops reading must not stall the reader: drop and say so.
            log.warning("serial link %s: write of %d bytes timed out; dropped", self.source, len(data))

    def _discard_outbox(self) -> None:
        while True:
            try:
                data = self._outbox.get_nowait()
            except queue.Empty:
                return
            # Replaying a stale command (an NIBP start) minutes later would surprise the clinician.
            log.warning("serial link %s: not connected; dropped %d queued bytes", self.source, len(data))

    def _open(self) -> bool:
        path = self.url
        if self._port_finder is not None:
            try:
                found = self._port_finder()
            except Exception:
                log.exception("serial link %s: port finder raised", self.source)
                found = None
            if found is None:
                self._down("device not found")
                return False
            path = found
        try:
            # Exclusive (flock on POSIX): a second program reading the same device would split its bytes.
            port = serial.serial_for_url(path, do_not_open=True, exclusive=True)
            self._apply_settings(port, self._driver.line_settings)
            port.open()
        except (serial.SerialException, OSError, ValueError) as exc:
            self._down(f"cannot open {path}: {exc}")
            return False
        self._port = port
        self._current_path = path
        self._down_reported = False
        log.info("serial link %s: connected to %s", self.source, path)
        self._emit(DeviceEventKind.CONNECTED, path)
        return True

    def _apply_settings(self, port: serial.SerialBase, settings: LineSettings | None) -> None:
        port.timeout = READ_TIMEOUT_S
        port.write_timeout = WRITE_TIMEOUT_S
        if settings is None:
            return
        wanted: dict[str, object] = {
            "baudrate": settings.baudrate,
            "bytesize": settings.bytesize,
            "parity": settings.parity,
            "stopbits": settings.stopbits,
            "rtscts": settings.rtscts,
            "xonxoff": settings.xonxoff,
        }
        for name, value in wanted.items():
            try:
                setattr(port, name, value)
            except (ValueError, serial.SerialException, AttributeError) as exc:
                # loop:// and socket:// have no line: a rejected setting is harmless there.
                log.debug(
                    "serial link %s: %s=%r not applied to %s: %s", self.source, name, value, self.url, exc
                )

    def _lost(self, why: str) -> None:
        log.warning("serial link %s: disconnected (%s)", self.source, why)
        self._close()
        self._down(why)

    def _down(self, why: str) -> None:
        if self._down_reported:
            return
        self._down_reported = True
        self._emit(DeviceEventKind.DISCONNECTED, why)

    def _close(self) -> None:
        port, self._port = self._port, None
        if port is None:
            return
        try:
            port.close()
        except (serial.SerialException, OSError) as exc:
            log.debug("serial link %s: close failed: %s", self.source, exc)

    # -- events -----------------------------------------------------------------------------------

    def _report_frame_errors(self) -> None:
        counters = self._driver.counters
        with self._lock:
            if counters.frames_rejected <= self._rejected_reported:
                return
            now = self._clock.monotonic()
            last = self._last_frame_event_mono
            if last is not None and now - last < FRAME_ERROR_EVENT_INTERVAL_S:
                return
            new = counters.frames_rejected - self._rejected_reported
            self._rejected_reported = counters.frames_rejected
            self._last_frame_event_mono = now
        detail = f"{new} new bad frame(s); last: {counters.last_rejection}"
        self._emit(
            DeviceEventKind.FRAME_ERRORS,
            detail,
            frames_ok=counters.frames_ok,
            frames_rejected=counters.frames_rejected,
        )

    def _emit(
        self,
        kind: DeviceEventKind,
        detail: str = "",
        stamp: Stamp | None = None,
        *,
        frames_ok: int = 0,
        frames_rejected: int = 0,
    ) -> None:
        event = DeviceEvent(
            kind=kind,
            source=self.source,
            at=stamp or self._clock.stamp(),
            detail=detail,
            frames_ok=frames_ok,
            frames_rejected=frames_rejected,
        )
        try:
            self._on_event(event)
        except Exception:
            log.exception("serial link %s: event sink raised on %s", self.source, kind)
