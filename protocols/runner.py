"""Several protocol runs at once (a BP spike during an emergence reaction), keyed by run id."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from drivers.clock import Clock
from drivers.types import Observation
from protocols.engine import LiveVitals, ProtocolRun, StepRecord, TimerPrompt
from protocols.loader import LoadedProtocol

log = logging.getLogger(__name__)


class ProtocolRunner:
    """Starts runs, finds them by id, and fans the clock and new readings out to every active run."""

    def __init__(self, clock: Clock, vitals: LiveVitals, record: Callable[[StepRecord], None]) -> None:
        self._clock = clock
        self._vitals = vitals
        self._record = record
        self._runs: dict[str, ProtocolRun] = {}

    def start(
        self,
        protocol: LoadedProtocol,
        person: str,
        incident_id: str,
        *,
        acknowledge_flags: bool = False,
        acknowledged_by: str | None = None,
        run_id: str | None = None,
    ) -> ProtocolRun:
        """Start a run of ``protocol`` for ``incident_id`` (raises ProtocolNotApproved if flagged).

        ``acknowledged_by`` names the clinician who acknowledged that it is not approved (PRO-8).
        """
        if run_id is not None and run_id in self._runs:
            raise ValueError(f"run id {run_id!r} is already in use")
        run = ProtocolRun(
            protocol,
            self._clock,
            person,
            incident_id,
            self._vitals,
            self._record,
            run_id=run_id,
            acknowledge_flags=acknowledge_flags,
            acknowledged_by=acknowledged_by,
        )
        run.start()
        self._runs[run.run_id] = run
        log.info("protocol %s started as run %s for incident %s", protocol.id, run.run_id, incident_id)
        return run

    def run(self, run_id: str) -> ProtocolRun:
        """The run with this id (KeyError if none)."""
        return self._runs[run_id]

    def runs(self) -> tuple[ProtocolRun, ...]:
        """Every run started, oldest first (ended ones included, for the record and the hand-off)."""
        return tuple(self._runs.values())

    def active(self) -> tuple[ProtocolRun, ...]:
        """Runs still in progress, oldest first."""
        return tuple(r for r in self._runs.values() if r.is_active)

    def tick(self) -> list[TimerPrompt]:
        """Tick every active run's timer; returns the prompts that have just fallen due."""
        prompts: list[TimerPrompt] = []
        for run in self.active():
            prompts.extend(run.tick())
        return prompts

    def vital_recorded(self, values: Iterable[Observation]) -> None:
        """Give new observations to every active run (each records the reading it waits for)."""
        batch = tuple(values)
        for run in self.active():
            run.vital_recorded(batch)
