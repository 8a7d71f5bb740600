"""The patient's own thresholds, entered before the IV starts (THR-1, THR-4). A form, not a rule:
the values are checked by ThresholdSet and confirmed by the named clinician."""

from __future__ import annotations

from PySide6.QtWidgets import QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QWidget

from alarms import ThresholdSet

_FIELDS = (
    ("systolic_ceiling", "Systolic ceiling (mmHg)", 60.0, 260.0),
    ("diastolic_ceiling", "Diastolic ceiling (mmHg)", 40.0, 180.0),
    ("hypotension_floor", "Systolic floor (mmHg; changed, never removed)", 40.0, 140.0),
    ("mean_floor", "Mean pressure floor (mmHg)", 30.0, 120.0),
    ("systolic_fall_pct", "Systolic fall from baseline that alarms (%)", 5.0, 60.0),
    ("mean_fall_pct", "Mean pressure fall from baseline that alarms (%)", 5.0, 60.0),
    ("spo2_floor", "SpO2 floor (%)", 70.0, 100.0),
    ("pulse_floor", "Pulse floor (/min)", 20.0, 120.0),
    ("pulse_ceiling", "Pulse ceiling (/min)", 60.0, 220.0),
)


class ThresholdDialog(QDialog):
    """Edit a ThresholdSet, starting from the clinic's defaults (or the patient's current set)."""

    def __init__(self, start: ThresholdSet, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Patient thresholds — set before the IV starts")
        form = QFormLayout(self)
        self.boxes: dict[str, QDoubleSpinBox] = {}
        for name, label, low, high in _FIELDS:
            box = QDoubleSpinBox()
            box.setRange(low, high)
            box.setDecimals(0)
            value = getattr(start, name)
            box.setValue(float(value))
            form.addRow(label, box)
            self.boxes[name] = box
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def threshold_set(self) -> ThresholdSet:
        """The entered values; raises ThresholdError when they contradict each other."""
        v = {name: box.value() for name, box in self.boxes.items()}
        return ThresholdSet(
            systolic_ceiling=v["systolic_ceiling"],
            diastolic_ceiling=v["diastolic_ceiling"],
            spo2_floor=v["spo2_floor"],
            pulse_floor=v["pulse_floor"],
            pulse_ceiling=v["pulse_ceiling"],
            hypotension_floor=v["hypotension_floor"],
            mean_floor=v["mean_floor"],
            systolic_fall_pct=v["systolic_fall_pct"],
            mean_fall_pct=v["mean_fall_pct"],
        )
