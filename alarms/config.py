"""Every clinical default in one validated model, loaded from YAML (THR-5: no scattered constants).

``alarms/defaults.yaml`` holds the clinic-level defaults; a clinic file may override any subset
(nested keys merge). Files are read by the bounded reader in ``drivers.yaml_input`` and validated
by pydantic, so a typo, an impossible value or a malformed file is rejected with a message naming
the file, the line and the key.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alarms.conditions import ConditionId
from drivers.types import VitalKind
from drivers.yaml_input import (
    ParsedYaml,
    SourceMap,
    YamlLimits,
    kind_of,
    parse_yaml_bytes,
    parse_yaml_file,
)

log = logging.getLogger(__name__)


class ConfigError(ValueError):
    """A configuration file is missing, not YAML, or has an invalid value."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BandConfig(_Strict):
    """Factors of the expected ketamine rise band (THR-3)."""

    low_factor: float = Field(gt=1.0)
    high_factor: float = Field(gt=1.0)

    @model_validator(mode="after")
    def _ordered(self) -> BandConfig:
        if self.high_factor <= self.low_factor:
            raise ValueError("band.high_factor must be greater than band.low_factor")
        return self


class BaselineConfig(_Strict):
    """How a baseline is computed from pre-infusion readings (THR-2, THR-8)."""

    min_nibp_readings: int = Field(ge=1)
    min_spacing_s: float = Field(ge=0)
    method: Literal["median"]
    # Readings that disagree more than this need another reading before a baseline is offered.
    max_systolic_spread_mmhg: float = Field(gt=0)
    max_diastolic_spread_mmhg: float = Field(gt=0)
    readings_when_spread: int = Field(ge=3)
    # The baseline is the patient's current resting state: readings older than this before the
    # newest one are dropped (and memory stays bounded in a long pre-infusion phase, issue 11).
    max_age_min: float = Field(gt=0, le=24 * 60)

    @model_validator(mode="after")
    def _more_when_spread(self) -> BaselineConfig:
        if self.readings_when_spread <= self.min_nibp_readings:
            raise ValueError("baseline.readings_when_spread must be greater than baseline.min_nibp_readings")
        if self.max_age_min * 60 < self.min_spacing_s * (self.min_nibp_readings - 1):
            raise ValueError(
                "baseline.max_age_min is too short to hold baseline.min_nibp_readings readings "
                "baseline.min_spacing_s apart"
            )
        return self


class NibpConfig(_Strict):
    """NIBP cycle intervals (MON-2, MON-3)."""

    allowed_intervals_min: tuple[int, ...]
    default_interval_min: int
    shortened_interval_min: int
    #: A started cycle with no result after this long is no longer shown as "measuring".
    max_cycle_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _allowed(self) -> NibpConfig:
        for name in ("default_interval_min", "shortened_interval_min"):
            if getattr(self, name) not in self.allowed_intervals_min:
                raise ValueError(f"nibp.{name} must be one of {list(self.allowed_intervals_min)}")
        return self


class TrendConfig(_Strict):
    """How a BP series is projected to the next cycle (THR-6)."""

    window_readings: int = Field(ge=2)
    min_readings: int = Field(ge=2)
    min_rise_mmhg_per_min: float = Field(ge=0)
    include_band_top: bool


class MonitoringConfig(_Strict):
    """Freshness and plausibility of incoming values (MON-1, MON-6, ALM-2)."""

    no_valid_spo2_s: float = Field(gt=0)
    stale_after_s: float = Field(gt=0)
    future_tolerance_s: float = Field(ge=0)
    past_tolerance_s: float = Field(ge=0)
    #: The window's (GUI) thread silent this long is the technical alarm "display not updating" (ALM-5).
    display_stalled_after_s: float = Field(gt=0)
    #: A trend line is broken where samples are further apart than this (or 3 sample intervals,
    #: whichever is longer): missing data is never drawn as data (MON-5).
    trend_gap_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> MonitoringConfig:
        # A value shown greyed (stale) must first have stopped being current (MON-1).
        if self.stale_after_s < self.no_valid_spo2_s:
            raise ValueError("monitoring.stale_after_s must not be below monitoring.no_valid_spo2_s")
        return self


