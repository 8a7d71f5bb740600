"""MedWatch (DOC-6): an event meeting the FDA's serious criteria is flagged, and a draft of the
voluntary report's fields (FDA Form 3500) is printed for the clinician to submit.

Bedside never sends anything anywhere: the draft is a PDF the clinician checks, completes and submits
themselves. The patient is named by an identifier (the clinic id), never by name, as the form asks.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from reportlab.platypus import Flowable, Spacer

from bedside.workflow.audit import Actor, AuditTrail
from bedside.workflow.documents_pdf import WIDTH, body, day, fields, grid, render, text, when
from bedside.workflow.export_pdf import H1, H2
from drivers.clock import Clock
from storage import Database, IdentityRepository, SessionRepository
from storage.errors import UnknownRecordError
from storage.followup import FollowUpRepository, SeriousEventRecord
from storage.full_record import FullSessionRecord, read_full_record
from storage.identity import PatientRecord

log = logging.getLogger(__name__)


class SeriousCriterion(enum.StrEnum):
    """The outcomes that make an adverse event serious for MedWatch (Form 3500, section B)."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALISATION = "hospitalisation"
    DISABILITY = "disability"
    INTERVENTION_TO_PREVENT_HARM = "intervention_to_prevent_harm"
    OTHER_SERIOUS = "other_serious"

    @property
    def words(self) -> str:
        """As the form says it."""
        return {
            SeriousCriterion.DEATH: "Death",
            SeriousCriterion.LIFE_THREATENING: "Life-threatening",
            SeriousCriterion.HOSPITALISATION: "Hospitalization (initial or prolonged)",
            SeriousCriterion.DISABILITY: "Disability or permanent damage",
            SeriousCriterion.INTERVENTION_TO_PREVENT_HARM: (
                "Required intervention to prevent permanent impairment/damage"
            ),
            SeriousCriterion.OTHER_SERIOUS: "Other serious (important medical event)",
        }[self]


class MedWatchError(ValueError):
    """A flag or draft cannot be made as asked; the message says what to give instead."""


def serious_criteria(criteria: Iterable[SeriousCriterion | str]) -> tuple[SeriousCriterion, ...]:
    """The criteria checked and in the form's order; MedWatchError for an unknown one or none."""
    chosen: set[SeriousCriterion] = set()
    for c in criteria:
        try:
            chosen.add(SeriousCriterion(c))
        except ValueError:
            raise MedWatchError(
                f"{c!r} is not a MedWatch serious criterion: use "
                f"{', '.join(s.value for s in SeriousCriterion)}"
            ) from None
    if not chosen:
        raise MedWatchError(
            "an event is flagged for MedWatch only when it meets at least one serious criterion"
        )
    return tuple(s for s in SeriousCriterion if s in chosen)


def is_serious(criteria: Iterable[SeriousCriterion | str]) -> bool:
    """True when the outcomes include any serious criterion (the event is then flagged for MedWatch)."""
    known = {s.value for s in SeriousCriterion}
    return any(str(c) in known for c in criteria)


def age_on(born: date, on: date) -> int:
    """Age in whole years on a date."""
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


@dataclass(frozen=True, slots=True)
class MedWatchDraft:
    """The voluntary report's fields, pre-filled from the record; the clinician completes and submits it."""

    patient_identifier: str
    age: str
    sex: str
    weight: str
    event_at: datetime
    description: str
    outcomes: tuple[SeriousCriterion, ...]
    relevant_tests: str
    vitals_around_event: tuple[tuple[datetime, str, str], ...]
    suspect_product: str
    suspect_dose: str
    suspect_route: str
    therapy_dates: str
    concomitant_medications: tuple[str, ...]
    reporter: str
    session_id: str
    incident_id: str
    flagged_by: str
    flagged_at: datetime


def _medications_given(record: FullSessionRecord) -> list[str]:
    given = []
    for run in record.protocol_runs:
        for step in run.steps:
            if step.kind == "medication_given":
                drug, dose, route = ([*step.value.split(" | "), "", ""])[:3]
                given.append(f"{drug} {dose} {route}".strip() + f" (during {run.started.protocol_id})")
    # Entered by the clinician (DOC-1): ketamine is the suspect product, named apart on the form.
    for med in record.medications:
        if "ketamine" not in med.drug.lower():
            given.append(
                f"{med.drug} {med.dose:g} {med.unit} {med.route}".strip() + f" ({med.given_at:%Y-%m-%d})"
            )
    return given


