"""Checks on the shape of a tree: every branch lands, every step is reachable and can finish.

Rules (PRO-1, PRO-5): no dangling targets, no unreachable nodes, no loop without a timer (a loop
that waits on a timer is a "recheck in 5 min" cycle; one without is a trap), an end reachable from
every step, and a serious tree has a call-911 end.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass

from protocols.model import Call911Node, DecisionNode, Node, QuestionNode, Severity, TimerNode
from protocols.yaml_source import DataPath

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem at a place in the document (turned into file:line by the loader)."""

    path: DataPath
    message: str


def target_path(node_id: str, node: Node, label: str) -> DataPath:
    """Where in the file the branch ``label`` of ``node`` is written."""
    if isinstance(node, QuestionNode):
        return ("nodes", node_id, "answers", label)
    if isinstance(node, DecisionNode):
        return ("nodes", node_id, "options", label)
    return ("nodes", node_id, "next")


def check_graph(
    start: str,
    severity: Severity,
    nodes: Mapping[str, Node],
    all_ids: frozenset[str],
) -> list[Finding]:
    """Every graph problem of a tree. ``nodes`` are those that passed the schema; ``all_ids``
    every id written, so a branch to a node with its own schema error is not called dangling."""
    findings: list[Finding] = []
    if start not in all_ids:
        findings.append(Finding(("start",), f"start node {start!r} is not one of the nodes"))
    findings.extend(check_targets(nodes, all_ids))
    complete = len(nodes) == len(all_ids) and start in all_ids
    if findings or not complete:
        # Reachability on a partial graph would report false problems; fix these first.
        return findings
    edges = {nid: [t for _, t in n.targets()] for nid, n in nodes.items()}
    reachable = _reach(start, edges)
    for node_id in nodes:
        if node_id not in reachable:
            findings.append(
                Finding(("nodes", node_id), f"node {node_id!r} cannot be reached from start {start!r}")
            )
    for component in _strongly_connected(edges):
        loops = len(component) > 1 or component[0] in edges[component[0]]
        if loops and not any(isinstance(nodes[n], TimerNode) for n in component):
            ordered = [n for n in nodes if n in component]
            findings.append(
                Finding(
                    ("nodes", ordered[0]),
                    "loop without a timer: "
                    + " -> ".join([*ordered, ordered[0]])
                    + " (a loop must wait on a timer step, e.g. 'recheck in 5 min')",
                )
            )
    terminals = {nid for nid, n in nodes.items() if n.type in ("resolved", "escalate", "call_911")}
    if not terminals:
        findings.append(Finding(("nodes",), "the tree has no end: add a resolved, escalate or call_911 node"))
    else:
        reverse: dict[str, list[str]] = {nid: [] for nid in nodes}
        for source, targets in edges.items():
            for target in targets:
                reverse[target].append(source)
        can_finish: set[str] = set()
        for terminal in terminals:
            can_finish |= _reach(terminal, reverse)
        for node_id in nodes:
            if node_id in reachable and node_id not in can_finish:
                findings.append(Finding(("nodes", node_id), f"no end can be reached from node {node_id!r}"))
    if severity is Severity.SERIOUS and not any(isinstance(nodes[n], Call911Node) for n in reachable):
        findings.append(
            Finding(
                ("severity",),
                "a serious protocol must have a reachable call_911 end (stop managing in clinic, call 911)",
            )
        )
    return findings


def check_targets(nodes: Mapping[str, Node], all_ids: frozenset[str]) -> list[Finding]:
    """Branches that go to a node id the file does not have (checkable even if the header is bad)."""
    findings: list[Finding] = []
    for node_id, node in nodes.items():
        for label, target in node.targets():
            if target not in all_ids:
                findings.append(
                    Finding(
                        target_path(node_id, node, label),
                        f"branch {label!r} of node {node_id!r} goes to {target!r}, which does not exist",
                    )
                )
    return findings


def _reach(start: str, edges: Mapping[str, list[str]]) -> set[str]:
    seen = {start}
    stack = [start]
    while stack:
        for nxt in edges.get(stack.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def _strongly_connected(edges: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative so a long chain cannot hit the recursion limit."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = edges[node]
            if i < len(successors):
                work.append((node, i + 1))
                nxt = successors[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                components.append(component)
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return components
