"""Follow-up after an event (DOC-7): scheduled by the event's type, listed as due and overdue, closed
with an outcome.

The schedule per event type lives in ``alarms/defaults.yaml`` (``follow_up``). A follow-up opens
``opens_after_h`` after the event and is due by ``due_within_h``: before it opens it is upcoming,
from its opening up to and including its due time it is due, after that overdue, until a clinician
closes it with an outcome: adjust (premedication, slower rate, lower starting dose, earlier BP
threshold next time), pause (pending a cardiology, psychiatry or urology workup) or stop.

An "adjust" with an earlier BP threshold yields a *suggested* threshold set for the patient's next
session (``suggest_next_thresholds``): unconfirmed, for the clinician to confirm or change (THR-1).
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from alarms import ClinicalConfig, ThresholdError, ThresholdSet
from alarms.config import FollowUpConfig
from alarms.thresholds import ThresholdField
from bedside.workflow.audit import Actor, AuditTrail
from drivers.clock import Clock
from storage import Database, IdentityRepository, SessionRepository
from storage.followup import FollowUpItem, FollowUpRecord, FollowUpRepository

log = logging.getLogger(__name__)


class FollowUpContact(enum.StrEnum):
    """How the clinic reaches the patient after an event."""

    PHONE_CALL = "phone_call"
    EXTRA_VISIT = "extra_visit"
    SYMPTOM_CHECK_IN = "symptom_check_in"

    @property
    def words(self) -> str:
        """As the clinic says it."""
        return {
            FollowUpContact.PHONE_CALL: "phone call",
            FollowUpContact.EXTRA_VISIT: "extra visit",
            FollowUpContact.SYMPTOM_CHECK_IN: "written symptom check-in",
        }[self]


class FollowUpOutcome(enum.StrEnum):
    """How a follow-up ends: the treatment is adjusted, paused pending a workup, or stopped."""

    ADJUST = "adjust"
    PAUSE = "pause"
    STOP = "stop"


class Adjustment(enum.StrEnum):
    """What changes at the next session after an "adjust" outcome."""

    PREMEDICATION = "premedication"
    SLOWER_RATE = "slower_rate"
    LOWER_STARTING_DOSE = "lower_starting_dose"
    EARLIER_BP_THRESHOLD = "earlier_bp_threshold"


class Workup(enum.StrEnum):
    """The workup a "pause" outcome waits for."""

    CARDIOLOGY = "cardiology"
    PSYCHIATRY = "psychiatry"
    UROLOGY = "urology"


class FollowUpState(enum.StrEnum):
    """Where a follow-up stands at a moment."""

    UPCOMING = "upcoming"
    DUE = "due"
    OVERDUE = "overdue"
    CLOSED = "closed"


class FollowUpError(ValueError):
    """A follow-up cannot be scheduled or closed as asked; the message says what to give instead."""


def plan_follow_up(
    config: FollowUpConfig,
    *,
    event_type: str,
    event_at: datetime,
    session_id: str,
    incident_id: str = "",
    patient_ref: str = "",
) -> list[FollowUpItem]:
    """The contacts owed after an event of ``event_type`` at ``event_at`` (pure: nothing stored)."""
    if event_at.tzinfo is None:
        raise FollowUpError("the event time needs a time zone (UTC): a naive time is ambiguous")
    items: list[FollowUpItem] = []
    numbers: dict[str, int] = {}
    for entry in config.schedule_for(event_type):
        for k in range(entry.repeat):
            shift = timedelta(hours=entry.every_h * k)
            numbers[entry.contact] = numbers.get(entry.contact, 0) + 1
            items.append(
                FollowUpItem(
                    session_id=session_id,
                    incident_id=incident_id,
                    patient_ref=patient_ref,
                    event_type=event_type,
                    contact=entry.contact,
                    number=numbers[entry.contact],
                    event_at=event_at,
                    opens_at=event_at + timedelta(hours=entry.opens_after_h) + shift,
                    due_by=event_at + timedelta(hours=entry.due_within_h) + shift,
                )
            )
    items.sort(key=lambda i: (i.due_by, i.opens_at, i.contact, i.number))
    return items


def follow_up_state(record: FollowUpRecord, now: datetime) -> FollowUpState:
    """Upcoming before it opens, due from its opening to its due time (inclusive), overdue after."""
    if not record.is_open:
        return FollowUpState.CLOSED
    if now < record.item.opens_at:
        return FollowUpState.UPCOMING
    if now <= record.item.due_by:
        return FollowUpState.DUE
    return FollowUpState.OVERDUE


def outcome_details(
    outcome: FollowUpOutcome | str,
    *,
    adjustments: Iterable[Adjustment | str] = (),
    workup: Workup | str | None = None,
) -> dict[str, Any]:
    """The checked details of an outcome; FollowUpError when they do not fit it."""
    try:
        chosen = FollowUpOutcome(outcome)
        changes = sorted({Adjustment(a).value for a in adjustments})
        waiting = None if workup is None else Workup(workup)
    except ValueError as exc:
        raise FollowUpError(
            f"{exc}: outcomes are adjust|pause|stop, adjustments "
            f"{'|'.join(a.value for a in Adjustment)}, workups {'|'.join(w.value for w in Workup)}"
        ) from None
    if chosen is FollowUpOutcome.ADJUST:
        if not changes:
            raise FollowUpError(
                "an 'adjust' outcome names what changes next time: premedication, slower_rate, "
                "lower_starting_dose or earlier_bp_threshold"
            )
        if waiting is not None:
            raise FollowUpError("a workup goes with a 'pause' outcome, not with 'adjust'")
        return {"adjustments": changes}
    if changes:
        raise FollowUpError(f"adjustments go with an 'adjust' outcome, not with {chosen.value!r}")
    if chosen is FollowUpOutcome.PAUSE:
        if waiting is None:
            raise FollowUpError(
                "a 'pause' outcome names the workup it waits for: cardiology, psychiatry or urology"
            )
        return {"workup": waiting.value}
    if waiting is not None:
        raise FollowUpError("a workup goes with a 'pause' outcome, not with 'stop'")
    return {}


@dataclass(frozen=True, slots=True)
class ThresholdSuggestion:
    """A threshold set suggested for the patient's next session; a clinician must confirm it."""

    current: ThresholdSet
    suggested: ThresholdSet
    reason: str


