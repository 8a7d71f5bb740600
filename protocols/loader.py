"""Load protocol files all or nothing, with every problem named by file and line (PRO-1).

A file passes five gates: bounded, readable UTF-8 YAML (``drivers.yaml_input``: size, depth and
alias caps, no control characters), the schema (header, then each node on its own so all node
errors are reported together; every text a clinician reads must be printable), the approval
rules, the alarm names in ``offered_for`` (each must be an alarm condition or a clinician-marked
event the app knows, PRO-8), and the graph rules. Any problem rejects the whole file with a
``ProtocolFileError``; a library load keeps going with the next file.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from alarms import CLINICAL_EVENTS, ConditionId, is_offer_trigger
from drivers.yaml_input import kind_of
from protocols.approval import FlagNote, ProtocolFlag, approval_findings, approval_flags
from protocols.errors import ProtocolFileError, ProtocolProblem
from protocols.graph import Finding, check_graph, check_targets
from protocols.hash import content_hash
from protocols.model import (
    MAX_NODES,
    Node,
    NodeId,
    NodeType,
    ProtocolHeader,
    ProtocolStatus,
    WrittenProtocol,
)
from protocols.yaml_source import (
    PROTOCOL_LIMITS,
    DataPath,
    ParsedYaml,
    parse_protocol_bytes,
    parse_protocol_file,
)

log = logging.getLogger(__name__)

#: The library shipped with Bedside (templates awaiting the clinic's approval).
LIBRARY_DIR = Path(__file__).parent / "library"
#: The largest protocol file read (callers and tests take it from here).
MAX_FILE_BYTES = PROTOCOL_LIMITS.max_bytes
#: What screens say about a protocol the medical director has not approved (PRO-8).
TEMPLATE_WORDS = "TEMPLATE - not approved by the medical director"
CHANGED_WORDS = "CHANGED since approval - this version not approved by the medical director"
#: Every name ``offered_for`` may use, for the message that lists them.
OFFER_TRIGGERS = ", ".join([*(c.value for c in ConditionId), *sorted(CLINICAL_EVENTS)])

_NODE = TypeAdapter(Node)
_NODE_ID = TypeAdapter(NodeId)
_NODE_TYPES = ", ".join(t.value for t in NodeType)
_PATTERN_HINTS = {
    "id": "a protocol id is lower-case letters, digits and hyphens, like bp-spike",
    "version": 'a version is numbers and dots, quoted, like "1.0"',
    "approved_hash": (
        "approved_hash is 'sha256:' and 64 hex digits (print it with `bedside protocols hash FILE`)"
    ),
    "start": "a node id is lower-case letters, digits and underscores, like recheck_bp",
    "next": "a node id is lower-case letters, digits and underscores, like recheck_bp",
    "offered_for": "a condition name is lower-case letters, digits and underscores, like spo2_low",
}


@dataclass(frozen=True, slots=True)
class LoadedProtocol:
    """A valid protocol file: the protocol, where it came from, its content hash and its flags."""

    protocol: WrittenProtocol
    path: Path
    content_hash: str
    flag_notes: tuple[FlagNote, ...] = ()

    @property
    def id(self) -> str:
        """The protocol id (also its file name)."""
        return self.protocol.id

    @property
    def flags(self) -> frozenset[ProtocolFlag]:
        """Every flag on this protocol."""
        return frozenset(n.flag for n in self.flag_notes)

    @property
    def approved(self) -> bool:
        """True when the medical director approved exactly this content (status and hash agree)."""
        return self.protocol.status is ProtocolStatus.APPROVED and not any(
            n.flag is ProtocolFlag.CHANGED_WITHOUT_APPROVAL for n in self.flag_notes
        )

    @property
    def approval_words(self) -> str:
        """A few words for every screen that shows this protocol ("" when approved)."""
        if self.approved:
            return ""
        if self.protocol.status is ProtocolStatus.TEMPLATE:
            return TEMPLATE_WORDS
        return CHANGED_WORDS

    @property
    def approval_reason(self) -> str:
        """Why this protocol is not approved, for the acknowledgement dialog and the record."""
        if self.approved:
            return ""
        notes = "; ".join(
            n.message
            for n in self.flag_notes
            if n.flag in (ProtocolFlag.TEMPLATE, ProtocolFlag.CHANGED_WITHOUT_APPROVAL)
        )
        return f"{self.approval_words} ({notes})" if notes else self.approval_words

    @property
    def needs_acknowledgement(self) -> bool:
        """True when a run may start only once a named clinician acknowledges it (PRO-8).

        That is every protocol not approved as it stands: a template, or an approved protocol
        whose content changed since.
        """
        return not self.approved


@dataclass(frozen=True, slots=True)
class LibraryLoad:
    """The result of loading a folder: the protocols that loaded, and each rejected file's error."""

    protocols: Mapping[str, LoadedProtocol] = field(default_factory=dict)
    errors: tuple[ProtocolFileError, ...] = ()

    def get(self, protocol_id: str) -> LoadedProtocol:
        """The loaded protocol with this id (KeyError if it did not load)."""
        return self.protocols[protocol_id]

    def offered_for(self, condition: str) -> tuple[LoadedProtocol, ...]:
        """What to offer when ``condition`` alarms (or a clinician marks the event), by id (PRO-8).

        ``condition`` is a ``ConditionId`` (or its value) or a clinician-marked event name. The
        order is by protocol id, so the same library always offers in the same order.
        """
        name = str(condition)
        return tuple(p for _, p in sorted(self.protocols.items()) if name in p.protocol.offered_for)

    @property
    def problems(self) -> tuple[ProtocolProblem, ...]:
        """Every problem of every rejected file, in file then line order."""
        return tuple(p for e in self.errors for p in e.problems)


