"""The shipped library: every protocol loads, and every path from start to an end is walked."""

from __future__ import annotations

import pytest

from drivers.clock import FakeClock
from protocols.approval import ProtocolFlag
from protocols.engine import ProtocolRun, StepKind, StepRecord
from protocols.loader import LIBRARY_DIR, LoadedProtocol, load_library
from protocols.model import (
    Call911Node,
    CheckedVital,
    DecisionNode,
    MedicationNode,
    NodeType,
    QuestionNode,
    Severity,
    TimerNode,
    VitalCheckNode,
)
from tests.protocols.helpers import WHO, FakeVitals, all_paths, expected_kinds, kinds, take

LIBRARY = load_library(LIBRARY_DIR)
EXPECTED_IDS = {
    "bp-spike",
    "emergence-reaction",
    "persistent-nausea",
    "cardiac-arrhythmia",
    "allergic-reaction",
    "respiratory-depression",
    "prolonged-dissociation",
    "psychiatric-worsening",
    "readiness-checklist",
    "discharge-checklist",
}
SERIOUS = {
    "cardiac-arrhythmia",
    "allergic-reaction",
    "respiratory-depression",
    "prolonged-dissociation",
    "psychiatric-worsening",
}
PATHS = [
    pytest.param(pid, path, id=f"{pid}-{i}")
    for pid in sorted(LIBRARY.protocols)
    for i, path in enumerate(all_paths(LIBRARY.protocols[pid].protocol))
]


def _text(loaded: LoadedProtocol) -> str:
    p = loaded.protocol
    parts = [p.title]
    for node in p.nodes.values():
        parts += [node.text, node.detail or ""]
        if isinstance(node, MedicationNode):
            parts += [node.drug, node.dose, node.route]
        if isinstance(node, QuestionNode):
            parts += list(node.answers)
    return " ".join(parts).lower()


@pytest.mark.req("PRO-1")
def test_every_library_file_loads_as_a_template_awaiting_approval() -> None:
    assert LIBRARY.errors == ()
    assert set(LIBRARY.protocols) == EXPECTED_IDS
    for loaded in LIBRARY.protocols.values():
        p = loaded.protocol
        assert p.is_template
        assert p.approved_by.startswith("PENDING")
        assert p.approved_on is None
        assert "AANA Standards for Office-Based Anesthesia Practice (2020)" in p.follows
        assert "ASKP3 Standards of Care for Ketamine Therapy (2024)" in p.follows
        # Shipped unchanged: the issued hash matches, so only the TEMPLATE flag is raised.
        assert p.approved_hash == loaded.content_hash
        assert loaded.flags == {ProtocolFlag.TEMPLATE}
        # PRO-8: a template is not approved, so it starts only with a named acknowledgement.
        assert loaded.needs_acknowledgement and not loaded.approved


@pytest.mark.req("PRO-5")
def test_serious_protocols_are_serious_and_reach_call_911() -> None:
    for pid in SERIOUS:
        p = LIBRARY.get(pid).protocol
        assert p.severity is Severity.SERIOUS
        assert any(isinstance(n, Call911Node) for n in p.nodes.values())


@pytest.mark.req("PRO-1")
def test_every_edge_of_every_protocol_is_on_some_walked_path() -> None:
    for loaded in LIBRARY.protocols.values():
        p = loaded.protocol
        edges = {(nid, label) for nid, node in p.nodes.items() for label, _ in node.targets()}
        covered = {step for path in all_paths(p) for step in path if step[1]}
        assert edges == covered, loaded.id


@pytest.mark.req("PRO-6")
@pytest.mark.parametrize(("protocol_id", "path"), PATHS)
def test_walk_every_path_to_its_end(protocol_id: str, path: list[tuple[str, str]]) -> None:
    loaded = LIBRARY.get(protocol_id)
    protocol = loaded.protocol
    clock = FakeClock()
    vitals = FakeVitals(clock)
    stored: list[StepRecord] = []
    run = ProtocolRun(loaded, clock, WHO, "incident-7", vitals, stored.append, run_id="run-1")
    run.start()
    for step in path[:-1]:
        assert run.current().node_id == step[0]
        take(run, protocol, step, clock, vitals)
    end_id = path[-1][0]
    assert run.current_node_id == end_id
    assert run.current().is_terminal
    assert not run.is_active
    assert run.outcome is NodeType(protocol.nodes[end_id].type)
    assert kinds(stored) == expected_kinds(protocol, path)
    assert stored == list(run.records)
    assert [r.seq for r in stored] == list(range(1, len(stored) + 1))
    assert all(r.run_id == "run-1" for r in stored)
    assert [r.at for r in stored] == sorted(r.at for r in stored)
    assert {r.person for r in stored} <= {WHO, "bedside", "device:sim-monitor"}
    answered = [r.value for r in stored if r.kind in (StepKind.ANSWERED, StepKind.DECIDED)]
    assert answered == [
        label for nid, label in path if isinstance(protocol.nodes[nid], QuestionNode | DecisionNode)
    ]


