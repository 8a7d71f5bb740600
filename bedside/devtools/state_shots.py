"""Screenshots of monitor states a simulator run cannot stage on cue: a trend with gaps, a dead
device greyed, the pleth strip. The real window and engine, fed through ``MonitorCore`` on a fake
clock (40 minutes of a session in a second), grabbed at 1366x768 and 1920x1080.

    PYTHONPATH=$PWD python -m bedside.devtools.state_shots docs
"""

from __future__ import annotations

import math
import os
import sys
from pathlib import Path

from drivers.types import (
    DecodeResult,
    DeviceEvent,
    DeviceEventKind,
    Observation,
    Quality,
    VitalKind,
    Waveform,
)

OXIMETER = "sim-nonin-df2-1"
NIBP = "sim-suntech-advantage-1"
SIZES = ((1366, 768), (1920, 1080))


def _session(dead: str) -> object:
    """A window 40 minutes into a drill: a probe-off stretch and a 5-minute silence in the trend,
    NIBP every 5 minutes, and then the device ``dead`` unplugged (its cable pulled)."""
    from alarms import load_config
    from bedside.monitor.core import MonitorCore
    from bedside.views.window import MonitorWindow
    from bedside.workflow.clinical import ClinicalSession
    from drivers.clock import FakeClock

    clock = FakeClock()
    core = MonitorCore(clock)
    window = MonitorWindow(core, "cable pull (state screenshot)")
    clinical = ClinicalSession(
        clock, load_config(), session_id="shots", record=lambda _r: None,
        nibp_link_send=None, nibp_start_command=None,
    )  # fmt: skip
    window.attach_clinical(clinical, clock.now())
    window.session_controls.clinician.setText("RN Diaz")

    def deliver(source: str, *obs: Observation) -> None:
        core.on_result(DecodeResult(observations=obs, frames=1), source)
        core.pump()

    def value(kind: VitalKind, v: float | None, source: str, quality: Quality = Quality.VALID) -> Observation:
        s = clock.stamp()
        return Observation(kind, v, "%", s.wall, s.wall, s.mono, source, quality)

    for event_source in (OXIMETER, NIBP):
        core.on_event(DeviceEvent(DeviceEventKind.CONNECTED, event_source, clock.stamp()))

    wave_phase = [0.0]

    def second_of(second: int, live: set[str]) -> None:
        minute = second / 60
        if OXIMETER in live and not 25 <= minute < 30:  # 25-30 min: the oximeter sent nothing
            probe_off = 15 <= minute < 17
            spo2 = 97 - 3 * math.exp(-(((minute - 33) / 2) ** 2)) + math.sin(second / 40)
            pulse = 76 + 8 * math.sin(second / 300)
            quality = Quality.PROBE_OFF if probe_off else Quality.VALID
            deliver(
                OXIMETER,
                value(VitalKind.SPO2, None if probe_off else round(spo2), OXIMETER, quality),
                value(VitalKind.PULSE_RATE, None if probe_off else round(pulse), OXIMETER, quality),
            )
            # A pulse wave at the pulse rate, 75 samples a second as a DF2 sends it.
            step = 2 * math.pi * pulse / 60 / 75  # the phase carries on from the last sample
            phase = [wave_phase[0] + step * n for n in range(75)]
            wave_phase[0] += step * 75
            samples = tuple(int(128 + 80 * math.sin(p) + 30 * math.sin(2 * p + 0.8)) for p in phase)
            core.on_result(
                DecodeResult(frames=75, waveforms=(Waveform(samples, 75.0, OXIMETER, clock.monotonic()),)),
                OXIMETER,
            )
            core.pump()
        if NIBP in live and second % 300 == 120:
            sys_bp = 122 + minute * 0.8
            deliver(
                NIBP,
                value(VitalKind.NIBP_SYSTOLIC, round(sys_bp), NIBP),
                value(VitalKind.NIBP_DIASTOLIC, round(sys_bp * 0.64), NIBP),
                value(VitalKind.NIBP_MEAN, round(sys_bp * 0.76), NIBP),
            )
        clock.advance(1)

    both = {OXIMETER, NIBP}
    for second in range(40 * 60):
        second_of(second, both)
    core.on_event(DeviceEvent(DeviceEventKind.DISCONNECTED, dead, clock.stamp()))
    core.pump()
    for second in range(40 * 60, 40 * 60 + 45):
        second_of(second, both - {dead})
    clinical.tick()
    window.pleth.show_pleth(core.board.pleth, clock.monotonic())
    return window


def main(argv: list[str]) -> int:
    """Write monitor-gap-dead-nibp-WxH.png and monitor-dead-oximeter-WxH.png into ``argv[0]``."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from bedside.views.window import MonitorWindow

    app = QApplication.instance() or QApplication([])
    out = Path(argv[0] if argv else "docs")
    out.mkdir(parents=True, exist_ok=True)
    for name, dead in (("monitor-gap-dead-nibp", NIBP), ("monitor-dead-oximeter", OXIMETER)):
        window = _session(dead)
        assert isinstance(window, MonitorWindow)
        for width, height in SIZES:
            window.resize(width, height)
            window.show()
            window.refresh()
            for _ in range(5):
                app.processEvents()
            path = out / f"{name}-{width}x{height}.png"
            window.grab().save(str(path))
            print(f"{path}: ok")
        window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
