"""The EMS hand-off sheet printed with the one PDF renderer (issue 9, PRO-5): patient (name, age,
weight, allergies), infusion start and dose, medications given, a vitals trend summary, alarms, the
protocol path and who is calling; a patient field never prints blank ("not recorded")."""

from __future__ import annotations

import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bedside.workflow.ems_handoff_pdf import (
    HandoffAlarm,
    HandoffPatientDetails,
    age_on,
    ems_handoff_pdf,
    vital_summaries,
)
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from protocols.handoff import EmsHandoff, HandoffMedication, HandoffPatient, HandoffStep

NOW = datetime(2026, 11, 23, 14, 41, tzinfo=UTC)


def _obs(
    kind: VitalKind, value: float | None, minutes_ago: float, quality: Quality = Quality.VALID
) -> Observation:
    at = NOW - timedelta(minutes=minutes_ago)
    return Observation(kind, value, CANONICAL_UNIT[kind], at, at, 0.0, "masimo-1", quality)


def sample_handoff() -> EmsHandoff:
    """A BP spike that went to 911: labetalol given, SpO2 falling, systolic 186 at the peak."""
    vitals = (
        _obs(VitalKind.SPO2, 97, 12),
        _obs(VitalKind.SPO2, 91, 6),
        _obs(VitalKind.SPO2, None, 5, Quality.PROBE_OFF),
        _obs(VitalKind.SPO2, 93, 1),
        _obs(VitalKind.PULSE_RATE, 88, 12),
        _obs(VitalKind.PULSE_RATE, 112, 1),
        _obs(VitalKind.NIBP_SYSTOLIC, 186, 10),
        _obs(VitalKind.NIBP_DIASTOLIC, 111, 10),
        _obs(VitalKind.NIBP_SYSTOLIC, 171, 2),
        _obs(VitalKind.NIBP_DIASTOLIC, 104, 2),
    )
    return EmsHandoff(
        generated_at=NOW,
        patient=HandoffPatient(name="Jordan Example"),
        incident_id="9a1e2c3d",
        session_started_at=NOW - timedelta(minutes=41),
        infusion_started_at=NOW - timedelta(minutes=29),
        event_started_at=NOW - timedelta(minutes=14),
        called_911_at=NOW - timedelta(minutes=1),
        protocols=("BP spike v1.2",),
        vitals=vitals,
        medications=(
            HandoffMedication(
                "labetalol", "10 mg", "IV push", NOW - timedelta(minutes=10), "Dr. Rivera", "BP spike"
            ),
        ),
        steps=(
            HandoffStep(NOW - timedelta(minutes=14), "Dr. Rivera", "BP spike", "infusion stopped"),
            HandoffStep(NOW - timedelta(minutes=1), "Dr. Rivera", "BP spike", "911 called"),
        ),
    )


def _text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "handoff.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


@pytest.mark.req("PRO-5")
def test_the_sheet_carries_patient_infusion_medications_vitals_alarms_path_and_caller(tmp_path: Path) -> None:
    """Issue 9: everything the crew needs is on the sheet, from the same renderer as every PDF."""
    pdf = ems_handoff_pdf(
        sample_handoff(),
        patient=HandoffPatientDetails(
            name="Jordan Example",
            identifier="MRN-20417",
            date_of_birth=date(1984, 12, 1),
            weight_kg=68.5,
            allergies=("penicillin", "latex"),
            sex="female",
        ),
        caller="Dr. Ana Rivera",
        alarms=(HandoffAlarm(NOW - timedelta(minutes=14), "bp_high", "high", "started", "systolic 186"),),
        infusion_dose="0.5 mg/kg over 40 min (34 mg)",
        zone=UTC,
    )
    text = _text(pdf, tmp_path)
    for expected in (
        "EMS hand-off",
        "Jordan Example",
        "41 y",  # born 1984-12-01, sheet printed 2026-11-23
        "68.5 kg",
        "penicillin, latex",
        "0.5 mg/kg over 40 min (34 mg)",
        "14:12:00",  # infusion started
        "labetalol",
        "IV push",
        "bp high",
        "HIGH",
        "infusion stopped",
        "BP spike v1.2",
        "Dr. Ana Rivera",
    ):
        assert expected in text, expected
    spo2 = next(line for line in text.splitlines() if "SpO2 (%)" in line).split()
    assert spo2[2:7] == ["97", "91", "97", "93", "14:40:00"]  # first, lowest, highest, last, when
    assert "not recorded" not in text


@pytest.mark.req("PRO-5")
def test_unknown_patient_fields_print_not_recorded_never_blank(tmp_path: Path) -> None:
    """Issue 9: a monitor without a registered patient still prints every field: "not recorded"."""
    text = _text(ems_handoff_pdf(sample_handoff(), patient=HandoffPatientDetails(), caller=""), tmp_path)
    for label in ("Age", "Weight", "Allergies", "Clinic id", "Dose", "Called by"):
        line = next(line for line in text.splitlines() if label in line)
        assert "not recorded" in line, line
    assert "Jordan Example" in text  # the name the desk was given
    empty = ems_handoff_pdf(sample_handoff(), patient=HandoffPatientDetails(allergies=()), caller="RN Okafor")
    assert "none known" in _text(empty, tmp_path)


def test_summary_and_age_helpers() -> None:
    """Only valid values count; age in completed years; unknown birth date is unknown age."""
    rows = {s.label: s for s in vital_summaries(sample_handoff().vitals)}
    assert rows["SpO2"].count == 3 and rows["SpO2"].lowest == 91
    assert rows["NIBP systolic"].first == 186 and rows["NIBP systolic"].last == 171
    assert age_on(date(1984, 12, 1), date(2026, 11, 30)) == 41
    assert age_on(date(1984, 12, 1), date(2026, 12, 1)) == 42
    assert age_on(None, date(2026, 12, 1)) is None


def make_sample(folder: Path) -> Path:
    """Write docs/sample-ems-handoff.pdf: ``PYTHONPATH=. python -c "from pathlib import Path;
    from tests.workflow.test_ems_handoff_pdf import make_sample; make_sample(Path('docs'))"``."""
    pdf = ems_handoff_pdf(
        sample_handoff(),
        patient=HandoffPatientDetails(
            name="Jordan Example",
            identifier="MRN-20417",
            date_of_birth=date(1984, 12, 1),
            weight_kg=68.5,
            allergies=("penicillin",),
            sex="female",
        ),
        caller="Dr. Ana Rivera",
        alarms=(
            HandoffAlarm(NOW - timedelta(minutes=14), "bp_high", "high", "started", "systolic 186 > 160"),
            HandoffAlarm(NOW - timedelta(minutes=13), "bp_high", "high", "acknowledged", "Dr. Rivera"),
            HandoffAlarm(NOW - timedelta(minutes=6), "spo2_low", "medium", "started", "SpO2 91 < 92"),
        ),
        infusion_dose="0.5 mg/kg over 40 min (34 mg)",
        clinic="Lakeside Infusion Clinic, room 2",
        zone=UTC,
    )
    path = folder / "sample-ems-handoff.pdf"
    path.write_bytes(pdf)
    return path
