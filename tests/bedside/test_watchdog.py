"""A stalled window never silences monitoring (issue 11, "The monitor outlives its window", ALM-5).

Before: judgement, recording and the tone all ran on the GUI thread only (``MonitorCore.pump`` is
called by the window), so a blocked dialog or a stuck paint stopped all three, and the alarm
system's ``display_stalled`` input existed but nothing fed it. The watchdog's logic is tested
pass by pass on a fake clock; one Qt test really blocks the event loop.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PySide6.QtCore import QTimer
from pytestqt.qtbot import QtBot

from alarms import AlarmPriority, ClinicalConfig, ConditionId, load_config
from bedside.app.tone_player import AudioSinkError, TonePlayer
from bedside.app.watchdog import GuiWatchdog
from bedside.monitor.core import MonitorCore
from bedside.monitor.recorder import SessionRecorder
from bedside.views.alarm_sound import AlarmSound
from bedside.views.window import MonitorWindow
from bedside.workflow.clinical import ClinicalSession
from drivers.clock import Clock, FakeClock, SystemClock
from drivers.types import DecodeResult, Observation, VitalKind
from storage import open_database
from tests.alarms.helpers import obs

STALL = ConditionId.DISPLAY_STALLED.value


class Sink:
    """An audio device the test can hear: records each burst's priority; can be broken."""

    def __init__(self, broken: str = "") -> None:
        self.played: list[AlarmPriority] = []
        self.broken = broken
        self.tried = threading.Event()

    def __call__(self, wav: Path) -> None:
        self.tried.set()
        if self.broken:
            raise AudioSinkError(self.broken)
        self.played.append(AlarmPriority[wav.stem.upper()])
        time.sleep(0.01)  # a burst takes time on a real device; keeps the player's loop calm


@functools.cache
def _defaults() -> ClinicalConfig:
    return load_config()


def _config(stalled_after_s: float) -> ClinicalConfig:
    base = _defaults()
    return base.model_copy(
        update={"monitoring": base.monitoring.model_copy(update={"display_stalled_after_s": stalled_after_s})}
    )


def _clinical(clock: Clock, config: ClinicalConfig, records: list[object] | None = None) -> ClinicalSession:
    put = records.append if records is not None else (lambda _r: None)
    return ClinicalSession(
        clock, config, session_id="wd", record=put, nibp_link_send=None, nibp_start_command=None
    )


def _keys(clinical: ClinicalSession) -> list[str]:
    return [a.key for a in clinical.active_alarms()]


