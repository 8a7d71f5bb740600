"""The session form: named clinician required, the patient's own thresholds entered before the IV."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from alarms import ThresholdError, ThresholdSet, load_config
from bedside.views.session_controls import SessionControls
from bedside.views.threshold_dialog import ThresholdDialog
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import FakeClock


def _session(clock: FakeClock, records: list[object]) -> ClinicalSession:
    return ClinicalSession(
        clock, load_config(), session_id="s1", record=records.append,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip


@pytest.mark.req("THR-1")
def test_the_patients_own_thresholds_come_from_the_form(qtbot: QtBot) -> None:
    dialog = ThresholdDialog(ThresholdSet.clinic_default(load_config()))
    qtbot.addWidget(dialog)
    dialog.boxes["systolic_ceiling"].setValue(165)
    dialog.boxes["hypotension_floor"].setValue(0)  # a floor cannot be removed (THR-7): the box stops above 0
    dialog.boxes["mean_floor"].setValue(60)
    chosen = dialog.threshold_set()
    assert chosen.systolic_ceiling == 165 and chosen.hypotension_floor > 0 and chosen.mean_floor == 60
    dialog.boxes["diastolic_ceiling"].setValue(170)
    with pytest.raises(ThresholdError):
        dialog.threshold_set()


@pytest.mark.req("THR-1")
def test_no_step_is_taken_without_a_named_clinician_and_refusals_are_shown(
    qtbot: QtBot, clock: FakeClock
) -> None:
    records: list[object] = []
    controls = SessionControls(_session(clock, records))
    qtbot.addWidget(controls)
    controls.buttons["Begin baseline"].click()
    assert "Enter your name first" in controls.message.text() and records == []
    controls.clinician.setText("M. Peterson, CRNA")
    controls.buttons["Start infusion"].click()  # refused: no baseline, thresholds or checklist
    assert controls.message.text().startswith("Start infusion:")
    controls.buttons["Begin baseline"].click()
    assert controls.message.text() == ""
    assert "baseline" in controls.phase_label.text()


@pytest.mark.req("DIS-1")
def test_discharge_is_refused_in_recovery_with_every_unmet_reason_shown(
    qtbot: QtBot, clock: FakeClock
) -> None:
    from alarms import ChecklistItem, DischargeAttestation
    from drivers.types import Observation, Quality, VitalKind

    records: list[object] = []
    clinical = _session(clock, records)
    controls = SessionControls(clinical)
    qtbot.addWidget(controls)
    nurse = "M. Peterson, CRNA"

    def nibp(sys_: float, dia: float) -> None:
        s = clock.stamp()
        for kind, v in (
            (VitalKind.NIBP_SYSTOLIC, sys_),
            (VitalKind.NIBP_DIASTOLIC, dia),
            (VitalKind.NIBP_MEAN, dia + (sys_ - dia) / 3),
        ):
            clinical.on_observation(
                Observation(kind, v, "mm[Hg]", s.wall, s.wall, s.mono, "nibp", Quality.VALID)
            )
        for kind, v in ((VitalKind.SPO2, 98.0), (VitalKind.PULSE_RATE, 72.0)):
            clinical.on_observation(Observation(kind, v, "%", s.wall, s.wall, s.mono, "ox", Quality.VALID))

    clinical.begin_baseline(nurse)
    nibp(120, 78)
    clock.advance(180)
    nibp(122, 80)
    clinical.confirm_baseline(nurse)
    clinical.confirm_thresholds(nurse, ThresholdSet.clinic_default(clinical.config))
    for check in ChecklistItem:
        clinical.attest(check, nurse)
    clinical.start_infusion(nurse)
    clock.advance(1200)
    clinical.end_infusion(nurse)
    nibp(121, 79)
    controls.refresh()
    shown = controls.discharge_label.text()
    assert shown.startswith("Discharge blocked:")
    for item in DischargeAttestation:
        assert item.words in shown
    controls.clinician.setText(nurse)
    controls.buttons["Discharge"].click()
    assert controls.message.text().startswith("Discharge:") and clinical.phase.value == "recovery"
    for item in DischargeAttestation:
        clinical.attest(item, nurse)
    controls.refresh()
    assert controls.discharge_label.text() == "Discharge allowed."
    controls.buttons["Discharge"].click()
    assert clinical.phase.value == "discharged"
