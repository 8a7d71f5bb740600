"""Device clock settings and the learned clock offset (ALM-4, MON-6).

Finding 2 of issue 8: Masimo lines carry local time without a zone and were read as UTC, so a
clinic east of UTC had every SpO2 "measured in the future". Each device now has a clock setting
(zone, fixed offset, or arrival; default this PC's zone) and an offset learned from its first
samples is shown.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from drivers.device_clock import (
    ClockSettingError,
    DeviceClockSetting,
    DeviceClockWatch,
    SystemLocalZone,
    local_zone,
)
from drivers.hl7_pcd01 import Hl7Pcd01Driver
from drivers.masimo import MasimoAsciiDriver
from drivers.registry import DRIVERS, make_driver
from drivers.types import Observation, Stamp, VitalKind

ROOT = Path(__file__).resolve().parents[2]
ARRIVAL = Stamp(wall=datetime(2026, 11, 23, 8, 0, 3, 250000, tzinfo=UTC), mono=500.0)


def masimo_line(local: datetime, spo2: int = 97) -> bytes:
    """An ASCII 1 line whose device time is the naive wall time ``local``."""
    return (
        f"{local:%m/%d/%y %H:%M:%S} SN=0000031415 SPO2={spo2:03d}% BPM=072 PI=02.15% "
        "SPCO=--.-% SPMET=--.-% DESAT=-- PIDELTA=+-- ALARM=0000 EXC=000800\r\n"
    ).encode()


def spo2_of(observations: tuple[Observation, ...]) -> Observation:
    return next(o for o in observations if o.kind is VitalKind.SPO2)


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(
    ("local", "utc"),
    [
        # Winter: Berlin is UTC+1.
        (datetime(2026, 11, 23, 9, 0, 0), datetime(2026, 11, 23, 8, 0, 0, tzinfo=UTC)),
        # Summer: Berlin is UTC+2 (daylight saving comes from the zone, not a fixed offset).
        (datetime(2026, 7, 1, 9, 0, 0), datetime(2026, 7, 1, 7, 0, 0, tzinfo=UTC)),
    ],
)
def test_masimo_local_time_in_berlin_is_read_in_berlin(local: datetime, utc: datetime) -> None:
    """Finding 2: a Rad-8 set to Berlin time says 09:00; that is 08:00 UTC (07:00 in summer)."""
    driver = make_driver("masimo-ascii", "oximeter", DeviceClockSetting.parse("Europe/Berlin"))
    obs = spo2_of(driver.feed(masimo_line(local), ARRIVAL).observations)
    assert obs.measured_at == utc
    assert obs.measured_at.tzinfo is not None
    assert obs.received_at == ARRIVAL.wall


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(
    ("text", "utc_hour", "utc_minute"),
    [("+02:00", 7, 0), ("-0530", 14, 30), ("+0530", 3, 30), ("UTC", 9, 0), ("-03", 12, 0)],
)
def test_fixed_offsets_are_read_as_offsets(text: str, utc_hour: int, utc_minute: int) -> None:
    """A device that never changes for daylight saving is set with a fixed offset."""
    driver = make_driver("masimo-ascii", "oximeter", DeviceClockSetting.parse(text))
    obs = spo2_of(driver.feed(masimo_line(datetime(2026, 11, 23, 9, 0, 0)), ARRIVAL).observations)
    assert obs.measured_at == datetime(2026, 11, 23, utc_hour, utc_minute, tzinfo=UTC)


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize("protocol", ["masimo-ascii", "hl7-pcd01"])
def test_arrival_setting_ignores_the_device_time(protocol: str) -> None:
    """``arrival``: a device clock nobody can set is ignored; values are stamped when they arrive."""
    driver = make_driver(protocol, "dev", DeviceClockSetting.parse("arrival"))
    if protocol == "masimo-ascii":
        data = masimo_line(datetime(2031, 1, 1, 0, 0, 0))
    else:
        data = (
            b"\x0bMSH|^~\\&|GW||||20310101000000+0000||ORU^R01^ORU_R01|1|P|2.6\r"
            b"OBR|1|||x|||20310101000000+0000\r"
            b"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.0.0.1|97|262688^MDC_DIM_PERCENT^MDC|||||R|||"
            b"20310101000000+0000\r\x1c\r"
        )
    obs = spo2_of(driver.feed(data, ARRIVAL).observations)
    assert obs.measured_at == ARRIVAL.wall


@pytest.mark.req("ALM-4")
def test_hl7_time_without_offset_follows_the_clock_setting() -> None:
    """An HL7 DTM without an offset is the sender's local time, like a Masimo line's."""
    driver = make_driver("hl7-pcd01", "gw", DeviceClockSetting.parse("America/New_York"))
    assert isinstance(driver, Hl7Pcd01Driver)
    data = (
        b"\x0bMSH|^~\\&|GW||||20261123090000||ORU^R01^ORU_R01|1|P|2.6\r"
        b"OBR|1|||x|||20261123090000\r"
        b"OBX|1|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.0.0.1|97|262688^MDC_DIM_PERCENT^MDC|||||R\r\x1c\r"
    )
    obs = spo2_of(driver.feed(data, ARRIVAL).observations)
    assert obs.measured_at == datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


@pytest.mark.req("ALM-4")
def test_default_setting_is_this_pcs_zone_not_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    """Finding 2: with no setting, a device's local time is read in this PC's zone (injected via TZ)."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    driver = make_driver("masimo-ascii", "oximeter")
    assert isinstance(driver, MasimoAsciiDriver)
    obs = spo2_of(driver.feed(masimo_line(datetime(2026, 11, 23, 9, 0, 0)), ARRIVAL).observations)
    assert obs.measured_at == datetime(2026, 11, 23, 3, 30, tzinfo=UTC)


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(("tz", "utc_hour"), [("Europe/Berlin", 8), ("America/New_York", 14)])
def test_default_zone_in_a_process_started_in_another_zone(tz: str, utc_hour: int) -> None:
    """The same through a fresh process whose zone is set by the operating system's TZ."""
    code = (
        "from datetime import datetime; from drivers.registry import make_driver; "
        "from drivers.types import Stamp, VitalKind; "
        "from datetime import UTC; "
        "line = b'11/23/26 09:00:00 SN=1 SPO2=097% BPM=072 PI=02.15% ALARM=0000 EXC=000800\\r\\n'; "
        "stamp = Stamp(datetime(2026, 11, 23, 12, 0, tzinfo=UTC), 1.0); "
        "obs = make_driver('masimo-ascii', 'm').feed(line, stamp).observations[0]; "
        "print(obs.measured_at.isoformat())"
    )
    env = {**os.environ, "TZ": tz, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"2026-11-23T{utc_hour:02d}:00:00+00:00"


def test_posix_tz_string_falls_back_to_the_system_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """A TZ the zone database cannot name (a POSIX rule) is still applied, by the C library."""
    monkeypatch.setenv("TZ", "XST-3")
    assert isinstance(local_zone(), SystemLocalZone)
    import time

    time.tzset()
    try:
        zone = SystemLocalZone()
        at = datetime(2026, 11, 23, 9, 0, 0).replace(tzinfo=zone)
        assert at.astimezone(UTC) == datetime(2026, 11, 23, 6, 0, tzinfo=UTC)
        assert datetime(2026, 11, 23, 6, 0, tzinfo=UTC).astimezone(zone).hour == 9
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(
    "text", ["Europe/Berlni", "Mars/Olympus_Mons", "+25:00", "+02:75", "", "  ", "../../etc/passwd", "Europe"]
)
def test_a_bad_zone_is_rejected_with_one_clear_sentence(text: str) -> None:
    """A typo in a zone must not silently fall back to UTC: it is refused, saying what to write."""
    with pytest.raises(ClockSettingError) as caught:
        DeviceClockSetting.parse(text)
    message = str(caught.value)
    assert "\n" not in message
    assert "Europe/Berlin" in message and "+02:00" in message and "arrival" in message


def test_settings_say_what_they_are() -> None:
    assert DeviceClockSetting.parse("arrival").uses_arrival
    assert DeviceClockSetting.parse(" ARRIVAL ").uses_arrival
    assert not DeviceClockSetting.parse("local").uses_arrival
    assert str(DeviceClockSetting.parse("Europe/Berlin")) == "Europe/Berlin"
    assert DeviceClockSetting.parse("+02:00").zone == timezone(timedelta(hours=2))
    with pytest.raises(ValueError, match="arrival"):
        DeviceClockSetting.arrival().to_utc(datetime(2026, 1, 1))


def test_only_drivers_whose_frames_carry_time_take_a_setting() -> None:
    """Nonin, Ivy and SunTech frames have no clock: a setting cannot change their arrival stamps."""
    assert {p for p, e in DRIVERS.items() if e.device_time} == {"masimo-ascii", "hl7-pcd01"}
    for protocol in ("nonin-df2", "ivy-ansar", "suntech-advantage"):
        driver = make_driver(protocol, "x", DeviceClockSetting.parse("Europe/Berlin"))
        assert driver.source == "x"


ZONES = ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Asia/Kathmandu", "UTC"]


@pytest.mark.req("ALM-4")
@given(
    zone_name=st.sampled_from(ZONES),
    instant=st.datetimes(min_value=datetime(2016, 1, 1), max_value=datetime(2035, 12, 31)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)
    ),
)
@settings(max_examples=200, deadline=None)
def test_a_zoned_device_clock_always_gives_back_the_true_instant(zone_name: str, instant: datetime) -> None:
    """Whatever the zone and the season, a line written at local time decodes to the same instant
    (except in the hour a daylight-saving change repeats, which the line cannot tell apart)."""
    zone = ZoneInfo(zone_name)
    local = instant.astimezone(zone).replace(tzinfo=None)
    assume(local.replace(tzinfo=zone).astimezone(UTC) == instant)  # not the repeated hour
    driver = make_driver("masimo-ascii", "m", DeviceClockSetting.parse(zone_name))
    obs = spo2_of(driver.feed(masimo_line(local), ARRIVAL).observations)
    assert obs.measured_at == instant


