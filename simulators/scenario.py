"""Simulator scenarios as data: a physiological timeline loaded from YAML and validated on load.

A scenario is keyframes of target values (SpO2, pulse, HR, perfusion index, NIBP) that are joined by
linear ramps, an NIBP schedule, a noise level and events (probe off, cuff error, silence, irregular
pulse). Times are seconds of scenario time, written as a number (``90``) or a duration string
(``"1m30s"``, ``"10m"``, ``"01:30"``, ``"1:00:00"``). Shipped scenarios live in
``simulators/scenarios/*.yaml``; a clinic can write its own and pass its path.
"""

from __future__ import annotations

import itertools
import logging
import re
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from drivers.yaml_input import SourceMap, YamlLimits, kind_of, parse_yaml_file

log = logging.getLogger(__name__)

#: The vitals a keyframe can set; each is its own track, ramped between the keyframes that set it.
TRACKS: tuple[str, ...] = ("spo2", "pulse", "hr", "pi", "systolic", "diastolic", "mean")
#: Tracks every scenario must set at least once.
REQUIRED_TRACKS: tuple[str, ...] = ("spo2", "pulse", "systolic", "diastolic")

_UNIT_DURATION = re.compile(r"^(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s)?$")
_CLOCK_DURATION = re.compile(r"^(?:(\d+):)?(\d+):(\d{2}(?:\.\d+)?)$")
_NAME = r"^[a-z0-9][a-z0-9-]*$"


class ScenarioError(ValueError):
    """A scenario that cannot be used: the message names the file and the field at fault."""


def parse_seconds(value: object) -> float:
    """Seconds from a number or a duration string (``"90"``, ``"1m30s"``, ``"10m"``, ``"01:30"``)."""
    if isinstance(value, bool):
        raise ValueError("a time must be a number of seconds or a duration such as '1m30s'")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        seconds = _parse_duration_text(value.strip().lower().replace(" ", ""))
    else:
        raise ValueError("a time must be a number of seconds or a duration such as '1m30s'")
    if seconds < 0:
        raise ValueError("a time cannot be negative")
    return seconds


