"""Documentation from the monitor screen in one or two taps (DOC-1, PRO-6): a note, a medication given
(drug, dose, route, time), a threshold change with its reason, an event marker.

Forms only: they collect what the clinician writes and hand it back; the clinical session or the
protocol run records it with the clinician's name. The dose is free text exactly as the clinician
writes it: Bedside never computes a dose.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import QDateTime
from PySide6.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QLineEdit,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from alarms import ThresholdField, ThresholdSet
from bedside.views.widgets import label, text_role

log = logging.getLogger(__name__)

#: Routes offered first; any other route can be typed.
ROUTES = ("IV", "IM", "PO", "SL", "IN (intranasal)", "SC")


@dataclass(frozen=True, slots=True)
class MedicationEntry:
    """A medication as the clinician recorded it: drug, dose (free text), route, when, and a note."""

    drug: str
    dose: str
    route: str
    given_at: datetime
    note: str = ""

    @property
    def text(self) -> str:
        """``drug | dose | route`` as the protocol engine writes a medication."""
        return f"{self.drug} | {self.dose} | {self.route}"


@dataclass(frozen=True, slots=True)
class ThresholdEntry:
    """One threshold changed during the infusion, with the reason (THR-5)."""

    field: ThresholdField
    new: float
    reason: str


class _Form(QDialog):
    """A dialog with a form, OK/Cancel, and a line for what is still missing."""

    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        text_role(self, "body")
        outer = QVBoxLayout(self)
        self.form = QFormLayout()
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        outer.addLayout(self.form)
        self.problem = label("", "body", bold=True)
        outer.addWidget(self.problem)
        self.buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
        )
        self.buttons.accepted.connect(self._save)
        self.buttons.rejected.connect(self.reject)
        outer.addWidget(self.buttons)

    def _row(self, words: str, field: QWidget) -> None:
        self.form.addRow(label(words, "body"), field)

    def missing(self) -> str:
        """What must still be filled in, in words ("" when the form can be saved)."""
        return ""

    def _save(self) -> None:
        why = self.missing()
        self.problem.setText(why)
        if not why:
            self.accept()


class NoteDialog(_Form):
    """A free-text note for the session or the incident record."""

    def __init__(self, title: str = "Add a note", prompt: str = "", parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        if prompt:
            self.form.addRow(label(prompt, "body"))
        self.text_edit = QPlainTextEdit()
        self.text_edit.setPlaceholderText("what was seen, what was done, what the patient was told")
        self.form.addRow(self.text_edit)

    def missing(self) -> str:
        """A note must say something."""
        return "" if self.note() else "Write the note first (or Cancel)."

    def note(self) -> str:
        """The note as written (spaces at the ends removed)."""
        return self.text_edit.toPlainText().strip()


class MedicationDialog(_Form):
    """Medication given: drug, dose (free text), route and time, filled from a protocol's written
    medication when there is one."""

    def __init__(
        self,
        now: datetime,
        *,
        drug: str = "",
        dose: str = "",
        route: str = "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__("Medication given", parent)
        self.drug = QLineEdit(drug)
        self.dose = QLineEdit(dose)
        self.dose.setPlaceholderText("as given, e.g. 10 mg (Bedside never computes a dose)")
        self.route = QComboBox()
        self.route.setEditable(True)
        self.route.addItems([route, *[r for r in ROUTES if r != route]] if route else list(ROUTES))
        self.given_at = QDateTimeEdit(QDateTime.fromSecsSinceEpoch(int(now.timestamp())))
        self.given_at.setDisplayFormat("HH:mm  dd MMM yyyy")
        self.note_edit = QLineEdit()
        self._now = now
        self._row("Drug", self.drug)
        self._row("Dose", self.dose)
        self._row("Route", self.route)
        self._row("Given at", self.given_at)
        self._row("Note", self.note_edit)

    def missing(self) -> str:
        """Drug, dose and route are needed; a time in the future is refused."""
        gaps = [n for n, w in (("drug", self.drug), ("dose", self.dose)) if not w.text().strip()]
        if not self.route.currentText().strip():
            gaps.append("route")
        if gaps:
            return "Fill in: " + ", ".join(gaps) + "."
        if self.entry().given_at > self._now.astimezone():
            return "The time given is in the future."
        return ""

    def entry(self) -> MedicationEntry:
        """What was entered."""
        given = self.given_at.dateTime().toPython()
        assert isinstance(given, datetime)
        return MedicationEntry(
            self.drug.text().strip(),
            self.dose.text().strip(),
            self.route.currentText().strip(),
            given.astimezone(),
            self.note_edit.text().strip(),
        )


class ThresholdChangeDialog(_Form):
    """Change one threshold during the infusion, with the reason the record keeps (THR-5)."""

    def __init__(self, current: ThresholdSet, parent: QWidget | None = None) -> None:
        super().__init__("Change a threshold (recorded with your reason)", parent)
        self._current = current
        self.field = QComboBox()
        for f in ThresholdField:
            self.field.addItem(f.words, f.value)
        self.value = QDoubleSpinBox()
        self.value.setDecimals(0)
        self.value.setRange(0, 300)
        self.now_label = label("", "body")
        self.reason = QLineEdit()
        self.reason.setPlaceholderText("why the patient's threshold changes")
        self._row("Threshold", self.field)
        self._row("Now", self.now_label)
        self._row("New value", self.value)
        self._row("Reason", self.reason)
        self.field.currentIndexChanged.connect(lambda _i: self._show_current())
        self._show_current()

    def _show_current(self) -> None:
        field = ThresholdField(self.field.currentData())
        old = self._current.value(field)
        self.now_label.setText("not set" if old is None else f"{old:g}")
        if old is not None:
            self.value.setValue(float(old))

    def missing(self) -> str:
        """A change during the infusion needs a reason."""
        return "" if self.reason.text().strip() else "Give the reason for the change."

    def entry(self) -> ThresholdEntry:
        """What was entered."""
        return ThresholdEntry(
            ThresholdField(self.field.currentData()), self.value.value(), self.reason.text().strip()
        )
