"""The alarm manager: conditions with onset delays, priorities, latching, acknowledgement and a
bounded audio pause (ALM-1, ALM-2, ALM-3, MON-1, MON-6).

Feed it every observation (``observe``), every link event (``device_event``), the judgement of
every assembled NIBP reading (``nibp_judgement``) and a ``tick`` about once a second. Each call
returns the AlarmEvents it caused, in order; ``events`` keeps them all for the record.

Rules worth knowing:
- A physiological condition judges only VALID, plausible, fresh values. While its value is
  unknown (probe off, no signal, implausible) it can neither start nor end: the technical alarm
  says why, and an active physiological alarm is not silently cleared by missing data.
- A condition must persist for its configured delay before it alarms, so one artifact does not.
- HIGH alarms latch: after the condition ends they stay shown until acknowledged.
- A pause covers only the alarms active when it was pressed, at their priority then; a new alarm,
  a new occurrence, or an escalation sounds despite it. Pauses end by themselves.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from alarms.clinician import require_clinician
from alarms.conditions import CONDITIONS, ConditionId, alarm_key
from alarms.config import ClinicalConfig
from alarms.priority import AlarmPriority
from alarms.thresholds import NibpJudgement, ThresholdSet
from drivers.clock import Clock
from drivers.types import DeviceEvent, DeviceEventKind, Observation, Quality, VitalKind

log = logging.getLogger(__name__)


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


class UnknownAlarmError(KeyError):
    """Acknowledging an alarm key that is not active."""


class AudioPauseError(ValueError):
    """A pause duration outside (0, audio_pause.max_s]."""


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


@dataclass(frozen=True, slots=True)
class _Raw:
    """A condition's state right now: present (with priority and words), absent, or unknown."""

    condition: ConditionId
    present: bool | None
    priority: AlarmPriority
    message: str = ""
    source: str = ""


@dataclass(slots=True)
class _Latest:
    value: float | None = None
    judgeable: bool = False
    valid_mono: float | None = None


