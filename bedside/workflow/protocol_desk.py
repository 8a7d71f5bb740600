"""The app's side of written protocols: offers, incidents, runs, and every step stored as it happens.

``ProtocolDesk`` is Qt-free. It is the engine's ``LiveVitals`` (latest values and "start NIBP now"
come from the monitor through two callables), owns a ``ProtocolRunner``, and maps each engine
``StepRecord`` into a storage ``ProtocolStepRecord`` handed to ``put`` the moment it is recorded,
so a crash or restart loses no step (PRO-6). Drive it from one thread (the GUI's).
"""

from __future__ import annotations

import logging
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from alarms.manager import AlarmEvent
from drivers.clock import Clock
from drivers.types import Observation, VitalKind
from protocols import (
    EmsHandoff,
    HandoffPatient,
    LibraryLoad,
    LoadedProtocol,
    ProtocolRun,
    ProtocolRunner,
    RunHistory,
    StepKind,
    StepNotAllowed,
    StepRecord,
    TimerPrompt,
    UnapprovedProtocolError,
    build_ems_handoff,
    handoff_text,
)
from protocols.handoff import HANDOFF_VITALS_WINDOW, HandoffMedication
from storage import (
    AlarmEventRecord,
    IncidentOpenedRecord,
    NoteRecord,
    ProtocolRunEndedRecord,
    ProtocolRunStartedRecord,
    ProtocolRunSummary,
    ProtocolStepRecord,
    StoredRecord,
)
from storage.records import IncidentAlarmLinkRecord

log = logging.getLogger(__name__)

#: Step kinds after which a run is over (the end record is stored with them).
_END_KINDS = (StepKind.ENDED, StepKind.ABANDONED)


class ProtocolNotLoaded(LookupError):
    """A protocol id that is not in the loaded library (missing, or its file was rejected)."""


@dataclass(frozen=True, slots=True)
class ProtocolOffer:
    """A protocol an alarm offered (e.g. the BP-spike alarm offers ``bp-spike``), not yet started."""

    protocol_id: str
    title: str
    reason: str
    offered_at: datetime
    #: The alarm event that offered it, as stored (the run's incident is linked to it, DOC-2).
    alarm: AlarmEventRecord | None = None

    @property
    def button_text(self) -> str:
        """What the start button says, e.g. ``Start BP spike protocol``."""
        return f"Start {self.protocol_id.replace('-', ' ').replace('bp ', 'BP ')} protocol"


#: Who a CALL 911 press is recorded against when nobody is signed in: the press is never refused.
NOBODY_SIGNED_IN = "clinician not signed in"


@dataclass(frozen=True, slots=True)
class EmergencyCall:
    """A CALL 911 press on the monitor screen: the incident it belongs to, the run it ended (if a
    protocol was running), whether 911 had already been called, and the EMS hand-off text."""

    incident_id: str
    at: datetime
    by: str
    run_id: str | None
    repeat: bool
    handoff: str
    #: The hand-off as data, for the printed sheet (the one PDF renderer).
    record: EmsHandoff | None = None


