"""Files holding patient data (the database, exports) readable by their owner only: 0600 / 0700.

A clinic PC is often shared; another login must not be able to read a patient's record.
"""

from __future__ import annotations

import os
from pathlib import Path

FILE_MODE = 0o600
FOLDER_MODE = 0o700


def make_owner_only_folder(folder: Path) -> None:
    """Create ``folder`` and any missing parents as 0700 (the umask does not loosen them).

    Existing folders are left as they are: a path may lead through a shared folder such as /tmp.
    """
    missing = [each for each in (folder, *folder.parents) if not each.exists()]
    for each in reversed(missing):
        each.mkdir(mode=FOLDER_MODE, exist_ok=True)
        each.chmod(FOLDER_MODE)


def write_owner_only(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` as a 0600 file, atomically (a reader never sees half a file)."""
    make_owner_only_folder(path.parent)
    partial = path.with_name(path.name + ".partial")
    fd = os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # an older partial file may have had another mode
        with os.fdopen(fd, "wb", closefd=False) as out:
            out.write(data)
            out.flush()
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(partial, path)
