"""Drills from the app (DRL-1, DRL-2): scenario, participants, speed; played through the simulators
and the real driver path; SIMULATION on every screen; the team's timings and the drill report."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from bedside.views.combo import WrapComboBox
from bedside.views.session.context import Screen, SessionServices, button, fit_columns, wrapped

log = logging.getLogger(__name__)

NO_DRILL = (
    "Drills are kept in the drill database only, never with patient records: start the drill here, "
    "then log the team and print the report from the drill monitor's own Session > Drill."
)


class DrillScreen(Screen):
    """Start a drill, log who took part, and read the team's timings and the report."""

    title = "Drill"
    audience = "the medical director running the team's drills"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.state = wrapped(name="drillState")
        self.body.addWidget(self.state)
        form = QFormLayout()
        self.scenario = WrapComboBox()
        self.scenario.setObjectName("drillScenario")
        for name in services.scenarios:
            self.scenario.addItem(name, name)
        self.participants = QLineEdit()
        self.participants.setObjectName("drillParticipants")
        self.participants.setPlaceholderText("names, comma-separated")
        self.speed = QDoubleSpinBox()
        self.speed.setObjectName("drillSpeed")
        self.speed.setRange(1, 60)
        self.speed.setValue(1)
        self.speed.setSuffix(" x")
        form.addRow("Scenario", self.scenario)
        form.addRow("Participants", self.participants)
        form.addRow("Speed", self.speed)
        self.body.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(button("Start drill", self._start, name="startDrill"))
        row.addWidget(button("Log drill", self._log, name="logDrill"))
        row.addWidget(button("Drill report (PDF)", self._report, name="drillReport"))
        self.body.addLayout(row)
        self.timings = QTableWidget(0, 5)
        self.timings.setObjectName("drillTimings")
        self.timings.setHorizontalHeaderLabels(["alarm", "raised", "acknowledged", "protocol", "first step"])
        fit_columns(self.timings)
        self.timings.setMinimumHeight(260)
        self.body.addWidget(self.timings)
        self.report_path: Path | None = None

    def _start(self) -> None:
        launch = self.services.launch_drill
        if launch is None:
            self.say("this station cannot start a drill monitor", problem=True)
            return
        self.act(
            "Start drill",
            lambda _by: self.state.setText(launch(str(self.scenario.currentData()), self.speed.value())),
        )

    def _log(self) -> None:
        drill = self.services.drill
        if drill is None:
            self.say(NO_DRILL, problem=True)
            return
        names = [n.strip() for n in self.participants.text().split(",") if n.strip()]
        self.act(
            "Log drill",
            lambda by: drill.log(
                by.who,
                drill_date=self.services.clock.now().date(),
                scenario=str(self.scenario.currentData() or ""),
                participants=names,
            ),
        )

    def _report(self) -> None:
        drill = self.services.drill
        if drill is None:
            self.say(NO_DRILL, problem=True)
            return
        try:
            folder = self.services.settings.load().export_path
        except Exception:  # a damaged settings file: the data folder's default
            folder = Path.cwd()
        out = folder / f"drill-{self.services.session_id}.pdf"

        def report(by: object) -> Path:
            path = drill.report(getattr(by, "who", ""), out)
            self.report_path = path
            return path

        if self.act("Drill report", report) is not None:
            self.say(f"drill report written to {out}")

    def refresh(self) -> None:
        """The drill in progress and the team's timings so far."""
        drill = self.services.drill
        if drill is None:
            if not self.state.text():
                self.state.setText(NO_DRILL)
            return
        if not self.state.text():
            self.state.setText(
                f"Drill session {self.services.session_id}: scenario {self.services.simulation}"
            )
        try:
            rows = drill.timings()
        except Exception as exc:  # nothing recorded yet, database unreachable
            self.say(f"Timings: {exc}", problem=True)
            rows = []
        self.timings.setRowCount(len(rows))
        for i, t in enumerate(rows):
            for j, text in enumerate((t.alarm, t.raised, t.acknowledged, t.protocol_started, t.first_step)):
                self.timings.setItem(i, j, QTableWidgetItem(text))