def _wait(until: Callable[[], bool], timeout_s: float = 5.0) -> None:
    """Poll ``until`` (another thread's work) with a deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if until():
            return
        time.sleep(0.01)
    raise AssertionError("timed out")


@pytest.fixture
def parts(clock: FakeClock) -> Iterator[tuple[MonitorCore, ClinicalSession, Sink, TonePlayer, GuiWatchdog]]:
    config = _defaults()
    core = MonitorCore(clock)
    clinical = _clinical(clock, config)
    core.subscribe(on_observation=clinical.on_observation, on_event=clinical.on_device_event)
    sink = Sink()
    tones = TonePlayer(sink=sink)
    watchdog = GuiWatchdog(
        core,
        clinical,
        tones,
        stalled_after_s=config.monitoring.display_stalled_after_s,
        monotonic=clock.monotonic,
    )
    yield core, clinical, sink, tones, watchdog
    tones.stop()


@pytest.mark.req("ALM-5")
def test_a_window_silent_past_the_clinic_limit_raises_display_stalled_and_sounds_it_without_the_window(
    clock: FakeClock, parts: tuple[MonitorCore, ClinicalSession, Sink, TonePlayer, GuiWatchdog]
) -> None:
    """Issue 11: the display-stalled input was never fed; the tone needed the GUI thread."""
    _core, clinical, sink, tones, watchdog = parts
    limit = _defaults().monitoring.display_stalled_after_s
    watchdog.beat()
    clock.advance(limit)  # at the limit: not yet
    watchdog.check()
    assert not watchdog.stalled and not any(k.startswith(STALL) for k in _keys(clinical))
    clock.advance(0.1)
    watchdog.check()
    assert watchdog.stalled
    assert any(k.startswith(STALL) for k in _keys(clinical))
    assert tones.wanted is AlarmPriority.HIGH
    _wait(lambda: AlarmPriority.HIGH in sink.played)


@pytest.mark.req("ALM-5")
def test_data_delivered_while_the_window_is_stalled_is_judged_and_recorded_by_the_watchdog(
    clock: FakeClock,
) -> None:
    """Issue 11: with the GUI thread stopped nothing pumped the core, so nothing was judged or written."""
    config = _defaults()
    core = MonitorCore(clock)
    records: list[object] = []
    clinical = _clinical(clock, config)
    core.subscribe(on_observation=clinical.on_observation)
    core.subscribe(on_observation=records.append)  # what SessionRecorder does: put it on the writer
    tones = TonePlayer(sink=Sink())
    watchdog = GuiWatchdog(core, clinical, tones, stalled_after_s=2.0, monotonic=clock.monotonic)
    try:
        watchdog.beat()
        clock.advance(2.5)
        sample = obs(clock, VitalKind.SPO2, 97)
        link = threading.Thread(
            target=lambda: core.on_result(DecodeResult(observations=(sample,), frames=1), "ox")
        )
        link.start()
        link.join()
        watchdog.check()
        assert records == [sample]
        assert core.board.latest(VitalKind.SPO2) is sample
        assert watchdog.observations_while_stalled == 1
    finally:
        tones.stop()


@pytest.mark.req("ALM-5")
def test_the_window_back_ends_the_condition_but_the_high_alarm_stays_latched_and_the_spare_tone_stops(
    clock: FakeClock, parts: tuple[MonitorCore, ClinicalSession, Sink, TonePlayer, GuiWatchdog]
) -> None:
    """The window's own sound takes over when it turns again; the clinician still sees what happened."""
    _core, clinical, _sink, tones, watchdog = parts
    watchdog.beat()
    clock.advance(3)
    watchdog.check()
    assert watchdog.stalled
    watchdog.beat()
    watchdog.check()
    assert not watchdog.stalled
    assert tones.wanted is None
    stalled = [a for a in clinical.active_alarms() if a.key.startswith(STALL)]
    assert stalled and all(a.latched for a in stalled)


@pytest.mark.req("ALM-5")
def test_a_tone_player_that_cannot_play_is_itself_a_technical_alarm(clock: FakeClock) -> None:
    """This machine has no sound device: the stall tone's failure must be visible, not silent."""
    config = _defaults()
    core = MonitorCore(clock)
    clinical = _clinical(clock, config)
    sink = Sink(broken="no command-line sound player (paplay or aplay) is installed")
    tones = TonePlayer(sink=sink)
    watchdog = GuiWatchdog(core, clinical, tones, stalled_after_s=2.0, monotonic=clock.monotonic)
    try:
        watchdog.beat()
        clock.advance(2.5)
        watchdog.check()  # raises the stall and asks for the tone, which fails on the player's thread
        _wait(lambda: tones.failure != "")
        watchdog.check()
        audio = [a for a in clinical.active_alarms() if a.key.startswith(ConditionId.AUDIO_UNAVAILABLE.value)]
        assert audio and "paplay or aplay" in audio[0].message
    finally:
        tones.stop()


@pytest.mark.req("ALM-5")
def test_a_window_stuck_inside_the_engine_still_sounds_the_stall(
    clock: FakeClock, parts: tuple[MonitorCore, ClinicalSession, Sink, TonePlayer, GuiWatchdog]
) -> None:
    """If the GUI thread hangs holding the engine, nothing can be judged, but the sound must not wait."""
    core, _clinical_session, sink, tones, watchdog = parts
    held, release = threading.Event(), threading.Event()

    def stuck_gui() -> None:
        with core.engine_lock:
            held.set()
            release.wait(10)

    gui = threading.Thread(target=stuck_gui)
    gui.start()
    try:
        held.wait(5)
        watchdog.beat()
        clock.advance(3)
        watchdog.check()
        assert tones.wanted is AlarmPriority.HIGH
        _wait(lambda: AlarmPriority.HIGH in sink.played)
    finally:
        release.set()
        gui.join()


