"""The alarm system (IEC 60601-1-8): conditions with onset delays, priorities, latching,
acknowledgement and a bounded audio pause (ALM-1..ALM-5, MON-1, MON-6..MON-8).

Feed it every observation (``observe``), every link event (``device_event``), the judgement of
every assembled NIBP reading (``nibp_judgement``), the health of its own outputs
(``audio_failed``, ``display_stalled``, ``recording_failed``) and a ``tick`` about once a second.
Each call returns the AlarmEvents it caused, in order; ``events`` keeps them all for the record.

The rules, so a clinician can predict what it does:

- Each vital is judged per kind AND per source (MON-7): SpO2, pulse rate (oximetry) and heart rate
  (ECG) from every device are separate streams with separate alarms, keyed
  ``alarm_key(condition, source)``. One device cannot mask another; HR cannot mask PR.
- A stream's value is its newest VALID, plausible sample (ALM-4). Flagged samples (low perfusion,
  artifact, searching, probe off, unknown, ``---``) neither confirm nor cancel anything: a pending
  onset keeps running, an active alarm stays. A valid sample on the safe side cancels a pending
  onset or ends the condition. Only when no valid sample has arrived for
  ``monitoring.no_valid_spo2_s`` is the value unknown: then nothing starts or ends, and for SpO2
  the technical "no valid SpO2" alarm says so. An unknown value never silently ends an alarm.
- A condition must be met for its configured delay (``alarm_delays_s``) before it alarms, so one
  artifact does not; it is met from the first valid sample past the limit. Judgement runs on every
  input and tick, so it alarms by ``delay + the time to the next input``.
- Time is arrival time (the engine's monotonic clock), always. A device clock ahead of this
  computer by more than ``monitoring.future_tolerance_s``, or behind by more than
  ``monitoring.past_tolerance_s`` (a wrong time zone), raises the technical "clock implausible"
  alarm for that device and never stops its values being judged (ALM-4).
- Extreme rates are urgent: a heart or pulse rate past the patient's limit and beyond
  ``extremes`` is HIGH priority; SpO2 below ``spo2.high_priority_below`` is HIGH (ALM-4).
- HR and PR that differ by more than ``pulse_deficit.min_difference_per_min`` for
  ``alarm_delays_s.pulse_deficit`` raise "pulse deficit" (MON-7); ``pulse_deficit()`` gives the
  difference for the screen.
- HIGH alarms latch: after the condition ends they stay shown until acknowledged. A return of the
  condition while latched is a new occurrence at once (the alarm is still shown): it sounds
  again, whatever pause or acknowledgement was running.
- One cable pull is one technical alarm (ALM-2): while a device's link is disconnected or silent,
  its other technical conditions (no valid SpO2, probe off, a silence under a disconnection,
  clock or data implausible, NIBP failed) are folded into the link's alarm, named in its message
  and their priority kept; an alarm one of them had already raised ends. Its physiological
  alarms are unaffected (their values are unknown, and unknown never ends an alarm).
- An alarm keeps its worst reading while it is shown, latched included (ALM-3): the lowest SpO2,
  rate or pressure, the highest rate or pressure, the largest deficit (``ActiveAlarm.worst_value``
  and ``worst_text``), kept across a restart.
- A pause covers only the alarms active when it was pressed, at their priority then; a new alarm,
  a new occurrence or an escalation sounds despite it. Pauses end by themselves (ALM-3).
- The alarm system watches itself (ALM-5): audio that cannot play, a display that stopped
  updating and a storage that cannot write are technical alarms; a restart's monitoring gap is an
  alarm that shows and sounds until acknowledged (MON-8).
- ``snapshot``/``restore`` carry active and latched alarms and a running pause across a restart;
  restore first, then report the gap with ``monitoring_gap``.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alarms.clinician import require_clinician
from alarms.conditions import CONDITIONS, ConditionId, alarm_key
from alarms.config import ClinicalConfig
from alarms.priority import AlarmPriority
from alarms.thresholds import NibpJudgement, ThresholdSet
from drivers.clock import Clock
from drivers.types import DeviceEvent, DeviceEventKind, Observation, Quality, VitalKind

log = logging.getLogger(__name__)

#: The continuous vitals the alarm system judges, each per source.
JUDGED_KINDS: tuple[VitalKind, ...] = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE)

#: The high and low conditions of each rate, and its name in an alarm message (MON-7).
_RATE_CONDITIONS: dict[VitalKind, tuple[ConditionId, ConditionId, str]] = {
    VitalKind.PULSE_RATE: (ConditionId.PULSE_HIGH, ConditionId.PULSE_LOW, "pulse"),
    VitalKind.HEART_RATE: (ConditionId.HR_HIGH, ConditionId.HR_LOW, "heart rate"),
}

#: Which way is worse for each condition that has a reading (ALM-3: a latched alarm keeps its worst
#: reading): -1 the lowest value is the worst, +1 the highest; a deficit compares sizes.
_WORSE_WAY: dict[ConditionId, int] = {
    ConditionId.SPO2_LOW: -1,
    ConditionId.PULSE_LOW: -1,
    ConditionId.HR_LOW: -1,
    ConditionId.BP_LOW: -1,
    ConditionId.PULSE_HIGH: 1,
    ConditionId.HR_HIGH: 1,
    ConditionId.BP_HIGH: 1,
    ConditionId.PULSE_DEFICIT: 1,
}

#: The version of the dictionary ``snapshot`` returns; ``restore`` refuses any other.
SNAPSHOT_VERSION = 1


class AlarmEventKind(enum.StrEnum):
    """What happened to an alarm or to the audio."""

    STARTED = "started"
    ENDED = "ended"
    ACKNOWLEDGED = "acknowledged"
    PAUSED = "paused"
    UNPAUSED = "unpaused"
    ESCALATED = "escalated"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """One record for storage and the view. ``person`` is None for automatic events.

    PAUSED/UNPAUSED concern the audio, not one alarm: their condition and priority are None.
    """

    kind: AlarmEventKind
    condition: ConditionId | None
    key: str
    priority: AlarmPriority | None
    at: datetime
    person: str | None
    message: str
    source: str = ""


@dataclass(frozen=True, slots=True)
class ActiveAlarm:
    """An alarm as the alarm bar shows it."""

    key: str
    condition: ConditionId
    source: str
    priority: AlarmPriority
    title: str
    message: str
    started_at: datetime
    present: bool
    latched: bool
    acknowledged_by: str | None
    sounding: bool
    technical: bool
    #: The worst reading while this alarm was shown (lowest SpO2, highest BP ...), as a number
    #: (systolic for BP, the difference's size for a pulse deficit) and in words with its time,
    #: e.g. "worst SpO2 82 % at 10:42:13"; None/"" for alarms without a reading (ALM-3).
    worst_value: float | None = None
    worst_text: str = ""


class UnknownAlarmError(KeyError):
    """Acknowledging an alarm key that is not active."""


class AudioPauseError(ValueError):
    """A pause duration outside (0, audio_pause.max_s]."""


class MonitoringGapError(ValueError):
    """A monitoring gap whose end is not after its start (the times passed are wrong)."""


class AlarmStateError(ValueError):
    """A saved alarm state that cannot be restored (wrong version, missing or malformed entry)."""


@dataclass(slots=True)
class _Alarm:
    key: str
    condition: ConditionId
    source: str
    priority: AlarmPriority
    message: str
    started_at: datetime
    occurrence: int
    present: bool = True
    acknowledged_by: str | None = None
    ack_until_mono: float | None = None
    ack_priority: AlarmPriority | None = None
    worst_value: float | None = None
    worst_text: str = ""


@dataclass(frozen=True, slots=True)
class _Raw:
    """A condition's state right now: present (with priority and words), absent, or unknown;
    ``value``/``value_text`` is the reading that makes it so (compared for the worst, ALM-3)."""

    condition: ConditionId
    present: bool | None
    priority: AlarmPriority
    message: str = ""
    source: str = ""
    value: float | None = None
    value_text: str = ""


@dataclass(slots=True)
class _Stream:
    """One kind of vital from one device: its newest valid, plausible value and when it arrived."""

    first_mono: float
    value: float | None = None
    valid_mono: float | None = None

    def known(self, mono: float, max_age_s: float) -> float | None:
        """The newest valid value while it is younger than ``max_age_s``, else None (unknown)."""
        if self.valid_mono is None or mono - self.valid_mono >= max_age_s:
            return None
        return self.value


class AlarmManager:
    """The alarm system: turns observations, link events and NIBP judgements into prioritised
    alarms, and keeps their acknowledgement, latching and audio-pause state."""

    def __init__(
        self,
        clock: Clock,
        config: ClinicalConfig,
        thresholds: Callable[[], ThresholdSet | None] | None = None,
    ) -> None:
        """``thresholds`` returns the set in force (e.g. from a ThresholdBook); the clinic's
        defaults apply while it returns None."""
        self._clock = clock
        self._config = config
        # The clinic's default set, built once (immutable): every evaluation before the patient's
        # set is confirmed judges against it (THR-8).
        self._clinic_default = ThresholdSet.clinic_default(config)
        self._thresholds = thresholds or (lambda: None)
        self._alarms: dict[str, _Alarm] = {}
        self._pending: dict[str, float] = {}
        self._occurrences = 0
        self._events: list[AlarmEvent] = []
        self._pause_until: float | None = None
        self._pause_covers: dict[int, AlarmPriority] = {}
        self._streams: dict[tuple[VitalKind, str], _Stream] = {}
        self._deficits: dict[str, float] = {}
        self._bp: NibpJudgement | None = None
        self._probe_off: set[str] = set()
        self._nibp_failed: set[str] = set()
        self._disconnected: set[str] = set()
        self._recording_problem: str | None = None
        self._audio_problem: str | None = None
        self._display_problem: str | None = None
        self._silent: set[str] = set()
        self._clock_skew: dict[str, str] = {}
        self._data_bad: dict[str, set[VitalKind]] = {}
        # Technical alarms restored after a restart: kept until their input speaks again.
        self._held: set[str] = set()

    # -- inputs ---------------------------------------------------------------------------------

    def observe(self, obs: Observation) -> list[AlarmEvent]:
        """Take one observation as it arrives; returns the events it caused."""
        mono = self._clock.monotonic()
        self._release_held(lambda a: bool(a.source) and a.source == obs.source)
        self._check_device_clock(obs)
        # A value the device cannot have measured (drivers/ranges.py) is implausible data too (ALM-2).
        plausible = obs.value is None or (
            obs.quality is not Quality.IMPLAUSIBLE and self._config.is_possible(obs.kind, obs.value)
        )
        bad = self._data_bad.setdefault(obs.source, set())
        if not plausible:
            bad.add(obs.kind)
        elif obs.is_valid:
            bad.discard(obs.kind)
        if obs.kind in JUDGED_KINDS:
            stream = self._streams.setdefault((obs.kind, obs.source), _Stream(first_mono=mono))
            if obs.is_valid and plausible:
                stream.value = obs.value
                stream.valid_mono = mono
            if obs.kind is VitalKind.SPO2:
                if obs.quality is Quality.PROBE_OFF:
                    self._probe_off.add(obs.source)
                else:
                    self._probe_off.discard(obs.source)
        elif obs.kind.is_nibp:
            if obs.quality is Quality.CUFF_ERROR:
                self._nibp_failed.add(obs.source)
            elif obs.is_valid:
                self._nibp_failed.discard(obs.source)
        return self._evaluate()

    def device_event(self, event: DeviceEvent) -> list[AlarmEvent]:
        """Take a link event (connect, disconnect, silence, NIBP failure)."""
        kind, source = event.kind, event.source
        self._release_held(lambda a: bool(a.source) and a.source == source)
        if kind in (DeviceEventKind.DISCONNECTED, DeviceEventKind.SENDER_REFUSED):
            # A sender the HL7 listener turned away is a link whose data is not arriving (ALM-2).
            self._disconnected.add(source)
        elif kind is DeviceEventKind.CONNECTED:
            self._disconnected.discard(source)
            self._silent.discard(source)
        elif kind is DeviceEventKind.SILENT:
            self._silent.add(source)
        elif kind is DeviceEventKind.RESUMED:
            self._silent.discard(source)
        elif kind is DeviceEventKind.NIBP_FAILED:
            self._nibp_failed.add(source)
        return self._evaluate()

    def recording_failed(self, failed: bool, reason: str = "") -> list[AlarmEvent]:
        """Storage cannot write (True) or has recovered (False): a technical alarm, never silent."""
        self._release_held(lambda a: a.condition is ConditionId.RECORDING_FAILED)
        self._recording_problem = (reason or "storage cannot write") if failed else None
        return self._evaluate()

    def audio_failed(self, failed: bool, reason: str = "") -> list[AlarmEvent]:
        """The alarm sound cannot play (True) or plays again (False): a technical alarm (ALM-5)."""
        self._release_held(lambda a: a.condition is ConditionId.AUDIO_UNAVAILABLE)
        self._audio_problem = (reason or "no audio output") if failed else None
        return self._evaluate()

    def display_stalled(self, stalled: bool, detail: str = "") -> list[AlarmEvent]:
        """The screen stopped updating (True) or updates again (False): a technical alarm (ALM-5)."""
        self._release_held(lambda a: a.condition is ConditionId.DISPLAY_STALLED)
        self._display_problem = (detail or "no repaint") if stalled else None
        return self._evaluate()

    def monitoring_gap(self, since: datetime, until: datetime) -> list[AlarmEvent]:
        """Nothing was monitored from ``since`` to ``until`` (the monitor restarted): a one-shot
        alarm, latched from the start, shown and sounding until acknowledged (MON-8, ALM-5).

        The times are printed as given, so pass them in the clinic's local time. Reporting the
        same gap twice raises one alarm.
        """
        seconds = (until - since).total_seconds()
        if seconds <= 0:
            raise MonitoringGapError(
                f"a monitoring gap must end after it starts: {since.isoformat()} to {until.isoformat()}"
            )
        key = alarm_key(ConditionId.MONITORING_GAP, since.isoformat(timespec="seconds"))
        if key in self._alarms:
            return self._evaluate()
        message = (
            f"no monitoring from {since:%H:%M:%S} to {until:%H:%M:%S} ({_duration(seconds)}): "
            "the monitor restarted"
        )
        self._occurrences += 1
        spec = CONDITIONS[ConditionId.MONITORING_GAP]
        gap = _Alarm(
            key, spec.condition, "", spec.priority, message, self._clock.now(), self._occurrences, False
        )
        self._alarms[key] = gap
        log.warning("monitoring gap: %s", message)
        return [self._record(AlarmEventKind.STARTED, gap, message, None), *self._evaluate()]

    def protocol_timer_due(self, timer: str, step_text: str, due_at: datetime) -> list[AlarmEvent]:
        """A written protocol's timer (e.g. the 5-minute BP recheck) has run out: a medium technical
        alarm, latched from the start, sounding until a clinician acknowledges it (PRO-2, ALM-3).

        ``timer`` names the run and step (one alarm per timer falling due: telling the same timer
        twice raises one alarm; after an acknowledgement a timer that falls due again alarms again).
        ``due_at`` is printed as given, so pass the clinic's local time.
        """
        key = alarm_key(ConditionId.PROTOCOL_TIMER_DUE, f"{timer}@{due_at.isoformat(timespec='seconds')}")
        if key in self._alarms:
            return self._evaluate()
        message = f"due at {due_at:%H:%M:%S}: {step_text}"
        self._occurrences += 1
        spec = CONDITIONS[ConditionId.PROTOCOL_TIMER_DUE]
        # Not present: no later input ends it, only an acknowledgement clears it.
        due = _Alarm(
            key, spec.condition, "", spec.priority, message, self._clock.now(), self._occurrences, False
        )
        self._alarms[key] = due
        log.warning("protocol timer due: %s", message)
        return [self._record(AlarmEventKind.STARTED, due, message, None), *self._evaluate()]

    def nibp_judgement(self, judgement: NibpJudgement) -> list[AlarmEvent]:
        """Take the judgement of an assembled NIBP reading; an unjudged one changes nothing."""
        if judgement.judged:
            self._bp = judgement
        return self._evaluate()

    def tick(self) -> list[AlarmEvent]:
        """Advance time-based rules (delays, no-signal, pause expiry); call about once a second."""
        return self._evaluate()

    # -- operator actions -----------------------------------------------------------------------

    def acknowledge(self, key: str, person: str) -> AlarmEvent:
        """Acknowledge an alarm: a latched alarm whose condition ended is cleared; an alarm still
        present is silenced for the default pause time, then sounds again if it persists."""
        who = require_clinician(person, "Acknowledging an alarm")
        alarm = self._alarms.get(key)
        if alarm is None:
            raise UnknownAlarmError(f"no active alarm {key!r} to acknowledge")
        event = self._record(AlarmEventKind.ACKNOWLEDGED, alarm, alarm.message, who)
        if alarm.present:
            alarm.acknowledged_by = who
            alarm.ack_until_mono = self._clock.monotonic() + self._config.audio_pause.default_s
            alarm.ack_priority = alarm.priority
        else:
            del self._alarms[key]
            self._held.discard(key)
        return event

    def pause_audio(self, person: str, duration_s: float | None = None) -> AlarmEvent:
        """Pause the audio of the alarms active now for a bounded time (ALM-3)."""
        who = require_clinician(person, "Pausing alarm audio")
        limits = self._config.audio_pause
        duration = limits.default_s if duration_s is None else duration_s
        if not 0 < duration <= limits.max_s:
            raise AudioPauseError(
                f"an audio pause lasts more than 0 and at most {limits.max_s:g} s, not {duration:g}"
            )
        self._pause_until = self._clock.monotonic() + duration
        self._pause_covers = {a.occurrence: a.priority for a in self._alarms.values()}
        names = ", ".join(sorted(self._alarms)) or "no active alarm"
        return self._audio_event(AlarmEventKind.PAUSED, who, f"audio paused for {duration:g} s ({names})")

    def resume_audio(self, person: str) -> AlarmEvent | None:
        """End an audio pause early; None when no pause is running."""
        who = require_clinician(person, "Resuming alarm audio")
        if self._pause_until is None:
            return None
        self._pause_until = None
        self._pause_covers = {}
        return self._audio_event(AlarmEventKind.UNPAUSED, who, "audio resumed")

    # -- outputs --------------------------------------------------------------------------------

    def active(self) -> list[ActiveAlarm]:
        """Alarms to show, most urgent first, then oldest first."""
        mono = self._clock.monotonic()
        shown = [
            ActiveAlarm(
                key=a.key,
                condition=a.condition,
                source=a.source,
                priority=a.priority,
                title=CONDITIONS[a.condition].title,
                message=a.message,
                started_at=a.started_at,
                present=a.present,
                latched=not a.present,
                acknowledged_by=a.acknowledged_by,
                sounding=self._sounding(a, mono),
                technical=CONDITIONS[a.condition].technical,
                worst_value=a.worst_value,
                worst_text=a.worst_text,
            )
            for a in self._alarms.values()
        ]
        return sorted(shown, key=lambda a: (-a.priority, a.started_at, a.key))

    def audio_state(self) -> AlarmPriority | None:
        """The priority whose tone should sound now, or None for silence."""
        mono = self._clock.monotonic()
        sounding = [a.priority for a in self._alarms.values() if self._sounding(a, mono)]
        return max(sounding) if sounding else None

    @property
    def audio_paused(self) -> bool:
        """True while an audio pause runs."""
        return self._pause_until is not None

    @property
    def audio_unavailable(self) -> bool:
        """True while the alarm sound is reported unable to play (the screen must say so)."""
        return self._audio_problem is not None

    def pause_remaining_s(self) -> float:
        """Seconds left in the audio pause (0 when none)."""
        if self._pause_until is None:
            return 0.0
        return max(0.0, self._pause_until - self._clock.monotonic())

    def pulse_deficit(self) -> float | None:
        """HR minus PR (/min) while a pulse-deficit alarm is present (sustained past its delay),
        the largest if several monitors have one; None when there is no sustained deficit. While
        HR or PR is unknown the last difference judged is given (the alarm is still shown)."""
        present = [
            self._deficits[a.key]
            for a in self._alarms.values()
            if a.condition is ConditionId.PULSE_DEFICIT and a.present and a.key in self._deficits
        ]
        return max(present, key=abs) if present else None

    @property
    def events(self) -> tuple[AlarmEvent, ...]:
        """Every event so far, oldest first."""
        return tuple(self._events)

    # -- restart (MON-8) ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The state a restarted monitor needs, as plain JSON-serialisable data (MON-8): every
        active and latched alarm, the running audio pause and the occurrence counter."""
        mono = self._clock.monotonic()
        by_occurrence = {a.occurrence: a for a in self._alarms.values()}
        pause: dict[str, Any] | None = None
        if self._pause_until is not None:
            pause = {
                "remaining_s": self.pause_remaining_s(),
                "covers": [
                    {"key": by_occurrence[n].key, "occurrence": n, "priority": p.name.lower()}
                    for n, p in sorted(self._pause_covers.items())
                    if n in by_occurrence
                ],
            }
        return {
            "version": SNAPSHOT_VERSION,
            "taken_at": self._clock.now().isoformat(),
            "occurrences": self._occurrences,
            "alarms": [
                {
                    "key": a.key,
                    "condition": a.condition.value,
                    "source": a.source,
                    "priority": a.priority.name.lower(),
                    "message": a.message,
                    "started_at": a.started_at.isoformat(),
                    "present": a.present,
                    "acknowledged_by": a.acknowledged_by,
                    "ack_remaining_s": (
                        max(0.0, a.ack_until_mono - mono) if a.ack_until_mono is not None else None
                    ),
                    "ack_priority": a.ack_priority.name.lower() if a.ack_priority is not None else None,
                    "occurrence": a.occurrence,
                    "worst_value": a.worst_value,
                    "worst_text": a.worst_text,
                }
                for a in sorted(self._alarms.values(), key=lambda a: a.occurrence)
            ],
            "audio_pause": pause,
            "streams": [{"kind": k.value, "source": s} for k, s in sorted(self._streams)],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Re-establish a ``snapshot`` in this fresh manager after a restart (MON-8).

        Latched alarms stay latched until acknowledged; a running pause resumes with what is left
        of it once the time the monitor was down is counted (wall time since ``taken_at``), so a
        pause never outlasts its bound by a crash; physiological alarms that were present stay
        shown as present until fresh valid data ends them; technical alarms stay until their
        device or output reports again. Every stream watched before is watched again, so a
        device that never returns raises "no valid SpO2" as usual. Raises AlarmStateError for a
        state it cannot trust.
        """
        # The alarm system's watch on itself (sound, display, recording) starts with the app, before
        # the stored state is read; those live alarms are kept beside the restored ones.
        own = {ConditionId.AUDIO_UNAVAILABLE, ConditionId.DISPLAY_STALLED, ConditionId.RECORDING_FAILED}
        if (
            self._streams
            or any(a.condition not in own for a in self._alarms.values())
            or any(e.condition not in own for e in self._events)
        ):
            raise AlarmStateError(
                "alarm state can only be restored into a freshly started alarm system: "
                "restore it before any data or monitoring gap is reported"
            )
        try:
            # Everything is parsed before anything is kept, so a damaged state changes nothing.
            self._restore(state)
        except AlarmStateError:
            raise
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise AlarmStateError(f"the saved alarm state is damaged and was not restored: {exc!r}") from exc

    def _restore(self, state: Mapping[str, Any]) -> None:
        if state.get("version") != SNAPSHOT_VERSION:
            raise AlarmStateError(
                f"the saved alarm state has version {state.get('version')!r}; "
                f"this Bedside reads version {SNAPSHOT_VERSION}"
            )
        mono = self._clock.monotonic()
        taken_at = state.get("taken_at")
        down_s = 0.0
        if taken_at is not None:
            down_s = max(0.0, (self._clock.now() - datetime.fromisoformat(str(taken_at))).total_seconds())
        alarms: dict[str, _Alarm] = {}
        for item in state["alarms"]:
            ack_remaining = item.get("ack_remaining_s")
            if ack_remaining is not None and float(ack_remaining) - down_s <= 0:
                ack_remaining = 0.0
            elif ack_remaining is not None:
                ack_remaining = float(ack_remaining) - down_s
            ack_priority = item.get("ack_priority")
            alarm = _Alarm(
                key=str(item["key"]),
                condition=ConditionId(item["condition"]),
                source=str(item["source"]),
                priority=_priority(item["priority"]),
                message=str(item["message"]),
                started_at=datetime.fromisoformat(item["started_at"]),
                occurrence=int(item["occurrence"]),
                present=bool(item["present"]),
                acknowledged_by=None if item["acknowledged_by"] is None else str(item["acknowledged_by"]),
                ack_until_mono=None if ack_remaining is None else mono + float(ack_remaining),
                ack_priority=None if ack_priority is None else _priority(ack_priority),
                # A state saved before the worst reading was kept has none.
                worst_value=None if item.get("worst_value") is None else float(item["worst_value"]),
                worst_text=str(item.get("worst_text") or ""),
            )
            alarms[alarm.key] = alarm
        streams = {
            (VitalKind(s["kind"]), str(s["source"])): _Stream(first_mono=mono)
            for s in state.get("streams", [])
        }
        pause = state.get("audio_pause")
        covers: dict[int, AlarmPriority] = {}
        pause_until: float | None = None
        if pause is not None and float(pause["remaining_s"]) - down_s > 0:
            pause_until = mono + float(pause["remaining_s"]) - down_s
            covers = {int(c["occurrence"]): _priority(c["priority"]) for c in pause["covers"]}
        occurrences = int(state["occurrences"])
        if alarms and occurrences < max(a.occurrence for a in alarms.values()):
            raise AlarmStateError("the saved alarm state counts fewer occurrences than it holds alarms")
        live = dict(self._alarms)
        for key, current in sorted(live.items(), key=lambda item: item[1].occurrence):
            occurrences += 1
            current.occurrence = occurrences
            alarms[key] = current
        self._alarms = alarms
        self._streams = streams
        self._occurrences = occurrences
        self._pause_until = pause_until
        self._pause_covers = covers
        self._held = {
            a.key
            for a in alarms.values()
            if a.present and CONDITIONS[a.condition].technical and a.key not in live
        }
        log.info(
            "alarm state restored: %d alarm(s), pause %s",
            len(alarms),
            "running" if pause_until is not None else "none",
        )

    # -- evaluation -----------------------------------------------------------------------------

    def _release_held(self, matches: Callable[[_Alarm], bool]) -> None:
        for key in list(self._held):
            alarm = self._alarms.get(key)
            if alarm is None or matches(alarm):
                self._held.discard(key)

    def _check_device_clock(self, obs: Observation) -> None:
        """Note (or clear) an implausible device clock; never stops judgement (ALM-4)."""
        monitoring = self._config.monitoring
        if obs.measured_at == obs.received_at:
            # No device time (the driver stamped arrival): it says nothing about the device
            # clock, so a monitor mixing timed and untimed values does not flap the alarm.
            return
        try:
            skew = (obs.measured_at - obs.received_at).total_seconds()
        except TypeError:
            # One time without a zone cannot be compared: the device time cannot be trusted.
            self._clock_skew[obs.source] = "the device time has no time zone"
            return
        if skew > monitoring.future_tolerance_s:
            self._clock_skew[obs.source] = f"the device clock is {_duration(skew)} ahead of this computer"
        elif -skew > monitoring.past_tolerance_s:
            self._clock_skew[obs.source] = f"the device clock is {_duration(-skew)} behind this computer"
        else:
            self._clock_skew.pop(obs.source, None)

    def _sounding(self, alarm: _Alarm, mono: float) -> bool:
        if (
            self._pause_until is not None
            and alarm.occurrence in self._pause_covers
            and alarm.priority <= self._pause_covers[alarm.occurrence]
        ):
            return False
        return not (
            alarm.ack_until_mono is not None
            and mono < alarm.ack_until_mono
            and alarm.ack_priority is not None
            and alarm.priority <= alarm.ack_priority
        )

    def _evaluate(self) -> list[AlarmEvent]:
        mono = self._clock.monotonic()
        out: list[AlarmEvent] = []
        if self._pause_until is not None and mono >= self._pause_until:
            self._pause_until = None
            self._pause_covers = {}
            out.append(self._audio_event(AlarmEventKind.UNPAUSED, None, "audio pause ended"))
        raws = {alarm_key(r.condition, r.source): r for r in self._raw_conditions(mono)}
        for key, raw in raws.items():
            alarm = self._alarms.get(key)
            if raw.present is None:
                # Unknown: neither starts nor ends; a pending onset must be met again by data.
                self._pending.pop(key, None)
                continue
            if not raw.present:
                self._pending.pop(key, None)
                if alarm is not None and alarm.present and key not in self._held:
                    out.append(self._end(alarm))
                continue
            if alarm is not None:
                alarm.message = raw.message
                self._keep_worst(alarm, raw)
                if not alarm.present:
                    out.append(self._recur(alarm, raw))
                elif raw.priority > alarm.priority:
                    alarm.priority = raw.priority
                    out.append(self._record(AlarmEventKind.ESCALATED, alarm, raw.message, None))
                continue
            since = self._pending.setdefault(key, mono)
            if mono - since >= self._config.delay_s(raw.condition):
                del self._pending[key]
                out.append(self._start(key, raw))
        # Technical per-device conditions vanish from ``raws`` when their source recovers; a
        # physiological alarm without a stream is unknown, and unknown never ends an alarm.
        for key, alarm in list(self._alarms.items()):
            if (
                key not in raws
                and alarm.present
                and key not in self._held
                and CONDITIONS[alarm.condition].technical
            ):
                out.append(self._end(alarm))
        for key in list(self._pending):
            if key not in raws:
                del self._pending[key]
        return out

    def _keep_worst(self, alarm: _Alarm, raw: _Raw) -> None:
        """Remember the worst reading while the alarm is shown, latched ones included (ALM-3)."""
        way = _WORSE_WAY.get(alarm.condition)
        if way is None or raw.value is None:
            return
        value = abs(raw.value) if alarm.condition is ConditionId.PULSE_DEFICIT else raw.value
        if alarm.worst_value is None or way * (value - alarm.worst_value) > 0:
            alarm.worst_value = value
            alarm.worst_text = f"worst {raw.value_text} at {self._clock.now().astimezone():%H:%M:%S}"

    def _start(self, key: str, raw: _Raw) -> AlarmEvent:
        self._occurrences += 1
        alarm = _Alarm(
            key, raw.condition, raw.source, raw.priority, raw.message, self._clock.now(), self._occurrences
        )
        self._keep_worst(alarm, raw)
        self._alarms[key] = alarm
        log.info("alarm started: %s (%s) %s", key, raw.priority.text, raw.message)
        return self._record(AlarmEventKind.STARTED, alarm, raw.message, None)

    def _recur(self, alarm: _Alarm, raw: _Raw) -> AlarmEvent:
        """A latched alarm whose condition returns: a new occurrence that sounds (ALM-3), even
        during an audio pause that covered the first one."""
        self._occurrences += 1
        alarm.occurrence = self._occurrences
        alarm.present = True
        alarm.started_at = self._clock.now()
        alarm.priority = max(alarm.priority, raw.priority)
        alarm.acknowledged_by = None
        alarm.ack_until_mono = None
        alarm.ack_priority = None
        log.info("alarm returned: %s (%s) %s", alarm.key, alarm.priority.text, raw.message)
        return self._record(AlarmEventKind.STARTED, alarm, raw.message, None)

    def _end(self, alarm: _Alarm) -> AlarmEvent:
        alarm.present = False
        latched = alarm.priority is AlarmPriority.HIGH and alarm.acknowledged_by is None
        if not latched:
            del self._alarms[alarm.key]
        note = "condition ended; latched until acknowledged" if latched else "condition ended"
        return self._record(AlarmEventKind.ENDED, alarm, note, None)

    def _record(self, kind: AlarmEventKind, alarm: _Alarm, message: str, person: str | None) -> AlarmEvent:
        event = AlarmEvent(
            kind, alarm.condition, alarm.key, alarm.priority, self._clock.now(), person, message, alarm.source
        )
        self._events.append(event)
        return event

    def _audio_event(self, kind: AlarmEventKind, person: str | None, message: str) -> AlarmEvent:
        event = AlarmEvent(kind, None, "", None, self._clock.now(), person, message)
        self._events.append(event)
        return event

    # -- the conditions -------------------------------------------------------------------------

    def _raw_conditions(self, mono: float) -> list[_Raw]:
        limits = self._thresholds() or self._clinic_default
        no_valid_s = self._config.monitoring.no_valid_spo2_s
        raws: list[_Raw] = []
        for (kind, source), stream in sorted(self._streams.items()):
            value = stream.known(mono, no_valid_s)
            if kind is VitalKind.SPO2:
                raws.append(self._spo2_low(source, value, limits))
                raws.append(self._spo2_no_signal(source, stream, mono, no_valid_s))
            else:
                raws += self._rate(kind, source, value, limits)
        raws += self._pulse_deficits(mono, no_valid_s)

        bp = self._bp
        if bp is None:
            raws.append(_Raw(ConditionId.BP_HIGH, False, AlarmPriority.MEDIUM))
            raws.append(_Raw(ConditionId.BP_LOW, False, AlarmPriority.MEDIUM))
        else:
            high, low = bp.bp_high, bp.bp_low
            r = bp.reading
            bp_text = (
                f"BP {r.systolic:g}/{r.diastolic:g} mmHg"
                if r.systolic is not None and r.diastolic is not None
                else ""
            )
            raws.append(
                _Raw(
                    ConditionId.BP_HIGH,
                    high is not None,
                    high or AlarmPriority.MEDIUM,
                    bp.summary(),
                    value=r.systolic,
                    value_text=bp_text,
                )
            )
            raws.append(
                _Raw(
                    ConditionId.BP_LOW,
                    low is not None,
                    low or AlarmPriority.MEDIUM,
                    bp.summary(),
                    value=r.systolic,
                    value_text=bp_text,
                )
            )

        problems: list[tuple[ConditionId, str | None, str]] = [
            (ConditionId.RECORDING_FAILED, self._recording_problem, "records are held in memory: {}"),
            (
                ConditionId.AUDIO_UNAVAILABLE,
                self._audio_problem,
                "the alarm sound cannot play ({}): watch the screen",
            ),
            (
                ConditionId.DISPLAY_STALLED,
                self._display_problem,
                "the screen stopped updating ({}): values shown may be old",
            ),
        ]
        for condition, problem, words in problems:
            raws.append(
                _Raw(
                    condition,
                    problem is not None,
                    CONDITIONS[condition].priority,
                    words.format(problem) if problem is not None else "",
                )
            )
        per_device: list[tuple[ConditionId, set[str], str]] = [
            (ConditionId.SPO2_PROBE_OFF, self._probe_off, "the oximeter reports the probe off"),
            (ConditionId.NIBP_FAILED, self._nibp_failed, "the NIBP cycle failed (cuff or measurement error)"),
            (ConditionId.DEVICE_DISCONNECTED, self._disconnected, "the device link is down"),
            (ConditionId.DEVICE_SILENT, self._silent, "the device has stopped sending"),
        ]
        for condition, sources, words in per_device:
            for source in sorted(sources):
                raws.append(
                    _Raw(condition, True, CONDITIONS[condition].priority, f"{source}: {words}", source)
                )
        for source, skew_words in sorted(self._clock_skew.items()):
            raws.append(
                _Raw(
                    ConditionId.CLOCK_IMPLAUSIBLE,
                    True,
                    CONDITIONS[ConditionId.CLOCK_IMPLAUSIBLE].priority,
                    f"{source}: {skew_words}; its values are judged on arrival time",
                    source,
                )
            )
        for source, kinds in sorted(self._data_bad.items()):
            if kinds:
                names = ", ".join(sorted(k.value for k in kinds))
                raws.append(
                    _Raw(
                        ConditionId.DATA_IMPLAUSIBLE,
                        True,
                        CONDITIONS[ConditionId.DATA_IMPLAUSIBLE].priority,
                        f"{source}: {names} outside the possible range",
                        source,
                    )
                )
        return self._fold_under_link(raws)

    def _fold_under_link(self, raws: list[_Raw]) -> list[_Raw]:
        """One technical alarm per dead device (ALM-2): while a device's link is down or silent,
        its other technical conditions (no valid SpO2, probe off, a silent link under a
        disconnected one ...) are what the dead link causes, so they are folded into the link's
        alarm (named in its message, the higher priority kept) instead of alarming on their own."""
        down = self._disconnected | self._silent
        if not down:
            return raws
        link_of = {
            source: (
                ConditionId.DEVICE_DISCONNECTED if source in self._disconnected else ConditionId.DEVICE_SILENT
            )
            for source in down
        }
        folded: dict[str, list[_Raw]] = {}
        kept: list[_Raw] = []
        for raw in raws:
            link = link_of.get(raw.source)
            spec = CONDITIONS[raw.condition]
            if link is not None and spec.technical and spec.per_device and raw.condition is not link:
                if raw.present:
                    folded.setdefault(raw.source, []).append(raw)
                # Absent, not dropped: an alarm it had already raised ends, folded into the link's.
                kept.append(_Raw(raw.condition, False, raw.priority, source=raw.source))
            else:
                kept.append(raw)
        out: list[_Raw] = []
        for raw in kept:
            is_link = raw.present and link_of.get(raw.source) is raw.condition
            under = folded.get(raw.source, []) if is_link else []
            if not under:
                out.append(raw)
                continue
            notes = "; ".join(r.message.removeprefix(f"{raw.source}: ") for r in under)
            out.append(
                _Raw(
                    raw.condition,
                    True,
                    max([raw.priority, *(r.priority for r in under)]),
                    f"{raw.message} (so: {notes})",
                    raw.source,
                )
            )
        return out

    def _spo2_low(self, source: str, spo2: float | None, limits: ThresholdSet) -> _Raw:
        if spo2 is None:
            return _Raw(ConditionId.SPO2_LOW, None, AlarmPriority.MEDIUM, source=source)
        high_below = limits.spo2_critical_floor(self._config)
        return _Raw(
            ConditionId.SPO2_LOW,
            spo2 < limits.spo2_floor,
            AlarmPriority.HIGH if spo2 < high_below else AlarmPriority.MEDIUM,
            f"{source}: SpO2 {spo2:g} % below floor {limits.spo2_floor:g} %",
            source,
            spo2,
            f"SpO2 {spo2:g} %",
        )

    @staticmethod
    def _spo2_no_signal(source: str, stream: _Stream, mono: float, no_valid_s: float) -> _Raw:
        last_valid = stream.valid_mono if stream.valid_mono is not None else stream.first_mono
        silent_s = mono - last_valid
        return _Raw(
            ConditionId.SPO2_NO_SIGNAL,
            silent_s >= no_valid_s,
            CONDITIONS[ConditionId.SPO2_NO_SIGNAL].priority,
            f"{source}: no valid SpO2 for {silent_s:.0f} s" if silent_s >= no_valid_s else "",
            source,
        )

    def _rate(self, kind: VitalKind, source: str, rate: float | None, limits: ThresholdSet) -> list[_Raw]:
        """High and low for one heart-rate or pulse-rate stream, with the extreme HIGH tiers."""
        high, low, name = _RATE_CONDITIONS[kind]
        if rate is None:
            return [
                _Raw(high, None, AlarmPriority.MEDIUM, source=source),
                _Raw(low, None, AlarmPriority.MEDIUM, source=source),
            ]
        tiers = self._config.extremes
        return [
            _Raw(
                high,
                rate > limits.pulse_ceiling,
                AlarmPriority.HIGH if rate > tiers.rate_high_priority_above else AlarmPriority.MEDIUM,
                f"{source}: {name} {rate:g} /min above {limits.pulse_ceiling:g}",
                source,
                rate,
                f"{name} {rate:g} /min",
            ),
            _Raw(
                low,
                rate < limits.pulse_floor,
                AlarmPriority.HIGH if rate < tiers.rate_high_priority_below else AlarmPriority.MEDIUM,
                f"{source}: {name} {rate:g} /min below {limits.pulse_floor:g}",
                source,
                rate,
                f"{name} {rate:g} /min",
            ),
        ]

    def _pulse_deficits(self, mono: float, no_valid_s: float) -> list[_Raw]:
        """HR (ECG) of each monitor against the pulse rate of the same device, or else the most
        recently valid pulse rate of any device (MON-7)."""
        known_pr = {
            source: (value, stream.valid_mono or 0.0)
            for (kind, source), stream in self._streams.items()
            if kind is VitalKind.PULSE_RATE and (value := stream.known(mono, no_valid_s)) is not None
        }
        limit = self._config.pulse_deficit.min_difference_per_min
        raws: list[_Raw] = []
        for (kind, source), stream in sorted(self._streams.items()):
            if kind is not VitalKind.HEART_RATE:
                continue
            hr = stream.known(mono, no_valid_s)
            pr_source = (
                source if source in known_pr else max(known_pr, key=lambda s: known_pr[s][1], default=None)
            )
            if hr is None or pr_source is None:
                raws.append(_Raw(ConditionId.PULSE_DEFICIT, None, AlarmPriority.MEDIUM, source=source))
                continue
            pr = known_pr[pr_source][0]
            difference = hr - pr
            self._deficits[alarm_key(ConditionId.PULSE_DEFICIT, source)] = difference
            raws.append(
                _Raw(
                    ConditionId.PULSE_DEFICIT,
                    abs(difference) > limit,
                    CONDITIONS[ConditionId.PULSE_DEFICIT].priority,
                    f"{source}: heart rate {hr:g} /min, pulse {pr:g} /min ({pr_source}): "
                    f"difference {difference:+g} /min",
                    source,
                    difference,
                    f"difference {difference:+g} /min",
                )
            )
        return raws


def _priority(name: Any) -> AlarmPriority:
    try:
        return AlarmPriority[str(name).upper()]
    except KeyError:
        raise AlarmStateError(f"unknown alarm priority {name!r} (expected high, medium or low)") from None


def _duration(seconds: float) -> str:
    """A clinician's reading of a duration: "6 s", "2 min 29 s", "1 h 0 min"."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"