def build_draft(
    flag: SeriousEventRecord,
    record: FullSessionRecord,
    patient: PatientRecord | None,
    reporter: str,
) -> MedWatchDraft:
    """The draft's fields from the flag, the session record and the patient (pure)."""
    d: dict[str, Any] = dict(flag.details)
    identifier = record.session.patient_mrn or (patient.details.clinic_id if patient else "")
    if patient is not None:
        age = f"{age_on(patient.details.date_of_birth, flag.event_at.date())} years"
        sex = patient.details.sex
        weight = f"{patient.details.weight_kg:g} kg"
    else:
        age = sex = weight = ""
    started, ended = record.session.started_at, record.session.ended_at
    dates = d.get("therapy_dates") or (
        f"{day(started)} to {day(ended)}"
        if ended is not None and day(ended) != day(started)
        else day(started)
    )
    vitals = tuple(
        (a.at, a.condition, a.message or a.kind)
        for a in record.alarm_events
        if a.kind == "started" and a.priority in ("high", "medium")
    )
    return MedWatchDraft(
        patient_identifier=identifier,
        age=age,
        sex=sex,
        weight=weight,
        event_at=flag.event_at,
        description=flag.description,
        outcomes=serious_criteria(flag.criteria),
        relevant_tests=str(d.get("relevant_tests", "")),
        vitals_around_event=vitals,
        suspect_product="Ketamine (racemic ketamine hydrochloride injection)",
        suspect_dose=str(d.get("suspect_dose", "")),
        suspect_route=str(d.get("suspect_route", "")) or "intravenous infusion",
        therapy_dates=str(dates),
        concomitant_medications=tuple([*d.get("concomitant_medications", []), *_medications_given(record)]),
        reporter=reporter,
        session_id=record.session.session_id,
        incident_id=flag.subject if flag.subject != flag.session_id else "",
        flagged_by=flag.flagged_by,
        flagged_at=flag.flagged_at,
    )


def medwatch_pdf(
    draft: MedWatchDraft, *, zone: tzinfo | None = None, printed_at: datetime | None = None
) -> bytes:
    """The draft as a PDF laid out in the form's sections, marked DRAFT: NOT SUBMITTED."""
    story: list[Flowable] = [
        text("MedWatch draft (DRAFT: NOT SUBMITTED)", H1),
        body("MedWatch voluntary report (FDA Form 3500): DRAFT for the clinician to check and submit"),
        body(
            "Bedside has not sent this anywhere. Check every field against the chart, complete what is "
            "marked 'not recorded', and submit it at www.fda.gov/medwatch or on the paper form."
        ),
        Spacer(1, 6),
    ]
    story += [
        _h("A. Patient information"),
        fields(
            [
                ("Patient identifier", draft.patient_identifier),
                ("Age at time of event", draft.age),
                ("Sex", draft.sex),
                ("Weight", draft.weight),
            ]
        ),
        _h("B. Adverse event"),
        fields(
            [
                ("Outcomes (serious)", "\n".join(f"[X] {o.words}" for o in draft.outcomes)),
                ("Date of event", when(draft.event_at, zone)),
                ("Describe event", draft.description),
                ("Relevant tests / laboratory data", draft.relevant_tests),
            ]
        ),
    ]
    if draft.vitals_around_event:
        story += [
            Spacer(1, 4),
            body("Alarms recorded during the session (from the monitor record):"),
            grid(
                ["Time", "Alarm", "What the monitor said"],
                [(when(at, zone), cond, msg) for at, cond, msg in draft.vitals_around_event],
                [1.7 * 72, 1.6 * 72, WIDTH - 3.3 * 72],
            ),
        ]
    story += [
        _h("C. Suspect product"),
        fields(
            [
                ("Name", draft.suspect_product),
                ("Dose, frequency", draft.suspect_dose),
                ("Route", draft.suspect_route),
                ("Therapy dates", draft.therapy_dates),
            ]
        ),
        _h("D. Concomitant medical products"),
        fields([("Concomitant medications", "\n".join(draft.concomitant_medications))]),
        _h("E. Reporter"),
        fields(
            [
                ("Reporter", draft.reporter),
                ("Flagged serious by", f"{draft.flagged_by}, {when(draft.flagged_at, zone)}"),
                ("Bedside session", draft.session_id),
                ("Incident", draft.incident_id),
            ]
        ),
    ]
    printed = f", printed {when(printed_at, zone)}" if printed_at is not None else ""
    return render(
        story,
        title=f"MedWatch draft {draft.session_id}",
        header=f"MedWatch DRAFT, not submitted  |  patient {draft.patient_identifier or 'not recorded'}  |  "
        f"event {when(draft.event_at, zone)}",
        footer=f"Bedside MedWatch draft{printed}: for the clinician to submit; Bedside sends nothing",
    )


def _h(words: str) -> Flowable:
    return text(words, H2)


