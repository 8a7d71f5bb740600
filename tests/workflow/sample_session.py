"""A realistic session record for export tests, the benchmark and the sample PDFs in docs/."""

from __future__ import annotations

import math
import random
from datetime import UTC, datetime, timedelta

from drivers.types import CANONICAL_UNIT, DeviceEvent, DeviceEventKind, Observation, Quality, Stamp, VitalKind
from storage.clinical_record import Debrief, IncidentAmendment, IncidentClosure, PatientTold, Review
from storage.full_record import (
    FullSessionRecord,
    IncidentDocumentation,
    IncidentLinkEntry,
    MarkerRecord,
    MedicationRecord,
)
from storage.records import (
    AlarmEventRecord,
    AttestationRecord,
    BaselineRecord,
    IncidentSummary,
    MonitoringGapRecord,
    NibpIntervalChangeRecord,
    NoteRecord,
    PhaseTransitionRecord,
    ProtocolRunStartedRecord,
    ProtocolRunSummary,
    ProtocolStepRecord,
    SessionSummary,
    ThresholdChangeRecord,
    ThresholdSetRecord,
)

START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


def _obs(
    kind: VitalKind, value: float | None, at: datetime, source: str, quality: Quality = Quality.VALID
) -> Observation:
    return Observation(
        kind,
        value,
        CANONICAL_UNIT[kind],
        at,
        at + timedelta(milliseconds=200),
        (at - START).total_seconds(),
        source,
        quality,
    )


