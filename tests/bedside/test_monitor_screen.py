"""The monitor screen as a clinician uses it from across the room (issue 10): CALL 911 always
there and never asking a name, documentation one or two taps away, protocol timers that count down
and alarm, the patient banner, colours that mean one thing each, the alarming number framed, and
the keyboard shortcuts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from alarms import (
    AlarmPriority,
    ChecklistItem,
    ConditionId,
    ReadingClass,
    ThresholdField,
    ThresholdSet,
    load_config,
)
from bedside.monitor.core import MonitorCore
from bedside.views import window as window_module
from bedside.views.alarm_sound import AlarmSound, FailureListener
from bedside.views.documentation import MedicationEntry, ThresholdEntry
from bedside.views.patient_banner import NO_PATIENT, PatientOnScreen
from bedside.views.theme import DARK, LIGHT, class_look, palette, use_theme
from bedside.views.window import MonitorWindow
from bedside.workflow.clinical import ClinicalSession
from bedside.workflow.protocol_desk import NOBODY_SIGNED_IN, ProtocolDesk
from drivers.clock import FakeClock
from drivers.types import DecodeResult, Observation, VitalKind
from protocols import LIBRARY_DIR, MedicationText, load_library
from storage import IncidentOpenedRecord, NoteRecord, ProtocolStepRecord, ThresholdChangeRecord
from tests.alarms.helpers import nibp_obs, obs

NURSE = "RN Diaz"
LIBRARY = load_library(LIBRARY_DIR)


@pytest.fixture(autouse=True)
def quiet(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Speakers present (no "sound unavailable" alarm), and the dark theme after each test."""

    def sound(on_failure: FailureListener) -> AlarmSound:
        return AlarmSound(on_failure=lambda _f, _w: None, audio_outputs=lambda: ["speakers"])

    monkeypatch.setattr(window_module, "AlarmSound", sound)
    yield
    use_theme("dark")


class Screen:
    """A monitor window with its clinical session and protocol desk on a fake clock."""

    def __init__(self, qtbot: QtBot, clock: FakeClock) -> None:
        self.clock = clock
        self.qtbot = qtbot
        self.records: list[object] = []
        config = load_config()
        self.core = MonitorCore(clock)
        self.window = MonitorWindow(self.core)
        qtbot.addWidget(self.window)
        self.clinical = ClinicalSession(
            clock, config, session_id="s", record=self.records.append, nibp_link_send=None,
            nibp_start_command=None,
        )  # fmt: skip
        self.window.attach_clinical(self.clinical, clock.now())
        self.desk = ProtocolDesk(
            clock, LIBRARY, session_id="s", put=self.records.append, latest=self.core.board.latest,
            request_nibp=lambda: False,
        )  # fmt: skip
        self.window.attach_protocols(self.desk)
        self.window.protocol_panel._ask_note = lambda _t, _p: "BP 150/92; patient told it is settling"
        self.window.protocol_panel._ask_medication = self._medication
        self.window.protocol_panel._ask_acknowledgement = lambda _t, _w: NURSE
        self.window.session_controls.clinician.setText(NURSE)
        self.window.resize(1366, 768)
        self.window.show()

    def _medication(self, written: MedicationText | None, now: datetime) -> MedicationEntry | None:
        assert written is not None
        return MedicationEntry(written.drug, "10 mg", written.route, now - timedelta(minutes=1), "slow push")

    def deliver(self, observations: list[Observation]) -> None:
        self.core.on_result(DecodeResult(observations=tuple(observations), frames=1), "link")
        self.window._on_data_arrived()
        QApplication.processEvents()

    def into_infusion(self) -> None:
        c = self.clinical
        c.begin_baseline(NURSE)
        self.deliver([*nibp_obs(self.clock, 120, 78, 92), obs(self.clock, VitalKind.SPO2, 98)])
        self.clock.advance(150)
        self.deliver(nibp_obs(self.clock, 120, 78, 92))
        c.confirm_baseline(NURSE)
        c.confirm_thresholds(NURSE, ThresholdSet(150, 95, 90, 45, 130, 85, 65, 20, 20))
        for item in ChecklistItem:
            c.attest(item, NURSE)
        c.start_infusion(NURSE)

    def of(self, kind: type) -> list[object]:
        return [r for r in self.records if isinstance(r, kind)]


