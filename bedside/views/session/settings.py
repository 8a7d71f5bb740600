"""Settings: clinic defaults file, devices, data folder, database, export folder and the screen
lock, stored per user with platformdirs (``bedside.workflow.settings``). The alarm delays in force
are shown from the clinic's approved configuration: they change there, never in a station setting."""

from __future__ import annotations

import logging

from PySide6.QtWidgets import QDoubleSpinBox, QFormLayout, QLineEdit, QWidget

from bedside.views.session.context import Screen, SessionServices, button, wrapped

log = logging.getLogger(__name__)


class SettingsScreen(Screen):
    """This station's settings, and the clinic's alarm delays in force."""

    title = "Settings"
    audience = "the clinic's IT person"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.where = wrapped(name="settingsFile")
        self.body.addWidget(self.where)
        form = QFormLayout()
        self.clinic_config = QLineEdit()
        self.clinic_config.setObjectName("clinicConfig")
        self.clinic_config.setPlaceholderText("(the packaged clinic defaults)")
        self.devices = QLineEdit()
        self.devices.setObjectName("settingsDevices")
        self.devices.setPlaceholderText("PROTOCOL=URL, comma-separated (the Devices screen fills this)")
        self.database = QLineEdit()
        self.database.setObjectName("databaseUrl")
        self.database.setPlaceholderText("(SQLite in the data folder) or postgresql://host/bedside")
        self.data_folder = QLineEdit()
        self.data_folder.setObjectName("dataFolder")
        self.export_folder = QLineEdit()
        self.export_folder.setObjectName("exportFolder")
        self.lock_after = QDoubleSpinBox()
        self.lock_after.setObjectName("lockAfter")
        self.lock_after.setRange(0.5, 60)
        self.lock_after.setSuffix(" min")
        form.addRow("Clinic defaults file", self.clinic_config)
        form.addRow("Devices", self.devices)
        form.addRow("Database", self.database)
        form.addRow("Data folder", self.data_folder)
        form.addRow("Export folder", self.export_folder)
        form.addRow("Lock actions after", self.lock_after)
        self.body.addLayout(form)
        self.body.addWidget(button("Save settings", self._save, name="saveSettings"))
        self.delays = wrapped(name="alarmDelays")
        self.delays.setStyleSheet("font-family: monospace;")
        self.body.addWidget(self.delays)

    def _save(self) -> None:
        devices = tuple(d.strip() for d in self.devices.text().split(",") if d.strip())

        def save(_by: object) -> None:
            store = self.services.settings
            changed = store.load().with_changes(
                clinic_config=self.clinic_config.text().strip(),
                devices=devices,
                database_url=self.database.text().strip(),
                data_folder=self.data_folder.text().strip(),
                export_folder=self.export_folder.text().strip(),
                lock_after_min=self.lock_after.value(),
            )
            store.save(changed)
            self.services.station.lock_after_s = changed.lock_after_s

        self.act("Save settings", save)

    def refresh(self) -> None:
        """The stored settings and the clinic's alarm delays."""
        store = self.services.settings
        try:
            current = store.load()
        except Exception as exc:  # a damaged settings file: in words, with the fix
            self.where.setText(str(exc))
            return
        self.where.setText(f"Stored in {store.path} (database and folder changes apply at the next start)")
        self.clinic_config.setText(current.clinic_config)
        self.devices.setText(", ".join(current.devices))
        self.database.setText(current.database_url)
        self.data_folder.setText(current.data_folder or str(current.data_path))
        self.export_folder.setText(current.export_folder or str(current.export_path))
        self.lock_after.setValue(current.lock_after_min)
        delays = self.services.config.alarm_delays_s
        self.delays.setText(
            "Alarm delays in force (clinic defaults, approved by the medical director):\n"
            + "\n".join(f"  {c.value:<22} {d:g} s" for c, d in sorted(delays.items()))
        )
