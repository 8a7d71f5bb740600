"""CPC / Ivy 450C "ANSAR-B" serial frames: HR, SpO2, pulse rate and NIBP (MON-1, MON-4, MON-6).

Wire facts (OpenICE, mdpnp/mdpnp BSD-2-Clause: devices/cpc/ansarB/AnsarB.java and
ivy/_450c/DemoIvy450C.java; and the real capture in tests/fixtures/ivy/):

- 9600 8N1, one frame per second (200 ECG samples at 200 Hz per frame; OpenICE counts the
  device silent after 1.1 s).
- Frame: ``0xFF``, ASCII ``"ANSAR-B "``, 400 waveform bytes (ECG 200, resp 50, pleth 50, P1 50,
  P2 50; any value, 0xFB is filler), CR-terminated ASCII lines, ``0xFE``. The end byte is only
  looked for after the waveform, since a waveform byte may be 0xFE.
- A line is ``NAME=n;v1;...;vn;label;alarm``. ``n`` is the number of values that follow: it is
  1 for HR, RR, ETCO2, SPO2, T1, T2, 3 for P1/P2 and 4 for NIBP in every line of the capture,
  and the field counts match (OpenICE reads the fields by position and ignores ``n``).
  ``HR=1;80;ECG-II-DIAG;``: HR 80, label = ECG lead. ``SPO2=1;100;PR=80 ;``: the pulse rate
  rides in the SpO2 label. ``NIBP=4;121;75;92;80;;``: systolic, diastolic, mean, and the NIBP
  pulse rate (OpenICE maps it to MDC_PULS_RATE_NON_INV). Empty value = no number.
- The frame carries no clock and no NIBP measurement time. A NIBP value is therefore a new
  reading only when its values (or its error text) change; a frame repeating it is not a new
  measurement. Two successive cycles with identical numbers are indistinguishable on this wire.

The alarm texts the 450C sends are not in any public source we found (the capture has none):
``ALARM_QUALITY`` is our table of the texts that make a value untrustworthy, and the simulator
writes the same texts. Any other alarm text is kept in the observation's detail.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import ClassVar

from drivers._observe import make_observation
from drivers.ranges import screen
from drivers.types import (
    DecodeResult,
    FrameCounters,
    FrameRejection,
    LineSettings,
    Observation,
    Quality,
    Stamp,
    VitalKind,
    Waveform,
)

log = logging.getLogger(__name__)

FRAME_START = 0xFF
FRAME_END = 0xFE
HEADER = b"ANSAR-B "
WAVEFORM_LENGTH = 400
#: The pleth channel within the waveform: after ECG (200) and resp (50), 50 samples = 1 s at 50 Hz.
PLETH_OFFSET, PLETH_SAMPLES = 250, 50
#: Bytes from the start byte to the first text byte.
TEXT_OFFSET = 1 + len(HEADER) + WAVEFORM_LENGTH
#: Longest text part we accept; the capture's is 152 bytes.
MAX_TEXT = 2048
_START = bytes((FRAME_START,)) + HEADER

#: Alarm / status texts (upper-cased substring match) that make a value untrustworthy.
ALARM_QUALITY: dict[str, Quality] = {
    "PROBE OFF": Quality.PROBE_OFF,
    "NO SENSOR": Quality.PROBE_OFF,
    "SENSOR OFF": Quality.PROBE_OFF,
    "LEADS OFF": Quality.PROBE_OFF,
    "LEAD OFF": Quality.PROBE_OFF,
    "SEARCH": Quality.SEARCHING,
    "LOW PERF": Quality.LOW_PERFUSION,
    "ARTIFACT": Quality.ARTIFACT,
    "NOISE": Quality.ARTIFACT,
}


def alarm_quality(text: str) -> Quality:
    """The quality an alarm text implies (VALID when it names no measurement problem)."""
    upper = text.upper()
    for needle, quality in ALARM_QUALITY.items():
        if needle in upper:
            return quality
    return Quality.VALID


@dataclass(frozen=True, slots=True)
class AnsarParameter:
    """One ``NAME=n;values...;label;alarm`` line, all fields kept as the device sent them."""

    name: str
    count: int
    values: tuple[str, ...]
    label: str
    alarm: str


@dataclass(frozen=True, slots=True)
class IvyNibp:
    """The NIBP values a frame shows (the last completed cycle), or the cycle's error text."""

    systolic: int | None
    diastolic: int | None
    mean: int | None
    pulse_rate: int | None
    error: str = ""

    @property
    def has_values(self) -> bool:
        return self.systolic is not None or self.diastolic is not None or self.mean is not None


