"""A hanging storage write becomes the "Recording failed" technical alarm on the monitor (ALM-5).

Issue 11, "Faults and bad input": a write that hangs (frozen file system, stalled server) raised
no alarm. Here the app's once-a-second storage tick is driven by hand, as ``bedside.app`` wires it:
``clinical.recording_failed(recorder.outage is not None, recorder.outage or "")``.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from alarms import load_config
from bedside.monitor.recorder import SessionRecorder
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import FakeClock
from drivers.types import Observation, Quality, VitalKind
from storage import ObservationRecord, SessionRepository, open_database
from tests.storage.test_writer_hang import HangingDisk


def _spo2(clock: FakeClock, value: float) -> Observation:
    s = clock.stamp()
    return Observation(VitalKind.SPO2, value, "%", s.wall, s.wall, s.mono, "ox", Quality.VALID)


@pytest.mark.req("ALM-5")
def test_a_hanging_write_raises_recording_failed_and_the_tick_never_waits(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Issue 11 (faults): the hang is a technical alarm within ``recording.write_hang_s`` of the
    clinic config; its words change when vitals start being shed; it ends when writing works again.
    Fails on the old code: the recorder never noticed a hang, so no alarm was raised."""
    config = load_config()
    hang_s = config.recording.write_hang_s
    database = open_database(f"sqlite:///{tmp_path / 'bedside.sqlite3'}")
    recorder = SessionRecorder(database, clock, clinician="RN Lee", write_hang_s=hang_s)
    recorder.writer._max_pending = recorder.writer._batch_max + 1  # a small bound, to see shedding
    clinical = ClinicalSession(
        clock, config, session_id=recorder.session_id, record=recorder.writer.put,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip
    disk = HangingDisk(database.engine)

    def storage_tick() -> None:
        started = time.perf_counter()
        outage = recorder.outage
        clinical.recording_failed(outage is not None, outage or "")
        assert time.perf_counter() - started < 0.5, "the GUI tick waited on storage"

    try:
        disk.armed = True
        recorder.writer.put(ObservationRecord(recorder.session_id, _spo2(clock, 97.0)))
        assert recorder.writer.flush(timeout=0.01) is False  # asks for the write now; it hangs
        assert disk.entered.wait(10)

        clock.advance(hang_s - 1.0)
        storage_tick()
        assert not [a for a in clinical.active_alarms() if a.title == "Recording failed"]

        clock.advance(1.0)
        storage_tick()
        [alarm] = [a for a in clinical.active_alarms() if a.title == "Recording failed"]
        assert alarm.technical and "has not finished" in alarm.message

        for value in range(600):  # the in-flight batch stays; past the bound the oldest vitals go
            recorder.writer.put(ObservationRecord(recorder.session_id, _spo2(clock, float(value % 100))))
        storage_tick()
        [alarm] = [a for a in clinical.active_alarms() if a.title == "Recording failed"]
        assert "being shed" in alarm.message and "has not finished" in alarm.message

        disk.release()
        assert recorder.writer.flush(timeout=10)
        storage_tick()
        assert not [a for a in clinical.active_alarms() if a.title == "Recording failed"]
        kinds = [e.kind for e in SessionRepository(database).alarm_events(recorder.session_id)]
        assert kinds[:1] == ["started"]  # the alarm itself was recorded once writing worked again
    finally:
        disk.release()
        recorder.close(end_session=True)
