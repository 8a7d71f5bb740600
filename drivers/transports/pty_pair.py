"""A pseudo-terminal pair: the device side (master) and a path the app opens like a serial port.

Simulators write a device's bytes to the master; the app opens ``device_path`` through
``SerialLink`` exactly as it would open ``/dev/ttyUSB0``. Closing the pair looks to the app
like an unplugged cable. POSIX only.
"""

from __future__ import annotations

import logging
import os
import select
import tty
from types import TracebackType

log = logging.getLogger(__name__)


class PtyPair:
    """An open pty: write and read the device side, hand ``device_path`` to the app."""

    def __init__(self) -> None:
        self.master_fd, self._slave_fd = os.openpty()
        # Raw mode: no echo of the device's bytes back to it, no CR/LF rewriting before the app opens it.
        tty.setraw(self._slave_fd)
        self.device_path: str = os.ttyname(self._slave_fd)
        self._closed = False

    def write(self, data: bytes) -> None:
        """Write all of ``data`` as the device would."""
        view = memoryview(data)
        while view:
            written = os.write(self.master_fd, view)
            view = view[written:]

    def read(self, timeout_s: float = 0.0, max_bytes: int = 4096) -> bytes:
        """Bytes the app wrote to the device, waiting at most ``timeout_s`` for the first ones."""
        ready, _, _ = select.select([self.master_fd], [], [], timeout_s)
        if not ready:
            return b""
        try:
            return os.read(self.master_fd, max_bytes)
        except OSError:
            # EIO: the app side is closed; to the device that is the same as silence.
            return b""

    def close(self) -> None:
        """Close both ends: to the app, the device was unplugged."""
        if self._closed:
            return
        self._closed = True
        for fd in (self.master_fd, self._slave_fd):
            try:
                os.close(fd)
            except OSError as exc:
                log.debug("closing pty fd %d: %s", fd, exc)

    @property
    def closed(self) -> bool:
        """True once ``close`` ran."""
        return self._closed

    def __enter__(self) -> PtyPair:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_pty_pair() -> PtyPair:
    """Open a new pty pair (the app side's path changes every time, like a re-enumerated USB adapter)."""
    return PtyPair()
