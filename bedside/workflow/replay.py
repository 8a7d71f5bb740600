"""`bedside replay`: capture files through the real drivers and the real clinical session, headless.

Medical directors ask "what would our limits have done with this session?". Replay answers without
a window and without waiting: each capture is decoded by the driver a live link would use, the
values of all captures are merged in time order, and a ``FakeClock`` is moved to each value's
measurement time before ``ClinicalSession`` (the same engine the monitor runs) takes it. Between
values the session is ticked once per second of device time, so alarm delays run as they would.

Time, per device:
- frames that carry the device's clock (Masimo ASCII 1, HL7 OBX-14/OBR-7/MSH-7) are placed at that
  time, read with the input's clock setting (default: this PC's zone, as for a live device);
- frames without a time follow the previous frame by the device's documented frame period
  (``drivers.registry.DriverEntry.frame_period_s``: Nonin DF2 1/75 s per frame, i.e. 25-frame
  packets three times a second; Ivy ANSAR-B one frame a second; a Masimo line without a date one
  second after the previous line);
- SunTech and HL7 have no fixed rate: their frames without a time are placed one second apart
  (an assumption, stated here and in ``--help``);
- a capture with no device time at all starts at the first device time of the other captures,
  else at ``start`` (``--start``), else at the file's last-modified time.

Output, one JSON object per line (``emit``): ``replay_started``, every ``alarm_started`` /
``alarm_escalated`` / ``alarm_ended``, every ``nibp_judged``, every ``protocol_offered``, and a
final ``replay_finished`` with the counts.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from alarms import (
    AlarmEvent,
    AlarmEventKind,
    BaselineField,
    ChecklistItem,
    ClinicalConfig,
    NibpJudgement,
    NibpReading,
    SessionError,
    ThresholdSet,
)
from bedside.monitor.decode import frame_plain_hl7
from bedside.workflow.clinical import ClassifiedReading, ClinicalSession
from drivers.clock import FakeClock, SystemClock
from drivers.device_clock import DeviceClockSetting
from drivers.registry import DRIVERS, make_driver
from drivers.types import Observation, Stamp, VitalKind

log = logging.getLogger(__name__)

#: Who the replay's confirmations and attestations are attributed to.
REPLAY_CLINICIAN = "replay"
#: Seconds between two frames of a device that documents no rate and sends no time (SunTech, HL7).
ASSUMED_FRAME_PERIOD_S = 1.0
#: A gap between values longer than this is ticked through for this long, then skipped, so two
#: captures days apart do not tick a million times. Every delay and no-signal alarm fires well
#: within it.
MAX_TICKED_GAP_S = 600.0
#: Bytes fed per call: small enough that at most one frame completes per call, so each frame gets
#: its own time (a Nonin frame is 5 bytes; a Masimo line, an ANSAR-B frame or an HL7 message more
#: than 16).
_CHUNK_BYTES = {"nonin-df2": 5}
_DEFAULT_CHUNK_BYTES = 16
#: Untimed frames are first placed on a private timeline starting here, then moved to the start.
_TIMELINE_ORIGIN = datetime(1900, 1, 1, tzinfo=UTC)
_TIMELINE_END = datetime(1950, 1, 1, tzinfo=UTC)
_TICK = timedelta(seconds=1)
_NIBP = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*/\s*(\d+(?:\.\d+)?)\s*(?:/\s*(\d+(?:\.\d+)?)\s*)?$")

Emit = Callable[[dict[str, Any]], None]


class ReplayInputError(ValueError):
    """Replay input that cannot be used: a missing file, an unknown protocol, a bad baseline."""


@dataclass(frozen=True, slots=True)
class ReplayInput:
    """One capture file and the protocol (driver) it is read with."""

    protocol: str
    path: Path
    clock: DeviceClockSetting | None = None

    @classmethod
    def parse(cls, text: str, clocks: Mapping[str, DeviceClockSetting] | None = None) -> ReplayInput:
        """``PROTOCOL=FILE``; ``clocks`` maps a protocol or a file name to its clock setting."""
        protocol, sep, name = text.partition("=")
        protocol = protocol.strip()
        if not sep or not protocol or not name:
            raise ReplayInputError(f"--input {text!r}: write PROTOCOL=FILE, e.g. masimo-ascii=capture.txt")
        if protocol not in DRIVERS:
            raise ReplayInputError(
                f"--input {text!r}: unknown protocol {protocol!r}; known: {', '.join(sorted(DRIVERS))}"
            )
        path = Path(name)
        if not path.is_file():
            raise ReplayInputError(f"--input {text!r}: no such file: {path}")
        clocks = clocks or {}
        setting = clocks.get(path.name, clocks.get(str(path), clocks.get(protocol)))
        return cls(protocol, path, setting)


@dataclass(frozen=True, slots=True)
class ReplayBaseline:
    """The baseline a replay confirms before starting the infusion at the first value."""

    systolic: float
    diastolic: float
    mean: float | None = None
    pulse: float | None = None
    spo2: float | None = None

    @classmethod
    def parse(
        cls, nibp: str | None, pulse: str | None, spo2: str | None, config: ClinicalConfig
    ) -> ReplayBaseline | None:
        """From the command-line texts; None when none is given. Raises ReplayInputError."""
        if nibp is None and pulse is None and spo2 is None:
            return None
        if nibp is None:
            raise ReplayInputError("--baseline-pulse and --baseline-spo2 need --baseline-nibp SYS/DIA too")
        match = _NIBP.match(nibp)
        if match is None:
            raise ReplayInputError(f"--baseline-nibp {nibp!r}: write SYS/DIA in mmHg, e.g. 128/82")
        systolic, diastolic = float(match.group(1)), float(match.group(2))
        mean = float(match.group(3)) if match.group(3) else None
        if diastolic >= systolic:
            raise ReplayInputError(f"--baseline-nibp {nibp}: the diastolic must be below the systolic")
        checks = [
            ("--baseline-nibp systolic", VitalKind.NIBP_SYSTOLIC, systolic),
            ("--baseline-nibp diastolic", VitalKind.NIBP_DIASTOLIC, diastolic),
        ]
        if mean is not None:
            checks.append(("--baseline-nibp mean", VitalKind.NIBP_MEAN, mean))
        numbers: dict[str, float | None] = {}
        for option, kind, text in (
            ("--baseline-pulse", VitalKind.PULSE_RATE, pulse),
            ("--baseline-spo2", VitalKind.SPO2, spo2),
        ):
            value = _number(option, text)
            numbers[option] = value
            if value is not None:
                checks.append((option, kind, value))
        for option, kind, value in checks:
            if not config.is_possible(kind, value) or value <= 0:
                low, high = config.possible_ranges[kind]
                raise ReplayInputError(f"{option} {value:g} is outside the possible range {low:g}-{high:g}")
        return cls(systolic, diastolic, mean, numbers["--baseline-pulse"], numbers["--baseline-spo2"])


def _number(option: str, text: str | None) -> float | None:
    if text is None:
        return None
    try:
        return float(text)
    except ValueError:
        raise ReplayInputError(f"{option} {text!r} is not a number") from None


@dataclass(slots=True)
class InputTally:
    """What one capture gave: frames decoded, frames rejected, values, bytes skipped as noise."""

    protocol: str
    file: str
    frames: int = 0
    rejections: int = 0
    observations: int = 0
    bytes_discarded: int = 0


@dataclass(frozen=True, slots=True)
class TimedValue:
    """A decoded value, its place in its capture, and whether its time is still on the private
    timeline of a capture without device time (``relative``)."""

    observation: Observation
    relative: bool  # on the private timeline: moved to the start once it is known
    order: tuple[int, int]


@dataclass(slots=True)
class ReplaySummary:
    """What the replay did, as the final JSON line says it."""

    first: datetime | None
    last: datetime | None
    inputs: list[InputTally]
    alarms: Counter[str] = field(default_factory=Counter)
    nibp_judged: int = 0
    protocols_offered: int = 0
    gaps_skipped: int = 0

    def as_json(self) -> dict[str, Any]:
        """The ``replay_finished`` object."""
        duration = (self.last - self.first).total_seconds() if self.first and self.last else 0.0
        return {
            "event": "replay_finished",
            "at": _iso(self.last),
            "duration_s": duration,
            "frames": sum(i.frames for i in self.inputs),
            "rejections": sum(i.rejections for i in self.inputs),
            "observations": sum(i.observations for i in self.inputs),
            "alarms": dict(sorted(self.alarms.items())),
            "nibp_judged": self.nibp_judged,
            "protocols_offered": self.protocols_offered,
            "gaps_skipped": self.gaps_skipped,
            "inputs": [
                {
                    "protocol": i.protocol,
                    "file": i.file,
                    "frames": i.frames,
                    "rejections": i.rejections,
                    "observations": i.observations,
                    "bytes_discarded": i.bytes_discarded,
                }
                for i in self.inputs
            ],
        }


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.astimezone(UTC).isoformat()


def decode_capture(item: ReplayInput, index: int) -> tuple[list[TimedValue], InputTally]:
    """Decode one capture with its driver, giving every value a time (see the module docstring)."""
    data = item.path.read_bytes()
    if item.protocol == "hl7-pcd01":
        data = frame_plain_hl7(data)
    entry = DRIVERS[item.protocol]
    period_s = entry.frame_period_s or ASSUMED_FRAME_PERIOD_S
    driver = make_driver(item.protocol, item.path.name, item.clock)
    chunk = _CHUNK_BYTES.get(item.protocol, _DEFAULT_CHUNK_BYTES)
    tally = InputTally(item.protocol, str(item.path))
    out: list[TimedValue] = []
    # Frame times are counted from an anchor (computed, not summed, so 75 Hz does not drift): the
    # private origin at first, then the latest device time the frames carried.
    anchor, frames_since = _TIMELINE_ORIGIN, 0
    for start in range(0, len(data), chunk):
        wall = anchor + timedelta(seconds=frames_since * period_s)
        stamp = Stamp(wall, (wall - _TIMELINE_ORIGIN).total_seconds())
        result = driver.feed(data[start : start + chunk], stamp)
        tally.frames += result.frames
        tally.rejections += len(result.rejections)
        if not result.frames:
            continue
        device_times = [o.measured_at for o in result.observations if o.measured_at != wall]
        for obs in result.observations:
            relative = obs.measured_at == wall and wall < _TIMELINE_END
            out.append(TimedValue(obs, relative, (index, len(out))))
        if device_times:
            anchor, frames_since = max(device_times), 1
        else:
            frames_since += result.frames
    counters = driver.counters
    tally.bytes_discarded = counters.bytes_discarded
    tally.observations = len(out)
    return out, tally


def merge_captures(
    decoded: Sequence[list[TimedValue]], paths: Sequence[Path], start: datetime | None
) -> list[Observation]:
    """All values in time order; values without a device time moved onto the replay's start."""
    absolute = [t.observation.measured_at for items in decoded for t in items if not t.relative]
    if start is None and absolute:
        start = min(absolute)
    if start is None:
        start = min(
            (datetime.fromtimestamp(p.stat().st_mtime, UTC) for p, items in zip(paths, decoded, strict=True)
             if items),
            default=SystemClock().now(),  # nothing decoded: any start will do
        )  # fmt: skip
    shift = start - _TIMELINE_ORIGIN
    placed: list[tuple[datetime, tuple[int, int], Observation]] = []
    for items in decoded:
        for t in items:
            obs = t.observation
            if t.relative:
                at = obs.measured_at + shift
                obs = replace(obs, measured_at=at, received_at=at)
            placed.append((obs.measured_at, t.order, obs))
    placed.sort(key=lambda p: (p[0], p[1]))
    return [obs for _, _, obs in placed]