def load_protocol(path: Path, today: date | None = None) -> LoadedProtocol:
    """Load and validate one file; raises ``ProtocolFileError`` listing every problem.

    ``today`` (from the app's Clock) enables the review-overdue flag.
    """
    path = Path(path)
    return _load_parsed(parse_protocol_file(path), path, today)


def load_protocol_bytes(raw: bytes, path: Path, today: date | None = None) -> LoadedProtocol:
    """Validate a protocol held in memory; ``path`` names it in messages and gives the expected id."""
    return _load_parsed(parse_protocol_bytes(raw), Path(path), today)


def _load_parsed(parsed: ParsedYaml, path: Path, today: date | None) -> LoadedProtocol:
    problems = [ProtocolProblem(path, i.line, i.message) for i in parsed.issues]
    if parsed.data is None:
        raise ProtocolFileError(path, problems)
    if not isinstance(parsed.data, dict):
        problems.append(
            ProtocolProblem(
                path,
                parsed.source.line_of(()),
                "the top level must be a mapping of fields "
                f"(id, title, ..., nodes), not {kind_of(parsed.data)}",
            )
        )
        raise ProtocolFileError(path, problems)
    findings = _validate(parsed.data, path.stem)
    problems.extend(ProtocolProblem(path, parsed.source.line_of(f.path), f.message) for f in findings)
    if problems:
        raise ProtocolFileError(path, problems)
    protocol = WrittenProtocol.model_validate(parsed.data)
    computed = content_hash(protocol)
    top_lines = {str(k[0]): v for k, v in parsed.source.lines.items() if len(k) == 1}
    notes = approval_flags(protocol, computed, today, top_lines)
    for note in notes:
        log.info("%s:%d: flagged %s: %s", path, note.line, note.flag, note.message)
    return LoadedProtocol(protocol, path, computed, notes)


def load_library(directory: Path, today: date | None = None) -> LibraryLoad:
    """Load every ``*.yaml``/``*.yml`` in ``directory``; bad files are reported, the rest load."""
    directory = Path(directory)
    if not directory.is_dir():
        raise NotADirectoryError(f"protocol folder {directory} does not exist or is not a folder")
    loaded: dict[str, LoadedProtocol] = {}
    errors: list[ProtocolFileError] = []
    for path in _protocol_files(directory):
        try:
            protocol = load_protocol(path, today)
        except ProtocolFileError as exc:
            log.warning("protocol file rejected: %s", exc)
            errors.append(exc)
            continue
        except Exception as exc:
            # A file the checks did not foresee must cost that file, never the monitor's start.
            log.exception("protocol file %s could not be checked", path)
            errors.append(
                ProtocolFileError(
                    path,
                    [
                        ProtocolProblem(
                            path, 1, f"the file could not be checked ({type(exc).__name__}); it is left out"
                        )
                    ],
                )
            )
            continue
        if protocol.id in loaded:
            first = loaded[protocol.id].path
            errors.append(
                ProtocolFileError(
                    path,
                    [ProtocolProblem(path, 1, f"protocol id {protocol.id!r} is already used by {first}")],
                )
            )
            continue
        loaded[protocol.id] = protocol
    return LibraryLoad(loaded, tuple(errors))


