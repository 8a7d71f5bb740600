"""The change-control hash: what changes it and what does not (PRO-1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from protocols.hash import canonical_content, compute_hash, content_hash
from protocols.loader import LIBRARY_DIR, load_protocol_bytes

SOURCE = LIBRARY_DIR / "bp-spike.yaml"


def _hash(text: str) -> str:
    return load_protocol_bytes(text.encode("utf-8"), SOURCE).content_hash


@pytest.mark.req("PRO-1")
def test_hash_is_sha256_of_canonical_content() -> None:
    import hashlib

    loaded = load_protocol_bytes(SOURCE.read_bytes(), SOURCE)
    digest = hashlib.sha256(canonical_content(loaded.protocol)).hexdigest()
    assert loaded.content_hash == content_hash(loaded.protocol) == f"sha256:{digest}"
    assert compute_hash(SOURCE) == loaded.content_hash


@pytest.mark.req("PRO-1")
def test_layout_comments_and_approval_record_do_not_change_the_hash() -> None:
    text = SOURCE.read_text()
    original = _hash(text)
    assert _hash("# a new comment\n" + text.replace("\n\n", "\n")) == original
    assert (
        _hash(
            text.replace("severity: routine\n", "").replace(
                "start: slow_or_pause\n", "start: slow_or_pause\nseverity: routine\n"
            )
        )
        == original
    )
    assert (
        _hash(
            text.replace(
                'approved_by: "PENDING - clinic medical director"', 'approved_by: "PENDING - Dr. Someone"'
            )
        )
        == original
    )


@pytest.mark.req("PRO-1")
@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("Slow or pause the ketamine infusion per clinic protocol.", "Pause the ketamine infusion."),
        ('dose: "[medical director to specify dose]"', 'dose: "10 mg"'),
        ("    seconds: 300\n    next: recheck_after", "    seconds: 600\n    next: recheck_after"),
        ('version: "0.1"', 'version: "0.2"'),
        ('"Emergency signs present": stop_infusion_emergency', '"Emergency signs": stop_infusion_emergency'),
    ],
)
def test_any_clinical_change_changes_the_hash(old: str, new: str) -> None:
    text = SOURCE.read_text()
    assert old in text
    changed = text.replace(old, new)
    if 'version: "0.2"' in changed:
        changed = changed.replace('  - version: "0.1"', '  - version: "0.2"')
    assert _hash(changed) != _hash(text)


def test_compute_hash_refuses_an_invalid_file(tmp_path: Path) -> None:
    from protocols.errors import ProtocolFileError

    bad = tmp_path / "bp-spike.yaml"
    bad.write_text(SOURCE.read_text().replace("next: decide_session", "next: nowhere", 1))
    with pytest.raises(ProtocolFileError):
        compute_hash(bad)
