"""The schema of a written protocol (PRO-1): metadata, change log and a tree of typed nodes.

These pydantic models sit at the edge where a clinic-edited file becomes trusted data. Field
types are strict where YAML guesses wrongly (``version: 1.10`` would otherwise become 1.1).
"""

from __future__ import annotations

import enum
import logging
import unicodedata
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic import StringConstraints as Text_

from drivers.types import VitalKind
from drivers.yaml_input import unreadable_text

log = logging.getLogger(__name__)


def _clinic_date(value: object) -> object:
    """Accept a calendar date (YAML 2026-01-31 or the same text quoted); reject anything else."""
    if isinstance(value, datetime):
        raise ValueError("expected a date without a time of day, written YYYY-MM-DD")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            if len(value) == 10:
                return date.fromisoformat(value)
        except ValueError:
            pass
        raise ValueError(f"expected a real date written YYYY-MM-DD, got {value!r}")
    raise ValueError(f"expected a date written YYYY-MM-DD, got {value!r}")


def _readable_lines(value: str) -> str:
    """Text a clinician reads (steps, details, doses) may run over lines but must be readable."""
    why = unreadable_text(value, multiline=True)
    if why is not None:
        raise ValueError(f"the text {why}")
    return value


def _readable_line(value: str) -> str:
    """A title, an answer label, a name: one readable line."""
    why = unreadable_text(value, multiline=False)
    if why is not None:
        raise ValueError(f"the text {why}")
    return value


def _label_key(label: str) -> str:
    """Labels a clinician could not tell apart on a button ("Yes", "yes ", "YES") are the same."""
    return " ".join(unicodedata.normalize("NFKC", label).casefold().split())


