"""Device clocks: the zone a device's clock is set to, and the offset it shows against this PC (ALM-4).

Many devices send their own local time without a zone (a Masimo ASCII 1 line is ``11/23/26
09:00:00``). Read as UTC, a clinic east of UTC gets every value "measured in the future" and a
clinic west of UTC gets every value hours old. So each device has a ``DeviceClockSetting``:

- an IANA zone (``Europe/Berlin``): its times are local times there, daylight saving included;
- a fixed offset (``+02:00``, ``-0530``): for a device that never changes for daylight saving;
- ``arrival``: ignore the device's time and stamp each value when it arrives (a device whose clock
  cannot be trusted or set);
- ``local`` (the default): the zone of this PC, since a device in the same room is usually set to
  the same wall clock.

``DeviceClockWatch`` learns, from the first samples of a link, how far the device clock is from
this PC (the median of measured-minus-arrival, so a few late frames do not move it) and says when
the offset is beyond a tolerance. Skew is shown and alarmed as a technical matter; it never stops
values being judged (the engine judges on arrival time).
"""

from __future__ import annotations

import logging
import os
import re
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

ARRIVAL = "arrival"
LOCAL = "local"

_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{1,2}):?(\d{2})?$", re.IGNORECASE)
#: Real zones span UTC-12:00 to UTC+14:00.
_MAX_OFFSET = timedelta(hours=14)
_EPOCH = datetime(1970, 1, 1)


class ClockSettingError(ValueError):
    """A device clock setting that is not a zone, an offset, ``local`` or ``arrival``."""


class SystemLocalZone(tzinfo):
    """This PC's zone as the operating system applies it (the ``TZ`` variable, /etc/localtime),
    daylight saving included. Used when the zone has no IANA name Python can load."""

    def _local_struct(self, dt: datetime) -> time.struct_time:
        naive = dt.replace(tzinfo=None)
        # tm_isdst=-1: let the C library decide whether daylight saving applies at that wall time.
        stamp = time.mktime((*naive.timetuple()[:8], -1))
        return time.localtime(stamp)

    def utcoffset(self, dt: datetime | None) -> timedelta:
        """The offset in force at the local wall time ``dt`` (now when None)."""
        local = time.localtime() if dt is None else self._local_struct(dt)
        return timedelta(seconds=local.tm_gmtoff)

    def dst(self, dt: datetime | None) -> timedelta:
        """One hour while daylight saving applies (the C library does not say how much)."""
        local = time.localtime() if dt is None else self._local_struct(dt)
        return timedelta(hours=1) if local.tm_isdst > 0 else timedelta(0)

    def tzname(self, dt: datetime | None) -> str:
        """The abbreviation the system uses (CET, EST ...)."""
        local = time.localtime() if dt is None else self._local_struct(dt)
        return local.tm_zone

    def fromutc(self, dt: datetime) -> datetime:
        """UTC wall time (tzinfo=self) to local wall time."""
        seconds = (dt.replace(tzinfo=None) - _EPOCH).total_seconds()
        return dt + timedelta(seconds=time.localtime(seconds).tm_gmtoff)

    def __repr__(self) -> str:
        return "SystemLocalZone()"


def local_zone() -> tzinfo:
    """This PC's time zone: its IANA zone when it has one Python can load, else the system's rules."""
    name = os.environ.get("TZ", "").lstrip(":")
    if name:
        zone = _load_zone(name)
        # A POSIX TZ string ("CET-1CEST") has no IANA file, but the C library applies it.
        return zone if zone is not None else SystemLocalZone()
    try:
        target = os.path.realpath("/etc/localtime")
    except OSError:
        return SystemLocalZone()
    _, marker, key = target.partition("zoneinfo/")
    zone = _load_zone(key) if marker else None
    return zone if zone is not None else SystemLocalZone()


def _load_zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _parse_offset(text: str) -> timezone | None:
    match = _OFFSET.match(text)
    if match is None:
        return None
    sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
    if minutes > 59:
        return None
    offset = timedelta(hours=hours, minutes=minutes)
    if offset > _MAX_OFFSET:
        return None
    return timezone(-offset if sign == "-" else offset)