def suggest_next_thresholds(
    current: ThresholdSet, closed: FollowUpRecord, config: FollowUpConfig
) -> ThresholdSuggestion | None:
    """The next session's thresholds after an "adjust: earlier BP threshold" outcome, else None.

    The systolic and diastolic ceilings are lowered by ``earlier_bp_threshold_mmhg``; the result is
    never confirmed (confirmed_by None) so the clinician confirms it at the next session (THR-1).
    FollowUpError when the lower ceilings would meet the floors.
    """
    if closed.outcome != FollowUpOutcome.ADJUST:
        return None
    if Adjustment.EARLIER_BP_THRESHOLD.value not in closed.outcome_details.get("adjustments", ()):
        return None
    step = config.earlier_bp_threshold_mmhg
    try:
        suggested = replace(
            current,
            systolic_ceiling=current.systolic_ceiling - step,
            diastolic_ceiling=current.diastolic_ceiling - step,
            confirmed_by=None,
            confirmed_at=None,
        )
    except ThresholdError as exc:
        raise FollowUpError(
            f"the ceilings cannot be lowered by {step:g} mmHg ({exc}): set the next thresholds by hand"
        ) from None
    reason = (
        f"follow-up {closed.follow_up_id} closed {closed.closed_at:%Y-%m-%d} by {closed.closed_by}: "
        "adjust, earlier BP threshold "
        f"(systolic {current.systolic_ceiling:g} -> {suggested.systolic_ceiling:g}, "
        f"diastolic {current.diastolic_ceiling:g} -> {suggested.diastolic_ceiling:g} mmHg)"
    )
    return ThresholdSuggestion(current=current, suggested=suggested, reason=reason)


def session_thresholds(db: Database, session_id: str, config: ClinicalConfig) -> ThresholdSet:
    """The thresholds in force at the end of a session: its last confirmed set with every later
    change (THR-5) applied; a value the set did not hold (an older row) is the clinic default."""
    repo = SessionRepository(db)
    sets = repo.threshold_sets(session_id)
    base = ThresholdSet.clinic_default(config)
    if not sets:
        return base
    last = sets[-1]
    values: dict[str, Any] = {}
    for f in ThresholdField:
        stored = getattr(last, f.value, None)
        values[f.value] = base.value(f) if stored is None else stored
    for change in repo.threshold_changes(session_id):
        if change.threshold_set_id == last.threshold_set_id and change.new is not None:
            values[change.field] = change.new
    return replace(base, **values)


def suggested_thresholds(db: Database, patient_id: str, config: ClinicalConfig) -> ThresholdSuggestion | None:
    """The threshold change suggested for the patient's next session (DOC-7), or None.

    Taken from the patient's most recently closed follow-up with "adjust: earlier BP threshold",
    applied to the thresholds in force at the end of that follow-up's session. Nothing is applied
    here: ``ClinicalSession.accept_suggested_thresholds`` does it when a clinician confirms it.
    """
    patient = IdentityRepository(db).patient(patient_id)
    refs = {patient.patient_id, patient.details.clinic_id} - {""}
    adjusted = [
        r
        for r in FollowUpRepository(db).follow_ups()
        if r.item.patient_ref in refs
        and r.outcome == FollowUpOutcome.ADJUST
        and Adjustment.EARLIER_BP_THRESHOLD.value in r.outcome_details.get("adjustments", ())
        and r.closed_at is not None
    ]
    if not adjusted:
        return None
    latest = max(adjusted, key=lambda r: r.closed_at or r.item.due_by)
    current = session_thresholds(db, latest.item.session_id, config)
    return suggest_next_thresholds(current, latest, config.follow_up)


