"""Walk a written protocol step by step, recording everything (PRO-6).

A ``ProtocolRun`` is pure: it reads time from the injected Clock, live values through the small
``LiveVitals`` protocol, and hands every ``StepRecord`` to the ``record`` callback as it happens
(the app stores them, so a restart loses none). Nothing is ever edited: a correction is a new
record pointing at the one it corrects. Not thread-safe: drive it from one thread (the GUI's).
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from drivers.clock import Clock
from drivers.types import Observation, VitalKind
from protocols.approval import ProtocolFlag
from protocols.errors import StepNotAllowed, UnapprovedProtocolError
from protocols.loader import LoadedProtocol
from protocols.model import (
    Call911Node,
    CheckedVital,
    DecisionNode,
    InstructionNode,
    MedicationNode,
    Node,
    NodeType,
    QuestionNode,
    SessionDecision,
    TimerNode,
    VitalCheckNode,
)

log = logging.getLogger(__name__)

#: Who the engine names on records nobody's hand caused (a timer falling due).
SYSTEM_PERSON = "bedside"
#: Text of the call-911 end used when a protocol has none of its own (call 911 is always reachable).
BUILT_IN_CALL_911_TEXT = (
    "Call 911: stop managing in clinic. Stay with the patient, keep monitoring, and hand over to "
    "EMS with the hand-off sheet."
)


class StepKind(enum.StrEnum):
    """What a record says happened."""

    RUN_STARTED = "run_started"
    FLAGS_ACKNOWLEDGED = "flags_acknowledged"
    SHOWN = "shown"
    DONE = "done"
    SKIPPED = "skipped"
    ANSWERED = "answered"
    NIBP_REQUESTED = "nibp_requested"
    VITALS_RECORDED = "vitals_recorded"
    MEDICATION_GIVEN = "medication_given"
    MEDICATION_NOT_GIVEN = "medication_not_given"
    TIMER_STARTED = "timer_started"
    TIMER_DUE = "timer_due"
    DECIDED = "decided"
    CALL_911 = "call_911"
    CORRECTION = "correction"
    ENDED = "ended"
    ABANDONED = "abandoned"


@dataclass(frozen=True, slots=True)
class StepRecord:
    """One immutable entry in the incident record: who, when, at which step, what.

    ``corrects`` is the seq a CORRECTION refers to; ``occurred_at`` is when something happened if
    that differs from when it was recorded (the time a medication was given).
    """

    run_id: str
    seq: int
    at: datetime
    person: str
    node_id: str
    kind: StepKind
    value: str = ""
    note: str = ""
    corrects: int | None = None
    occurred_at: datetime | None = None


class LiveVitals(Protocol):
    """What a run needs from the monitor: the latest value of a kind, and "start NIBP now"."""

    def latest(self, kind: VitalKind) -> Observation | None:
        """The most recent observation of ``kind`` (any quality), or None."""
        ...

    def request_nibp(self) -> bool:
        """Start an NIBP cycle; True if the device was told to, False if the clinician must start it."""
        ...


@dataclass(frozen=True, slots=True)
class ShownVital:
    """A live value shown on a vital-check step (None when the monitor has none)."""

    kind: VitalKind
    observation: Observation | None

    @property
    def text(self) -> str:
        """The value as the panel shows it, e.g. ``nibp_systolic 182 mm[Hg]``."""
        obs = self.observation
        if obs is None:
            return f"{self.kind} no value"
        if not obs.is_valid:
            return f"{self.kind} --- ({obs.quality})"
        return f"{self.kind} {obs.value:g} {obs.unit}"


@dataclass(frozen=True, slots=True)
class MedicationText:
    """Drug, dose and route exactly as the clinic wrote them."""

    drug: str
    dose: str
    route: str

    @property
    def text(self) -> str:
        """One line: drug | dose | route."""
        return f"{self.drug} | {self.dose} | {self.route}"


@dataclass(frozen=True, slots=True)
class TimerState:
    """A running timer: its length, when it falls due and how long is left."""

    seconds: int
    due_at: datetime
    remaining: float
    due: bool


@dataclass(frozen=True, slots=True)
class TimerPrompt:
    """A timer that has just fallen due: the panel prompts the team."""

    run_id: str
    protocol_id: str
    node_id: str
    text: str
    due_at: datetime


@dataclass(frozen=True, slots=True)
class NodeView:
    """Everything the panel shows for the current step and the actions it may offer."""

    run_id: str
    protocol_id: str
    node_id: str
    type: NodeType
    text: str
    detail: str | None
    #: Answer labels (question) or decisions (decision), in the clinic's order.
    options: tuple[str, ...]
    vitals: tuple[ShownVital, ...]
    medication: MedicationText | None
    timer: TimerState | None
    waiting_for_nibp: bool
    is_terminal: bool
    flags: frozenset[ProtocolFlag]


@dataclass(frozen=True, slots=True)
class _Timer:
    started_mono: float
    due_mono: float
    due_at: datetime
    announced: bool = False


class ProtocolRun:
    """One walk through one protocol for one incident. Call ``start()`` once, then the actions."""

    def __init__(  # noqa: PLR0917 - the positional order is the agreed API
        self,
        protocol: LoadedProtocol,
        clock: Clock,
        person: str,
        incident_id: str,
        vitals: LiveVitals,
        record: Callable[[StepRecord], None],
        *,
        run_id: str | None = None,
        acknowledge_flags: bool = False,
        acknowledged_by: str | None = None,
    ) -> None:
        self.protocol = protocol
        self.run_id = run_id or uuid.uuid4().hex
        self.incident_id = incident_id
        self.person = _person(person)
        self._clock = clock
        self._vitals = vitals
        self._sink = record
        # Who acknowledged running a protocol that is not approved (PRO-8): a name given, or the
        # person starting when the caller says they acknowledge (``acknowledge_flags``).
        named = (acknowledged_by or "").strip()
        self._acknowledged_by = named or (self.person if acknowledge_flags else None)
        self._records: list[StepRecord] = []
        self._unsaved: list[StepRecord] = []
        self._current = protocol.protocol.start
        self._started = False
        self._ended: NodeType | None = None
        self._abandoned = False
        self._timer: _Timer | None = None
        self._nibp_requested_at: datetime | None = None
        self._nibp_requested_mono: float | None = None
        self._nibp_received = False
        own = protocol.protocol.call_911_node_id()
        self._call_911_id = own or (
            "call_911" if "call_911" not in protocol.protocol.nodes else "ems_call_911"
        )
        self._built_in_911 = None if own else Call911Node(type="call_911", text=BUILT_IN_CALL_911_TEXT)

    # -- state ---------------------------------------------------------------------------------

    @property
    def records(self) -> tuple[StepRecord, ...]:
        """Every record of this run so far, in order."""
        return tuple(self._records)

    @property
    def unsaved_records(self) -> tuple[StepRecord, ...]:
        """Records the ``record`` callback failed to take (to show and retry)."""
        return tuple(self._unsaved)

    @property
    def is_active(self) -> bool:
        """True from ``start()`` until an end (or abandonment)."""
        return self._started and self._ended is None and not self._abandoned

    @property
    def outcome(self) -> NodeType | None:
        """The kind of end reached (resolved, escalate, call_911), or None."""
        return self._ended

    @property
    def current_node_id(self) -> str:
        """The id of the step the run is on."""
        return self._current

    @property
    def called_911_at(self) -> datetime | None:
        """When the call-911 end was reached, if it was."""
        for rec in self._records:
            if rec.kind is StepKind.ENDED and rec.value == NodeType.CALL_911:
                return rec.at
        return None

    def node(self, node_id: str) -> Node:
        """A node of this run's protocol, including the built-in call-911 end."""
        if node_id == self._call_911_id and self._built_in_911 is not None:
            return self._built_in_911
        return self.protocol.protocol.nodes[node_id]

    def current(self) -> NodeView:
        """The current step with live values, options and timer state (no records written)."""
        node = self.node(self._current)
        options: tuple[str, ...] = ()
        if isinstance(node, QuestionNode):
            options = tuple(node.answers)
        elif isinstance(node, DecisionNode):
            options = tuple(str(d) for d in node.options)
        shown: tuple[ShownVital, ...] = ()
        if isinstance(node, VitalCheckNode):
            shown = tuple(
                ShownVital(kind, self._vitals.latest(kind)) for vital in node.vitals for kind in vital.kinds
            )
        medication = (
            MedicationText(node.drug, node.dose, node.route) if isinstance(node, MedicationNode) else None
        )
        return NodeView(
            run_id=self.run_id,
            protocol_id=self.protocol.id,
            node_id=self._current,
            type=NodeType(node.type),
            text=node.text,
            detail=node.detail,
            options=options,
            vitals=shown,
            medication=medication,
            timer=self._timer_state(),
            waiting_for_nibp=self._waiting_for_nibp(),
            is_terminal=NodeType(node.type).is_terminal,
            flags=self.protocol.flags,
        )

    # -- actions -------------------------------------------------------------------------------

    def start(self) -> None:
        """Record the start (protocol, version, hash, flags) and show the first step.

        Raises UnapprovedProtocolError for a protocol changed without approval unless the run was
        created with an acknowledgement (``acknowledged_by`` or ``acknowledge_flags``). For any
        protocol that is not approved (a template too) a given acknowledgement is recorded: who,
        when, and the content hash acknowledged (PRO-8). The app's desk refuses templates as well.
        """
        if self._started:
            raise StepNotAllowed("this run has already started")
        p = self.protocol
        acknowledger = self._acknowledged_by
        if acknowledger is None and any(n.flag.blocks_silent_use for n in p.flag_notes):
            raise UnapprovedProtocolError(p.id, p.approval_reason)
        self._started = True
        flags = ", ".join(sorted(p.flags))
        self._emit(
            self.person,
            StepKind.RUN_STARTED,
            value=f"{p.id} v{p.protocol.version} {p.content_hash}",
            note=f"incident {self.incident_id}" + (f"; flags: {flags}" if flags else ""),
        )
        if p.needs_acknowledgement and acknowledger is not None:
            self._emit(
                acknowledger,
                StepKind.FLAGS_ACKNOWLEDGED,
                value=flags,
                note=f"acknowledged running {p.id} v{p.protocol.version} {p.content_hash}: "
                f"{p.approval_reason}",
            )
        self._enter(p.protocol.start, self.person)

    def done(self, who: str, note: str = "") -> None:
        """Mark an instruction, vital check or due timer as done and go on; ``note`` is what the
        clinician wrote at a documentation step ("Add a note ..."), kept with the step (PRO-6)."""
        who = _person(who)
        node = self._node_for_action()
        if isinstance(node, InstructionNode):
            self._emit(who, StepKind.DONE, note=note.strip())
        elif isinstance(node, VitalCheckNode):
            self._pull_nibp()
            if self._waiting_for_nibp():
                raise StepNotAllowed(
                    "waiting for the NIBP reading; skip this step with a reason if it cannot be taken"
                )
            self._emit(who, StepKind.DONE, value="; ".join(v.text for v in self.current().vitals))
        elif isinstance(node, TimerNode):
            state = self._timer_state()
            if state is not None and not state.due:
                raise StepNotAllowed(
                    f"the timer is not due for {state.remaining:.0f} s; skip with a reason to go on early"
                )
            self._emit(who, StepKind.DONE)
        else:
            raise StepNotAllowed(f"a {node.type} step is not marked done: {_how(node)}")
        self._enter(node.next, who)

    def skip(self, who: str, reason: str) -> None:
        """Skip an instruction, vital check or timer, with the reason."""
        who = _person(who)
        reason = _reason(reason)
        node = self._node_for_action()
        if not isinstance(node, InstructionNode | VitalCheckNode | TimerNode):
            raise StepNotAllowed(f"a {node.type} step cannot be skipped: {_how(node)}")
        self._emit(who, StepKind.SKIPPED, note=reason)
        self._enter(node.next, who)

    def answer(self, who: str, choice: str) -> None:
        """Answer a question with one of its labels."""
        who = _person(who)
        node = self._node_for_action()
        if not isinstance(node, QuestionNode):
            raise StepNotAllowed(f"a {node.type} step is not answered: {_how(node)}")
        if choice not in node.answers:
            raise StepNotAllowed(f"{choice!r} is not an answer here; answers: {', '.join(node.answers)}")
        self._emit(who, StepKind.ANSWERED, value=choice)
        self._enter(node.answers[choice], who)

    def confirm_medication(self, who: str, given_at: datetime | None, given: bool, reason: str = "") -> None:
        """Confirm a medication step: given (with the time it was given) or not given (with why)."""
        who = _person(who)
        node = self._node_for_action()
        if not isinstance(node, MedicationNode):
            raise StepNotAllowed(f"a {node.type} step is not a medication: {_how(node)}")
        text = MedicationText(node.drug, node.dose, node.route).text
        if given:
            if given_at is None:
                raise StepNotAllowed("say when the medication was given")
            if given_at > self._clock.now():
                raise StepNotAllowed("the time given is in the future")
            self._emit(who, StepKind.MEDICATION_GIVEN, value=text, note=reason.strip(), occurred_at=given_at)
        else:
            self._emit(who, StepKind.MEDICATION_NOT_GIVEN, value=text, note=_reason(reason))
        self._enter(node.next, who)

    def decide(self, who: str, decision: SessionDecision | str) -> None:
        """Decide about the session (continue, pause the infusion, stop)."""
        who = _person(who)
        node = self._node_for_action()
        if not isinstance(node, DecisionNode):
            raise StepNotAllowed(f"a {node.type} step is not a decision: {_how(node)}")
        try:
            chosen = SessionDecision(decision)
        except ValueError:
            chosen = None
        if chosen is None or chosen not in node.options:
            raise StepNotAllowed(
                f"{decision!r} is not offered here; options: " + ", ".join(str(d) for d in node.options)
            )
        self._emit(who, StepKind.DECIDED, value=str(chosen))
        self._enter(node.options[chosen], who)

    def request_nibp(self, who: str) -> bool:
        """Start an NIBP cycle now from a vital check that shows NIBP; False = start it by hand."""
        who = _person(who)
        node = self._node_for_action()
        if not isinstance(node, VitalCheckNode) or CheckedVital.NIBP not in node.vitals:
            raise StepNotAllowed("an NIBP cycle is started from a vital check that shows NIBP")
        return self._request_nibp(who)

    def vital_recorded(self, values: Iterable[Observation]) -> bool:
        """New observations from the monitor; records the NIBP reading a vital check waits for.

        Returns True when a reading was recorded. Continuous values are not recorded one by one:
        the values shown when the step is done are recorded with it.
        """
        if not self.is_active or self._nibp_requested_at is None or self._nibp_received:
            return False
        reading = [o for o in values if o.kind.is_nibp and o.is_valid and self._after_request(o)]
        return self._record_nibp(reading)

    def start_timer(self, who: str) -> None:
        """Restart the current timer's countdown from now."""
        who = _person(who)
        node = self._node_for_action()
        if not isinstance(node, TimerNode):
            raise StepNotAllowed(f"a {node.type} step has no timer")
        self._start_timer(node, who, note="restarted")

    def tick(self) -> list[TimerPrompt]:
        """Check the running timer against the clock; a timer falling due is recorded and returned."""
        if not self.is_active or self._timer is None or self._timer.announced:
            return []
        timer = self._timer
        if self._clock.monotonic() < timer.due_mono:
            return []
        self._timer = _Timer(timer.started_mono, timer.due_mono, timer.due_at, announced=True)
        node = self.node(self._current)
        self._emit(SYSTEM_PERSON, StepKind.TIMER_DUE, value=node.text)
        return [TimerPrompt(self.run_id, self.protocol.id, self._current, node.text, timer.due_at)]

    def call_911(self, who: str) -> None:
        """Stop managing in clinic: jump from any step to the call-911 end (and the EMS hand-off)."""
        who = _person(who)
        if not self._started:
            raise StepNotAllowed("start the run first")
        if self._ended is NodeType.CALL_911:
            raise StepNotAllowed("911 has already been called in this run")
        self._emit(who, StepKind.CALL_911, note=f"from step {self._current}")
        self._ended = None
        self._abandoned = False
        self._enter(self._call_911_id, who)

    def correct(self, who: str, step_seq: int, note: str) -> StepRecord:
        """Add a correction of an earlier record (the earlier record is never changed)."""
        who = _person(who)
        note = _reason(note)
        target = next((r for r in self._records if r.seq == step_seq), None)
        if target is None:
            raise StepNotAllowed(f"this run has no record #{step_seq}")
        return self._emit(
            who,
            StepKind.CORRECTION,
            value=f"corrects #{step_seq} ({target.kind})",
            note=note,
            corrects=step_seq,
            node_id=target.node_id,
        )

    def abandon(self, who: str, reason: str) -> None:
        """Stop following this protocol without reaching an end (e.g. started by mistake)."""
        who = _person(who)
        reason = _reason(reason)
        self._node_for_action()
        self._abandoned = True
        self._timer = None
        self._emit(who, StepKind.ABANDONED, note=reason)

    # -- internals -----------------------------------------------------------------------------

    def _node_for_action(self) -> Node:
        if not self._started:
            raise StepNotAllowed("start the run first")
        if self._abandoned:
            raise StepNotAllowed("this run was abandoned")
        if self._ended is not None:
            raise StepNotAllowed(f"this run has ended ({self._ended}); only call 911 and corrections remain")
        return self.node(self._current)

    def _enter(self, node_id: str, who: str) -> None:
        self._current = node_id
        self._timer = None
        self._nibp_requested_at = None
        self._nibp_requested_mono = None
        self._nibp_received = False
        node = self.node(node_id)
        self._emit(who, StepKind.SHOWN, value=node.text)
        if isinstance(node, TimerNode):
            self._start_timer(node, who, note="")
        elif isinstance(node, VitalCheckNode) and node.start_nibp:
            self._request_nibp(who)
        elif NodeType(node.type).is_terminal:
            self._ended = NodeType(node.type)
            self._emit(who, StepKind.ENDED, value=str(node.type))

    def _start_timer(self, node: TimerNode, who: str, note: str) -> None:
        now, mono = self._clock.now(), self._clock.monotonic()
        due_at = now + timedelta(seconds=node.seconds)
        self._timer = _Timer(mono, mono + node.seconds, due_at)
        self._emit(
            who,
            StepKind.TIMER_STARTED,
            value=f"{node.seconds} s",
            note=f"due at {due_at.isoformat()}" + (f"; {note}" if note else ""),
        )

    def _timer_state(self) -> TimerState | None:
        if self._timer is None:
            return None
        node = self.node(self._current)
        seconds = node.seconds if isinstance(node, TimerNode) else 0
        remaining = max(0.0, self._timer.due_mono - self._clock.monotonic())
        return TimerState(seconds, self._timer.due_at, remaining, remaining <= 0.0)

    def _request_nibp(self, who: str) -> bool:
        started = self._vitals.request_nibp()
        self._nibp_requested_at = self._clock.now()
        self._nibp_requested_mono = self._clock.monotonic()
        self._nibp_received = False
        self._emit(
            who,
            StepKind.NIBP_REQUESTED,
            value="started by Bedside" if started else "start the NIBP cycle on the monitor",
            note="" if started else "this monitor cannot be started remotely",
        )
        return started

    def _waiting_for_nibp(self) -> bool:
        if self._nibp_requested_at is None or self._nibp_received:
            return False
        latest = self._vitals.latest(VitalKind.NIBP_SYSTOLIC)
        return not (latest is not None and latest.is_valid and self._after_request(latest))

    def _after_request(self, obs: Observation) -> bool:
        """True for a value measured, or received, after the NIBP was asked for.

        Arrival is compared on the monotonic clock: after this PC's clock is set back, a new
        reading is stamped before the request on the wall clock, yet it still answers it.
        """
        requested, requested_mono = self._nibp_requested_at, self._nibp_requested_mono
        if requested is None:
            return False
        return obs.measured_at >= requested or (
            requested_mono is not None and obs.received_mono >= requested_mono
        )

    def _pull_nibp(self) -> None:
        """Record a reading the monitor has but nobody pushed through ``vital_recorded``."""
        if self._nibp_requested_at is None or self._nibp_received:
            return
        kinds = (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
        latest = [self._vitals.latest(k) for k in kinds]
        self._record_nibp([o for o in latest if o is not None and o.is_valid and self._after_request(o)])

    def _record_nibp(self, reading: list[Observation]) -> bool:
        if not any(o.kind is VitalKind.NIBP_SYSTOLIC for o in reading):
            return False
        self._nibp_received = True
        source = reading[0].source
        self._emit(
            f"device:{source}",
            StepKind.VITALS_RECORDED,
            value="; ".join(ShownVital(o.kind, o).text for o in reading),
            occurred_at=min(o.measured_at for o in reading),
        )
        return True

    def _emit(
        self,
        person: str,
        kind: StepKind,
        *,
        value: str = "",
        note: str = "",
        corrects: int | None = None,
        occurred_at: datetime | None = None,
        node_id: str | None = None,
    ) -> StepRecord:
        rec = StepRecord(
            run_id=self.run_id,
            seq=len(self._records) + 1,
            at=self._clock.now(),
            person=person,
            node_id=node_id or self._current,
            kind=kind,
            value=value,
            note=note,
            corrects=corrects,
            occurred_at=occurred_at,
        )
        self._records.append(rec)
        # The run's own list is the truth: a failing store must not stop the team mid-protocol or
        # leave the run half-moved. The failure is logged and kept for the app to show and retry.
        try:
            self._sink(rec)
        except Exception:
            log.exception("storing step record %s #%d failed", self.run_id, rec.seq)
            self._unsaved.append(rec)
        return rec


def _person(who: str) -> str:
    who = who.strip()
    if not who:
        raise StepNotAllowed("every step needs the name of the person taking it")
    return who


def _reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise StepNotAllowed("a reason is required")
    return reason


def _how(node: Node) -> str:
    hints = {
        "instruction": "mark it done or skip it with a reason",
        "question": "answer it",
        "vital_check": "mark it done when the values are seen, or skip it with a reason",
        "medication": "confirm it given (with the time) or not given (with a reason)",
        "timer": "mark it done when due, or skip it with a reason",
        "decision": "decide",
    }
    return hints.get(node.type, "this is an end; only call 911 and corrections remain")