class MedWatchService:
    """Flags serious events and prints their MedWatch drafts; both go to the audit trail."""

    def __init__(self, db: Database, clock: Clock, audit: AuditTrail) -> None:
        self._db = db
        self._repository = FollowUpRepository(db)
        self._sessions = SessionRepository(db)
        self._identity = IdentityRepository(db)
        self._clock = clock
        self._audit = audit

    def _session_of(self, subject: str) -> str:
        incident = self._repository.incident(subject)
        if incident is not None:
            return incident.session_id
        try:
            return self._sessions.session(subject).session_id
        except UnknownRecordError:
            raise MedWatchError(
                f"there is no incident or session {subject!r}: give an incident id or a session id"
            ) from None

    def flag(
        self,
        by: Actor | str,
        subject: str,
        criteria: Sequence[SeriousCriterion | str],
        *,
        description: str,
        event_at: datetime | None = None,
        relevant_tests: str = "",
        suspect_dose: str = "",
        suspect_route: str = "",
        therapy_dates: str = "",
        concomitant_medications: Sequence[str] = (),
    ) -> SeriousEventRecord:
        """Flag an incident (or a session) as serious with the facts the draft needs; audited."""
        chosen = serious_criteria(criteria)
        if not description.strip():
            raise MedWatchError("describe the event: what happened, what was done, how the patient is now")
        session_id = self._session_of(subject)
        incident = self._repository.incident(subject)
        at = event_at or (
            incident.opened_at if incident is not None else self._sessions.session(session_id).started_at
        )
        who = by if isinstance(by, str) else by.who
        details = {
            "relevant_tests": relevant_tests.strip(),
            "suspect_dose": suspect_dose.strip(),
            "suspect_route": suspect_route.strip(),
            "therapy_dates": therapy_dates.strip(),
            "concomitant_medications": [m.strip() for m in concomitant_medications if m.strip()],
        }
        record = self._repository.add_serious_event(
            subject=subject,
            session_id=session_id,
            criteria=[c.value for c in chosen],
            event_at=at,
            description=description.strip(),
            details=details,
            at=self._clock.now(),
            by=who,
        )
        self._audit.append(
            by, "medwatch_flagged", subject, {"criteria": [c.value for c in chosen], "flag": record.flag_id}
        )
        return record

    def unflag(self, by: Actor | str, subject: str, *, reason: str) -> SeriousEventRecord:
        """Withdraw an event's serious flag (e.g. flagged on the wrong incident), with the reason.

        Nothing is deleted: the withdrawal is a flag with no criteria after the old one, so the
        history stays and the newest entry decides; audited. MedWatchError when it is not flagged.
        """
        if not reason.strip():
            raise MedWatchError("say why the serious flag is withdrawn (the audit trail keeps the reason)")
        flags = self._repository.serious_events(subject)
        if not flags or not flags[-1].criteria:
            self._session_of(subject)  # an unknown id says so before "not flagged"
            raise MedWatchError(f"{subject} is not flagged as a serious event: nothing to withdraw")
        last = flags[-1]
        who = by if isinstance(by, str) else by.who
        record = self._repository.add_serious_event(
            subject=last.subject,
            session_id=last.session_id,
            criteria=[],
            event_at=last.event_at,
            description=reason.strip(),
            details={"withdraws": last.flag_id},
            at=self._clock.now(),
            by=who,
        )
        self._audit.append(
            by, "medwatch_unflagged", subject, {"flag": last.flag_id, "reason": reason.strip()}
        )
        return record

    def flags(self, subject: str | None = None) -> list[SeriousEventRecord]:
        """Flagged events, for one incident or session when given."""
        return self._repository.serious_events(subject)

    def draft(self, subject: str, reporter: str) -> MedWatchDraft:
        """The draft for a flagged incident or session (its newest flag); MedWatchError if not flagged."""
        flags = self._repository.serious_events(subject)
        if not flags:
            self._session_of(subject)  # an unknown id says so before "not flagged"
            raise MedWatchError(
                f"{subject} is not flagged as a serious event: a MedWatch draft is only made for an event "
                "that meets a serious criterion (flag it first)"
            )
        flag = flags[-1]
        if not flag.criteria:  # the newest entry withdrew the flag
            raise MedWatchError(
                f"the serious flag of {subject} was withdrawn {flag.flagged_at:%Y-%m-%d} by "
                f"{flag.flagged_by} ({flag.description}): flag it again if it is serious"
            )
        record = read_full_record(self._sessions, flag.session_id)
        mrn = record.session.patient_mrn
        patient = self._identity.patient_by_clinic_id(mrn) if mrn else None
        return build_draft(flag, record, patient, reporter)

    def draft_pdf(
        self, by: Actor | str, subject: str, *, reporter: str = "", zone: tzinfo | None = None
    ) -> bytes:
        """The draft as PDF bytes; the export is audited (nothing is sent anywhere)."""
        name = reporter or (by if isinstance(by, str) else getattr(by, "name", by.who))
        draft = self.draft(subject, name)
        pdf = medwatch_pdf(draft, zone=zone, printed_at=self._clock.now())
        self._audit.append(
            by, "medwatch_draft_exported", subject, {"session": draft.session_id, "bytes": len(pdf)}
        )
        return pdf
