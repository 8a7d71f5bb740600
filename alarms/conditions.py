"""The alarm conditions Bedside knows: their ids, priorities and the words a clinician reads.

Physiological conditions judge only VALID values; technical conditions say why a value cannot
be judged (MON-6, ALM-2). SpO2, pulse-rate and heart-rate conditions are judged per device
(MON-7). The table is data, tested entry by entry.
"""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass

from alarms.priority import AlarmPriority

log = logging.getLogger(__name__)


class ConditionId(enum.StrEnum):
    """Every alarm condition; the value is the key used in configuration and records."""

    SPO2_LOW = "spo2_low"
    PULSE_HIGH = "pulse_high"  # pulse rate from an oximeter (PR)
    PULSE_LOW = "pulse_low"
    HR_HIGH = "hr_high"  # heart rate from ECG (HR), judged apart from the pulse rate (MON-7)
    HR_LOW = "hr_low"
    PULSE_DEFICIT = "pulse_deficit"  # HR and PR differ for a sustained time (MON-7)
    BP_HIGH = "bp_high"
    BP_LOW = "bp_low"
    SPO2_PROBE_OFF = "spo2_probe_off"
    SPO2_NO_SIGNAL = "spo2_no_signal"
    NIBP_FAILED = "nibp_failed"
    DEVICE_DISCONNECTED = "device_disconnected"
    DEVICE_SILENT = "device_silent"
    CLOCK_IMPLAUSIBLE = "clock_implausible"
    DATA_IMPLAUSIBLE = "data_implausible"
    RECORDING_FAILED = "recording_failed"
    AUDIO_UNAVAILABLE = "audio_unavailable"  # the alarm sound cannot play (ALM-5)
    DISPLAY_STALLED = "display_stalled"  # the screen stopped updating (ALM-5)
    MONITORING_GAP = "monitoring_gap"  # the monitor restarted mid-session: data is missing (MON-8)
    PROTOCOL_TIMER_DUE = "protocol_timer_due"  # a protocol's recheck timer ran out (PRO-2, PRO-6)


@dataclass(frozen=True, slots=True)
class ConditionSpec:
    """What a condition is: its starting priority, whether it is technical, its title, and
    whether it is judged per device (its alarms are keyed ``alarm_key(condition, source)``)."""

    condition: ConditionId
    priority: AlarmPriority
    technical: bool
    title: str
    per_device: bool = False


CONDITIONS: dict[ConditionId, ConditionSpec] = {
    spec.condition: spec
    for spec in (
        # SpO2 low starts MEDIUM below the patient's floor and escalates to HIGH (config spo2).
        ConditionSpec(ConditionId.SPO2_LOW, AlarmPriority.MEDIUM, False, "SpO2 low", True),
        ConditionSpec(ConditionId.PULSE_HIGH, AlarmPriority.MEDIUM, False, "Pulse high", True),
        ConditionSpec(ConditionId.PULSE_LOW, AlarmPriority.MEDIUM, False, "Pulse low", True),
        ConditionSpec(ConditionId.HR_HIGH, AlarmPriority.MEDIUM, False, "Heart rate high", True),
        ConditionSpec(ConditionId.HR_LOW, AlarmPriority.MEDIUM, False, "Heart rate low", True),
        ConditionSpec(
            ConditionId.PULSE_DEFICIT, AlarmPriority.MEDIUM, False, "Pulse deficit (HR - PR)", True
        ),
        # Above the band: MEDIUM; past the patient's own ceiling: escalates to HIGH.
        ConditionSpec(ConditionId.BP_HIGH, AlarmPriority.MEDIUM, False, "BP high"),
        ConditionSpec(ConditionId.BP_LOW, AlarmPriority.MEDIUM, False, "BP low"),
        ConditionSpec(ConditionId.SPO2_PROBE_OFF, AlarmPriority.LOW, True, "SpO2 probe off", True),
        ConditionSpec(ConditionId.SPO2_NO_SIGNAL, AlarmPriority.MEDIUM, True, "No valid SpO2", True),
        ConditionSpec(ConditionId.NIBP_FAILED, AlarmPriority.LOW, True, "NIBP measurement failed", True),
        ConditionSpec(
            ConditionId.DEVICE_DISCONNECTED, AlarmPriority.MEDIUM, True, "Device disconnected", True
        ),
        ConditionSpec(ConditionId.DEVICE_SILENT, AlarmPriority.MEDIUM, True, "Device silent", True),
        ConditionSpec(
            ConditionId.CLOCK_IMPLAUSIBLE, AlarmPriority.LOW, True, "Device clock implausible", True
        ),
        ConditionSpec(ConditionId.DATA_IMPLAUSIBLE, AlarmPriority.LOW, True, "Implausible value", True),
        # Storage cannot write (disk full, database locked): the record is at risk, not the patient.
        ConditionSpec(ConditionId.RECORDING_FAILED, AlarmPriority.MEDIUM, True, "Recording failed"),
        # Without sound only the screen can alarm: say so until the sound works again.
        ConditionSpec(ConditionId.AUDIO_UNAVAILABLE, AlarmPriority.MEDIUM, True, "Alarm sound unavailable"),
        ConditionSpec(ConditionId.DISPLAY_STALLED, AlarmPriority.HIGH, True, "Display not updating"),
        ConditionSpec(ConditionId.MONITORING_GAP, AlarmPriority.MEDIUM, True, "Monitoring gap (restart)"),
        # A recheck that depends on someone looking at a countdown is missed: due means alarm.
        ConditionSpec(ConditionId.PROTOCOL_TIMER_DUE, AlarmPriority.MEDIUM, True, "Protocol timer due"),
    )
}


#: Events a clinician marks by hand (no device can detect them); protocols may be offered for
#: these as well as for the engine's ConditionIds. A protocol's ``offered_for`` must name one of
#: the two, so a typo is caught when the library loads (PRO-8).
CLINICAL_EVENTS: frozenset[str] = frozenset(
    {
        "allergic_reaction",
        "emergence_reaction",
        "persistent_nausea",
        "prolonged_dissociation",
        "psychiatric_worsening",
        "irregular_rhythm",
        "before_infusion",
        "before_discharge",
    }
)


def is_offer_trigger(name: str) -> bool:
    """True when ``name`` is an alarm condition or a clinician-marked event (PRO-8)."""
    return name in CLINICAL_EVENTS or name in {c.value for c in ConditionId}


def alarm_key(condition: ConditionId, source: str = "") -> str:
    """The key one alarm is known by: the condition, plus the device for per-device conditions."""
    return f"{condition.value}@{source}" if source else condition.value
