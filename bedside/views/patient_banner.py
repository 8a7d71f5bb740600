"""The patient banner, always on the monitor screen: who the patient is (name, age, weight,
allergies), who is signed in, the infusion clock and the time since the infusion ended against the
expected 20-40 minute dissociation window (DOC-1, PRO-5). A view: it shows what it is given."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtWidgets import QFrame, QHBoxLayout, QSizePolicy, QWidget

from bedside.views.restyle import set_style
from bedside.views.theme import palette
from bedside.views.widgets import label

log = logging.getLogger(__name__)

#: What the banner says while no patient is recorded for the session.
NO_PATIENT = "⚠ No patient recorded"


@dataclass(frozen=True, slots=True)
class PatientOnScreen:
    """The patient as the banner shows them (from the session's patient record)."""

    name: str
    age_years: int | None = None
    weight_kg: float | None = None
    allergies: str = ""


def clock_text(seconds: float) -> str:
    """Elapsed time as ``h:mm:ss`` (``mm:ss`` under an hour)."""
    whole = max(0, int(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60:02d}:{rest % 60:02d}"


class PatientBanner(QFrame):
    """Patient, clinician, infusion clock and recovery clock in one line that wraps."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("patientBanner")
        p = palette()
        self.setStyleSheet(
            f"#patientBanner {{ background: {p.surface}; border-bottom: 1px solid {p.border}; }}"
            " #patientBanner QLabel { background: transparent; }"
        )
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 2, 8, 2)
        self.patient_label = label(NO_PATIENT, "heading", bold=True)
        self.clinician_label = label("", "body")
        self.infusion_label = label("", "heading", bold=True)
        self.recovery_label = label("", "heading", bold=True)
        row.addWidget(self.patient_label, 4)
        row.addWidget(self.clinician_label, 2)
        row.addWidget(self.infusion_label, 2)
        row.addWidget(self.recovery_label, 3)
        self._patient: PatientOnScreen | None = None
        self.show_patient(None)
        self.show_clinician("")
        self.show_clocks(None, None, None, "before")

    def show_patient(self, patient: PatientOnScreen | None) -> None:
        """The session's patient; "No patient recorded" in the warning colour when there is none."""
        p = palette()
        self._patient = patient
        if patient is None or not patient.name.strip():
            self.patient_label.setText(NO_PATIENT)
            set_style(self.patient_label, f"color: {p.warning};")
            return
        parts = [patient.name.strip()]
        if patient.age_years is not None:
            parts.append(f"{patient.age_years} y")
        if patient.weight_kg is not None:
            parts.append(f"{patient.weight_kg:g} kg")
        parts.append(f"Allergies: {patient.allergies.strip() or 'none recorded'}")
        self.patient_label.setText(" · ".join(parts))
        set_style(self.patient_label, f"color: {p.text};")

    def show_clinician(self, name: str) -> None:
        """The signed-in clinician (who every action is recorded against)."""
        p = palette()
        if name.strip():
            self.clinician_label.setText(f"Clinician: {name.strip()}")
            set_style(self.clinician_label, f"color: {p.text};")
        else:
            self.clinician_label.setText("⚠ No clinician signed in")
            set_style(self.clinician_label, f"color: {p.warning};")

    def show_clocks(
        self,
        infusion_started: datetime | None,
        infusion_ended: datetime | None,
        now: datetime | None,
        window_state: str,
        window_min: tuple[float, float] = (20.0, 40.0),
    ) -> None:
        """The infusion clock, and after it ends the time since, marked by where it stands in the
        dissociation window (``window_state`` from the clinic's configuration: before/within/past)."""
        p = palette()
        if infusion_started is None or now is None:
            self.infusion_label.setText("Infusion: not started")
            set_style(self.infusion_label, f"color: {p.muted};")
        elif infusion_ended is None:
            self.infusion_label.setText(f"Infusion ▶ {clock_text((now - infusion_started).total_seconds())}")
            set_style(self.infusion_label, f"color: {p.text};")
        else:
            ran = clock_text((infusion_ended - infusion_started).total_seconds())
            self.infusion_label.setText(f"Infusion ran {ran}")
            set_style(self.infusion_label, f"color: {p.muted};")
        if infusion_ended is None or now is None:
            self.recovery_label.setText("")
            self.recovery_label.hide()
            return
        since = clock_text((now - infusion_ended).total_seconds())
        low, high = window_min
        if window_state == "past":
            words, colour = (
                f"⚠ {since} since infusion end: PAST the {low:g}-{high:g} min window",
                p.past_window,
            )
        elif window_state == "within":
            words, colour = f"{since} since infusion end (in the {low:g}-{high:g} min window)", p.text
        else:
            words, colour = f"{since} since infusion end (window {low:g}-{high:g} min)", p.text
        self.recovery_label.setText(words)
        set_style(self.recovery_label, f"color: {colour};")
        self.recovery_label.show()