class RecordingConfig(_Strict):
    """How long a storage write may hang before it is a technical alarm (ALM-5)."""

    write_hang_s: float = Field(gt=0)


class Spo2Config(_Strict):
    """SpO2 below this escalates the SpO2-low alarm to high priority."""

    high_priority_below: float = Field(ge=0, le=100)


class ExtremesConfig(_Strict):
    """High-priority tiers for extreme heart and pulse rates (ALM-4), applied to HR and PR alike."""

    rate_high_priority_below: float = Field(gt=0)
    rate_high_priority_above: float = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> ExtremesConfig:
        if self.rate_high_priority_above <= self.rate_high_priority_below:
            raise ValueError(
                "extremes.rate_high_priority_above must be greater than extremes.rate_high_priority_below"
            )
        return self


class PulseDeficitConfig(_Strict):
    """When heart rate (ECG) and pulse rate (oximetry) differ enough to be a pulse deficit (MON-7)."""

    min_difference_per_min: float = Field(gt=0)


class AudioPauseConfig(_Strict):
    """Bounded audio pause (ALM-3)."""

    default_s: float = Field(gt=0)
    max_s: float = Field(gt=0)

    @model_validator(mode="after")
    def _bounded(self) -> AudioPauseConfig:
        if self.default_s > self.max_s:
            raise ValueError("audio_pause.default_s must not exceed audio_pause.max_s")
        return self


class DischargeConfig(_Strict):
    """Tolerances for "vitals back at baseline" (DIS-1)."""

    systolic_max_rise_pct: float = Field(ge=0)
    systolic_max_fall_pct: float = Field(ge=0)
    diastolic_max_rise_pct: float = Field(ge=0)
    diastolic_max_fall_pct: float = Field(ge=0)
    pulse_tolerance_per_min: float = Field(ge=0)
    spo2_below_baseline_max: float = Field(ge=0)
    spo2_min: float = Field(ge=0, le=100)
    nibp_max_age_s: float = Field(gt=0)
    oximetry_max_age_s: float = Field(gt=0)
    #: The expected dissociation window after the infusion ends (PRO-5): the recovery clock is
    #: marked once it is past the end of the window.
    dissociation_window_min: tuple[float, float] = (20.0, 40.0)

    @model_validator(mode="after")
    def _window_in_order(self) -> DischargeConfig:
        low, high = self.dissociation_window_min
        if not 0 <= low < high:
            raise ValueError("discharge.dissociation_window_min: write [start, end] minutes, start below end")
        return self

    def dissociation_state(self, minutes_since_infusion_end: float) -> str:
        """Where recovery stands against the expected dissociation window (PRO-5): ``before``,
        ``within`` or ``past`` (past the window: dissociation that does not resolve)."""
        low, high = self.dissociation_window_min
        if minutes_since_infusion_end > high:
            return "past"
        return "within" if minutes_since_infusion_end >= low else "before"


class DefaultThresholds(_Strict):
    """The threshold set offered for a new patient before the clinician edits it (THR-1), and the
    clinic's absolute limits every reading is judged against before a baseline exists (THR-8)."""

    systolic_ceiling: float = Field(gt=0)
    diastolic_ceiling: float = Field(gt=0)
    spo2_floor: float = Field(gt=0, le=100)
    pulse_floor: float = Field(gt=0)
    pulse_ceiling: float = Field(gt=0)
    hypotension_floor: float = Field(gt=0)  # systolic; a floor can be changed, never removed (THR-7)
    mean_floor: float = Field(gt=0)
    systolic_fall_pct: float = Field(gt=0, lt=100)
    mean_fall_pct: float = Field(gt=0, lt=100)


