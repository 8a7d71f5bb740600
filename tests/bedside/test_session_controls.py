"""The session form: named clinician required, the patient's own thresholds entered before the IV."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from alarms import ThresholdError, ThresholdSet, load_config
from bedside.clinical import ClinicalSession
from bedside.session_controls import SessionControls
from bedside.threshold_dialog import ThresholdDialog
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
    dialog.boxes["hypotension_floor"].setValue(0)
    chosen = dialog.threshold_set()
    assert chosen.systolic_ceiling == 165 and chosen.hypotension_floor is None
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
