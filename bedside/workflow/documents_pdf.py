"""Short clinic documents as PDF (referral summary, MedWatch draft, drill report) with the session
record's renderer: reportlab and the styles of ``export_pdf`` (the project's one PDF stack).

A drill document says DRILL on every page (DRL-2), drawn by the page callback so no page can miss it.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Paragraph, SimpleDocTemplate, Table, TableStyle

from bedside.workflow.export_pdf import BODY, CELL, DRILL_RED, HEADER_GREY, MARGIN

log = logging.getLogger(__name__)

WIDTH = letter[0] - 2 * MARGIN


def when(at: datetime | None, zone: tzinfo | None = None) -> str:
    """A time as the clinic reads it, in ``zone`` (the computer's own by default), zone named."""
    if at is None:
        return "not recorded"
    local = at.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".rstrip()


def day(at: datetime | None, zone: tzinfo | None = None) -> str:
    """A date as the clinic reads it."""
    return "not recorded" if at is None else f"{at.astimezone(zone):%Y-%m-%d}"


def text(value: object, style: Any = CELL) -> Paragraph:
    """A paragraph of plain text (escaped: a patient's name can hold '<' or '&')."""
    return Paragraph(escape(str(value)).replace("\n", "<br/>"), style)


def body(value: object) -> Paragraph:
    """A paragraph of body text."""
    return text(value, BODY)


def fields(rows: Sequence[tuple[str, object]], label_width: float = 1.9 * inch) -> Table:
    """A form: one labelled value per row, labels shaded (how a MedWatch form reads)."""
    data = [
        [text(label), text(value if value not in ("", None) else "not recorded")] for label, value in rows
    ]
    table = Table(data, colWidths=[label_width, WIDTH - label_width])
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9e9e9e")),
                ("BACKGROUND", (0, 0), (0, -1), HEADER_GREY),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 2),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ]
        )
    )
    return table


def grid(header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]) -> Table:
    """A table with a shaded header row that repeats on a new page."""
    data = [[text(h) for h in header]] + [[text(c) for c in row] for row in rows]
    table = Table(data, colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9e9e9e")),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_GREY),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def render(
    story: list[Flowable],
    *,
    title: str,
    header: str,
    footer: str,
    drill: bool = False,
) -> bytes:
    """The story as PDF bytes, with a header and footer (and DRILL marks) on every page."""

    def on_page(canvas: Any, doc: Any) -> None:
        canvas.saveState()
        page_w, page_h = letter
        canvas.setFont("Helvetica", 7.5)
        canvas.setFillColor(colors.HexColor("#424242"))
        canvas.drawString(MARGIN, page_h - 0.38 * inch, f"{'DRILL  ' if drill else ''}{header}")
        canvas.drawString(MARGIN, 0.35 * inch, footer)
        canvas.drawRightString(page_w - MARGIN, 0.35 * inch, f"page {doc.page}")
        if drill:
            canvas.setFillColor(DRILL_RED)
            canvas.rect(
                page_w - MARGIN - 1.1 * inch, page_h - 0.5 * inch, 1.1 * inch, 0.3 * inch, stroke=0, fill=1
            )
            canvas.setFillColor(colors.white)
            canvas.setFont("Helvetica-Bold", 14)
            canvas.drawCentredString(page_w - MARGIN - 0.55 * inch, page_h - 0.43 * inch, "DRILL")
            canvas.setFillColor(colors.Color(0.78, 0.16, 0.16, alpha=0.08))
            canvas.setFont("Helvetica-Bold", 120)
            canvas.translate(page_w / 2, page_h / 2)
            canvas.rotate(35)
            canvas.drawCentredString(0, -40, "DRILL")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=letter,
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=0.6 * inch,
        bottomMargin=0.6 * inch,
        title=f"{'DRILL ' if drill else ''}{title}",
        author="Bedside",
    )
    doc.build(story, onFirstPage=on_page, onLaterPages=on_page)
    return buffer.getvalue()
