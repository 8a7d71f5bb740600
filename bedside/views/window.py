"""The monitor window: numerics, trends, link status. It subscribes and renders; it decides nothing.

Event-driven (DESIGN "Views subscribe, they never poll"): a link thread that delivers data wakes
the GUI thread at once through a queued Qt signal (``MonitorCore.set_waker``, coalesced per
burst); the data is applied and judged in that turn of the event loop, and the clinical session's
change notification re-renders the alarm bar and the tone in the same turn (only what changed).
One slow heartbeat (``TICK_MS``) drives what depends on time alone: ages, countdowns, the silence
checks, the clinical tick, the protocol timers and the trend's scrolling window.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QGuiApplication, QKeySequence, QResizeEvent, QShortcut
from PySide6.QtWidgets import QHBoxLayout, QMainWindow, QMenu, QScrollArea, QToolButton, QVBoxLayout, QWidget

from alarms import AlarmPriority, ConditionId, SessionPhase, ThresholdSet
from bedside.monitor.core import MonitorCore
from bedside.monitor.vitals_board import Numeric
from bedside.views.action_bar import ActionBar
from bedside.views.alarm_bar import AlarmBar
from bedside.views.alarm_sound import AlarmSound
from bedside.views.documentation import (
    MedicationDialog,
    MedicationEntry,
    ThresholdChangeDialog,
    ThresholdEntry,
)
from bedside.views.gui_thread import gui_only
from bedside.views.nibp_panel import NibpPanel
from bedside.views.patient_banner import PatientBanner, PatientOnScreen
from bedside.views.protocol_panel import ProtocolPanel, ask_note_dialog
from bedside.views.session_controls import SessionControls
from bedside.views.theme import link_colour, palette, text_scale
from bedside.views.widgets import (
    NumericTile,
    SimulationBanner,
    SourceList,
    SourceReading,
    SourceRowView,
    apply_text_scale,
    text_role,
)
from bedside.workflow.clinical import BandView, ClinicalSession
from bedside.workflow.protocol_desk import ProtocolDesk
from drivers.types import VitalKind
from protocols import HandoffPatient
from protocols.handoff import HandoffMedication

if TYPE_CHECKING:
    from bedside.views.pleth import PlethStrip
    from bedside.views.trend import TrendView

log = logging.getLogger(__name__)

#: Which tile an alarm condition is about: the tile is framed in the alarm's colour (issue 10).
_TILE_OF: dict[ConditionId, str] = {
    ConditionId.SPO2_LOW: "spo2",
    ConditionId.SPO2_PROBE_OFF: "spo2",
    ConditionId.SPO2_NO_SIGNAL: "spo2",
    ConditionId.PULSE_HIGH: "pulse",
    ConditionId.PULSE_LOW: "pulse",
    ConditionId.HR_HIGH: "pulse",
    ConditionId.HR_LOW: "pulse",
    ConditionId.PULSE_DEFICIT: "pulse",
    ConditionId.BP_HIGH: "nibp",
    ConditionId.BP_LOW: "nibp",
    ConditionId.NIBP_FAILED: "nibp",
}

#: The vitals a source's tile or row shows (oximeter SpO2 and pulse rate, ECG heart rate).
_CONTINUOUS_KINDS = (VitalKind.SPO2, VitalKind.PULSE_RATE, VitalKind.HEART_RATE)

#: Asks the note to record (title, prompt); None when cancelled.
NoteAsker = Callable[[str, str], "str | None"]
#: Asks what medication was given (the time now); None when cancelled.
WindowMedicationAsker = Callable[[datetime], "MedicationEntry | None"]
#: Asks a threshold change with its reason (the set in force); None when cancelled.
ThresholdAsker = Callable[[ThresholdSet], "ThresholdEntry | None"]


class _Wakeup(QObject):
    """Carries "data arrived" from a link thread to the GUI thread (emitted there, queued here)."""

    arrived = Signal()


def clock_offset_words(offset_s: float) -> str:
    """A device clock offset in a clinician's words: "6.0 s ahead", "1 h 0 min behind", "in step"."""
    size = abs(offset_s)
    if size < 0.5:
        return "in step"
    side = "ahead" if offset_s > 0 else "behind"
    if size < 120:
        return f"{size:.1f} s {side}"
    minutes = round(size / 60)
    return f"{minutes // 60} h {minutes % 60} min {side}" if minutes >= 60 else f"{minutes} min {side}"


