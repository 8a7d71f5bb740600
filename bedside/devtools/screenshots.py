"""Refresh the screenshots in docs/: run the real monitor on simulated scenarios and grab the window.

Run under a display (``bash scripts/dev.sh screenshots`` uses Xvfb). Each ``SHOTS`` entry is the
real app, started as a user would start it, on an accelerated clock. The ``SCREEN_SHOTS`` are the
monitor screen staged (``bedside.devtools.scene``: mid-infusion, three alarms, the BP-spike
protocol at its longest answers) in both themes at the smallest and the common screen size, with
one oximeter and with three (a Nonin and an HL7 feed beside the Masimo, the feed's link pulled).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Shot:
    """One screenshot: the file, the scenario, the clock speed and how long to run."""

    name: str
    scenario: str
    speed: float
    seconds: float
    extra: tuple[str, ...] = ()


SHOTS = (
    Shot("monitor-simulation.png", "probe-off", 4.0, 25.0),
    Shot("monitor-expected-rise.png", "ketamine-expected-rise", 30.0, 60.0, ("--drill-autopilot",)),
    Shot("monitor-bp-spike.png", "bp-spike", 30.0, 58.0, ("--drill-autopilot",)),
    Shot("monitor-protocol.png", "bp-spike", 30.0, 64.0, ("--drill-autopilot",)),
    # Issue 8: a desaturation offers its own tree (PRO-8), the bradycardia its arrhythmia tree.
    Shot("monitor-desaturation.png", "desaturation", 20.0, 50.0, ("--drill-autopilot",)),
    Shot("monitor-bradycardia.png", "bradycardia", 20.0, 25.0, ("--drill-autopilot",)),
)


@dataclass(frozen=True)
class ScreenShot:
    """One staged monitor screen: the file, the theme and the window size."""

    name: str
    theme: str
    size: tuple[int, int]
    oximeters: int = 1


SCREEN_SHOTS = tuple(
    ScreenShot(f"monitor-{what}-{theme}-{w}x{h}.png", theme, (w, h), oximeters)
    for what, oximeters in (("screen", 1), ("three-oximeters", 3))
    for theme in ("dark", "light")
    for w, h in ((1366, 768), (1920, 1080))
)


def staged_shots(out: Path, wanted: set[str]) -> int:
    """Grab the staged monitor screens into ``out``; returns how many failed."""
    from PySide6.QtWidgets import QApplication

    from bedside.devtools.scene import monitor_scene
    from bedside.views.theme import use_theme

    app = QApplication.instance() or QApplication(sys.argv[:1])
    failed = 0
    for shot in SCREEN_SHOTS:
        if wanted and shot.name not in wanted:
            continue
        try:
            scene = monitor_scene(shot.theme, shot.size, oximeters=shot.oximeters)
            for _ in range(3):
                app.processEvents()
            ok = scene.window.grab().save(str(out / shot.name))
            scene.window.close()
        except Exception as exc:  # one failed picture must not stop the others
            print(f"{shot.name}: failed ({exc})")
            failed += 1
            continue
        finally:
            use_theme("dark")
        print(f"{shot.name}: {'ok' if ok else 'failed (not saved)'}")
        failed += not ok
    return failed


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "docs")
    out.mkdir(parents=True, exist_ok=True)
    wanted = set(argv[1:])
    failed = 0
    for shot in SHOTS:
        if wanted and shot.name not in wanted:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable, "-m", "bedside.cli", "monitor", "--scenario", shot.scenario,
                "--speed", str(shot.speed), "--quit-after", str(shot.seconds),
                "--screenshot", str(out / shot.name), "--db", f"sqlite:///{tmp}/shots.sqlite3", *shot.extra,
            ]  # fmt: skip
            rc = subprocess.run(cmd, check=False).returncode
        print(f"{shot.name}: {'ok' if rc == 0 else f'failed (rc {rc})'}")
        failed += rc != 0
    if not wanted or any(name.startswith("session-") for name in wanted):
        # Issue 10: every session screen, at 1366x768 and 1080p (bedside.devtools.session_screens).
        from bedside.devtools.session_screens import save_screens

        for path in save_screens(out):
            print(f"{path.name}: ok")
    failed += staged_shots(out, wanted)
    if not wanted or "state" in wanted:
        # States a simulator run cannot stage on cue (a gap, a pulled cable, the pleth).
        rc = subprocess.run(
            [sys.executable, "-m", "bedside.devtools.state_shots", str(out)], check=False
        ).returncode
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
