"""ProtocolPanel: clicking through the BP-spike tree produces the desk's records (PRO-2, PRO-5, PRO-6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from bedside.views.documentation import MedicationEntry
from bedside.views.protocol_panel import ProtocolPanel, countdown_text
from bedside.workflow.protocol_desk import ProtocolDesk
from drivers.clock import FakeClock
from drivers.types import Observation, VitalKind
from protocols import LIBRARY_DIR, LibraryLoad, MedicationText, load_library
from storage import IncidentOpenedRecord, ProtocolRunEndedRecord, ProtocolStepRecord


@pytest.fixture(scope="module")
def library() -> LibraryLoad:
    return load_library(LIBRARY_DIR)


class Bench:
    """A desk, a panel and what they stored, with a settable clinician and reason."""

    def __init__(self, qtbot: QtBot, library: LibraryLoad) -> None:
        self.clock = FakeClock()
        self.put: list[object] = []
        self.values: dict[VitalKind, Observation] = {}
        self.nibp_starts = 0
        self.clinician = "RN Okafor"
        self.reason: str | None = "cuff reading by hand"
        #: The name given when the panel asks to acknowledge an unapproved protocol (None: cancel).
        self.acknowledger: str | None = "RN Okafor"
        self.acknowledgements: list[tuple[str, str]] = []
        #: What the note form returns (None: cancelled) and the prompts it was shown.
        self.note: str | None = "BP 150/92 at recheck; patient told it is coming down"
        self.notes_asked: list[str] = []
        #: The dose the medication form returns (None: cancelled) and when it was given.
        self.dose_given: str | None = "as written"
        self.given_at: datetime | None = None
        self.desk = ProtocolDesk(
            self.clock,
            library,
            session_id="s1",
            put=self.put.append,
            latest=self.values.get,
            request_nibp=self._request_nibp,
        )
        self.panel = ProtocolPanel(
            self.desk,
            lambda: self.clinician,
            patient_name=lambda: "Jordan Lee",
            ask_reason=lambda _title: self.reason,
            ask_acknowledgement=self._acknowledge,
            ask_note=self._note,
            ask_medication=self._medication,
        )
        qtbot.addWidget(self.panel)
        self.qtbot = qtbot

    def _note(self, title: str, prompt: str) -> str | None:
        self.notes_asked.append(prompt)
        return self.note

    def _medication(self, written: MedicationText | None, now: datetime) -> MedicationEntry | None:
        if written is None or self.dose_given is None:
            return None
        return MedicationEntry(written.drug, self.dose_given, written.route, self.given_at or now, "")

    def _acknowledge(self, title: str, why: str) -> str | None:
        self.acknowledgements.append((title, why))
        return self.acknowledger

    def _request_nibp(self) -> bool:
        self.nibp_starts += 1
        return True

    def click(self, text: str) -> None:
        buttons = self.panel.action_buttons()
        assert text in buttons, f"{text!r} not among {sorted(buttons)}"
        buttons[text].click()

    def steps(self) -> list[ProtocolStepRecord]:
        return [r for r in self.put if isinstance(r, ProtocolStepRecord)]

    def start_bp_spike(self) -> None:
        self.desk.offer("bp-spike", "NIBP 182/104")
        offers = self.panel.offer_buttons()
        assert list(offers) == ["Start BP spike protocol"]
        with self.qtbot.waitSignal(self.panel.run_started):
            offers["Start BP spike protocol"].click()


@pytest.fixture
def bench(qtbot: QtBot, library: LibraryLoad) -> Bench:
    return Bench(qtbot, library)


@pytest.mark.req("PRO-5")
@pytest.mark.req("PRO-6")
def test_clicking_to_the_emergency_branch_reaches_call_911_and_shows_the_handoff(bench: Bench) -> None:
    bench.start_bp_spike()
    assert isinstance(bench.put[0], IncidentOpenedRecord)
    assert bench.panel.offer_buttons() == {}
    assert bench.panel.step_label.text().startswith("Slow or pause the ketamine infusion")
    assert not bench.panel.handoff_text.isVisibleTo(bench.panel)
    bench.click("Done")
    assert set(bench.panel.action_buttons()) == {"yes", "no"}
    bench.clinician = "Dr. Rivera"
    bench.click("yes")
    bench.click("Done")
    kinds = [(s.kind, s.node_id, s.person) for s in bench.steps()]
    # The template was acknowledged by name before it started (PRO-8), then shown.
    assert kinds[1][0] == "flags_acknowledged"
    assert kinds[3:] == [
        ("done", "slow_or_pause", "RN Okafor"),
        ("shown", "emergency_signs", "RN Okafor"),
        ("answered", "emergency_signs", "Dr. Rivera"),
        ("shown", "stop_infusion_emergency", "Dr. Rivera"),
        ("done", "stop_infusion_emergency", "Dr. Rivera"),
        ("shown", "call_911", "Dr. Rivera"),
        ("ended", "call_911", "Dr. Rivera"),
    ]
    assert isinstance(bench.put[-1], ProtocolRunEndedRecord)
    assert bench.put[-1].outcome == "call_911"
    assert bench.panel.action_buttons() == {}
    assert "Patient: Jordan Lee" in bench.panel.handoff_text.toPlainText()
    assert bench.panel.handoff_text.isReadOnly()
    assert bench.panel.path_list.count() == len(bench.steps())


@pytest.mark.req("PRO-2")
@pytest.mark.req("PRO-6")
def test_clicking_through_recheck_medication_and_decision_to_resolved(bench: Bench) -> None:
    bench.start_bp_spike()
    bench.click("Done")
    bench.click("no")
    assert bench.nibp_starts == 1
    assert "Waiting for the NIBP reading" in bench.panel.info_label.text()
    bench.click("Request NIBP")
    assert bench.nibp_starts == 2
    bench.click("Skip")
    assert bench.steps()[-2].kind == "skipped"
    assert bench.steps()[-2].note == "cuff reading by hand"
    bench.click("yes")
    bench.click("yes")
    assert set(bench.panel.action_buttons()) == {"Medication given…", "Not given"}
    bench.clock.advance(30)
    bench.click("Medication given…")
    given = next(s for s in bench.steps() if s.kind == "medication_given")
    assert given.occurred_at == bench.clock.now()
    assert bench.panel.timers_label.text().endswith("5:00")
    bench.clock.advance(300)
    with bench.qtbot.waitSignal(bench.panel.timer_due) as due:
        bench.panel.tick()
    assert due.args[1] == "Recheck blood pressure in 5 minutes. Stay with the patient."
    assert bench.panel.timers_label.text().endswith("DUE")
    bench.click("Done")
    bench.click("Skip")
    bench.click("Coming down, no emergency signs")
    bench.click("Done")
    assert set(bench.panel.action_buttons()) == {"Continue session", "Pause infusion", "Stop session"}
    bench.click("Stop session")
    bench.click("Done")
    assert [s.kind for s in bench.steps()[-4:]] == ["shown", "done", "shown", "ended"]
    assert bench.put[-1] == ProtocolRunEndedRecord(bench.steps()[0].run_id, bench.clock.now(), "resolved")
    assert "resolved" in bench.panel.run_combo.currentText()
    assert not bench.panel.handoff_text.isVisibleTo(bench.panel)


@pytest.mark.req("PRO-5")
def test_call_911_button_from_any_step_emits_and_shows_the_handoff(bench: Bench) -> None:
    bench.start_bp_spike()
    bench.clock.advance(60)
    with bench.qtbot.waitSignal(bench.panel.called_911) as called:
        bench.panel.call_911()
    run_id = bench.steps()[0].run_id
    assert called.args == [run_id]
    assert [s.kind for s in bench.steps()[-3:]] == ["call_911", "shown", "ended"]
    text = bench.panel.handoff_text.toPlainText()
    assert "RN Okafor: 911 called" in text


@pytest.mark.req("PRO-6")
def test_the_ems_handoff_sheet_is_printable_to_pdf(bench: Bench, tmp_path: Path) -> None:
    bench.start_bp_spike()
    bench.panel.call_911()
    assert bench.panel.print_handoff_button.isVisibleTo(bench.panel)
    out = tmp_path / "handoff.pdf"
    bench.panel.save_handoff_pdf(str(out))
    assert out.read_bytes().startswith(b"%PDF") and out.stat().st_size > 1000


def test_refused_actions_are_shown_not_raised(bench: Bench) -> None:
    bench.start_bp_spike()
    bench.clinician = " "
    with bench.qtbot.waitSignal(bench.panel.action_failed) as failed:
        bench.click("Done")
    assert "name" in failed.args[0]
    assert "name" in bench.panel.status_label.text()
    bench.clinician = "RN Okafor"
    bench.reason = None
    bench.click("Skip")
    assert bench.steps()[-1].kind == "shown"
    assert bench.steps()[-1].node_id == "slow_or_pause"


@pytest.mark.req("PRO-6")
def test_start_protocol_combo_starts_any_library_protocol_and_runs_switch(bench: Bench) -> None:
    bench.start_bp_spike()
    index = bench.panel.protocol_combo.findData("emergence-reaction")
    assert index >= 0
    bench.panel.protocol_combo.setCurrentIndex(index)
    bench.panel.start_button.click()
    assert bench.panel.run_combo.count() == 2
    selected = bench.panel.selected_run()
    assert selected is not None
    assert selected.protocol.id == "emergence-reaction"
    incidents = [r for r in bench.put if isinstance(r, IncidentOpenedRecord)]
    assert [i.kind for i in incidents] == ["bp-spike", "emergence-reaction"]
    bench.panel.run_combo.setCurrentIndex(0)
    assert bench.panel.step_label.text().startswith("Slow or pause the ketamine infusion")


@pytest.mark.req("PRO-8")
def test_an_unapproved_template_is_marked_and_starts_only_on_a_named_acknowledgement(bench: Bench) -> None:
    """Finding 11: the shipped templates are not the clinic's protocols yet; the panel marks them
    wherever it shows them and starts one only after a named clinician acknowledges that."""
    index = bench.panel.protocol_combo.findData("bp-spike")
    assert bench.panel.protocol_combo.itemText(index).endswith("[TEMPLATE - not approved]")
    bench.desk.offer("bp-spike", "NIBP 182/104")
    assert bench.panel.offer_marks() == ["TEMPLATE - not approved"]

    bench.acknowledger = None  # the clinician cancels: nothing starts, nothing is stored
    bench.panel.offer_buttons()["Start BP spike protocol"].click()
    assert bench.desk.runs() == () and bench.put == []
    assert "not approved" in bench.panel.status_label.text()
    [(title, why)] = bench.acknowledgements
    assert "TEMPLATE - not approved" in title and "approval" in why

    bench.acknowledger = "   "  # a blank name is no acknowledgement
    bench.panel.offer_buttons()["Start BP spike protocol"].click()
    assert bench.desk.runs() == () and "name" in bench.panel.status_label.text()

    bench.acknowledger = "Dr. Rivera"
    with bench.qtbot.waitSignal(bench.panel.run_started):
        bench.panel.offer_buttons()["Start BP spike protocol"].click()
    assert len(bench.desk.runs()) == 1
    assert bench.panel.run_mark_label.text().startswith("TEMPLATE - not approved")
    assert not bench.panel.run_mark_label.isHidden()


def test_countdown_text() -> None:
    assert countdown_text(299.2) == "5:00"
    assert countdown_text(59) == "0:59"
    assert countdown_text(0) == "DUE"
    assert countdown_text(timedelta(minutes=2).total_seconds()) == "2:00"
