"""Written protocols as data: format, validating loader, engine, rendering (PRO-1..PRO-7)."""

from __future__ import annotations

from protocols.approval import FlagNote, ProtocolFlag
from protocols.errors import (
    GraphvizMissing,
    ProtocolFileError,
    ProtocolNotApproved,
    ProtocolProblem,
    StepNotAllowed,
)
from protocols.hash import compute_hash, content_hash
from protocols.loader import LIBRARY_DIR, LibraryLoad, LoadedProtocol, load_library, load_protocol
from protocols.model import CheckedVital, NodeType, ProtocolStatus, SessionDecision, Severity, WrittenProtocol

__all__ = [
    "LIBRARY_DIR",
    "CheckedVital",
    "FlagNote",
    "GraphvizMissing",
    "LibraryLoad",
    "LoadedProtocol",
    "NodeType",
    "ProtocolFileError",
    "ProtocolFlag",
    "ProtocolNotApproved",
    "ProtocolProblem",
    "ProtocolStatus",
    "SessionDecision",
    "Severity",
    "StepNotAllowed",
    "WrittenProtocol",
    "compute_hash",
    "content_hash",
    "load_library",
    "load_protocol",
]
