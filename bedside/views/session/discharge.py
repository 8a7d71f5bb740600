"""Discharge: each criterion and what blocks it (DIS-1), the bedside attestations, end of infusion,
and the discharge itself (refused by the engine while a criterion is unmet)."""

from __future__ import annotations

import logging
from functools import partial

from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QWidget

from alarms import DischargeAttestation
from bedside.views.session._clinical import NO_SESSION, need
from bedside.views.session.context import Screen, SessionServices, button, wrapped

log = logging.getLogger(__name__)


class DischargeScreen(Screen):
    """What blocks discharge now, the attestations by person, and the discharge."""

    title = "Discharge"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.phase = wrapped(name="dischargePhase")
        self.phase.setStyleSheet("font-weight: bold;")
        self.body.addWidget(self.phase)
        self.blocking = wrapped(name="dischargeBlocking")
        self.body.addWidget(self.blocking)
        grid = QGridLayout()
        self.attested: dict[DischargeAttestation, QLabel] = {}
        for i, item in enumerate(DischargeAttestation):
            grid.addWidget(wrapped(item.words), i, 0)
            state = wrapped(name=f"discharge:{item.value}")
            self.attested[item] = state
            grid.addWidget(state, i, 1)
            grid.addWidget(button("Attest", partial(self._attest, item), name=f"attest:{item.value}"), i, 2)
        grid.setColumnStretch(0, 2)
        grid.setColumnStretch(1, 2)
        self.body.addLayout(grid)
        row = QHBoxLayout()
        row.addWidget(button("End infusion (recovery begins)", self._end_infusion, name="endInfusion"))
        row.addWidget(button("Discharge", self._discharge, name="discharge"))
        self.body.addLayout(row)
        if services.clinical is not None:
            services.clinical.add_listener(self._changed)

    def _changed(self) -> None:
        if self.isVisible():
            self.refresh()

    def _attest(self, item: DischargeAttestation) -> None:
        self.act(f"Attest {item.words}", lambda by: need(self.services.clinical).attest(item, by.who))

    def _end_infusion(self) -> None:
        self.act("End infusion", lambda by: need(self.services.clinical).end_infusion(by.who))

    def _discharge(self) -> None:
        self.act("Discharge", lambda by: need(self.services.clinical).discharge_patient(by.who))

    def refresh(self) -> None:
        """Each unmet criterion in the engine's words; who attested what."""
        clinical = self.services.clinical
        if clinical is None:
            self.phase.setText(NO_SESSION)
            return
        self.phase.setText(f"Phase: {clinical.phase.value}")
        status = clinical.discharge_status()
        self.blocking.setText(
            "All discharge criteria are met."
            if status.allowed
            else "Blocking discharge:\n" + "\n".join(f"✘ {u}" for u in status.unmet)
        )
        done = {a.item: a for a in clinical.discharge.attestations}
        for item, label in self.attested.items():
            a = done.get(item)
            label.setText(f"✔ {a.by} at {a.at.astimezone():%H:%M}" if a else "not attested")
