"""Written protocols as data: format, validating loader, engine, rendering (PRO-1..PRO-7)."""

from __future__ import annotations

from protocols.approval import FlagNote, ProtocolFlag
from protocols.engine import (
    LiveVitals,
    MedicationText,
    NodeView,
    ProtocolRun,
    ShownVital,
    StepKind,
    StepRecord,
    TimerPrompt,
    TimerState,
)
from protocols.errors import (
    GraphvizMissing,
    ProtocolFileError,
    ProtocolNotApproved,
    ProtocolProblem,
    StepNotAllowed,
    UnapprovedProtocolError,
)
from protocols.handoff import EmsHandoff, HandoffPatient, RunHistory, build_ems_handoff, handoff_text
from protocols.hash import compute_hash, content_hash
from protocols.loader import LIBRARY_DIR, LibraryLoad, LoadedProtocol, load_library, load_protocol
from protocols.model import CheckedVital, NodeType, ProtocolStatus, SessionDecision, Severity, WrittenProtocol
from protocols.runner import ProtocolRunner

__all__ = [
    "LIBRARY_DIR",
    "CheckedVital",
    "EmsHandoff",
    "FlagNote",
    "GraphvizMissing",
    "HandoffPatient",
    "LibraryLoad",
    "LiveVitals",
    "LoadedProtocol",
    "MedicationText",
    "NodeType",
    "NodeView",
    "ProtocolFileError",
    "ProtocolFlag",
    "ProtocolNotApproved",
    "ProtocolProblem",
    "ProtocolRun",
    "ProtocolRunner",
    "ProtocolStatus",
    "RunHistory",
    "SessionDecision",
    "Severity",
    "ShownVital",
    "StepKind",
    "StepNotAllowed",
    "StepRecord",
    "TimerPrompt",
    "TimerState",
    "UnapprovedProtocolError",
    "WrittenProtocol",
    "build_ems_handoff",
    "compute_hash",
    "content_hash",
    "handoff_text",
    "load_library",
    "load_protocol",
]
