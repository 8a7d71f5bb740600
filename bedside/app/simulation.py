"""The simulated devices the monitor starts by itself (DRL-1).

Each simulator writes its device's own bytes to a pty (or an MLLP connection); the monitor opens
that port with the same driver and transport a real device would use.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from drivers.clock import Clock
from simulators.encoders import encoder_for
from simulators.host import MllpClientHost, PtyHost, SuntechHost
from simulators.physiology import ScenarioPlayer
from simulators.scenario import load_scenario
from simulators.suntech import SuntechAdvantageSimulator

log = logging.getLogger(__name__)

_POLL_S = 0.02  # real seconds between host steps; each step emits everything due


@dataclass
class SimulatedDevice:
    """One running simulator and where the monitor connects to it."""

    protocol: str
    url: str
    host: PtyHost | SuntechHost | MllpClientHost


@dataclass
class SimulationRig:
    """A scenario played by one or more simulated devices, all on the app's clock."""

    scenario_name: str
    clock: Clock
    seed: int | None = None
    devices: list[SimulatedDevice] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def __post_init__(self) -> None:
        scenario = load_scenario(self.scenario_name).with_seed(self.seed)
        self.scenario = scenario
        self.player = ScenarioPlayer(scenario, self.clock)
        # A SunTech module measures only when the monitor starts it, so its player ignores the
        # scenario's own NIBP schedule; the shared patient physiology stays the same.
        self.nibp_player = ScenarioPlayer(scenario, self.clock, remote_nibp_only=True)

    def add_serial(self, protocol: str) -> SimulatedDevice:
        """Start a serial device simulator on a new pty; returns its port path."""
        host: PtyHost | SuntechHost
        if protocol == "suntech-advantage":
            module = SuntechAdvantageSimulator(self.clock, vitals=self.nibp_player.measure_nibp_now)
            host = SuntechHost(module, self.nibp_player, self.clock)
        else:
            host = PtyHost(encoder_for(protocol), self.player, self.clock)
        device = SimulatedDevice(protocol, host.open(), host)
        self.devices.append(device)
        return device

    def add_mllp(self, port: int, host_name: str = "127.0.0.1") -> SimulatedDevice:
        """Start an HL7 gateway simulator that sends to the monitor's MLLP listener."""
        host = MllpClientHost(encoder_for("hl7-pcd01"), self.player, self.clock, host_name, port)
        device = SimulatedDevice("hl7-pcd01", host.open(), host)
        self.devices.append(device)
        return device

    def start(self) -> None:
        for device in self.devices:
            t = threading.Thread(target=self._run, args=(device,), name=f"sim-{device.protocol}", daemon=True)
            self._threads.append(t)
            t.start()

    def _run(self, device: SimulatedDevice) -> None:
        # Our own pacing loop: the app's clock may be accelerated, so waiting a real period
        # would be wrong; stepping often and emitting what is due keeps device time exact.
        while not self._stop.is_set():
            try:
                device.host.step()
            except Exception:
                log.exception("simulated %s failed; it keeps running", device.protocol)
            self._stop.wait(_POLL_S)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=1.0)
        for device in self.devices:
            try:
                device.host.close()
            except Exception:
                log.exception("closing simulated %s", device.protocol)
