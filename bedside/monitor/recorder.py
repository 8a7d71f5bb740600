"""Connects the core to storage: every observation and device event is queued for the writer,
and a restarted monitor replays the open session so the trend shows the session so far.

A monitor resumes only the open session of its own station (room): several monitors may share
one clinic database, and none may pick up another room's patient (MON-8). Replayed values are
shown as "before restart", never as current.

The monitor shows its first number before the database is open (issue 10): the core holds what
arrives meanwhile (``MonitorCore.hold``) and the recorder gets all of it, in order, when the
composition root releases it, so a reading from the first second is stored like any other.
SQLAlchemy is imported only when a recorder is made (this module is imported before that).
"""

from __future__ import annotations

import logging
import socket
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bedside.monitor.core import MonitorCore
from bedside.monitor.vitals_board import VitalsBoard
from drivers.clock import Clock
from drivers.types import DeviceEvent, Observation
from storage import DeviceEventRecord, ObservationRecord, SessionEndedRecord

if TYPE_CHECKING:
    from bedside.monitor.trend_history import TrendHistory
    from storage import Database, SessionSummary, StorageFailure, StorageRecovery

log = logging.getLogger(__name__)

#: An open session older than this is not resumed on start (it was abandoned, not interrupted).
RESUME_WITHIN = timedelta(hours=12)


def default_station() -> str:
    """The station (room) id used when none is configured: this computer's host name."""
    return socket.gethostname() or "bedside"


class SessionRecorder:
    """Owns the session row and the writer; subscribes to the core."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        clinician: str,
        scenario: str = "",
        resume: bool = True,
        station: str | None = None,
        write_hang_s: float | None = None,
        started_at: datetime | None = None,
    ):
        """``started_at``: when a new session starts (default now): the moment monitoring began,
        when readings were shown (and held) before the database was open."""
        from storage import SessionRepository, StorageWriter

        self.db = db
        self.clock = clock
        self.station = default_station() if station is None else station
        self.repo = SessionRepository(db)
        self.failures: list[StorageFailure] = []
        now = clock.now()
        previous = (
            self.repo.latest_open_session(is_drill=db.is_drill, station=self.station) if resume else None
        )
        #: When the resumed session was last recorded before the restart: the start of the gap.
        self.last_recorded_at: datetime | None = None
        if previous is not None and now - previous.started_at <= RESUME_WITHIN:
            self.session: SessionSummary = previous
            self.resumed = True
            self.last_recorded_at = self.repo.last_record_at(previous.session_id)
            log.info("resuming open session %s started %s", previous.session_id, previous.started_at)
        else:
            if previous is not None:  # an unended session older than RESUME_WITHIN: never continued
                log.warning(
                    "session %s (started %s) was never ended and is too old to resume: a new "
                    "session starts; end the old one in its record",
                    previous.session_id,
                    previous.started_at,
                )
            self.session = self.repo.create_session(
                clinician=clinician, started_at=started_at or now, scenario=scenario, station=self.station
            )
            self.resumed = False
        # Started only now, so nothing written after the restart can move the gap's start.
        self.writer = StorageWriter(
            db, clock, self._on_failure, on_recovery=self._on_recovery, write_hang_s=write_hang_s
        )
        self._history: TrendHistory | None = None

    @property
    def session_id(self) -> str:
        return self.session.session_id

    def load_history(self) -> None:
        """Read a resumed session's trend now (off the window's thread), for ``attach`` to show."""
        if self.resumed and self._history is None:
            from bedside.monitor.trend_history import load_trend_history

            # Columns, not an object per reading: a 24-hour session resumes in a second or two (issue 9).
            self._history = load_trend_history(self.repo, self.session)

    def attach(self, core: MonitorCore) -> int:
        """Replay the stored session into the board, then record everything new; returns the replay count.

        When the core holds what arrived before the database was open (``MonitorCore.hold``), the
        restart is marked when monitoring began, the history is put before those readings, and the
        recorder gets them when the core releases them.
        """
        held_since = core.held_since
        now_wall, now_mono = (
            (held_since.wall, held_since.mono) if held_since else (self.clock.now(), self.clock.monotonic())
        )
        start_mono = now_mono - (now_wall - self.session.started_at).total_seconds()
        replayed = 0
        if self.resumed:
            self.load_history()
            history = self._history
            assert history is not None
            self._history = None  # the board keeps it; the recorder need not
            board = core.board
            if core.held:
                # Readings are on screen already: a new board puts the history before them.
                board = VitalsBoard(start_mono, trend_gap_s=board.trends[VitalsBoard.CONTINUOUS[0]].min_gap_s)
            board.session_start_mono = start_mono
            board.add_history(history.curves, history.nibp_points, history.last_nibp)
            replayed = history.count
            board.mark_restart(now_mono, now_wall)
            if board is not core.board:
                core.replace_board(board)
        else:
            core.board.session_start_mono = start_mono
        core.subscribe(on_observation=self._observation, on_event=self._event)
        return replayed

    def _observation(self, obs: Observation) -> None:
        self.writer.put(ObservationRecord(self.session_id, obs))

    def _event(self, event: DeviceEvent) -> None:
        self.writer.put(DeviceEventRecord(self.session_id, event))

    def _on_failure(self, failure: StorageFailure) -> None:
        # Called on the writer thread; the app polls ``failures`` on its tick to raise the alarm.
        log.error("storage failure: %s", failure)
        self.failures.append(failure)

    @property
    def outage(self) -> str | None:
        """The reason writes are failing now, or None (polled by the GUI tick: no cross-thread calls).

        Each poll also asks the writer whether a write hangs (ALM-5): a hung writer thread cannot say so.
        """
        from storage import FailureKind

        self.writer.watch()
        if not self.writer.in_outage:
            return None
        failures = list(self.failures)  # appended to by the writer thread
        causes = [i for i, f in enumerate(failures) if f.kind in (FailureKind.OUTAGE, FailureKind.STALLED)]
        reason = failures[causes[-1]].reason if causes else "storage is not writing"
        shed = [f for f in failures[causes[-1] if causes else 0 :] if f.kind is FailureKind.OVERFLOW]
        if shed:
            # Said in the alarm itself: the oldest vitals of this outage are no longer kept (bounded memory).
            dropped = self.writer.dropped_count
            reason += f"; memory bound reached, the oldest vital readings are being shed ({dropped} so far)"
        return reason

    def _on_recovery(self, recovery: StorageRecovery) -> None:
        log.warning("storage recovered: %s", recovery)

    def close(self, *, end_session: bool) -> None:
        if end_session:
            self.writer.put(SessionEndedRecord(self.session_id, self.clock.now()))
        self.writer.close()
        self.db.close()
