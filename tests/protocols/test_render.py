"""Outline, picture and binder PDF (PRO-1: protocols the clinic can review)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from protocols.errors import GraphvizMissing
from protocols.loader import LIBRARY_DIR, load_library
from protocols.render import library_pdf, outline, render_picture, to_graphviz

LIBRARY = load_library(LIBRARY_DIR)
needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz dot not installed")


@pytest.mark.req("PRO-1")
def test_outline_lists_every_node_once_with_branches() -> None:
    for loaded in LIBRARY.protocols.values():
        p = loaded.protocol
        text = outline(p)
        assert text.splitlines()[0].startswith(f"{p.title} ({p.id} v{p.version}, template")
        for node_id in p.nodes:
            assert text.count(f"({node_id}) ") == 1, (p.id, node_id)
    bp = outline(LIBRARY.get("bp-spike").protocol)
    assert "  [yes] (stop_infusion_emergency) DO: Stop the ketamine infusion" in bp
    assert "TIMER 5 min: Recheck blood pressure in 5 minutes." in bp
    assert "CHECK nibp/pulse_rate/spo2 (starts NIBP)" in bp
    assert "-> go to (recheck_bp)" in bp
    assert "[pause infusion]" in bp


def test_graph_has_every_node_and_edge() -> None:
    p = LIBRARY.get("respiratory-depression").protocol
    source = to_graphviz(p).source
    for node_id, node in p.nodes.items():
        assert f"\t{node_id} [" in source
        for _, target in node.targets():
            assert f"\t{node_id} -> {target}" in source
    assert "fillcolor=red" in source


@needs_dot
@pytest.mark.parametrize("fmt", ["png", "svg"])
def test_picture_is_written(tmp_path: Path, fmt: str) -> None:
    target = tmp_path / f"bp.{fmt}"
    render_picture(LIBRARY.get("bp-spike").protocol, target, fmt)  # type: ignore[arg-type]
    data = target.read_bytes()
    assert data.startswith(b"\x89PNG") if fmt == "png" else b"<svg" in data


def test_missing_dot_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("protocols.render.shutil.which", lambda _name: None)
    with pytest.raises(GraphvizMissing, match="apt-get install graphviz"):
        render_picture(LIBRARY.get("bp-spike").protocol, tmp_path / "x.png")


@needs_dot
def test_binder_pdf_holds_every_protocol(tmp_path: Path) -> None:
    target = tmp_path / "binder.pdf"
    library_pdf(list(LIBRARY.protocols.values()), target)
    data = target.read_bytes()
    assert data.startswith(b"%PDF")
    # Title page + per protocol an outline page (or more) and a picture page.
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") >= 1 + 2 * len(LIBRARY.protocols)