class _Watcher:
    """Turns what changed in the session since the last look into JSON events."""

    def __init__(self, session: ClinicalSession, emit: Emit, summary: ReplaySummary) -> None:
        self._session = session
        self._emit = emit
        self._summary = summary
        self._alarms = 0
        self._readings = 0
        self._offers = 0

    def drain(self) -> None:
        """Emit what happened since the last call, in the order it happened."""
        # A reading comes before the alarm and the protocol offer its judgement causes.
        session = self._session
        readings = session.readings()
        for classified in readings[self._readings :]:
            self._emit(_nibp_json(classified))
            self._summary.nibp_judged += 1
        self._readings = len(readings)
        events = session.alarm_events
        for event in events[self._alarms :]:
            self._alarm(event)
        self._alarms = len(events)
        offers = session.offered_protocols
        for offer in offers[self._offers :]:
            self._emit(
                {
                    "event": "protocol_offered",
                    "at": _iso(offer.at),
                    "protocol": offer.protocol_id,
                    "reason": offer.reason,
                }
            )
            self._summary.protocols_offered += 1
        self._offers = len(offers)

    def _alarm(self, event: AlarmEvent) -> None:
        names = {
            AlarmEventKind.STARTED: "alarm_started",
            AlarmEventKind.ESCALATED: "alarm_escalated",
            AlarmEventKind.ENDED: "alarm_ended",
        }
        name = names.get(event.kind)
        if name is None or event.condition is None:
            return  # acknowledgements and pauses need a person; a replay has none
        if event.kind is AlarmEventKind.STARTED:
            self._summary.alarms[event.condition.value] += 1
        self._emit(
            {
                "event": name,
                "at": _iso(event.at),
                "condition": event.condition.value,
                "priority": event.priority.name.lower() if event.priority is not None else None,
                "source": event.source,
                "message": event.message,
            }
        )


