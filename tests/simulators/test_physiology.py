"""The scenario player: accelerated time, ramps, seeded noise, NIBP cycles and device events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from drivers.clock import FakeClock
from drivers.types import Quality
from simulators.physiology import ScenarioPlayer
from simulators.scenario import Scenario, load_scenario, parse_scenario

pytestmark = pytest.mark.req("DRL-1")

START = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)


def scenario(**overrides: Any) -> Scenario:
    data: dict[str, Any] = {
        "name": "test",
        "description": "test timeline",
        "duration": "10m",
        "nibp": {"interval": "2m", "first_at": "30s", "measurement": "30s"},
        "keyframes": [
            {"at": 0, "spo2": 98, "pulse": 70, "pi": 3.0, "systolic": 120, "diastolic": 80},
            {"at": "5m", "spo2": 88, "pulse": 110, "pi": 2.0, "systolic": 160, "diastolic": 100},
        ],
    }
    data.update(overrides)
    return parse_scenario(data, "test")


def quiet(**overrides: Any) -> Scenario:
    return scenario(noise={"spo2": 0, "pulse": 0, "nibp": 0, "pi": 0}, **overrides)


def test_scenario_time_runs_at_speed_and_device_time_follows(clock: FakeClock) -> None:
    player = ScenarioPlayer(quiet(), clock, speed=10.0, start_wall=START)
    clock.advance(3.0)
    assert player.scenario_time() == pytest.approx(30.0)
    assert player.snapshot().at == START + timedelta(seconds=30)


def test_start_wall_defaults_to_the_clock(clock: FakeClock) -> None:
    player = ScenarioPlayer(quiet(), clock)
    assert player.snapshot().at == clock.now()


@pytest.mark.parametrize("speed", [0.0, -1.0, float("nan"), float("inf")])
def test_speed_must_be_positive(clock: FakeClock, speed: float) -> None:
    with pytest.raises(ValueError, match="speed"):
        ScenarioPlayer(quiet(), clock, speed=speed)


def test_values_ramp_linearly_between_keyframes(clock: FakeClock) -> None:
    player = ScenarioPlayer(quiet(), clock)
    mid = player.snapshot_at(150.0)  # half way to the 5 min keyframe
    assert (mid.spo2, mid.pulse_rate, mid.perfusion_index) == (93.0, 90.0, 2.5)
    after = player.snapshot_at(9 * 60.0)  # the last keyframe holds
    assert (after.spo2, after.pulse_rate) == (88.0, 110.0)
    assert mid.heart_rate == mid.pulse_rate  # ECG HR follows the pulse when no HR track is given


def test_a_heart_rate_track_is_its_own(clock: FakeClock) -> None:
    frames = [{"at": 0, "spo2": 98, "pulse": 70, "hr": 64, "systolic": 120, "diastolic": 80}]
    player = ScenarioPlayer(quiet(keyframes=frames), clock)
    snap = player.snapshot_at(10.0)
    assert (snap.pulse_rate, snap.heart_rate, snap.perfusion_index) == (70.0, 64.0, None)


def test_same_seed_gives_the_same_values_in_any_order(clock: FakeClock) -> None:
    times = [0.0, 1.0, 7.5, 33.0, 151.0, 299.0, 480.0]
    first = ScenarioPlayer(scenario(seed=17), clock, start_wall=START)
    second = ScenarioPlayer(scenario(seed=17), clock, start_wall=START)
    forwards = [first.snapshot_at(t) for t in times]
    backwards = [second.snapshot_at(t) for t in reversed(times)]
    assert forwards == list(reversed(backwards))
    other = ScenarioPlayer(scenario(seed=18), clock, start_wall=START)
    assert [other.snapshot_at(t) for t in times] != forwards


def test_noise_is_small_and_realistic(clock: FakeClock) -> None:
    flat = [{"at": 0, "spo2": 97, "pulse": 72, "systolic": 120, "diastolic": 78}]
    player = ScenarioPlayer(
        scenario(keyframes=flat, nibp={"interval": 60, "first_at": 0, "measurement": 30}), clock
    )
    snaps = [player.snapshot_at(t * 3.7) for t in range(400)]
    spo2 = {s.spo2 for s in snaps}
    pulse = {s.pulse_rate for s in snaps}
    assert spo2 <= {96.0, 97.0, 98.0} and len(spo2) > 1
    assert pulse <= {70.0, 71.0, 72.0, 73.0, 74.0} and len(pulse) > 2
    nibps = {player.nibp_measurement(cycle, 60.0 * cycle) for cycle in range(1, 40)}
    systolics = {n.systolic for n in nibps}
    assert systolics <= {float(v) for v in range(117, 124)} and len(systolics) > 3
    for n in nibps:
        assert n.systolic is not None and n.diastolic is not None and n.mean is not None
        assert abs(n.diastolic - 78) <= 3
        assert n.mean == pytest.approx(n.diastolic + (n.systolic - n.diastolic) / 3, abs=0.5)


def test_nibp_appears_at_cycle_ends_and_holds_between(clock: FakeClock) -> None:
    player = ScenarioPlayer(quiet(), clock, start_wall=START)
    assert player.snapshot_at(59.0).nibp is None  # first cycle starts at 30 s, takes 30 s
    first = player.snapshot_at(60.0).nibp
    assert first is not None
    assert first.measured_at == START + timedelta(seconds=60)
    assert (first.systolic, first.diastolic) == (128.0, 84.0)  # the ramp's value at 60 s
    assert first.mean == round(84 + (128 - 84) / 3)
    assert player.snapshot_at(179.0).nibp == first
    second = player.snapshot_at(180.0).nibp
    assert second is not None and second.measured_at == START + timedelta(seconds=180)
    assert player.nibp_cycles_completed(180.0) == 2
    assert player.nibp_in_progress(35.0) and not player.nibp_in_progress(65.0)


def test_a_given_mean_is_used_instead_of_the_formula(clock: FakeClock) -> None:
    frames = [{"at": 0, "spo2": 98, "pulse": 70, "systolic": 120, "diastolic": 80, "mean": 99}]
    player = ScenarioPlayer(quiet(keyframes=frames), clock)
    nibp = player.snapshot_at(60.0).nibp
    assert nibp is not None and nibp.mean == 99.0


def test_cuff_error_fails_the_named_cycle(clock: FakeClock) -> None:
    events = [{"kind": "cuff-error", "cycle": 2, "reason": "cuff leak"}]
    player = ScenarioPlayer(quiet(events=events), clock)
    assert player.snapshot_at(60.0).nibp.error == ""  # type: ignore[union-attr]
    failed = player.snapshot_at(180.0).nibp
    assert failed is not None
    assert failed.error == "cuff leak"
    assert (failed.systolic, failed.diastolic, failed.mean) == (None, None, None)
    recovered = player.snapshot_at(300.0).nibp
    assert recovered is not None and recovered.error == "" and recovered.systolic is not None


def test_probe_off_reports_no_oximetry(clock: FakeClock) -> None:
    events = [{"kind": "probe-off", "from": 60, "to": 90}]
    player = ScenarioPlayer(quiet(events=events), clock)
    off = player.snapshot_at(75.0)
    assert (off.spo2, off.pulse_rate, off.perfusion_index) == (None, None, None)
    assert off.oximeter_quality is Quality.PROBE_OFF
    assert off.heart_rate is not None  # ECG does not need the finger probe
    assert off.nibp is not None  # the cuff carries on
    back = player.snapshot_at(90.0)
    assert back.oximeter_quality is Quality.VALID and back.spo2 is not None


def test_silence_and_disconnect_make_the_device_silent(clock: FakeClock) -> None:
    events = [{"kind": "silence", "from": 10, "to": 20}, {"kind": "disconnect", "from": 100, "to": 130}]
    player = ScenarioPlayer(quiet(events=events), clock)
    assert [player.snapshot_at(t).silent for t in (5, 10, 19.9, 20, 99, 115, 130)] == [
        False,
        True,
        True,
        False,
        False,
        True,
        False,
    ]


def test_irregular_pulse_varies_beat_to_beat_only_in_its_window(clock: FakeClock) -> None:
    flat = [{"at": 0, "spo2": 98, "pulse": 80, "systolic": 120, "diastolic": 80}]
    events = [{"kind": "irregular-pulse", "from": 100, "to": 200, "jitter": 20}]
    player = ScenarioPlayer(quiet(keyframes=flat, events=events), clock)
    regular = {player.snapshot_at(float(t)).pulse_rate for t in range(0, 100)}
    irregular = [player.snapshot_at(float(t)).pulse_rate for t in range(100, 200)]
    assert regular == {80.0}
    assert all(p is not None and 60 <= p <= 100 for p in irregular)
    assert len(set(irregular)) > 15


def test_the_player_finishes_with_the_scenario(clock: FakeClock) -> None:
    player = ScenarioPlayer(quiet(), clock, speed=60.0)
    clock.advance(9.9)
    assert not player.is_finished()
    clock.advance(0.1)
    assert player.is_finished()


def test_remote_start_measures_after_the_measurement_time(clock: FakeClock) -> None:
    remote = quiet(nibp={"interval": None, "measurement": "40s"})
    player = ScenarioPlayer(remote, clock, start_wall=START)
    clock.advance(200)
    assert player.snapshot().nibp is None  # no schedule: nothing until started
    assert player.start_nibp()
    assert not player.start_nibp()  # the cuff is busy
    clock.advance(39)
    assert player.snapshot().nibp is None
    clock.advance(1)
    nibp = player.snapshot().nibp
    assert nibp is not None
    assert nibp.measured_at == START + timedelta(seconds=240)
    assert nibp.systolic == 120 + 40 * 240 / 300  # the ramp at the cycle's end
    assert player.start_nibp()


def test_remote_only_ignores_the_schedule_and_measures_on_demand(clock: FakeClock) -> None:
    events = [{"kind": "cuff-error", "cycle": 2}]
    player = ScenarioPlayer(quiet(events=events), clock, start_wall=START, remote_nibp_only=True)
    clock.advance(100)
    assert player.snapshot().nibp is None
    first = player.measure_nibp_now().nibp
    assert first is not None and first.measured_at == START + timedelta(seconds=100) and not first.error
    clock.advance(50)
    second = player.measure_nibp_now().nibp
    assert second is not None and second.error == "cuff error"  # cycle 2, counted on demand


def test_shipped_full_session_plays_end_to_end(clock: FakeClock) -> None:
    player = ScenarioPlayer(load_scenario("full-session"), clock, speed=100.0)
    systolics: list[float] = []
    while not player.is_finished():
        clock.advance(1.5)
        nibp = player.snapshot().nibp
        if (
            nibp is not None
            and nibp.systolic is not None
            and (not systolics or systolics[-1] != nibp.systolic)
        ):
            systolics.append(nibp.systolic)
    assert player.nibp_cycles_completed() == 28  # every 2.5 min over 70 min
    assert max(systolics) > 1.3 * 120  # the spike is measured by a cycle
