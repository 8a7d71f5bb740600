"""Protocols for people: an indented text outline, a Graphviz picture, and a printable binder PDF."""

from __future__ import annotations

import io
import logging
import shutil
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import graphviz

from protocols.errors import GraphvizMissing
from protocols.loader import LoadedProtocol
from protocols.model import (
    DecisionNode,
    MedicationNode,
    Node,
    NodeType,
    TimerNode,
    VitalCheckNode,
    WrittenProtocol,
)

log = logging.getLogger(__name__)

_LABEL = {
    NodeType.INSTRUCTION: "DO",
    NodeType.QUESTION: "ASK",
    NodeType.VITAL_CHECK: "CHECK",
    NodeType.MEDICATION: "MEDICATION",
    NodeType.TIMER: "TIMER",
    NodeType.DECISION: "DECIDE",
    NodeType.RESOLVED: "END - RESOLVED",
    NodeType.ESCALATE: "END - ESCALATE",
    NodeType.CALL_911: "END - CALL 911",
}
_SHAPE = {
    NodeType.INSTRUCTION: ("box", "white"),
    NodeType.QUESTION: ("diamond", "lightyellow"),
    NodeType.VITAL_CHECK: ("box", "lightblue"),
    NodeType.MEDICATION: ("box", "plum1"),
    NodeType.TIMER: ("ellipse", "lightgrey"),
    NodeType.DECISION: ("hexagon", "khaki"),
    NodeType.RESOLVED: ("doubleoctagon", "palegreen"),
    NodeType.ESCALATE: ("doubleoctagon", "orange"),
    NodeType.CALL_911: ("doubleoctagon", "red"),
}


def step_line(node: Node) -> str:
    """One step as a line of the outline, e.g. ``TIMER 5 min: Recheck blood pressure``."""
    kind = NodeType(node.type)
    label = _LABEL[kind]
    extra = ""
    if isinstance(node, TimerNode):
        extra = f" {_duration(node.seconds)}"
    elif isinstance(node, VitalCheckNode):
        extra = " " + "/".join(v.value for v in node.vitals) + (" (starts NIBP)" if node.start_nibp else "")
    line = f"{label}{extra}: {node.text}"
    if isinstance(node, MedicationNode):
        line += f" [drug: {node.drug}; dose: {node.dose}; route: {node.route}]"
    return line


def outline(protocol: WrittenProtocol) -> str:
    """The tree as an indented text outline; a node met again is referred to, not repeated."""
    p = protocol
    lines = [
        f"{p.title} ({p.id} v{p.version}, {p.status}{', SERIOUS' if p.severity == 'serious' else ''})",
        f"Approved by: {p.approved_by}; on: {p.approved_on or '-'}; review due: {p.review_due or '-'}",
        "",
    ]
    seen: set[str] = set()

    def visit(node_id: str, depth: int, via: str) -> None:
        pad = "  " * depth
        prefix = f"{pad}[{via}] " if via else pad
        if node_id in seen:
            lines.append(f"{prefix}-> go to ({node_id})")
            return
        seen.add(node_id)
        node = p.nodes[node_id]
        lines.append(f"{prefix}({node_id}) {step_line(node)}")
        targets = node.targets()
        if len(targets) == 1 and targets[0][0] == "next":
            visit(targets[0][1], depth, "")
        else:
            for label, target in targets:
                visit(target, depth + 1, label.replace("_", " ") if isinstance(node, DecisionNode) else label)

    visit(p.start, 0, "")
    return "\n".join(lines) + "\n"


def to_graphviz(protocol: WrittenProtocol) -> graphviz.Digraph:
    """The tree as a Graphviz graph: shape and colour by step kind, branch labels on the arrows."""
    graph = graphviz.Digraph(
        name=protocol.id,
        graph_attr={
            "rankdir": "TB",
            "label": _graph_title(protocol),
            "labelloc": "t",
            "fontname": "Helvetica",
        },
    )
    graph.attr("node", fontname="Helvetica", fontsize="10", style="filled")
    graph.attr("edge", fontname="Helvetica", fontsize="9")
    for node_id, node in protocol.nodes.items():
        kind = NodeType(node.type)
        shape, colour = _SHAPE[kind]
        wrapped = "\n".join(textwrap.wrap(step_line(node), 34)[:12])
        graph.node(
            node_id,
            label=wrapped,
            shape=shape,
            fillcolor=colour,
            penwidth="3" if kind is NodeType.CALL_911 else "1",
            fontcolor="white" if kind is NodeType.CALL_911 else "black",
        )
    for node_id, node in protocol.nodes.items():
        for label, target in node.targets():
            graph.edge(node_id, target, label="" if label == "next" else "\n".join(textwrap.wrap(label, 20)))
    return graph


def render_picture(protocol: WrittenProtocol, path: Path, fmt: Literal["png", "svg"] = "png") -> Path:
    """Draw the tree to ``path`` as PNG or SVG (needs the Graphviz ``dot`` program)."""
    Path(path).write_bytes(picture_bytes(protocol, fmt))
    return Path(path)