# -- the learned offset ----------------------------------------------------------------------------


def pairs(
    offset_s: float, jitter: list[float], start: datetime | None = None
) -> list[tuple[datetime, datetime]]:
    """(measured_at, received_at) one second apart, the device ``offset_s`` ahead, plus jitter."""
    start = start or datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    out = []
    for n, extra in enumerate(jitter):
        received = start + timedelta(seconds=n)
        out.append((received + timedelta(seconds=offset_s + extra), received))
    return out


@pytest.mark.req("ALM-4")
@pytest.mark.parametrize(("offset", "implausible"), [(6.0, True), (-3600.0, True), (-0.4, False)])
def test_watch_learns_the_median_offset(offset: float, implausible: bool) -> None:
    """Finding 2: a Masimo 6 s ahead, one an hour behind (zone not set), one in step."""
    watch = DeviceClockWatch("sim-masimo-ascii-1", tolerance_s=5.0, learn_samples=30)
    learned = None
    # A serial link delivers some frames late: those make the device look further behind.
    jitter = [0.0, -0.3, -2.5, 0.1, -0.2] * 6
    for measured, received in pairs(offset, jitter):
        assert watch.offset_s is None
        learned = watch.observe(measured, received) or learned
    assert learned is not None and watch.learned == learned
    assert watch.offset_s == pytest.approx(offset - 0.2, abs=0.11)
    assert watch.implausible is implausible
    assert learned.samples == 30


