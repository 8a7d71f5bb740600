"""Consent and the referral summary (DOC-5): with the patient's written consent recorded (scope, the
date signed), a written summary of a session for the referring provider can be printed to PDF.

Without a consent in force the summary is refused with one sentence saying so: nothing about the
patient leaves the clinic on paper before the patient agreed in writing.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Spacer

from bedside.workflow.audit import Actor, AuditTrail
from bedside.workflow.documents_pdf import WIDTH, body, day, fields, grid, render, text, when
from bedside.workflow.export_pdf import H1, H2
from drivers.clock import Clock
from storage import Database, IdentityRepository, SessionRepository
from storage.errors import UnknownRecordError
from storage.followup import ConsentRecord, FollowUpRecord, FollowUpRepository
from storage.full_record import FullSessionRecord, read_full_record
from storage.identity import PatientRecord

log = logging.getLogger(__name__)


class ReferralError(Exception):
    """A consent or referral summary cannot be made as asked; the message says why in one sentence."""


class ConsentMissing(ReferralError):
    """The patient's written consent to share a summary is not recorded (or was withdrawn)."""


def consent_in_force(consents: list[ConsentRecord], on: date) -> ConsentRecord | None:
    """The newest consent signed on or before ``on`` and not withdrawn, if any (pure)."""
    valid = [c for c in consents if c.withdrawn_at is None and c.signed_on <= on]
    return max(valid, key=lambda c: (c.signed_on, c.recorded_at), default=None)


@dataclass(frozen=True, slots=True)
class ReferralSummary:
    """What the referring provider is told about one session."""

    patient: PatientRecord
    consent: ConsentRecord
    record: FullSessionRecord
    follow_ups: tuple[FollowUpRecord, ...]
    author: str


def _vital_range(record: FullSessionRecord, kind: str) -> str:
    values = [
        o.value
        for o in record.observations
        if o.kind.value == kind and o.value is not None and o.quality.value == "valid"
    ]
    if not values:
        return "not measured"
    return f"{min(values):g} to {max(values):g}"


def referral_pdf(
    summary: ReferralSummary, *, zone: tzinfo | None = None, printed_at: datetime | None = None
) -> bytes:
    """The summary as a letter-like PDF for the referring provider."""
    p = summary.patient.details
    s = summary.record.session
    providers = "\n".join(
        ", ".join(part for part in (r.name, r.specialty, r.contact) if part) for r in p.referring_providers
    )
    story: list[Flowable] = [
        text("Session summary for the referring provider", H1),
        body(
            f"Shared with the patient's written consent, signed {summary.consent.signed_on:%Y-%m-%d} "
            f"(scope: {summary.consent.scope})."
        ),
        Spacer(1, 6),
        fields(
            [
                ("To", providers or "the referring provider"),
                ("Patient", f"{p.name} (clinic id {p.clinic_id})"),
                ("Date of birth", f"{p.date_of_birth:%Y-%m-%d}"),
                ("Sex, weight", f"{p.sex}, {p.weight_kg:g} kg"),
                ("Allergies", ", ".join(p.allergies) or "no known allergies"),
            ]
        ),
        text("The session", H2),
        fields(
            [
                ("Date", day(s.started_at, zone)),
                ("Monitored", f"{when(s.started_at, zone)} to {when(s.ended_at, zone)}"),
                ("Clinician", s.clinician),
                ("SpO2 (%)", _vital_range(summary.record, "spo2")),
                ("Pulse (/min)", _vital_range(summary.record, "pulse_rate")),
                ("Systolic BP (mmHg)", _vital_range(summary.record, "nibp_systolic")),
                ("Diastolic BP (mmHg)", _vital_range(summary.record, "nibp_diastolic")),
            ]
        ),
        text("Events", H2),
    ]
    if summary.record.incidents:
        story.append(
            grid(
                ["Time", "Event", "Closed"],
                [
                    (when(i.opened_at, zone), i.title, when(i.closed_at, zone) if i.closed_at else "open")
                    for i in summary.record.incidents
                ],
                [1.7 * inch, WIDTH - 3.4 * inch, 1.7 * inch],
            )
        )
    else:
        story.append(body("No incident: the session went as planned."))
    meds = [
        (when(st.occurred_at or st.at, zone), *([*st.value.split(" | "), "", ""])[:3], st.person)
        for run in summary.record.protocol_runs
        for st in run.steps
        if st.kind == "medication_given"
    ]
    story.append(text("Medications given for events", H2))
    if meds:
        story.append(
            grid(
                ["Time", "Drug", "Dose", "Route", "By"],
                meds,
                [1.5 * inch, 1.6 * inch, 1.2 * inch, 1.2 * inch, WIDTH - 5.5 * inch],
            )
        )
    else:
        story.append(body("None."))
    story.append(text("Follow-up", H2))
    if summary.follow_ups:
        story.append(
            grid(
                ["Contact", "Due by", "Outcome"],
                [
                    (
                        f.item.contact.replace("_", " "),
                        when(f.item.due_by, zone),
                        f"{f.outcome} {' '.join(str(v) for v in f.outcome_details.values())}".strip()
                        or "open",
                    )
                    for f in summary.follow_ups
                ],
                [1.8 * inch, 1.8 * inch, WIDTH - 3.6 * inch],
            )
        )
    else:
        story.append(body("No follow-up was needed."))
    story += [
        Spacer(1, 14),
        body(f"Written by {summary.author}. Please contact the clinic with any question."),
    ]
    printed = f", printed {when(printed_at, zone)}" if printed_at is not None else ""
    return render(
        story,
        title=f"Referral summary {s.session_id}",
        header=f"Referral summary  |  {p.name} ({p.clinic_id})  |  session {day(s.started_at, zone)}",
        footer=f"Bedside referral summary{printed}: confidential, shared with the patient's written consent",
    )


