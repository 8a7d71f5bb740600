"""Refresh the screenshots in docs/: run the real monitor on simulated scenarios and grab the window.

Run under a display (``bash scripts/dev.sh screenshots`` uses Xvfb). Each shot is the real app,
started as a user would start it, on an accelerated clock.
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
    if not wanted or "state" in wanted:
        # States a simulator run cannot stage on cue (a gap, a pulled cable, the pleth).
        rc = subprocess.run(
            [sys.executable, "-m", "bedside.devtools.state_shots", str(out)], check=False
        ).returncode
        failed += rc != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