def test_watch_describes_the_offset_in_words() -> None:
    watch = DeviceClockWatch("sim-masimo-ascii-1", tolerance_s=5.0, learn_samples=3)
    for measured, received in pairs(6.0, [0.0, 0.0, 0.0]):
        watch.observe(measured, received)
    assert watch.learned is not None
    assert watch.learned.describe() == "sim-masimo-ascii-1 clock is 6.0 s ahead of this PC"
    behind = DeviceClockWatch("oximeter", tolerance_s=5.0, learn_samples=1)
    behind.observe(*pairs(-3600.0, [0.0])[0])
    assert behind.learned is not None
    assert behind.learned.describe() == "oximeter clock is 60.0 min behind this PC"


def test_watch_ends_learning_after_its_window_and_then_keeps_the_offset() -> None:
    watch = DeviceClockWatch("m", tolerance_s=5.0, learn_samples=1000, learn_window_s=10.0)
    learned = [watch.observe(m, r) for m, r in pairs(6.0, [0.0] * 11)]
    assert learned[:10] == [None] * 10 and learned[10] is not None
    assert watch.samples == 11
    assert watch.observe(*pairs(-50.0, [0.0])[0]) is None  # learned once: later samples do not move it
    assert watch.offset_s == 6.0


def test_watch_skips_values_stamped_on_arrival() -> None:
    """A device without a clock (measured_at is the arrival time) has no offset to show."""
    watch = DeviceClockWatch("nonin", tolerance_s=5.0, learn_samples=2)
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    for n in range(10):
        assert watch.observe(at + timedelta(seconds=n), at + timedelta(seconds=n)) is None
    assert watch.offset_s is None and watch.samples == 0


