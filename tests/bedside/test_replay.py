"""`bedside replay`: captures through the real drivers and ClinicalSession on the devices' own times.

Issue 8, section "bedside replay" (MON-1, MON-6, ALM-4): one JSON object per line, exit 0 when it
ran and 2 on bad input, a 5-minute capture in well under a second.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import ConditionId, load_config
from bedside.cli.main import main
from bedside.monitor.decode import frame_plain_hl7
from bedside.workflow.replay import ReplayInput, run_replay
from drivers.device_clock import DeviceClockSetting
from simulators.encoders.masimo import MasimoAsciiEncoder
from simulators.encoders.nonin import NoninDf2Encoder
from simulators.model import VitalsSnapshot

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 23, 9, 0, 0, tzinfo=UTC)
CONFIG = load_config()


def replay(argv: list[str], capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    """Run `bedside replay` in-process; every stdout line must be one JSON object."""
    rc = main(["replay", *argv])
    out, err = capsys.readouterr()
    assert rc == 0, err
    return [json.loads(line) for line in out.splitlines()]


def at(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def masimo_capture(path: Path, spo2: list[float | None], *, start: datetime = T0, zone: Any = UTC) -> Path:
    """A Masimo ASCII 1 capture, one line a second (None: no line that second), via the simulator."""
    encoder = MasimoAsciiEncoder(device_tz=zone)
    path.write_bytes(
        b"".join(
            encoder.encode(
                VitalsSnapshot(at=start + timedelta(seconds=n), spo2=v, pulse_rate=72.0, perfusion_index=2.0)
            )
            for n, v in enumerate(spo2)
            if v is not None
        )
    )
    return path


def finished(events: list[dict[str, Any]]) -> dict[str, Any]:
    assert events[-1]["event"] == "replay_finished"
    return events[-1]


def assert_time_ordered(events: list[dict[str, Any]]) -> None:
    times = [datetime.fromisoformat(e["at"]) for e in events if e.get("at")]
    assert times == sorted(times)


# -- the fixtures ----------------------------------------------------------------------------------


@pytest.mark.req("MON-6")
def test_masimo_fixture_replays_on_its_device_time(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """rad8-session.txt: 9 lines 09:00:00-09:00:08; probe off / searching for 3 s only, shorter
    than the probe-off delay and the no-valid-SpO2 time: no alarm at all."""
    capture = fixtures_dir / "masimo" / "rad8-session.txt"
    events = replay(["--input", f"masimo-ascii={capture}", "--device-clock", "masimo-ascii=UTC"], capsys)
    assert events[0] == {"event": "replay_started", "at": "2026-11-23T09:00:00+00:00"}
    assert len(events) == 2
    summary = finished(events)
    assert summary["at"] == "2026-11-23T09:00:08+00:00"
    assert summary["duration_s"] == 8.0
    assert (summary["frames"], summary["rejections"], summary["observations"]) == (9, 0, 27)
    assert summary["alarms"] == {} and summary["nibp_judged"] == 0 and summary["protocols_offered"] == 0
    assert summary["inputs"] == [
        {
            "protocol": "masimo-ascii",
            "file": str(capture),
            "frames": 9,
            "rejections": 0,
            "observations": 27,
            "bytes_discarded": 0,
        }
    ]


@pytest.mark.req("ALM-4")
def test_masimo_fixture_read_in_berlin_time(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Finding 2 in replay: the same lines from a Rad-8 set to Berlin time are an hour earlier in UTC."""
    capture = fixtures_dir / "masimo" / "rad8-session.txt"
    events = replay(
        ["--input", f"masimo-ascii={capture}", "--device-clock", "masimo-ascii=Europe/Berlin"], capsys
    )
    assert events[0]["at"] == "2026-11-23T08:00:00+00:00"
    assert finished(events)["at"] == "2026-11-23T08:00:08+00:00"


HL7_BP = "valid-bp-continua-wan.hl7v2"
HL7_OXIMETER = "valid-oximeter-continua-wan.hl7v2"


