"""Follow-ups (DOC-7): every open one with its state (overdue first, then due, then upcoming),
closed with an outcome: adjust (what changes next time), pause (for which workup) or stop."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from bedside.views.combo import WrapComboBox
from bedside.views.session.context import Screen, SessionServices, button, fit_columns, wrapped
from bedside.workflow.followup import (
    Adjustment,
    FollowUpContact,
    FollowUpOutcome,
    FollowUpState,
    Workup,
    follow_up_state,
)

log = logging.getLogger(__name__)

_ORDER = {FollowUpState.OVERDUE: 0, FollowUpState.DUE: 1, FollowUpState.UPCOMING: 2, FollowUpState.CLOSED: 3}


def _contact(value: str) -> str:
    try:
        return FollowUpContact(value).words
    except ValueError:
        return value


class FollowUpScreen(Screen):
    """The clinic's open follow-ups and their closing."""

    title = "Follow-up"
    audience = "the CRNA and the medical director (the day after, by phone)"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.counts = wrapped(name="followUpCounts")
        self.counts.setStyleSheet("font-weight: bold;")
        self.body.addWidget(self.counts)
        self.table = QTableWidget(0, 5)
        self.table.setObjectName("followUps")
        self.table.setHorizontalHeaderLabels(["state", "contact", "due by", "event", "patient"])
        fit_columns(self.table)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setMinimumHeight(180)
        self.body.addWidget(self.table)
        close = QGroupBox("Close the chosen follow-up with its outcome")
        row = QHBoxLayout(close)
        self.outcome = WrapComboBox()
        self.outcome.setObjectName("followUpOutcome")
        for o in FollowUpOutcome:
            self.outcome.addItem(o.value, o.value)
        row.addWidget(self.outcome)
        self.adjustments: dict[Adjustment, QCheckBox] = {}
        for a in Adjustment:
            box = QCheckBox(a.value.replace("_", " "))
            box.setObjectName(f"adjust:{a.value}")
            self.adjustments[a] = box
            row.addWidget(box)
        self.workup = WrapComboBox()
        self.workup.setObjectName("workup")
        self.workup.addItem("(no workup)", "")
        for w in Workup:
            self.workup.addItem(w.value, w.value)
        row.addWidget(self.workup)
        self.body.addWidget(close)
        last = QHBoxLayout()
        self.note = QLineEdit()
        self.note.setObjectName("followUpNote")
        self.note.setPlaceholderText("what the patient said")
        last.addWidget(self.note, 1)
        last.addWidget(button("Close follow-up", self._close, name="closeFollowUp"))
        self.body.addLayout(last)
        self.ids: list[str] = []

    def _close(self) -> None:
        row = self.table.currentRow()
        if row < 0 or row >= len(self.ids):
            self.say("choose the follow-up in the list first", problem=True)
            return
        chosen = self.ids[row]
        adjustments = [a for a, box in self.adjustments.items() if box.isChecked()]
        workup = str(self.workup.currentData() or "") or None
        self.act(
            "Close follow-up",
            lambda by: self.services.followups.close(
                by,
                chosen,
                str(self.outcome.currentData()),
                adjustments=adjustments,
                workup=workup,
                note=self.note.text(),
            ),
        )

    def _patient(self, patient_ref: str) -> str:
        """The patient's name and clinic id (the reference when it is not one of this clinic's ids)."""
        if not patient_ref:
            return "—"
        try:
            d = self.services.patients.patient(patient_ref).details
        except Exception:  # a reference from elsewhere (e.g. a drill's): show it as it is
            return patient_ref
        return " ".join(p for p in (d.name, f"({d.clinic_id})" if d.clinic_id else "") if p)

    def refresh(self) -> None:
        """Every open follow-up, overdue first."""
        now = self.services.clock.now()
        try:
            records = self.services.followups.open_follow_ups()
        except Exception as exc:  # the database is unreachable: say so
            self.counts.setText(f"The follow-ups cannot be read: {exc}")
            return
        ranked = sorted(records, key=lambda r: (_ORDER[follow_up_state(r, now)], r.item.due_by))
        states = [follow_up_state(r, now) for r in ranked]
        self.counts.setText(
            f"{states.count(FollowUpState.OVERDUE)} overdue, {states.count(FollowUpState.DUE)} due, "
            f"{states.count(FollowUpState.UPCOMING)} upcoming"
        )
        self.ids = [r.follow_up_id for r in ranked]
        self.table.setRowCount(len(ranked))
        for i, (r, state) in enumerate(zip(ranked, states, strict=True)):
            cells = (
                state.value.upper() if state is FollowUpState.OVERDUE else state.value,
                _contact(r.item.contact),
                f"{r.item.due_by.astimezone():%Y-%m-%d %H:%M}",
                r.item.event_type,
                self._patient(r.item.patient_ref),
            )
            for j, text in enumerate(cells):
                self.table.setItem(i, j, QTableWidgetItem(text))
        if ranked and self.table.currentRow() < 0:
            self.table.selectRow(0)