ClinicDate = Annotated[date, BeforeValidator(_clinic_date)]
Text = Annotated[
    StrictStr, Text_(min_length=1, max_length=4000, pattern=r"\S"), AfterValidator(_readable_lines)
]
ShortText = Annotated[
    StrictStr, Text_(min_length=1, max_length=200, pattern=r"\S"), AfterValidator(_readable_line)
]
NodeId = Annotated[StrictStr, Text_(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
ProtocolId = Annotated[StrictStr, Text_(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
Version = Annotated[StrictStr, Text_(pattern=r"^[0-9]+(\.[0-9]+){0,3}$")]
ContentHash = Annotated[StrictStr, Text_(pattern=r"^sha256:[0-9a-f]{64}$")]
ConditionName = Annotated[StrictStr, Text_(pattern=r"^[a-z][a-z0-9_]{0,63}$")]

#: Most nodes one protocol may hold: a tree a team can follow in an emergency is short.
MAX_NODES = 120


class ProtocolStatus(enum.StrEnum):
    """Whether the clinic's medical director has approved this version."""

    TEMPLATE = "template"
    APPROVED = "approved"


class Severity(enum.StrEnum):
    """Serious trees must end in an explicit call-911 branch (PRO-5)."""

    ROUTINE = "routine"
    SERIOUS = "serious"


class CheckedVital(enum.StrEnum):
    """A vital a ``vital_check`` step shows; ``nibp`` means systolic, diastolic and mean."""

    NIBP = "nibp"
    SPO2 = "spo2"
    PULSE_RATE = "pulse_rate"
    HEART_RATE = "heart_rate"

    @property
    def kinds(self) -> tuple[VitalKind, ...]:
        """The observation kinds this vital stands for."""
        if self is CheckedVital.NIBP:
            return (VitalKind.NIBP_SYSTOLIC, VitalKind.NIBP_DIASTOLIC, VitalKind.NIBP_MEAN)
        return (VitalKind(self.value),)


class SessionDecision(enum.StrEnum):
    """What a ``decision`` step decides about the session."""

    CONTINUE_SESSION = "continue_session"
    PAUSE_INFUSION = "pause_infusion"
    STOP_SESSION = "stop_session"


class NodeType(enum.StrEnum):
    """Every kind of step a tree may contain."""

    INSTRUCTION = "instruction"
    QUESTION = "question"
    VITAL_CHECK = "vital_check"
    MEDICATION = "medication"
    TIMER = "timer"
    DECISION = "decision"
    RESOLVED = "resolved"
    ESCALATE = "escalate"
    CALL_911 = "call_911"

    @property
    def is_terminal(self) -> bool:
        """True for the ends of a tree."""
        return self in (NodeType.RESOLVED, NodeType.ESCALATE, NodeType.CALL_911)


class _Node(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: Text
    #: Longer guidance shown under the step (optional).
    detail: Text | None = None

    def targets(self) -> tuple[tuple[str, str], ...]:
        """(label, node id) for every way forward; empty for a terminal."""
        return ()


class InstructionNode(_Node):
    """Do something; the clinician marks it done or skipped with a reason."""

    type: Literal["instruction"]
    next: NodeId

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


class QuestionNode(_Node):
    """Ask; each answer (``yes``/``no`` or named choices) leads to its own node."""

    type: Literal["question"]
    answers: Annotated[dict[ShortText, NodeId], Field(min_length=2, max_length=8)]

    @field_validator("answers")
    @classmethod
    def _labels_distinct(cls, answers: dict[str, str]) -> dict[str, str]:
        seen: dict[str, str] = {}
        for label in answers:
            same = seen.setdefault(_label_key(label), label)
            if same != label:
                raise ValueError(
                    f"answer labels {same!r} and {label!r} look the same on screen; "
                    "give each answer a distinct label"
                )
        return answers

    def targets(self) -> tuple[tuple[str, str], ...]:
        return tuple(self.answers.items())


class VitalCheckNode(_Node):
    """Show live values; with ``start_nibp`` an NIBP cycle is started and its reading awaited."""

    type: Literal["vital_check"]
    vitals: Annotated[list[CheckedVital], Field(min_length=1, max_length=4)]
    start_nibp: StrictBool = False
    next: NodeId

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


class MedicationNode(_Node):
    """A medication exactly as the clinic wrote it; Bedside never computes or gives a dose."""

    type: Literal["medication"]
    drug: Text
    dose: Text
    route: Text
    next: NodeId

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


class TimerNode(_Node):
    """Wait (``text`` is the prompt, e.g. "Recheck BP"), then go on when the timer is due."""

    type: Literal["timer"]
    seconds: Annotated[StrictInt, Field(ge=10, le=4 * 3600)]
    next: NodeId

    def targets(self) -> tuple[tuple[str, str], ...]:
        return (("next", self.next),)


class DecisionNode(_Node):
    """Decide about the session: continue, pause the infusion, or stop."""

    type: Literal["decision"]
    options: Annotated[dict[SessionDecision, NodeId], Field(min_length=1, max_length=3)]

    def targets(self) -> tuple[tuple[str, str], ...]:
        return tuple((str(k), v) for k, v in self.options.items())


class ResolvedNode(_Node):
    """End: the event is managed in clinic."""

    type: Literal["resolved"]


class EscalateNode(_Node):
    """End: hand over beyond this tree (medical director, prescriber), not an emergency call."""

    type: Literal["escalate"]


class Call911Node(_Node):
    """End: stop managing in clinic and call 911; produces the EMS hand-off."""

    type: Literal["call_911"]


Node = Annotated[
    InstructionNode
    | QuestionNode
    | VitalCheckNode
    | MedicationNode
    | TimerNode
    | DecisionNode
    | ResolvedNode
    | EscalateNode
    | Call911Node,
    Field(discriminator="type"),
]


class ChangeEntry(BaseModel):
    """One line of the change log: which version, when, who, what changed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Version
    date: ClinicDate
    who: ShortText
    what: Text


class ProtocolHeader(BaseModel):
    """Everything in a protocol file except its nodes (validated first, nodes one by one)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ProtocolId
    title: ShortText
    version: Version
    status: ProtocolStatus
    approved_by: ShortText
    approved_on: ClinicDate | None = None
    review_due: ClinicDate | None = None
    #: sha256 of the canonical content as approved (or, for a template, as issued).
    approved_hash: ContentHash | None = None
    severity: Severity
    follows: Annotated[list[ShortText], Field(min_length=1)]
    #: Alarm conditions for which the app offers this protocol (names agreed with ``alarms``).
    offered_for: list[ConditionName] = Field(default_factory=list)
    changelog: Annotated[list[ChangeEntry], Field(min_length=1)]
    start: NodeId


class WrittenProtocol(ProtocolHeader):
    """A whole validated protocol: header plus the tree of nodes keyed by node id."""

    nodes: Annotated[dict[NodeId, Node], Field(min_length=1, max_length=MAX_NODES)]

    def node(self, node_id: str) -> Node:
        """The node with this id (KeyError if none)."""
        return self.nodes[node_id]

    @property
    def is_template(self) -> bool:
        """True while the clinic's medical director has not approved it."""
        return self.status is ProtocolStatus.TEMPLATE

    def call_911_node_id(self) -> str | None:
        """The call-911 terminal the "call 911" action jumps to (``call_911`` by name, else first)."""
        ids = [nid for nid, n in self.nodes.items() if isinstance(n, Call911Node)]
        if "call_911" in ids:
            return "call_911"
        return ids[0] if ids else None


#: Header fields that are the approval record rather than the clinical content (not hashed).
APPROVAL_FIELDS = frozenset(
    {"status", "approved_by", "approved_on", "review_due", "approved_hash", "changelog"}
)