@pytest.mark.req("PRO-2")
def test_bp_spike_follows_the_clinics_steps() -> None:
    loaded = LIBRARY.get("bp-spike")
    p = loaded.protocol
    assert p.start == "slow_or_pause"
    recheck = p.nodes["recheck_bp"]
    assert isinstance(recheck, VitalCheckNode) and recheck.start_nibp and CheckedVital.NIBP in recheck.vitals
    med = p.nodes["give_antihypertensive"]
    assert isinstance(med, MedicationNode) and "per clinic protocol" in med.drug.lower()
    assert "[medical director to specify" in med.dose
    decision = p.nodes["decide_session"]
    assert isinstance(decision, DecisionNode) and len(decision.options) == 3
    assert isinstance(p.nodes["call_911"], Call911Node)
    assert "bp_high" in p.offered_for
    assert "chest pain" in _text(loaded)


@pytest.mark.req("PRO-3")
def test_emergence_reaction_has_quiet_room_grounding_benzodiazepine_and_no_rush() -> None:
    loaded = LIBRARY.get("emergence-reaction")
    text = _text(loaded)
    for phrase in ("quiet", "grounding", "benzodiazepine", "do not rush"):
        assert phrase in text
    med = loaded.protocol.nodes["give_benzodiazepine"]
    assert isinstance(med, MedicationNode) and "per clinic protocol" in med.drug.lower()


@pytest.mark.req("PRO-4")
def test_persistent_nausea_gives_next_line_and_blocks_discharge_while_nauseous() -> None:
    loaded = LIBRARY.get("persistent-nausea")
    med = loaded.protocol.nodes["next_line_antiemetic"]
    assert isinstance(med, MedicationNode) and "next-line antiemetic" in med.drug.lower()
    assert "do not discharge while the patient is actively nauseous" in _text(loaded)


@pytest.mark.req("PRO-5")
def test_prolonged_dissociation_rechecks_on_a_timer_and_names_the_window() -> None:
    loaded = LIBRARY.get("prolonged-dissociation")
    timers = [n for n in loaded.protocol.nodes.values() if isinstance(n, TimerNode)]
    assert timers and all(t.seconds == 600 for t in timers)
    assert "20-40 minute" in _text(loaded)


@pytest.mark.req("PRO-5")
def test_psychiatric_worsening_asks_about_suicidal_thoughts() -> None:
    text = _text(LIBRARY.get("psychiatric-worsening"))
    assert "suicidal thoughts" in text
    assert "988" in text


@pytest.mark.req("PRO-7")
def test_readiness_checklist_confirms_medications_airway_monitor_and_iv() -> None:
    loaded = LIBRARY.get("readiness-checklist")
    text = _text(loaded)
    for item in ("emergency medications", "airway equipment", "monitor", "iv "):
        assert item in text
    # Any "no" answer ends the checklist at NOT READY; only all "yes" reaches ready.
    ends = {
        tuple(s[1] for s in path[:-1] if s[1] != "next"): path[-1][0] for path in all_paths(loaded.protocol)
    }
    assert ends[("yes", "yes", "yes", "yes", "yes")] == "ready"
    assert all(end == "not_ready" for answers, end in ends.items() if "no" in answers)


def test_discharge_checklist_needs_every_criterion() -> None:
    """DIS-1: vitals at baseline, ambulatory and oriented, nausea controlled, sober adult driver."""
    loaded = LIBRARY.get("discharge-checklist")
    text = _text(loaded)
    for item in ("baseline", "oriented", "nausea", "sober adult driver"):
        assert item in text
    for path in all_paths(loaded.protocol):
        answers = [label for _, label in path if label in ("yes", "no")]
        assert (path[-1][0] == "discharged") == (answers == ["yes"] * 4)


@pytest.mark.req("PRO-5")
def test_call_911_is_reachable_from_every_node_of_every_protocol() -> None:
    for loaded in LIBRARY.protocols.values():
        protocol = loaded.protocol
        prefixes: dict[str, list[tuple[str, str]]] = {}
        for path in all_paths(protocol):
            for i, (nid, _) in enumerate(path):
                if nid not in prefixes or i < len(prefixes[nid]):
                    prefixes[nid] = path[:i]
        assert set(prefixes) == set(protocol.nodes), loaded.id
        for nid, prefix in prefixes.items():
            if isinstance(protocol.nodes[nid], Call911Node):
                continue
            clock = FakeClock()
            vitals = FakeVitals(clock)
            run = ProtocolRun(loaded, clock, WHO, "incident-9", vitals, lambda _r: None)
            run.start()
            for step in prefix:
                take(run, protocol, step, clock, vitals)
            assert run.current_node_id == nid
            run.call_911("Dr. Ana Ruiz")
            assert run.outcome is NodeType.CALL_911, (loaded.id, nid)
            assert run.current().type is NodeType.CALL_911
            tail = kinds(run.records[-3:])
            assert [k for _, k in tail] == [StepKind.CALL_911, StepKind.SHOWN, StepKind.ENDED]
            assert tail[0][0] == nid
            assert run.called_911_at == clock.now()
