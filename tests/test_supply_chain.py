"""The lock file pins the exact dependency set with hashes, and the SBOM lists exactly that set.

Issue 11, security baseline: "a lock file for the exact dependency set, and a software bill of
materials generated from it by a README command" (``scripts/dev.sh lock``, ``scripts/dev.sh sbom``).
These checks need no network: they catch a pyproject change without a new lock, or a lock without
a new SBOM.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)")


def _locked() -> dict[str, tuple[str, list[str]]]:
    """Name -> (version, hashes) from requirements.lock."""
    out: dict[str, tuple[str, list[str]]] = {}
    name = ""
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        pinned = PIN.match(line)
        if pinned:
            name = canonicalize_name(pinned.group(1))
            out[name] = (pinned.group(2), [])
        elif "--hash=sha256:" in line and name:
            out[name][1].append(line.split("--hash=sha256:")[1].strip(" \\"))
    return out


def _runtime_requirements() -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in [*project["dependencies"], *project["optional-dependencies"]["postgres"]]]


def test_every_runtime_dependency_is_pinned_with_hashes_within_its_range() -> None:
    """Issue 11 (security baseline): the lock covers pyproject's runtime and postgres dependencies."""
    locked = _locked()
    assert locked, "requirements.lock holds no pins"
    for requirement in _runtime_requirements():
        name = canonicalize_name(requirement.name)
        assert name in locked, (
            f"{name} is in pyproject.toml but not in requirements.lock: scripts/dev.sh lock"
        )
        version, hashes = locked[name]
        assert requirement.specifier.contains(version, prereleases=True), (
            f"requirements.lock pins {name}=={version}, outside pyproject's {requirement.specifier}: "
            "scripts/dev.sh lock"
        )
    for name, (_, hashes) in locked.items():
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), f"{name} has no sha256 hash"


def test_the_sbom_lists_exactly_the_locked_set() -> None:
    """Issue 11 (security baseline): docs/sbom.json (CycloneDX) is generated from the lock."""
    sbom = json.loads((ROOT / "docs" / "sbom.json").read_text(encoding="utf-8"))
    assert sbom["bomFormat"] == "CycloneDX"
    assert sbom["metadata"]["component"]["name"] == "bedside"
    listed = {canonicalize_name(c["name"]): c["version"] for c in sbom["components"]}
    assert listed == {name: version for name, (version, _) in _locked().items()}, (
        "docs/sbom.json is not the SBOM of requirements.lock: scripts/dev.sh sbom"
    )