@dataclass(frozen=True, slots=True)
class AnsarFrame:
    """One parsed ANSAR-B frame: the numbers Bedside uses, plus every line kept raw."""

    waveform: bytes
    parameters: tuple[AnsarParameter, ...]
    heart_rate: int | None = None
    ecg_label: str = ""
    heart_rate_alarm: str = ""
    spo2: int | None = None
    pulse_rate: int | None = None
    spo2_alarm: str = ""
    nibp: IvyNibp | None = None

    def parameter(self, name: str) -> AnsarParameter | None:
        """The raw line for NAME (RR, ETCO2, P1, P2, T1, T2 ...), or None when absent."""
        return next((p for p in self.parameters if p.name == name), None)


class AnsarFrameError(ValueError):
    """A frame whose text part breaks the ANSAR-B grammar (the message says where)."""


_HEAD = re.compile(r"^([A-Z][A-Z0-9]*)=(\d+)$")
#: Digits a value may have: the 450C sends at most three; a longer run is a garbled line, and a
#: few hundred digits would not even fit a float (found by fuzzing, issue 11).
MAX_DIGITS = 6
_INT = re.compile(rf"^\s*(\d{{1,{MAX_DIGITS}}})\s*$")
_PR_LABEL = re.compile(r"^PR=\s*(\S*)\s*$")


def _int(name: str, raw: str) -> int | None:
    if not raw.strip():
        return None
    match = _INT.match(raw)
    if match is None:
        raise AnsarFrameError(
            f"{name} value {raw[:20]!r} is not a whole number of at most {MAX_DIGITS} digits"
        )
    return int(match.group(1))


def parse_parameter(line: str) -> AnsarParameter:
    """Parse one text line (without its CR)."""
    fields = line.split(";")
    head = _HEAD.match(fields[0])
    if head is None:
        raise AnsarFrameError(f"line {line!r} does not start with NAME=count")
    name, count = head.group(1), int(head.group(2))
    if len(fields) < count + 3:
        raise AnsarFrameError(f"{name} announces {count} values but the line has too few fields")
    return AnsarParameter(
        name=name,
        count=count,
        values=tuple(fields[1 : count + 1]),
        label=fields[count + 1],
        alarm=";".join(fields[count + 2 :]),
    )