def sample_record(
    *,
    hours: float = 1.0,
    drill: bool = False,
    seed: int = 7,
    session_id: str = "3f2b8c1e-5d4a-4e8b-9c61-2a7f0d9e1b42",
) -> FullSessionRecord:
    """A session of ``hours``: 1 Hz SpO2 and pulse, NIBP every 5 min, a BP spike with its protocol run."""
    rng = random.Random(seed)
    sid = session_id
    end = START + timedelta(hours=hours)
    infusion = START + timedelta(minutes=12)
    spike = START + timedelta(hours=hours * 0.45)
    gap = (START + timedelta(hours=hours * 0.7), START + timedelta(hours=hours * 0.7, minutes=3))
    obs: list[Observation] = []
    at = START
    while at < end:
        if gap[0] <= at < gap[1]:
            at += timedelta(seconds=1)
            continue
        minutes = (at - START).total_seconds() / 60
        probe_off = 20 * 60 <= (at - START).total_seconds() < 20 * 60 + 45
        if probe_off:
            obs.append(_obs(VitalKind.SPO2, None, at, "masimo-1", Quality.PROBE_OFF))
            obs.append(_obs(VitalKind.PULSE_RATE, None, at, "masimo-1", Quality.PROBE_OFF))
        else:
            dip = 6 * math.exp(-(((at - spike).total_seconds() / 240) ** 2))
            obs.append(_obs(VitalKind.SPO2, round(97 - dip + rng.gauss(0, 0.6), 0), at, "masimo-1"))
            rise = 12 if at > infusion else 0
            obs.append(
                _obs(
                    VitalKind.PULSE_RATE,
                    round(72 + rise + 4 * math.sin(minutes / 9) + rng.gauss(0, 1.5), 0),
                    at,
                    "masimo-1",
                )
            )
        at += timedelta(seconds=1)
    nibp_at = START + timedelta(minutes=1)
    while nibp_at < end:
        if not (gap[0] <= nibp_at < gap[1]):
            rise = 1.0 if nibp_at < infusion else 1.18
            bump = 42 * math.exp(-(((nibp_at - spike).total_seconds() / 600) ** 2))
            sys_ = round(124 * rise + bump + rng.gauss(0, 3))
            dia = round(78 * rise + bump / 2 + rng.gauss(0, 2))
            quality = (
                Quality.CUFF_ERROR
                if abs((nibp_at - START).total_seconds() - 35 * 60) < 150
                else Quality.VALID
            )
            for kind, value in (
                (VitalKind.NIBP_SYSTOLIC, sys_),
                (VitalKind.NIBP_DIASTOLIC, dia),
                (VitalKind.NIBP_MEAN, round(dia + (sys_ - dia) / 3)),
            ):
                obs.append(
                    _obs(
                        kind,
                        float(value) if quality is Quality.VALID else None,
                        nibp_at,
                        "suntech-1",
                        quality,
                    )
                )
        nibp_at += timedelta(minutes=5)
    obs.sort(key=lambda o: o.measured_at)
    ts_id = "c6d0a7b2-8e1f-4a55-b1d9-7e3c2f6a9d10"
    incident = "9a1e2c3d-4b5f-4061-8a7b-1c2d3e4f5a6b"
    run = "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9"
    s = lambda minutes: START + timedelta(minutes=minutes)  # noqa: E731
    steps = (
        ProtocolStepRecord(run, 1, spike + timedelta(seconds=40), "Dr. Rivera", "start", "run_started"),
        ProtocolStepRecord(
            run,
            2,
            spike + timedelta(seconds=50),
            "Dr. Rivera",
            "stop_infusion",
            "done",
            "",
            "infusion paused",
        ),
        ProtocolStepRecord(
            run,
            3,
            spike + timedelta(minutes=2),
            "RN Okafor",
            "recheck_bp",
            "vitals_recorded",
            "nibp_systolic 171 mm[Hg]",
        ),
        ProtocolStepRecord(
            run,
            4,
            spike + timedelta(minutes=4),
            "Dr. Rivera",
            "labetalol",
            "medication_given",
            "labetalol | 10 mg | IV push",
            "",
            occurred_at=spike + timedelta(minutes=3, seconds=30),
        ),
        ProtocolStepRecord(
            run,
            5,
            spike + timedelta(minutes=5),
            "Dr. Rivera",
            "labetalol",
            "correction",
            "",
            "given at 3.5 min, not 3",
            corrects=4,
        ),
        ProtocolStepRecord(
            run, 6, spike + timedelta(minutes=14), "Dr. Rivera", "resolved", "ended", "resolved"
        ),
    )
    return FullSessionRecord(
        session=SessionSummary(
            sid,
            START,
            "Dr. Rivera",
            drill,
            "discharged" if not drill else "recovery",
            "Jordan Example" if not drill else "Drill Patient",
            "MRN-20417" if not drill else "",
            "bp-spike" if drill else "",
            end,
            "room-2",
        ),
        observations=tuple(obs),
        device_events=(
            DeviceEvent(DeviceEventKind.CONNECTED, "masimo-1", Stamp(START, 0.0)),
            DeviceEvent(DeviceEventKind.DISCONNECTED, "masimo-1", Stamp(gap[0], 1.0), "restart"),
        ),
        phase_transitions=(
            PhaseTransitionRecord(sid, "setup", "baseline", s(2), "Dr. Rivera"),
            PhaseTransitionRecord(sid, "baseline", "infusion", infusion, "Dr. Rivera"),
            PhaseTransitionRecord(
                sid, "infusion", "recovery", end - timedelta(minutes=min(40, hours * 10)), "Dr. Rivera"
            ),
            PhaseTransitionRecord(sid, "recovery", "discharged", end, "Dr. Rivera"),
        ),
        baselines=(BaselineRecord(sid, 124.0, 78.0, 93.0, 97.0, 72.0, "Dr. Rivera", s(10)),),
        threshold_sets=(
            ThresholdSetRecord(
                ts_id,
                sid,
                "Dr. Rivera",
                s(11),
                160.0,
                100.0,
                90.0,
                92.0,
                85.0,
                50.0,
                120.0,
                1.15,
                1.30,
                65.0,
                20.0,
                20.0,
            ),
        ),
        threshold_changes=(
            ThresholdChangeRecord(
                ts_id,
                sid,
                spike + timedelta(minutes=20),
                "Dr. Rivera",
                "systolic_ceiling",
                160.0,
                170.0,
                "known hypertensive; cardiology letter on file",
            ),
        ),
        nibp_interval_changes=(
            NibpIntervalChangeRecord(
                sid,
                spike - timedelta(minutes=6),
                300.0,
                120.0,
                "BP trend rising toward ceiling (THR-6)",
                "Bedside",
            ),
        ),
        alarm_events=(
            AlarmEventRecord(sid, "started", "bp_high", "high", spike, "", "systolic 176 above ceiling 160"),
            AlarmEventRecord(
                sid, "acknowledged", "bp_high", "high", spike + timedelta(seconds=25), "Dr. Rivera"
            ),
            AlarmEventRecord(sid, "ended", "bp_high", "high", spike + timedelta(minutes=12)),
            AlarmEventRecord(sid, "started", "spo2_probe_off", "low", s(20), "", "SpO2 probe off"),
            AlarmEventRecord(sid, "ended", "spo2_probe_off", "low", s(20.75)),
        ),
        incidents=(
            IncidentSummary(
                incident,
                sid,
                spike + timedelta(seconds=40),
                "protocol",
                "BP spike during infusion",
                "Dr. Rivera",
                spike + timedelta(minutes=30),
                "Dr. Rivera",
            ),
        ),
        protocol_runs=(
            ProtocolRunSummary(
                ProtocolRunStartedRecord(
                    run,
                    incident,
                    "bp-spike",
                    "1.2",
                    "sha256:" + "ab" * 32,
                    spike + timedelta(seconds=40),
                    "Dr. Rivera",
                ),
                steps,
                spike + timedelta(minutes=14),
                "resolved",
            ),
        ),
        notes=(
            NoteRecord(
                sid,
                spike - timedelta(minutes=6),
                "Bedside (THR-6)",
                "BP trend: systolic rising 2.4 mmHg/min, projected 163 before the next cycle (ceiling 160)",
            ),
            NoteRecord(
                sid,
                end - timedelta(minutes=5),
                "Dr. Rivera",
                "Tolerated well after labetalol. Ambulatory, oriented; driver present.",
            ),
        ),
        attestations=(
            AttestationRecord(sid, "readiness", "Airway equipment in the room", "RN Okafor", s(5)),
            AttestationRecord(
                sid, "discharge", "Sober adult driver present", "Dr. Rivera", end - timedelta(minutes=2)
            ),
        ),
        monitoring_gaps=(MonitoringGapRecord(sid, gap[0], gap[1], "room-2", "monitor restarted (power)"),),
        markers=(
            MarkerRecord(
                infusion, infusion, "RN Okafor", "room-2", "infusion started", "ketamine 0.5 mg/kg/40 min"
            ),
            MarkerRecord(
                spike - timedelta(seconds=30),
                spike + timedelta(minutes=16),
                "RN Okafor",
                "room-2",
                "headache",
                "patient reports a pounding frontal headache",
            ),
            MarkerRecord(
                end - timedelta(minutes=min(40, hours * 10)),
                end - timedelta(minutes=min(40, hours * 10)),
                "RN Okafor",
                "room-2",
                "infusion ended",
            ),
        ),
        medications=(
            MedicationRecord(
                s(8), s(8), "RN Okafor", "room-2", "ondansetron", 4.0, "mg", "IV", "before infusion"
            ),
            MedicationRecord(
                infusion,
                infusion,
                "Dr. Rivera",
                "room-2",
                "ketamine",
                34.0,
                "mg",
                "IV infusion",
                "over 40 min",
            ),
        ),
        incident_documentation=(
            IncidentDocumentation(
                incident_id=incident,
                origin=None,
                links=(
                    IncidentLinkEntry("alarm", 0, spike + timedelta(minutes=16), "Dr. Rivera"),
                    IncidentLinkEntry("marker", 1, spike + timedelta(minutes=16), "Dr. Rivera"),
                ),
                closure=IncidentClosure(
                    spike + timedelta(minutes=30),
                    "Dr. Rivera",
                    "room-2",
                    "resolved_in_clinic",
                    "BP 142/88 after labetalol; headache gone",
                ),
                amendments=(
                    IncidentAmendment(
                        end + timedelta(hours=2),
                        "Dr. Rivera",
                        "room-2",
                        "Phone call: home, no headache, BP at home 128/80.",
                    ),
                ),
                debriefs=(
                    Debrief(
                        spike + timedelta(minutes=45),
                        "Dr. Rivera",
                        "room-2",
                        "Systolic rose to 176 with a headache 27 min into the infusion.",
                        "Infusion stopped, labetalol 10 mg IV; BP 142/88 within 14 min.",
                        "The trend flag came 6 min early; NIBP went to 2-minute cycles.",
                        "Labetalol was drawn up late: keep it ready for known hypertensives.",
                        "yes",
                        ("intervention_to_prevent_harm",),
                        "IV antihypertensive needed",
                    ),
                ),
                reviews=(
                    Review(
                        end + timedelta(days=2),
                        "Dr. Lee (medical director)",
                        "room-2",
                        "bp-spike",
                        "1.2",
                        "sha256:" + "ab" * 32,
                        "yes",
                        True,
                        "Protocol followed; the recheck interval after labetalol is not stated.",
                        "Add: recheck BP 5 min after each labetalol dose.",
                    ),
                ),
                patient_told=(
                    PatientTold(
                        "Your blood pressure went up to 176/104 and you had a headache.",
                        "We stopped the infusion and gave labetalol, a blood pressure medicine.",
                        "It came down within 15 minutes; next time we will start slower.",
                        "Dr. Rivera",
                        spike + timedelta(minutes=35),
                        "Dr. Rivera",
                        spike + timedelta(minutes=36),
                        "room-2",
                    ),
                ),
            ),
        ),
    )