class ProtocolDesk:
    """Offers, starts and records protocol runs for one monitored session (PRO-2..PRO-6)."""

    def __init__(
        self,
        clock: Clock,
        library: LibraryLoad,
        *,
        session_id: str,
        put: Callable[[StoredRecord], None],
        latest: Callable[[VitalKind], Observation | None],
        request_nibp: Callable[[], bool],
        audit: Callable[[str, str, str, Mapping[str, Any]], None] | None = None,
    ) -> None:
        """``audit`` gets every protocol start and step with the person who took it (default: none)."""
        self._audit = audit
        #: The session's alarm events, for the EMS hand-off sheet (the app points it at the
        #: ClinicalSession's; empty by default).
        self.alarm_events: Callable[[], Sequence[AlarmEvent]] = tuple
        self._clock = clock
        self.library = library
        self.session_id = session_id
        self._put = put
        self._latest = latest
        self._request_nibp = request_nibp
        self._runner = ProtocolRunner(clock, self, self._on_step)
        self._offers: list[ProtocolOffer] = []
        self._recent: deque[Observation] = deque()
        self._listeners: list[Callable[[], None]] = []
        # While a run is starting the runner does not know it yet: listeners hear once it does.
        self._starting = False
        #: The incident a CALL 911 press with no protocol running opened, and when 911 was called.
        self._emergency: tuple[str, datetime] | None = None

    # -- LiveVitals (what the engine reads) ----------------------------------------------------

    def latest(self, kind: VitalKind) -> Observation | None:
        """The monitor's most recent observation of ``kind``."""
        return self._latest(kind)

    def request_nibp(self) -> bool:
        """Start an NIBP cycle on the monitor; False when the clinician must start it by hand."""
        return self._request_nibp()

    # -- state ---------------------------------------------------------------------------------

    @property
    def offers(self) -> tuple[ProtocolOffer, ...]:
        """Protocols offered and not yet started, oldest first."""
        return tuple(self._offers)

    def now(self) -> datetime:
        """The desk clock's wall time (a medication given "now")."""
        return self._clock.now()

    def protocols(self) -> tuple[LoadedProtocol, ...]:
        """Every protocol in the library, by title (for "Start protocol...")."""
        return tuple(sorted(self.library.protocols.values(), key=lambda p: p.protocol.title))

    def run(self, run_id: str) -> ProtocolRun:
        """The run with this id (KeyError if none)."""
        return self._runner.run(run_id)

    def runs(self) -> tuple[ProtocolRun, ...]:
        """Every run started this session, oldest first."""
        return self._runner.runs()

    def active_runs(self) -> tuple[ProtocolRun, ...]:
        """Runs still in progress, oldest first."""
        return self._runner.active()

    @property
    def emergency_call(self) -> tuple[str, datetime] | None:
        """The incident a CALL 911 press with no protocol running opened, and when 911 was first
        called (None before such a press); kept in the restart snapshot (MON-8)."""
        return self._emergency

    def add_listener(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` after every offer and every recorded step (the panel repaints)."""
        self._listeners.append(listener)

    # -- actions -------------------------------------------------------------------------------

    def offer(
        self, protocol_id: str, reason: str, *, alarm: AlarmEventRecord | None = None
    ) -> ProtocolOffer | None:
        """Offer a protocol (by id, or by an alarm condition listed in a protocol's ``offered_for``).

        ``alarm`` is the alarm event that offers it, as stored: a run started from the offer links
        its incident to that alarm's row (DOC-2). An offer already waiting for the same protocol is
        kept, not repeated. Returns None (and logs why) when no loaded protocol matches: the alarm
        itself still shows.
        """
        protocol = self._resolve(protocol_id)
        if protocol is None:
            log.error("cannot offer protocol %r (%s): it is not in the loaded library", protocol_id, reason)
            return None
        for waiting in self._offers:
            if waiting.protocol_id == protocol.id:
                return waiting
        offer = ProtocolOffer(protocol.id, protocol.protocol.title, reason, self._clock.now(), alarm)
        self._offers.append(offer)
        log.info("protocol %s offered: %s", protocol.id, reason)
        self._changed()
        return offer

    def dismiss_offer(self, protocol_id: str) -> None:
        """Take an offer off the list without starting it."""
        self._offers = [o for o in self._offers if o.protocol_id != protocol_id]
        self._changed()

    def start(
        self,
        protocol_id: str,
        person: str,
        *,
        incident_title: str = "",
        from_offer: bool = True,
        acknowledge_flags: bool = False,
        acknowledged_unapproved_by: str | None = None,
    ) -> ProtocolRun:
        """Open an incident and start a run of the protocol; every record is stored as it happens.

        With ``from_offer`` the protocol must be on the offer list (the offer is consumed). A
        protocol that is not approved (a template, or changed since approval: see
        ``LoadedProtocol.approval_words``) starts only when a named clinician acknowledges it
        (PRO-8): ``acknowledged_unapproved_by`` is that name (``acknowledge_flags=True`` means the
        person starting acknowledges). The acknowledgement is stored as the run's
        ``flags_acknowledged`` step with who, when and the content hash.

        Raises ProtocolNotLoaded, StepNotAllowed (no such offer, no name) or
        UnapprovedProtocolError (a ProtocolNotApproved), in which case nothing is stored.
        """
        protocol = self._resolve(protocol_id)
        if protocol is None:
            raise ProtocolNotLoaded(
                f"protocol {protocol_id!r} is not loaded; check the protocol folder and its errors"
            )
        offer = next((o for o in self._offers if o.protocol_id == protocol.id), None)
        if from_offer and offer is None:
            raise StepNotAllowed(f"protocol {protocol.id} has not been offered; start it from the list")
        who = person.strip()
        if not who:
            raise StepNotAllowed("starting a protocol needs the name of the person starting it")
        acknowledger = (acknowledged_unapproved_by or "").strip() or (who if acknowledge_flags else "")
        if protocol.needs_acknowledgement and not acknowledger:
            # Checked before anything is stored so a refused start leaves no empty incident.
            raise UnapprovedProtocolError(protocol.id, protocol.approval_reason)
        now = self._clock.now()
        incident_id = str(uuid.uuid4())
        run_id = str(uuid.uuid4())
        title = incident_title.strip() or protocol.protocol.title
        if offer is not None and not incident_title.strip():
            title = f"{title}: {offer.reason}"
        self._put(
            IncidentOpenedRecord(
                incident_id=incident_id,
                session_id=self.session_id,
                opened_at=now,
                kind=protocol.id,
                title=title,
                opened_by=who,
            )
        )
        # The run row goes before its first step (steps reference it).
        self._put(
            ProtocolRunStartedRecord(
                run_id=run_id,
                incident_id=incident_id,
                protocol_id=protocol.id,
                protocol_version=protocol.protocol.version,
                protocol_hash=protocol.content_hash,
                started_at=now,
                started_by=who,
            )
        )
        if offer is not None and offer.alarm is not None:
            # In the same ordered stream, after the incident: storage finds the alarm's row then.
            self._put(IncidentAlarmLinkRecord(incident_id, offer.alarm, now, who))
        if offer is not None:
            self._offers.remove(offer)
        self._starting = True
        try:
            run = self._runner.start(
                protocol, who, incident_id, acknowledged_by=acknowledger or None, run_id=run_id
            )
        finally:
            self._starting = False
        self._changed()
        return run

    def on_observation(self, obs: Observation) -> None:
        """A new observation from the monitor: kept for the hand-off, given to runs waiting for NIBP."""
        self._recent.append(obs)
        self._prune()
        self._runner.vital_recorded((obs,))

    def tick(self) -> list[TimerPrompt]:
        """Check every active run's timer; returns the prompts that have just fallen due."""
        return self._runner.tick()

    def call_911(self, run_id: str, who: str) -> None:
        """Stop managing in clinic: the run jumps to its call-911 end (recorded)."""
        self._runner.run(run_id).call_911(who)

    def call_911_now(
        self,
        who: str,
        patient: HandoffPatient | None = None,
        *,
        run_id: str | None = None,
        medications: Sequence[HandoffMedication] = (),
        session_started_at: datetime | None = None,
        infusion_started_at: datetime | None = None,
    ) -> EmergencyCall:
        """CALL 911 from the monitor screen at any moment: idle, during a protocol, after a press.

        Never refused. With a protocol in progress (``run_id``, else the most recent active run
        that has not called yet) the run jumps to its call-911 end, recorded as its step (PRO-5,
        PRO-6). With none, an incident "911 called from the monitor screen" is opened and the call
        noted in the session. A further press is noted and gives the hand-off again with the
        newest vitals. ``who`` is the signed-in clinician; empty, the press is recorded against
        ``NOBODY_SIGNED_IN``. ``medications`` are those recorded on the monitor outside protocols.
        """
        person = who.strip() or NOBODY_SIGNED_IN
        now = self._clock.now()
        active = [r for r in self._runner.active() if r.called_911_at is None]
        chosen = next((r for r in active if r.run_id == run_id), active[-1] if active else None)
        called = [r for r in self._runner.runs() if r.called_911_at is not None]
        repeat = chosen is None and (bool(called) or self._emergency is not None)
        if chosen is not None:
            chosen.call_911(person)
            incident_id, first_call = chosen.incident_id, now
        elif self._emergency is not None:
            incident_id, first_call = self._emergency
        elif called:
            incident_id, first_call = called[-1].incident_id, min(c.called_911_at or now for c in called)
        else:
            incident_id, first_call = str(uuid.uuid4()), now
            self._put(
                IncidentOpenedRecord(
                    incident_id=incident_id,
                    session_id=self.session_id,
                    opened_at=now,
                    kind="call_911",
                    title="911 called from the monitor screen",
                    opened_by=person,
                )
            )
            self._emergency = (incident_id, now)
        words = (
            "CALL 911 pressed again: EMS hand-off given again"
            if repeat
            else "911 called from the monitor screen"
        )
        self._put(NoteRecord(self.session_id, now, person, words))
        log.warning("%s (%s, incident %s)", words, person, incident_id)
        first = (
            [chosen]
            if chosen is not None
            else [r for r in self._runner.runs() if r.incident_id == incident_id]
        )
        ordered = [*first, *[r for r in self._runner.runs() if r not in first]]
        handoff = build_ems_handoff(
            patient or HandoffPatient(name=""),
            incident_id,
            [RunHistory.of(r) for r in ordered],
            tuple(self._recent),
            now,
            session_started_at=session_started_at,
            infusion_started_at=infusion_started_at,
        )
        given = tuple(sorted((*handoff.medications, *medications), key=lambda m: m.given_at or now))
        handoff = replace(handoff, called_911_at=handoff.called_911_at or first_call, medications=given)
        self._changed()
        return EmergencyCall(
            incident_id,
            now,
            person,
            chosen.run_id if chosen is not None else None,
            repeat,
            handoff_text(handoff),
            handoff,
        )

    def ems_handoff(
        self, run_id: str, patient_name: str, observations: Iterable[Observation] | None = None
    ) -> str:
        """The EMS hand-off text for the run's incident, with every run of this session.

        ``observations`` defaults to what the desk was given through ``on_observation``; only the
        last 30 minutes are shown.
        """
        return handoff_text(self.ems_handoff_record(run_id, patient_name, observations))

    def ems_handoff_record(
        self, run_id: str, patient_name: str, observations: Iterable[Observation] | None = None
    ) -> EmsHandoff:
        """The EMS hand-off as data (what ``ems_handoff`` writes as text and the PDF prints)."""
        called = self._runner.run(run_id)
        others = [r for r in self._runner.runs() if r.run_id != run_id]
        histories = [RunHistory.of(r) for r in (called, *others)]
        obs = tuple(self._recent) if observations is None else tuple(observations)
        return build_ems_handoff(
            HandoffPatient(name=patient_name), called.incident_id, histories, obs, self._clock.now()
        )

    def restore(
        self,
        runs: Iterable[ProtocolRunSummary],
        offers: Iterable[ProtocolOffer] = (),
        emergency_call: tuple[str, datetime] | None = None,
    ) -> list[str]:
        """After a restart (MON-8): re-open the session's runs from their stored steps, so the panel
        shows each where it was, and put back the offers that were waiting. A timer that fell due
        while the monitor was down is due now (the next ``tick`` prompts and records it). Nothing
        is stored: the steps already are. ``emergency_call`` is the CALL 911 incident and first
        call time of the snapshot: a press after the restart belongs to that incident and the
        hand-off keeps the first call's time. Returns why any run could not be re-opened, in words.
        """
        if emergency_call is not None and self._emergency is None:
            self._emergency = emergency_call
        from protocols.engine import _Timer
        from protocols.model import NodeType, TimerNode, VitalCheckNode

        problems: list[str] = []
        now, mono = self._clock.now(), self._clock.monotonic()
        for summary in runs:
            started = summary.started
            protocol = self.library.protocols.get(started.protocol_id)
            if protocol is None or protocol.content_hash != started.protocol_hash:
                # The walk is pinned to the exact text that was run; another text cannot go on from it.
                why = "is no longer loaded" if protocol is None else "has changed since the run started"
                problems.append(
                    f"protocol run {started.run_id} ({started.protocol_id}) cannot be re-opened: "
                    f"the protocol {why}; its steps so far are in the record"
                )
                log.error(problems[-1])
                continue
            records = [
                StepRecord(
                    s.run_id,
                    s.seq,
                    s.at,
                    s.person,
                    s.node_id,
                    StepKind(s.kind),
                    s.value,
                    s.note,
                    s.corrects,
                    s.occurred_at,
                )
                for s in summary.steps
            ]
            run = ProtocolRun(
                protocol, self._clock, started.started_by, started.incident_id, self, self._on_step,
                run_id=started.run_id, acknowledge_flags=True,
            )  # fmt: skip
            kinds = [r.kind for r in records]
            main = [r for r in records if r.kind is not StepKind.CORRECTION]

            def last(kind: StepKind, kinds: list[StepKind] = kinds) -> int:
                return max((i for i, k in enumerate(kinds) if k is kind), default=-1)

            run._records = records
            run._started = bool(records)
            run._current = main[-1].node_id if main else protocol.protocol.start
            ended = last(StepKind.ENDED)
            run._ended = NodeType(records[ended].value) if ended >= 0 else None
            run._abandoned = last(StepKind.ABANDONED) > last(StepKind.CALL_911)
            node = run.node(run._current)
            shown = max(
                (i for i, r in enumerate(records) if r.kind is StepKind.SHOWN and r.node_id == run._current),
                default=-1,
            )
            since_shown = records[shown + 1 :] if shown >= 0 else []
            if run.is_active and isinstance(node, TimerNode):
                timer = next((r for r in reversed(since_shown) if r.kind is StepKind.TIMER_STARTED), None)
                if timer is not None:
                    due_at = timer.at + timedelta(seconds=node.seconds)
                    due_mono = mono + (due_at - now).total_seconds()
                    announced = any(r.kind is StepKind.TIMER_DUE and r.seq > timer.seq for r in since_shown)
                    run._timer = _Timer(due_mono - node.seconds, due_mono, due_at, announced)
            if run.is_active and isinstance(node, VitalCheckNode):
                asked = next((r for r in reversed(since_shown) if r.kind is StepKind.NIBP_REQUESTED), None)
                if asked is not None:
                    run._nibp_requested_at = asked.at
                    run._nibp_received = any(
                        r.kind is StepKind.VITALS_RECORDED and r.seq > asked.seq for r in since_shown
                    )
            self._runner._runs[run.run_id] = run
            log.info("protocol run %s re-opened at step %s", run.run_id, run.current_node_id)
        waiting = {o.protocol_id for o in self._offers}
        self._offers.extend(o for o in offers if o.protocol_id not in waiting)
        self._changed()
        return problems

    # -- internals -----------------------------------------------------------------------------

    def _resolve(self, protocol_id: str) -> LoadedProtocol | None:
        found = self.library.protocols.get(protocol_id)
        if found is not None:
            return found
        matches = self.library.offered_for(protocol_id)
        return matches[0] if matches else None

    def _on_step(self, rec: StepRecord) -> None:
        self._put(
            ProtocolStepRecord(
                run_id=rec.run_id,
                seq=rec.seq,
                at=rec.at,
                person=rec.person,
                node_id=rec.node_id,
                kind=str(rec.kind),
                value=rec.value,
                note=rec.note,
                corrects=rec.corrects,
                occurred_at=rec.occurred_at,
            )
        )
        if self._audit is not None:
            self._audit(
                rec.person,
                "protocol_step",
                rec.run_id,
                {"seq": rec.seq, "node": rec.node_id, "kind": str(rec.kind), "value": rec.value},
            )
        if rec.kind in _END_KINDS:
            outcome = rec.value if rec.kind is StepKind.ENDED else str(StepKind.ABANDONED)
            self._put(ProtocolRunEndedRecord(run_id=rec.run_id, ended_at=rec.at, outcome=outcome))
        if not self._starting:
            self._changed()

    def _prune(self) -> None:
        since = self._clock.now() - HANDOFF_VITALS_WINDOW
        while self._recent and self._recent[0].measured_at < since:
            self._recent.popleft()

    def _changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:
                # A view failing to repaint must not stop the record being kept.
                log.exception("protocol desk listener failed")
