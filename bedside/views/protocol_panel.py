"""The protocol panel: offered protocols, the current step in large type, big answer buttons.

A view only: every click becomes a call on the ``ProtocolDesk``/``ProtocolRun`` with the name of
the clinician at the monitor; what happens next is decided by the engine and read back from it.

A protocol the clinic's medical director has not approved (a shipped template, or a file changed
since its approval) is marked "TEMPLATE - not approved" wherever the panel shows it, and starting
it first asks a named clinician to acknowledge that (PRO-8); the name goes to the desk, which
records it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from alarms import AlarmPriority
from bedside.views.combo import WrapComboBox
from bedside.views.documentation import MedicationDialog, MedicationEntry, NoteDialog
from bedside.views.gui_thread import gui_only
from bedside.views.theme import palette
from bedside.views.widgets import WrapButton, label, text_role
from bedside.workflow.protocol_desk import EmergencyCall, ProtocolDesk, ProtocolNotLoaded
from drivers.types import VitalKind
from protocols import (
    HandoffPatient,
    LoadedProtocol,
    MedicationText,
    NodeType,
    NodeView,
    ProtocolFlag,
    ProtocolNotApproved,
    ProtocolRun,
    StepNotAllowed,
    StepRecord,
    TimerPrompt,
)

log = logging.getLogger(__name__)

_HIGH = AlarmPriority.HIGH

#: Asks a reason (title) and returns it, or None when the clinician cancels.
ReasonAsker = Callable[[str], "str | None"]
#: Asks a named clinician to acknowledge starting an unapproved protocol (title, why it is not
#: approved); returns the name, or None when the clinician cancels.
AcknowledgementAsker = Callable[[str, str], "str | None"]
#: Asks the note a documentation step wants (title, the step's words); None when cancelled.
NoteAsker = Callable[[str, str], "str | None"]
#: Asks what medication was given (the protocol's written drug, dose and route, the time now);
#: None when cancelled.
MedicationAsker = Callable[["MedicationText | None", datetime], "MedicationEntry | None"]

TEMPLATE_MARK = "TEMPLATE - not approved"
CHANGED_MARK = "CHANGED - not approved since edited"
#: The words that make an instruction a documentation step: its Done opens the note form.
_DOCUMENTATION_WORDS = ("add a note", "document")


def _mark_style() -> str:
    p = palette()
    return f"color: {p.on_warning}; background: {p.warning}; padding: 2px 6px;"


def ask_note_dialog(parent: QWidget) -> NoteAsker:
    """A note asker that shows the note form over ``parent``."""

    def ask(title: str, prompt: str) -> str | None:
        dialog = NoteDialog(title, prompt, parent)
        return dialog.note() if dialog.exec() == NoteDialog.DialogCode.Accepted else None

    return ask


def ask_medication_dialog(parent: QWidget) -> MedicationAsker:
    """A medication asker that shows the medication form over ``parent``, filled from the protocol."""

    def ask(written: MedicationText | None, now: datetime) -> MedicationEntry | None:
        drug, dose, route = (written.drug, written.dose, written.route) if written else ("", "", "")
        dialog = MedicationDialog(now, drug=drug, dose=dose, route=route, parent=parent)
        return dialog.entry() if dialog.exec() == MedicationDialog.DialogCode.Accepted else None

    return ask


def is_documentation_step(view: NodeView) -> bool:
    """True for an instruction that asks the team to write something down ("Add a note ...")."""
    words = view.text.lower()
    return view.type is NodeType.INSTRUCTION and any(w in words for w in _DOCUMENTATION_WORDS)


def ask_reason_dialog(parent: QWidget) -> ReasonAsker:
    """A reason asker that shows a QInputDialog over ``parent``."""

    def ask(title: str) -> str | None:
        text, ok = QInputDialog.getText(parent, title, "Reason (recorded with your name):")
        return text if ok else None

    return ask


def approval_mark(protocol: LoadedProtocol) -> str | None:
    """The mark an unapproved protocol carries on screen (None for an approved one)."""
    if ProtocolFlag.CHANGED_WITHOUT_APPROVAL in protocol.flags:
        return CHANGED_MARK
    if ProtocolFlag.TEMPLATE in protocol.flags:
        return TEMPLATE_MARK
    return None


def ask_acknowledgement_dialog(parent: QWidget, clinician: Callable[[], str]) -> AcknowledgementAsker:
    """An acknowledgement asker that shows a QInputDialog over ``parent``, the clinician's name filled in."""

    def ask(title: str, why: str) -> str | None:
        text, ok = QInputDialog.getText(
            parent,
            "Start a protocol that is not approved",
            f"{title}\n{why}\n\nThis protocol has not been approved by the clinic's medical director.\n"
            "Type your name to acknowledge that you start it on your own clinical judgement:",
            text=clinician(),
        )
        return text if ok else None

    return ask


