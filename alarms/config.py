"""Every clinical default in one validated model, loaded from YAML (THR-5: no scattered constants).

``alarms/defaults.yaml`` holds the clinic-level defaults; a clinic file may override any subset
(nested keys merge). Files are read with ``yaml.safe_load`` and validated by pydantic, so a typo
or an impossible value is rejected with a message naming the file and the key.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alarms.conditions import ConditionId
from drivers.types import VitalKind

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
    """How a baseline is computed from pre-infusion readings (THR-2)."""

    min_nibp_readings: int = Field(ge=1)
    min_spacing_s: float = Field(ge=0)
    method: Literal["median"]


class NibpConfig(_Strict):
    """NIBP cycle intervals (MON-2, MON-3)."""

    allowed_intervals_min: tuple[int, ...]
    default_interval_min: int
    shortened_interval_min: int

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

    @model_validator(mode="after")
    def _ordered(self) -> MonitoringConfig:
        # A value shown greyed (stale) must first have stopped being current (MON-1).
        if self.stale_after_s < self.no_valid_spo2_s:
            raise ValueError("monitoring.stale_after_s must not be below monitoring.no_valid_spo2_s")
        return self


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


class DefaultThresholds(_Strict):
    """The threshold set offered for a new patient before the clinician edits it (THR-1)."""

    systolic_ceiling: float
    diastolic_ceiling: float
    spo2_floor: float
    pulse_floor: float
    pulse_ceiling: float
    hypotension_floor: float | None = None


class ProtocolIds(_Strict):
    """Ids of the written protocols the engine offers."""

    bp_spike: str = Field(min_length=1)


class ClinicalConfig(_Strict):
    """Every clinical default the engine uses, validated."""

    band: BandConfig
    baseline: BaselineConfig
    nibp: NibpConfig
    trend: TrendConfig
    monitoring: MonitoringConfig
    spo2: Spo2Config
    extremes: ExtremesConfig
    pulse_deficit: PulseDeficitConfig
    alarm_delays_s: dict[ConditionId, float]
    audio_pause: AudioPauseConfig
    discharge: DischargeConfig
    possible_ranges: dict[VitalKind, tuple[float, float]]
    default_thresholds: DefaultThresholds
    protocols: ProtocolIds

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


def _read_mapping(text: str, origin: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: the top level must be a mapping of settings")
    return data


def default_config_text() -> str:
    """The text of the packaged clinic-level defaults."""
    return resources.files("alarms").joinpath("defaults.yaml").read_text(encoding="utf-8")


def load_config(clinic_file: Path | None = None) -> ClinicalConfig:
    """The packaged defaults, overridden by ``clinic_file`` when given."""
    data = _read_mapping(default_config_text(), "alarms/defaults.yaml")
    origin = "alarms/defaults.yaml"
    if clinic_file is not None:
        try:
            text = clinic_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{clinic_file}: cannot read the clinic configuration: {exc}") from exc
        data = _merge(data, _read_mapping(text, str(clinic_file)))
        origin = str(clinic_file)
    try:
        config = ClinicalConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{origin}: invalid clinical configuration:\n{exc}") from exc
    log.info("clinical configuration loaded from %s", origin)
    return config
