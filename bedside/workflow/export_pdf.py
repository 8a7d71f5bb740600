"""The session record as a readable PDF (EXP-1), with reportlab: the project's one PDF renderer.

Summary, phases, trend plots, baseline and thresholds (with every change), alarms, event markers,
incidents with their closing, debriefs, formal reviews and what the patient was told, protocol runs
step by step, medications given (from protocol steps and as entered), notes (THR-6 trend flags
among them), NIBP readings, monitoring gaps and attestations. A drill says DRILL on every page (DRL-2).
Clock times are shown in ``zone`` (the computer's own by default), which the header names.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from alarms import ClinicalConfig
from bedside.workflow.export_plots import nibp_readings, trend_drawing
from storage.full_record import LINK_LISTS, FullSessionRecord, IncidentDocumentation, MedicationRecord
from storage.records import ProtocolRunSummary

log = logging.getLogger(__name__)

MARGIN = 0.55 * inch
DRILL_RED = colors.HexColor("#c62828")
HEADER_GREY = colors.HexColor("#e8eaed")

_styles = getSampleStyleSheet()
BODY = ParagraphStyle("body", parent=_styles["BodyText"], fontSize=8.5, leading=10.5)
CELL = ParagraphStyle("cell", parent=BODY, fontSize=8, leading=9.5)
H1 = ParagraphStyle("h1", parent=_styles["Heading1"], fontSize=16, spaceAfter=4)
H2 = ParagraphStyle(
    "h2", parent=_styles["Heading2"], fontSize=11.5, spaceBefore=8, spaceAfter=3, keepWithNext=1
)


def _local_zone() -> tzinfo:
    zone = datetime.now().astimezone().tzinfo
    return zone if zone is not None else UTC


class _Times:
    """Formats times in the record's display zone."""

    def __init__(self, zone: tzinfo, started_at: datetime) -> None:
        self.zone = zone
        self._first_day = started_at.astimezone(zone).date()

    def clock(self, at: datetime | None) -> str:
        """The clock time; with the date when it is not the session's first day (past midnight)."""
        if at is None:
            return "-"
        local = at.astimezone(self.zone)
        return local.strftime("%H:%M:%S" if local.date() == self._first_day else "%m-%d %H:%M:%S")

    def full(self, at: datetime | None) -> str:
        return at.astimezone(self.zone).strftime("%Y-%m-%d %H:%M:%S %Z") if at else "-"

    def zone_name(self, at: datetime) -> str:
        return at.astimezone(self.zone).strftime("%Z (UTC%z)")


def _p(text: object, style: ParagraphStyle = CELL) -> Paragraph:
    return Paragraph(escape(str(text)).replace("\n", "<br/>"), style)


def _num(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:g}{(' ' + unit) if unit else ''}"


def _table(header: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]) -> Table:
    data = [[_p(h, ParagraphStyle("th", parent=CELL, fontName="Helvetica-Bold")) for h in header]]
    data += [[c if isinstance(c, Paragraph) else _p(c) for c in row] for row in rows]
    table = Table(data, colWidths=list(widths), repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9e9e9e")),
                ("BACKGROUND", (0, 0), (-1, 0), HEADER_GREY),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
                ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f7f7f7")]),
            ]
        )
    )
    return table


def _none(what: str) -> Paragraph:
    return _p(f"No {what} recorded.", BODY)