@pytest.fixture
def screen(qtbot: QtBot, clock: FakeClock) -> Screen:
    return Screen(qtbot, clock)


# -- CALL 911 -----------------------------------------------------------------------------------


@pytest.mark.req("PRO-5")
@pytest.mark.req("PRO-6")
def test_call_911_is_one_fixed_button_that_works_idle_during_a_protocol_and_again(screen: Screen) -> None:
    """Issue 10: CALL 911 existed only while a protocol ran, vanished after one press, and from
    the idle screen needed a typed name and a dropdown."""
    button = screen.window.action_bar.call_911_button
    assert button.isVisible() and button.text() == "CALL 911"
    # Idle: no protocol running; the press is recorded as an incident of its own.
    button.click()
    [incident] = screen.of(IncidentOpenedRecord)
    assert incident.kind == "call_911" and incident.opened_by == NURSE
    assert any(isinstance(r, NoteRecord) and "911 called" in r.text for r in screen.records)
    handoff = screen.window.protocol_panel.handoff_text
    assert handoff.isVisible() and "EMS HAND-OFF" in handoff.toPlainText()
    assert "911 called: -" not in handoff.toPlainText()
    assert button.isVisible()
    # Pressed again: never refused, noted, the hand-off given again.
    button.click()
    assert any(isinstance(r, NoteRecord) and "pressed again" in r.text for r in screen.records)
    assert button.isVisible()
    # During a protocol: the running protocol jumps to its call-911 end, recorded as its steps.
    screen.desk.offer("bp-spike", "NIBP 182/104")
    screen.window.protocol_panel.offer_buttons()["Start BP spike protocol"].click()
    button.click()
    kinds = [s.kind for s in screen.of(ProtocolStepRecord)]
    assert kinds[-3:] == ["call_911", "shown", "ended"]
    assert button.isVisible()


@pytest.mark.req("PRO-5")
def test_call_911_needs_no_name(screen: Screen) -> None:
    screen.window.session_controls.clinician.setText("")
    screen.window.action_bar.call_911_button.click()
    [incident] = screen.of(IncidentOpenedRecord)
    assert incident.opened_by == NOBODY_SIGNED_IN
    assert screen.window.protocol_panel.handoff_text.isVisible()


# -- documentation -----------------------------------------------------------------------------


@pytest.mark.req("DOC-1")
def test_note_medication_and_event_marker_are_one_tap_from_the_monitor(screen: Screen) -> None:
    """Issue 10: documentation steps could not capture documentation."""
    w = screen.window
    w.ask_note = lambda _t, _p: "patient nauseous, reassured"
    w.action_bar.buttons["Note…"].click()
    given = screen.clock.now() - timedelta(minutes=2)
    w.ask_medication = lambda now: MedicationEntry("ondansetron", "4 mg", "IV", given, "")
    w.action_bar.buttons["Medication given…"].click()
    w.action_bar.buttons["Mark event"].click()
    notes = [r.text for r in screen.of(NoteRecord)]
    assert notes[0] == "patient nauseous, reassured"
    assert notes[1] == f"Medication given: ondansetron | 4 mg | IV at {given:%H:%M}"
    assert notes[2].startswith("Event marked at ")
    assert all(r.who == NURSE for r in screen.of(NoteRecord))
    assert "Event marked" in w.action_bar.message.text()
    # The medication and the patient go on the EMS hand-off too.
    w.show_patient(PatientOnScreen("Jordan Lee", 34, 72.5, "penicillin"))
    w.action_bar.call_911_button.click()
    sheet = w.protocol_panel.handoff_text.toPlainText()
    assert "ondansetron | 4 mg | IV" in sheet
    assert "Patient: Jordan Lee" in sheet and "Allergies: penicillin" in sheet and "34 y, 72.5 kg" in sheet


@pytest.mark.req("DOC-1")
def test_a_medication_in_the_future_or_without_a_dose_is_refused_in_words(screen: Screen) -> None:
    w = screen.window
    w.ask_medication = lambda now: MedicationEntry("ondansetron", "", "IV", now, "")
    w.action_bar.buttons["Medication given…"].click()
    assert screen.of(NoteRecord) == [] and "dose" in w.action_bar.message.text()


