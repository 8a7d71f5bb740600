"""Storage errors, each with a message a clinic's IT person can act on."""

from __future__ import annotations


class StorageError(Exception):
    """Base class for storage problems."""


class DatabasePurposeError(StorageError):
    """A drill database was opened as the patient database or the other way round (DRL-1)."""


class DrillMixingError(StorageError):
    """A drill session was about to go into the patient database, or a patient one into drills (DRL-1)."""


class WriterClosedError(StorageError):
    """A record was handed to a writer that has already been closed."""


class UnknownRecordError(StorageError):
    """A record refers to a session, incident or run that storage has never seen."""


class DatabaseDriverMissingError(StorageError):
    """The database URL needs a driver that is not installed (e.g. PostgreSQL without bedside[postgres])."""


class DatabaseFolderError(StorageError):
    """The SQLite database's folder or file cannot be created or written (permissions, a read-only disk)."""


class DatabaseUnreachableError(StorageError):
    """The database server cannot be reached or refuses the login (down, firewalled, wrong password)."""


class DatabaseSettingError(StorageError):
    """The database setting cannot be used as given (e.g. a password on the command line)."""
