"""The EMS hand-off sheet as PDF, with the project's one PDF renderer (``export_pdf.render_story``).

What the crew needs first, on one page where it fits: who the patient is (name, age, weight,
allergies), what was running (infusion start, ketamine dose as entered), what was given (every
medication with time, dose, route and who confirmed it), how the vitals went (first, lowest, highest
and last value of each in the hand-off window), which alarms sounded, the protocol path the team
followed, and who is calling. A patient field the clinic never recorded prints "not recorded",
never a blank a paramedic could read as "none". Qt-free: the protocol panel calls it to print.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from pathlib import Path
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import Table, TableStyle

from bedside.workflow.documents_pdf import WIDTH, grid, text
from bedside.workflow.export_pdf import BODY, CELL, H1, H2, HEADER_GREY, render_story
from drivers.types import Observation, VitalKind
from protocols.handoff import HANDOFF_VITALS_WINDOW, EmsHandoff

log = logging.getLogger(__name__)

NOT_RECORDED = "not recorded"

_TREND_ROWS = (
    ("SpO2", VitalKind.SPO2, "%"),
    ("Pulse (oximeter)", VitalKind.PULSE_RATE, "/min"),
    ("Heart rate (ECG)", VitalKind.HEART_RATE, "/min"),
    ("NIBP systolic", VitalKind.NIBP_SYSTOLIC, "mmHg"),
    ("NIBP diastolic", VitalKind.NIBP_DIASTOLIC, "mmHg"),
    ("NIBP mean", VitalKind.NIBP_MEAN, "mmHg"),
)


@dataclass(frozen=True, slots=True)
class HandoffAlarm:
    """An alarm as the sheet lists it: when, which condition, its priority and what happened."""

    at: datetime
    condition: str
    priority: str
    event: str
    message: str = ""


@dataclass(frozen=True, slots=True)
class HandoffPatientDetails:
    """What the clinic knows about the patient; anything missing prints "not recorded"."""

    name: str = ""
    identifier: str = ""
    date_of_birth: date | None = None
    weight_kg: float | None = None
    allergies: Sequence[str] | None = None  # None: never asked; (): asked, none known
    sex: str = ""


@dataclass(frozen=True, slots=True)
class VitalSummary:
    """One vital over the hand-off window: valid values only."""

    label: str
    unit: str
    first: float
    lowest: float
    highest: float
    last: float
    last_at: datetime
    count: int


def age_on(born: date | None, on: date) -> int | None:
    """Completed years on ``on``; None when the date of birth is unknown."""
    if born is None:
        return None
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def vital_summaries(observations: Sequence[Observation]) -> list[VitalSummary]:
    """First, lowest, highest and last valid value of each vital, in the sheet's order."""
    rows: list[VitalSummary] = []
    for label, kind, unit in _TREND_ROWS:
        valid = sorted(
            (o for o in observations if o.kind is kind and o.is_valid and o.value is not None),
            key=lambda o: o.measured_at,
        )
        if not valid:
            continue
        values = [float(o.value) for o in valid if o.value is not None]
        rows.append(
            VitalSummary(
                label,
                unit,
                values[0],
                min(values),
                max(values),
                values[-1],
                valid[-1].measured_at,
                len(values),
            )
        )
    return rows


_BOLD = ParagraphStyle("handoff-bold", parent=CELL, fontName="Helvetica-Bold")
_BIG = ParagraphStyle("handoff-big", parent=BODY, fontSize=11, leading=14)


def _pairs(rows: Sequence[tuple[str, str, str, str]], widths: Sequence[float], *, big: bool = False) -> Table:
    """Label, value, label, value rows with the labels shaded (values larger on the patient block)."""
    value = _BIG if big else CELL
    data = [[text(a, _BOLD), text(b, value), text(c, _BOLD), text(d, value)] for a, b, c, d in rows]
    table = Table(data, colWidths=list(widths))
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#9e9e9e")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("BACKGROUND", (0, 0), (0, -1), HEADER_GREY),
                ("BACKGROUND", (2, 0), (2, -1), HEADER_GREY),
            ]
        )
    )
    return table


def _text(value: object) -> str:
    """A patient field as printed: blank or missing is "not recorded"."""
    if value is None:
        return NOT_RECORDED
    shown = str(value).strip()
    return shown or NOT_RECORDED