@pytest.mark.req("THR-5")
def test_a_threshold_change_after_the_lock_needs_a_reason_and_is_recorded(screen: Screen) -> None:
    """Issue 10: the engine refused a change without a reason, but no control existed."""
    w = screen.window
    w.ask_threshold = lambda current: ThresholdEntry(ThresholdField.SYSTOLIC_CEILING, 160, "")
    w.action_bar.buttons["Change threshold…"].click()
    assert "Before the infusion" in w.action_bar.message.text()
    screen.into_infusion()
    w.action_bar.buttons["Change threshold…"].click()
    assert screen.of(ThresholdChangeRecord) == [] and "reason" in w.action_bar.message.text()
    w.ask_threshold = lambda current: ThresholdEntry(
        ThresholdField.SYSTOLIC_CEILING, 160, "known hypertensive"
    )
    w.action_bar.buttons["Change threshold…"].click()
    [change] = screen.of(ThresholdChangeRecord)
    assert (change.field, change.old, change.new, change.reason, change.who) == (
        "systolic_ceiling",
        150,
        160,
        "known hypertensive",
        NURSE,
    )


@pytest.mark.req("PRO-6")
@pytest.mark.req("DOC-1")
def test_protocol_note_and_medication_steps_record_what_was_entered(screen: Screen) -> None:
    """Issue 10: "Add a note" had only Done/Skip; "medication given" recorded yes/no."""
    panel = screen.window.protocol_panel
    run = screen.desk.start("bp-spike", NURSE, from_offer=False, acknowledge_flags=True)
    panel.select_run(run.run_id)
    run.done(NURSE)
    run.answer(NURSE, "no")
    run.skip(NURSE, "by hand")
    run.answer(NURSE, "yes")
    run.answer(NURSE, "yes")
    panel.refresh()
    panel.action_buttons()["Medication given…"].click()
    given = [s for s in screen.of(ProtocolStepRecord) if s.kind == "medication_given"][-1]
    assert "as given:" in given.note and "10 mg" in given.note and "slow push" in given.note
    assert given.occurred_at == screen.clock.now() - timedelta(minutes=1)
    # On to the documentation step.
    screen.clock.advance(300)
    run.tick()
    run.done(NURSE)
    run.skip(NURSE, "by hand")
    run.answer(NURSE, "Coming down, no emergency signs")
    panel.refresh()
    assert run.current_node_id == "document"
    panel.action_buttons()["Write the note…"].click()
    done = [s for s in screen.of(ProtocolStepRecord) if s.kind == "done"][-1]
    assert (done.node_id, done.note) == ("document", "BP 150/92; patient told it is settling")


# -- protocol timers ----------------------------------------------------------------------------


@pytest.mark.req("PRO-2")
@pytest.mark.req("ALM-3")
def test_protocol_timers_count_down_on_the_heartbeat_and_a_due_one_alarms(screen: Screen) -> None:
    """Issue 10: protocol timers did not count down and a due timer raised nothing."""
    panel = screen.window.protocol_panel
    assert panel.findChildren(QTimer) == []  # no widget-owned timer: the window's heartbeat ticks it
    run = screen.desk.start("bp-spike", NURSE, from_offer=False, acknowledge_flags=True)
    panel.select_run(run.run_id)
    for step in (lambda: run.done(NURSE), lambda: run.answer(NURSE, "no"), lambda: run.skip(NURSE, "x"),
                 lambda: run.answer(NURSE, "yes"), lambda: run.answer(NURSE, "yes"),
                 lambda: run.confirm_medication(NURSE, screen.clock.now(), True)):  # fmt: skip
        step()
    panel.refresh()
    assert "Timer: 5:00" in panel.info_label.text()
    screen.clock.advance(61)
    screen.window._tick()
    assert "Timer: 3:59" in panel.info_label.text() and panel.timers_label.text().endswith("3:59")
    screen.clock.advance(239)
    screen.window._tick()
    [due] = [a for a in screen.clinical.active_alarms() if a.condition is ConditionId.PROTOCOL_TIMER_DUE]
    assert due.priority is AlarmPriority.MEDIUM and due.sounding
    assert any("Protocol timer due" in t for t in screen.window.alarm_bar.row_texts())
    screen.clock.advance(120)
    screen.window._tick()
    assert any(a.key == due.key for a in screen.clinical.active_alarms())  # still there
    screen.window.acknowledge_top_alarm()
    assert not any(a.key == due.key for a in screen.clinical.active_alarms())