class ReferralService:
    """Records consent and prints referral summaries; every change and export is audited."""

    def __init__(self, db: Database, clock: Clock, audit: AuditTrail) -> None:
        self._repository = FollowUpRepository(db)
        self._sessions = SessionRepository(db)
        self._identity = IdentityRepository(db)
        self._clock = clock
        self._audit = audit

    def record_consent(
        self, by: Actor | str, patient_id: str, *, scope: str, signed_on: date
    ) -> ConsentRecord:
        """Record the patient's written consent (what may be shared, with whom; the date signed)."""
        if not scope.strip():
            raise ReferralError(
                "say what the consent covers, e.g. 'session summaries to the referring psychiatrist'"
            )
        if signed_on > self._clock.now().date():
            raise ReferralError(f"a consent cannot be signed in the future ({signed_on:%Y-%m-%d})")
        try:
            self._identity.patient(patient_id)
        except UnknownRecordError:
            raise ReferralError(
                f"there is no patient {patient_id!r}: `bedside patient list` shows them"
            ) from None
        who = by if isinstance(by, str) else by.who
        consent = self._repository.add_consent(
            patient_id=patient_id, scope=scope.strip(), signed_on=signed_on, at=self._clock.now(), by=who
        )
        self._audit.append(
            by,
            "consent_recorded",
            patient_id,
            {"consent": consent.consent_id, "scope": consent.scope, "signed_on": signed_on.isoformat()},
        )
        return consent

    def withdraw_consent(self, by: Actor | str, consent_id: str) -> ConsentRecord:
        """Mark a consent withdrawn: no summary is printed on it from now on."""
        who = by if isinstance(by, str) else by.who
        consent = self._repository.withdraw_consent(consent_id, at=self._clock.now(), by=who)
        self._audit.append(by, "consent_withdrawn", consent.patient_id, {"consent": consent_id})
        return consent

    def consent(self, patient_id: str) -> ConsentRecord | None:
        """The consent in force today, if any."""
        return consent_in_force(self._repository.consents(patient_id), self._clock.now().date())

    def summary(self, session_id: str, author: str) -> ReferralSummary:
        """The summary of a session; ConsentMissing without the patient's written consent."""
        try:
            record = read_full_record(self._sessions, session_id)
        except UnknownRecordError:
            raise ReferralError(f"there is no session {session_id!r}: check the id") from None
        mrn = record.session.patient_mrn
        patient = self._identity.patient_by_clinic_id(mrn) if mrn else None
        if patient is None:
            raise ReferralError(
                f"session {session_id} names no registered patient: "
                "add the patient (bedside patient add) first"
            )
        consent = self.consent(patient.patient_id)
        if consent is None:
            raise ConsentMissing(
                f"No summary for {patient.details.name}: the patient's written consent to share it with the "
                "referring provider is not recorded; record the signed consent first."
            )
        follow_ups = tuple(self._repository.follow_ups(session_id=session_id))
        return ReferralSummary(patient, consent, record, follow_ups, author)

    def summary_pdf(self, by: Actor | str, session_id: str, *, zone: tzinfo | None = None) -> bytes:
        """The summary as PDF bytes; the export is audited."""
        author = by if isinstance(by, str) else getattr(by, "name", by.who)
        summary = self.summary(session_id, author)
        pdf = referral_pdf(summary, zone=zone, printed_at=self._clock.now())
        self._audit.append(
            by,
            "referral_summary_exported",
            session_id,
            {"patient": summary.patient.patient_id, "consent": summary.consent.consent_id},
        )
        return pdf