def _parse_duration_text(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        pass
    clock = _CLOCK_DURATION.match(text)
    if clock:
        hours, minutes, seconds = clock.groups()
        return int(hours or 0) * 3600.0 + int(minutes) * 60.0 + float(seconds)
    units = _UNIT_DURATION.match(text)
    if text and units and any(units.groups()):
        return sum(
            float(part) * scale
            for part, scale in zip(units.groups(), (3600.0, 60.0, 1.0), strict=True)
            if part
        )
    raise ValueError(f"{text!r} is not a duration (use seconds, '1m30s', '10m' or 'mm:ss')")


#: A time in scenario seconds, accepting the duration strings above.
Seconds = Annotated[float, BeforeValidator(parse_seconds)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Keyframe(_Strict):
    """Target values at scenario time ``at``; a value left out is ramped from its neighbours."""

    at: Seconds
    spo2: float | None = Field(default=None, ge=50, le=100)
    pulse: float | None = Field(default=None, ge=20, le=250)
    hr: float | None = Field(default=None, ge=20, le=250)
    pi: float | None = Field(default=None, ge=0, le=20)
    systolic: float | None = Field(default=None, ge=40, le=300)
    diastolic: float | None = Field(default=None, ge=20, le=200)
    mean: float | None = Field(default=None, ge=25, le=250)

    @model_validator(mode="after")
    def _pressures_ordered(self) -> Keyframe:
        if self.systolic is not None and self.diastolic is not None and self.diastolic >= self.systolic:
            raise ValueError(f"diastolic {self.diastolic:g} must be below systolic {self.systolic:g}")
        return self


class NibpSchedule(_Strict):
    """When the simulated NIBP device measures: every ``interval`` or only on a remote start."""

    #: Seconds between cycle starts; null means the device measures only when started remotely.
    interval: Seconds | None = Field(default=300.0)
    #: Scenario time the first scheduled cycle starts.
    first_at: Seconds = 30.0
    #: How long one cuff inflation/deflation takes before the reading is available.
    measurement: Seconds = 35.0

    @model_validator(mode="after")
    def _interval_fits_measurement(self) -> NibpSchedule:
        if self.measurement <= 0:
            raise ValueError("measurement must be longer than 0 s")
        if self.interval is not None and self.interval < self.measurement:
            raise ValueError(
                f"interval {self.interval:g} s is shorter than one measurement ({self.measurement:g} s)"
            )
        return self


class Noise(_Strict):
    """Half-widths of the small random variation added to the targets (0 turns it off)."""

    spo2: float = Field(default=1.0, ge=0, le=5)
    pulse: float = Field(default=2.0, ge=0, le=10)
    nibp: float = Field(default=3.0, ge=0, le=15)
    #: Perfusion index wanders with vasomotor tone: a fraction of its value, not a fixed width.
    pi: float = Field(default=0.05, ge=0, le=0.5)


class _Window(_Strict):
    start: Seconds = Field(alias="from")
    end: Seconds = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> _Window:
        if self.end <= self.start:
            raise ValueError(f"'to' ({self.end:g} s) must be after 'from' ({self.start:g} s)")
        return self

    def covers(self, t: float) -> bool:
        """True while scenario time ``t`` is inside [from, to)."""
        return self.start <= t < self.end


class ProbeOff(_Window):
    """The oximeter probe is off the finger: no SpO2 or pulse, quality PROBE_OFF."""

    kind: Literal["probe-off"]


class DeviceSilence(_Window):
    """The device sends nothing at all (frozen, cable pulled): ``disconnect`` is the same on a pty."""

    kind: Literal["silence", "disconnect"]


class IrregularPulse(_Window):
    """Beat-to-beat pulse variation of up to ``jitter`` /min (an irregular rhythm)."""

    kind: Literal["irregular-pulse"]
    jitter: float = Field(default=15.0, gt=0, le=60)


class CuffError(_Strict):
    """NIBP cycle number ``cycle`` (1 = the first completed) fails with ``reason``."""

    kind: Literal["cuff-error"]
    cycle: int = Field(ge=1)
    reason: str = Field(default="cuff error", min_length=1, max_length=60)


Event = Annotated[ProbeOff | DeviceSilence | IrregularPulse | CuffError, Field(discriminator="kind")]


class Scenario(_Strict):
    """A named physiological timeline a simulator plays (DRL-1)."""

    name: str = Field(pattern=_NAME)
    description: str = Field(min_length=1)
    seed: int = Field(default=0, ge=0)
    duration: Seconds
    nibp: NibpSchedule = NibpSchedule()
    noise: Noise = Noise()
    keyframes: tuple[Keyframe, ...] = Field(min_length=1)
    events: tuple[Event, ...] = ()

    @model_validator(mode="after")
    def _timeline_consistent(self) -> Scenario:
        if self.duration <= 0:
            raise ValueError("duration must be longer than 0 s")
        times = [frame.at for frame in self.keyframes]
        for earlier, later in itertools.pairwise(times):
            if later <= earlier:
                raise ValueError(f"keyframes must be in time order: {later:g} s comes after {earlier:g} s")
        for track in REQUIRED_TRACKS:
            if all(getattr(frame, track) is None for frame in self.keyframes):
                raise ValueError(
                    f"no keyframe sets {track!r}; every scenario needs spo2, pulse, systolic, diastolic"
                )
        return self

    def track(self, name: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """The (times, values) of the keyframes that set ``name`` (empty when none do)."""
        if name not in TRACKS:
            raise KeyError(f"unknown track {name!r}; tracks are {', '.join(TRACKS)}")
        points = [
            (frame.at, value) for frame in self.keyframes if (value := getattr(frame, name)) is not None
        ]
        return tuple(t for t, _ in points), tuple(v for _, v in points)

    def with_seed(self, seed: int | None) -> Scenario:
        """The same scenario with another noise seed (None keeps the file's seed)."""
        if seed is None:
            return self
        if seed < 0:
            raise ScenarioError(f"scenario {self.name}: seed must be 0 or more, not {seed}")
        return self.model_copy(update={"seed": seed})


def _where(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part in ("probe-off", "silence", "disconnect", "irregular-pulse", "cuff-error"):
            continue  # the discriminator's branch name adds nothing the reader can act on
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def parse_scenario(data: Any, source: str, lines: SourceMap | None = None) -> Scenario:
    """A validated scenario from already-parsed YAML data; errors name ``source`` and the field.

    With ``lines`` (from the file reader) each problem also names its line: ``file:line: field``.
    """

    def where_line(loc: tuple[object, ...]) -> str:
        return f":{lines.line_of(loc)}" if lines is not None else ""

    if not isinstance(data, dict):
        raise ScenarioError(
            f"{source}{where_line(())}: a scenario must be a mapping of fields, not {kind_of(data)}"
        )
    try:
        return Scenario.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors()
        if lines is None:
            problems = "; ".join(f"{_where(err['loc'])}: {err['msg']}" for err in errors)
            raise ScenarioError(f"{source}: {problems}") from None
        raise ScenarioError(
            "\n".join(
                f"{source}{where_line(tuple(err['loc']))}: {_where(err['loc'])}: {err['msg']}"
                for err in errors
            )
        ) from None


#: A scenario is a page of keyframes; the same bounds as every hand-written file.
SCENARIO_LIMITS = YamlLimits()


def load_scenario_file(path: Path) -> Scenario:
    """Load and validate one scenario YAML file; ScenarioError ``file:line: why`` if it is bad."""
    parsed = parse_yaml_file(path, SCENARIO_LIMITS, what="a scenario file")
    if parsed.issues:
        first = parsed.issues[0]
        raise ScenarioError(f"{path}:{first.line}: {first.message}")
    return parse_scenario(parsed.data, str(path), parsed.source)


def _shipped() -> dict[str, Path]:
    folder = resources.files("simulators") / "scenarios"
    found: dict[str, Path] = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            found[entry.name.removesuffix(".yaml")] = Path(str(entry))
    return dict(sorted(found.items()))


def scenario_names() -> tuple[str, ...]:
    """Names of the shipped scenarios, sorted."""
    return tuple(_shipped())


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A shipped scenario by name (``bp-spike``), or any scenario file by path."""
    path = Path(name_or_path)
    if isinstance(name_or_path, Path) or path.suffix in (".yaml", ".yml") or len(path.parts) > 1:
        return load_scenario_file(path)
    shipped = _shipped()
    if name_or_path not in shipped:
        raise ScenarioError(f"no scenario named {name_or_path!r}; known: {', '.join(shipped)}")
    scenario = load_scenario_file(shipped[str(name_or_path)])
    if scenario.name != name_or_path:
        raise ScenarioError(
            f"{shipped[str(name_or_path)]}: name {scenario.name!r} differs from the file name"
        )
    return scenario


def list_scenarios() -> list[Scenario]:
    """Every shipped scenario, validated, sorted by name."""
    return [load_scenario(name) for name in _shipped()]