@pytest.mark.req("ALM-1")
def test_alarms_beyond_two_rows_are_summed_up_and_can_all_be_shown(screen: Screen) -> None:
    """Issue 10: the window grew with each alarm row. Two rows, then "+N more", never silently."""
    bar = screen.window.alarm_bar
    screen.clinical.audio_failed(True, "no speakers")
    screen.clinical.recording_failed(True, "disk full")
    screen.clinical.display_stalled(True, "no repaint for 5 s")
    screen.window._tick()
    QApplication.processEvents()
    assert len(screen.clinical.active_alarms()) == 3
    visible = [b for b in bar.acknowledge_buttons() if b.isVisible()]
    assert len(visible) == 2 and bar.hidden_count() == 1
    assert bar.more_label.text().startswith("+1 more: ")
    bar.show_all_button.click()
    assert bar.hidden_count() == 0 and all(b.isVisible() for b in bar.acknowledge_buttons())
    bar.show_all_button.click()
    assert bar.hidden_count() == 1


# -- patient banner ------------------------------------------------------------------------------


@pytest.mark.req("DOC-1")
@pytest.mark.req("PRO-5")
def test_the_patient_banner_shows_patient_clinician_and_the_dissociation_window(screen: Screen) -> None:
    """Issue 10: no patient anywhere; infusion clock and time since its end always on screen."""
    banner = screen.window.patient_banner
    assert banner.patient_label.text() == NO_PATIENT
    assert palette().warning in banner.patient_label.styleSheet()
    screen.window.show_patient(PatientOnScreen("Jordan Lee", 34, 72.5, "penicillin"))
    assert banner.patient_label.text() == "Jordan Lee · 34 y · 72.5 kg · Allergies: penicillin"
    screen.window._tick()
    assert banner.clinician_label.text() == f"Clinician: {NURSE}"
    assert banner.infusion_label.text() == "Infusion: not started"
    screen.into_infusion()
    screen.clock.advance(45 * 60)
    screen.window._tick()
    assert banner.infusion_label.text() == "Infusion ▶ 45:00"
    screen.clinical.end_infusion(NURSE)
    screen.clock.advance(25 * 60)
    screen.window._tick()
    assert "25:00 since infusion end (in the 20-40 min window)" in banner.recovery_label.text()
    screen.clock.advance(16 * 60)
    screen.window._tick()
    assert "PAST the 20-40 min window" in banner.recovery_label.text()
    assert banner.recovery_label.text().startswith("⚠")  # a symbol with the colour
    assert palette().past_window in banner.recovery_label.styleSheet()


@pytest.mark.req("PRO-5")
@pytest.mark.parametrize(
    ("minutes", "state"),
    [(0, "before"), (19.9, "before"), (20, "within"), (40, "within"), (40.01, "past"), (600, "past")],
)
def test_the_dissociation_window_is_the_clinics(minutes: float, state: str) -> None:
    assert load_config().discharge.dissociation_state(minutes) == state


# -- colours, the alarming number, shortcuts -------------------------------------------------------


@pytest.mark.req("THR-7")
@pytest.mark.req("ALM-1")
def test_the_nibp_number_takes_its_class_colour_and_the_band_is_not_the_alarm_yellow(screen: Screen) -> None:
    """Issue 10: the NIBP number was always red, even at baseline; the band was the medium amber."""
    screen.into_infusion()
    screen.clock.advance(300)
    screen.deliver(nibp_obs(screen.clock, 121, 78, 92))
    QApplication.processEvents()
    tile = screen.window.nibp_tile
    look = class_look(screen.clinical.last_reading().reading_class)  # type: ignore[union-attr]
    assert look.colour in tile.value.styleSheet()
    assert "#ff5c5c" not in tile.value.styleSheet()
    for theme in (DARK, LIGHT):
        band = theme.reading[ReadingClass.EXPECTED_RISE].colour
        assert (
            band != theme.priority[AlarmPriority.MEDIUM]
            and theme.band != theme.priority[AlarmPriority.MEDIUM]
        )
        assert band not in {theme.priority[p] for p in AlarmPriority}


