"""Sign-in and the inactivity lock (issue 10): every action records the signed-in clinician; after
the configured inactivity, actions lock behind the PIN while the monitor, its alarms and CALL 911
stay live."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from alarms import SessionPhase
from bedside.app.session import attach_session_screens
from bedside.monitor.core import MonitorCore
from bedside.views.session.hub import SessionScreens
from bedside.views.window import MonitorWindow
from bedside.workflow.station import StationLocked
from drivers.types import VitalKind
from tests.alarms.helpers import obs
from tests.bedside.session.conftest import ADMIN_PIN, Rig
from tests.bedside.session.test_full_session import click, deliver, field, said, sign_in_first_start


def test_actions_lock_after_the_configured_inactivity_and_the_pin_opens_them(qtbot: QtBot, rig: Rig) -> None:
    """Issue 10: a walked-away station stayed open to anyone. After ``lock_after_s`` without a
    touch the screens refuse actions; a touch before that keeps them open; the PIN unlocks."""
    s = rig.services
    s.station.lock_after_s = 120
    hub = SessionScreens(s)
    qtbot.addWidget(hub)
    hub.resize(1366, 768)
    hub.show()
    sign_in_first_start(hub)
    rig.clock.advance(100)
    s.station.touched()  # a touch at 100 s starts the time again
    rig.clock.advance(100)
    hub.tick()
    assert not s.station.locked
    rig.clock.advance(21)
    hub.tick()
    assert s.station.locked and hub.lock.isVisible()
    assert "LOCKED" in hub.banner.text()
    with pytest.raises(StationLocked):
        s.signer()
    baseline = hub.show_screen("Baseline")
    click(baseline, "beginBaseline")
    assert "locked" in said(baseline) and rig.clinical.phase is SessionPhase.SETUP
    # Touches while locked do not open it: only the PIN does.
    s.station.touched()
    assert s.station.locked
    field(hub.lock, QWidget, "unlockSecret").setText("0000")  # type: ignore[attr-defined]
    click(hub.lock, "unlock")
    assert s.station.locked and "wrong" in field(hub.lock, QWidget, "unlockMessage").text()  # type: ignore[attr-defined]
    field(hub.lock, QWidget, "unlockSecret").setText(ADMIN_PIN)  # type: ignore[attr-defined]
    click(hub.lock, "unlock")
    assert not s.station.locked and not hub.lock.isVisible()
    click(baseline, "beginBaseline")
    assert rig.clinical.phase is SessionPhase.BASELINE


def test_the_lock_leaves_the_monitor_and_its_alarms_live(qtbot: QtBot, rig: Rig) -> None:
    """The lock covers the session screens and the session's buttons, never the vitals, the alarm
    bar or the protocol panel with CALL 911; the monitor records the signed-in clinician."""
    s = rig.services
    s.station.lock_after_s = 60
    window = MonitorWindow(MonitorCore(rig.clock))
    qtbot.addWidget(window)
    window.attach_clinical(rig.clinical, rig.clock.now())
    window.attach_protocols(rig.desk)
    hub = attach_session_screens(window, s)
    qtbot.addWidget(hub)
    titles = [a.text() for a in window.session_button.menu().actions()]
    assert titles[:3] == ["Sign in", "Patient", "Devices"] and "Drill" in titles
    sign_in_first_start(hub)
    assert window.session_controls.who() == "rdiaz"
    assert window.session_controls.clinician.isReadOnly()
    rig.clock.advance(61)
    hub.tick()
    assert s.station.locked
    assert not window.session_controls.isEnabled()
    assert window.alarm_bar.isEnabled() and window.protocol_panel.isEnabled()
    # Vitals and alarms still arrive and show under the lock.
    deliver(rig, [obs(rig.clock, VitalKind.SPO2, 84)])
    assert any(a.condition.value == "spo2_low" for a in rig.clinical.active_alarms())
    s.station.unlock(ADMIN_PIN)
    assert window.session_controls.isEnabled()
    s.station.sign_out()
    assert window.session_controls.who() == ""


def test_the_session_menu_opens_each_screen(qtbot: QtBot, rig: Rig) -> None:
    """The window's one entry point reaches every screen."""
    window = MonitorWindow(MonitorCore(rig.clock))
    qtbot.addWidget(window)
    window.attach_clinical(rig.clinical, rig.clock.now())
    hub = attach_session_screens(window, rig.services)
    qtbot.addWidget(hub)
    menu = window.session_button.menu()
    for action in menu.actions():  # type: ignore[union-attr]
        action.trigger()
        assert hub.stack.currentWidget() is hub.screens[action.text()]


def test_the_patient_chosen_on_the_patient_screen_is_in_the_monitor_banner(qtbot: QtBot, rig: Rig) -> None:
    """Issue 10 ("No patient anywhere"): the monitor's banner names the session's patient with age,
    weight and allergies once chosen, and says "no patient recorded" before."""
    from datetime import date

    from bedside.views.patient_banner import NO_PATIENT
    from storage.identity import PatientDetails

    window = MonitorWindow(MonitorCore(rig.clock))
    qtbot.addWidget(window)
    window.attach_clinical(rig.clinical, rig.clock.now())
    hub = attach_session_screens(window, rig.services)
    qtbot.addWidget(hub)
    assert window.patient_banner.patient_label.text() == NO_PATIENT
    sign_in_first_start(hub)
    born = rig.clock.now().date().replace(year=rig.clock.now().year - 41)
    details = PatientDetails(
        "Alex Morgan", "K-1042", date(born.year, born.month, 1), "female", 68.5, ("latex",)
    )
    record = rig.services.patients.add(rig.services.signer(), details)
    rig.services.choose_patient(record.patient_id)
    shown = window.patient_banner.patient_label.text()
    assert "Alex Morgan" in shown and "41 y" in shown and "68.5 kg" in shown and "latex" in shown
    # Issue 9: the session belongs to the patient in storage, and a restart brings the patient back.
    from dataclasses import replace

    from bedside.app.session import link_patient_to_session

    stored = rig.recorder.repo.session(rig.recorder.session_id)
    assert (stored.patient_id, stored.patient_name, stored.patient_mrn) == (
        record.patient_id,
        "Alex Morgan",
        "K-1042",
    )
    resumed = replace(rig.services, patient_id="", _listeners=[])
    link_patient_to_session(resumed, rig.recorder.repo)
    assert resumed.patient_id == record.patient_id
