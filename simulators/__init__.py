"""Simulated devices: scenarios played into a device's own wire format on a pty or MLLP (DRL-1)."""

from __future__ import annotations

from simulators.encoders import encoder_for
from simulators.host import MllpClientHost, PtyHost, SimulatorHost, SuntechHost, make_host
from simulators.physiology import ScenarioPlayer
from simulators.scenario import Scenario, ScenarioError, list_scenarios, load_scenario

__all__ = [
    "MllpClientHost",
    "PtyHost",
    "Scenario",
    "ScenarioError",
    "ScenarioPlayer",
    "SimulatorHost",
    "SuntechHost",
    "encoder_for",
    "list_scenarios",
    "load_scenario",
    "make_host",
]