def parse_ansar_frame(frame: bytes) -> AnsarFrame:
    """Parse one whole frame (0xFF ... 0xFE). Raises AnsarFrameError with the reason."""
    if not frame.startswith(_START) or frame[-1] != FRAME_END or len(frame) < TEXT_OFFSET + 1:
        raise AnsarFrameError("not a 0xFF 'ANSAR-B ' ... 0xFE frame")
    try:
        text = frame[TEXT_OFFSET:-1].decode("ascii")
    except UnicodeDecodeError:
        raise AnsarFrameError("text part is not ASCII") from None
    if text and not text.endswith("\r"):
        raise AnsarFrameError("last text line has no CR")
    parameters = tuple(parse_parameter(line) for line in text.split("\r")[:-1])
    names = [p.name for p in parameters]
    if len(set(names)) != len(names):
        raise AnsarFrameError(f"a parameter appears twice in {names}")
    by_name = {p.name: p for p in parameters}
    heart_rate: int | None = None
    ecg_label = heart_rate_alarm = spo2_alarm = ""
    spo2 = pulse_rate = None
    nibp: IvyNibp | None = None
    if (hr := by_name.get("HR")) is not None:
        heart_rate = _int("HR", hr.values[0]) if hr.values else None
        ecg_label, heart_rate_alarm = hr.label, hr.alarm
    if (sat := by_name.get("SPO2")) is not None:
        spo2 = _int("SPO2", sat.values[0]) if sat.values else None
        if spo2 is not None and spo2 > 100:
            raise AnsarFrameError(f"SPO2 {spo2} is above 100 %")
        pr = _PR_LABEL.match(sat.label)
        # "PR=---" or a blank PR means no pulse rate; digits are the rate.
        rate = pr.group(1) if pr is not None else ""
        pulse_rate = _int("PR", rate) if rate.isdigit() else None
        spo2_alarm = sat.alarm
    if (bp := by_name.get("NIBP")) is not None:
        if bp.count < 3:
            raise AnsarFrameError(f"NIBP announces {bp.count} values, needs at least 3")
        numbers = [_int("NIBP", raw) for raw in bp.values]
        nibp = IvyNibp(
            systolic=numbers[0],
            diastolic=numbers[1],
            mean=numbers[2],
            pulse_rate=numbers[3] if len(numbers) > 3 else None,
            error="" if any(n is not None for n in numbers[:3]) else bp.alarm.strip(),
        )
    return AnsarFrame(
        waveform=frame[1 + len(HEADER) : TEXT_OFFSET],
        parameters=parameters,
        heart_rate=heart_rate,
        ecg_label=ecg_label,
        heart_rate_alarm=heart_rate_alarm,
        spo2=spo2,
        pulse_rate=pulse_rate,
        spo2_alarm=spo2_alarm,
        nibp=nibp,
    )


