"""Thresholds: clinic defaults, the patient's own (or a follow-up's suggestion), confirm and lock;
after the lock one value changes with a reason (THR-1, THR-4, THR-5)."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QHBoxLayout, QLineEdit, QWidget

from alarms import ThresholdField, ThresholdSet
from bedside.views.combo import WrapComboBox
from bedside.views.session._clinical import NO_SESSION, need
from bedside.views.session.context import Screen, SessionServices, button, wrapped

log = logging.getLogger(__name__)

#: The entry range of each box; the engine's ThresholdSet judges the values themselves.
_RANGES = {
    ThresholdField.SYSTOLIC_CEILING: (60.0, 260.0),
    ThresholdField.DIASTOLIC_CEILING: (40.0, 180.0),
    ThresholdField.HYPOTENSION_FLOOR: (40.0, 140.0),
    ThresholdField.MEAN_FLOOR: (30.0, 120.0),
    ThresholdField.SYSTOLIC_FALL_PCT: (5.0, 60.0),
    ThresholdField.MEAN_FALL_PCT: (5.0, 60.0),
    ThresholdField.SPO2_FLOOR: (70.0, 100.0),
    ThresholdField.PULSE_FLOOR: (20.0, 120.0),
    ThresholdField.PULSE_CEILING: (60.0, 220.0),
}


class ThresholdsScreen(Screen):
    """Enter, confirm and lock the patient's thresholds; change one after the lock with a reason."""

    title = "Thresholds"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.state = wrapped(name="thresholdState")
        self.state.setStyleSheet("font-weight: bold;")
        self.body.addWidget(self.state)
        self.suggestion = wrapped(name="thresholdSuggestion")
        self.suggestion.setStyleSheet("color: #ffd400;")
        self.body.addWidget(self.suggestion)
        form = QFormLayout()
        self.boxes: dict[ThresholdField, QDoubleSpinBox] = {}
        for field, (low, high) in _RANGES.items():
            box = QDoubleSpinBox()
            box.setObjectName(f"threshold:{field.value}")
            box.setRange(low, high)
            box.setDecimals(0)
            form.addRow(field.words, box)
            self.boxes[field] = box
        self.body.addLayout(form)
        row = QHBoxLayout()
        row.addWidget(button("Clinic defaults", self.use_defaults, name="useDefaults"))
        row.addWidget(button("Use the suggestion", self.use_suggestion, name="useSuggestion"))
        row.addWidget(button("Confirm and lock", self._confirm, name="confirmThresholds"))
        self.body.addLayout(row)
        change = QHBoxLayout()
        self.change_field = WrapComboBox()
        self.change_field.setObjectName("changeField")
        for field in _RANGES:
            self.change_field.addItem(field.words, field.value)
        self.change_value = QDoubleSpinBox()
        self.change_value.setObjectName("changeValue")
        self.change_value.setRange(0, 300)
        self.change_field.currentIndexChanged.connect(lambda _i: self._show_current_value())
        self.change_reason = QLineEdit()
        self.change_reason.setObjectName("changeReason")
        self.change_reason.setPlaceholderText("reason (required after the lock)")
        change.addWidget(self.change_field)
        change.addWidget(self.change_value)
        change.addWidget(self.change_reason, 1)
        change.addWidget(button("Change with reason", self._change, name="changeThreshold"))
        self.body.addLayout(change)
        self.history = wrapped(name="thresholdChanges")
        self.body.addWidget(self.history)
        self.use_defaults()

    def show_set(self, thresholds: ThresholdSet) -> None:
        """Put a threshold set into the boxes."""
        for field, box in self.boxes.items():
            box.setValue(float(getattr(thresholds, field.value)))

    def use_defaults(self) -> None:
        """The clinic's defaults into the boxes."""
        self.show_set(ThresholdSet.clinic_default(self.services.config))

    def use_suggestion(self) -> None:
        """The follow-up's suggestion into the boxes (still to be confirmed)."""
        if self.services.suggestion is None:
            self.say(
                "no suggestion: the patient's last follow-up asked for no threshold change", problem=True
            )
            return
        self.show_set(self.services.suggestion.suggested)
        self.say("the suggestion is in the boxes: check it, then confirm and lock")

    def entered(self) -> ThresholdSet:
        """The boxes as a threshold set (ThresholdError when they contradict each other)."""
        v = {field: box.value() for field, box in self.boxes.items()}
        return ThresholdSet(
            systolic_ceiling=v[ThresholdField.SYSTOLIC_CEILING],
            diastolic_ceiling=v[ThresholdField.DIASTOLIC_CEILING],
            spo2_floor=v[ThresholdField.SPO2_FLOOR],
            pulse_floor=v[ThresholdField.PULSE_FLOOR],
            pulse_ceiling=v[ThresholdField.PULSE_CEILING],
            hypotension_floor=v[ThresholdField.HYPOTENSION_FLOOR],
            mean_floor=v[ThresholdField.MEAN_FLOOR],
            systolic_fall_pct=v[ThresholdField.SYSTOLIC_FALL_PCT],
            mean_fall_pct=v[ThresholdField.MEAN_FALL_PCT],
        )

    def _confirm(self) -> None:
        self.act(
            "Confirm thresholds",
            lambda by: need(self.services.clinical).confirm_thresholds(by.who, self.entered()),
        )

    def _show_current_value(self) -> None:
        """The chosen value as it stands, as the starting point of its change."""
        clinical = self.services.clinical
        if clinical is not None and clinical.thresholds.has_confirmed_set:
            field = ThresholdField(str(self.change_field.currentData()))
            self.change_value.setValue(float(getattr(clinical.thresholds.current, field.value)))

    def _change(self) -> None:
        field = ThresholdField(str(self.change_field.currentData()))
        self.act(
            "Change threshold",
            lambda by: need(self.services.clinical).change_threshold(
                field, self.change_value.value(), self.change_reason.text(), by.who
            ),
        )

    def refresh(self) -> None:
        """Whether a set is confirmed and locked, the suggestion, and every change after the lock."""
        s = self.services
        self.suggestion.setText(
            f"Suggested by the last follow-up: {s.suggestion.reason}" if s.suggestion is not None else ""
        )
        if s.clinical is None:
            self.state.setText(NO_SESSION)
            return
        book = s.clinical.thresholds
        if not book.has_confirmed_set:
            self.state.setText(
                "Not confirmed: the infusion cannot start until a clinician confirms them (THR-1)."
            )
            return
        current = book.current
        lock = "locked for the infusion: change one value with a reason" if book.locked else "not locked yet"
        self.state.setText(f"Confirmed by {current.confirmed_by}; {lock}.")
        self.history.setText(
            "\n".join(
                f"{c.when.astimezone():%H:%M} {c.who}: {c.field.words} {c.old:g} → "
                f"{'removed' if c.new is None else f'{c.new:g}'} ({c.reason})"
                for c in book.changes
            )
        )
        if not self.history.text():
            self.show_set(current)
        self._show_current_value()