#: Which measured kinds each threshold value is a limit of: a threshold outside their possible
#: range (e.g. a systolic ceiling of 1300) is a typo, never a limit (THR-8). Percentages have none.
THRESHOLD_KINDS: dict[str, tuple[VitalKind, ...]] = {
    "systolic_ceiling": (VitalKind.NIBP_SYSTOLIC,),
    "diastolic_ceiling": (VitalKind.NIBP_DIASTOLIC,),
    "spo2_floor": (VitalKind.SPO2,),
    "pulse_floor": (VitalKind.PULSE_RATE, VitalKind.HEART_RATE),
    "pulse_ceiling": (VitalKind.PULSE_RATE, VitalKind.HEART_RATE),
    "hypotension_floor": (VitalKind.NIBP_SYSTOLIC,),
    "mean_floor": (VitalKind.NIBP_MEAN,),
    "systolic_fall_pct": (),
    "mean_fall_pct": (),
}


class ProtocolIds(_Strict):
    """Ids of the written protocols the engine offers."""

    bp_spike: str = Field(min_length=1)


class SignInConfig(_Strict):
    """How wrong PINs or passwords are met (issue 9, Identity): a lock after so many tries in a row."""

    max_wrong_tries: int = Field(ge=1)
    lockout_min: float = Field(gt=0)
    min_secret_length: int = Field(ge=4)