class AlarmManager:
    """Turns observations, link events and NIBP judgements into prioritised alarms."""

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
        self._thresholds = thresholds or (lambda: None)
        self._alarms: dict[str, _Alarm] = {}
        self._pending: dict[str, float] = {}
        self._occurrences = 0
        self._events: list[AlarmEvent] = []
        self._pause_until: float | None = None
        self._pause_covers: dict[int, AlarmPriority] = {}
        self._spo2 = _Latest()
        self._pulse = _Latest()
        self._spo2_watch_since: float | None = None
        self._bp: NibpJudgement | None = None
        self._probe_off: set[str] = set()
        self._nibp_failed: set[str] = set()
        self._disconnected: set[str] = set()
        self._recording_problem: str | None = None
        self._silent: set[str] = set()
        self._clock_bad: set[str] = set()
        self._data_bad: dict[str, set[VitalKind]] = {}

    # -- inputs ---------------------------------------------------------------------------------

    def observe(self, obs: Observation) -> list[AlarmEvent]:
        """Take one observation as it arrives; returns the events it caused."""
        mono = self._clock.monotonic()
        ahead = (obs.measured_at - obs.received_at).total_seconds()
        if ahead > self._config.monitoring.future_tolerance_s:
            # A device clock in the future makes every age wrong: do not judge its values.
            self._clock_bad.add(obs.source)
            return self._evaluate()
        self._clock_bad.discard(obs.source)
        plausible = obs.value is None or self._config.is_possible(obs.kind, obs.value)
        bad = self._data_bad.setdefault(obs.source, set())
        if not plausible:
            bad.add(obs.kind)
        elif obs.is_valid:
            bad.discard(obs.kind)
        judgeable = obs.is_valid and plausible
        if obs.kind is VitalKind.SPO2:
            if self._spo2_watch_since is None:
                self._spo2_watch_since = mono
            if obs.quality is Quality.PROBE_OFF:
                self._probe_off.add(obs.source)
            else:
                self._probe_off.discard(obs.source)
            _update(self._spo2, obs, judgeable, mono)
        elif obs.kind in (VitalKind.PULSE_RATE, VitalKind.HEART_RATE):
            _update(self._pulse, obs, judgeable, mono)
        elif obs.kind.is_nibp:
            if obs.quality is Quality.CUFF_ERROR:
                self._nibp_failed.add(obs.source)
            elif obs.is_valid:
                self._nibp_failed.discard(obs.source)
        return self._evaluate()

    def device_event(self, event: DeviceEvent) -> list[AlarmEvent]:
        """Take a link event (connect, disconnect, silence, NIBP failure)."""
        kind, source = event.kind, event.source
        if kind is DeviceEventKind.DISCONNECTED:
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
        self._recording_problem = reason if failed else None
        return self._evaluate()

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

    def pause_remaining_s(self) -> float:
        """Seconds left in the audio pause (0 when none)."""
        if self._pause_until is None:
            return 0.0
        return max(0.0, self._pause_until - self._clock.monotonic())

    @property
    def events(self) -> tuple[AlarmEvent, ...]:
        """Every event so far, oldest first."""
        return tuple(self._events)

    # -- evaluation -----------------------------------------------------------------------------

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
                self._pending.pop(key, None)
                continue
            if not raw.present:
                self._pending.pop(key, None)
                if alarm is not None and alarm.present:
                    out.append(self._end(alarm))
                continue
            if alarm is not None:
                alarm.message = raw.message
                if not alarm.present:
                    # A latched alarm whose condition returns: record the new onset.
                    alarm.present = True
                    out.append(self._record(AlarmEventKind.STARTED, alarm, raw.message, None))
                if raw.priority > alarm.priority:
                    alarm.priority = raw.priority
                    out.append(self._record(AlarmEventKind.ESCALATED, alarm, raw.message, None))
                continue
            since = self._pending.setdefault(key, mono)
            if mono - since >= self._config.delay_s(raw.condition):
                del self._pending[key]
                out.append(self._start(key, raw))
        # Per-device conditions vanish from ``raws`` when their source recovers.
        for key, alarm in list(self._alarms.items()):
            if key not in raws and alarm.present:
                out.append(self._end(alarm))
        for key in list(self._pending):
            if key not in raws:
                del self._pending[key]
        return out

    def _start(self, key: str, raw: _Raw) -> AlarmEvent:
        self._occurrences += 1
        alarm = _Alarm(
            key, raw.condition, raw.source, raw.priority, raw.message, self._clock.now(), self._occurrences
        )
        self._alarms[key] = alarm
        log.info("alarm started: %s (%s) %s", key, raw.priority.text, raw.message)
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

    def _raw_conditions(self, mono: float) -> list[_Raw]:
        limits = self._thresholds() or ThresholdSet.clinic_default(self._config)
        no_valid_s = self._config.monitoring.no_valid_spo2_s
        raws: list[_Raw] = []

        spo2 = self._fresh(self._spo2, mono, no_valid_s)
        if spo2 is None:
            raws.append(_Raw(ConditionId.SPO2_LOW, None, AlarmPriority.MEDIUM))
        else:
            high_below = min(self._config.spo2.high_priority_below, limits.spo2_floor)
            priority = AlarmPriority.HIGH if spo2 < high_below else AlarmPriority.MEDIUM
            raws.append(
                _Raw(
                    ConditionId.SPO2_LOW,
                    spo2 < limits.spo2_floor,
                    priority,
                    f"SpO2 {spo2:g} % below floor {limits.spo2_floor:g} %",
                )
            )

        pulse = self._fresh(self._pulse, mono, no_valid_s)
        if pulse is None:
            raws.append(_Raw(ConditionId.PULSE_HIGH, None, AlarmPriority.MEDIUM))
            raws.append(_Raw(ConditionId.PULSE_LOW, None, AlarmPriority.MEDIUM))
        else:
            raws.append(
                _Raw(
                    ConditionId.PULSE_HIGH,
                    pulse > limits.pulse_ceiling,
                    AlarmPriority.MEDIUM,
                    f"pulse {pulse:g} /min above {limits.pulse_ceiling:g}",
                )
            )
            raws.append(
                _Raw(
                    ConditionId.PULSE_LOW,
                    pulse < limits.pulse_floor,
                    AlarmPriority.MEDIUM,
                    f"pulse {pulse:g} /min below {limits.pulse_floor:g}",
                )
            )

        bp = self._bp
        if bp is None:
            raws.append(_Raw(ConditionId.BP_HIGH, False, AlarmPriority.MEDIUM))
            raws.append(_Raw(ConditionId.BP_LOW, False, AlarmPriority.MEDIUM))
        else:
            high, low = bp.bp_high, bp.bp_low
            raws.append(
                _Raw(ConditionId.BP_HIGH, high is not None, high or AlarmPriority.MEDIUM, bp.summary())
            )
            raws.append(_Raw(ConditionId.BP_LOW, low is not None, low or AlarmPriority.MEDIUM, bp.summary()))

        watch = self._spo2_watch_since
        last_valid = self._spo2.valid_mono if self._spo2.valid_mono is not None else watch
        if last_valid is not None and mono - last_valid >= no_valid_s:
            raws.append(
                _Raw(
                    ConditionId.SPO2_NO_SIGNAL,
                    True,
                    CONDITIONS[ConditionId.SPO2_NO_SIGNAL].priority,
                    f"no valid SpO2 for {mono - last_valid:.0f} s",
                )
            )
        else:
            raws.append(_Raw(ConditionId.SPO2_NO_SIGNAL, False, AlarmPriority.MEDIUM))

        raws.append(
            _Raw(
                ConditionId.RECORDING_FAILED,
                self._recording_problem is not None,
                CONDITIONS[ConditionId.RECORDING_FAILED].priority,
                f"records are held in memory: {self._recording_problem}" if self._recording_problem else "",
            )
        )
        per_device: list[tuple[ConditionId, set[str], str]] = [
            (ConditionId.SPO2_PROBE_OFF, self._probe_off, "the oximeter reports the probe off"),
            (ConditionId.NIBP_FAILED, self._nibp_failed, "the NIBP cycle failed (cuff or measurement error)"),
            (ConditionId.DEVICE_DISCONNECTED, self._disconnected, "the device link is down"),
            (ConditionId.DEVICE_SILENT, self._silent, "the device has stopped sending"),
            (ConditionId.CLOCK_IMPLAUSIBLE, self._clock_bad, "the device time is in the future"),
        ]
        for condition, sources, words in per_device:
            for source in sorted(sources):
                raws.append(
                    _Raw(condition, True, CONDITIONS[condition].priority, f"{source}: {words}", source)
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
        return raws

    @staticmethod
    def _fresh(latest: _Latest, mono: float, max_age_s: float) -> float | None:
        """The latest value when it is judgeable and recent, else None (unknown)."""
        if not latest.judgeable or latest.valid_mono is None or mono - latest.valid_mono >= max_age_s:
            return None
        return latest.value

    # -- restart (MON-8) ------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The alarm system's state as plain JSON: alarms (active and latched) with their
        acknowledgements, the audio pause and the occurrence counter. Deadlines are kept as wall
        times, so a restore after a restart counts the time the monitor was down."""
        now, mono = self._clock.now(), self._clock.monotonic()

        def wall(deadline: float | None) -> str | None:
            return None if deadline is None else (now + timedelta(seconds=deadline - mono)).isoformat()

        return {
            "alarms": [
                {
                    "key": a.key,
                    "condition": a.condition.value,
                    "source": a.source,
                    "priority": a.priority.name,
                    "message": a.message,
                    "started_at": a.started_at.isoformat(),
                    "occurrence": a.occurrence,
                    "present": a.present,
                    "acknowledged_by": a.acknowledged_by,
                    "ack_until": wall(a.ack_until_mono),
                    "ack_priority": None if a.ack_priority is None else a.ack_priority.name,
                }
                for a in self._alarms.values()
            ],
            "occurrences": self._occurrences,
            "pause_until": wall(self._pause_until),
            "pause_covers": {str(k): p.name for k, p in self._pause_covers.items()},
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Take back a ``snapshot()`` after a restart. A pause or acknowledgement that ran out while
        the monitor was down is over; nothing here raises an event (the record already holds them)."""
        now, mono = self._clock.now(), self._clock.monotonic()

        def deadline(text: str | None) -> float | None:
            if text is None:
                return None
            left = (datetime.fromisoformat(text) - now).total_seconds()
            return mono + left if left > 0 else None

        self._alarms = {}
        for item in state.get("alarms", ()):
            ack_until = deadline(item.get("ack_until"))
            ack_priority = item.get("ack_priority")
            self._alarms[item["key"]] = _Alarm(
                key=item["key"],
                condition=ConditionId(item["condition"]),
                source=item["source"],
                priority=AlarmPriority[item["priority"]],
                message=item["message"],
                started_at=datetime.fromisoformat(item["started_at"]),
                occurrence=int(item["occurrence"]),
                present=bool(item["present"]),
                acknowledged_by=item.get("acknowledged_by"),
                ack_until_mono=ack_until,
                ack_priority=None
                if ack_until is None or ack_priority is None
                else AlarmPriority[ack_priority],
            )
        self._occurrences = int(state.get("occurrences", 0))
        self._pause_until = deadline(state.get("pause_until"))
        self._pause_covers = (
            {int(k): AlarmPriority[p] for k, p in state.get("pause_covers", {}).items()}
            if self._pause_until is not None
            else {}
        )
        self._pending = {}


def _update(latest: _Latest, obs: Observation, judgeable: bool, mono: float) -> None:
    latest.judgeable = judgeable
    if judgeable:
        latest.value = obs.value
        latest.valid_mono = mono