class FollowUpService:
    """Schedules, lists and closes follow-ups; every change goes to the audit trail."""

    def __init__(self, db: Database, clock: Clock, audit: AuditTrail, config: FollowUpConfig) -> None:
        self._repository = FollowUpRepository(db)
        self._clock = clock
        self._audit = audit
        self._config = config

    def schedule(
        self,
        by: Actor | str,
        *,
        event_type: str,
        event_at: datetime,
        session_id: str,
        incident_id: str = "",
        patient_ref: str = "",
    ) -> list[FollowUpRecord]:
        """Store the contacts owed after an event (by its type's schedule) and audit it."""
        who = by if isinstance(by, str) else by.who
        items = plan_follow_up(
            self._config,
            event_type=event_type,
            event_at=event_at,
            session_id=session_id,
            incident_id=incident_id,
            patient_ref=patient_ref,
        )
        records = self._repository.add_follow_ups(items, at=self._clock.now(), by=who)
        self._audit.append(
            by,
            "follow_up_scheduled",
            incident_id or session_id,
            {
                "event_type": event_type,
                "follow_ups": [
                    {"id": r.follow_up_id, "contact": r.item.contact, "due_by": r.item.due_by.isoformat()}
                    for r in records
                ],
            },
        )
        log.info("%d follow-ups scheduled after %s (%s)", len(records), incident_id or session_id, event_type)
        return records

    def open_follow_ups(self) -> list[FollowUpRecord]:
        """Every open follow-up, soonest due first."""
        return self._repository.follow_ups(open_only=True)

    def listed(self, state: FollowUpState | None = None, now: datetime | None = None) -> list[FollowUpRecord]:
        """Open follow-ups in ``state`` at ``now`` (the clock's time by default); all open ones if None."""
        at = self._clock.now() if now is None else now
        records = self.open_follow_ups()
        return records if state is None else [r for r in records if follow_up_state(r, at) is state]

    def due(self, now: datetime | None = None) -> list[FollowUpRecord]:
        """Open follow-ups due now (opened, not past their due time)."""
        return self.listed(FollowUpState.DUE, now)

    def overdue(self, now: datetime | None = None) -> list[FollowUpRecord]:
        """Open follow-ups past their due time."""
        return self.listed(FollowUpState.OVERDUE, now)

    def last_closed_for_patient(self, patient_ref: str) -> FollowUpRecord | None:
        """The patient's most recently closed follow-up (what the next session's screen shows), or None."""
        closed = [
            r
            for r in self._repository.follow_ups()
            if r.item.patient_ref == patient_ref and r.closed_at is not None and patient_ref
        ]
        return max(closed, key=lambda r: r.closed_at or r.scheduled_at) if closed else None

    def follow_up(self, follow_up_id: str) -> FollowUpRecord:
        """One follow-up by id."""
        return self._repository.follow_up(follow_up_id)

    def close(
        self,
        by: Actor | str,
        follow_up_id: str,
        outcome: FollowUpOutcome | str,
        *,
        adjustments: Sequence[Adjustment | str] = (),
        workup: Workup | str | None = None,
        note: str = "",
    ) -> FollowUpRecord:
        """Close a follow-up with its outcome and audit it; FollowUpError when the details do not fit."""
        who = by if isinstance(by, str) else by.who
        details = outcome_details(outcome, adjustments=adjustments, workup=workup)
        record = self._repository.close_follow_up(
            follow_up_id,
            at=self._clock.now(),
            by=who,
            outcome=FollowUpOutcome(outcome).value,
            details=details,
            note=note.strip(),
        )
        self._audit.append(
            by,
            "follow_up_closed",
            follow_up_id,
            {"outcome": record.outcome, **details, "note": record.note},
        )
        return record

    def move(self, by: Actor | str, follow_up_id: str, *, due_by: datetime, reason: str) -> FollowUpRecord:
        """Move an open follow-up's due time (e.g. the visit the patient could not make); audited with
        the old and new times and the reason. It opens no later than it is due."""
        if due_by.tzinfo is None:
            raise FollowUpError("the new due time needs a time zone (UTC): a naive time is ambiguous")
        if not reason.strip():
            raise FollowUpError("say why the follow-up moves (the audit trail keeps the reason)")
        before = self._repository.follow_up(follow_up_id)
        opens_at = min(before.item.opens_at, due_by)
        moved = self._repository.move_follow_up(follow_up_id, opens_at=opens_at, due_by=due_by)
        self._audit.append(
            by,
            "follow_up_moved",
            follow_up_id,
            {
                "due_by_before": before.item.due_by.isoformat(),
                "due_by": due_by.isoformat(),
                "reason": reason.strip(),
            },
        )
        return moved
