"""Start-up checks for `bedside monitor`: each problem is one sentence and exit code 2, never a traceback.

A clinic's IT person starting the monitor must learn at once, in words, what to fix: the log file's
folder, a serial port that is missing or held by another program, an MLLP port already taken. The
checks open and close each resource before anything else starts, so a half-started monitor never
runs with a device it cannot read.
"""

from __future__ import annotations

import errno
import logging
import logging.handlers
import os
import socket
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import platformdirs
import serial

# Not ``from storage import APP_NAME``: that name lives beside SQLAlchemy, and the log file is
# opened before the first paint, long before the database (issue 10, cold start).
from bedside.workflow.settings import APP_NAME
from storage.files import make_owner_only_folder

log = logging.getLogger(__name__)

#: The monitor's log, kept for support and incident review; rotated so it never fills the disk.
LOG_FILE_NAME = "bedside-monitor.log"
LOG_MAX_BYTES = 5_000_000
LOG_BACKUPS = 5
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
#: Every file Bedside creates (database, exports, logs, reports) is readable by its owner only.
OWNER_ONLY_UMASK = 0o077


class StartupError(Exception):
    """Something the monitor needs at start-up cannot be used; the message says what to do."""


def default_log_file() -> Path:
    """The monitor's log file: ``logs/`` in the user's Bedside data folder."""
    return Path(platformdirs.user_data_dir(APP_NAME)) / "logs" / LOG_FILE_NAME


def open_log_file(path: Path | None = None, *, level: int = logging.INFO) -> Path:
    """Send the root logger's records at ``level`` and above to ``path`` (0600 in a 0700 folder).

    Raises StartupError when the folder cannot be created or the file cannot be written.
    """
    target = default_log_file() if path is None else path
    for existing in logging.getLogger().handlers:  # opened already (a spare monitor opens it early)
        if isinstance(existing, logging.FileHandler) and Path(existing.baseFilename) == target.absolute():
            return target
    folder = target.parent
    try:
        if not folder.exists():
            make_owner_only_folder(folder)
        elif path is None:
            folder.chmod(0o700)  # Bedside's own folder: tighten one made by an older version
        handler = logging.handlers.RotatingFileHandler(
            target, maxBytes=LOG_MAX_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
        )
        target.chmod(0o600)  # a file made before the umask was set may be readable by others
    except OSError as exc:
        raise StartupError(
            f"the log file {target} cannot be written ({exc.strerror or exc}): check that the folder "
            "exists and is writable, or give another with --log-file"
        ) from None
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    return target


def _is_path(url: str) -> bool:
    """A device path (/dev/ttyUSB0, COM3) rather than a pyserial URL (loop://, socket://host:port)."""
    return "://" not in url


def check_serial_port(url: str) -> None:
    """Open the port exclusively and close it again; StartupError if it is missing or in use."""
    if _is_path(url) and os.name == "posix" and not Path(url).exists():
        raise StartupError(
            f"the serial port {url} does not exist: check that the device's cable is plugged in and "
            "the --device path (ls /dev/serial/by-id lists the ports this computer sees)"
        )
    try:
        port = serial.serial_for_url(url, do_not_open=True, exclusive=True)
        port.open()
    except serial.SerialException as exc:
        text = str(exc)
        if "exclusively lock" in text or getattr(exc, "errno", None) == errno.EBUSY:
            raise StartupError(
                f"the serial port {url} is in use by another program (another Bedside monitor?): "
                "close it, or connect the device to another port"
            ) from None
        raise StartupError(f"the serial port {url} cannot be opened: {text.splitlines()[0]}") from None
    except (OSError, ValueError) as exc:
        raise StartupError(f"the serial port {url} cannot be opened: {exc}") from None
    port.close()


def check_mllp_port(url: str) -> None:
    """Bind the MLLP listener's address and release it; StartupError if it is taken or not allowed."""
    where = urlsplit(url)
    host, port = where.hostname or "127.0.0.1", where.port or 0
    try:
        server = socket.create_server((host, port), reuse_port=False)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise StartupError(
                f"the HL7 (MLLP) port {host}:{port} is already in use by another program: stop it, or "
                "give another port with --device hl7-pcd01=mllp://127.0.0.1:PORT"
            ) from None
        raise StartupError(f"the HL7 (MLLP) address {host}:{port} cannot be listened on: {exc}") from None
    server.close()


def check_devices(devices: Sequence[tuple[str, str]]) -> None:
    """Check every ``(protocol, url)`` the monitor will connect to, before anything starts."""
    for protocol, url in devices:
        if protocol == "hl7-pcd01":
            check_mllp_port(url)
        else:
            check_serial_port(url)
