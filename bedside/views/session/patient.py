"""Patient: new or returning (search by name or clinic id), the minimum fields, consent recorded.

A returning patient whose last follow-up closed "adjust: earlier BP threshold" shows the suggested
threshold change (``followup.suggest_next_thresholds``); the Thresholds screen offers it for the
clinician to confirm (THR-1): nothing is applied here.
"""

from __future__ import annotations

import logging
from datetime import date

from PySide6.QtCore import QDate
from PySide6.QtWidgets import (
    QDateEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QWidget,
)

from alarms import ThresholdSet
from bedside.views.combo import WrapComboBox
from bedside.views.session.context import Screen, SessionServices, button, wrapped
from bedside.workflow.followup import suggest_next_thresholds
from bedside.workflow.identity import SignedIn
from bedside.workflow.patients import Sex
from bedside.workflow.station import PatientDetails, PatientRecord, ReferringProvider

log = logging.getLogger(__name__)


def _qdate(day: date) -> QDate:
    return QDate(day.year, day.month, day.day)


def _providers(text: str) -> tuple[ReferringProvider, ...]:
    """One provider a line: "name; specialty; contact" (specialty and contact may be left out)."""
    found = []
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(";")]
        if parts and parts[0]:
            found.append(ReferringProvider(parts[0], *(parts[1:3])))
    return tuple(found)


def patient_words(record: PatientRecord, today: date) -> str:
    """A patient as the banner shows them: name or clinic id, age, weight, allergies."""
    d = record.details
    born = d.date_of_birth
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    allergies = ", ".join(d.allergies) if d.allergies else "no known allergies"
    who = d.name or f"clinic id {d.clinic_id}"
    clinic = f" ({d.clinic_id})" if d.name and d.clinic_id else ""
    return f"{who}{clinic}, {age} y, {d.sex}, {d.weight_kg:g} kg — allergies: {allergies}"