def _rows(db_file: Path, table: str, where: str = "1=1") -> int:
    with sqlite3.connect(f"file:{db_file}?mode=ro", uri=True) as connection:
        (count,) = connection.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
    return int(count)


@pytest.mark.req("ALM-5")
@pytest.mark.timeout(60)
def test_a_blocked_event_loop_is_seen_by_the_watchdog_thread_while_the_recorder_keeps_writing(
    qtbot: QtBot, tmp_path: Path
) -> None:
    """The real thing, in process: a slot blocks the Qt event loop (as a stuck dialog would) while a
    link thread keeps delivering. The watchdog's own thread raises display-stalled, sounds it
    through the injected device, and the data reaches the database; when the slot returns the
    window shows the alarm."""
    config = _config(stalled_after_s=1.0)
    clock = SystemClock()
    db_file = tmp_path / "watchdog.sqlite3"
    recorder = SessionRecorder(
        open_database(f"sqlite:///{db_file}", drill=True), clock, clinician="t", station="watchdog-room"
    )
    core = MonitorCore(clock)
    recorder.attach(core)
    window = MonitorWindow(core)
    qtbot.addWidget(window)
    clinical = ClinicalSession(
        clock,
        config,
        session_id=recorder.session_id,
        record=recorder.writer.put,
        nibp_link_send=None,
        nibp_start_command=None,
    )
    window.attach_clinical(clinical, clock.now(), alarm_sound=AlarmSound(audio_outputs=lambda: ["speakers"]))
    sink = Sink()
    tones = TonePlayer(sink=sink)
    beats: list[str] = []
    watchdog = GuiWatchdog(
        core,
        clinical,
        tones,
        stalled_after_s=config.monitoring.display_stalled_after_s,
        heartbeat_out=beats.append,
        period_s=0.05,
    )
    heartbeat = QTimer()
    heartbeat.timeout.connect(watchdog.beat)
    heartbeat.start(50)
    watchdog.start()
    delivered: list[Observation] = []
    seen: dict[str, object] = {}

    def deliver(stop: threading.Event) -> None:
        while not stop.is_set():
            sample = obs(clock, VitalKind.SPO2, 96)  # type: ignore[arg-type]
            delivered.append(sample)
            core.on_result(DecodeResult(observations=(sample,), frames=1), "sim-oximeter")
            stop.wait(0.05)

    def stuck_dialog() -> None:
        stop = threading.Event()
        link = threading.Thread(target=deliver, args=(stop,))
        link.start()
        deadline = time.monotonic() + 20
        try:
            while time.monotonic() < deadline:
                written = _rows(db_file, "observations")
                if watchdog.stalled and AlarmPriority.HIGH in sink.played and written >= 5:
                    break
                time.sleep(0.05)  # polling: the GUI thread is meant to be stuck here
            with core.engine_lock:
                seen.update(
                    stalled=watchdog.stalled,
                    alarms=_keys(clinical),
                    written=_rows(db_file, "observations"),
                    latest=core.board.latest(VitalKind.SPO2),
                    delivered=len(delivered),
                )
        finally:
            stop.set()
            link.join()

    try:
        QTimer.singleShot(0, stuck_dialog)
        qtbot.waitUntil(lambda: "stalled" in seen, timeout=30_000)
        assert seen["stalled"] is True
        assert any(str(k).startswith(STALL) for k in seen["alarms"])  # type: ignore[attr-defined]
        assert AlarmPriority.HIGH in sink.played
        assert int(seen["written"]) >= 5  # type: ignore[call-overload]
        assert seen["latest"] is not None  # judged off the GUI thread: the board has it
        # The window turns again: the spare tone stops and the window shows the (latched) alarm.
        qtbot.waitUntil(lambda: not watchdog.stalled and tones.wanted is None, timeout=5_000)
        qtbot.waitUntil(lambda: any(k.startswith(STALL) for k in window.alarm_bar.row_keys()), timeout=5_000)
        assert beats, "the watchdog wrote no heartbeat lines"
        recorder.writer.close()
        assert _rows(db_file, "alarm_events", f"condition = '{STALL}'") >= 1
    finally:
        watchdog.stop()
        tones.stop()
        heartbeat.stop()
        window.stop_timers()
        recorder.db.close()