def hl7_expected_events() -> list[dict[str, Any]]:
    """What the two IPF fixtures imply: SpO2 80.5 % once at 2009-07-15 07:07:07 (then nothing, so
    "no valid SpO2" after the clinic's no-signal time), and NIBP 120/80/100 at 2009-08-13 09:57:15."""
    spo2_at = datetime(2009, 7, 15, 7, 7, 7, tzinfo=UTC)
    no_signal = timedelta(seconds=CONFIG.monitoring.no_valid_spo2_s)
    return [
        {"event": "replay_started", "at": at(spo2_at)},
        {
            "event": "alarm_started",
            "at": at(spo2_at + no_signal),
            "condition": "spo2_no_signal",
            "priority": "medium",
        },
        {
            "event": "nibp_judged",
            "at": "2009-08-13T09:57:15+00:00",
            "systolic": 120.0,
            "diastolic": 80.0,
            "mean": 100.0,
        },
    ]


def comparable(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("event", "at", "condition", "priority", "systolic", "diastolic", "mean")
    return [{k: e[k] for k in keep if k in e} for e in events[:-1]]


@pytest.mark.req("MON-6")
def test_hl7_fixtures_replay_in_time_order(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The BP file is given first but measured a month later: values are merged by measurement time."""
    ipf = fixtures_dir / "hl7" / "ipf"
    events = replay(
        ["--input", f"hl7-pcd01={ipf / HL7_BP}", "--input", f"hl7-pcd01={ipf / HL7_OXIMETER}"], capsys
    )
    assert comparable(events) == hl7_expected_events()
    reading = events[2]
    assert reading["source"] == f"{HL7_BP}/0123456789ABCDEF"
    # Before a baseline the reading is judged against the clinic's absolute limits only (THR-8).
    assert reading["reading_class"] == "within_limits"
    assert reading["label"] == "within clinic limits (no baseline yet)"
    summary = finished(events)
    assert (summary["frames"], summary["rejections"], summary["observations"]) == (2, 0, 4)
    assert summary["alarms"] == {"spo2_no_signal": 1}
    assert summary["gaps_skipped"] == 1  # four weeks between the files are not ticked through
    assert (
        summary["duration_s"]
        == (datetime(2009, 8, 13, 9, 57, 15) - datetime(2009, 7, 15, 7, 7, 7)).total_seconds()
    )


@pytest.mark.req("MON-6")
@pytest.mark.parametrize("framing", ["plain", "mllp"])
def test_one_hl7_file_with_two_messages_plain_or_mllp(
    framing: str, fixtures_dir: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Plain-text HL7 (several messages, any line ends) and MLLP-framed files are both read."""
    ipf = fixtures_dir / "hl7" / "ipf"
    plain = (ipf / HL7_BP).read_bytes() + b"\n" + (ipf / HL7_OXIMETER).read_bytes()
    capture = tmp_path / "both.hl7"
    capture.write_bytes(frame_plain_hl7(plain) if framing == "mllp" else plain)
    events = replay(["--input", f"hl7-pcd01={capture}"], capsys)
    assert comparable(events) == hl7_expected_events()
    assert finished(events)["frames"] == 2


@pytest.mark.req("MON-6")
def test_hl7_reading_judged_against_a_replay_baseline(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Baseline 110/70: the band starts at 126.5/80.5 (x1.15), so 120/80 is "at baseline", no alarm."""
    capture = fixtures_dir / "hl7" / "ipf" / HL7_BP
    events = replay(["--input", f"hl7-pcd01={capture}", "--baseline-nibp", "110/70"], capsys)
    assert [e["event"] for e in events] == ["replay_started", "nibp_judged", "replay_finished"]
    assert events[1]["label"] == "at baseline"
    assert (events[1]["systolic"], events[1]["diastolic"]) == (120.0, 80.0)


# -- NIBP judged with a baseline (the Ivy capture has one reading, 121/75/92) ----------------------


IVY_START = "2026-11-23T09:00:00+00:00"


@pytest.mark.req("THR-4")
def test_ivy_reading_within_the_expected_rise(fixtures_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Baseline 100/62: 121/75 lies in 115-130 / 71.3-80.6, the expected ketamine rise: no alarm."""
    capture = fixtures_dir / "ivy" / "ivy450c-ansar-b.bin"
    events = replay(
        ["--input", f"ivy-ansar={capture}", "--baseline-nibp", "100/62", "--baseline-pulse", "80",
         "--baseline-spo2", "98", "--start", IVY_START],
        capsys,
    )  # fmt: skip
    judged = [e for e in events if e["event"] == "nibp_judged"]
    assert judged == [
        {
            "event": "nibp_judged",
            "at": IVY_START,
            "systolic": 121.0,
            "diastolic": 75.0,
            "mean": 92.0,
            "source": "ivy450c-ansar-b.bin",
            "label": "expected rise",
            **({"reading_class": "expected_rise"} if "reading_class" in judged[0] else {}),
        }
    ]
    assert not [e for e in events if e["event"].startswith("alarm")]
    summary = finished(events)
    # 27 ANSAR-B frames at one a second (the capture starts inside a frame: 252 bytes skipped).
    assert summary["duration_s"] == 26.0 and summary["frames"] == 27
    assert summary["inputs"][0]["bytes_discarded"] == 252


@pytest.mark.req("THR-4")
def test_ivy_reading_above_the_band_alarms_and_offers_the_protocol(
    fixtures_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Baseline 80/50: 121/75 is above 104/65 (x1.30), a meaningful spike: BP high and bp-spike."""
    capture = fixtures_dir / "ivy" / "ivy450c-ansar-b.bin"
    events = replay(
        ["--input", f"ivy-ansar={capture}", "--baseline-nibp", "80/50", "--start", IVY_START], capsys
    )
    kinds = [e["event"] for e in events]
    assert kinds[:4] == ["replay_started", "nibp_judged", "alarm_started", "protocol_offered"]
    assert events[1]["label"] == "above expected rise"
    assert {k: events[2][k] for k in ("at", "condition", "priority")} == {
        "at": IVY_START,
        "condition": "bp_high",
        "priority": "medium",
    }
    assert {k: events[3][k] for k in ("at", "protocol")} == {
        "at": IVY_START,
        "protocol": CONFIG.protocols.bp_spike,
    }
    assert finished(events)["alarms"] == {"bp_high": 1} and finished(events)["protocols_offered"] == 1


# -- generated captures ----------------------------------------------------------------------------


@pytest.mark.req("ALM-4")
def test_five_minutes_of_spo2_80_alarm_high_at_the_right_device_time(tmp_path: Path) -> None:
    """SpO2 80 % for 5 minutes: "SpO2 low" HIGH once the delay has passed on the device's clock,
    and the whole capture replays in well under a second."""
    capture = masimo_capture(tmp_path / "spo2-80.txt", [80.0] * 300)
    events: list[dict[str, Any]] = []
    began = time.perf_counter()
    run_replay([ReplayInput("masimo-ascii", capture, DeviceClockSetting.parse("UTC"))], CONFIG, events.append)
    elapsed = time.perf_counter() - began
    assert elapsed < 1.0
    started = [e for e in events if e["event"] == "alarm_started"]
    assert [(e["condition"], e["priority"]) for e in started] == [("spo2_low", "high")]
    delay = timedelta(seconds=CONFIG.delay_s(ConditionId.SPO2_LOW))
    alarm_at = datetime.fromisoformat(started[0]["at"])
    assert T0 + delay <= alarm_at <= T0 + delay + timedelta(seconds=1)  # one sample period at most
    assert not [e for e in events if e["event"] == "alarm_ended"]
    summary = finished(events)
    assert summary["duration_s"] == 299.0 and summary["observations"] == 900


@pytest.mark.req("MON-1")
def test_a_silent_gap_raises_no_valid_spo2_on_device_time(tmp_path: Path) -> None:
    """MON-1: 60 s of lines, 30 s of nothing, then lines again. The replay ticks through the gap, so
    "no valid SpO2" starts the clinic's no-signal time after the last line and ends when lines resume."""
    capture = masimo_capture(tmp_path / "gap.txt", [97.0] * 60 + [None] * 30 + [97.0] * 30)
    events: list[dict[str, Any]] = []
    run_replay([ReplayInput("masimo-ascii", capture, DeviceClockSetting.parse("UTC"))], CONFIG, events.append)
    alarms = [(e["event"], e["condition"], e["at"]) for e in events if e["event"].startswith("alarm")]
    last_line = T0 + timedelta(seconds=59)
    assert alarms == [
        (
            "alarm_started",
            "spo2_no_signal",
            at(last_line + timedelta(seconds=CONFIG.monitoring.no_valid_spo2_s)),
        ),
        ("alarm_ended", "spo2_no_signal", at(T0 + timedelta(seconds=90))),
    ]


@pytest.mark.req("MON-6")
def test_nonin_frames_advance_at_75_per_second(tmp_path: Path) -> None:
    """DF2 carries no clock: a packet (25 frames) is known when its last frame is in, 3 per second."""
    encoder = NoninDf2Encoder()
    capture = tmp_path / "nonin.bin"
    capture.write_bytes(
        b"".join(encoder.encode(VitalsSnapshot(at=T0, spo2=95.0, pulse_rate=70.0)) for _ in range(30))
    )
    events: list[dict[str, Any]] = []
    run_replay([ReplayInput("nonin-df2", capture)], CONFIG, events.append, start=T0)
    assert events[0]["at"] == at(T0 + timedelta(seconds=24 / 75))
    summary = finished(events)
    assert summary["frames"] == 750 and summary["observations"] == 60
    assert summary["duration_s"] == pytest.approx(29 / 3, abs=1e-5)


@pytest.mark.req("MON-6")
def test_an_untimed_capture_starts_with_the_timed_one(
    fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Ivy (no clock) merged with a Masimo capture (device time): both start at the Masimo's first line."""
    masimo = masimo_capture(tmp_path / "m.txt", [97.0] * 40, start=T0 + timedelta(hours=2))
    ivy = fixtures_dir / "ivy" / "ivy450c-ansar-b.bin"
    events = replay(
        ["--input", f"ivy-ansar={ivy}", "--input", f"masimo-ascii={masimo}", "--device-clock",
         "masimo-ascii=UTC", "--baseline-nibp", "100/62"],
        capsys,
    )  # fmt: skip
    start = at(T0 + timedelta(hours=2))
    assert events[0]["at"] == start
    assert [e["at"] for e in events if e["event"] == "nibp_judged"] == [start]
    assert finished(events)["observations"] == 84 + 120
    assert finished(events)["duration_s"] == 39.0


@pytest.mark.req("ALM-4")
@given(
    values=st.lists(st.one_of(st.none(), st.integers(min_value=91, max_value=100)), min_size=5, max_size=120),
    shift_s=st.integers(min_value=0, max_value=30),
)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_two_zoned_oximeters_merge_in_time_order_and_never_alarm_above_the_floor(
    values: list[int | None], shift_s: int, tmp_path: Path
) -> None:
    """Two oximeters, one set to Berlin time and one to New York time, with gaps: every event comes
    in time order, every value is counted, and values never below the SpO2 floor never alarm SpO2 low."""
    from zoneinfo import ZoneInfo

    spo2 = [None if v is None else float(v) for v in values]
    first = masimo_capture(tmp_path / "berlin.txt", spo2, zone=ZoneInfo("Europe/Berlin"))
    second = masimo_capture(
        tmp_path / "ny.txt",
        spo2[::-1],
        start=T0 + timedelta(seconds=shift_s),
        zone=ZoneInfo("America/New_York"),
    )
    events: list[dict[str, Any]] = []
    run_replay(
        [
            ReplayInput("masimo-ascii", first, DeviceClockSetting.parse("Europe/Berlin")),
            ReplayInput("masimo-ascii", second, DeviceClockSetting.parse("America/New_York")),
        ],
        CONFIG,
        events.append,
    )
    assert_time_ordered(events)
    lines = sum(v is not None for v in spo2)
    assert finished(events)["observations"] == 2 * 3 * lines
    assert "spo2_low" not in finished(events)["alarms"]
    if lines:
        first_line = next(n for n, v in enumerate(spo2) if v is not None)
        first_line_ny = shift_s + next(n for n, v in enumerate(spo2[::-1]) if v is not None)
        assert events[0]["at"] == at(T0 + timedelta(seconds=min(first_line, first_line_ny)))


# -- bad input ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--input", "masimo-ascii=/no/such/capture.txt"], "no such file"),
        (["--input", "pulse-ox=README.md"], "unknown protocol"),
        (["--input", "README.md"], "PROTOCOL=FILE"),
        ([], "at least one --input"),
        (["--input", "masimo-ascii=README.md", "--baseline-nibp", "120-80"], "SYS/DIA"),
        (["--input", "masimo-ascii=README.md", "--baseline-nibp", "80/120"], "diastolic must be below"),
        (["--input", "masimo-ascii=README.md", "--baseline-nibp", "900/80"], "possible range"),
        (
            ["--input", "masimo-ascii=README.md", "--baseline-nibp", "120/80", "--baseline-spo2", "x"],
            "not a number",
        ),
        (["--input", "masimo-ascii=README.md", "--baseline-pulse", "70"], "need --baseline-nibp"),
        (
            ["--input", "masimo-ascii=README.md", "--device-clock", "masimo-ascii=Mars/Olympus"],
            "not a time zone",
        ),
        (["--input", "masimo-ascii=README.md", "--start", "yesterday"], "not an ISO time"),
        (["--input", "masimo-ascii=README.md", "--clinic-config", "/no/such.yaml"], "clinic config"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    rc = main(["replay", *argv])
    out, err = capsys.readouterr()
    assert rc == 2
    assert out == ""
    assert err.startswith("bedside replay: ") and err.count("\n") == 1 and words in err


def test_a_malformed_option_exits_2_with_one_sentence(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["replay", "--input"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--input" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["--input", "masimo-ascii=/no/such/capture.txt"], "no such file"),
        (["--input", "masimo-ascii=README.md", "--baseline-nibp"], "expected one argument"),
        (["--inptu", "masimo-ascii=README.md"], "unrecognized arguments"),
    ],
)
def test_the_command_line_never_shows_a_traceback(argv: list[str], words: str) -> None:
    """As a clinic's IT person runs it: `python -m bedside.cli replay ...` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "bedside.cli", "replay", *argv],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stdout == ""
    assert "Traceback" not in done.stderr and words in done.stderr
    assert done.stderr.count("\n") == 1


def test_the_command_line_runs_a_fixture(fixtures_dir: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    capture = fixtures_dir / "masimo" / "rad8-session.txt"
    done = subprocess.run(
        [sys.executable, "-m", "bedside.cli", "replay", "--input", f"masimo-ascii={capture}",
         "--device-clock", "masimo-ascii=UTC"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    events = [json.loads(line) for line in done.stdout.splitlines()]
    assert [e["event"] for e in events] == ["replay_started", "replay_finished"]


@pytest.mark.req("MON-6")
def test_bad_lines_are_counted_and_an_empty_capture_still_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken line is a counted rejection, never a crash; a capture with nothing in it replays to
    an empty summary (exit 0: it ran)."""
    capture = masimo_capture(tmp_path / "m.txt", [97.0, 97.0])
    capture.write_bytes(capture.read_bytes() + b"SPO2=banana EXC=zz\r\n")
    events = replay(["--input", f"masimo-ascii={capture}", "--device-clock", "masimo-ascii=UTC"], capsys)
    summary = finished(events)
    assert (summary["frames"], summary["rejections"], summary["observations"]) == (2, 1, 6)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    events = replay(["--input", f"masimo-ascii={empty}"], capsys)
    assert events[0] == {"event": "replay_started", "at": None}
    assert finished(events)["observations"] == 0 and finished(events)["duration_s"] == 0.0


@pytest.mark.req("PRO-8")
def test_a_replayed_desaturation_offers_the_respiratory_depression_tree(tmp_path: Path) -> None:
    """PRO-8 through `bedside replay`: 2 min at 97 %, then 83 % - the shipped library's tree for
    "SpO2 low" is offered when the alarm starts, as on the monitor."""
    capture = masimo_capture(tmp_path / "desat.txt", [97.0] * 120 + [83.0] * 60)
    done = subprocess.run(
        [sys.executable, "-m", "bedside.cli", "replay", "--input", f"masimo-ascii={capture}",
         "--device-clock", "masimo-ascii=UTC"],
        check=False, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    events = [json.loads(line) for line in done.stdout.splitlines()]
    offered = [e["protocol"] for e in events if e["event"] == "protocol_offered"]
    assert offered == ["respiratory-depression"]
    [alarm] = [e for e in events if e["event"] == "alarm_started"]
    assert (alarm["condition"], alarm["priority"]) == ("spo2_low", "high")
