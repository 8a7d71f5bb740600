"""Readiness checklist item by item (PRO-7): each item attested by the signed-in clinician."""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from alarms import ChecklistItem
from bedside.views.session._clinical import NO_SESSION, need
from bedside.views.session.context import Screen, SessionServices, button, wrapped

log = logging.getLogger(__name__)


class ChecklistScreen(Screen):
    """Each readiness item with who attested it and when, or an "Attest" button."""

    title = "Checklist"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        grid = QGridLayout()
        self.states: dict[ChecklistItem, QLabel] = {}
        for i, item in enumerate(ChecklistItem):
            grid.addWidget(wrapped(item.words), i, 0)
            state = wrapped(name=f"checklist:{item.value}")
            self.states[item] = state
            grid.addWidget(state, i, 1)
            grid.addWidget(button("Attest", partial(self._attest, item), name=f"attest:{item.value}"), i, 2)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 2)
        self.body.addLayout(grid)
        self.before = wrapped(name="beforeInfusion")
        self.before.setStyleSheet("color: #ffd400;")
        self.body.addWidget(self.before)
        self.body.addWidget(button("Start infusion", self._start, name="startInfusion"))

    def _attest(self, item: ChecklistItem) -> None:
        self.act(f"Attest {item.words}", lambda by: need(self.services.clinical).attest(item, by.who))

    def _start(self) -> None:
        self.act("Start infusion", lambda by: need(self.services.clinical).start_infusion(by.who))

    def refresh(self) -> None:
        """Who attested each item, and what still stands before the infusion."""
        clinical = self.services.clinical
        if clinical is None:
            self.before.setText(NO_SESSION)
            return
        done = {a.item: a for a in clinical.session.checklist}
        for item, label in self.states.items():
            a = done.get(item)
            label.setText(f"✔ {a.by} at {a.at.astimezone():%H:%M}" if a else "not attested")
        missing = (
            clinical.session.infusion_missing()
            if clinical.phase.value in ("setup", "baseline", "ready")
            else []
        )
        self.before.setText(
            "Before the infusion: " + "; ".join(missing) if missing else f"Phase: {clinical.phase.value}"
        )
