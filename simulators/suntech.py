"""The module side of a SunTech Advantage NIBP module: takes host commands, runs timed cycles (MON-3).

The inverse of ``drivers.suntech``: the same frames, from the other end. A cycle started by the
host ends ``measurement_s`` of clock time later with the NIBP values the scenario gives at that
moment, or with the module's error code when the scenario says the cuff failed. As the host
drivers we learned from expect, the module announces the end of a cycle by itself ('K'), and the
result is sent only when the host asks for it. What the real module does with a corrupt command
is not in our sources; this simulator answers 'N' (see ``drivers.suntech`` for what is assumed).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from drivers.clock import Clock
from drivers.suntech import (
    CMD_EXTENDED,
    CMD_START_ADULT,
    CMD_START_NEONATE,
    CMD_START_PEDIATRIC,
    COMMAND_ARGUMENT_BYTES,
    HOST_START,
    REQ_ABORT,
    REQ_BP_DATA,
    REQ_CUFF_PRESSURE,
    BpData,
    ModuleAck,
    ack_frame,
    module_frame,
)
from simulators.model import NibpSnapshot, VitalsSnapshot

log = logging.getLogger(__name__)

START_COMMANDS = frozenset({CMD_START_ADULT, CMD_START_PEDIATRIC, CMD_START_NEONATE})
ERROR_ABORTED = 0x56
ERROR_LOOSE_CUFF = 0x57
ERROR_WEAK_SIGNAL = 0x01
#: Cuff pressure (mmHg) the simulated module reports while a cycle runs.
CYCLE_CUFF_PRESSURE = 150

#: A scenario's free-text cuff-error reason -> the module error code that says it (first match wins).
ERROR_REASON_CODES: tuple[tuple[str, int], ...] = (
    ("abort", ERROR_ABORTED),
    ("overpressure", 0x59),
    ("over-pressure", 0x59),
    ("block", 0x55),
    ("leak", ERROR_LOOSE_CUFF),
    ("loose", ERROR_LOOSE_CUFF),
    ("motion", 0x02),
    ("artifact", 0x02),
    ("erratic", 0x02),
    ("weak", ERROR_WEAK_SIGNAL),
    ("no signal", ERROR_WEAK_SIGNAL),
    ("range", 0x03),
    ("timeout", 0x04),
    ("too long", 0x04),
    ("hardware", 0x5A),
)


def error_code_for(reason: str) -> int:
    """The module error code for a scenario's cuff-error reason; a plain "cuff error" is a loose cuff."""
    text = reason.lower()
    for keyword, code in ERROR_REASON_CODES:
        if keyword in text:
            return code
    return ERROR_LOOSE_CUFF


def bp_data_for(nibp: NibpSnapshot | None, pulse_rate: float | None, measurement_s: float) -> BpData:
    """The result a module stores for a cycle that ended with the scenario at ``nibp``."""
    if nibp is None:
        # No cuff physiology in the scenario: the module found no oscillations.
        return BpData(0, 0, 0, 0, error_code=ERROR_WEAK_SIGNAL)
    if nibp.error or nibp.systolic is None or nibp.diastolic is None or nibp.mean is None:
        return BpData(0, 0, 0, 0, error_code=error_code_for(nibp.error or "weak signal"))
    heart_rate = _clamp(pulse_rate or 0.0, 0xFF)
    beats = _clamp(heart_rate * measurement_s / 60.0, 0xFF)
    return BpData(
        systolic=_clamp(nibp.systolic, 0xFFFF),
        diastolic=_clamp(nibp.diastolic, 0xFFFF),
        mean=_clamp(nibp.mean, 0xFFFF),
        heart_rate=heart_rate,
        heart_beats=beats,
    )


def _clamp(value: float, top: int) -> int:
    return max(0, min(top, round(value)))


class SuntechAdvantageSimulator:
    """A simulated SunTech Advantage module: ``receive`` host bytes, ``poll`` for unsolicited ones."""

    protocol = "suntech-advantage"

    def __init__(
        self, clock: Clock, measurement_s: float = 30.0, *, vitals: Callable[[], VitalsSnapshot]
    ) -> None:
        if measurement_s <= 0:
            raise ValueError(f"measurement_s must be positive, got {measurement_s}")
        self._clock = clock
        self.measurement_s = measurement_s
        self._vitals = vitals
        self._buffer = bytearray()
        self._cycle_started: float | None = None
        self._stored = BpData(0, 0, 0, 0)
        #: Host commands whose checksum failed (a test can see the module noticed).
        self.commands_rejected = 0

    @property
    def measuring(self) -> bool:
        """True while a cycle is running."""
        return self._cycle_started is not None

    @property
    def stored_result(self) -> BpData:
        """The result the module would send if asked now."""
        return self._stored

    def poll(self) -> bytes:
        """Unsolicited bytes due now: the 'K' that ends a cycle once ``measurement_s`` has passed."""
        started = self._cycle_started
        if started is None or self._clock.monotonic() - started < self.measurement_s:
            return b""
        self._cycle_started = None
        snapshot = self._vitals()
        self._stored = bp_data_for(
            snapshot.nibp, snapshot.pulse_rate or snapshot.heart_rate, self.measurement_s
        )
        return ack_frame(ModuleAck.EXECUTED)

    def receive(self, data: bytes) -> bytes:
        """Take host bytes (any chunking); return everything the module sends in answer."""
        out = bytearray(self.poll())  # a cycle that ended before this command is announced first
        self._buffer += data
        buf = self._buffer
        while buf:
            start = buf.find(HOST_START)
            if start < 0:
                buf.clear()
                break
            del buf[:start]
            if len(buf) < 2:
                break
            command = buf[1]
            arguments = COMMAND_ARGUMENT_BYTES.get(command)
            if arguments is None:
                log.info("simulated SunTech: unknown command byte 0x%02X", command)
                out += ack_frame(ModuleAck.UNRECOGNIZED)
                del buf[:2]
                continue
            length = 3 + arguments
            if len(buf) < length:
                break
            frame = bytes(buf[:length])
            if sum(frame) & 0xFF != 0:
                self.commands_rejected += 1
                out += ack_frame(ModuleAck.NOT_ACCEPTED)
                del buf[:1]  # the ':' was not a command start after all, or the command was hit
                continue
            del buf[:length]
            out += self._execute(frame[1:-1])
        return bytes(out)

    def _execute(self, body: bytes) -> bytes:
        command = body[0]
        if command in START_COMMANDS:
            if self.measuring:
                return ack_frame(ModuleAck.BUSY)
            self._cycle_started = self._clock.monotonic()
            return ack_frame(ModuleAck.RECEIVED)
        if command == CMD_EXTENDED:
            if body == REQ_BP_DATA:
                return self._stored.encode()
            if body == REQ_CUFF_PRESSURE:
                pressure = CYCLE_CUFF_PRESSURE if self.measuring else 0
                return module_frame(pressure.to_bytes(2, "little"))
            if body == REQ_ABORT:
                if self.measuring:
                    self._cycle_started = None
                    self._stored = BpData(0, 0, 0, 0, error_code=ERROR_ABORTED)
                return ack_frame(ModuleAck.ABORTED) + ack_frame(ModuleAck.EXECUTED)
        # Calibration, sleep, pneumatics, version...: real commands this simulator does not model.
        log.info("simulated SunTech: command %s not simulated", body.hex(" "))
        return ack_frame(ModuleAck.UNRECOGNIZED)