def _protocol_files(directory: Path) -> Iterator[Path]:
    yield from sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def _validate(data: dict[str, Any], file_stem: str) -> list[Finding]:
    """Schema, approval and graph findings for a parsed document."""
    findings: list[Finding] = []
    header_data = {k: v for k, v in data.items() if k != "nodes"}
    header: ProtocolHeader | None = None
    try:
        header = ProtocolHeader.model_validate(header_data)
    except ValidationError as exc:
        findings.extend(_schema_findings(exc, ()))
    valid_nodes: dict[str, Node] = {}
    nodes_raw = data.get("nodes")
    if "nodes" not in data:
        findings.append(Finding((), "missing required field 'nodes'"))
    elif not isinstance(nodes_raw, dict) or not nodes_raw:
        findings.append(
            Finding(("nodes",), "nodes must be a mapping of node id -> node, with at least one node")
        )
    elif len(nodes_raw) > MAX_NODES:
        findings.append(Finding(("nodes",), f"{len(nodes_raw)} nodes; a protocol holds at most {MAX_NODES}"))
    else:
        for node_id, node_raw in nodes_raw.items():
            try:
                _NODE_ID.validate_python(node_id)
            except ValidationError:
                findings.append(Finding(("nodes", node_id), f"node id {node_id!r}: {_PATTERN_HINTS['next']}"))
                continue
            try:
                valid_nodes[node_id] = _NODE.validate_python(node_raw)
            except ValidationError as exc:
                findings.extend(_schema_findings(exc, ("nodes", node_id), node_raw))
    graph_ok = isinstance(nodes_raw, dict) and bool(nodes_raw) and len(nodes_raw) <= MAX_NODES
    all_ids = frozenset(map(str, nodes_raw)) if isinstance(nodes_raw, dict) else frozenset()
    if header is not None:
        findings.extend(approval_findings(header, file_stem))
        findings.extend(_offer_findings(header))
        if graph_ok:
            findings.extend(check_graph(header.start, header.severity, valid_nodes, all_ids))
    elif graph_ok:
        findings.extend(check_targets(valid_nodes, all_ids))
    return findings


def _offer_findings(header: ProtocolHeader) -> list[Finding]:
    """Every ``offered_for`` name must be one the app raises or a clinician marks (PRO-8).

    A misspelt name would load fine and never be offered: the alarm would sound with no tree.
    """
    return [
        Finding(
            ("offered_for", index),
            f"offered_for: {name!r} is not an alarm condition or clinician-marked event Bedside "
            f"knows, so this protocol would never be offered for it; use one of: {OFFER_TRIGGERS}",
        )
        for index, name in enumerate(header.offered_for)
        if not is_offer_trigger(name)
    ]


def _schema_findings(exc: ValidationError, prefix: DataPath, raw: object = None) -> list[Finding]:
    findings: list[Finding] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        kind = err["type"]
        if prefix and loc and loc[0] in NodeType.__members__.values() and kind != "union_tag_invalid":
            loc = loc[1:]  # drop pydantic's union tag: the file has no such key
        loc = tuple(part for part in loc if part != "[key]")
        path = (*prefix, *loc)
        where = ".".join(str(p) for p in path) or "top level"
        message = str(err["msg"]).removeprefix("Value error, ")
        if kind == "missing":
            findings.append(
                Finding(
                    path[:-1],
                    f"{'.'.join(map(str, path[:-1])) or 'top level'}: missing required field {path[-1]!r}",
                )
            )
            continue
        if kind == "extra_forbidden":
            findings.append(Finding(path, f"{where}: unknown field {path[-1]!r}"))
            continue
        if kind == "union_tag_invalid":
            written = raw.get("type") if isinstance(raw, dict) else None
            findings.append(
                Finding(
                    (*prefix, "type"),
                    f"{where}: unknown node type {written!r}; expected one of {_NODE_TYPES}",
                )
            )
            continue
        if kind == "union_tag_not_found":
            findings.append(Finding(path, f"{where}: missing required field 'type' ({_NODE_TYPES})"))
            continue
        if kind in {"model_type", "model_attributes_type"}:
            message = f"expected a mapping of fields, got {kind_of(err['input'])}"
        elif kind == "string_type":
            message = f"expected text, got {kind_of(err['input'])} {err['input']!r} (put quotes around it)"
        elif kind == "string_pattern_mismatch":
            field_name = next((str(p) for p in reversed(path) if isinstance(p, str)), "")
            if err["input"] == "" or not str(err["input"]).strip():
                message = "must not be blank"
            else:
                hint = _PATTERN_HINTS.get(field_name, _PATTERN_HINTS["next"] if "nodes" in path else "")
                message = f"{err['input']!r} is not allowed here" + (f": {hint}" if hint else "")
        findings.append(Finding(path, f"{where}: {message}"))
    return findings
