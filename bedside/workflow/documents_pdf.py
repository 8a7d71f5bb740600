"""Short clinic documents as PDF (referral summary, MedWatch draft, drill report) with the session
record's renderer: reportlab and the styles of ``export_pdf`` (the project's one PDF stack).

A drill document says DRILL on every page (DRL-2), drawn by the page callback so no page can miss it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, Table, TableStyle

from bedside.workflow.export_pdf import BODY, CELL, HEADER_GREY, MARGIN, render_story

log = logging.getLogger(__name__)

#: The one page layout of every Bedside PDF lives in ``export_pdf``.
render = render_story

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