def _medications(
    runs: Sequence[ProtocolRunSummary], entered: Sequence[MedicationRecord] = ()
) -> list[tuple[object, ...]]:
    """Medications from protocol steps and those the clinician entered (DOC-1), in time order."""
    rows: list[tuple[object, ...]] = []
    for run in runs:
        corrections: dict[int, list[str]] = {}
        for step in run.steps:
            if step.kind == "correction" and step.corrects is not None:
                corrections.setdefault(step.corrects, []).append(f"{step.person}: {step.note}")
        for step in run.steps:
            if step.kind not in ("medication_given", "medication_not_given"):
                continue
            drug, dose, route = ([*step.value.split(" | "), "", ""])[:3]
            given = step.kind == "medication_given"
            rows.append(
                (
                    step.occurred_at or step.at,
                    drug,
                    dose,
                    route,
                    "given" if given else f"NOT given: {step.note}",
                    step.person,
                    run.started.protocol_id,
                    "; ".join(corrections.get(step.seq, [])),
                )
            )
    for med in entered:
        rows.append(
            (
                med.given_at,
                med.drug,
                f"{med.dose:g} {med.unit}",
                med.route,
                "given" + (f": {med.note}" if med.note else ""),
                med.who,
                "- (entered)",
                "",
            )
        )
    rows.sort(key=lambda r: r[0])  # type: ignore[arg-type,return-value]
    return rows


