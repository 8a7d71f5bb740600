"""What goes wrong with a protocol file or a protocol run, in words a clinic's IT person can act on."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, order=True)
class ProtocolProblem:
    """One problem in one protocol file: where it is (file, 1-based line) and what is wrong."""

    file: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class ProtocolFileError(Exception):
    """A protocol file was rejected whole; ``problems`` lists every problem found in it."""

    def __init__(self, file: Path, problems: list[ProtocolProblem]) -> None:
        self.file = file
        self.problems: tuple[ProtocolProblem, ...] = tuple(sorted(problems))
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(f"{file}: rejected, {len(self.problems)} problem(s):\n{lines}")

    @property
    def first_line(self) -> int:
        """The line of the first problem (handy for a one-line summary)."""
        return self.problems[0].line if self.problems else 1


class StepNotAllowed(Exception):
    """The action does not fit the step the run is on (e.g. answering an instruction)."""


class ProtocolNotApproved(Exception):
    """A flagged protocol (e.g. changed without approval) was started without acknowledging the flag."""


class UnapprovedProtocolError(ProtocolNotApproved):
    """A protocol the medical director has not approved was started without a named acknowledgement.

    Not approved means a template, or an approved protocol whose content changed since (PRO-8).
    ``protocol_id`` names it and ``why`` says what is missing, for the dialog that asks.
    """

    def __init__(self, protocol_id: str, why: str) -> None:
        self.protocol_id = protocol_id
        self.why = why
        super().__init__(
            f"protocol {protocol_id} is not approved: {why}. A named clinician must acknowledge "
            "this before it is started."
        )


class GraphvizMissing(RuntimeError):
    """The Graphviz ``dot`` program is not installed, so no picture can be drawn."""
