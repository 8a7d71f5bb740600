"""A whole session driven through the session screens (issue 10, "Done when": sign-in, patient,
simulator setup, baseline, thresholds, checklist, infusion with a spike, protocol with a note and a
medication, incident and debrief, discharge, follow-up, export), and the returning patient's
suggested thresholds from that follow-up's "adjust" outcome."""

from __future__ import annotations

import json
from collections.abc import Iterable

import pytest
from PySide6.QtCore import QDate
from PySide6.QtWidgets import QComboBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from alarms import ChecklistItem, DischargeAttestation, SessionPhase, ThresholdField, ThresholdSet
from bedside.views.session.context import Screen
from bedside.views.session.hub import SessionScreens
from bedside.workflow.export import ExportFormat
from bedside.workflow.followup import FollowUpOutcome
from drivers.types import DecodeResult, Observation, VitalKind
from tests.alarms.helpers import nibp_obs, obs
from tests.bedside.session.conftest import ADMIN_PIN, Rig

NURSE_NAME = "Robin Diaz, CRNA"


def click(screen: QWidget, name: str) -> None:
    """Press the button called ``name`` as a clinician would."""
    button = screen.findChild(QPushButton, name)
    assert button is not None, f"no button {name!r} on {screen}"
    assert button.isEnabled(), f"button {name!r} is disabled"
    button.click()


def field(screen: QWidget, kind: type[QWidget], name: str) -> QWidget:
    found = screen.findChild(kind, name)
    assert found is not None, f"no {kind.__name__} {name!r}"
    return found


def choose(screen: QWidget, name: str, data: str) -> None:
    combo = field(screen, QComboBox, name)
    assert isinstance(combo, QComboBox)
    index = combo.findData(data)
    assert index >= 0, f"{name}: no choice {data!r}"
    combo.setCurrentIndex(index)


def deliver(rig: Rig, observations: Iterable[Observation]) -> None:
    """What a simulated device's link hands the core, applied as the window's wake-up would."""
    rig.core.on_result(DecodeResult(observations=tuple(observations), frames=1), "sim-masimo-ascii-1")
    rig.core.pump()


def vitals(rig: Rig, systolic: float, diastolic: float, spo2: float = 98, pulse: float = 72) -> None:
    deliver(rig, [*nibp_obs(rig.clock, systolic, diastolic, round((systolic + 2 * diastolic) / 3))])
    deliver(rig, [obs(rig.clock, VitalKind.SPO2, spo2), obs(rig.clock, VitalKind.PULSE_RATE, pulse)])


def said(screen: Screen) -> str:
    return screen.message.text()


def sign_in_first_start(hub: SessionScreens) -> None:
    screen = hub.show_screen("Sign in")
    field(screen, QWidget, "adminName").setText(NURSE_NAME)  # type: ignore[attr-defined]
    field(screen, QWidget, "adminLogin").setText("rdiaz")  # type: ignore[attr-defined]
    field(screen, QWidget, "adminSecret").setText(ADMIN_PIN)  # type: ignore[attr-defined]
    field(screen, QWidget, "adminAgain").setText(ADMIN_PIN)  # type: ignore[attr-defined]
    click(screen, "createAdmin")
    assert "created" in said(screen), said(screen)
    field(screen, QWidget, "secret").setText(ADMIN_PIN)  # type: ignore[attr-defined]
    click(screen, "signIn")
    assert "signed in" in said(screen), said(screen)