class PatientRecordConfig(_Strict):
    """Plausibility of a patient's recorded details (issue 9, Identity): a typo, never a patient."""

    weight_kg_min: float = Field(gt=0)
    weight_kg_max: float = Field(gt=0)
    max_age_years: int = Field(gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> PatientRecordConfig:
        if self.weight_kg_max <= self.weight_kg_min:
            raise ValueError("patient_record.weight_kg_max must be greater than patient_record.weight_kg_min")
        return self


class IncidentRecordConfig(_Strict):
    """The vitals an incident shows around its opening (issue 9, DOC-2): read when shown, never copied."""

    vitals_before_min: float = Field(ge=0)
    vitals_after_min: float = Field(ge=0)


class ClinicalConfig(_Strict):
    """Every clinical default the engine uses, validated."""

    band: BandConfig
    baseline: BaselineConfig
    nibp: NibpConfig
    trend: TrendConfig
    monitoring: MonitoringConfig
    recording: RecordingConfig
    spo2: Spo2Config
    extremes: ExtremesConfig
    pulse_deficit: PulseDeficitConfig
    alarm_delays_s: dict[ConditionId, float]
    audio_pause: AudioPauseConfig
    discharge: DischargeConfig
    possible_ranges: dict[VitalKind, tuple[float, float]]
    default_thresholds: DefaultThresholds
    protocols: ProtocolIds
    sign_in: SignInConfig
    patient_record: PatientRecordConfig
    incident_record: IncidentRecordConfig
    follow_up: FollowUpConfig

    @model_validator(mode="after")
    def _complete(self) -> ClinicalConfig:
        missing = [c.value for c in ConditionId if c not in self.alarm_delays_s]
        if missing:
            raise ValueError(f"alarm_delays_s lacks a delay for: {', '.join(missing)}")
        if any(d < 0 for d in self.alarm_delays_s.values()):
            raise ValueError("alarm_delays_s values must be >= 0 seconds")
        for kind, (low, high) in self.possible_ranges.items():
            if low >= high:
                raise ValueError(f"possible_ranges.{kind.value}: low must be below high")
        return self

    @model_validator(mode="after")
    def _default_thresholds_possible(self) -> ClinicalConfig:
        for name, kinds in THRESHOLD_KINDS.items():
            value = getattr(self.default_thresholds, name)
            for kind in kinds:
                if not self.is_possible(kind, value):
                    low, high = self.possible_ranges[kind]
                    raise ValueError(
                        f"default_thresholds.{name} {value:g} is outside the possible range of "
                        f"{kind.value} ({low:g} to {high:g})"
                    )
        return self

    def delay_s(self, condition: ConditionId) -> float:
        """Seconds the condition must persist before it alarms."""
        return self.alarm_delays_s[condition]

    def is_possible(self, kind: VitalKind, value: float) -> bool:
        """True when the value lies in the physiologically possible range for its kind."""
        bounds = self.possible_ranges.get(kind)
        return bounds is None or bounds[0] <= value <= bounds[1]


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


#: A clinic configuration is a page of settings; these bounds refuse anything else in well under
#: a second (finding 15: a deeply nested file crashed start-up, an alias bomb stalled it 43 s).
CONFIG_LIMITS = YamlLimits(max_bytes=256 * 1024, max_depth=20, max_values=10_000, max_aliases=50)
_WHAT = "a clinic configuration"


def _read_mapping(parsed: ParsedYaml, origin: str) -> tuple[dict[str, Any], SourceMap]:
    """The settings read with the line of each; ConfigError ``origin:line: why`` otherwise."""
    if parsed.issues:
        first = parsed.issues[0]
        raise ConfigError(f"{origin}:{first.line}: {first.message}")
    if not isinstance(parsed.data, dict):
        raise ConfigError(
            f"{origin}:{parsed.source.line_of(())}: the top level must be a mapping of settings "
            f"(name: value), not {kind_of(parsed.data)}"
        )
    return parsed.data, parsed.source


def _invalid(exc: ValidationError, origin: str, source: SourceMap) -> ConfigError:
    """One line per problem, each ``origin:line: setting: what is wrong``."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(part for part in err["loc"] if part != "[key]")
        where = ".".join(str(part) for part in loc) or "top level"
        if err["type"] == "extra_forbidden":
            what = f"unknown setting {str(loc[-1])!r} (check the spelling against alarms/defaults.yaml)"
        else:
            what = str(err["msg"]).removeprefix("Value error, ")
        lines.append(f"{origin}:{source.line_of(loc)}: {where}: {what}")
    return ConfigError("\n".join(lines))


def default_config_text() -> str:
    """The text of the packaged clinic-level defaults."""
    return resources.files("alarms").joinpath("defaults.yaml").read_text(encoding="utf-8")


def load_config(clinic_file: Path | None = None) -> ClinicalConfig:
    """The packaged defaults, overridden by ``clinic_file`` when given.

    Every failure is a ConfigError whose message starts ``file:line:`` and says what is wrong in
    one sentence (a problem per line); no other exception escapes for a bad file.
    """
    origin = "alarms/defaults.yaml"
    packaged = parse_yaml_bytes(default_config_text().encode("utf-8"), CONFIG_LIMITS, what=_WHAT)
    data, source = _read_mapping(packaged, origin)
    if clinic_file is not None:
        origin = str(clinic_file)
        clinic, source = _read_mapping(parse_yaml_file(clinic_file, CONFIG_LIMITS, what=_WHAT), origin)
        data = _merge(data, clinic)
    try:
        config = ClinicalConfig.model_validate(data)
    except ValidationError as exc:
        raise _invalid(exc, origin, source) from None
    log.info("clinical configuration loaded from %s", origin)
    return config


FollowUpContact = Literal["phone_call", "extra_visit", "symptom_check_in"]


class FollowUpItemConfig(_Strict):
    """One contact owed after an event (DOC-7): when it opens and when it is due, in hours after it."""

    contact: FollowUpContact
    opens_after_h: float = Field(ge=0)
    due_within_h: float = Field(gt=0)
    repeat: int = Field(default=1, ge=1, le=60)
    every_h: float = Field(default=24, gt=0)

    @model_validator(mode="after")
    def _opens_before_due(self) -> FollowUpItemConfig:
        if self.due_within_h <= self.opens_after_h:
            raise ValueError(
                f"a {self.contact} must be due ({self.due_within_h:g} h) after it opens "
                f"({self.opens_after_h:g} h)"
            )
        return self


class FollowUpConfig(_Strict):
    """Follow-up after an event, by event type (DOC-7), and the step of an earlier BP threshold."""

    earlier_bp_threshold_mmhg: float = Field(gt=0, le=60)
    schedules: dict[str, list[FollowUpItemConfig]]

    @model_validator(mode="after")
    def _has_default(self) -> FollowUpConfig:
        if "default" not in self.schedules:
            raise ValueError("follow_up.schedules needs a 'default' schedule for unlisted event types")
        for name, items in self.schedules.items():
            if not items:
                raise ValueError(f"follow_up.schedules.{name} lists no contact: remove it or add one")
        return self

    def schedule_for(self, event_type: str) -> list[FollowUpItemConfig]:
        """The contacts owed after an event of this type (the default schedule if it is not listed)."""
        return self.schedules.get(event_type, self.schedules["default"])


ClinicalConfig.model_rebuild()