@pytest.mark.req("ALM-4")
@given(
    offset=st.floats(min_value=-86_400, max_value=86_400, allow_nan=False),
    delays=st.lists(st.floats(min_value=0.0, max_value=0.5), min_size=15, max_size=15),
    late=st.lists(st.floats(min_value=0.5, max_value=30.0), max_size=7),
)
@settings(max_examples=200, deadline=None)
def test_watch_is_not_moved_by_a_minority_of_late_frames(
    offset: float, delays: list[float], late: list[float]
) -> None:
    """Skewed clocks with transport delay: fewer than half the frames very late never move the
    learned offset outside the normal delay range."""
    jitter = [-d for d in delays] + [-x for x in late]
    # A pair with measured == received to the microsecond is how a driver says "no device time".
    assume(all(abs(offset + j) >= 1e-3 for j in jitter))
    watch = DeviceClockWatch("m", tolerance_s=5.0, learn_samples=len(jitter))
    for measured, received in pairs(offset, jitter):
        watch.observe(measured, received)
    assert watch.offset_s is not None
    assert offset - 0.5 - 1e-6 <= watch.offset_s <= offset + 1e-6
    assert watch.implausible is (abs(watch.offset_s) > 5.0)


def test_watch_refuses_nonsense_parameters() -> None:
    with pytest.raises(ValueError, match="learn_samples"):
        DeviceClockWatch("m", tolerance_s=5.0, learn_samples=0)


@pytest.mark.req("ALM-4")
def test_a_clock_behind_is_judged_by_its_own_tolerance() -> None:
    """Values arrive after they were measured: 6 s behind is in tolerance when the clinic allows
    300 s behind (the alarm system's past_tolerance_s), while 6 s ahead is not."""
    now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    behind = DeviceClockWatch("m", tolerance_s=5.0, behind_tolerance_s=300.0, learn_samples=1)
    learned = behind.observe(now - timedelta(seconds=6), now)
    assert learned is not None and not learned.implausible
    ahead = DeviceClockWatch("m", tolerance_s=5.0, behind_tolerance_s=300.0, learn_samples=1)
    learned = ahead.observe(now + timedelta(seconds=6), now)
    assert learned is not None and learned.implausible
