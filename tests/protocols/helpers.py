"""Shared test helpers: a fake monitor, path enumeration, and a driver that walks one path."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from drivers.clock import FakeClock
from drivers.types import CANONICAL_UNIT, Observation, Quality, VitalKind
from protocols.engine import ProtocolRun, StepKind, StepRecord
from protocols.model import (
    DecisionNode,
    InstructionNode,
    MedicationNode,
    QuestionNode,
    TimerNode,
    VitalCheckNode,
    WrittenProtocol,
)

WHO = "Marla Peterson, CRNA"

#: One step of a path: the node and the branch label taken out of it ("" at an end).
Step = tuple[str, str]


@dataclass
class FakeVitals:
    """A monitor for tests: values set by hand; counts NIBP starts."""

    clock: FakeClock
    remote_start: bool = True
    values: dict[VitalKind, Observation] = field(default_factory=dict)
    nibp_requests: int = 0

    def latest(self, kind: VitalKind) -> Observation | None:
        return self.values.get(kind)

    def request_nibp(self) -> bool:
        self.nibp_requests += 1
        return self.remote_start

    def observe(self, kind: VitalKind, value: float, quality: Quality = Quality.VALID) -> Observation:
        now = self.clock.now()
        obs = Observation(
            kind, value, CANONICAL_UNIT[kind], now, now, self.clock.monotonic(), "sim-monitor", quality
        )
        self.values[kind] = obs
        return obs

    def nibp(self, systolic: float, diastolic: float, mean: float) -> list[Observation]:
        return [
            self.observe(VitalKind.NIBP_SYSTOLIC, systolic),
            self.observe(VitalKind.NIBP_DIASTOLIC, diastolic),
            self.observe(VitalKind.NIBP_MEAN, mean),
        ]


def all_paths(protocol: WrittenProtocol) -> Iterator[list[Step]]:
    """Every path from start to an end taking each edge at most twice (so each loop runs at most
    twice round and every way out of a loop is still tried)."""

    def walk(node_id: str, used: tuple[tuple[str, str], ...], path: list[Step]) -> Iterator[list[Step]]:
        node = protocol.nodes[node_id]
        targets = node.targets()
        if not targets:
            yield [*path, (node_id, "")]
            return
        for label, target in targets:
            edge = (node_id, label)
            if used.count(edge) >= 2:
                continue
            yield from walk(target, (*used, edge), [*path, (node_id, label)])

    yield from walk(protocol.start, (), [])


def take(
    run: ProtocolRun, protocol: WrittenProtocol, step: Step, clock: FakeClock, vitals: FakeVitals
) -> None:
    """Take one step the way the clinician would."""
    node_id, label = step
    node = protocol.nodes[node_id]
    clock.advance(7)
    if isinstance(node, InstructionNode):
        run.done(WHO)
    elif isinstance(node, QuestionNode):
        run.answer(WHO, label)
    elif isinstance(node, VitalCheckNode):
        vitals.observe(VitalKind.SPO2, 97)
        vitals.observe(VitalKind.PULSE_RATE, 88)
        if node.start_nibp:
            assert run.vital_recorded(vitals.nibp(176, 101, 126))
        run.done(WHO)
    elif isinstance(node, MedicationNode):
        run.confirm_medication(WHO, clock.now(), given=True)
    elif isinstance(node, TimerNode):
        assert run.tick() == []
        clock.advance(node.seconds)
        prompts = run.tick()
        assert [p.node_id for p in prompts] == [node_id]
        run.done(WHO)
    elif isinstance(node, DecisionNode):
        run.decide(WHO, label)
    else:
        raise AssertionError(f"cannot take a step at end node {node_id}")


def expected_kinds(protocol: WrittenProtocol, path: list[Step]) -> list[tuple[str, StepKind]]:
    """The (node, kind) of every record a walk along ``path`` must produce, in order."""
    out: list[tuple[str, StepKind]] = [(protocol.start, StepKind.RUN_STARTED)]
    for node_id, _ in path:
        node = protocol.nodes[node_id]
        out.append((node_id, StepKind.SHOWN))
        if isinstance(node, InstructionNode):
            out.append((node_id, StepKind.DONE))
        elif isinstance(node, QuestionNode):
            out.append((node_id, StepKind.ANSWERED))
        elif isinstance(node, VitalCheckNode):
            if node.start_nibp:
                out += [(node_id, StepKind.NIBP_REQUESTED), (node_id, StepKind.VITALS_RECORDED)]
            out.append((node_id, StepKind.DONE))
        elif isinstance(node, MedicationNode):
            out.append((node_id, StepKind.MEDICATION_GIVEN))
        elif isinstance(node, TimerNode):
            out += [
                (node_id, StepKind.TIMER_STARTED),
                (node_id, StepKind.TIMER_DUE),
                (node_id, StepKind.DONE),
            ]
        elif isinstance(node, DecisionNode):
            out.append((node_id, StepKind.DECIDED))
        else:
            out.append((node_id, StepKind.ENDED))
    return out


def kinds(records: tuple[StepRecord, ...] | list[StepRecord]) -> list[tuple[str, StepKind]]:
    """(node, kind) of each record."""
    return [(r.node_id, r.kind) for r in records]
