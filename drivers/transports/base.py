"""The contract every transport (serial port, MLLP listener) keeps with the monitor core."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from drivers.types import DecodeResult, DeviceEvent

#: Called from the transport's own thread with what the driver decoded from one read.
ResultSink = Callable[[DecodeResult], None]
#: Called from the transport's own thread for connect / disconnect / silence / resumed.
EventSink = Callable[[DeviceEvent], None]


class DeviceLink(Protocol):
    """Moves bytes between one device and its driver; knows nothing of their meaning.

    ``start`` returns at once (I/O runs on the link's own thread and never blocks the GUI);
    ``stop`` joins that thread within a bounded time. Disconnects are reported and retried
    by the link itself. ``check_silence`` is called by the core's tick and uses the injected
    clock, so silence is testable without sleeping.
    """

    source: str

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def send(self, data: bytes) -> None:
        """Queue bytes for the device (NIBP start command); never blocks the caller."""
        ...

    def check_silence(self) -> None:
        """Emit SILENT once when nothing arrived for the link's quiet limit; RESUMED on data."""
        ...
