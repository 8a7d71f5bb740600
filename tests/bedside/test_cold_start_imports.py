"""Cold start (issue 10, "Speed"): what the monitor imports before its first number.

Before: importing the window pulled in SQLAlchemy and the storage layer through
``bedside.workflow``'s package ``__init__`` (protocol panel -> protocol desk -> workflow ->
approvals -> audit -> storage), and ``bedside.cli.main`` pulled in reportlab, argon2 and the
export formats for every sub-command: 1.35 s of a 2.73 s cold start. Each check runs in a fresh
interpreter, since this test process has long imported everything.
"""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Libraries the first number on screen never needs: the database, PDF, FHIR, HL7, password
#: hashing, and pyqtgraph (the trend and the pleth strip are built just after the first number).
NOT_BEFORE_FIRST_PAINT = (
    "pyqtgraph",
    "sqlalchemy",
    "alembic",
    "reportlab",
    "fhir",
    "hl7apy",
    "argon2",
    "storage.database",
)


def _loaded_after(code: str) -> list[str]:
    """The heavy modules present in ``sys.modules`` after running ``code`` in a fresh interpreter."""
    probe = (
        f"import sys, json\n{code}\n"
        f"heavy = {NOT_BEFORE_FIRST_PAINT!r}\n"
        "found = {h for h in heavy for m in sys.modules if m == h or m.startswith(h + '.')}\n"
        "print(json.dumps(sorted(found)))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "QT_QPA_PLATFORM": "offscreen"}
    command = [sys.executable, "-c", probe]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True)
    found: list[str] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def test_the_window_module_imports_no_database_pdf_fhir_hl7_hashing_or_plotting_library() -> None:
    """Issue 10 (cold start): before, ``import bedside.views.window`` loaded SQLAlchemy, storage
    and pyqtgraph."""
    assert _loaded_after("import bedside.views.window") == []


def test_the_monitor_command_line_imports_no_database_pdf_fhir_hl7_or_hashing_library() -> None:
    """Issue 10 (cold start): before, ``bedside.cli.main`` loaded every sub-command's libraries,
    reportlab and argon2 included, before ``bedside monitor`` could start."""
    code = (
        "import bedside.cli.main as cli\n"
        "cli.run_monitor_command = lambda args: 0  # the command line up to the monitor's run\n"
        "assert cli.main(['-v', 'monitor', '--sim-device', 'masimo-ascii']) == 0\n"
        "import bedside.app.run, bedside.app.startup, bedside.app.station_settings, bedside.monitor.recorder"
    )
    assert _loaded_after(code) == []


@pytest.mark.parametrize("package", ["bedside.workflow", "storage"])
def test_a_lazy_package_still_offers_every_name_it_always_did(package: str) -> None:
    """``from bedside.workflow import X`` / ``from storage import X`` work as before the change:
    every name in ``__all__`` resolves to the object its module defines; anything else is an
    AttributeError, as for any module."""
    module = importlib.import_module(package)
    sources: dict[str, str] = module._SOURCE_MODULE
    assert sorted(sources) == sorted(module.__all__)
    for name, source in sources.items():
        defining = importlib.import_module(f"{package}.{source}")
        assert getattr(module, name) is getattr(defining, name), name
    assert set(module.__all__) <= set(dir(module))
    with pytest.raises(AttributeError, match="no_such_name"):
        module.no_such_name  # noqa: B018  (the attribute access is the test)
