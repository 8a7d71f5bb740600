"""Snapshot and restore of a session's whole clinical state, so a restart never forgets the patient
(MON-8). Qt-free.

Design: (a) a JSON snapshot of the clinical state, written through the storage writer after every
clinical change and restored from the latest one, rather than (b) rebuilding the state by
re-applying the stored records. Why:

- The records are the history, not the state. The alarm system's latching, acknowledgements,
  audio-pause coverage and occurrence numbers, the NIBP countdown and a trend-shortened interval,
  waiting prompts and protocol offers are in no record, so (b) could not bring them back.
- Re-running the clinicians' actions through today's rules (a clinic config tightened since, a
  rule added) could refuse yesterday's valid decisions and leave a restarted monitor in setup in
  the middle of an infusion, which is finding 4 again. A state restore cannot be refused.
- A restore reads one row, whatever the session's length; (b) grows with the session.

The records are still written exactly as before (they are the legal record); the snapshot is one
more record in the same ordered writer stream, put right after the records of the change it follows.

Durability window: ``StorageWriter`` commits what was put every ``flush_interval_s`` (0.5 s by
default, or at once when 500 records wait). A killed process therefore loses at most the changes
of the last 0.5 s (plus a batch being committed at that instant): the snapshot before them is
restored. An operating-system crash or power cut can also lose the commits since SQLite's last WAL
sync (``synchronous=NORMAL``); the restored state is then that of the last synced snapshot.

Time: every deadline (the next NIBP cycle, an audio pause, an acknowledgement's silence, protocol
timers) is kept as a wall time, so the time the monitor was down counts. A cycle that fell due
while it was down starts at once; a pause that ran out is over; a protocol timer is due.

The engine in ``alarms/`` has no restore API apart from the alarm system's; this module is the one
place that reads and sets the other components' state, so it is checked by mypy against their
attribute names and by the restart tests (``tests/bedside/test_restart*.py``).
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from alarms import (
    Attestation,
    Baseline,
    BaselineField,
    BaselineOverride,
    BpClass,
    ChecklistAttestation,
    ChecklistItem,
    DischargeAttestation,
    ExpectedRiseBand,
    IntervalChange,
    NibpReading,
    PhaseTransition,
    ReadingClass,
    SessionPhase,
    ThresholdChange,
    ThresholdField,
    ThresholdSet,
    ThresholdsNotSetError,
)
from drivers.types import Observation, Quality
from storage import AlarmEventRecord, ClinicalSnapshotRecord, StoredRecord

if TYPE_CHECKING:
    from bedside.workflow.clinical import ClinicalSession
    from bedside.workflow.protocol_desk import ProtocolDesk, ProtocolOffer

log = logging.getLogger(__name__)

#: The snapshot format; a restore refuses any other (see ``SnapshotFormatError``).
SNAPSHOT_VERSION = 1
#: Phases whose restore also refills the baseline calculator with the stored SpO2/pulse samples.
_BASELINE_PHASES = ("setup", "baseline", "ready")

Json = dict[str, Any]


class SnapshotFormatError(ValueError):
    """A stored snapshot this version of Bedside cannot read (written by a newer one, or damaged)."""


@dataclass(frozen=True, slots=True)
class MonitoringGap:
    """A time the monitor was not watching the patient: from the last record before a restart to
    the first moment after it (MON-8)."""

    since: datetime
    until: datetime

    @property
    def seconds(self) -> float:
        """How long the gap lasted (never negative, even with a clock that was set back)."""
        return max(0.0, (self.until - self.since).total_seconds())

    @property
    def words(self) -> str:
        """The gap as a clinician reads it."""
        return (
            f"not monitored for {self.seconds:.0f} s "
            f"({self.since.astimezone():%H:%M:%S} to {self.until.astimezone():%H:%M:%S}): monitor restarted"
        )


# -- converting values ----------------------------------------------------------------------------


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _dt(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _wall_of(mono: float, now: datetime, now_mono: float) -> str:
    # Whole seconds: the wall and monotonic clocks are read microseconds apart, and a deadline that
    # jittered in its last digits would make every snapshot look new.
    return (now + timedelta(seconds=mono - now_mono)).replace(microsecond=0).isoformat()


def _mono_of(text: str, now: datetime, now_mono: float) -> float:
    return now_mono + (datetime.fromisoformat(text) - now).total_seconds()


def _reading(r: NibpReading) -> Json:
    return {
        "systolic": r.systolic,
        "diastolic": r.diastolic,
        "mean": r.mean,
        "measured_at": r.measured_at.isoformat(),
        "source": r.source,
        "quality": r.quality.value,
    }


def _reading_back(d: Mapping[str, Any]) -> NibpReading:
    return NibpReading(
        d["systolic"],
        d["diastolic"],
        d["mean"],
        datetime.fromisoformat(d["measured_at"]),
        d["source"],
        Quality(d["quality"]),
    )


def _threshold_set(s: ThresholdSet) -> Json:
    # Every field, whatever the set holds (new fields such as THR-7's floors come along by themselves).
    out: Json = {}
    for f in dataclasses.fields(s):
        value = getattr(s, f.name)
        out[f.name] = value.isoformat() if isinstance(value, datetime) else value
    return out


def _threshold_set_back(d: Mapping[str, Any]) -> ThresholdSet:
    known = {f.name for f in dataclasses.fields(ThresholdSet)}
    values = {k: v for k, v in d.items() if k in known}
    values["confirmed_at"] = _dt(values.get("confirmed_at"))
    return ThresholdSet(**values)


def _baseline(b: Baseline) -> Json:
    # Candidates (every pre-infusion sample) are left out: the confirmed values are what counts.
    return {
        "systolic": b.systolic,
        "diastolic": b.diastolic,
        "mean": b.mean,
        "spo2": b.spo2,
        "pulse": b.pulse,
        "window_start": b.window_start.isoformat(),
        "window_end": b.window_end.isoformat(),
        "overrides": [
            {
                "field": o.field.value,
                "old": o.old,
                "new": o.new,
                "reason": o.reason,
                "by": o.by,
                "at": _t(o.at),
            }
            for o in b.overrides
        ],
        "confirmed_by": b.confirmed_by,
        "confirmed_at": _t(b.confirmed_at),
    }


def _baseline_back(d: Mapping[str, Any]) -> Baseline:
    return Baseline(
        systolic=d["systolic"],
        diastolic=d["diastolic"],
        mean=d["mean"],
        spo2=d["spo2"],
        pulse=d["pulse"],
        window_start=datetime.fromisoformat(d["window_start"]),
        window_end=datetime.fromisoformat(d["window_end"]),
        overrides=tuple(
            BaselineOverride(
                BaselineField(o["field"]),
                o["old"],
                o["new"],
                o["reason"],
                o["by"],
                datetime.fromisoformat(o["at"]),
            )
            for o in d["overrides"]
        ),
        confirmed_by=d["confirmed_by"],
        confirmed_at=_dt(d["confirmed_at"]),
    )


# -- snapshot --------------------------------------------------------------------------------------


def capture(clinical: ClinicalSession, desk: ProtocolDesk | None = None) -> Json:
    """The whole clinical state of ``clinical`` (and the desk's waiting offers) as plain JSON."""
    now, now_mono = clinical._clock.now(), clinical._clock.monotonic()
    session, book, scheduler = clinical.session, clinical.thresholds, clinical.scheduler
    try:
        current: Json | None = _threshold_set(book.current)
    except ThresholdsNotSetError:
        current = None
    judged = {id(r) for r in clinical._judged}
    state: Json = {
        "version": SNAPSHOT_VERSION,
        "session_id": clinical.session_id,
        "phase": session.phase.value,
        "transitions": [
            {"from": t.from_phase.value, "to": t.to_phase.value, "at": _t(t.at), "by": t.by, "note": t.note}
            for t in session.transitions
        ],
        "checklist": [{"item": a.item.value, "by": a.by, "at": _t(a.at)} for a in session.checklist],
        "baseline": None if session.baseline is None else _baseline(session.baseline),
        "thresholds": {
            "current": current,
            "locked_at": _t(book._locked_at),
            "changes": [
                {
                    "who": c.who,
                    "when": _t(c.when),
                    "field": c.field.value,
                    "old": c.old,
                    "new": c.new,
                    "reason": c.reason,
                }
                for c in book.changes
            ],
            "set_id": clinical._threshold_set_id,
            "sets": clinical._threshold_sets,
        },
        "nibp": {
            "session_interval_min": scheduler.session_interval_min,
            "interval_min": scheduler.interval_min,
            "shortened": scheduler.shortened,
            "last_cycle_at": _wall_of(scheduler._last_start_mono, now, now_mono),
            "changes": [
                {"at": _t(c.at), "old_min": c.old_min, "new_min": c.new_min, "reason": c.reason, "by": c.by}
                for c in scheduler.changes
            ],
        },
        "discharge": [
            {"item": a.item.value, "by": a.by, "at": _t(a.at)} for a in clinical.discharge.attestations
        ],
        "baseline_nibp": [_reading(r) for r in clinical.baseline_calculator._nibp],
        "readings": [
            {
                "reading": _reading(c.reading),
                "band_class": None if c.band_class is None else c.band_class.name,
                "reading_class": c.reading_class.value,
                "label": c.label,
                "judged": id(c.reading) in judged,
            }
            for c in clinical._readings
        ],
        "prompts": [{"kind": p.kind.value, "at": _t(p.at), "message": p.message} for p in clinical._prompts],
        "gaps": [{"since": _t(g.since), "until": _t(g.until)} for g in clinical._gaps],
        "alarms": clinical.alarms.snapshot(),
        "protocol_offers": [
            {
                "protocol_id": o.protocol_id,
                "title": o.title,
                "reason": o.reason,
                "offered_at": _t(o.offered_at),
                "alarm": _alarm_record(o.alarm),
            }
            for o in (desk.offers if desk is not None else ())
        ],
        "emergency_call": _emergency_call(desk),
    }
    return state


def _alarm_record(alarm: AlarmEventRecord | None) -> Json | None:
    # The alarm behind an offer, as stored, so a run started after a restart still links it.
    if alarm is None:
        return None
    return {f.name: _t(v) if isinstance(v := getattr(alarm, f.name), datetime) else v
            for f in dataclasses.fields(alarm)}  # fmt: skip


def _alarm_record_back(saved: Mapping[str, Any] | None) -> AlarmEventRecord | None:
    if not saved:
        return None
    return AlarmEventRecord(**{**saved, "at": datetime.fromisoformat(saved["at"])})


def _emergency_call(desk: ProtocolDesk | None) -> Json | None:
    # The CALL 911 press with no protocol running: its incident and the first call's time, so a
    # press after a restart joins that incident and the EMS hand-off keeps the time (MON-8).
    call = desk.emergency_call if desk is not None else None
    return None if call is None else {"incident_id": call[0], "called_at": _t(call[1])}


#: Keys that only say when a part was taken: never a change.
_STAMP_KEYS = frozenset({"taken_at", "saved_at"})
#: Keys whose values move with the clock alone (an audio pause's or an acknowledgement's remaining
#: seconds): not a clinical change, so they never trigger a snapshot at once.
_COUNTDOWN_KEYS = frozenset({"remaining_s", "ack_remaining_s"})
#: While only countdowns differ, the snapshot is refreshed this often, so a restart resumes a
#: countdown from at most this long before the crash (a storage cadence, not a clinical rule).
COUNTDOWN_REFRESH_S = 30.0


def _without(value: Any, keys: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _without(v, keys) for k, v in value.items() if k not in keys}
    if isinstance(value, list):
        return [_without(v, keys) for v in value]
    return value


class ClinicalStateKeeper:
    """Writes a snapshot through ``put`` (the storage writer) after every change of the clinical
    state: it listens to the session and the protocol desk, and skips a change that left the
    clinical part of the snapshot as it was (most observations change nothing clinical)."""

    def __init__(
        self,
        clinical: ClinicalSession,
        put: Callable[[StoredRecord], None],
        *,
        desk: ProtocolDesk | None = None,
    ) -> None:
        self._clinical = clinical
        self._desk = desk
        self._put = put
        self._last_clinical = ""
        self._last_timed = ""
        self._last_mono = float("-inf")
        self._last_outline: tuple[object, ...] | None = None
        self._last_compared_mono = float("-inf")
        self.written = 0
        clinical.add_listener(self.changed)
        if desk is not None:
            # The desk speaks only after an offer or a step (never per observation), and its runs,
            # offers and CALL 911 press are not in the outline: each one is captured at once.
            desk.add_listener(self._desk_changed)
        self.changed()  # the state as it starts (or as it was restored) is the first snapshot

    def changed(self) -> None:
        """Snapshot now if the clinical state differs from the last snapshot written (or, every
        ``COUNTDOWN_REFRESH_S``, when only a countdown has moved)."""
        clock = self._clinical._clock
        # Called after every observation: the whole state (every NIBP reading of the session) is
        # captured and compared only when its outline moved, or once per refresh period, so the
        # work per observation no longer grows with the session (issue 11, bench_session_24h).
        outline = _outline(self._clinical, self._desk)
        if (
            outline == self._last_outline
            and clock.monotonic() - self._last_compared_mono < COUNTDOWN_REFRESH_S
        ):
            return
        self._last_outline = outline
        self._last_compared_mono = clock.monotonic()
        state = capture(self._clinical, self._desk)
        timed = _without(state, _STAMP_KEYS)
        clinical_text = json.dumps(_without(timed, _COUNTDOWN_KEYS), sort_keys=True)
        timed_text = json.dumps(timed, sort_keys=True)
        if clinical_text == self._last_clinical and (
            timed_text == self._last_timed or clock.monotonic() - self._last_mono < COUNTDOWN_REFRESH_S
        ):
            return
        self._put(ClinicalSnapshotRecord(self._clinical.session_id, clock.now(), state))
        self._last_clinical, self._last_timed = clinical_text, timed_text
        self._last_mono = clock.monotonic()
        self.written += 1

    def _desk_changed(self) -> None:
        self._last_outline = None
        self.changed()


def _outline(clinical: ClinicalSession, desk: ProtocolDesk | None) -> tuple[object, ...]:
    """What moves whenever ``capture`` would give another clinical state, in constant time: the
    lengths and last items of the session's lists (they only grow, or shrink), the scalars, and
    the alarms' own snapshot without its stamps and countdowns."""

    def tail(items: Sequence[object]) -> tuple[int, int]:
        return len(items), id(items[-1]) if items else 0

    session, book, scheduler = clinical.session, clinical.thresholds, clinical.scheduler
    alarms = json.dumps(_without(clinical.alarms.snapshot(), _STAMP_KEYS | _COUNTDOWN_KEYS), sort_keys=True)
    return (
        session.phase,
        tail(session.transitions),
        tail(session.checklist),
        id(session.baseline),
        book._locked_at,
        tail(book.changes),
        clinical._threshold_set_id,
        clinical._threshold_sets,
        scheduler.session_interval_min,
        scheduler.interval_min,
        scheduler.shortened,
        scheduler._last_start_mono,
        tail(scheduler.changes),
        tail(clinical.discharge.attestations),
        tail(clinical.baseline_calculator._nibp),
        tail(clinical._readings),
        tail(clinical._judged),
        tail(clinical._prompts),
        tail(clinical._gaps),
        alarms,
        tail(desk.offers) if desk is not None else None,
    )


# -- restore ---------------------------------------------------------------------------------------


def needs_baseline_samples(state: Mapping[str, Any]) -> bool:
    """True when the snapshot is from before the infusion: the stored SpO2/pulse samples are then
    needed again for the baseline's medians (they are not copied into every snapshot)."""
    return state.get("phase") in _BASELINE_PHASES


def check_format(state: Mapping[str, Any]) -> None:
    """Raise ``SnapshotFormatError`` for a snapshot this Bedside cannot restore."""
    version = state.get("version")
    if version != SNAPSHOT_VERSION:
        raise SnapshotFormatError(
            f"the stored clinical state has format {version!r}, this Bedside reads format "
            f"{SNAPSHOT_VERSION}: the session cannot be resumed by this version (update Bedside "
            "on this computer to the version that wrote it)"
        )


def restore(
    clinical: ClinicalSession, state: Mapping[str, Any], *, baseline_samples: Iterable[Observation] = ()
) -> None:
    """Put the state of a ``capture`` back into a freshly built ``clinical`` (before any data)."""
    check_format(state)
    if state.get("session_id") != clinical.session_id:
        raise SnapshotFormatError(
            f"the stored clinical state belongs to session {state.get('session_id')!r}, "
            f"not {clinical.session_id!r}"
        )
    now, now_mono = clinical._clock.now(), clinical._clock.monotonic()
    _restore_session(clinical, state)
    _restore_thresholds(clinical, state["thresholds"])
    _restore_nibp(clinical, state["nibp"], now, now_mono)
    clinical.discharge._attested = {
        DischargeAttestation(a["item"]): Attestation(DischargeAttestation(a["item"]), a["by"], _at(a))
        for a in state["discharge"]
    }
    for r in state["baseline_nibp"]:
        clinical.baseline_calculator.add_nibp(_reading_back(r))
    if needs_baseline_samples(state):
        for obs in baseline_samples:
            clinical.baseline_calculator.add_observation(obs)
    _restore_views(clinical, state)
    clinical.alarms.restore(state["alarms"])


def _at(d: Mapping[str, Any]) -> datetime:
    return datetime.fromisoformat(d["at"])


def _restore_session(clinical: ClinicalSession, state: Mapping[str, Any]) -> None:
    session = clinical.session
    session._phase = SessionPhase(state["phase"])
    session._transitions = [
        PhaseTransition(SessionPhase(t["from"]), SessionPhase(t["to"]), _at(t), t["by"], t["note"])
        for t in state["transitions"]
    ]
    session._checklist = {
        ChecklistItem(a["item"]): ChecklistAttestation(ChecklistItem(a["item"]), a["by"], _at(a))
        for a in state["checklist"]
    }
    baseline = None if state["baseline"] is None else _baseline_back(state["baseline"])
    session._baseline = baseline
    if baseline is not None and baseline.is_confirmed:
        clinical._band = ExpectedRiseBand.from_baseline(baseline, clinical.config)


def _restore_thresholds(clinical: ClinicalSession, saved: Mapping[str, Any]) -> None:
    book = clinical.thresholds
    book._current = None if saved["current"] is None else _threshold_set_back(saved["current"])
    # Locked again exactly as before: a change during the infusion still needs a reason (THR-5).
    book._locked_at = _dt(saved["locked_at"])
    book._changes = [
        ThresholdChange(
            c["who"],
            datetime.fromisoformat(c["when"]),
            ThresholdField(c["field"]),
            c["old"],
            c["new"],
            c["reason"],
        )
        for c in saved["changes"]
    ]
    clinical._threshold_set_id = saved["set_id"]
    clinical._threshold_sets = int(saved["sets"])


def _restore_nibp(
    clinical: ClinicalSession, saved: Mapping[str, Any], now: datetime, now_mono: float
) -> None:
    scheduler = clinical.scheduler
    scheduler._session_min = int(saved["session_interval_min"])
    scheduler._current_min = int(saved["interval_min"])
    scheduler._shortened = bool(saved["shortened"])
    scheduler._changes = [
        IntervalChange(_at(c), c["old_min"], c["new_min"], c["reason"], c["by"]) for c in saved["changes"]
    ]
    # The countdown runs on from the last cycle's wall time: if it fell due while the monitor was
    # down, the next tick starts a cycle at once.
    scheduler._last_start_mono = _mono_of(saved["last_cycle_at"], now, now_mono)


def _restore_views(clinical: ClinicalSession, state: Mapping[str, Any]) -> None:
    from bedside.workflow.clinical import ClassifiedReading, Prompt, PromptKind

    readings: list[ClassifiedReading] = []
    judged: list[NibpReading] = []
    for item in state["readings"]:
        reading = _reading_back(item["reading"])
        band = item["band_class"]
        readings.append(
            ClassifiedReading(
                reading,
                None if band is None else BpClass[band],
                ReadingClass(item.get("reading_class", ReadingClass.NOT_JUDGED.value)),
                str(item.get("label", "not judged")),
            )
        )
        if item["judged"]:
            judged.append(reading)
    clinical._readings = readings
    clinical._judged = judged
    clinical._prompts = [Prompt(PromptKind(p["kind"]), _at(p), p["message"]) for p in state["prompts"]]
    clinical._gaps = [
        MonitoringGap(datetime.fromisoformat(g["since"]), datetime.fromisoformat(g["until"]))
        for g in state["gaps"]
    ]


def protocol_offers(state: Mapping[str, Any]) -> list[ProtocolOffer]:
    """The protocol offers that were waiting (not yet started) when the snapshot was taken."""
    from bedside.workflow.protocol_desk import ProtocolOffer

    return [
        ProtocolOffer(
            o["protocol_id"],
            o["title"],
            o["reason"],
            datetime.fromisoformat(o["offered_at"]),
            _alarm_record_back(o.get("alarm")),
        )
        for o in state.get("protocol_offers", ())
    ]


def emergency_call(state: Mapping[str, Any]) -> tuple[str, datetime] | None:
    """The CALL 911 incident and first call time of the snapshot (None when 911 was not called
    with no protocol running, or the snapshot is older than this key)."""
    saved = state.get("emergency_call")
    if not saved:
        return None
    return str(saved["incident_id"]), datetime.fromisoformat(saved["called_at"])


# -- a report of what is in force (for the subprocess test and support) ------------------------------


def state_report(clinical: ClinicalSession, desk: ProtocolDesk | None = None) -> Json:
    """What the monitor holds now, in plain JSON: phase, baseline, thresholds, NIBP countdown, alarms,
    protocol runs and monitoring gaps (``bedside monitor --state-report``)."""
    baseline = clinical.session.baseline
    try:
        thresholds: Json | None = _threshold_set(clinical.thresholds.current)
    except ThresholdsNotSetError:
        thresholds = None
    runs = []
    for run in desk.runs() if desk is not None else ():
        timer = run.current().timer if run.is_active else None
        runs.append(
            {
                "run_id": run.run_id,
                "incident_id": run.incident_id,
                "protocol_id": run.protocol.id,
                "active": run.is_active,
                "node": run.current_node_id,
                "steps": len(run.records),
                "timer_remaining_s": None if timer is None else timer.remaining,
                "timer_due": None if timer is None else timer.due,
            }
        )
    return {
        "session_id": clinical.session_id,
        "at": clinical._clock.now().isoformat(),
        "phase": clinical.phase.value,
        "transitions": [
            [t.from_phase.value, t.to_phase.value, t.at.isoformat()] for t in clinical.session.transitions
        ],
        "baseline": None if baseline is None else _baseline(baseline),
        "thresholds": thresholds,
        "thresholds_locked": clinical.thresholds.locked,
        "threshold_changes": len(clinical.thresholds.changes),
        "checklist": sorted(a.item.value for a in clinical.session.checklist),
        "interval_min": clinical.interval_min,
        "seconds_to_next_nibp": clinical.seconds_to_next_nibp(),
        "readings": len(clinical.readings()),
        "alarms": [
            {
                "key": a.key,
                "condition": a.condition.value,
                "priority": a.priority.name,
                "present": a.present,
                "latched": a.latched,
                "acknowledged_by": a.acknowledged_by,
            }
            for a in clinical.active_alarms()
        ],
        "audio_paused": clinical.audio_paused,
        "pause_remaining_s": clinical.pause_remaining_s(),
        "protocol_runs": runs,
        "emergency_call": _emergency_call(desk),
        "gaps": [
            {"since": g.since.isoformat(), "until": g.until.isoformat()} for g in clinical.monitoring_gaps
        ],
    }