def session_pdf(record: FullSessionRecord, config: ClinicalConfig, *, zone: tzinfo | None = None) -> bytes:
    """The whole record as PDF bytes."""
    zone = zone or _local_zone()
    s = record.session
    t = _Times(zone, s.started_at)
    drill = s.is_drill
    width = letter[0] - 2 * MARGIN
    story: list[Any] = []

    title = "DRILL session record" if drill else "Session record"
    story.append(_p(title, H1))
    if drill:
        story.append(
            _p(
                f"DRILL - simulated patient, not a clinical record. Scenario: {s.scenario or '-'}",
                ParagraphStyle(
                    "drill",
                    parent=BODY,
                    textColor=DRILL_RED,
                    fontName="Helvetica-Bold",
                    fontSize=11,
                    leading=14,
                    spaceAfter=4,
                ),
            )
        )
    last_time = max([s.started_at, *(o.measured_at for o in record.observations)])
    ended = s.ended_at
    duration = (ended or last_time) - s.started_at
    hours, rest = divmod(int(duration.total_seconds()), 3600)
    summary = [
        ("Patient", s.patient_name or "-", "Clinic id (MRN)", s.patient_mrn or "-"),
        ("Clinician", s.clinician, "Room / station", s.station or "-"),
        ("Started", t.full(s.started_at), "Ended", t.full(ended) if ended else "not ended (still open)"),
        (
            "Duration",
            f"{hours} h {rest // 60:02d} min" + ("" if ended else " so far"),
            "Phase at export",
            s.phase,
        ),
        ("Session id", s.session_id, "Times shown in", t.zone_name(s.started_at)),
    ]
    story.append(
        _grid_table(
            [[_p(a, _bold()), _p(b), _p(c, _bold()), _p(d)] for a, b, c, d in summary],
            [1.1 * inch, 2.55 * inch, 1.1 * inch, width - 4.75 * inch],
        )
    )

    story.append(
        KeepTogether(
            [
                _p("Trends", H2),
                _p(
                    "Lines break where a value was not valid or more than "
                    f"{config.monitoring.stale_after_s:g} s passed without one; grey spans were not "
                    "monitored; an x marks an NIBP cycle that gave no valid reading. Thresholds are drawn "
                    "as they were in force at each moment.",
                    BODY,
                ),
                trend_drawing(record, config, zone, width),
            ]
        )
    )

    story.append(_p("Phases", H2))
    if record.phase_transitions:
        story.append(
            _table(
                ["Time", "From", "To", "By"],
                [(t.clock(p.at), p.from_phase, p.to_phase, p.who) for p in record.phase_transitions],
                [1.0 * inch, 1.6 * inch, 1.6 * inch, width - 4.2 * inch],
            )
        )
    else:
        story.append(_none("phase changes"))

    story.append(_p("Baseline and thresholds", H2))
    if record.baselines:
        rows = []
        for b in record.baselines:
            overrides = "; ".join(
                f"{o.field}: {_num(o.computed)} -> {_num(o.value)} ({o.reason})" for o in b.overrides
            )
            rows.append(
                (
                    t.clock(b.confirmed_at),
                    f"{_num(b.systolic)}/{_num(b.diastolic)} ({_num(b.mean)})",
                    _num(b.spo2, "%"),
                    _num(b.pulse, "/min"),
                    b.confirmed_by,
                    overrides or "-",
                )
            )
        story.append(
            _table(
                ["Confirmed", "BP mmHg (mean)", "SpO2", "Pulse", "By", "Overrides"],
                rows,
                [0.8 * inch, 1.1 * inch, 0.6 * inch, 0.7 * inch, 1.3 * inch, width - 4.5 * inch],
            )
        )
    else:
        story.append(_none("baseline"))
    for ts in record.threshold_sets:
        story.append(Spacer(1, 4))
        rise = (
            f"x{ts.expected_rise_low:g} - x{ts.expected_rise_high:g}"
            if ts.expected_rise_low is not None and ts.expected_rise_high is not None
            else "-"
        )
        cells = [
            ("Systolic ceiling", _num(ts.systolic_ceiling, "mmHg")),
            ("Diastolic ceiling", _num(ts.diastolic_ceiling, "mmHg")),
            ("Hypotension floor", _num(ts.hypotension_floor, "mmHg")),
            ("Mean floor", _num(ts.mean_floor, "mmHg")),
            ("SpO2 floor", _num(ts.spo2_floor, "%")),
            ("SpO2 critical floor", _num(ts.spo2_critical_floor, "%")),
            ("Pulse floor", _num(ts.pulse_floor, "/min")),
            ("Pulse ceiling", _num(ts.pulse_ceiling, "/min")),
            ("Expected rise (x baseline sys)", rise),
            ("Allowed fall sys / mean", f"{_num(ts.systolic_fall_pct, '%')} / {_num(ts.mean_fall_pct, '%')}"),
        ]
        grid = [
            [_p(cells[i][0], _bold()), _p(cells[i][1]), _p(cells[i + 1][0], _bold()), _p(cells[i + 1][1])]
            for i in range(0, len(cells), 2)
        ]
        story.append(
            KeepTogether(
                [
                    _p(f"Thresholds confirmed {t.full(ts.confirmed_at)} by {ts.confirmed_by}", BODY),
                    _grid_table(grid, [1.9 * inch, 1.4 * inch, 1.9 * inch, width - 5.2 * inch]),
                ]
            )
        )
    if record.threshold_changes:
        story.append(Spacer(1, 4))
        story.append(_p("Threshold changes after confirmation", _bold()))
        story.append(
            _table(
                ["Time", "Threshold", "Old", "New", "By", "Reason"],
                [
                    (t.clock(c.at), c.field.replace("_", " "), _num(c.old), _num(c.new), c.who, c.reason)
                    for c in record.threshold_changes
                ],
                [0.8 * inch, 1.3 * inch, 0.55 * inch, 0.55 * inch, 1.3 * inch, width - 4.5 * inch],
            )
        )

    story.append(_p("Alarms", H2))
    if record.alarm_events:
        story.append(
            _table(
                ["Time", "Event", "Alarm", "Priority", "By", "Message"],
                [
                    (
                        t.clock(a.at),
                        a.kind,
                        a.condition.replace("_", " "),
                        a.priority.upper(),
                        a.person or "-",
                        a.message,
                    )
                    for a in record.alarm_events
                ],
                [0.8 * inch, 0.95 * inch, 1.35 * inch, 0.65 * inch, 1.2 * inch, width - 4.95 * inch],
            )
        )
    else:
        story.append(_none("alarms"))

    story.append(_p("Event markers", H2))
    if record.markers:
        story.append(
            _table(
                ["Time", "Marker", "Note", "By", "Entered"],
                [
                    (t.clock(m.at), m.label, m.note or "-", m.who, t.clock(m.recorded_at))
                    for m in record.markers
                ],
                [0.8 * inch, 1.6 * inch, width - 4.5 * inch, 1.3 * inch, 0.8 * inch],
            )
        )
    else:
        story.append(_none("event markers"))

    story.append(_p("Incidents", H2))
    docs = {d.incident_id: d for d in record.incident_documentation}
    if record.incidents:
        story.append(
            _table(
                ["Opened", "Kind", "Title", "Opened by", "Closed", "Outcome"],
                [
                    (
                        t.clock(i.opened_at),
                        i.kind,
                        i.title,
                        i.opened_by,
                        f"{t.clock(i.closed_at)} by {i.closed_by}" if i.closed_at else "OPEN",
                        _outcome(docs.get(i.incident_id)),
                    )
                    for i in record.incidents
                ],
                [0.8 * inch, 0.9 * inch, 1.8 * inch, 1.1 * inch, 1.2 * inch, width - 5.8 * inch],
            )
        )
        for incident in record.incidents:
            doc = docs.get(incident.incident_id)
            if doc is not None:
                story += _incident_documentation(record, incident.title, doc, t, width)
    else:
        story.append(_none("incidents"))

    story.append(_p("Medications given", H2))
    meds = _medications(record.protocol_runs, record.medications)
    if meds:
        story.append(
            _table(
                ["Time", "Drug", "Dose", "Route", "Given", "By", "From protocol", "Corrections"],
                [(t.clock(m[0]), *m[1:]) for m in meds],  # type: ignore[arg-type]
                [
                    0.7 * inch,
                    1.0 * inch,
                    0.8 * inch,
                    0.6 * inch,
                    0.9 * inch,
                    1.0 * inch,
                    1.0 * inch,
                    width - 6.0 * inch,
                ],
            )
        )
    else:
        story.append(_none("medications"))

    story.append(_p("Protocol runs", H2))
    if not record.protocol_runs:
        story.append(_none("protocol runs"))
    for run in record.protocol_runs:
        st = run.started
        ended_text = f"ended {t.clock(run.ended_at)} ({run.outcome})" if run.ended_at else "not ended"
        story.append(
            _p(
                f"{st.protocol_id} v{st.protocol_version}: started {t.clock(st.started_at)} "
                f"by {st.started_by}, "
                f"{ended_text}; incident {st.incident_id}; content hash {st.protocol_hash[:16]}",
                _bold(),
            )
        )
        story.append(
            _table(
                ["#", "Time", "By", "Step", "What", "Value", "Note"],
                [
                    (
                        step.seq,
                        t.clock(step.at)
                        + (f"\n(at {t.clock(step.occurred_at)})" if step.occurred_at else ""),
                        step.person,
                        step.node_id,
                        step.kind.replace("_", " ")
                        + (f" of #{step.corrects}" if step.corrects is not None else ""),
                        step.value,
                        step.note,
                    )
                    for step in run.steps
                ],
                [0.3 * inch, 0.8 * inch, 1.0 * inch, 1.1 * inch, 1.1 * inch, 1.5 * inch, width - 5.8 * inch],
            )
        )
        story.append(Spacer(1, 4))

    story.append(_p("Notes", H2))
    if record.notes:
        story.append(
            _table(
                ["Time", "By", "Note"],
                [(t.clock(n.at), n.who, n.text) for n in record.notes],
                [0.8 * inch, 1.4 * inch, width - 2.2 * inch],
            )
        )
    else:
        story.append(_none("notes"))

    story.append(_p("NIBP readings", H2))
    readings = nibp_readings(record)
    if readings:
        story.append(
            _table(
                ["Time", "Systolic/diastolic (mean) mmHg", "Quality", "Source"],
                [
                    (
                        t.clock(r.measured_at),
                        _bp_text(r.systolic, r.diastolic, r.mean),
                        r.quality.value.replace("_", " "),
                        r.source,
                    )
                    for r in readings
                ],
                [0.8 * inch, 2.2 * inch, 1.2 * inch, width - 4.2 * inch],
            )
        )
    else:
        story.append(_none("NIBP readings"))
    if record.nibp_interval_changes:
        story.append(Spacer(1, 4))
        story.append(
            _table(
                ["Time", "NIBP interval", "By", "Reason"],
                [
                    (
                        t.clock(c.at),
                        f"{c.old_interval_s / 60:g} -> {c.new_interval_s / 60:g} min",
                        c.who,
                        c.reason,
                    )
                    for c in record.nibp_interval_changes
                ],
                [0.8 * inch, 1.3 * inch, 1.4 * inch, width - 3.5 * inch],
            )
        )

    story.append(_p("Monitoring gaps", H2))
    if record.monitoring_gaps:
        story.append(
            _table(
                ["From", "Until", "Station", "Detail"],
                [(t.full(g.since), t.full(g.until), g.station, g.detail) for g in record.monitoring_gaps],
                [1.6 * inch, 1.6 * inch, 1.0 * inch, width - 4.2 * inch],
            )
        )
    else:
        story.append(_p("None: the monitor watched the whole session.", BODY))

    story.append(_p("Checklist attestations", H2))
    if record.attestations:
        story.append(
            _table(
                ["Time", "Checklist", "Item", "By"],
                [(t.clock(a.at), a.checklist, a.item, a.who) for a in record.attestations],
                [0.8 * inch, 1.1 * inch, 3.2 * inch, width - 5.1 * inch],
            )
        )
    else:
        story.append(_none("attestations"))
    story.append(Spacer(1, 6))
    invalid = sum(1 for o in record.observations if not o.is_valid)
    story.append(
        _p(
            f"{len(record.observations)} vital values recorded ({invalid} not valid: probe off, searching, "
            f"artifact, cuff error...), {len(record.device_events)} device link events. The full record is "
            "in the JSON export; the vitals in the CSV export.",
            BODY,
        )
    )

    who = s.patient_name or s.patient_mrn or "Unnamed patient"
    return render_story(
        story,
        title=f"Session record {s.session_id}",
        header=f"{who}  |  session {s.session_id}  |  {t.full(s.started_at)}",
        footer=f"Bedside session record, exported {t.full(datetime.now(UTC))}",
        drill=drill,
    )


