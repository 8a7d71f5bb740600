"""The session's routine steps: who is at the bedside, baseline, thresholds, checklist, infusion.

A view: every button calls a ClinicalSession action with the named clinician and shows the
engine's refusal (e.g. "baseline not confirmed") instead of deciding anything itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from PySide6.QtWidgets import (
    QGridLayout,
    QGroupBox,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QWidget,
)

from alarms import AlarmPriority, ChecklistItem, DischargeAttestation, ThresholdSet
from bedside.views.theme import palette
from bedside.views.threshold_dialog import ThresholdDialog
from bedside.views.widgets import WrapButton, label, text_role
from bedside.workflow.clinical import ClinicalSession

log = logging.getLogger(__name__)


class SessionControls(QGroupBox):
    """Clinician name, phase, and the buttons that move the session forward."""

    def __init__(self, clinical: ClinicalSession, parent: QWidget | None = None) -> None:
        super().__init__("Session", parent)
        self.clinical = clinical
        p = palette()
        text_role(self, "body", bold=True)
        self.setStyleSheet(f"QGroupBox {{ color: {p.text}; }}")
        grid = QGridLayout(self)
        self.clinician = QLineEdit()
        text_role(self.clinician, "body")
        self.clinician.setPlaceholderText("your name (recorded with every action)")
        self.phase_label = label("", "body", bold=True)
        self.phase_label.setStyleSheet(f"color: {p.good};")
        self.message = label("", "body")
        self.message.setStyleSheet(f"color: {p.priority_text[AlarmPriority.HIGH]};")
        grid.addWidget(label("Clinician", "body", wrap=False), 0, 0)
        grid.addWidget(self.clinician, 0, 1, 1, 2)
        grid.addWidget(self.phase_label, 1, 0, 1, 3)
        self.buttons: dict[str, QPushButton] = {}
        actions: list[tuple[str, Callable[[str], object]]] = [
            ("Begin baseline", clinical.begin_baseline),
            ("Confirm baseline", clinical.confirm_baseline),
            ("Set thresholds", self._thresholds),
            ("Readiness checklist", self._checklist),
            ("Start infusion", clinical.start_infusion),
            ("End infusion", clinical.end_infusion),
            ("Attest discharge criteria", self._discharge_attest),
            ("Discharge", clinical.discharge_patient),
        ]  # fmt: skip
        for i, (text, action) in enumerate(actions):
            button = WrapButton(text, "body")
            button.set_colours(p.text, p.raised, p.border)
            button.clicked.connect(lambda _=False, a=action, t=text: self._run(t, a))
            self.buttons[text] = button
            grid.addWidget(button, 2 + i // 2, i % 2)
        self.discharge_label = label("", "body")
        self.discharge_label.setStyleSheet(f"color: {p.warning};")
        grid.addWidget(self.discharge_label, 6, 0, 1, 3)
        grid.addWidget(self.message, 7, 0, 1, 3)
        self.refresh()

    def who(self) -> str:
        """The clinician named at the monitor (until sign-in exists)."""
        return self.clinician.text().strip()

    def _run(self, text: str, action: Callable[[str], object]) -> None:
        who = self.who()
        if not who:
            self.message.setText("Enter your name first: every step is recorded with the person who took it.")
            return
        try:
            action(who)
        except Exception as exc:  # the engine's refusal is shown to the clinician, never swallowed
            log.info("%s refused: %s", text, exc)
            self.message.setText(f"{text}: {exc}")
        else:
            self.message.setText("")
        self.refresh()

    def _thresholds(self, who: str) -> None:
        start = ThresholdSet.clinic_default(self.clinical.config)
        if self.clinical.thresholds.has_confirmed_set:
            start = self.clinical.thresholds.current
        dialog = ThresholdDialog(start, self)
        if dialog.exec() == ThresholdDialog.DialogCode.Accepted:
            self.clinical.confirm_thresholds(who, dialog.threshold_set())

    def _discharge_attest(self, who: str) -> None:
        attested = {a.item for a in self.clinical.discharge.attestations}
        missing = [item for item in DischargeAttestation if item not in attested]
        if not missing:
            return
        text = "\n".join(f"• {item.words}" for item in missing)
        answer = QMessageBox.question(self, "Discharge criteria", f"I have checked that:\n{text}")
        if answer == QMessageBox.StandardButton.Yes:
            for item in missing:
                self.clinical.attest(item, who)

    def _checklist(self, who: str) -> None:
        missing = [item for item in ChecklistItem if item in self.clinical.session.checklist_missing()]
        if not missing:
            return
        text = "\n".join(f"• {item.words}" for item in missing)
        answer = QMessageBox.question(self, "Readiness checklist", f"Confirm these are in the room:\n{text}")
        if answer == QMessageBox.StandardButton.Yes:
            for item in missing:
                self.clinical.attest(item, who)

    def refresh(self) -> None:
        """Show the phase, what blocks the infusion, and what blocks discharge."""
        c = self.clinical
        missing = c.session.infusion_missing() if c.phase.value in ("setup", "baseline", "ready") else []
        extra = f" — before infusion: {'; '.join(missing)}" if missing else ""
        self.phase_label.setText(f"Phase: {c.phase.value}{extra}")
        if c.phase.value == "recovery":
            status = c.discharge_status()
            self.discharge_label.setText(
                "Discharge allowed." if status.allowed else "Discharge blocked: " + "; ".join(status.unmet)
            )
        else:
            self.discharge_label.setText("")