def _age_weight(patient: PatientOnScreen | None) -> str:
    """Age and weight as the EMS hand-off's notes line ("34 y, 72.5 kg")."""
    if patient is None:
        return ""
    parts = [f"{patient.age_years} y" if patient.age_years is not None else "",
             f"{patient.weight_kg:g} kg" if patient.weight_kg is not None else ""]  # fmt: skip
    return ", ".join(p for p in parts if p)


class MonitorWindow(QMainWindow):
    """The monitor screen: patient banner, alarms, trend, large numerics, protocols, CALL 911 and
    documentation, sized for 1366x768 to 4K with the text following the window's size."""

    #: The one heartbeat: ages, countdowns, silence checks, the clinical tick and the protocol
    #: timers (a timer falling due alarms on this beat). Data alarms never wait for it: they reach
    #: the screen on the data's own wake-up.
    TICK_MS = 1000

    def __init__(
        self, core: MonitorCore, simulation_scenario: str | None = None, *, defer_graphs: bool = False
    ) -> None:
        """``defer_graphs``: build the trend and the pleth strip (pyqtgraph, a quarter of the
        start-up time) only when ``build_graphs`` is called or they are first used, so
        ``bedside monitor`` paints its numbers first (issue 10, cold start)."""
        super().__init__()
        self.core = core
        p = palette()
        self.setWindowTitle("Bedside — SIMULATION" if simulation_scenario else "Bedside")
        root = QWidget()
        root.setObjectName("root")
        text_role(root, "body")
        root.setStyleSheet(
            f"QWidget {{ background: {p.background}; color: {p.text}; }}"
            f" QPushButton {{ background: {p.raised}; color: {p.text}; border: 1px solid {p.border};"
            " border-radius: 4px; padding: 4px 8px; }"
            f" QLineEdit, QComboBox, QListWidget, QPlainTextEdit {{ background: {p.surface};"
            f" border: 1px solid {p.border}; }}"
        )
        self.setCentralWidget(root)
        outer = QVBoxLayout(root)
        outer.setContentsMargins(6, 2, 6, 2)
        outer.setSpacing(3)
        self.banner: SimulationBanner | None = None
        if simulation_scenario is not None:
            self.banner = SimulationBanner(simulation_scenario)
            outer.addWidget(self.banner)
        self.patient_banner = PatientBanner()
        outer.addWidget(self.patient_banner)
        self.top_slot = QVBoxLayout()  # alarm bar goes here
        outer.addLayout(self.top_slot)
        body = QHBoxLayout()
        outer.addLayout(body, 1)
        self._trend: TrendView | None = None
        self._pleth: PlethStrip | None = None
        # Every other oximeter (and ECG) above the trend, each with its own values and age, keyed
        # to its line: the tiles show one source each and never flip between probes (issue 10).
        # Here, not under the tiles: the side column has no height to spare at 1366x768.
        self.sources = SourceList()
        self._trend_holder = QWidget()  # the trend goes here (see build_graphs)
        QVBoxLayout(self._trend_holder).setContentsMargins(0, 0, 0, 0)
        trend_column = QVBoxLayout()
        trend_column.setSpacing(2)
        trend_column.addWidget(self.sources)
        trend_column.addWidget(self._trend_holder, 1)
        body.addLayout(trend_column, 4)
        side = QWidget()
        column = QVBoxLayout(side)
        column.setContentsMargins(0, 0, 0, 0)
        body.addWidget(side, 4)
        self.protocol_column = QScrollArea()
        self.protocol_column.setWidgetResizable(True)
        self.protocol_column.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        protocol_holder = QWidget()
        self.protocol_slot = QVBoxLayout(protocol_holder)
        self.protocol_slot.setContentsMargins(0, 0, 0, 0)
        self.protocol_column.setWidget(protocol_holder)
        body.addWidget(self.protocol_column, 3)
        self.protocol_column.hide()
        self.spo2_tile = NumericTile("SpO2", "%", p.spo2)
        self.pulse_tile = NumericTile("Pulse", "/min", p.pulse)
        self.nibp_tile = NumericTile("NIBP", "mmHg", p.nibp)
        # SpO2 and pulse side by side, NIBP below; the NIBP prompts and the session's steps
        # scroll under them, so the numerics never leave the screen.
        continuous = QHBoxLayout()
        continuous.addWidget(self.spo2_tile)
        continuous.addWidget(self.pulse_tile)
        column.addLayout(continuous)
        self._pleth_holder = QWidget()  # the pleth under SpO2, where the device sends one
        QVBoxLayout(self._pleth_holder).setContentsMargins(0, 0, 0, 0)
        self._pleth_holder.setMinimumHeight(48)  # the strip's own height: nothing moves when it comes
        self._pleth_holder.setMaximumHeight(72)
        column.addWidget(self._pleth_holder)
        column.addWidget(self.nibp_tile)
        steps = QScrollArea()
        steps.setWidgetResizable(True)
        steps.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        steps_holder = QWidget()
        self.side_slot = QVBoxLayout(steps_holder)  # NIBP countdown and prompts, the session's steps
        self.side_slot.setContentsMargins(0, 0, 0, 0)
        self.side_slot.addStretch(1)
        steps.setWidget(steps_holder)
        column.addWidget(steps, 1)
        self.action_bar = ActionBar()
        outer.addWidget(self.action_bar)
        # The links' state sits on the help line: a status bar would cost a line of the screen.
        self.link_label = self.action_bar.links_label

        self.clinical: ClinicalSession | None = None
        self.desk: ProtocolDesk | None = None
        self.patient: PatientOnScreen | None = None
        self.session_started_at: datetime | None = None
        #: Medications recorded on the monitor (outside protocols), for the EMS hand-off.
        self.medications_given: list[HandoffMedication] = []
        self.ask_note: NoteAsker = ask_note_dialog(self)
        self.ask_medication: WindowMedicationAsker = self._medication_dialog
        self.ask_threshold: ThresholdAsker = self._threshold_dialog
        self._offers_forwarded = 0
        self._views_pending = False
        self._shown_band: BandView | None = None
        #: The source each continuous tile shows (its alarms frame the tile; others' mark their row).
        self._tile_source: dict[str, str] = {}
        #: The worst present or latched alarm per (tile, source).
        self._alarm_of: dict[tuple[str, str], AlarmPriority] = {}
        self._shown_readings = -1
        self._scale = 0.0
        self._sources_seen = -1
        self._tick_timer = QTimer(self)
        self._tick_timer.timeout.connect(self._tick)
        self._wakeup = _Wakeup(self)
        self._wakeup.arrived.connect(self._on_data_arrived, Qt.ConnectionType.QueuedConnection)
        core.set_waker(self._wakeup.arrived.emit)
        self.action_bar.call_911.connect(self.call_911)
        self.action_bar.note.connect(self.add_note)
        self.action_bar.medication.connect(self.record_medication)
        self.action_bar.threshold_change.connect(self.change_threshold)
        self.action_bar.mark_event.connect(self.mark_event)
        self.action_bar.measure_now.connect(self.measure_now)
        self.shortcuts = {
            "F1": self.acknowledge_top_alarm,
            "F2": self.pause_audio,
            "F3": self.measure_now,
            "F4": self.mark_event,
            "F5": self.add_note,
        }
        for key, action in self.shortcuts.items():
            QShortcut(QKeySequence(key), self, action, Qt.ShortcutContext.WindowShortcut)
        self.resize(*self._first_size())
        self._rescale()
        if not defer_graphs:
            self.build_graphs()

    # -- the graphs (pyqtgraph), built on first use ---------------------------------------------

    def build_graphs(self) -> None:
        """Build the trend and the pleth strip now, if not built yet."""
        if self._trend is not None and self._pleth is not None:
            return
        from bedside.views.pleth import PlethStrip
        from bedside.views.trend import TrendView

        self._trend = TrendView()
        layout = self._trend_holder.layout()
        assert layout is not None
        layout.addWidget(self._trend)
        self._pleth = PlethStrip()
        layout = self._pleth_holder.layout()
        assert layout is not None
        layout.addWidget(self._pleth)
        for holder in (self._trend_holder, self._pleth_holder):
            apply_text_scale(holder, self._scale)
        self._sources_seen = -1  # the lines of the sources already seen are added on the next render

    @property
    def trend(self) -> TrendView:
        """The session's trend (built on first use)."""
        if self._trend is None:
            self.build_graphs()
        assert self._trend is not None
        return self._trend

    @property
    def pleth(self) -> PlethStrip:
        """The pleth strip under SpO2 (built on first use)."""
        if self._pleth is None:
            self.build_graphs()
        assert self._pleth is not None
        return self._pleth

    # -- size ----------------------------------------------------------------------------------

    @staticmethod
    def _first_size() -> tuple[int, int]:
        """1600x1000, or the screen's free area when that is smaller (a 1366x768 laptop)."""
        screen = QGuiApplication.primaryScreen()
        if screen is None:
            return 1600, 1000
        free = screen.availableGeometry()
        return min(1600, free.width()), min(1000, free.height())

    def resizeEvent(self, event: QResizeEvent) -> None:
        """Text follows the window: sizes come from its height (its width when narrower than 16:9)."""
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        scale = text_scale(self.width(), self.height())
        if abs(scale - self._scale) > 0.01:
            self._scale = scale
            apply_text_scale(self, scale)

    # -- composition ---------------------------------------------------------------------------

    def attach_clinical(
        self,
        clinical: ClinicalSession,
        session_started_at: datetime,
        *,
        alarm_sound: AlarmSound | None = None,
    ) -> None:
        """Show the clinical engine: alarm bar on top, NIBP cycling and session steps at the side.

        The window makes its own ``AlarmSound`` and reports its failures to the bar and the alarm
        system (ALM-5); a caller that passes ``alarm_sound`` handles that sound's failures itself.
        """
        self.clinical = clinical
        self.session_started_at = session_started_at
        # The board greys values by the clinic's own freshness limits (MON-1).
        self.core.board.use_clinic_config(clinical.config)
        self.alarm_bar = AlarmBar(pause_s=clinical.config.audio_pause.default_s)
        self.top_slot.addWidget(self.alarm_bar)
        self.nibp_panel = NibpPanel()
        self.side_slot.insertWidget(0, self.nibp_panel)
        self.session_controls = SessionControls(clinical)
        self.side_slot.insertWidget(1, self.session_controls)
        self.session_controls.clinician.textChanged.connect(
            lambda _t: self.patient_banner.show_clinician(self.session_controls.who())
        )
        self.alarm_bar.acknowledge_requested.connect(
            lambda key: self._as_clinician(lambda who: clinical.acknowledge(key, who))
        )
        self.alarm_bar.pause_requested.connect(self.pause_audio)
        self.nibp_panel.measure_now_requested.connect(self.measure_now)
        self.nibp_panel.interval_requested.connect(
            lambda minutes: self._as_clinician(lambda who: clinical.set_interval(minutes, who))
        )
        self.core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
        # Before the listener: a failure found while the tones load is reported to the bar and
        # the alarm system without the sound being half-built.
        self.alarm_sound = alarm_sound or AlarmSound(on_failure=self._audio_failure)
        # gui_only: while the window is stalled the watchdog judges, and tells this from its thread.
        clinical.add_listener(gui_only(self._on_clinical_changed, self))
        apply_text_scale(self, self._scale)
        self._on_clinical_changed()
        self._show_banner()

    def attach_protocols(self, desk: ProtocolDesk) -> None:
        """The protocol panel beside the monitor; alarms' offers reach the desk as they are made."""
        self.desk = desk
        # The panel's protocol timers tick on the window's heartbeat: no view owns a timer.
        self.protocol_panel = ProtocolPanel(
            desk,
            clinician=self.session_controls.who,
            patient_name=lambda: self.patient.name if self.patient is not None else "",
        )
        self.protocol_slot.addWidget(self.protocol_panel)
        self.protocol_column.show()
        self.core.subscribe(on_observation=desk.on_observation)
        apply_text_scale(self.protocol_column, self._scale)
        self._forward_offers()

    # -- what the clinician does from the monitor screen ----------------------------------------

    def show_patient(self, patient: PatientOnScreen | None) -> None:
        """The session's patient in the banner (and on the EMS hand-off)."""
        self.patient = patient
        self.patient_banner.show_patient(patient)

    def call_911(self) -> None:
        """CALL 911: at any moment, needing no name (the signed-in clinician is recorded); the
        desk records it (the running protocol's call-911 end, or an incident of its own) and the
        EMS hand-off is shown. Pressing again gives the hand-off again with the newest vitals."""
        if self.desk is None:
            self.action_bar.say("CALL 911 now. (No protocol desk here: the call is not recorded.)")
            return
        patient = self.patient
        infusion = self._phase_at(SessionPhase.INFUSION)
        emergency = self.protocol_panel.call_911(
            patient=HandoffPatient(
                name=patient.name if patient else "",
                allergies=patient.allergies if patient else "",
                notes=_age_weight(patient),
                weight_kg=patient.weight_kg if patient else None,
            ),
            medications=tuple(self.medications_given),
            session_started_at=self.session_started_at,
            infusion_started_at=infusion,
        )
        self.protocol_column.show()
        if emergency is not None:
            again = " again" if emergency.repeat else ""
            self.action_bar.say(
                f"911 call recorded{again} at {emergency.at:%H:%M:%S} ({emergency.by}): EMS hand-off shown"
            )

    def add_note(self) -> None:
        """A note in the session record (DOC-1)."""
        clinical = self.clinical
        if clinical is None:
            return
        text = self.ask_note("Add a note to the session record", "")
        if text is not None:
            self._as_clinician(lambda who: clinical.add_note(who, text), done="Note recorded")

    def record_medication(self) -> None:
        """A medication given (drug, dose as written, route, time) in the session record (DOC-1)."""
        clinical = self.clinical
        if clinical is None:
            return
        entry = self.ask_medication(self.core.clock.now())
        if entry is None:
            return

        def record(who: str) -> None:
            clinical.record_medication(
                who,
                drug=entry.drug,
                dose=entry.dose,
                route=entry.route,
                given_at=entry.given_at,
                note=entry.note,
            )
            self.medications_given.append(
                HandoffMedication(entry.drug, entry.dose, entry.route, entry.given_at, who, "monitor screen")
            )

        self._as_clinician(record, done="Medication recorded")

    def change_threshold(self) -> None:
        """Change one threshold after the lock, with a reason (THR-5); before it, set the whole set."""
        clinical = self.clinical
        if clinical is None:
            return
        if not clinical.thresholds.locked:
            self.action_bar.say("Before the infusion the thresholds are set as a whole: use Set thresholds.")
            return
        entry = self.ask_threshold(clinical.thresholds.current)
        if entry is not None:
            self._as_clinician(
                lambda who: clinical.change_threshold(entry.field, entry.new, entry.reason, who),
                done=f"Threshold changed: {entry.field.words} {entry.new:g}",
            )

    def mark_event(self) -> None:
        """An event marker now, one tap (DOC-1)."""
        clinical = self.clinical
        if clinical is not None:
            self._as_clinician(clinical.mark_event, done="Event marked")

    def measure_now(self) -> None:
        """Start an NIBP cycle now."""
        clinical = self.clinical
        if clinical is not None:
            self._as_clinician(clinical.measure_now, done="NIBP cycle requested")

    def pause_audio(self) -> None:
        """Pause the alarm audio for the clinic's bounded time (ALM-3)."""
        clinical = self.clinical
        if clinical is not None:
            self._as_clinician(clinical.pause_audio)

    def acknowledge_top_alarm(self) -> None:
        """Acknowledge the most urgent alarm not yet acknowledged (the F1 key)."""
        clinical = self.clinical
        if clinical is None:
            return
        waiting = [a for a in clinical.active_alarms() if a.acknowledged_by is None]
        if waiting:
            self._as_clinician(lambda who: clinical.acknowledge(waiting[0].key, who))

    def _medication_dialog(self, now: datetime) -> MedicationEntry | None:
        dialog = MedicationDialog(now, parent=self)
        return dialog.entry() if dialog.exec() == MedicationDialog.DialogCode.Accepted else None

    def _threshold_dialog(self, current: ThresholdSet) -> ThresholdEntry | None:
        dialog = ThresholdChangeDialog(current, self)
        return dialog.entry() if dialog.exec() == ThresholdChangeDialog.DialogCode.Accepted else None

    def _phase_at(self, phase: SessionPhase) -> datetime | None:
        clinical = self.clinical
        if clinical is None:
            return None
        return next((t.at for t in clinical.session.transitions if t.to_phase is phase), None)

    def _show_banner(self) -> None:
        clinical = self.clinical
        if clinical is None:
            return
        self.patient_banner.show_clinician(self.session_controls.who())
        discharge = clinical.config.discharge
        ended = self._phase_at(SessionPhase.RECOVERY)
        now = self.core.clock.now()
        state = discharge.dissociation_state((now - ended).total_seconds() / 60) if ended else "before"
        self.patient_banner.show_clocks(
            self._phase_at(SessionPhase.INFUSION), ended, now, state, discharge.dissociation_window_min
        )

    def _forward_offers(self) -> None:
        if self.clinical is None or self.desk is None:
            return
        offered = self.clinical.offered_protocols
        for offer in offered[self._offers_forwarded :]:
            self.desk.offer(offer.protocol_id, offer.reason, alarm=offer.alarm)
        self._offers_forwarded = len(offered)

    def _as_clinician(self, action: Callable[[str], object], done: str = "") -> None:
        who = self.session_controls.who()
        if not who:
            words = "Enter your name first: actions are recorded by person."
            self.session_controls.message.setText(words)
            self.action_bar.say(words)
            return
        try:
            with self.core.engine_lock:  # never beside a watchdog pass (ALM-5)
                action(who)
        except Exception as exc:  # the engine's refusal is shown, never a traceback
            self.session_controls.message.setText(str(exc))
            self.action_bar.say(str(exc))
            return
        if done:
            self.action_bar.say(f"{done} at {self.core.clock.now():%H:%M:%S} ({who})")

    def add_session_menu(self, screens: Sequence[str], open_screen: Callable[[str], object]) -> QMenu:
        """The one entry point to the session screens (issue 10): "Session ▸ Patient, Devices, ...".

        A button in the action bar's entry slot opening a menu, so it costs no row of the screen;
        ``open_screen(name)`` shows a screen.
        """
        p = palette()
        button = QToolButton()
        button.setText("Session ▸")
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        text_role(button, "button")
        menu = QMenu(button)
        menu.setStyleSheet(
            f"QMenu {{ background: {p.surface}; color: {p.text}; }}"
            f"QMenu::item:selected {{ background: {p.raised}; }}"
        )
        for name in screens:
            action = menu.addAction(name)
            action.triggered.connect(lambda _=False, n=name: open_screen(n))
        button.setMenu(menu)
        self.action_bar.entry_slot.addWidget(button)
        self.session_button = button
        return menu

    def start_timers(self) -> None:
        """Start the heartbeat (data needs no timer: it wakes the window itself)."""
        self._tick_timer.start(self.TICK_MS)

    def stop_timers(self) -> None:
        """Stop the heartbeat and stop being woken by the links."""
        self._tick_timer.stop()
        self.core.set_waker(None)

    def closeEvent(self, event: QCloseEvent) -> None:
        """A closed window is no longer woken by reader threads."""
        self.core.set_waker(None)
        super().closeEvent(event)

    # -- event-driven rendering -------------------------------------------------------------------

    def _on_data_arrived(self) -> None:
        """Apply what the links delivered; the engine judges it and its listeners render now."""
        report = self.core.pump()
        if report.waveforms:
            self.pleth.show_pleth(self.core.board.pleth, self.core.clock.monotonic())
        if report.observations:
            self._show_vitals(kinds={obs.kind for obs in report.newest})
        if report.events:
            self._show_links()

    def _on_clinical_changed(self) -> None:
        """The clinical session changed: the tone and the alarm bar follow in this same turn."""
        self._show_alarms()
        if not self._views_pending:
            # The rest of the clinical views are coalesced: many observations in one burst
            # re-render them once, right after this turn of the event loop.
            self._views_pending = True
            QTimer.singleShot(0, self._show_clinical_views)

    def _show_alarms(self) -> None:
        clinical = self.clinical
        if clinical is None:
            return
        # The tone first: the sound must not wait for the display (ALM-5).
        self.alarm_sound.update(clinical.audio_state())
        active = clinical.active_alarms()
        self.alarm_bar.show_alarms(active, clinical.audio_paused, clinical.pause_remaining_s())
        worst: dict[tuple[str, str], AlarmPriority] = {}
        for alarm in active:
            tile = _TILE_OF.get(alarm.condition)
            if tile is not None and (alarm.present or alarm.latched):
                key = (tile, alarm.source)
                worst[key] = max(worst.get(key, alarm.priority), alarm.priority)
        if worst == self._alarm_of:
            return  # the same alarms again: nothing to re-frame or re-mark (issue 10, CPU)
        self._alarm_of = worst
        self._frame_tiles()
        if self._row_sources():
            self._show_vitals()  # the rows of other sources carry their own alarms' marks

    def _row_sources(self) -> set[str]:
        """Sources listed in a row under the tiles (not on a tile)."""
        board = self.core.board
        shown = set(self._tile_source.values())
        return {s for k in _CONTINUOUS_KINDS for s in board.sources(k)} - shown

    def _frame_tiles(self) -> None:
        """Frame a tile in the colour of its own source's alarms; an alarm whose source has no
        row of its own (NIBP, a pulse deficit between two sources) frames the tile too."""
        listed = self._row_sources()
        for name, tile in (("spo2", self.spo2_tile), ("pulse", self.pulse_tile), ("nibp", self.nibp_tile)):
            shown = self._tile_source.get(name)
            priorities = [
                priority
                for (tile_name, source), priority in self._alarm_of.items()
                if tile_name == name and (source == shown or source not in listed)
            ]
            framed = max(priorities) if priorities else None
            if tile.alarm is not framed:  # re-framed only when its alarm changes
                tile.show_alarm(framed)

    def _show_clinical_views(self) -> None:
        self._views_pending = False
        clinical = self.clinical
        if clinical is None:
            return
        self.nibp_panel.show_session(clinical)
        self.session_controls.refresh()
        band = clinical.band_for_display()
        if band != self._shown_band:
            self._shown_band = band
            self.trend.show_band(band)
        readings = clinical.readings()
        started = self.session_started_at
        if len(readings) != self._shown_readings and started is not None:
            self._shown_readings = len(readings)
            self.trend.show_classified(readings, started)
            self._show_nibp_tile()
        self._forward_offers()

    def _audio_failure(self, failed: bool, reason: str) -> None:
        """The alarm sound cannot play (or plays again): the bar says so and the alarm system knows."""
        self.alarm_bar.show_audio_failed(failed, reason)
        if self.clinical is not None:
            try:
                self.clinical.audio_failed(failed, reason)
            except Exception:  # the indicator above is shown whatever the engine does with it
                log.exception("telling the alarm system that the sound failed")

    def _show_vitals(self, kinds: set[VitalKind] | None = None) -> None:
        """The tiles (one source each, never flipping between probes) and a row for every other
        source with its own values and age (issue 10: three oximeters shared one tile)."""
        now = self.core.clock.monotonic()
        board = self.core.board
        # Before the graphs are built (the first number comes first, cold start) there are no
        # lines to name yet: build_graphs asks for them again.
        if self._trend is not None and board.sources_version != self._sources_seen:
            self._sources_seen = board.sources_version
            self._trend.add_new_lines(board)  # the keys below name the trend's lines
        continuous = kinds is None or bool(kinds & set(_CONTINUOUS_KINDS))
        if continuous:
            spo2_source = board.primary_source(VitalKind.SPO2)
            pulse_kind = VitalKind.PULSE_RATE if board.sources(VitalKind.PULSE_RATE) else VitalKind.HEART_RATE
            pulse_source = board.primary_source(pulse_kind, prefer=spo2_source)
            tiles = {"spo2": spo2_source, "pulse": pulse_source}
            several = len({s for k in _CONTINUOUS_KINDS for s in board.sources(k)}) > 1
            self.spo2_tile.show_numeric(
                board.numeric(VitalKind.SPO2, now, spo2_source),
                self._key(VitalKind.SPO2, spo2_source) if several else "",
            )
            self.pulse_tile.show_numeric(
                board.numeric(pulse_kind, now, pulse_source),
                self._key(pulse_kind, pulse_source) if several else "",
            )
            if tiles != self._tile_source:
                self._tile_source = tiles
                self._frame_tiles()
            self.sources.show_rows(
                self._source_rows(now, {(VitalKind.SPO2, spo2_source), (pulse_kind, pulse_source)})
            )
        if kinds is None or any(k.is_nibp for k in kinds):
            self._show_nibp_tile()

    def _key(self, kind: VitalKind, source: str) -> str:
        """The source's line and marker as on the trend, in its colour (rich text), or ""."""
        line = self._trend.line_of(kind, source) if self._trend is not None else None
        if line is None:
            return ""
        return f"<span style='color:{line.colour(palette())}'>{line.look.key}</span>"

    def _source_rows(self, now: float, on_tiles: set[tuple[VitalKind, str]]) -> list[SourceRowView]:
        board = self.core.board
        p = palette()
        sources = dict.fromkeys(s for k in _CONTINUOUS_KINDS for s in board.sources(k))
        rows = []
        for source in sources:
            readings: list[SourceReading] = []
            for kind, word, colour in (
                (VitalKind.SPO2, "SpO2", p.spo2),
                (VitalKind.PULSE_RATE, "PR", p.pulse),
                (VitalKind.HEART_RATE, "HR", p.pulse),
            ):
                if (kind, source) in on_tiles or source not in board.sources(kind):
                    continue
                numeric: Numeric = board.numeric(kind, now, source)
                readings.append(SourceReading(word, numeric, colour))
            if not readings:
                continue
            kind = VitalKind.SPO2 if source in board.sources(VitalKind.SPO2) else VitalKind.PULSE_RATE
            trend = self._trend
            line = (
                None
                if trend is None
                else trend.line_of(kind, source) or trend.line_of(VitalKind.HEART_RATE, source)
            )
            key, key_colour = ("", p.muted) if line is None else (line.look.key, line.colour(p))
            alarms = [pr for (_tile, src), pr in self._alarm_of.items() if src == source]
            rows.append(
                SourceRowView(source, key, key_colour, tuple(readings), max(alarms) if alarms else None)
            )
        return rows

    def _show_nibp_tile(self) -> None:
        shown = self.core.board.nibp(self.core.clock.monotonic())
        last = self.clinical.last_reading() if self.clinical is not None else None
        # The class belongs to the reading on the tile only (a newer failed cycle has none).
        if (
            last is not None
            and shown.systolic is not None
            and (last.reading.systolic, last.reading.diastolic) == (shown.systolic, shown.diastolic)
        ):
            self.nibp_tile.show_nibp(shown, last.reading_class, last.label)
        else:
            self.nibp_tile.show_nibp(shown)

    def _show_links(self) -> None:
        parts = []
        p = palette()
        for h in self.core.health.values():
            colour = link_colour(h.state.value)
            clock = ""
            if h.clock_offset_s is not None:
                # ALM-4: the device clock offset learned from the first minutes, shown beside the link.
                offset_colour = p.warning if h.clock_implausible else p.muted
                words = clock_offset_words(h.clock_offset_s)
                clock = f" <span style='color:{offset_colour}'>clock {words}</span>"
            # Frame counts only when frames are being rejected (the part someone must act on):
            # with four devices at 1366x768 the counts of every link took a second line from
            # the numerics.
            frames = (
                f" <span style='color:{p.muted}'>frames {h.frames_ok} ok"
                f" / {h.frames_rejected} rejected</span>"
                if h.frames_rejected
                else ""
            )
            parts.append(
                f"<span style='color:{colour}'>● {h.source}: {h.state.value}</span>" + frames + clock
            )
        self.link_label.setText("&nbsp;&nbsp;&nbsp;".join(parts))

    def _tick(self) -> None:
        """The heartbeat: time-based checks, then what ages with time (ages, countdowns, trend)."""
        with self.core.engine_lock:  # never beside a watchdog pass (ALM-5)
            self.core.tick()
            if self.clinical is not None:
                self.clinical.tick()  # its change notification renders the pause countdown and the panel
            if self.desk is not None:
                # The step's countdown is live; a timer that falls due is an alarm until acknowledged.
                for prompt in self.protocol_panel.tick():
                    if self.clinical is not None:
                        self.clinical.protocol_timer_due(
                            f"{prompt.run_id}/{prompt.node_id}", prompt.text, prompt.due_at
                        )
        self._show_banner()
        self._show_vitals()
        self._show_links()
        board = self.core.board
        self.pleth.show_pleth(board.pleth, self.core.clock.monotonic())  # greys a stopped wave
        self.trend.refresh(board, board.session_seconds(self.core.clock.monotonic()))

    def refresh(self) -> None:
        """Render everything now from the core's and the session's state (screenshots, tests)."""
        self._show_vitals()
        self._show_links()
        board = self.core.board
        self.pleth.show_pleth(board.pleth, self.core.clock.monotonic())
        self.trend.refresh(board, board.session_seconds(self.core.clock.monotonic()))
        if self.clinical is not None:
            self._show_alarms()
            self._show_clinical_views()