@pytest.mark.req("ALM-5")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(
        st.tuples(st.floats(min_value=0.0, max_value=4.0, allow_nan=False), st.booleans()),
        min_size=1,
        max_size=25,
    )
)
def test_the_display_is_stalled_exactly_while_the_last_beat_is_older_than_the_limit(
    steps: list[tuple[float, bool]],
) -> None:
    """Any rhythm of beats and pauses, at and beyond the edge: stalled iff age > limit, the alarm
    condition follows (HIGH latches, so it stays shown), and each stall is counted once."""
    clock = FakeClock()
    config = _defaults()
    limit = config.monitoring.display_stalled_after_s
    core = MonitorCore(clock)
    clinical = _clinical(clock, config)
    tones = _SilentTones()
    watchdog = GuiWatchdog(core, clinical, tones, stalled_after_s=limit, monotonic=clock.monotonic)  # type: ignore[arg-type]
    last_beat, stalls, was_stalled = clock.monotonic(), 0, False
    for advance, beat in steps:
        clock.advance(advance)
        if beat:
            watchdog.beat()
            last_beat = clock.monotonic()
        watchdog.check()
        stalled = clock.monotonic() - last_beat > limit
        stalls += stalled and not was_stalled
        was_stalled = stalled
        assert watchdog.stalled is stalled
        assert (tones.wanted is AlarmPriority.HIGH) is stalled
        if stalled:
            assert any(k.startswith(STALL) for k in _keys(clinical))
    assert watchdog.stalls == stalls


class _SilentTones:
    """A tone player without a thread, for the property test."""

    def __init__(self) -> None:
        self.wanted: AlarmPriority | None = None

    def update(self, wanted: AlarmPriority | None) -> None:
        self.wanted = wanted

    def set_failure_listener(self, _listener: object) -> None:
        """Nothing fails here."""


def test_a_view_listener_called_from_another_thread_runs_once_on_the_gui_thread(qtbot: QtBot) -> None:
    """Widgets must never be touched from the watchdog's thread: its calls are queued and coalesced."""
    from PySide6.QtWidgets import QWidget

    from bedside.views.gui_thread import gui_only

    owner = QWidget()
    qtbot.addWidget(owner)
    ran_on: list[int] = []
    listener = gui_only(lambda: ran_on.append(threading.get_ident()), owner)
    listener()
    assert ran_on == [threading.get_ident()]  # on the GUI thread: at once
    others = [threading.Thread(target=listener) for _ in range(5)]
    for t in others:
        t.start()
    for t in others:
        t.join()
    qtbot.waitUntil(lambda: len(ran_on) >= 2, timeout=2000)
    qtbot.wait(20)
    assert set(ran_on) == {threading.get_ident()}
    assert len(ran_on) == 2  # five calls from elsewhere, one render


@pytest.mark.req("ALM-5")
def test_the_command_line_sink_says_what_is_missing_and_plays_through_an_installed_player(
    tmp_path: Path,
) -> None:
    """No player installed is a sentence an IT person can act on; an installed one is used as is."""
    from bedside.app.tone_player import command_sink

    wav = tmp_path / "tone.wav"
    wav.write_bytes(b"")
    with pytest.raises(AudioSinkError, match="no command-line sound player"):
        command_sink((("bedside-no-such-player",),))(wav)
    with pytest.raises(AudioSinkError, match="could not play the alarm tone"):
        command_sink((("false",),))(wav)
    command_sink((("true",),))(wav)  # a player that succeeds: no error