@dataclass(frozen=True, slots=True)
class DeviceClockSetting:
    """How to read one device's times. ``zone`` is None only for ``arrival``."""

    text: str
    zone: tzinfo | None

    @property
    def uses_arrival(self) -> bool:
        """True when the device's own time is ignored and values are stamped on arrival."""
        return self.zone is None

    @classmethod
    def arrival(cls) -> DeviceClockSetting:
        """Ignore the device time; stamp every value when it arrives."""
        return cls(ARRIVAL, None)

    @classmethod
    def local(cls) -> DeviceClockSetting:
        """The device clock shows this PC's local time (the default)."""
        return cls(LOCAL, local_zone())

    @classmethod
    def fixed(cls, zone: tzinfo, text: str = "") -> DeviceClockSetting:
        """A known zone object (simulators, tests)."""
        return cls(text or str(zone), zone)

    @classmethod
    def parse(cls, text: str) -> DeviceClockSetting:
        """``Europe/Berlin``, ``UTC``, ``+02:00``, ``-0530``, ``local`` or ``arrival``.

        Raises ClockSettingError with one sentence saying what to write instead.
        """
        cleaned = text.strip()
        if cleaned.lower() == ARRIVAL:
            return cls.arrival()
        if cleaned.lower() == LOCAL:
            return cls.local()
        offset = _parse_offset(cleaned)
        if offset is not None:
            return cls(cleaned, offset)
        # ZoneInfo would also read a relative file path; an IANA key never starts with / or ".".
        zone = _load_zone(cleaned) if cleaned and not cleaned.startswith((".", "/")) else None
        if zone is None:
            raise ClockSettingError(
                f"device clock {text!r} is not a time zone, an offset or 'arrival': write an IANA zone "
                "such as Europe/Berlin, an offset such as +02:00, local (this PC's zone) or arrival"
            )
        return cls(cleaned, zone)

    def to_utc(self, device_time: datetime) -> datetime:
        """A naive device wall time as an aware UTC time (only for zone or offset settings)."""
        if self.zone is None:
            raise ValueError("an 'arrival' clock setting has no zone to read device times in")
        return device_time.replace(tzinfo=self.zone).astimezone(UTC)

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True, slots=True)
class ClockOffset:
    """What a watch learned: the device's median offset from this PC and whether it is plausible."""

    source: str
    offset_s: float
    samples: int
    tolerance_s: float
    behind_tolerance_s: float | None = None  # None: the same tolerance both ways

    @property
    def implausible(self) -> bool:
        """True when the device clock is ahead by more than the tolerance, or behind by more than
        the behind tolerance (values arrive after they were measured, so behind is allowed more)."""
        behind = self.tolerance_s if self.behind_tolerance_s is None else self.behind_tolerance_s
        return self.offset_s > self.tolerance_s or -self.offset_s > behind

    def describe(self) -> str:
        """The offset in a clinic's words: "oximeter clock is 6.0 s ahead of this PC"."""
        if abs(self.offset_s) < 0.05:
            return f"{self.source} clock is in step with this PC"
        side = "ahead of" if self.offset_s > 0 else "behind"
        return f"{self.source} clock is {_duration(abs(self.offset_s))} {side} this PC"


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.2f} h"


class DeviceClockWatch:
    """Learns a device's clock offset (device minus PC) from the first samples of a link.

    Fed (measured_at, received_at) pairs of values that carry a device time. Learning ends at the
    first of ``learn_samples`` samples or ``learn_window_s`` seconds after the first sample; the
    median of what came in until then is the offset, kept for the rest of the session. Pairs with
    ``measured_at == received_at`` carry no device time (the driver stamped them on arrival) and
    are skipped.
    """

    def __init__(
        self,
        source: str,
        *,
        tolerance_s: float,
        behind_tolerance_s: float | None = None,
        learn_samples: int = 60,
        learn_window_s: float = 120.0,
        step_tolerance_s: float = 2.0,
    ) -> None:
        if learn_samples < 1 or learn_window_s < 0 or tolerance_s < 0:
            raise ValueError("learn_samples must be >= 1; learn_window_s and tolerance_s >= 0")
        self.source = source
        self.tolerance_s = tolerance_s
        self.behind_tolerance_s = behind_tolerance_s
        self.learn_samples = learn_samples
        self.learn_window_s = learn_window_s
        self.step_tolerance_s = step_tolerance_s
        #: How many times learning started again because this PC's clock stepped.
        self.rebases = 0
        self._offsets: list[float] = []
        self._first_received: datetime | None = None
        self._first_mono: float | None = None
        self._last_arrival: tuple[datetime, float] | None = None
        self._learned: ClockOffset | None = None

    @property
    def learned(self) -> ClockOffset | None:
        """The learned offset, or None while still learning (or for a device without a clock)."""
        return self._learned

    @property
    def offset_s(self) -> float | None:
        """Device minus PC in seconds (positive: the device is ahead), once learned."""
        return None if self._learned is None else self._learned.offset_s

    @property
    def implausible(self) -> bool:
        """True once the learned offset is beyond the tolerance."""
        return self._learned is not None and self._learned.implausible

    @property
    def samples(self) -> int:
        """Samples taken so far (frozen once learned)."""
        return len(self._offsets)

    def rebase(self, reason: str) -> None:
        """Forget what was learned and learn again: this PC's clock stepped, so every offset
        measured against it before is off by the step."""
        log.warning("%s: device clock offset learned again: %s", self.source, reason)
        self.rebases += 1
        self._offsets.clear()
        self._first_received = self._first_mono = None
        self._learned = None

    def observe(
        self, measured_at: datetime, received_at: datetime, received_mono: float | None = None
    ) -> ClockOffset | None:
        """Take one pair; returns the ClockOffset on the sample that completes learning, else None.

        With ``received_mono`` (the arrival's monotonic seconds) a step of this PC's wall clock
        between two arrivals is detected: learning starts again (``rebase``), even after it ended,
        and the learning window is measured on the monotonic clock.
        """
        if received_mono is not None:
            self._check_for_step(received_at, received_mono)
        if self._learned is not None or measured_at == received_at:
            return None
        if self._first_received is None:
            self._first_received, self._first_mono = received_at, received_mono
        self._offsets.append((measured_at - received_at).total_seconds())
        if received_mono is not None and self._first_mono is not None:
            elapsed = received_mono - self._first_mono
        else:
            elapsed = (received_at - self._first_received).total_seconds()
        window_over = elapsed >= self.learn_window_s
        if len(self._offsets) >= self.learn_samples or window_over:
            self._learned = ClockOffset(
                self.source,
                statistics.median(self._offsets),
                len(self._offsets),
                self.tolerance_s,
                self.behind_tolerance_s,
            )
            return self._learned
        return None

    def _check_for_step(self, received_at: datetime, received_mono: float) -> None:
        last = self._last_arrival
        self._last_arrival = (received_at, received_mono)
        if last is None:
            return
        wall_s = (received_at - last[0]).total_seconds()
        mono_s = received_mono - last[1]
        step = wall_s - mono_s
        if abs(step) > self.step_tolerance_s:
            direction = "forward" if step > 0 else "back"
            self.rebase(f"this PC's clock was set {direction} by {abs(step):.0f} s")