def picture_bytes(protocol: WrittenProtocol, fmt: Literal["png", "svg"] = "png") -> bytes:
    """The picture as bytes (for embedding in a PDF or a Qt view)."""
    if fmt not in ("png", "svg"):
        raise ValueError(f"picture format must be png or svg, not {fmt!r}")
    if shutil.which("dot") is None:
        raise GraphvizMissing(
            "the Graphviz 'dot' program is not installed; install it (Debian/Ubuntu: "
            "apt-get install graphviz) to draw protocol pictures"
        )
    data: bytes = to_graphviz(protocol).pipe(format=fmt)
    return data


def library_pdf(protocols: Sequence[LoadedProtocol], path: Path, *, title: str = "Protocol binder") -> Path:
    """A printable binder: a title page, then per protocol its metadata, status, outline and picture."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import (
        Image,
        PageBreak,
        Paragraph,
        Preformatted,
        SimpleDocTemplate,
        Spacer,
        Table,
        TableStyle,
    )

    styles = getSampleStyleSheet()
    story: list[Any] = [
        Spacer(1, 2 * inch),
        Paragraph(_esc(title), styles["Title"]),
        Paragraph("Written protocols for office-based ketamine infusions", styles["Heading2"]),
        Spacer(1, 0.3 * inch),
    ]
    rows = [["Protocol", "Version", "Status", "Approved by"]]
    for loaded in protocols:
        p = loaded.protocol
        rows.append(
            [
                Paragraph(_esc(p.title), styles["BodyText"]),
                p.version,
                _status(loaded),
                Paragraph(_esc(p.approved_by), styles["BodyText"]),
            ]
        )
    contents = Table(rows, colWidths=[2.6 * inch, 0.7 * inch, 1.6 * inch, 2.0 * inch])
    contents.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.5, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.lightgrey),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    story.append(contents)
    width, height = letter[0] - 2 * inch, letter[1] - 2.5 * inch
    for loaded in protocols:
        p = loaded.protocol
        story += [PageBreak(), Paragraph(_esc(p.title), styles["Heading1"])]
        status = _status(loaded)
        story.append(Paragraph(f"<b>Status: {_esc(status)}</b>", styles["BodyText"]))
        for note in loaded.flag_notes:
            story.append(Paragraph(f"<font color='red'>{_esc(note.message)}</font>", styles["BodyText"]))
        meta = [
            ["Id", p.id],
            ["Version", p.version],
            ["Severity", str(p.severity)],
            ["Approved by", p.approved_by],
            ["Approved on", str(p.approved_on or "-")],
            ["Review due", str(p.review_due or "-")],
            ["Content hash", loaded.content_hash],
            ["Follows", "; ".join(p.follows)],
        ]
        table = Table(
            [[k, Paragraph(_esc(v), styles["BodyText"])] for k, v in meta], colWidths=[1.2 * inch, 5.3 * inch]
        )
        table.setStyle(
            TableStyle([("GRID", (0, 0), (-1, -1), 0.5, colors.grey), ("VALIGN", (0, 0), (-1, -1), "TOP")])
        )
        story += [Spacer(1, 6), table, Spacer(1, 6), Paragraph("Change log", styles["Heading3"])]
        for entry in p.changelog:
            story.append(
                Paragraph(
                    _esc(f"v{entry.version} {entry.date} {entry.who}: {entry.what}"), styles["BodyText"]
                )
            )
        story.append(Paragraph("Outline", styles["Heading3"]))
        wrapped = "\n".join(
            textwrap.fill(line, 100, subsequent_indent=" " * (len(line) - len(line.lstrip()) + 4))
            for line in outline(p).splitlines()
        )
        story.append(Preformatted(wrapped, styles["Code"]))
        story += [PageBreak(), Paragraph(f"{_esc(p.title)}: picture", styles["Heading2"])]
        try:
            png = picture_bytes(p, "png")
        except GraphvizMissing as exc:
            story.append(Paragraph(_esc(f"Picture not available: {exc}"), styles["BodyText"]))
            continue
        image = Image(io.BytesIO(png))
        scale = min(width / image.imageWidth, height / image.imageHeight, 1.0)
        image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
        story.append(image)
    SimpleDocTemplate(str(path), pagesize=letter, title=title, author="Bedside").build(story)
    return Path(path)


def _status(loaded: LoadedProtocol) -> str:
    p = loaded.protocol
    parts = ["TEMPLATE - awaiting approval" if p.is_template else f"APPROVED {p.approved_on}"]
    if any(n.flag == "changed_without_approval" for n in loaded.flag_notes):
        parts.append("CHANGED WITHOUT APPROVAL")
    if any(n.flag == "review_overdue" for n in loaded.flag_notes):
        parts.append("REVIEW OVERDUE")
    return "; ".join(parts)


def _graph_title(p: WrittenProtocol) -> str:
    return f"{p.title}\n{p.id} v{p.version} - {'TEMPLATE, not approved' if p.is_template else 'approved'}"


def _duration(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