def _nibp_json(classified: ClassifiedReading) -> dict[str, Any]:
    """One reading with the engine's label. ``ClinicalSession`` exposes the band class per reading;
    when it carries the whole ``NibpJudgement`` (``judgement``), its label and class are used."""
    reading: NibpReading = classified.reading
    judgement = getattr(classified, "judgement", None)
    row: dict[str, Any] = {
        "event": "nibp_judged",
        "at": _iso(reading.measured_at),
        "systolic": reading.systolic,
        "diastolic": reading.diastolic,
        "mean": reading.mean,
        "source": reading.source,
    }
    if isinstance(judgement, NibpJudgement):
        row["label"] = judgement.label
        row["reading_class"] = judgement.reading_class.value
    else:
        row["label"] = classified.label
    return row


def _start_infusion(
    session: ClinicalSession, clock: FakeClock, baseline: ReplayBaseline, config: ClinicalConfig
) -> None:
    """Baseline, the clinic's default thresholds and the checklist confirmed by "replay"; infusion on.

    The baseline readings are placed before the first value, spaced as the clinic's rule asks, so
    the session's own baseline rule proposes exactly the given pressures.
    """
    rules = config.baseline
    now = clock.now()
    spacing = timedelta(seconds=rules.min_spacing_s)
    for n in range(max(rules.min_nibp_readings, 1), 0, -1):
        session.baseline_calculator.add_nibp(
            NibpReading(baseline.systolic, baseline.diastolic, baseline.mean, now - spacing * n, "replay")
        )
    # The given pressures are the medical director's question, not readings to vet: they enter as
    # overrides with their reason, so a baseline past the clinic's limits can still be replayed.
    overrides: dict[BaselineField, tuple[float, str]] = {
        BaselineField.SYSTOLIC: (baseline.systolic, "given to bedside replay (--baseline-nibp)"),
        BaselineField.DIASTOLIC: (baseline.diastolic, "given to bedside replay (--baseline-nibp)"),
    }
    if baseline.mean is not None:
        overrides[BaselineField.MEAN] = (baseline.mean, "given to bedside replay (--baseline-nibp)")
    if baseline.spo2 is not None:
        overrides[BaselineField.SPO2] = (baseline.spo2, "given to bedside replay (--baseline-spo2)")
    if baseline.pulse is not None:
        overrides[BaselineField.PULSE] = (baseline.pulse, "given to bedside replay (--baseline-pulse)")
    session.confirm_baseline(REPLAY_CLINICIAN, overrides)
    session.confirm_thresholds(REPLAY_CLINICIAN, ThresholdSet.clinic_default(config))
    for item in ChecklistItem:
        session.attest(item, REPLAY_CLINICIAN)
    session.start_infusion(REPLAY_CLINICIAN)
    log.info("replay: infusion started at %s with baseline %s", now.isoformat(), baseline)