class AnsarFramer:
    """Pure ANSAR-B framer: finds 0xFF 'ANSAR-B ', skips the waveform, ends at 0xFE.

    Bytes outside a frame are discarded and counted. A frame with no end within ``MAX_TEXT``
    text bytes, or cut short by a new frame start, is rejected and the search restarts after
    its start byte, so memory stays bounded whatever arrives.
    """

    def __init__(self) -> None:
        self.bytes_discarded = 0
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes held while a frame is incomplete (at most one frame's worth)."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[bytes | FrameRejection]:
        """Whole frames (0xFF ... 0xFE) and rejections, in stream order."""
        self._buffer += data
        out: list[bytes | FrameRejection] = []
        buf = self._buffer
        while buf:
            start = buf.find(FRAME_START)
            if start < 0:
                self.bytes_discarded += len(buf)
                buf.clear()
                break
            if start > 0:
                self.bytes_discarded += start
                del buf[:start]
            head = bytes(buf[: len(_START)])
            if not _START.startswith(head):
                self.bytes_discarded += 1  # a stray 0xFF, not a frame start
                del buf[:1]
                continue
            if len(head) < len(_START) or len(buf) <= TEXT_OFFSET:
                break  # wait for the rest of the header / waveform
            limit = min(len(buf), TEXT_OFFSET + MAX_TEXT + 1)
            end = next((i for i in range(TEXT_OFFSET, limit) if buf[i] in (FRAME_END, FRAME_START)), -1)
            if end >= 0 and buf[end] == FRAME_END:
                out.append(bytes(buf[: end + 1]))
                del buf[: end + 1]
                continue
            if end >= 0:  # a new start byte before this frame's end: the frame was cut short
                reason = "frame cut short by a new frame start"
            elif limit == TEXT_OFFSET + MAX_TEXT + 1:
                reason = f"no frame end within {MAX_TEXT} text bytes"
            else:
                break  # wait for more text
            out.append(FrameRejection(reason, bytes(buf[:TEXT_OFFSET])))
            self.bytes_discarded += 1
            del buf[:1]
        return out


@dataclass(frozen=True, slots=True)
class _NibpKey:
    systolic: int | None
    diastolic: int | None
    mean: int | None
    pulse_rate: int | None
    error: str


class IvyAnsarDriver:
    """Ivy 450C ANSAR-B driver: HR, SpO2, PR every frame; NIBP only when a new reading appears."""

    protocol: ClassVar[str] = "ivy-ansar"
    line_settings: ClassVar[LineSettings | None] = LineSettings(baudrate=9600)
    can_start_nibp: ClassVar[bool] = False

    def __init__(self, source: str) -> None:
        self.source = source
        self.counters = FrameCounters()
        self._framer = AnsarFramer()
        self._last_nibp: _NibpKey | None = None

    def feed(self, data: bytes, stamp: Stamp) -> DecodeResult:
        """Decode ``data``; broken frames are counted, never raised."""
        observations: list[Observation] = []
        rejections: list[FrameRejection] = []
        waves: list[Waveform] = []
        frames = 0
        for item in self._framer.feed(data):
            if isinstance(item, FrameRejection):
                rejections.append(item)
                continue
            try:
                frame = parse_ansar_frame(item)
            except AnsarFrameError as exc:
                rejections.append(FrameRejection(str(exc), item[TEXT_OFFSET:]))
                continue
            frames += 1
            observations.extend(self._observations(frame, stamp))
            if frame.parameter("SPO2") is not None:
                pleth = frame.waveform[PLETH_OFFSET : PLETH_OFFSET + PLETH_SAMPLES]
                waves.append(Waveform(tuple(pleth), PLETH_SAMPLES, self.source, stamp.mono))
        self.counters.tally(frames, rejections, self._framer.bytes_discarded, observations)
        if rejections:
            log.debug("%s: %d ANSAR-B rejection(s): %s", self.source, len(rejections), rejections[-1])
        return DecodeResult(tuple(observations), (), tuple(rejections), frames, tuple(waves))

    def _observations(self, frame: AnsarFrame, stamp: Stamp) -> list[Observation]:
        out: list[Observation] = []

        def add(kind: VitalKind, value: int | None, quality: Quality, detail: str) -> None:
            out.append(
                make_observation(
                    kind,
                    None if value is None else float(value),
                    quality,
                    measured_at=stamp.wall,
                    stamp=stamp,
                    source=self.source,
                    device=self.protocol,
                    detail=detail,
                )
            )

        if frame.parameter("HR") is not None:
            add(
                VitalKind.HEART_RATE,
                frame.heart_rate,
                alarm_quality(frame.heart_rate_alarm),
                frame.heart_rate_alarm or frame.ecg_label,
            )
        if frame.parameter("SPO2") is not None:
            quality = alarm_quality(frame.spo2_alarm)
            add(VitalKind.SPO2, frame.spo2, quality, frame.spo2_alarm)
            add(VitalKind.PULSE_RATE, frame.pulse_rate, quality, frame.spo2_alarm)
        out.extend(self._new_nibp(frame.nibp, stamp))
        return out

    def _new_nibp(self, nibp: IvyNibp | None, stamp: Stamp) -> list[Observation]:
        if nibp is None or (not nibp.has_values and not nibp.error):
            return []  # no cycle completed yet: nothing to report
        key = _NibpKey(nibp.systolic, nibp.diastolic, nibp.mean, nibp.pulse_rate, nibp.error)
        if key == self._last_nibp:
            return []  # the same reading shown again, not a new measurement
        self._last_nibp = key
        quality = Quality.CUFF_ERROR if nibp.error else Quality.VALID
        reading = [
            make_observation(
                kind,
                None if value is None else float(value),
                quality,
                measured_at=stamp.wall,
                stamp=stamp,
                source=self.source,
                device=self.protocol,
                detail=nibp.error,
            )
            for kind, value in (
                (VitalKind.NIBP_SYSTOLIC, nibp.systolic),
                (VitalKind.NIBP_DIASTOLIC, nibp.diastolic),
                (VitalKind.NIBP_MEAN, nibp.mean),
            )
        ]
        # Diastolic above systolic, a mean outside them: a garbled line no checksum guards.
        return list(screen(self.protocol, reading))

    def start_nibp_command(self) -> None:
        """Always None: ANSAR-B is an output-only stream, the 450C takes no remote NIBP start."""
        return None