def ems_handoff_pdf(
    handoff: EmsHandoff,
    *,
    patient: HandoffPatientDetails,
    caller: str,
    alarms: Sequence[HandoffAlarm] = (),
    infusion_dose: str = "",
    clinic: str = "",
    zone: tzinfo | None = None,
) -> bytes:
    """The hand-off sheet as PDF bytes. ``caller`` is the clinician calling 911 / handing over."""
    zone = zone or datetime.now().astimezone().tzinfo or UTC
    width = WIDTH

    def at(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%H:%M:%S") if value else NOT_RECORDED

    def full(value: datetime | None) -> str:
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z") if value else NOT_RECORDED

    name = patient.name.strip() or handoff.patient.name.strip()
    age = age_on(patient.date_of_birth, handoff.generated_at.astimezone(zone).date())
    if patient.allergies is None:
        allergies = NOT_RECORDED
    else:
        allergies = ", ".join(a.strip() for a in patient.allergies if a.strip()) or "none known"
    weight = f"{patient.weight_kg:g} kg" if patient.weight_kg is not None else None
    born = patient.date_of_birth.isoformat() if patient.date_of_birth else None
    age_text = _text(age) + (" y" if age is not None else "")
    ident = _text(patient.identifier or handoff.patient.identifier)
    story: list[Any] = [text("EMS hand-off", H1)]
    story.append(
        _pairs(
            [
                ("Patient", _text(name), "Age", age_text),
                ("Weight", _text(weight), "Allergies", allergies),
                ("Clinic id", ident, "Date of birth / sex", f"{_text(born)} / {_text(patient.sex)}"),
                ("Called by", _text(caller), "911 called", full(handoff.called_911_at)),
            ],
            [1.0 * 72, 2.6 * 72, 1.3 * 72, width - 4.9 * 72],
            big=True,
        )
    )
    story.append(text("Infusion and event", H2))
    story.append(
        _pairs(
            [
                ("Drug", "ketamine infusion (office-based)", "Dose", _text(infusion_dose)),
                ("Session started", full(handoff.session_started_at), "Infusion started",
                 full(handoff.infusion_started_at)),
                ("Event started", full(handoff.event_started_at), "Incident", handoff.incident_id),
            ],
            [1.2 * 72, 2.4 * 72, 1.2 * 72, width - 4.8 * 72],
        )
    )  # fmt: skip

    story.append(text("Medications given", H2))
    if handoff.medications:
        story.append(
            grid(
                ["Time", "Drug", "Dose", "Route", "Confirmed by", "Protocol / corrections"],
                [
                    (
                        at(m.given_at) if m.given_at else "time not given",
                        m.drug,
                        m.dose or "-",
                        m.route or "-",
                        m.confirmed_by,
                        "; ".join([m.protocol_title, *m.corrections]),
                    )
                    for m in handoff.medications
                ],
                [0.8 * 72, 1.3 * 72, 0.9 * 72, 0.8 * 72, 1.2 * 72, width - 5.0 * 72],
            )
        )
    else:
        story.append(text("No medications recorded during the protocol.", BODY))

    minutes = int(HANDOFF_VITALS_WINDOW.total_seconds() // 60)
    story.append(text(f"Vitals, last {minutes} minutes", H2))
    summaries = vital_summaries(handoff.vitals)
    if summaries:
        story.append(
            grid(
                ["Vital", "First", "Lowest", "Highest", "Last", "Last at", "Values"],
                [
                    (
                        f"{s.label} ({s.unit})",
                        f"{s.first:g}",
                        f"{s.lowest:g}",
                        f"{s.highest:g}",
                        f"{s.last:g}",
                        at(s.last_at),
                        s.count,
                    )
                    for s in summaries
                ],
                [1.7 * 72, 0.7 * 72, 0.7 * 72, 0.7 * 72, 0.7 * 72, 0.9 * 72, width - 5.4 * 72],
            )
        )
    else:
        story.append(text("No valid vital values in the window.", BODY))

    story.append(text("Alarms", H2))
    if alarms:
        story.append(
            grid(
                ["Time", "Alarm", "Priority", "Event", "Message"],
                [
                    (
                        at(a.at),
                        a.condition.replace("_", " "),
                        a.priority.upper() or "-",
                        a.event,
                        a.message or "-",
                    )
                    for a in sorted(alarms, key=lambda a: a.at)
                ],
                [0.8 * 72, 1.5 * 72, 0.7 * 72, 1.0 * 72, width - 4.0 * 72],
            )
        )
    else:
        story.append(text("No alarms recorded in the session.", BODY))

    story.append(text("Protocol path", H2))
    story.append(text("Protocols: " + ("; ".join(handoff.protocols) or "none"), BODY))
    if handoff.steps:
        story.append(
            grid(
                ["Time", "By", "Step"],
                [(at(s.at), s.person, s.text) for s in handoff.steps],
                [0.8 * 72, 1.3 * 72, width - 2.1 * 72],
            )
        )
    log.info(
        "EMS hand-off PDF for incident %s (%d medications)", handoff.incident_id, len(handoff.medications)
    )
    where = f"{clinic}  |  " if clinic else ""
    return render_story(
        story,
        title=f"EMS hand-off {handoff.incident_id}",
        header=f"EMS HAND-OFF  |  {where}{_text(name)}  |  {full(handoff.generated_at)}",
        footer=f"Bedside EMS hand-off, printed {full(handoff.generated_at)} by {_text(caller)}",
    )


def save_owner_only(path: Path, pdf: bytes) -> None:
    """Write the sheet readable by its owner only (a patient document), for views that may not
    reach storage themselves."""
    from storage.files import write_owner_only

    write_owner_only(path, pdf)
