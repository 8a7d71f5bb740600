"""The clinical session wired for the monitor: the pure engine in ``alarms/`` fed by the core.

Qt-free and single-threaded: everything here runs on the GUI thread (from ``MonitorCore.pump``
listeners, the 1 Hz tick and clinician actions). Each state change is mapped to a storage record
and handed to ``record``; listeners registered with ``add_listener`` are told something changed
so the view can re-render. The rules themselves live in ``alarms/``; this module only wires them.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alarms import (
    CONDITIONS,
    ActiveAlarm,
    AlarmEvent,
    AlarmEventKind,
    AlarmManager,
    AlarmPriority,
    Baseline,
    BaselineCalculator,
    BaselineField,
    BpClass,
    BpTrend,
    ChecklistItem,
    ClinicalConfig,
    ConfirmRemeasure,
    DischargeAttestation,
    DischargeCriteria,
    DischargeStatus,
    ExpectedRiseBand,
    InfusionSession,
    IntervalChange,
    NibpAction,
    NibpAssembler,
    NibpJudgement,
    NibpReading,
    NibpScheduler,
    PhaseTransition,
    PromptClinician,
    ReadingClass,
    SessionPhase,
    StartCycle,
    ThresholdBook,
    ThresholdChange,
    ThresholdError,
    ThresholdField,
    ThresholdSet,
    TrendFlag,
    require_clinician,
)
from drivers.clock import Clock
from drivers.types import DeviceEvent, DeviceEventKind, Observation, VitalKind
from storage import (
    AlarmEventRecord,
    AttestationRecord,
    BaselineOverride,
    BaselineRecord,
    MonitoringGapRecord,
    NibpIntervalChangeRecord,
    NoteRecord,
    PhaseTransitionRecord,
    SessionEndedRecord,
    StoredRecord,
    ThresholdChangeRecord,
    ThresholdSetRecord,
)

if TYPE_CHECKING:
    from bedside.workflow.session_state import MonitoringGap

log = logging.getLogger(__name__)

#: Checklist names used in AttestationRecord.
READINESS_CHECKLIST = "readiness"
DISCHARGE_CHECKLIST = "discharge"

Record = Callable[[StoredRecord], None]
Listener = Callable[[], None]
#: Where clinical actions are audited: ``(who, action, subject, details)``; the app passes the
#: storage audit trail (``bedside.workflow.audit.trail_sink``), tests and replays the default no-op.
AuditSink = Callable[[str, str, str, Mapping[str, Any]], None]


def no_audit(who: str, action: str, subject: str, details: Mapping[str, Any]) -> None:
    """The default audit sink: keeps nothing (a replay or a test without an audit trail)."""


def alarm_event_record(session_id: str, event: AlarmEvent) -> AlarmEventRecord:
    """The record an alarm event is stored as: built the same way every time, so the stored row of
    an event on screen is found again from the event itself (an incident links it, DOC-2)."""
    return AlarmEventRecord(
        session_id=session_id,
        kind=event.kind.value,
        condition=event.condition.value if event.condition is not None else "audio",
        priority=event.priority.text.lower() if event.priority is not None else "",
        at=event.at,
        person=event.person or "",
        message=f"{event.key}: {event.message}" if event.key else event.message,
    )


class PromptKind(enum.StrEnum):
    """What a prompt asks the clinician to do."""

    START_CYCLE = "start_cycle"
    CONFIRM_REMEASURE = "confirm_remeasure"
    SEND_FAILED = "send_failed"


@dataclass(frozen=True, slots=True)
class Prompt:
    """A visible request to the clinician; cleared when the next NIBP reading arrives."""

    kind: PromptKind
    at: datetime
    message: str


@dataclass(frozen=True, slots=True)
class OfferedProtocol:
    """A written protocol the engine offers (e.g. bp-spike on a meaningful spike, THR-4)."""

    protocol_id: str
    at: datetime
    reason: str
    #: The alarm event that offered it, as stored: the run's incident is linked to it (DOC-2).
    alarm: AlarmEventRecord | None = None


@dataclass(frozen=True, slots=True)
class ClassifiedReading:
    """An NIBP reading with the engine's one judgement of it (THR-4, THR-7): every view takes the
    label, colour and marker from ``reading_class`` / ``label``, never from the band alone."""

    reading: NibpReading
    band_class: BpClass | None
    reading_class: ReadingClass = ReadingClass.NOT_JUDGED
    label: str = "not judged"
    judgement: NibpJudgement | None = None

    @classmethod
    def of(cls, judgement: NibpJudgement) -> ClassifiedReading:
        """The reading as its judgement classifies it."""
        return cls(
            judgement.reading, judgement.band_class, judgement.reading_class, judgement.label, judgement
        )


@dataclass(frozen=True, slots=True)
class BandView:
    """What the trend draws on the pressure axis: baseline lines, the band and the thresholds."""

    baseline_systolic: float
    baseline_diastolic: float
    systolic_band: tuple[float, float]
    diastolic_band: tuple[float, float]
    thresholds: ThresholdSet | None


class ClinicalSession:
    """One patient's infusion session on the monitor: engine, NIBP cycling, alarms and records."""

    def __init__(
        self,
        clock: Clock,
        config: ClinicalConfig,
        *,
        session_id: str,
        record: Record,
        nibp_link_send: Callable[[bytes], None] | None,
        nibp_start_command: bytes | None,
        protocols_for: Callable[[str], Sequence[str]] | None = None,
        audit: AuditSink = no_audit,
    ) -> None:
        """``nibp_link_send``/``nibp_start_command`` start a cycle on a device that accepts a remote
        start; with either missing the session prompts the clinician instead. ``protocols_for``
        names the written protocols offered when an alarm condition starts (PRO-8); without it only
        the clinic's BP-spike protocol is offered, on a meaningful spike (THR-4). ``audit`` gets
        every clinician action (thresholds, acknowledgements, pauses) with the clinician's name."""
        self._audit = audit
        self._clock = clock
        self.config = config
        self.session_id = session_id
        self._record = record
        self._send = nibp_link_send
        self._start_command = nibp_start_command
        self._protocols_for = protocols_for
        self._trend_flag: TrendFlag | None = None
        #: When the running NIBP cycle started (monotonic), None when none runs (MON-2 "measuring").
        self._cycle_since: float | None = None
        self.thresholds = ThresholdBook(config, clock)
        self.session = InfusionSession(clock, self.thresholds)
        self.baseline_calculator = BaselineCalculator(config)
        self.assembler = NibpAssembler()
        self.trend = BpTrend(config)
        self.scheduler = NibpScheduler(
            clock, config, device_can_start=nibp_link_send is not None and nibp_start_command is not None
        )
        self.alarms = AlarmManager(clock, config, self._thresholds_in_force)
        self.discharge = DischargeCriteria(config, clock)
        self._band: ExpectedRiseBand | None = None
        self._threshold_set_id = ""
        self._threshold_sets = 0
        self._readings: list[ClassifiedReading] = []
        self._judged: list[NibpReading] = []
        self._prompts: list[Prompt] = []
        self._offered: list[OfferedProtocol] = []
        self._last_spo2: Observation | None = None
        self._last_rates: dict[VitalKind, Observation] = {}  # pulse rate and heart rate, apart
        self._listeners: list[Listener] = []
        self._recording_failed = False
        self._recording_reason = ""
        self._gaps: list[MonitoringGap] = []

    # -- observers --------------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener()`` after every change the view may want to re-render."""
        self._listeners.append(listener)

    # -- inputs from the core ---------------------------------------------------------------------

    def on_observation(self, obs: Observation) -> None:
        """Take one observation (a ``MonitorCore`` observation listener)."""
        self._alarm_events(self.alarms.observe(obs))
        if obs.is_valid and obs.kind is VitalKind.SPO2:
            self._last_spo2 = obs
        elif obs.is_valid and obs.kind in (VitalKind.PULSE_RATE, VitalKind.HEART_RATE):
            self._last_rates[obs.kind] = obs
        if self.phase.builds_baseline:
            self.baseline_calculator.add_observation(obs)
        for reading in self.assembler.add(obs):
            self._cycle_since = None  # the cycle answered
            self._on_reading(reading)
        self._changed()

    def audio_failed(self, failed: bool, reason: str = "") -> None:
        """The alarm sound cannot play (or plays again): a technical alarm, never silent (ALM-5)."""
        self._alarm_events(self.alarms.audio_failed(failed, reason))
        self._changed()

    def display_stalled(self, stalled: bool, detail: str = "") -> None:
        """The screen stopped updating (or recovered): a technical alarm (ALM-5)."""
        self._alarm_events(self.alarms.display_stalled(stalled, detail))
        self._changed()

    @property
    def audio_unavailable(self) -> bool:
        """True while the alarm sound cannot play (the screen says so permanently)."""
        return self.alarms.audio_unavailable

    @property
    def trend_flag(self) -> str | None:
        """Why the latest judged reading's trend is flagged (THR-6) in words ("systolic rising ...
        projected ..."), or None when it is not."""
        return None if self._trend_flag is None else self._trend_flag.reason

    def pulse_deficit(self) -> float | None:
        """The sustained HR - PR difference while it alarms (MON-7), else None."""
        return self.alarms.pulse_deficit()

    def protocol_timer_due(self, timer: str, step_text: str, due_at: datetime) -> None:
        """A written protocol's timer ran out: an alarm until acknowledged (PRO-2, ALM-3)."""
        self._alarm_events(self.alarms.protocol_timer_due(timer, step_text, due_at.astimezone()))
        self._changed()

    def on_device_event(self, event: DeviceEvent) -> None:
        """Take one link event (a ``MonitorCore`` event listener)."""
        if event.kind is DeviceEventKind.NIBP_STARTED:
            self._cycle_since = self._clock.monotonic()
        elif event.kind in (DeviceEventKind.NIBP_FAILED, DeviceEventKind.DISCONNECTED):
            self._cycle_since = None
        self._alarm_events(self.alarms.device_event(event))
        self._changed()

    def recording_failed(self, failed: bool, reason: str = "") -> None:
        """Storage could not write (or recovered): raise or end the technical alarm."""
        # A new reason (a hang became "locked", vitals began to be shed) updates the alarm's words.
        if failed != self._recording_failed or (failed and reason != self._recording_reason):
            self._recording_failed = failed
            self._recording_reason = reason
            self._alarm_events(self.alarms.recording_failed(failed, reason))
            self._changed()

    def tick(self) -> None:
        """Advance time-based rules; call about once a second on the GUI thread."""
        self._alarm_events(self.alarms.tick())
        if self.phase.nibp_cycles:
            for action in self.scheduler.tick():
                self._act(action)
        self._changed()

    # -- clinician actions: phases ----------------------------------------------------------------

    def begin_baseline(self, who: str) -> None:
        """Start the pre-infusion readings: the first NIBP cycle starts now and the countdown runs."""
        self._phase_record(self.session.begin_baseline(who))
        self._act(self.scheduler.measure_now(who))
        self._changed()

    def confirm_baseline(
        self, who: str, overrides: Mapping[BaselineField, tuple[float, str]] | None = None
    ) -> Baseline:
        """Confirm the proposed baseline, each override given as ``field: (value, reason)`` (THR-2).

        Raises ``BaselineNotReadyError`` while the readings do not allow one. Moves the session to
        ready (through baseline when it was still in setup).
        """
        now = self._clock.now()
        proposed = self.baseline_calculator.propose_with_overrides(overrides or {}, who, now)
        baseline = proposed.confirm(who, now)
        self.session.set_baseline(baseline)
        self._band = ExpectedRiseBand.from_baseline(baseline, self.config)
        assert baseline.confirmed_by is not None and baseline.confirmed_at is not None
        self._record(
            BaselineRecord(
                session_id=self.session_id,
                systolic=baseline.systolic,
                diastolic=baseline.diastolic,
                mean=baseline.mean,
                spo2=baseline.spo2,
                pulse=baseline.pulse,
                confirmed_by=baseline.confirmed_by,
                confirmed_at=baseline.confirmed_at,
                overrides=tuple(
                    BaselineOverride(o.field.value, o.old, o.new, o.reason) for o in baseline.overrides
                ),
            )
        )
        if self.phase is SessionPhase.SETUP:
            self._phase_record(self.session.begin_baseline(who))
        if self.phase is SessionPhase.BASELINE:
            self._phase_record(self.session.mark_ready(who))
        self._changed()
        return baseline

    def confirm_thresholds(self, who: str, thresholds: ThresholdSet) -> ThresholdSet:
        """Enter and confirm the patient's own thresholds before the IV starts (THR-1, THR-4)."""
        self.thresholds.enter(thresholds)
        confirmed = self.thresholds.confirm(who)
        self._threshold_sets += 1
        self._threshold_set_id = f"{self.session_id}/thresholds/{self._threshold_sets}"
        assert confirmed.confirmed_by is not None and confirmed.confirmed_at is not None
        self._record(
            ThresholdSetRecord(
                threshold_set_id=self._threshold_set_id,
                session_id=self.session_id,
                confirmed_by=confirmed.confirmed_by,
                confirmed_at=confirmed.confirmed_at,
                systolic_ceiling=confirmed.systolic_ceiling,
                diastolic_ceiling=confirmed.diastolic_ceiling,
                hypotension_floor=confirmed.hypotension_floor,
                spo2_floor=confirmed.spo2_floor,
                spo2_critical_floor=confirmed.spo2_critical_floor(self.config),
                pulse_floor=confirmed.pulse_floor,
                pulse_ceiling=confirmed.pulse_ceiling,
                mean_floor=confirmed.mean_floor,
                systolic_fall_pct=confirmed.systolic_fall_pct,
                mean_fall_pct=confirmed.mean_fall_pct,
                expected_rise_low=self.config.band.low_factor,
                expected_rise_high=self.config.band.high_factor,
            )
        )
        self._audit(
            confirmed.confirmed_by,
            "thresholds_confirmed",
            self.session_id,
            {"threshold_set_id": self._threshold_set_id},
        )
        self._changed()
        return confirmed

    def accept_suggested_thresholds(self, suggested: ThresholdSet, reason: str, who: str) -> ThresholdSet:
        """Confirm thresholds suggested after a follow-up's "adjust" outcome (DOC-7): a suggestion
        is never in force until a named clinician confirms it here; the confirmation is audited
        with the suggestion's reason."""
        if not who.strip():
            raise ThresholdError("a suggested threshold change is confirmed by a named clinician")
        confirmed = self.confirm_thresholds(who, replace(suggested, confirmed_by=None, confirmed_at=None))
        self._audit(
            who,
            "suggested_thresholds_confirmed",
            self.session_id,
            {"threshold_set_id": self._threshold_set_id, "reason": reason},
        )
        return confirmed

    def attest(self, item: ChecklistItem | DischargeAttestation, who: str) -> None:
        """A named clinician attests a readiness item (PRO-7) or a discharge criterion (DIS-1)."""
        if isinstance(item, ChecklistItem):
            done = self.session.attest(item, who)
            checklist, by, at = READINESS_CHECKLIST, done.by, done.at
        else:
            attested = self.discharge.attest(item, who)
            checklist, by, at = DISCHARGE_CHECKLIST, attested.by, attested.at
        self._record(AttestationRecord(self.session_id, checklist, item.value, by, at))
        self._changed()

    def start_infusion(self, who: str) -> None:
        """Start the infusion; refused until baseline, thresholds and checklist are done (THR-1)."""
        self._phase_record(self.session.start_infusion(who))
        self._changed()

    def end_infusion(self, who: str) -> None:
        """The infusion is over: recovery begins."""
        self._phase_record(self.session.end_infusion(who))
        self._changed()

    def discharge_patient(self, who: str) -> None:
        """Discharge; refused with every unmet criterion while DIS-1 is not met."""
        transition = self.session.discharge(who, self.discharge_status())
        self._phase_record(transition)
        self._record(SessionEndedRecord(self.session_id, transition.at))
        self._changed()

    def end_early(self, who: str, reason: str) -> None:
        """End the session early from any phase, with a reason."""
        transition = self.session.end_early(who, reason)
        self._phase_record(transition)
        self._record(SessionEndedRecord(self.session_id, transition.at))
        self._changed()

    # -- clinician actions: thresholds, NIBP, alarms ------------------------------------------------

    def change_threshold(
        self, field: ThresholdField, new: float | None, reason: str, who: str
    ) -> ThresholdChange:
        """Change one threshold, with a reason and a named clinician; recorded (THR-5)."""
        change = self.thresholds.change(field, new, reason, who)
        self._record(
            ThresholdChangeRecord(
                threshold_set_id=self._threshold_set_id,
                session_id=self.session_id,
                at=change.when,
                who=change.who,
                field=change.field.value,
                old=change.old,
                new=change.new,
                reason=change.reason,
            )
        )
        self._audit(
            change.who,
            "threshold_changed",
            self.session_id,
            {"field": change.field.value, "old": change.old, "new": change.new, "reason": change.reason},
        )
        self._changed()
        return change

    def add_note(self, who: str, text: str) -> NoteRecord:
        """A clinician's free-text note in the session record (DOC-1)."""
        person = require_clinician(who, "Adding a note")
        words = text.strip()
        if not words:
            raise ValueError("a note must say something")
        note = NoteRecord(self.session_id, self._clock.now(), person, words)
        self._record(note)
        self._changed()
        return note

    def record_medication(
        self, who: str, *, drug: str, dose: str, route: str, given_at: datetime, note: str = ""
    ) -> NoteRecord:
        """A medication given, as the clinician wrote it: drug, dose (free text, never computed),
        route and the time it was given (DOC-1)."""
        person = require_clinician(who, "Recording a medication")
        missing = [n for n, v in (("drug", drug), ("dose", dose), ("route", route)) if not v.strip()]
        if missing:
            raise ValueError(f"a medication given needs its {', '.join(missing)}")
        if given_at > self._clock.now():
            raise ValueError("the time a medication was given cannot be in the future")
        text = f"Medication given: {drug.strip()} | {dose.strip()} | {route.strip()} at {given_at:%H:%M}"
        if note.strip():
            text += f" ({note.strip()})"
        return self.add_note(person, text)

    def mark_event(self, who: str, words: str = "") -> NoteRecord:
        """An event marker at this moment, with optional words (DOC-1)."""
        at = self._clock.now()
        return self.add_note(
            who, f"Event marked at {at:%H:%M:%S}" + (f": {words.strip()}" if words.strip() else "")
        )

    def set_interval(self, minutes: int, who: str) -> None:
        """Set the session's NIBP interval (one of the allowed intervals, MON-2)."""
        self._interval_record(self.scheduler.set_interval(minutes, who))
        self._changed()

    def measure_now(self, who: str) -> None:
        """Start an NIBP cycle now (or prompt for it when the device has no remote start).

        This is the clinician's answer to a re-measure prompt, so that prompt is cleared."""
        action = self.scheduler.measure_now(who)
        self._prompts = [p for p in self._prompts if p.kind is not PromptKind.CONFIRM_REMEASURE]
        self._act(action)
        self._changed()

    def acknowledge(self, key: str, who: str) -> None:
        """Acknowledge one alarm by its key (ALM-3)."""
        self._alarm_events([self.alarms.acknowledge(key, who)])
        self._audit(who, "alarm_acknowledged", self.session_id, {"alarm": key})
        self._changed()

    def pause_audio(self, who: str, duration_s: float | None = None) -> None:
        """Pause the audio of the alarms active now for a bounded time (ALM-3)."""
        self._alarm_events([self.alarms.pause_audio(who, duration_s)])
        self._audit(who, "alarm_audio_paused", self.session_id, {"duration_s": duration_s})
        self._changed()

    def resume_audio(self, who: str) -> None:
        """End an audio pause early."""
        event = self.alarms.resume_audio(who)
        if event is not None:
            self._alarm_events([event])
            self._audit(who, "alarm_audio_resumed", self.session_id, {})
        self._changed()

    def dismiss_prompt(self, kind: PromptKind) -> None:
        """Remove the prompts of one kind (the clinician saw them)."""
        self._prompts = [p for p in self._prompts if p.kind is not kind]
        self._changed()

    # -- read-only views for the UI ---------------------------------------------------------------

    @property
    def phase(self) -> SessionPhase:
        """Where the session is."""
        return self.session.phase

    def active_alarms(self) -> list[ActiveAlarm]:
        """Alarms to show, most urgent first."""
        return self.alarms.active()

    def audio_state(self) -> AlarmPriority | None:
        """The priority whose tone sounds now, or None."""
        return self.alarms.audio_state()

    @property
    def audio_paused(self) -> bool:
        """True while an audio pause runs."""
        return self.alarms.audio_paused

    def pause_remaining_s(self) -> float:
        """Seconds left in the audio pause."""
        return self.alarms.pause_remaining_s()

    def seconds_to_next_nibp(self) -> float | None:
        """Countdown to the next NIBP cycle; None while the countdown is not running."""
        if not self.phase.nibp_cycles:
            return None
        return self.scheduler.seconds_to_next()

    @property
    def interval_min(self) -> int:
        """The NIBP interval in force now."""
        return self.scheduler.interval_min

    @property
    def session_interval_min(self) -> int:
        """The NIBP interval set for the session (the selector shows it; MON-2)."""
        return self.scheduler.session_interval_min

    @property
    def nibp_measuring(self) -> bool:
        """True while a cycle this session started (or the device reported started) has no result
        yet, for at most ``nibp.max_cycle_s`` (MON-2: the panel says "measuring...")."""
        since = self._cycle_since
        return since is not None and self._clock.monotonic() - since < self.config.nibp.max_cycle_s

    @property
    def prompts(self) -> tuple[Prompt, ...]:
        """Prompts waiting for the clinician, oldest first."""
        return tuple(self._prompts)

    @property
    def offered_protocols(self) -> tuple[OfferedProtocol, ...]:
        """Protocols offered so far, oldest first."""
        return tuple(self._offered)

    @property
    def alarm_events(self) -> tuple[AlarmEvent, ...]:
        """Every alarm event so far, oldest first."""
        return self.alarms.events

    def readings(self) -> tuple[ClassifiedReading, ...]:
        """Every NIBP reading with its band class, oldest first (for colouring the trend)."""
        return tuple(self._readings)

    def last_reading(self) -> ClassifiedReading | None:
        """The latest NIBP reading with its class."""
        return self._readings[-1] if self._readings else None

    def band_for_display(self) -> BandView | None:
        """The baseline, band limits and thresholds to draw; None before a baseline is confirmed."""
        band = self._band
        if band is None:
            return None
        return BandView(
            band.baseline_systolic,
            band.baseline_diastolic,
            band.systolic_limits,
            band.diastolic_limits,
            self._thresholds_in_force(),
        )

    def discharge_status(self) -> DischargeStatus:
        """Whether discharge is allowed now, with each unmet criterion (DIS-1)."""
        last = self._judged[-1] if self._judged else None
        unacknowledged = [a.title for a in self.alarms.active() if a.acknowledged_by is None]
        return self.discharge.evaluate(
            self.session.baseline,
            recovery_began=self.session.recovery_began,
            nibp=last,
            spo2=self._last_spo2,
            pulses=list(self._last_rates.values()),
            unacknowledged=unacknowledged,
        )

    # -- restart (MON-8) ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole clinical state as plain JSON (see ``bedside.workflow.session_state``)."""
        from bedside.workflow import session_state

        return session_state.capture(self)

    def restore(self, state: Mapping[str, Any], *, baseline_samples: Iterable[Observation] = ()) -> None:
        """Take back the state of a ``snapshot()`` after a restart, before any new data arrives.

        Raises ``SnapshotFormatError`` for a snapshot this version cannot read. A cycle that fell
        due while the monitor was down starts now; the last reading's judgement is given to the
        alarm system again so a BP alarm neither ends nor starts only because of the restart.
        """
        from bedside.workflow import session_state

        session_state.restore(self, state, baseline_samples=baseline_samples)
        band = self._band
        if self._judged and band is not None and self.thresholds.has_confirmed_set:
            self._alarm_events(self.alarms.nibp_judgement(self.thresholds.judge_nibp(self._judged[-1], band)))
        if self.phase.nibp_cycles:
            for action in self.scheduler.tick():
                self._act(action)
        log.info("clinical state restored: %s", self.phase.value)
        self._changed()

    def note_gap(self, since: datetime, until: datetime, *, station: str = "") -> MonitoringGap:
        """The monitor was not watching from ``since`` to ``until`` (a restart): recorded and shown.

        The one place a restart's gap enters the engine: the alarm system's MONITORING_GAP alarm
        (``AlarmManager.monitoring_gap(since, until)``) is raised here once the alarm system has it.
        """
        from bedside.workflow.session_state import MonitoringGap

        gap = MonitoringGap(since, max(since, until))
        self._gaps.append(gap)
        self._record(MonitoringGapRecord(self.session_id, gap.since, gap.until, station, gap.words))
        log.warning("monitoring gap: %s", gap.words)
        if gap.until > gap.since:
            # MON-8 / ALM-5: the gap sounds until a clinician acknowledges it.
            self._alarm_events(self.alarms.monitoring_gap(gap.since.astimezone(), gap.until.astimezone()))
        self._changed()
        return gap

    @property
    def monitoring_gaps(self) -> tuple[MonitoringGap, ...]:
        """Times the monitor was not watching this session, oldest first (MON-8)."""
        return tuple(self._gaps)

    # -- internals --------------------------------------------------------------------------------

    def _thresholds_in_force(self) -> ThresholdSet | None:
        return self.thresholds.current if self.thresholds.has_confirmed_set else None

    def _on_reading(self, reading: NibpReading) -> None:
        # A new reading answers any waiting "start the cycle" or "re-measure" prompt.
        self._prompts = [p for p in self._prompts if p.kind is PromptKind.SEND_FAILED]
        band = self._band
        if self.phase.builds_baseline or band is None or not self.thresholds.has_confirmed_set:
            # THR-8: judged in every phase, against the clinic's absolute limits (or the patient's
            # once confirmed); the baseline calculator itself refuses implausible or out-of-limit
            # readings, so a hypertensive reading alarms and never quietly becomes the baseline.
            if self.phase.builds_baseline:
                self.baseline_calculator.add_nibp(reading)
            early = self.thresholds.judge_nibp(reading, None)
            self._readings.append(ClassifiedReading.of(early))
            self._alarm_events(self.alarms.nibp_judgement(early))
            self._offer_protocol(early)
            return
        judgement = self.thresholds.judge_nibp(reading, band)
        self._readings.append(ClassifiedReading.of(judgement))
        self._alarm_events(self.alarms.nibp_judgement(judgement))
        trend = None
        if judgement.judged:
            self._judged.append(reading)
            # The projection looks to the cycle after this reading: when this reading answered a
            # cycle that was due (a prompted start), that is one interval from now, not "now".
            horizon = self.scheduler.next_cycle_at()
            if horizon <= reading.measured_at:
                horizon = reading.measured_at + timedelta(minutes=self.scheduler.interval_min)
            trend = self.trend.assess(self._judged, horizon, self.thresholds.current, band)
            if not trend.rising_toward_threshold:
                self._trend_flag = None  # the flag shows while the latest reading's trend holds
        actions, change = self.scheduler.on_reading(judgement, trend)
        if change is not None:
            self._interval_record(change)
        for action in actions:
            self._act(action)
        self._offer_protocol(judgement)

    def _offer_protocol(self, judgement: NibpJudgement) -> None:
        if self._protocols_for is not None:
            return  # offers follow the alarm conditions (``_offer_for_alarm``)
        if judgement.meaningful_spike and judgement.offered_protocol is not None:
            self._offer(judgement.offered_protocol, judgement.summary())

    def _offer_for_alarm(self, event: AlarmEvent) -> None:
        """PRO-8: an alarm condition that starts offers every written protocol linked to it."""
        if self._protocols_for is None or event.condition is None:
            return
        if event.kind is not AlarmEventKind.STARTED:
            return
        for protocol_id in self._protocols_for(event.condition.value):
            reason = f"{CONDITIONS[event.condition].title}: {event.message}"
            self._offer(protocol_id, reason, alarm_event_record(self.session_id, event))

    def _offer(self, protocol_id: str, reason: str, alarm: AlarmEventRecord | None = None) -> None:
        offer = OfferedProtocol(protocol_id, self._clock.now(), reason, alarm)
        self._offered.append(offer)
        log.info("offering protocol %s: %s", offer.protocol_id, offer.reason)

    def _act(self, action: NibpAction) -> None:
        if isinstance(action, StartCycle):
            send, command = self._send, self._start_command
            assert send is not None and command is not None  # device_can_start implies both
            try:
                send(command)
                self._cycle_since = self._clock.monotonic()
            except Exception as exc:  # a broken link must not lose the cycle silently
                log.exception("sending the NIBP start command failed")
                self._prompts.append(
                    Prompt(
                        PromptKind.SEND_FAILED,
                        action.at,
                        f"The NIBP start could not be sent ({exc}): start the cycle on the monitor now.",
                    )
                )
        elif isinstance(action, PromptClinician):
            self._prompts.append(Prompt(PromptKind.START_CYCLE, action.at, action.message))
        elif isinstance(action, ConfirmRemeasure):
            self._prompts.append(Prompt(PromptKind.CONFIRM_REMEASURE, action.at, action.message))
        elif isinstance(action, TrendFlag):
            # THR-6 at any interval: shown beside the NIBP and kept in the session record.
            self._trend_flag = action
            self._record(
                NoteRecord(self.session_id, action.at, "Bedside (THR-6)", f"BP trend: {action.reason}")
            )
            log.info("NIBP trend flag at %s: %s", action.at.isoformat(), action.reason)

    def _alarm_events(self, events: list[AlarmEvent]) -> None:
        for event in events:
            self._offer_for_alarm(event)
            self._record(alarm_event_record(self.session_id, event))

    def _phase_record(self, transition: PhaseTransition) -> None:
        self._record(
            PhaseTransitionRecord(
                self.session_id,
                transition.from_phase.value,
                transition.to_phase.value,
                transition.at,
                transition.by,
            )
        )

    def _interval_record(self, change: IntervalChange) -> None:
        self._record(
            NibpIntervalChangeRecord(
                session_id=self.session_id,
                at=change.at,
                old_interval_s=change.old_min * 60.0,
                new_interval_s=change.new_min * 60.0,
                reason=change.reason,
                who=change.by or "",
            )
        )

    def _changed(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # a broken view must not stop the clinical engine
                log.exception("clinical session listener failed")