@pytest.mark.req("ALM-1")
def test_the_alarming_number_is_framed_in_its_priority_colour_with_the_symbol(screen: Screen) -> None:
    screen.deliver([obs(screen.clock, VitalKind.SPO2, 84)])
    screen.clock.advance(30)
    screen.window._tick()
    tile = screen.window.spo2_tile
    assert tile.alarm is not None
    colour = palette().priority[tile.alarm]
    assert f"solid {colour}" in tile.styleSheet()
    assert tile.alarm.symbol in tile.title.text()  # never colour alone
    assert (
        screen.window.pulse_tile.alarm is None and palette().border in screen.window.pulse_tile.styleSheet()
    )


@pytest.mark.req("ALM-3")
def test_keyboard_shortcuts_acknowledge_pause_measure_and_mark(screen: Screen, qtbot: QtBot) -> None:
    w = screen.window
    assert "F1 acknowledge" in w.action_bar.help_label.text()
    screen.deliver([obs(screen.clock, VitalKind.SPO2, 84)])
    screen.clock.advance(30)
    w._tick()
    w.activateWindow()
    qtbot.keyClick(w, Qt.Key.Key_F1)
    assert all(a.acknowledged_by == NURSE for a in screen.clinical.active_alarms())
    qtbot.keyClick(w, Qt.Key.Key_F2)
    assert screen.clinical.audio_paused
    qtbot.keyClick(w, Qt.Key.Key_F4)
    assert any(isinstance(r, NoteRecord) and r.text.startswith("Event marked") for r in screen.records)
    screen.clinical.begin_baseline(NURSE)
    before = len(screen.clinical.prompts)
    qtbot.keyClick(w, Qt.Key.Key_F3)
    assert len(screen.clinical.prompts) > before  # no remote start here: the clinician is prompted


def test_the_light_theme_is_a_setting(qtbot: QtBot, clock: FakeClock) -> None:
    use_theme("light")
    window = MonitorWindow(MonitorCore(clock))
    qtbot.addWidget(window)
    assert LIGHT.background in window.centralWidget().styleSheet()
    with pytest.raises(ValueError, match="dark, light"):
        use_theme("sepia")


def test_the_theme_is_chosen_on_the_command_line() -> None:
    from bedside.cli.main import build_parser

    args = build_parser().parse_args(["monitor", "--theme", "light"])
    assert args.theme == "light"
    assert build_parser().parse_args(["monitor"]).theme == "dark"


# -- the forms themselves --------------------------------------------------------------------------


@pytest.mark.req("DOC-1")
def test_the_forms_say_what_is_missing_and_refuse_a_medication_in_the_future(qtbot: QtBot) -> None:
    from bedside.views.documentation import MedicationDialog, NoteDialog, ThresholdChangeDialog

    note = NoteDialog("Add a note", "")
    qtbot.addWidget(note)
    note._save()
    assert note.result() == 0 and "Write the note" in note.problem.text()
    note.text_edit.setPlainText("  settled  ")
    assert note.missing() == "" and note.note() == "settled"
    now = datetime.now().astimezone().replace(second=0, microsecond=0)
    medication = MedicationDialog(now, drug="midazolam", route="IV")
    qtbot.addWidget(medication)
    assert "dose" in medication.missing()
    medication.dose.setText("1 mg")
    assert medication.missing() == ""
    entry = medication.entry()
    assert (entry.drug, entry.dose, entry.route, entry.given_at) == ("midazolam", "1 mg", "IV", now)
    medication.given_at.setDateTime(medication.given_at.dateTime().addSecs(600))
    assert "future" in medication.missing()
    change = ThresholdChangeDialog(ThresholdSet.clinic_default(load_config()))
    qtbot.addWidget(change)
    assert "reason" in change.missing()
    change.reason.setText("known hypertensive")
    assert change.missing() == "" and change.entry().field is ThresholdField.SYSTOLIC_CEILING
