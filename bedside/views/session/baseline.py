"""Baseline: the pre-infusion readings, the values computed from them, and the confirmation (THR-2).

The computation is the engine's (``alarms.BaselineCalculator``); an override needs a reason.
"""

from __future__ import annotations

import logging

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QHBoxLayout,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QWidget,
)

from alarms import BaselineField, BaselineNotReadyError
from bedside.views.combo import WrapComboBox
from bedside.views.session._clinical import NO_SESSION, need
from bedside.views.session.context import Screen, SessionServices, button, fit_columns, wrapped

log = logging.getLogger(__name__)


def _value(v: float | None, unit: str) -> str:
    return "—" if v is None else f"{v:g} {unit}"


class BaselineScreen(Screen):
    """The baseline's readings and computed values; begin, override with a reason, confirm."""

    title = "Baseline"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.phase = wrapped(name="baselinePhase")
        self.phase.setStyleSheet("font-weight: bold;")
        self.body.addWidget(self.phase)
        self.computed = wrapped(name="baselineComputed")
        self.body.addWidget(self.computed)
        self.readings = QTableWidget(0, 4)
        self.readings.setObjectName("baselineReadings")
        self.readings.setHorizontalHeaderLabels(["value", "measured", "used", "why not"])
        fit_columns(self.readings)
        self.readings.setMinimumHeight(250)
        self.body.addWidget(self.readings)
        row = QHBoxLayout()
        self.override_field = WrapComboBox()
        self.override_field.setObjectName("overrideField")
        self.override_field.addItem("(no override)", "")
        for f in BaselineField:
            self.override_field.addItem(f.value, f.value)
        self.override_value = QDoubleSpinBox()
        self.override_value.setObjectName("overrideValue")
        self.override_value.setRange(0, 300)
        self.override_reason = QLineEdit()
        self.override_reason.setObjectName("overrideReason")
        self.override_reason.setPlaceholderText("reason for the override (required)")
        row.addWidget(self.override_field)
        row.addWidget(self.override_value)
        row.addWidget(self.override_reason, 1)
        self.body.addLayout(row)
        buttons = QHBoxLayout()
        buttons.addWidget(button("Begin baseline", self._begin, name="beginBaseline"))
        buttons.addWidget(button("Confirm baseline", self._confirm, name="confirmBaseline"))
        self.body.addLayout(buttons)
        if services.clinical is not None:
            services.clinical.add_listener(self._changed)

    def _changed(self) -> None:
        if self.isVisible():
            self.refresh()

    def _begin(self) -> None:
        self.act("Begin baseline", lambda by: need(self.services.clinical).begin_baseline(by.who))

    def _confirm(self) -> None:
        field = str(self.override_field.currentData() or "")
        overrides = (
            {BaselineField(field): (self.override_value.value(), self.override_reason.text())}
            if field
            else None
        )
        self.act(
            "Confirm baseline", lambda by: need(self.services.clinical).confirm_baseline(by.who, overrides)
        )

    def refresh(self) -> None:
        """The phase, the readings offered and the baseline computed from them (or what is missing)."""
        clinical = self.services.clinical
        if clinical is None:
            self.phase.setText(NO_SESSION)
            return
        confirmed = clinical.session.baseline
        self.phase.setText(f"Phase: {clinical.phase.value}")
        try:
            shown = confirmed if confirmed is not None else clinical.baseline_calculator.propose()
        except BaselineNotReadyError as exc:
            self.computed.setText(f"Not ready: {exc}")
            shown = None
        if shown is not None:
            state = (
                f"Confirmed by {shown.confirmed_by} at {shown.confirmed_at:%H:%M}"
                if shown.confirmed_by and shown.confirmed_at
                else "Proposed (not confirmed)"
            )
            bp = f"BP {shown.systolic:g}/{shown.diastolic:g} mmHg, mean {_value(shown.mean, 'mmHg')}"
            rest = f"SpO2 {_value(shown.spo2, '%')}, pulse {_value(shown.pulse, '/min')}"
            self.computed.setText(f"{state}: {bp}, {rest}")
            candidates = shown.candidates
        else:
            candidates = ()
        self.readings.setRowCount(len(candidates))
        for i, c in enumerate(candidates):
            # SpO2 and pulse come as one median per source and side of the window (issue 11).
            summary = c.first_at is not None
            cells = (
                f"{c.field.value} {c.value:g}"
                + (f" (median of {c.samples} from {c.source})" if summary else ""),
                (f"{c.first_at.astimezone():%H:%M:%S}–" if c.first_at is not None else "")
                + f"{c.measured_at.astimezone():%H:%M:%S}",
                "yes" if c.used else "no",
                c.note,
            )
            for j, text in enumerate(cells):
                self.readings.setItem(i, j, QTableWidgetItem(text))