class PatientScreen(Screen):
    """Find or add the session's patient and record their consent."""

    title = "Patient"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.current = wrapped(name="currentPatient")
        self.current.setStyleSheet("font-weight: bold;")
        self.body.addWidget(self.current)
        self.suggestion = wrapped(name="followUpSuggestion")
        self.suggestion.setStyleSheet("color: #ffd400;")
        self.body.addWidget(self.suggestion)
        find = QGroupBox("Returning patient")
        row = QHBoxLayout(find)
        self.search = QLineEdit()
        self.search.setObjectName("patientSearch")
        self.search.setPlaceholderText("name or clinic id")
        self.search.textChanged.connect(lambda _t: self._find())
        self.found = QListWidget()
        self.found.setObjectName("patientsFound")
        self.found.setMaximumHeight(110)
        row.addWidget(self.search, 1)
        row.addWidget(self.found, 2)
        row.addWidget(button("Use this patient", self._use_selected, name="usePatient"))
        self.body.addWidget(find)
        new = QGroupBox("New patient (the minimum: name or clinic id)")
        form = QFormLayout(new)
        self.name = QLineEdit()
        self.name.setObjectName("patientName")
        self.clinic_id = QLineEdit()
        self.clinic_id.setObjectName("clinicId")
        self.born = QDateEdit()
        self.born.setObjectName("dateOfBirth")
        self.born.setDisplayFormat("yyyy-MM-dd")
        self.born.setCalendarPopup(True)
        self.born.setDate(_qdate(date(1980, 1, 1)))
        self.sex = WrapComboBox()
        self.sex.setObjectName("sex")
        for sex in Sex:
            self.sex.addItem(sex.value, sex.value)
        self.weight = QDoubleSpinBox()
        self.weight.setObjectName("weightKg")
        self.weight.setRange(0, 500)
        self.weight.setDecimals(1)
        self.weight.setSuffix(" kg")
        self.weight.setValue(70)
        self.allergies = QLineEdit()
        self.allergies.setObjectName("allergies")
        self.allergies.setPlaceholderText("comma-separated; empty = no known allergies")
        self.referrers = QPlainTextEdit()
        self.referrers.setObjectName("referrers")
        self.referrers.setPlaceholderText("one a line: name; specialty; contact")
        self.referrers.setMaximumHeight(60)
        form.addRow("Name", self.name)
        form.addRow("Clinic id", self.clinic_id)
        form.addRow("Date of birth", self.born)
        form.addRow("Sex", self.sex)
        form.addRow("Weight", self.weight)
        form.addRow("Allergies", self.allergies)
        form.addRow("Referring providers", self.referrers)
        form.addRow(button("Save new patient", self._add, name="addPatient"))
        self.body.addWidget(new)
        consent = QGroupBox("Consent (what may be shared, with whom)")
        crow = QHBoxLayout(consent)
        self.consent_scope = QLineEdit()
        self.consent_scope.setObjectName("consentScope")
        self.consent_scope.setPlaceholderText("e.g. session summaries to the referring psychiatrist")
        self.consent_signed = QDateEdit()
        self.consent_signed.setObjectName("consentSigned")
        self.consent_signed.setDisplayFormat("yyyy-MM-dd")
        self.consent_signed.setDate(_qdate(services.clock.now().date()))
        crow.addWidget(self.consent_scope, 2)
        crow.addWidget(self.consent_signed)
        crow.addWidget(button("Record consent", self._consent, name="recordConsent"))
        self.body.addWidget(consent)
        services.add_listener(self.refresh)

    def details(self) -> PatientDetails:
        """The form as patient details (the service checks them)."""
        allergies = tuple(a.strip() for a in self.allergies.text().split(",") if a.strip())
        born = self.born.date()
        return PatientDetails(
            name=self.name.text(),
            clinic_id=self.clinic_id.text(),
            date_of_birth=date(born.year(), born.month(), born.day()),
            sex=str(self.sex.currentData()),
            weight_kg=self.weight.value(),
            allergies=allergies,
            referring_providers=_providers(self.referrers.toPlainText()),
        )

    def _find(self) -> None:
        words = self.search.text().strip().lower()
        self.found.clear()
        if not words:
            return
        today = self.services.clock.now().date()
        for record in self.services.patients.patients():
            d = record.details
            if words in d.name.lower() or words in d.clinic_id.lower():
                item = QListWidgetItem(patient_words(record, today))
                item.setData(256, record.patient_id)
                self.found.addItem(item)
        if self.found.count():
            self.found.setCurrentRow(0)

    def _use_selected(self) -> None:
        item = self.found.currentItem()
        if item is None:
            self.say("search for the patient first, then choose them in the list", problem=True)
            return
        self.services.choose_patient(str(item.data(256)))
        self._suggest()
        self.say("patient chosen for this session")

    def _add(self) -> None:
        def add(by: SignedIn) -> PatientRecord:
            record = self.services.patients.add(by, self.details())
            self.services.choose_patient(record.patient_id)
            return record

        self.act("Save new patient", add)

    def _consent(self) -> None:
        if not self.services.patient_id:
            self.say("choose or add the patient first", problem=True)
            return
        signed = self.consent_signed.date()
        self.act(
            "Record consent",
            lambda by: self.services.referral.record_consent(
                by,
                self.services.patient_id,
                scope=self.consent_scope.text(),
                signed_on=date(signed.year(), signed.month(), signed.day()),
            ),
        )

    def _suggest(self) -> None:
        """What the patient's last closed follow-up says, and any threshold change it suggests."""
        s = self.services
        s.suggestion = None
        last = s.followups.last_closed_for_patient(s.patient_id) if s.patient_id else None
        if last is None:
            self.suggestion.setText("")
            return
        said = f"Last follow-up ({last.closed_at:%Y-%m-%d}, {last.closed_by}): {last.outcome}"
        adjustments = last.outcome_details.get("adjustments", ())
        if adjustments:
            said += " — " + ", ".join(str(a).replace("_", " ") for a in adjustments)
        if last.note:
            said += f". {last.note}"
        try:
            s.suggestion = suggest_next_thresholds(
                ThresholdSet.clinic_default(s.config), last, s.config.follow_up
            )
        except Exception as exc:  # the service's refusal: set the thresholds by hand
            said += f". No suggestion: {exc}"
        if s.suggestion is not None:
            said += f". Suggested for today, to confirm on the Thresholds screen: {s.suggestion.reason}"
        self.suggestion.setText(said)

    def refresh(self) -> None:
        """The session's patient, if chosen."""
        s = self.services
        if not s.patient_id:
            self.current.setText("No patient chosen for this session yet.")
            return
        try:
            record = s.patients.patient(s.patient_id)
        except Exception as exc:  # a patient removed meanwhile: say so
            self.current.setText(f"The chosen patient cannot be read: {exc}")
            return
        consent = s.referral.consent(s.patient_id)
        consent_words = (
            f"Consent {consent.signed_on:%Y-%m-%d}: {consent.scope}" if consent else "No consent recorded."
        )
        self.current.setText(f"This session: {patient_words(record, s.clock.now().date())}. {consent_words}")
