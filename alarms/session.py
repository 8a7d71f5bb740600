"""The infusion session's phases, each transition timed and attributed (THR-1, PRO-7, DOC-1).

setup -> baseline -> ready -> infusion -> recovery -> discharged, or ended early from any phase.
Infusion cannot start until a baseline and a threshold set are confirmed by a named clinician and
every readiness checklist item is attested by a person.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass
from datetime import datetime

from alarms.baseline import Baseline
from alarms.clinician import require_clinician
from alarms.discharge import DischargeStatus
from alarms.thresholds import ThresholdBook
from drivers.clock import Clock

log = logging.getLogger(__name__)


class SessionPhase(enum.StrEnum):
    """Where the session is."""

    SETUP = "setup"
    BASELINE = "baseline"
    READY = "ready"
    INFUSION = "infusion"
    RECOVERY = "recovery"
    DISCHARGED = "discharged"
    ENDED_EARLY = "ended_early"

    @property
    def builds_baseline(self) -> bool:
        """True before the IV starts: NIBP, SpO2 and pulse readings are baseline candidates (THR-2)."""
        return self in (SessionPhase.SETUP, SessionPhase.BASELINE, SessionPhase.READY)

    @property
    def nibp_cycles(self) -> bool:
        """True while the NIBP countdown runs by itself (MON-2): from baseline through recovery."""
        return self in (
            SessionPhase.BASELINE,
            SessionPhase.READY,
            SessionPhase.INFUSION,
            SessionPhase.RECOVERY,
        )

    @property
    def is_final(self) -> bool:
        """True once the session has ended (discharged or ended early)."""
        return self in (SessionPhase.DISCHARGED, SessionPhase.ENDED_EARLY)


_NEXT: dict[SessionPhase, SessionPhase] = {
    SessionPhase.SETUP: SessionPhase.BASELINE,
    SessionPhase.BASELINE: SessionPhase.READY,
    SessionPhase.READY: SessionPhase.INFUSION,
    SessionPhase.INFUSION: SessionPhase.RECOVERY,
    SessionPhase.RECOVERY: SessionPhase.DISCHARGED,
}


class ChecklistItem(enum.StrEnum):
    """The readiness checklist before infusion (PRO-7)."""

    EMERGENCY_MEDICATIONS = "emergency_medications"
    AIRWAY_EQUIPMENT = "airway_equipment"
    MONITOR = "monitor"
    IV = "iv"

    @property
    def words(self) -> str:
        """The item as a clinician reads it."""
        return _ITEM_WORDS[self]


_ITEM_WORDS = {
    ChecklistItem.EMERGENCY_MEDICATIONS: "emergency medications in the room",
    ChecklistItem.AIRWAY_EQUIPMENT: "airway equipment in the room",
    ChecklistItem.MONITOR: "monitor in the room and working",
    ChecklistItem.IV: "IV in place",
}


class SessionError(RuntimeError):
    """A session action that is not allowed now."""


class PhaseOrderError(SessionError):
    """A transition out of order (e.g. recovery before infusion, or anything after discharge)."""


class InfusionNotReadyError(SessionError):
    """Infusion was started before every precondition held; ``missing`` lists them in words."""

    def __init__(self, missing: list[str]) -> None:
        super().__init__("infusion cannot start: " + "; ".join(missing))
        self.missing = tuple(missing)


class DischargeBlockedError(SessionError):
    """Discharge was attempted while a criterion is unmet."""

    def __init__(self, unmet: tuple[str, ...]) -> None:
        super().__init__("discharge is blocked: " + "; ".join(unmet))
        self.unmet = unmet


@dataclass(frozen=True, slots=True)
class PhaseTransition:
    """A phase change: when, by whom, and an optional note (e.g. why it ended early)."""

    from_phase: SessionPhase
    to_phase: SessionPhase
    at: datetime
    by: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class ChecklistAttestation:
    """A readiness item attested by a person."""

    item: ChecklistItem
    by: str
    at: datetime


class InfusionSession:
    """The session state machine. It holds the baseline and uses the ThresholdBook it is given."""

    def __init__(self, clock: Clock, thresholds: ThresholdBook) -> None:
        self._clock = clock
        self.thresholds = thresholds
        self._phase = SessionPhase.SETUP
        self._transitions: list[PhaseTransition] = []
        self._checklist: dict[ChecklistItem, ChecklistAttestation] = {}
        self._baseline: Baseline | None = None

    @property
    def phase(self) -> SessionPhase:
        """The current phase."""
        return self._phase

    @property
    def transitions(self) -> tuple[PhaseTransition, ...]:
        """Every phase change, oldest first."""
        return tuple(self._transitions)

    @property
    def baseline(self) -> Baseline | None:
        """The baseline set for this session (confirmed or not)."""
        return self._baseline

    @property
    def recovery_began(self) -> datetime | None:
        """When the recovery phase began (None before it): discharge judges readings from then (DIS-1)."""
        for transition in reversed(self._transitions):
            if transition.to_phase is SessionPhase.RECOVERY:
                return transition.at
        return None

    @property
    def checklist(self) -> tuple[ChecklistAttestation, ...]:
        """The readiness items attested so far."""
        return tuple(self._checklist.values())

    def checklist_missing(self) -> list[ChecklistItem]:
        """Readiness items not yet attested."""
        return [item for item in ChecklistItem if item not in self._checklist]

    def attest(self, item: ChecklistItem, by: str) -> ChecklistAttestation:
        """A person attests one readiness item (PRO-7)."""
        who = require_clinician(by, f"Attesting '{item.words}'")
        self._not_final()
        record = ChecklistAttestation(item, who, self._clock.now())
        self._checklist[item] = record
        return record

    def set_baseline(self, baseline: Baseline) -> None:
        """Set (or replace) the baseline; allowed before infusion only (later: override with a reason)."""
        if not self._phase.builds_baseline:
            raise PhaseOrderError(f"the baseline cannot be replaced during {self._phase.value}")
        self._baseline = baseline

    def begin_baseline(self, by: str) -> PhaseTransition:
        """Start taking pre-infusion readings."""
        return self._advance(SessionPhase.BASELINE, by)

    def mark_ready(self, by: str) -> PhaseTransition:
        """Baseline readings done; the patient is ready for the IV."""
        return self._advance(SessionPhase.READY, by)

    def infusion_missing(self) -> list[str]:
        """Why infusion cannot start yet, in words (empty when it can)."""
        missing: list[str] = []
        if self._baseline is None or not self._baseline.is_confirmed:
            missing.append("the baseline is not confirmed by a named clinician")
        if not self.thresholds.has_confirmed_set:
            missing.append("the thresholds are not confirmed by a named clinician")
        missing += [f"checklist: {item.words} not attested" for item in self.checklist_missing()]
        return missing

    def start_infusion(self, by: str) -> PhaseTransition:
        """Start the infusion (THR-1); locks the thresholds (THR-5)."""
        require_clinician(by, "Starting the infusion")
        if self._phase is not SessionPhase.READY:
            raise PhaseOrderError(f"infusion starts from the ready phase, not {self._phase.value}")
        missing = self.infusion_missing()
        if missing:
            raise InfusionNotReadyError(missing)
        self.thresholds.lock()
        return self._advance(SessionPhase.INFUSION, by)

    def end_infusion(self, by: str) -> PhaseTransition:
        """The infusion is over; recovery begins."""
        return self._advance(SessionPhase.RECOVERY, by)

    def discharge(self, by: str, status: DischargeStatus) -> PhaseTransition:
        """Discharge the patient; refused while any DIS-1 criterion is unmet."""
        require_clinician(by, "Discharging the patient")
        if self._phase is not SessionPhase.RECOVERY:
            raise PhaseOrderError(f"discharge follows recovery, not {self._phase.value}")
        if not status.allowed:
            raise DischargeBlockedError(status.unmet)
        return self._advance(SessionPhase.DISCHARGED, by)

    def end_early(self, by: str, reason: str) -> PhaseTransition:
        """End the session from any phase, with a reason."""
        who = require_clinician(by, "Ending the session early")
        if not reason.strip():
            raise SessionError("ending the session early needs a reason")
        self._not_final()
        return self._move(SessionPhase.ENDED_EARLY, who, reason.strip())

    def _advance(self, to: SessionPhase, by: str) -> PhaseTransition:
        who = require_clinician(by, f"Moving the session to {to.value}")
        self._not_final()
        if _NEXT.get(self._phase) is not to:
            raise PhaseOrderError(f"the session cannot go from {self._phase.value} to {to.value}")
        return self._move(to, who, "")

    def _move(self, to: SessionPhase, who: str, note: str) -> PhaseTransition:
        record = PhaseTransition(self._phase, to, self._clock.now(), who, note)
        self._transitions.append(record)
        self._phase = to
        log.info("session %s -> %s by %s", record.from_phase.value, to.value, who)
        return record

    def _not_final(self) -> None:
        if self._phase.is_final:
            raise PhaseOrderError(f"the session has ended ({self._phase.value})")
