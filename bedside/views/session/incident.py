"""Incident form and debrief from any alarm or protocol run (DOC-2, DOC-3), what the patient was
told (DOC-4), and the notes and medications of the record (DOC-1).

A protocol run opens its own incident (``ProtocolDesk.start``); an alarm becomes one here, at the
alarm's own time. Every entry goes through ``IncidentService`` / ``RecordService``.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from PySide6.QtCore import QDateTime, QTimeZone
from PySide6.QtWidgets import (
    QDateTimeEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QWidget,
)

from alarms import AlarmEventKind
from bedside.views.combo import WrapComboBox
from bedside.views.session.context import Screen, SessionServices, button, wrapped
from bedside.workflow.clinical import alarm_event_record
from bedside.workflow.identity import SignedIn
from bedside.workflow.incidents import AlarmNotStoredError, Outcome, ProtocolFollowed, StoredAlarm
from bedside.workflow.record import Route

log = logging.getLogger(__name__)

_ROLE = 256  # Qt.ItemDataRole.UserRole


class IncidentScreen(Screen):
    """Open an incident from an alarm, then close it, debrief it and say what the patient was told."""

    title = "Incident"
    audience = "the CRNA at the bedside (debriefs and reviews: the medical director)"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        top = QHBoxLayout()
        alarms = QGroupBox("Alarms of this session")
        a = QHBoxLayout(alarms)
        self.alarms = QListWidget()
        self.alarms.setObjectName("sessionAlarms")
        self.alarms.setMaximumHeight(130)
        self.alarms.setWordWrap(True)
        a.addWidget(self.alarms)
        a.addWidget(button("Open incident", self._open_from_alarm, name="openIncident"))
        top.addWidget(alarms, 1)
        incidents = QGroupBox("Incidents (alarms and protocol runs)")
        i = QHBoxLayout(incidents)
        self.incidents = QListWidget()
        self.incidents.setObjectName("sessionIncidents")
        self.incidents.setMaximumHeight(130)
        self.incidents.setWordWrap(True)
        self.incidents.currentRowChanged.connect(lambda _r: self._show_details())
        i.addWidget(self.incidents)
        top.addWidget(incidents, 1)
        self.body.addLayout(top)
        self.details = wrapped(name="incidentDetails")
        self.body.addWidget(self.details)
        self.outstanding = wrapped(name="incidentOutstanding")
        self.outstanding.setStyleSheet("color: #ffd400;")
        self.body.addWidget(self.outstanding)
        middle = QHBoxLayout()
        debrief = QGroupBox("Debrief (DOC-3)")
        d = QFormLayout(debrief)
        self.what_happened = QLineEdit()
        self.what_happened.setObjectName("whatHappened")
        self.what_was_done = QLineEdit()
        self.what_was_done.setObjectName("whatWasDone")
        self.went_well = QLineEdit()
        self.went_well.setObjectName("wentWell")
        self.to_improve = QLineEdit()
        self.to_improve.setObjectName("toImprove")
        self.followed = WrapComboBox()
        self.followed.setObjectName("protocolFollowed")
        for f in ProtocolFollowed:
            self.followed.addItem(f.value, f.value)
        d.addRow("What happened", self.what_happened)
        d.addRow("What was done", self.what_was_done)
        d.addRow("What went well", self.went_well)
        d.addRow("To improve", self.to_improve)
        d.addRow("Protocol followed", self.followed)
        d.addRow(button("Save debrief", self._debrief, name="saveDebrief"))
        middle.addWidget(debrief, 1)
        told = QGroupBox("What the patient was told (DOC-4)")
        t = QFormLayout(told)
        self.observed = QLineEdit()
        self.observed.setObjectName("toldObserved")
        self.done = QLineEdit()
        self.done.setObjectName("toldDone")
        self.meaning = QLineEdit()
        self.meaning.setObjectName("toldMeaning")
        t.addRow("What we saw", self.observed)
        t.addRow("What we did", self.done)
        t.addRow("What it means", self.meaning)
        t.addRow(button("Record what was told", self._told, name="recordTold"))
        middle.addWidget(told, 1)
        self.body.addLayout(middle)
        bottom = QHBoxLayout()
        close = QGroupBox("Close the incident")
        c = QHBoxLayout(close)
        self.outcome = WrapComboBox()
        self.outcome.setObjectName("incidentOutcome")
        for o in Outcome:
            self.outcome.addItem(o.words, o.value)
        self.outcome_text = QLineEdit()
        self.outcome_text.setObjectName("outcomeText")
        self.outcome_text.setPlaceholderText("for 'other': what")
        c.addWidget(self.outcome)
        c.addWidget(self.outcome_text, 1)
        c.addWidget(button("Close incident", self._close, name="closeIncident"))
        bottom.addWidget(close, 1)
        record = QGroupBox("Note and medication (to the record)")
        r = QFormLayout(record)
        self.note = QLineEdit()
        self.note.setObjectName("noteText")
        r.addRow("Note", self.note)
        r.addRow(button("Add note", self._note, name="addNote"))
        med = QHBoxLayout()
        self.drug = QLineEdit()
        self.drug.setObjectName("drug")
        self.drug.setPlaceholderText("drug")
        self.dose = QDoubleSpinBox()
        self.dose.setObjectName("dose")
        self.dose.setRange(0, 10000)
        self.dose.setDecimals(2)
        self.unit = QLineEdit("mg")
        self.unit.setObjectName("doseUnit")
        self.unit.setMaximumWidth(60)
        self.route = WrapComboBox()
        self.route.setObjectName("route")
        for route in Route:
            self.route.addItem(route.words, route.value)
        med.addWidget(self.drug, 1)
        med.addWidget(self.dose)
        med.addWidget(self.unit)
        med.addWidget(self.route)
        r.addRow(med)
        when = QHBoxLayout()
        self.given_at = QDateTimeEdit()
        self.given_at.setObjectName("givenAt")
        self.given_at.setDisplayFormat("yyyy-MM-dd HH:mm")
        self.given_at.setTimeZone(QTimeZone.utc())
        when.addWidget(self.given_at, 1)
        when.addWidget(button("Medication given", self._medication, name="addMedication"))
        r.addRow("Given at (UTC)", when)
        mark = QHBoxLayout()
        self.marker = QLineEdit()
        self.marker.setObjectName("markerLabel")
        self.marker.setPlaceholderText("e.g. patient anxious, IV re-sited")
        mark.addWidget(self.marker, 1)
        mark.addWidget(button("Mark event", self._mark, name="markEvent"))
        r.addRow("Event", mark)
        bottom.addWidget(record, 1)
        self.body.addLayout(bottom)

    def selected_incident(self) -> str:
        """The incident chosen in the list ("" when none)."""
        item = self.incidents.currentItem()
        return "" if item is None else str(item.data(_ROLE))

    def _show_details(self) -> None:
        """What the chosen incident's record holds: its debrief and what the patient was told."""
        chosen = self.selected_incident()
        if not chosen:
            self.details.setText("")
            return
        try:
            record = self.services.incidents.show(chosen)
        except Exception as exc:  # not yet written, database unreachable: in words
            self.details.setText(f"The incident cannot be read: {exc}")
            return
        lines = [f"Chosen: {record.incident.title} (opened by {record.incident.opened_by})"]
        if record.debrief is not None:
            d = record.debrief
            lines.append(f"Debrief by {d.who}: {d.what_happened}; done: {d.what_was_done}")
        for told in record.patient_told:
            lines.append(
                f"Patient told by {told.told_by} at {told.told_at.astimezone():%H:%M}: {told.meaning}"
            )
        if record.is_closed:
            lines.append("Closed.")
        self.details.setText("\n".join(lines))

    def _open_from_alarm(self) -> None:
        item = self.alarms.currentItem()
        if item is None:
            self.say("choose the alarm the incident is about", problem=True)
            return
        title, alarm = item.data(_ROLE)
        self.open_for_alarm(alarm, title)

    def open_for_alarm(self, alarm: StoredAlarm, title: str) -> str:
        """Open an incident for an alarm, linked to the alarm's stored row (DOC-2), and choose it;
        returns its id ("" when refused). While the alarm is not stored (storage down) the incident
        still opens at the alarm's time, by hand, and the screen says the alarm is not linked."""
        s = self.services
        s.flush()  # the alarm's row is committed at once; this waits for a writer that is behind
        try:
            existing = s.incidents.incident_of_alarm(alarm)
        except Exception as exc:  # the database is unreachable: opening says why
            log.warning("the alarm's incident cannot be looked up: %s", exc)
            existing = None
        if existing is not None:  # one event, one incident (DOC-2): chosen, not opened twice
            self.refresh()
            self.select_incident(existing.incident_id)
            self.say(f"This alarm already has an incident: {existing.title} (chosen)")
            return existing.incident_id
        unlinked: list[str] = []
        opened: list[str] = []

        def open_linked(by: SignedIn) -> None:
            try:
                incident = s.incidents.open_for_alarm(by, alarm, title)
            except AlarmNotStoredError as exc:
                log.warning("incident opened without its alarm: %s", exc)
                unlinked.append(str(exc))
                incident = s.incidents.open_by_hand(by, s.session_id, title, at=alarm.at)
            opened.append(incident.incident_id)

        self.act("Open incident", open_linked)
        if not opened:
            return ""
        if unlinked:
            self.say(f"Open incident: done, but not linked to the alarm: {unlinked[0]}", problem=True)
        self.select_incident(opened[0])
        return opened[0]

    def select_incident(self, incident_id: str) -> None:
        """Choose this incident in the list (the one just opened)."""
        for row in range(self.incidents.count()):
            if self.incidents.item(row).data(_ROLE) == incident_id:
                self.incidents.setCurrentRow(row)
                return

    def _need_incident(self) -> str:
        chosen = self.selected_incident()
        if not chosen:
            self.say("choose the incident in the list first", problem=True)
        return chosen

    def _debrief(self) -> None:
        chosen = self._need_incident()
        if chosen:
            self.act(
                "Save debrief",
                lambda by: self.services.incidents.debrief(
                    by,
                    chosen,
                    what_happened=self.what_happened.text(),
                    what_was_done=self.what_was_done.text(),
                    went_well=self.went_well.text(),
                    to_improve=self.to_improve.text(),
                    protocol_followed=str(self.followed.currentData()),
                ),
            )

    def _told(self) -> None:
        chosen = self._need_incident()
        if chosen:
            self.act(
                "Record what was told",
                lambda by: self.services.incidents.patient_told(
                    by,
                    chosen,
                    observed=self.observed.text(),
                    done=self.done.text(),
                    meaning=self.meaning.text(),
                    told_at=self.services.clock.now(),
                ),
            )

    def _close(self) -> None:
        chosen = self._need_incident()
        if chosen:
            self.act("Close incident", lambda by: self._close_and_follow_up(by, chosen))

    def _close_and_follow_up(self, by: SignedIn, incident_id: str) -> None:
        """Close; then the follow-ups the incident's kind owes (DOC-7), unless the record service
        scheduled them on closing already."""
        s = self.services
        s.incidents.close(by, incident_id, str(self.outcome.currentData()), self.outcome_text.text())
        if any(f.item.incident_id == incident_id for f in s.followups.open_follow_ups()):
            return
        incident = s.incidents.show(incident_id).incident
        s.followups.schedule(
            by,
            event_type=incident.kind,
            event_at=incident.opened_at,
            session_id=s.session_id,
            incident_id=incident_id,
            patient_ref=s.patient_id,
        )

    def _note(self) -> None:
        s = self.services
        self.act("Add note", lambda by: s.records.add_note(by, s.session_id, self.note.text()))

    def _mark(self) -> None:
        s = self.services
        self.act("Mark event", lambda by: s.records.add_marker(by, s.session_id, self.marker.text()))

    def _medication(self) -> None:
        s = self.services
        self.act(
            "Medication given",
            lambda by: s.records.add_medication(
                by,
                s.session_id,
                drug=self.drug.text(),
                dose=self.dose.value(),
                unit=self.unit.text(),
                route=str(self.route.currentData()),
                given_at=datetime.fromtimestamp(self.given_at.dateTime().toSecsSinceEpoch(), UTC),
            ),
        )

    def refresh(self) -> None:
        """The session's alarms and incidents, and what each open incident still needs."""
        s = self.services
        # The medication time starts at now (minute precision); the clinician moves it back.
        now = int(s.clock.now().timestamp()) // 60 * 60
        self.given_at.setDateTime(QDateTime.fromSecsSinceEpoch(now, QTimeZone.utc()))
        chosen = self.selected_incident()
        self.alarms.clear()
        if s.clinical is not None:
            for event in s.clinical.alarm_events:
                if event.kind is AlarmEventKind.STARTED and event.condition is not None:
                    words = f"{event.at.astimezone():%H:%M:%S} {event.message}"
                    item = QListWidgetItem(words)
                    # The event as it was stored: its row is found from it when an incident opens.
                    item.setData(_ROLE, (event.message[:200], alarm_event_record(s.session_id, event)))
                    self.alarms.addItem(item)
        self.incidents.clear()
        try:
            incidents = s.incidents.incidents(s.session_id)
            outstanding = s.incidents.outstanding(s.session_id)
        except Exception as exc:  # the database is unreachable: say so, keep the screen
            self.outstanding.setText(f"The incidents cannot be read: {exc}")
            return
        for incident in incidents:
            state = "closed" if incident.closed_at else "open"
            item = QListWidgetItem(f"{incident.opened_at.astimezone():%H:%M} {incident.title} ({state})")
            item.setData(_ROLE, incident.incident_id)
            self.incidents.addItem(item)
            if incident.incident_id == chosen:
                self.incidents.setCurrentItem(item)
        if self.incidents.currentItem() is None and self.incidents.count():
            self.incidents.setCurrentRow(self.incidents.count() - 1)
        self._show_details()
        self.outstanding.setText(
            "\n".join(
                f"{r.incident.title}: still needs {', '.join(r.outstanding)}"
                for r in outstanding
                if r.outstanding
            )
        )