def record_line(rec: StepRecord) -> str:
    """One line of the path so far, e.g. ``09:00:10  RN Okafor  answered  emergency_signs  no``."""
    parts = [rec.at.strftime("%H:%M:%S"), rec.person, str(rec.kind), rec.node_id]
    if rec.value:
        parts.append(rec.value)
    if rec.note:
        parts.append(f"({rec.note})")
    return "  ".join(parts)


def countdown_text(remaining_s: float) -> str:
    """``4:59`` for 299 s; ``DUE`` once it has run out."""
    if remaining_s <= 0:
        return "DUE"
    whole = int(remaining_s + 0.999)
    return f"{whole // 60}:{whole % 60:02d}"


class ProtocolPanel(QWidget):
    """Offers, "Start protocol...", and the selected run's step, actions, path, timers and the EMS
    hand-off. CALL 911 itself is the window's one fixed button, which calls ``call_911``."""

    #: A run was started from this panel (run id).
    run_started = Signal(str)
    #: 911 was called from this panel (run id); the hand-off text is then shown.
    called_911 = Signal(str)
    #: A run's timer fell due (run id, the step's text).
    timer_due = Signal(str, str)
    #: An action was refused (the engine's message, also shown in the panel).
    action_failed = Signal(str)

    def __init__(
        self,
        desk: ProtocolDesk,
        clinician: Callable[[], str],
        *,
        patient_name: Callable[[], str] = lambda: "",
        ask_reason: ReasonAsker | None = None,
        ask_acknowledgement: AcknowledgementAsker | None = None,
        ask_note: NoteAsker | None = None,
        ask_medication: MedicationAsker | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._desk = desk
        self._clinician = clinician
        self._patient_name = patient_name
        self._ask_reason = ask_reason or ask_reason_dialog(self)
        self._ask_acknowledgement = ask_acknowledgement or ask_acknowledgement_dialog(self, clinician)
        self._ask_note = ask_note or ask_note_dialog(self)
        self._ask_medication = ask_medication or ask_medication_dialog(self)
        self._offer_rows: list[QWidget] = []
        self._handoffs: dict[str, str] = {}
        #: The hand-off of the last CALL 911 press (shown whatever run is selected).
        self._emergency: EmergencyCall | None = None
        self._shown_key: tuple[str, str, int] | None = None
        self._action_buttons: list[QPushButton] = []
        self._offer_buttons: list[QPushButton] = []
        p = palette()
        text_role(self, "body")
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        # Drop-downs wrap their chosen text and open as wide as their longest title (never cut).
        self.run_combo = WrapComboBox()
        self.run_combo.currentIndexChanged.connect(lambda _i: self.refresh())
        self.run_combo.setToolTip("Switch between this session's protocol runs")
        layout.addWidget(self.run_combo)
        # The selected run's whole title, wrapped: the combo above only switches runs.
        self.run_title_label = label("", "body", bold=True)
        layout.addWidget(self.run_title_label)

        self.run_mark_label = label("", "body", bold=True)
        self.run_mark_label.setStyleSheet(_mark_style())
        self.run_mark_label.hide()
        layout.addWidget(self.run_mark_label)

        self.step_label = label("No protocol running.", "step", bold=True)
        self.detail_label = label("", "body")
        self.info_label = label("", "body")
        for w in (self.step_label, self.detail_label, self.info_label):
            layout.addWidget(w)

        # One answer per row, full width, the words wrapped: never ", no em" (issue 10).
        self.actions_box = QVBoxLayout()
        self.actions_box.setSpacing(6)
        layout.addLayout(self.actions_box)

        self.status_label = label("", "body", bold=True)
        self.status_label.setStyleSheet(f"color: {p.priority_text[_HIGH]};")
        layout.addWidget(self.status_label)

        self.timers_label = label("", "heading", bold=True)
        layout.addWidget(self.timers_label)

        # The step being followed comes first; offers and "Start protocol..." below it.
        self.offers_box = QVBoxLayout()
        layout.addLayout(self.offers_box)

        start_row = QHBoxLayout()
        # Long titles must not widen the window: the chosen title wraps, the open list shows all.
        self.protocol_combo = WrapComboBox()
        for loaded in desk.protocols():
            mark = approval_mark(loaded)
            title = loaded.protocol.title
            self.protocol_combo.addItem(f"{title}  [{mark}]" if mark else title, loaded.id)
        self.start_button = QPushButton("Start protocol...")
        text_role(self.start_button, "button", bold=True)
        self.start_button.clicked.connect(self._start_chosen)
        # The list on a row of its own (a long title wraps over fewer lines), its button under it.
        layout.addWidget(self.protocol_combo)
        start_row.addStretch(1)
        start_row.addWidget(self.start_button)
        layout.addLayout(start_row)

        self.path_list = QListWidget()
        self.path_list.setWordWrap(True)
        self.path_list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.path_list.setMinimumHeight(80)
        layout.addWidget(self.path_list, 1)

        self.handoff_text = QPlainTextEdit()
        self.handoff_text.setReadOnly(True)
        self.handoff_text.setMinimumHeight(120)
        layout.addWidget(self.handoff_text, 1)
        self.print_handoff_button = QPushButton("Print EMS hand-off…")
        text_role(self.print_handoff_button, "button", bold=True)
        self.print_handoff_button.clicked.connect(self._print_handoff)
        layout.addWidget(self.print_handoff_button)

        desk.add_listener(gui_only(self.refresh, self))  # the desk may change on the watchdog's thread
        self.refresh()

    # -- public --------------------------------------------------------------------------------

    def selected_run(self) -> ProtocolRun | None:
        """The run the panel shows (None before any run starts)."""
        run_id = self.run_combo.currentData()
        return self._desk.run(run_id) if isinstance(run_id, str) else None

    def select_run(self, run_id: str) -> None:
        """Show this run."""
        self._sync_runs()
        index = self.run_combo.findData(run_id)
        if index >= 0:
            self.run_combo.setCurrentIndex(index)

    def action_buttons(self) -> dict[str, QPushButton]:
        """The current step's action buttons by their text (for the window's shortcuts and tests)."""
        return {b.text(): b for b in self._action_buttons}

    def offer_buttons(self) -> dict[str, QPushButton]:
        """The offered protocols' start buttons by their text."""
        return {b.text(): b for b in self._offer_buttons}

    def tick(self) -> list[TimerPrompt]:
        """Tick the desk's timers (prompts become ``timer_due``) and update the countdowns; returns
        the timers that have just fallen due (the window raises their alarm, PRO-2)."""
        prompts = self._desk.tick()
        for prompt in prompts:
            self.timer_due.emit(prompt.run_id, prompt.text)
        self._show_timers()
        run = self.selected_run()
        if run is not None:
            self._set_text(self.info_label, self._info(run.current()))  # the step's own countdown, live
        return prompts

    def call_911(self, **details: Any) -> EmergencyCall | None:
        """CALL 911 now, with a protocol running or not (the window's fixed button): the desk
        records it and the EMS hand-off is shown. ``details`` go to ``ProtocolDesk.call_911_now``
        (patient, medications, session and infusion start). None when the desk refused."""
        run = self.selected_run()
        details.setdefault("patient", HandoffPatient(name=self._patient_name()))
        result: list[EmergencyCall] = []

        def call() -> None:
            active = run.run_id if run is not None and run.is_active else None
            result.append(self._desk.call_911_now(self._clinician(), run_id=active, **details))

        self._do(call)
        if not result:
            return None
        emergency = result[0]
        self._emergency = emergency
        if emergency.run_id is not None:
            self._handoffs[emergency.run_id] = emergency.handoff
            self.select_run(emergency.run_id)
        self._show_handoff()
        self.called_911.emit(emergency.run_id or "")
        return emergency

    def refresh(self) -> None:
        """Read the desk and runs again and repaint."""
        self._show_offers()
        self._sync_runs()
        run = self.selected_run()
        self._set_text(self.run_title_label, self.run_combo.currentText())
        self._show_timers()
        mark = approval_mark(run.protocol) if run is not None else None
        self.run_mark_label.setText(f"{mark}: follow it on your own clinical judgement" if mark else "")
        self.run_mark_label.setVisible(mark is not None)
        if run is None:
            self.step_label.setText("No protocol running.")
            self._set_text(self.detail_label, "")
            self._set_text(self.info_label, "")
            self._set_actions([])
            self._show_handoff()
            return
        view = run.current()
        key = (run.run_id, view.node_id, len(run.records))
        self.path_list.clear()
        self.path_list.addItems([record_line(r) for r in run.records])
        self.path_list.scrollToBottom()
        self.step_label.setText(view.text)
        self._set_text(self.detail_label, view.detail or "")
        self._set_text(self.info_label, self._info(view))
        if key != self._shown_key:
            self._shown_key = key
            self._set_actions(self._actions(run, view) if run.is_active else [])
        if run.called_911_at is not None and run.run_id not in self._handoffs:
            self._handoffs[run.run_id] = self._desk.ems_handoff(run.run_id, self._patient_name())
        self._show_handoff()

    @staticmethod
    def _set_text(shown: QLabel, text: str) -> None:
        """Words in a label that takes no room while it has none."""
        if shown.text() != text:
            shown.setText(text)
        shown.setVisible(bool(text))

    def _show_handoff(self) -> None:
        """The selected run's hand-off, else the last CALL 911 press's (hidden when neither)."""
        run = self.selected_run()
        text = self._handoffs.get(run.run_id, "") if run is not None else ""
        if not text and self._emergency is not None:
            text = self._emergency.handoff
        self.handoff_text.setVisible(bool(text))
        self.print_handoff_button.setVisible(bool(text))
        if self.handoff_text.toPlainText() != text:
            self.handoff_text.setPlainText(text)

    def save_handoff_pdf(self, path: str) -> None:
        """Write the selected run's EMS hand-off sheet to a PDF file (owner-only), with the one PDF
        renderer every Bedside document uses (``bedside.workflow.ems_handoff_pdf``)."""
        from bedside.workflow.ems_handoff_pdf import (
            HandoffAlarm,
            HandoffPatientDetails,
            ems_handoff_pdf,
            save_owner_only,
        )

        run = self.selected_run()
        emergency = self._emergency
        if (
            emergency is not None
            and emergency.record is not None
            and (run is None or emergency.run_id in (None, run.run_id))
        ):
            record = emergency.record  # CALL 911 pressed: the sheet it showed, with the patient's details
        elif run is not None:
            record = self._desk.ems_handoff_record(run.run_id, self._patient_name())
        else:
            return
        alarms = [
            HandoffAlarm(
                e.at,
                e.condition.value if e.condition is not None else "audio",
                e.priority.text.lower() if e.priority is not None else "",
                str(e.kind.value),
                e.message,
            )
            for e in self._desk.alarm_events()
        ]
        who = record.patient
        pdf = ems_handoff_pdf(
            record,
            patient=HandoffPatientDetails(
                name=who.name or self._patient_name(),
                identifier=who.identifier,
                date_of_birth=who.date_of_birth,
                weight_kg=who.weight_kg,
                allergies=(
                    [a.strip() for a in who.allergies.split(",") if a.strip()] if who.allergies else None
                ),
            ),
            caller=self._clinician(),
            alarms=alarms,
        )
        save_owner_only(Path(path), pdf)

    def _print_handoff(self) -> None:
        # The sheet is a PDF: saved where the clinician says, then opened in the system viewer,
        # whose print dialog knows the clinic's printers.
        from PySide6.QtCore import QUrl
        from PySide6.QtGui import QDesktopServices
        from PySide6.QtWidgets import QFileDialog

        default = Path.home() / f"ems-handoff-{self._now():%Y%m%d-%H%M}.pdf"
        path, _ = QFileDialog.getSaveFileName(
            self, "Save the EMS hand-off sheet", str(default), "PDF (*.pdf)"
        )
        if not path:
            return
        try:
            self.save_handoff_pdf(path)
        except OSError as exc:
            self._refuse(f"the hand-off sheet could not be written to {path}: {exc}")
            return
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    # -- building ------------------------------------------------------------------------------

    def _show_offers(self) -> None:
        for row in self._offer_rows:
            self.offers_box.removeWidget(row)
            row.setParent(None)
            row.deleteLater()
        self._offer_buttons = []
        self._offer_rows = []
        for offer in self._desk.offers:
            row = QWidget()
            row_layout = QVBoxLayout(row)
            row_layout.setContentsMargins(0, 0, 0, 0)
            row_layout.setSpacing(0)
            button = WrapButton(offer.button_text)
            button.setToolTip(offer.reason)
            p = palette()
            button.set_colours(p.on_offer, p.offer)
            button.clicked.connect(lambda _c=False, pid=offer.protocol_id: self._start(pid, from_offer=True))
            row_layout.addWidget(button)
            protocol = self._desk.library.protocols.get(offer.protocol_id)
            mark = approval_mark(protocol) if protocol is not None else None
            if mark:
                mark_label = label(mark, "body", bold=True)
                mark_label.setStyleSheet(_mark_style())
                row_layout.addWidget(mark_label)
            self.offers_box.addWidget(row)
            self._offer_rows.append(row)
            self._offer_buttons.append(button)

    def offer_marks(self) -> list[str]:
        """The approval mark under each offer button ("" for an approved protocol), top to bottom."""
        marks = []
        for row in self._offer_rows:
            labels = row.findChildren(QLabel, "", Qt.FindChildOption.FindDirectChildrenOnly)
            marks.append(labels[0].text() if labels else "")
        return marks

    def _sync_runs(self) -> None:
        runs = self._desk.runs()
        labels = [(f"{r.protocol.protocol.title} - {_state(r)}", r.run_id) for r in runs]
        current = [
            (self.run_combo.itemText(i), self.run_combo.itemData(i)) for i in range(self.run_combo.count())
        ]
        if labels == current:
            return
        selected = self.run_combo.currentData()
        self.run_combo.blockSignals(True)
        self.run_combo.clear()
        for text, run_id in labels:
            self.run_combo.addItem(text, run_id)
        index = self.run_combo.findData(selected)
        self.run_combo.setCurrentIndex(index if index >= 0 else len(labels) - 1)
        self.run_combo.blockSignals(False)
        # One run needs no switch: its title is the label below.
        self.run_combo.setVisible(len(labels) > 1)

    def _info(self, view: NodeView) -> str:
        lines = [v.text for v in view.vitals]
        if view.waiting_for_nibp:
            lines.append("Waiting for the NIBP reading...")
        if view.medication is not None:
            lines.append(view.medication.text)
        if view.timer is not None:
            lines.append(f"Timer: {countdown_text(view.timer.remaining)}")
        return "\n".join(lines)

    def _show_timers(self) -> None:
        parts = []
        for run in self._desk.active_runs():
            state = run.current().timer
            if state is not None:
                parts.append(f"{run.protocol.protocol.title}: {countdown_text(state.remaining)}")
        self._set_text(self.timers_label, "\n".join(parts))

    def _actions(self, run: ProtocolRun, view: NodeView) -> list[tuple[str, Callable[[], None]]]:
        def who() -> str:
            return self._clinician()

        actions: list[tuple[str, Callable[[], None]]] = []
        match view.type:
            case NodeType.QUESTION:
                actions = [(o, partial(self._answer, run, o)) for o in view.options]
            case NodeType.DECISION:
                actions = [
                    (o.replace("_", " ").capitalize(), partial(self._decide, run, o)) for o in view.options
                ]
            case NodeType.MEDICATION:
                actions = [
                    ("Medication given…", lambda: self._medication_given(run, view)),
                    (
                        "Not given",
                        lambda: self._with_reason("Medication not given", run.confirm_medication, False),
                    ),
                ]
            case NodeType.INSTRUCTION | NodeType.VITAL_CHECK | NodeType.TIMER:
                if view.type is NodeType.VITAL_CHECK and any(
                    v.kind is VitalKind.NIBP_SYSTOLIC for v in view.vitals
                ):
                    actions.append(("Request NIBP", lambda: self._request_nibp(run)))
                if view.type is NodeType.TIMER:
                    actions.append(("Restart timer", lambda: run.start_timer(who())))
                if is_documentation_step(view):
                    actions.append(("Write the note…", lambda: self._write_note(run, view)))
                actions += [("Done", lambda: run.done(who())), ("Skip", lambda: self._skip(run))]
            case _:
                actions = []
        return actions

    def _set_actions(self, actions: list[tuple[str, Callable[[], None]]]) -> None:
        for b in self._action_buttons:
            self.actions_box.removeWidget(b)
            b.setParent(None)
            b.deleteLater()
        self._action_buttons = []
        for text, action in actions:
            button = WrapButton(text)
            p = palette()
            button.set_colours(p.text, p.raised, p.border)
            button.clicked.connect(lambda _c=False, a=action: self._do(a))
            self.actions_box.addWidget(button)
            self._action_buttons.append(button)

    # -- actions -------------------------------------------------------------------------------

    def _do(self, action: Callable[[], None]) -> None:
        try:
            action()
        except (StepNotAllowed, ProtocolNotApproved, ProtocolNotLoaded) as exc:
            self._refuse(str(exc))
            return
        self._set_text(self.status_label, "")
        self.refresh()

    def _refuse(self, message: str) -> None:
        log.info("protocol action refused: %s", message)
        self._set_text(self.status_label, message)
        self.action_failed.emit(message)

    def _now(self) -> datetime:
        return self._desk.now()

    def _answer(self, run: ProtocolRun, choice: str) -> None:
        run.answer(self._clinician(), choice)

    def _decide(self, run: ProtocolRun, decision: str) -> None:
        run.decide(self._clinician(), decision)

    def _skip(self, run: ProtocolRun) -> None:
        reason = self._ask_reason("Skip this step")
        if reason is None:
            return
        run.skip(self._clinician(), reason)

    def _with_reason(self, title: str, confirm: Callable[..., None], given: bool) -> None:
        reason = self._ask_reason(title)
        if reason is None:
            return
        confirm(self._clinician(), None, given, reason)

    def _request_nibp(self, run: ProtocolRun) -> None:
        if not run.request_nibp(self._clinician()):
            self._set_text(
                self.status_label, "This monitor cannot be started remotely: start the NIBP cycle on it."
            )

    def _start(self, protocol_id: str, *, from_offer: bool) -> None:
        protocol = self._desk.library.protocols.get(protocol_id)
        mark = approval_mark(protocol) if protocol is not None else None
        acknowledged_by: str | None = None
        if protocol is not None and mark is not None:
            why = "; ".join(n.message for n in protocol.flag_notes) or mark
            name = self._ask_acknowledgement(f"{protocol.protocol.title} ({mark})", why)
            if name is None:
                self._set_text(
                    self.status_label, f"{protocol.protocol.title} not started: it is not approved."
                )
                return
            if not name.strip():
                self._refuse(
                    f"{protocol.protocol.title} is not approved: starting it needs the name of the "
                    "clinician who acknowledges that"
                )
                return
            acknowledged_by = name.strip()

        def start() -> None:
            run = self._desk.start(
                protocol_id,
                self._clinician(),
                from_offer=from_offer,
                acknowledge_flags=acknowledged_by is not None,
                acknowledged_unapproved_by=acknowledged_by,
            )
            self.select_run(run.run_id)
            self.run_started.emit(run.run_id)

        self._do(start)

    def _start_chosen(self) -> None:
        protocol_id = self.protocol_combo.currentData()
        if isinstance(protocol_id, str):
            offered = any(o.protocol_id == protocol_id for o in self._desk.offers)
            self._start(protocol_id, from_offer=offered)

    def _write_note(self, run: ProtocolRun, view: NodeView) -> None:
        """A documentation step: the note is written in the form and kept with the step (PRO-6)."""
        note = self._ask_note("Add a note to the incident record", view.text)
        if note is None:
            return
        run.done(self._clinician(), note=note)

    def _medication_given(self, run: ProtocolRun, view: NodeView) -> None:
        """The medication form, filled from the protocol's written medication; what was entered is
        recorded with the step (drug, dose and route as given, the time given) (PRO-6, DOC-1)."""
        entry = self._ask_medication(view.medication, self._now())
        if entry is None:
            return
        written = view.medication.text if view.medication is not None else ""
        note = "" if entry.text == written else f"as given: {entry.text}"
        if entry.note:
            note = f"{note}; {entry.note}" if note else entry.note
        run.confirm_medication(self._clinician(), entry.given_at, True, note)


def _state(run: ProtocolRun) -> str:
    if run.is_active:
        return "in progress"
    return str(run.outcome) if run.outcome is not None else "stopped"
