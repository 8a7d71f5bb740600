"""The full session record as JSON, and back (EXP-1). The schema is documented in docs/export-schema.md.

Every record is written with the field names of its storage record, in a fixed order, so exporting,
importing into an empty database and exporting again gives the same bytes. Times are ISO 8601 in
UTC with microseconds; a missing value is ``null``, never 0.
"""

from __future__ import annotations

import enum
import json
import logging
import types
import typing
from dataclasses import MISSING, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any

from storage.full_record import LINK_LISTS, FullSessionRecord

log = logging.getLogger(__name__)

#: The document type written in every export; an importer refuses any other.
SCHEMA_NAME = "bedside.session-record"
#: Raised on any change a reader of the previous version could not read (docs/export-schema.md,
#: "Versions"). 2 added markers, medications and incident_documentation (DOC-1..4).
SCHEMA_VERSION = 3
#: Versions this Bedside still reads: a version 1 document simply has none of version 2's parts.
READABLE_VERSIONS = (1, 2, 3)
#: The top-level lists version 2 added, empty when a version 1 document is read.
_ADDED_IN_2 = ("markers", "medications", "incident_documentation")


class RecordImportError(ValueError):
    """A JSON export cannot be read back: the message names the field and what is wrong."""


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive time {value.isoformat()} in a session record")
        return value.astimezone(UTC).isoformat(timespec="microseconds")
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, tuple | list):
        return [_encode(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"cannot write a {type(value).__name__} into a session record")


def record_to_json(record: FullSessionRecord) -> str:
    """The whole record as a JSON document (UTF-8 text, one line per top-level list item)."""
    document: dict[str, Any] = {"schema": SCHEMA_NAME, "schema_version": SCHEMA_VERSION}
    document.update(_encode(record))
    return json.dumps(document, ensure_ascii=False, allow_nan=False, indent=1) + "\n"


def _decode(value: Any, hint: Any, where: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (inner,) = [o for o in options if o is not type(None)]
        return _decode(value, inner, where)
    if origin is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(value, list):
            raise RecordImportError(f"{where}: expected a list")
        return tuple(_decode(item, item_hint, f"{where}[{n}]") for n, item in enumerate(value))
    if origin is dict:
        if not isinstance(value, dict):
            raise RecordImportError(f"{where}: expected an object")
        return value
    if hint is datetime:
        if not isinstance(value, str):
            raise RecordImportError(f"{where}: expected an ISO time")
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError as exc:
            raise RecordImportError(f"{where}: {value!r} is not an ISO time") from exc
        if parsed.tzinfo is None:
            raise RecordImportError(f"{where}: {value!r} has no zone")
        return parsed.astimezone(UTC)
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        try:
            return hint(value)
        except ValueError as exc:
            raise RecordImportError(f"{where}: {value!r} is not a known {hint.__name__}") from exc
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise RecordImportError(f"{where}: expected a number")
        return float(value)
    if hint in (int, str, bool):
        if type(value) is not hint:
            raise RecordImportError(f"{where}: expected {hint.__name__}")
        return value
    if isinstance(hint, type) and is_dataclass(hint):
        return _decode_dataclass(value, hint, where)
    raise TypeError(f"{where}: no reader for {hint!r}")


def _decode_dataclass(value: Any, cls: type, where: str) -> Any:
    if not isinstance(value, dict):
        raise RecordImportError(f"{where}: expected an object")
    hints = typing.get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    unknown = set(value) - set(names)
    if unknown:
        raise RecordImportError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    # A field added in a later schema version has a default: an older file without it still reads.
    optional = {f.name for f in fields(cls) if f.default is not MISSING or f.default_factory is not MISSING}
    missing = [n for n in names if n not in value and n not in optional]
    if missing:
        raise RecordImportError(f"{where}: missing field(s) {', '.join(missing)}")
    return cls(**{n: _decode(value[n], hints[n], f"{where}.{n}") for n in names if n in value})


def record_from_json(text: str | bytes) -> FullSessionRecord:
    """Read a JSON export back; ``RecordImportError`` says what is wrong with one that cannot be."""
    try:
        document = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordImportError(f"not a JSON document: {exc}") from exc
    if not isinstance(document, dict) or document.get("schema") != SCHEMA_NAME:
        raise RecordImportError(f'not a Bedside session record (no "schema": "{SCHEMA_NAME}")')
    version = document.pop("schema_version", None)
    document.pop("schema")
    if version not in READABLE_VERSIONS or isinstance(version, bool):
        raise RecordImportError(
            f"schema_version {version!r} is not one this Bedside reads "
            f"({', '.join(map(str, READABLE_VERSIONS))}; see docs/export-schema.md)"
        )
    if version == 1:
        for name in _ADDED_IN_2:
            if name in document:
                raise RecordImportError(f"record.{name} is not part of schema_version 1")
            document[name] = []
    record: FullSessionRecord = _decode_dataclass(document, FullSessionRecord, "record")
    _check_links(record)
    return record


def _check_links(record: FullSessionRecord) -> None:
    """Every part must belong to this session, every run to one of its incidents, every step to its run."""
    sid = record.session.session_id
    for name in (f.name for f in fields(record)):
        for n, item in enumerate(getattr(record, name) if name != "session" else ()):
            if getattr(item, "session_id", sid) != sid:
                raise RecordImportError(f"record.{name}[{n}].session_id is not the session's id {sid}")
    incidents = {i.incident_id for i in record.incidents}
    for n, run in enumerate(record.protocol_runs):
        if run.started.incident_id not in incidents:
            raise RecordImportError(f"record.protocol_runs[{n}] belongs to an incident not in the record")
        if any(step.run_id != run.started.run_id for step in run.steps):
            raise RecordImportError(f"record.protocol_runs[{n}] holds a step of another run")
    documented: set[str] = set()
    for n, doc in enumerate(record.incident_documentation):
        where = f"record.incident_documentation[{n}]"
        if doc.incident_id not in incidents or doc.incident_id in documented:
            raise RecordImportError(f"{where} is for an incident not in the record (or a second time)")
        documented.add(doc.incident_id)
        targets = [(link.kind, link.item, f"{where}.links[{m}]") for m, link in enumerate(doc.links)]
        if doc.origin is not None and doc.origin.alarm_item is not None:
            targets.append(("alarm", doc.origin.alarm_item, f"{where}.origin"))
        for kind, item, at in targets:
            if kind not in LINK_LISTS:
                raise RecordImportError(f"{at}: {kind!r} is not one of {', '.join(LINK_LISTS)}")
            if not 0 <= item < len(getattr(record, LINK_LISTS[kind])):
                raise RecordImportError(f"{at}: {kind} #{item} is not in record.{LINK_LISTS[kind]}")
