"""The pure clinical engine: baseline, expected-rise band, thresholds, trend, NIBP cycling,
alarms, alarm tones, session phases and discharge criteria. No Qt, no threads, no sleeping."""

from __future__ import annotations

from alarms.band import BandClassification, BpClass, ExpectedRiseBand
from alarms.baseline import (
    Baseline,
    BaselineCalculator,
    BaselineCandidate,
    BaselineField,
    BaselineNotReadyError,
    BaselineOverride,
    BaselineOverrideError,
)
from alarms.clinician import UnnamedClinicianError, require_clinician
from alarms.conditions import CONDITIONS, ConditionId, ConditionSpec, alarm_key
from alarms.config import ClinicalConfig, ConfigError, default_config_text, load_config
from alarms.discharge import Attestation, DischargeAttestation, DischargeCriteria, DischargeStatus
from alarms.freshness import age_s, is_current
from alarms.manager import (
    ActiveAlarm,
    AlarmEvent,
    AlarmEventKind,
    AlarmManager,
    AudioPauseError,
    UnknownAlarmError,
)
from alarms.nibp_reading import NibpAssembler, NibpReading
from alarms.nibp_schedule import (
    ConfirmRemeasure,
    IntervalChange,
    IntervalNotAllowedError,
    NibpAction,
    NibpScheduler,
    PromptClinician,
    StartCycle,
)
from alarms.priority import PRIORITY_LOOK, AlarmPriority, FlashSpec, PriorityLook
from alarms.session import (
    ChecklistAttestation,
    ChecklistItem,
    DischargeBlockedError,
    InfusionNotReadyError,
    InfusionSession,
    PhaseOrderError,
    PhaseTransition,
    SessionError,
    SessionPhase,
)
from alarms.thresholds import (
    NibpJudgement,
    ThresholdBook,
    ThresholdChange,
    ThresholdError,
    ThresholdField,
    ThresholdSet,
    ThresholdsLockedError,
    ThresholdsNotSetError,
    judge_nibp,
)
from alarms.tones import BURSTS, HIGH_HALF_GAP_S, BurstSpec, burst, pulse_onsets
from alarms.trend import BpTrend, PressureProjection, TrendAssessment

__all__ = [
    "BURSTS",
    "CONDITIONS",
    "HIGH_HALF_GAP_S",
    "PRIORITY_LOOK",
    "ActiveAlarm",
    "AlarmEvent",
    "AlarmEventKind",
    "AlarmManager",
    "AlarmPriority",
    "Attestation",
    "AudioPauseError",
    "BandClassification",
    "Baseline",
    "BaselineCalculator",
    "BaselineCandidate",
    "BaselineField",
    "BaselineNotReadyError",
    "BaselineOverride",
    "BaselineOverrideError",
    "BpClass",
    "BpTrend",
    "BurstSpec",
    "ChecklistAttestation",
    "ChecklistItem",
    "ClinicalConfig",
    "ConditionId",
    "ConditionSpec",
    "ConfigError",
    "ConfirmRemeasure",
    "DischargeAttestation",
    "DischargeBlockedError",
    "DischargeCriteria",
    "DischargeStatus",
    "ExpectedRiseBand",
    "FlashSpec",
    "InfusionNotReadyError",
    "InfusionSession",
    "IntervalChange",
    "IntervalNotAllowedError",
    "NibpAction",
    "NibpAssembler",
    "NibpJudgement",
    "NibpReading",
    "NibpScheduler",
    "PhaseOrderError",
    "PhaseTransition",
    "PressureProjection",
    "PriorityLook",
    "PromptClinician",
    "SessionError",
    "SessionPhase",
    "StartCycle",
    "ThresholdBook",
    "ThresholdChange",
    "ThresholdError",
    "ThresholdField",
    "ThresholdSet",
    "ThresholdsLockedError",
    "ThresholdsNotSetError",
    "TrendAssessment",
    "UnknownAlarmError",
    "UnnamedClinicianError",
    "age_s",
    "alarm_key",
    "burst",
    "default_config_text",
    "is_current",
    "judge_nibp",
    "load_config",
    "pulse_onsets",
    "require_clinician",
]
