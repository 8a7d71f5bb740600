"""Drill autopilot: plays the clinician's routine steps so a drill or demo reaches the infusion.

Only for simulation (DRL-1): every action is recorded under the name "Drill autopilot", so the
drill log shows plainly that no person confirmed anything.
"""

from __future__ import annotations

import logging

from alarms import BaselineNotReadyError, ChecklistItem, SessionError, SessionPhase, ThresholdSet
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.protocol_desk import ProtocolDesk

log = logging.getLogger(__name__)

AUTOPILOT = "Drill autopilot"


class DrillAutopilot:
    """Moves a simulated session setup -> baseline -> ready -> infusion as soon as the rules allow."""

    def __init__(self, clinical: ClinicalSession, desk: ProtocolDesk | None = None) -> None:
        self.clinical = clinical
        self.desk = desk
        self.done = False
        self._started: set[str] = set()

    def tick(self) -> None:
        self._accept_offers()
        if self.done:
            return
        c = self.clinical
        try:
            if c.phase is SessionPhase.SETUP:
                c.begin_baseline(AUTOPILOT)
            elif c.phase is SessionPhase.BASELINE:
                try:
                    c.confirm_baseline(AUTOPILOT)
                except BaselineNotReadyError:
                    return
            elif c.phase is SessionPhase.READY:
                c.confirm_thresholds(AUTOPILOT, ThresholdSet.clinic_default(c.config))
                for item in ChecklistItem:
                    c.attest(item, AUTOPILOT)
                c.start_infusion(AUTOPILOT)
                self.done = True
        except SessionError as exc:
            log.warning("drill autopilot stopped: %s", exc)
            self.done = True

    def _accept_offers(self) -> None:
        """A drill's autopilot also starts each offered protocol once, so the panel shows it walking."""
        if self.desk is None:
            return
        for offer in self.desk.offers:
            if offer.protocol_id in self._started:
                continue
            self._started.add(offer.protocol_id)
            try:
                self.desk.start(
                    offer.protocol_id, AUTOPILOT, incident_title=offer.reason, acknowledge_flags=True
                )
            except Exception as exc:  # a drill must go on: show why in the log
                log.warning("drill autopilot could not start %s: %s", offer.protocol_id, exc)
