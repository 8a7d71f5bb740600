"""The EMS hand-off sheet produced at a call-911 end: who, when, vitals, medications, steps.

Pure data plus a plain-text rendering; the app draws the same data in Qt and PDF.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from drivers.types import Observation, VitalKind
from protocols.engine import ProtocolRun, StepKind, StepRecord
from protocols.model import MedicationNode, NodeType, QuestionNode, WrittenProtocol

log = logging.getLogger(__name__)

#: How far back the hand-off's vitals go.
HANDOFF_VITALS_WINDOW = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class HandoffPatient:
    """Who the patient is, as EMS needs it."""

    name: str
    identifier: str = ""
    date_of_birth: date | None = None
    allergies: str = ""
    notes: str = ""
    weight_kg: float | None = None


@dataclass(frozen=True, slots=True)
class RunHistory:
    """A run as the hand-off needs it: the protocol it followed and its records (live or stored)."""

    protocol: WrittenProtocol
    records: tuple[StepRecord, ...]

    @classmethod
    def of(cls, run: ProtocolRun) -> RunHistory:
        """The history of a live run."""
        return cls(run.protocol.protocol, run.records)


@dataclass(frozen=True, slots=True)
class HandoffMedication:
    """A medication confirmed given, exactly as the clinic wrote it, with corrections noted."""

    drug: str
    dose: str
    route: str
    given_at: datetime | None
    confirmed_by: str
    protocol_title: str
    corrections: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class HandoffStep:
    """One thing the team did or answered, in words."""

    at: datetime
    person: str
    protocol_title: str
    text: str


@dataclass(frozen=True, slots=True)
class EmsHandoff:
    """Everything on the hand-off sheet."""

    generated_at: datetime
    patient: HandoffPatient
    incident_id: str
    session_started_at: datetime | None
    infusion_started_at: datetime | None
    event_started_at: datetime | None
    called_911_at: datetime | None
    protocols: tuple[str, ...]
    vitals: tuple[Observation, ...]
    medications: tuple[HandoffMedication, ...]
    steps: tuple[HandoffStep, ...]


def build_ems_handoff(
    patient: HandoffPatient,
    incident_id: str,
    runs: Sequence[RunHistory],
    observations: Iterable[Observation],
    now: datetime,
    *,
    session_started_at: datetime | None = None,
    infusion_started_at: datetime | None = None,
    window: timedelta = HANDOFF_VITALS_WINDOW,
) -> EmsHandoff:
    """Assemble the hand-off from the runs' records and the caller's recent observations."""
    since = now - window
    vitals = tuple(
        sorted((o for o in observations if since <= o.measured_at <= now), key=lambda o: o.measured_at)
    )
    medications: list[HandoffMedication] = []
    steps: list[HandoffStep] = []
    starts: list[datetime] = []
    calls: list[datetime] = []
    titles: list[str] = []
    for history in runs:
        protocol = history.protocol
        status = " (TEMPLATE, not approved)" if protocol.is_template else ""
        titles.append(f"{protocol.title} v{protocol.version}{status}")
        corrections: dict[int, list[str]] = {}
        for rec in history.records:
            if rec.kind is StepKind.CORRECTION and rec.corrects is not None:
                corrections.setdefault(rec.corrects, []).append(f"{rec.person}: {rec.note}")
        for rec in history.records:
            if rec.kind is StepKind.RUN_STARTED:
                starts.append(rec.at)
            if rec.kind is StepKind.ENDED and rec.value == NodeType.CALL_911:
                calls.append(rec.at)
            if rec.kind is StepKind.MEDICATION_GIVEN:
                node = protocol.nodes.get(rec.node_id)
                drug, dose, route = (
                    (node.drug, node.dose, node.route)
                    if isinstance(node, MedicationNode)
                    else (rec.value, "", "")
                )
                medications.append(
                    HandoffMedication(
                        drug,
                        dose,
                        route,
                        rec.occurred_at,
                        rec.person,
                        protocol.title,
                        tuple(corrections.get(rec.seq, ())),
                    )
                )
            text = _step_text(protocol, rec)
            if text:
                steps.append(HandoffStep(rec.at, rec.person, protocol.title, text))
    steps.sort(key=lambda s: s.at)
    medications.sort(key=lambda m: m.given_at or now)
    return EmsHandoff(
        generated_at=now,
        patient=patient,
        incident_id=incident_id,
        session_started_at=session_started_at,
        infusion_started_at=infusion_started_at,
        event_started_at=min(starts) if starts else None,
        called_911_at=min(calls) if calls else None,
        protocols=tuple(titles),
        vitals=vitals,
        medications=tuple(medications),
        steps=tuple(steps),
    )


def _step_text(protocol: WrittenProtocol, rec: StepRecord) -> str:
    node = protocol.nodes.get(rec.node_id)
    node_text = node.text if node is not None else rec.value
    match rec.kind:
        case StepKind.DONE:
            return f"Done: {node_text}" + (f" [{rec.value}]" if rec.value else "")
        case StepKind.SKIPPED:
            return f"Skipped: {node_text} (reason: {rec.note})"
        case StepKind.ANSWERED:
            question = node.text if isinstance(node, QuestionNode) else rec.node_id
            return f"Asked: {question} Answer: {rec.value}"
        case StepKind.MEDICATION_GIVEN:
            when = rec.occurred_at.strftime("%H:%M") if rec.occurred_at else "time not given"
            return f"Medication GIVEN at {when}: {rec.value}"
        case StepKind.MEDICATION_NOT_GIVEN:
            return f"Medication NOT given: {rec.value} (reason: {rec.note})"
        case StepKind.DECIDED:
            return f"Decision: {rec.value.replace('_', ' ')}"
        case StepKind.VITALS_RECORDED:
            return f"Reading: {rec.value}"
        case StepKind.CALL_911:
            return "911 called"
        case StepKind.CORRECTION:
            return f"Correction of record #{rec.corrects}: {rec.note}"
        case StepKind.RUN_STARTED:
            return f"Protocol started: {protocol.title}"
        case StepKind.ABANDONED:
            return f"Protocol stopped: {rec.note}"
        case _:
            return ""


_COLUMNS = (
    ("SpO2 %", (VitalKind.SPO2,)),
    ("Pulse /min", (VitalKind.PULSE_RATE,)),
    ("HR /min", (VitalKind.HEART_RATE,)),
    ("NIBP mmHg", (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)),
)


def handoff_text(handoff: EmsHandoff) -> str:
    """The hand-off sheet as plain text (vitals one row per minute: last valid value of each)."""
    p = handoff.patient

    def t(value: datetime | None) -> str:
        return value.strftime("%Y-%m-%d %H:%M:%S %Z").strip() if value else "-"

    lines = [
        "EMS HAND-OFF",
        f"Patient: {p.name}"
        + (f"  ID: {p.identifier}" if p.identifier else "")
        + (f"  DOB: {p.date_of_birth.isoformat()}" if p.date_of_birth else ""),
        f"Allergies: {p.allergies or 'none recorded'}",
    ]
    if p.notes:
        lines.append(f"Notes: {p.notes}")
    lines += [
        "Medication in session: ketamine infusion (office-based); see medications given below.",
        f"Incident: {handoff.incident_id}",
        f"Session started: {t(handoff.session_started_at)}",
        f"Infusion started: {t(handoff.infusion_started_at)}",
        f"Event started: {t(handoff.event_started_at)}",
        f"911 called: {t(handoff.called_911_at)}",
        "Protocols followed: " + ("; ".join(handoff.protocols) or "-"),
        "",
        "MEDICATIONS GIVEN",
    ]
    if not handoff.medications:
        lines.append("  none recorded")
    for m in handoff.medications:
        when = m.given_at.strftime("%H:%M:%S") if m.given_at else "time not given"
        lines.append(f"  {when}  {m.drug} | {m.dose} | {m.route}  (confirmed by {m.confirmed_by})")
        lines.extend(f"      correction: {c}" for c in m.corrections)
    lines += ["", f"VITALS, last {int(HANDOFF_VITALS_WINDOW.total_seconds() // 60)} min (per minute)"]
    lines.append("  time      " + "  ".join(f"{name:>12}" for name, _ in _COLUMNS))
    rows: dict[datetime, dict[VitalKind, float]] = {}
    for obs in handoff.vitals:
        if obs.is_valid and obs.value is not None:
            minute = obs.measured_at.replace(second=0, microsecond=0)
            rows.setdefault(minute, {})[obs.kind] = obs.value
    if not rows:
        lines.append("  no valid values")
    for minute in sorted(rows):
        values = rows[minute]
        cells = []
        for _, kinds in _COLUMNS:
            present = [values.get(k) for k in kinds]
            if kinds[0] is VitalKind.NIBP_SYSTOLIC:
                sys_, dia, mean = present
                cell = f"{sys_:g}/{dia:g}" if sys_ is not None and dia is not None else ""
                cell += f" ({mean:g})" if cell and mean is not None else ""
            else:
                cell = f"{present[0]:g}" if present[0] is not None else ""
            cells.append(f"{cell:>12}")
        lines.append(f"  {minute.strftime('%H:%M')}     " + "  ".join(cells))
    lines += ["", "STEPS TAKEN"]
    if not handoff.steps:
        lines.append("  none recorded")
    for s in handoff.steps:
        lines.append(f"  {s.at.strftime('%H:%M:%S')}  {s.person}: {s.text}")
    return "\n".join(lines) + "\n"