@pytest.mark.req("THR-1")
@pytest.mark.req("THR-5")
@pytest.mark.req("DOC-1")
@pytest.mark.req("PRO-7")
@pytest.mark.req("DIS-1")
@pytest.mark.req("DOC-2")
@pytest.mark.req("DOC-3")
@pytest.mark.req("DOC-7")
@pytest.mark.timeout(120)
def test_a_whole_session_from_sign_in_to_export_through_the_screens(qtbot: QtBot, rig: Rig) -> None:
    """Issue 10: every record of issue 9 was reachable only from the CLI; here a clinician takes
    a whole session through the screens, and each step lands in the record under the sign-in."""
    s = rig.services
    hub = SessionScreens(s)
    qtbot.addWidget(hub)
    hub.resize(1366, 768)
    hub.show()

    # Nothing is recorded without a name: before sign-in every action is refused in words.
    patient = hub.show_screen("Patient")
    click(patient, "addPatient")
    assert "sign in first" in said(patient)

    sign_in_first_start(hub)
    assert "Robin Diaz" in hub.banner.text()

    # Patient: the minimum, consent recorded.
    patient = hub.show_screen("Patient")
    field(patient, QWidget, "patientName").setText("Alex Morgan")  # type: ignore[attr-defined]
    field(patient, QWidget, "clinicId").setText("K-1042")  # type: ignore[attr-defined]
    field(patient, QWidget, "dateOfBirth").setDate(QDate(1984, 5, 17))  # type: ignore[attr-defined]
    choose(patient, "sex", "female")
    field(patient, QWidget, "weightKg").setValue(68.5)  # type: ignore[attr-defined]
    field(patient, QWidget, "allergies").setText("penicillin, latex")  # type: ignore[attr-defined]
    field(patient, QWidget, "referrers").setPlainText("Dr. Lee; psychiatry; 555-0100")  # type: ignore[attr-defined]
    click(patient, "addPatient")
    assert s.patient_id, said(patient)
    record = s.patients.patient(s.patient_id)
    assert record.details.allergies == ("penicillin", "latex")
    assert record.details.referring_providers[0].specialty == "psychiatry"
    assert record.created_by == "rdiaz"
    field(patient, QWidget, "consentScope").setText("session summaries to Dr. Lee")  # type: ignore[attr-defined]
    click(patient, "recordConsent")
    assert s.referral.consent(s.patient_id) is not None
    assert "Alex Morgan" in hub.banner.text() and "penicillin" in hub.banner.text()

    # Devices: the ports with their USB identity; this session uses the simulators.
    devices = hub.show_screen("Devices")
    words = devices.findChild(QWidget, "connectionTests")
    assert words is not None
    assert any("0403:6001" in w.text() and "A5XK3RJT" in w.text() for w in devices.findChildren(type(words)))
    choose(devices, "protocol:/dev/ttyUSB0", "masimo-ascii")
    field(devices, QWidget, "useSimulators").setChecked(True)  # type: ignore[attr-defined]
    click(devices, "saveDevices")
    assert s.settings.load().devices == ()

    # Baseline: begin, readings arrive, the computed values are shown, confirm.
    baseline = hub.show_screen("Baseline")
    click(baseline, "beginBaseline")
    assert rig.clinical.phase is SessionPhase.BASELINE
    vitals(rig, 122, 78)
    rig.clock.advance(150)
    vitals(rig, 118, 76)
    baseline.refresh()
    computed = field(baseline, QWidget, "baselineComputed").text()  # type: ignore[attr-defined]
    assert "Proposed" in computed and "BP 120/77" in computed, computed
    click(baseline, "confirmBaseline")
    assert rig.clinical.session.baseline is not None
    assert rig.clinical.session.baseline.confirmed_by == "rdiaz"

    # Thresholds: clinic defaults, confirmed and locked at the infusion's start.
    thresholds = hub.show_screen("Thresholds")
    click(thresholds, "useDefaults")
    click(thresholds, "confirmThresholds")
    assert rig.clinical.thresholds.has_confirmed_set, said(thresholds)

    # Checklist item by item, then the infusion.
    checklist = hub.show_screen("Checklist")
    click(checklist, "startInfusion")
    assert "checklist" in said(checklist)  # refused until every item is attested (PRO-7)
    for item in ChecklistItem:
        click(checklist, f"attest:{item.value}")
    click(checklist, "startInfusion")
    assert rig.clinical.phase is SessionPhase.INFUSION, said(checklist)

    # After the lock a threshold changes only with a reason (THR-5).
    thresholds = hub.show_screen("Thresholds")
    choose(thresholds, "changeField", ThresholdField.PULSE_CEILING.value)
    field(thresholds, QWidget, "changeValue").setValue(125)  # type: ignore[attr-defined]
    click(thresholds, "changeThreshold")
    assert "reason" in said(thresholds)
    field(thresholds, QWidget, "changeReason").setText("anxious, known sinus tachycardia")  # type: ignore[attr-defined]
    click(thresholds, "changeThreshold")
    assert rig.clinical.thresholds.changes[-1].who == "rdiaz"

    # The BP spike: an alarm, the bp-spike protocol offered and started.
    rig.clock.advance(300)
    vitals(rig, 190, 112)
    assert any(a.condition.value == "bp_high" for a in rig.clinical.active_alarms())
    for offer in rig.clinical.offered_protocols:
        rig.desk.offer(offer.protocol_id, offer.reason)
    run = rig.desk.start("bp-spike", "rdiaz", acknowledge_flags=True)
    assert run.incident_id
    key = next(a.key for a in rig.clinical.active_alarms() if a.condition.value == "bp_high")
    rig.clinical.acknowledge(key, "rdiaz")

    # A note and a medication to the record, from the incident screen.
    incident = hub.show_screen("Incident")
    field(incident, QWidget, "noteText").setText("headache; reassured; lights dimmed")  # type: ignore[attr-defined]
    click(incident, "addNote")
    field(incident, QWidget, "drug").setText("labetalol")  # type: ignore[attr-defined]
    field(incident, QWidget, "dose").setValue(10)  # type: ignore[attr-defined]
    choose(incident, "route", "IV")
    click(incident, "addMedication")
    assert [m.drug for m in s.records.medications(s.session_id)] == ["labetalol"], said(incident)
    assert s.records.notes(s.session_id)[0].note.who == "rdiaz"
    assert s.records.medications(s.session_id)[0].given_at <= rig.clock.now()
    field(incident, QWidget, "markerLabel").setText("patient anxious, lights dimmed")  # type: ignore[attr-defined]
    click(incident, "markEvent")
    assert [m.label for m in s.records.markers(s.session_id)] == ["patient anxious, lights dimmed"]

    # Incident from the alarm: opened at the alarm's time, debriefed, the patient told, closed.
    rig.recorder.writer.flush()
    incident.refresh()
    alarms = incident.alarms  # type: ignore[attr-defined]
    assert alarms.count() >= 1
    alarms.setCurrentRow(0)
    click(incident, "openIncident")
    opened = s.incidents.incidents(s.session_id)
    assert len(opened) == 2, said(incident)  # the protocol run's and the alarm's
    by_hand = next(i for i in opened if s.incidents.show(i.incident_id).source.value == "alarm")
    assert by_hand.opened_by == "rdiaz"
    assert s.incidents.show(by_hand.incident_id).alarm_events, "the incident is linked to its alarm"
    lst = incident.incidents  # type: ignore[attr-defined]
    row = next(i for i in range(lst.count()) if lst.item(i).data(256) == by_hand.incident_id)
    lst.setCurrentRow(row)
    for name, text in (
        ("whatHappened", "BP 190/112 20 min into the infusion"),
        ("whatWasDone", "bp-spike protocol; labetalol 10 mg IV; recheck"),
        ("wentWell", "alarm seen at once"),
        ("toImprove", "start the recheck timer earlier"),
        ("toldObserved", "your blood pressure rose"),
        ("toldDone", "we gave a medicine to lower it"),
        ("toldMeaning", "it came down; we watch it next time"),
    ):
        field(incident, QWidget, name).setText(text)  # type: ignore[attr-defined]
    click(incident, "saveDebrief")
    click(incident, "recordTold")
    choose(incident, "incidentOutcome", "resolved_in_clinic")
    click(incident, "closeIncident")
    shown = s.incidents.show(by_hand.incident_id)
    assert shown.is_closed and shown.debrief is not None and shown.patient_told, said(incident)
    assert shown.debrief.who == "rdiaz"

    # Discharge: what blocks it, item by item, until it is allowed.
    rig.clock.advance(120)
    vitals(rig, 124, 78)
    discharge = hub.show_screen("Discharge")
    click(discharge, "endInfusion")
    assert rig.clinical.phase is SessionPhase.RECOVERY
    discharge.refresh()
    blocking = field(discharge, QWidget, "dischargeBlocking").text()  # type: ignore[attr-defined]
    assert "Blocking discharge" in blocking and "ambulatory" in blocking, blocking
    click(discharge, "discharge")
    assert rig.clinical.phase is SessionPhase.RECOVERY  # the engine refused
    for item in DischargeAttestation:
        click(discharge, f"attest:{item.value}")
    rig.clock.advance(60)
    vitals(rig, 122, 77)
    discharge.refresh()
    assert rig.clinical.discharge_status().allowed, rig.clinical.discharge_status().unmet
    click(discharge, "discharge")
    assert rig.clinical.phase is SessionPhase.DISCHARGED, said(discharge)

    # Follow-up: the incident's contacts are listed; the call closes with "adjust".
    followup = hub.show_screen("Follow-up")
    followup.refresh()
    assert followup.table.rowCount() >= 1  # type: ignore[attr-defined]
    assert "due" in field(followup, QWidget, "followUpCounts").text()  # type: ignore[attr-defined]
    followup.table.selectRow(0)  # type: ignore[attr-defined]
    choose(followup, "followUpOutcome", FollowUpOutcome.ADJUST.value)
    field(followup, QWidget, "adjust:earlier_bp_threshold").setChecked(True)  # type: ignore[attr-defined]
    field(followup, QWidget, "followUpNote").setText("headache gone by evening")  # type: ignore[attr-defined]
    click(followup, "closeFollowUp")
    closed = s.followups.last_closed_for_patient(s.patient_id)
    assert closed is not None and closed.outcome == "adjust" and closed.closed_by == "rdiaz"

    # Export, off the GUI thread, with the bar following the service's progress.
    export = hub.show_screen("Export")
    choose(export, "exportFormat", ExportFormat.JSON.value)
    out = rig.services.settings.path.parent / "export" / "session.json"
    field(export, QWidget, "exportPath").setText(str(out))  # type: ignore[attr-defined]
    click(export, "export")
    qtbot.waitUntil(lambda: not export.running, timeout=20_000)  # type: ignore[attr-defined]
    assert field(export, QWidget, "exportProgress").value() == 100, said(export)  # type: ignore[attr-defined]
    exported = json.loads(out.read_text(encoding="utf-8"))
    assert exported  # the whole record, read back by the export service

    # The patient returns: their follow-up's "adjust" suggests lower ceilings, to be confirmed.
    s.choose_patient("")
    patient = hub.show_screen("Patient")
    field(patient, QWidget, "patientSearch").setText("K-1042")  # type: ignore[attr-defined]
    click(patient, "usePatient")
    suggestion = field(patient, QWidget, "followUpSuggestion").text()  # type: ignore[attr-defined]
    assert "adjust" in suggestion and "earlier bp threshold" in suggestion, suggestion
    assert s.suggestion is not None
    default = ThresholdSet.clinic_default(s.config)
    step = s.config.follow_up.earlier_bp_threshold_mmhg
    thresholds = hub.show_screen("Thresholds")
    click(thresholds, "useSuggestion")
    assert thresholds.entered().systolic_ceiling == default.systolic_ceiling - step  # type: ignore[attr-defined]
    assert s.suggestion.suggested.confirmed_by is None  # nothing applied without a clinician


def test_every_screen_refuses_in_words_without_a_session(qtbot: QtBot, rig: Rig) -> None:
    """A station without a monitored session shows why, never a traceback."""
    rig.services.clinical = None
    hub = SessionScreens(rig.services)
    qtbot.addWidget(hub)
    sign_in_first_start(hub)
    for name, button in (
        ("Baseline", "beginBaseline"),
        ("Checklist", "startInfusion"),
        ("Discharge", "discharge"),
    ):
        screen = hub.show_screen(name)
        click(screen, button)
        assert "not monitoring a session" in said(screen)
