"""Export the session's record (CSV, JSON, PDF, FHIR) with a progress bar; the export service runs
on a worker thread and reports its progress, so the monitor never waits for a file to be written."""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QProgressBar, QWidget

from bedside.views.combo import WrapComboBox
from bedside.views.session.context import Screen, SessionServices, button, wrapped
from bedside.workflow.export import ExportFormat, ExportProgress

log = logging.getLogger(__name__)


class _ExportJob(QObject):
    """Runs one export on a worker thread; every signal is delivered on the GUI thread."""

    progressed = Signal(str, int, int)
    finished = Signal(str)
    failed = Signal(str)

    def __init__(self, services: SessionServices, fmt: ExportFormat, out: Path) -> None:
        super().__init__()
        self.services = services
        self.fmt = fmt
        self.out = out

    def run(self) -> None:
        """The export itself (worker thread)."""
        try:
            path = self.services.export(
                self.services.session_id,
                self.fmt,
                self.out,
                lambda p: self.progressed.emit(p.stage, p.done, p.total),
            )
        except Exception as exc:  # ExportError and the file system's: one sentence on screen
            log.error("export failed: %s", exc)
            self.failed.emit(str(exc))
        else:
            self.finished.emit(str(path))


class ExportScreen(Screen):
    """Choose a format and a file; the bar follows the export service's progress."""

    title = "Export"
    audience = "the medical director and the clinic's IT person (records, referrals)"

    def __init__(self, services: SessionServices, parent: QWidget | None = None) -> None:
        super().__init__(services, parent)
        self.what = wrapped(name="exportWhat")
        self.body.addWidget(self.what)
        row = QHBoxLayout()
        self.fmt = WrapComboBox()
        self.fmt.setObjectName("exportFormat")
        for f in ExportFormat:
            self.fmt.addItem(f.value.upper(), f.value)
        self.fmt.currentIndexChanged.connect(lambda _i: self._default_path())
        self.path = QLineEdit()
        self.path.setObjectName("exportPath")
        row.addWidget(self.fmt)
        row.addWidget(self.path, 1)
        self.body.addLayout(row)
        self.bar = QProgressBar()
        self.bar.setObjectName("exportProgress")
        self.bar.setRange(0, 100)
        self.bar.setValue(0)
        self.body.addWidget(self.bar)
        self.stage = wrapped(name="exportStage")
        self.body.addWidget(self.stage)
        self.start_button = button("Export", self.start, name="export")
        self.body.addWidget(self.start_button)
        self._thread: QThread | None = None
        self._job: _ExportJob | None = None
        self.last_path: Path | None = None
        self._default_path()

    def _default_path(self) -> None:
        fmt = ExportFormat(str(self.fmt.currentData()))
        try:
            folder = self.services.settings.load().export_path
        except Exception:  # a damaged settings file: export next to the data folder's default
            log.warning("settings unreadable; exporting to the current folder")
            folder = Path.cwd()
        self.path.setText(str(folder / f"session-{self.services.session_id}{fmt.suffix}"))

    @property
    def running(self) -> bool:
        """True while an export runs."""
        return self._thread is not None

    def start(self) -> None:
        """Start the export on a worker thread (one at a time)."""
        if self._thread is not None:
            return
        try:
            self.services.signer()
        except Exception as exc:  # not signed in / locked: the record names who exported
            self.say(f"Export: {exc}", problem=True)
            return
        out = Path(self.path.text().strip()).expanduser()
        out.parent.mkdir(parents=True, exist_ok=True)
        self._job = _ExportJob(self.services, ExportFormat(str(self.fmt.currentData())), out)
        self._thread = QThread(self)
        self._job.moveToThread(self._thread)
        self._thread.started.connect(self._job.run)
        self._job.progressed.connect(self._progress)
        self._job.finished.connect(self._done)
        self._job.failed.connect(self._failed)
        self.start_button.setEnabled(False)
        self.bar.setValue(0)
        self.say("")
        self._thread.start()

    def _progress(self, stage: str, done: int, total: int) -> None:
        self.bar.setValue(int(100 * ExportProgress(stage, done, total).fraction))
        self.stage.setText(stage)

    def _finish(self) -> None:
        if self._thread is not None:
            self._thread.quit()
            self._thread.wait()
        self._thread = None
        self._job = None
        self.start_button.setEnabled(True)

    def _done(self, path: str) -> None:
        self._finish()
        self.last_path = Path(path)
        self.bar.setValue(100)
        self.say(f"exported to {path}")

    def _failed(self, words: str) -> None:
        self._finish()
        self.say(f"Export: {words}", problem=True)

    def refresh(self) -> None:
        """Which session is exported."""
        sim = " (SIMULATION: the file says so on every page)" if self.services.simulation else ""
        self.what.setText(f"Session {self.services.session_id}{sim}")
