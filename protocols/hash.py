"""The fingerprint of a protocol's clinical content, for change control (PRO-1).

The hash covers what the team will be told to do (id, title, version, severity, standards,
alarm offers, start and every node) as validated data, serialised canonically: sorted keys,
compact JSON, UTF-8, defaults left out. So comments, blank lines, key order and quoting style
do not change it, while any change to a word of a step does. The approval record itself
(status, approved_by/on, review_due, approved_hash, changelog) is left out, because it is
written after the content is fixed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

from protocols.model import APPROVAL_FIELDS, WrittenProtocol

log = logging.getLogger(__name__)

HASH_PREFIX = "sha256:"


def canonical_content(protocol: WrittenProtocol) -> bytes:
    """The bytes the hash is taken over (exposed so a reviewer can diff two versions)."""
    content = protocol.model_dump(mode="json", exclude=set(APPROVAL_FIELDS), exclude_defaults=True)
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def content_hash(protocol: WrittenProtocol) -> str:
    """``sha256:<hex>`` of the canonical content, the value a reviewer writes as ``approved_hash``."""
    return HASH_PREFIX + hashlib.sha256(canonical_content(protocol)).hexdigest()


def compute_hash(path: Path) -> str:
    """Validate the file at ``path`` and return its content hash (raises ProtocolFileError if invalid)."""
    from protocols.loader import load_protocol  # the loader itself uses content_hash

    return load_protocol(Path(path)).content_hash