def run_replay(
    inputs: Sequence[ReplayInput],
    config: ClinicalConfig,
    emit: Emit,
    *,
    baseline: ReplayBaseline | None = None,
    start: datetime | None = None,
    protocols_for: Callable[[str], Sequence[str]] | None = None,
) -> ReplaySummary:
    """Replay the captures through the drivers and a ClinicalSession; ``emit`` gets each JSON event.

    Raises ReplayInputError when the session refuses the baseline (the reason is the engine's).
    """
    decoded: list[list[TimedValue]] = []
    tallies: list[InputTally] = []
    for index, item in enumerate(inputs):
        items, tally = decode_capture(item, index)
        decoded.append(items)
        tallies.append(tally)
    values = merge_captures(decoded, [i.path for i in inputs], start)
    first = values[0].measured_at if values else start
    summary = ReplaySummary(first, values[-1].measured_at if values else first, tallies)
    clock = FakeClock(start=first or SystemClock().now())
    session = ClinicalSession(
        clock,
        config,
        session_id="replay",
        record=lambda _record: None,
        nibp_link_send=None,
        nibp_start_command=None,
        protocols_for=protocols_for,
    )
    watcher = _Watcher(session, emit, summary)
    emit({"event": "replay_started", "at": _iso(first)})
    if baseline is not None:
        try:
            _start_infusion(session, clock, baseline, config)
        except (ValueError, SessionError) as exc:
            raise ReplayInputError(f"the session refused the replay baseline: {exc}") from None
    watcher.drain()
    next_tick = clock.now() + _TICK
    last_value_at = clock.now()
    for obs in values:
        at = obs.measured_at
        while next_tick <= at:
            if (next_tick - last_value_at).total_seconds() > MAX_TICKED_GAP_S:
                summary.gaps_skipped += 1
                next_tick = at
                break
            _advance_to(clock, next_tick)
            session.tick()
            watcher.drain()
            next_tick += _TICK
        _advance_to(clock, at)
        session.on_observation(replace(obs, received_at=clock.now(), received_mono=clock.monotonic()))
        watcher.drain()
        last_value_at = max(last_value_at, at)
    emit(summary.as_json())
    return summary


def _advance_to(clock: FakeClock, at: datetime) -> None:
    seconds = (at - clock.now()).total_seconds()
    if seconds > 0:
        clock.advance(seconds)