def _outcome(doc: IncidentDocumentation | None) -> str:
    if doc is None or doc.closure is None:
        return "-"
    words = doc.closure.outcome.replace("_", " ")
    return f"{words}: {doc.closure.outcome_text}" if doc.closure.outcome_text else words


def _linked(record: FullSessionRecord, kind: str, item: int, t: _Times) -> str:
    """A linked item in words, e.g. "alarm 14:27:03 bp high started"."""
    target = getattr(record, LINK_LISTS.get(kind, ""), ())
    if not 0 <= item < len(target):
        return f"{kind} #{item}"
    thing = target[item]
    if kind == "alarm":
        return f"alarm {t.clock(thing.at)} {thing.condition.replace('_', ' ')} {thing.kind}"
    if kind == "note":
        return f"note {t.clock(thing.at)} {thing.who}: {thing.text[:60]}"
    if kind == "marker":
        return f"marker {t.clock(thing.at)} {thing.label}"
    return f"medication {t.clock(thing.given_at)} {thing.drug} {thing.dose:g} {thing.unit} {thing.route}"


def _incident_documentation(
    record: FullSessionRecord, title: str, doc: IncidentDocumentation, t: _Times, width: float
) -> list[Flowable]:
    """An incident's links, amendments, debriefs, reviews and what the patient was told (DOC-2..4)."""
    parts: list[Flowable] = [Spacer(1, 5), _p(f"Incident: {title}", _bold())]
    if doc.origin is not None:
        opened = (
            f"opened from {_linked(record, 'alarm', doc.origin.alarm_item, t)}"
            if doc.origin.alarm_item is not None
            else f"opened by hand at {doc.origin.station or '-'}"
        )
        parts.append(_p(opened.capitalize(), BODY))
    if doc.links:
        parts.append(
            _p(
                "Linked: " + "; ".join(_linked(record, link.kind, link.item, t) for link in doc.links),
                BODY,
            )
        )
    if doc.closure is not None:
        c = doc.closure
        parts.append(_p(f"Closed {t.clock(c.at)} by {c.who}: {_outcome(doc)}", BODY))
    for d in doc.debriefs:
        serious = ", ".join(x.replace("_", " ") for x in d.serious) or "none"
        if d.serious_text:
            serious += f" ({d.serious_text})"
        rows = [
            ("What happened", d.what_happened),
            ("What was done", d.what_was_done),
            ("Went well", d.went_well),
            ("To improve", d.to_improve),
            ("Protocol followed", d.protocol_followed),
            ("Serious criteria", serious),
        ]
        parts.append(
            KeepTogether(
                [
                    _p(f"Debrief {t.full(d.at)} by {d.who}", _bold()),
                    _grid_table([[_p(a, _bold()), _p(b)] for a, b in rows], [1.4 * inch, width - 1.4 * inch]),
                ]
            )
        )
    for r in doc.reviews:
        rows = [
            ("Protocol", f"{r.protocol_id} v{r.protocol_version} ({r.protocol_hash[:23]})"),
            ("Protocol followed", r.protocol_followed),
            ("Findings", r.findings),
            ("Protocol needs change", "yes" if r.needs_change else "no"),
            ("Proposed change", r.change_proposal or "-"),
        ]
        parts.append(
            KeepTogether(
                [
                    _p(f"Formal review {t.full(r.at)} by {r.who}", _bold()),
                    _grid_table([[_p(a, _bold()), _p(b)] for a, b in rows], [1.4 * inch, width - 1.4 * inch]),
                ]
            )
        )
    for told in doc.patient_told:
        rows = [
            ("Observed", told.observed),
            ("Done", told.done),
            ("What it means", told.meaning),
            ("Told by, when", f"{told.told_by}, {t.full(told.told_at)}"),
        ]
        parts.append(
            KeepTogether(
                [
                    _p(f"What the patient was told (recorded by {told.recorded_by})", _bold()),
                    _grid_table([[_p(a, _bold()), _p(b)] for a, b in rows], [1.4 * inch, width - 1.4 * inch]),
                ]
            )
        )
    if doc.amendments:
        parts.append(_p("Amendments", _bold()))
        parts.append(
            _table(
                ["Time", "By", "Text"],
                [(t.full(a.at), a.who, a.text) for a in doc.amendments],
                [1.6 * inch, 1.3 * inch, width - 2.9 * inch],
            )
        )
    return parts


def _bp_text(systolic: float | None, diastolic: float | None, mean: float | None) -> str:
    if systolic is None and diastolic is None and mean is None:
        return "no reading"
    return f"{_num(systolic)}/{_num(diastolic)} ({_num(mean)})"


def _bold() -> ParagraphStyle:
    return ParagraphStyle("bold", parent=CELL, fontName="Helvetica-Bold")


def _grid_table(data: list[list[Any]], widths: Sequence[float]) -> Table:
    table = Table(data, colWidths=list(widths))
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9e9e9e")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), HEADER_GREY),
                ("BACKGROUND", (2, 0), (2, -1), HEADER_GREY),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def render_story(
    story: list[Flowable],
    *,
    title: str,
    header: str,
    footer: str,
    drill: bool = False,
) -> bytes:
    """The story as PDF bytes, with a header and footer (and DRILL marks) on every page: the one
    page layout of every Bedside PDF (session record, referral, MedWatch draft, drill report)."""

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
