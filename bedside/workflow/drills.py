"""Drills (DRL-2): a drill log (date, scenario, participants) with the team's response timings taken
from the drill session's own records: alarm to acknowledgement, to protocol start, to each step and to
the call-911 decision. A drill report PDF says DRILL on every page.

Drill data never mixes with patient records: every call here refuses a patient database.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Spacer

from bedside.workflow.audit import Actor, AuditTrail
from bedside.workflow.documents_pdf import WIDTH, body, fields, grid, render, text, when
from bedside.workflow.export_pdf import H1, H2
from drivers.clock import Clock
from storage import Database, SessionRepository
from storage.errors import DrillMixingError, UnknownRecordError
from storage.followup import DrillLogRecord, FollowUpRepository
from storage.full_record import FullSessionRecord, read_full_record
from storage.records import AlarmEventRecord, ProtocolRunSummary

log = logging.getLogger(__name__)

#: The protocol node where the team decides to call 911 (its node type and id in the library).
CALL_911_NODE = "call_911"


class DrillError(ValueError):
    """A drill cannot be logged or reported as asked; the message says what to do instead."""


@dataclass(frozen=True, slots=True)
class ResponseStep:
    """One response after an alarm: what, when, and seconds after the alarm started."""

    what: str
    at: datetime
    seconds: float
    person: str = ""


@dataclass(frozen=True, slots=True)
class AlarmResponse:
    """The team's response to one alarm: acknowledgement, protocol start, each step, the 911 decision."""

    alarm: AlarmEventRecord
    acknowledged: ResponseStep | None
    protocol_started: ResponseStep | None
    steps: tuple[ResponseStep, ...]
    call_911: ResponseStep | None


def _after(start: datetime, at: datetime, what: str, person: str = "") -> ResponseStep:
    return ResponseStep(what, at, (at - start).total_seconds(), person)


def _run_for(
    alarm: AlarmEventRecord, ended: datetime | None, runs: Sequence[ProtocolRunSummary]
) -> ProtocolRunSummary | None:
    """The first protocol run started while the alarm was on (from its start to its end)."""
    for run in sorted(runs, key=lambda r: r.started.started_at):
        at = run.started.started_at
        if at >= alarm.at and (ended is None or at <= ended):
            return run
    return None


def response_timings(record: FullSessionRecord) -> list[AlarmResponse]:
    """Every alarm that started in the session with the team's responses (pure, from the records)."""
    events = sorted(record.alarm_events, key=lambda e: e.at)
    responses: list[AlarmResponse] = []
    for i, alarm in enumerate(events):
        if alarm.kind != "started":
            continue
        later = [e for e in events[i + 1 :] if e.condition == alarm.condition]
        end = next((e for e in later if e.kind in ("ended", "started")), None)
        ended_at = end.at if end is not None else None
        ack = next(
            (e for e in later if e.kind == "acknowledged" and (ended_at is None or e.at <= ended_at)),
            None,
        )
        run = _run_for(alarm, ended_at, record.protocol_runs)
        steps: list[ResponseStep] = []
        call: ResponseStep | None = None
        started: ResponseStep | None = None
        if run is not None:
            started = _after(
                alarm.at,
                run.started.started_at,
                f"protocol {run.started.protocol_id} started",
                run.started.started_by,
            )
            for step in run.steps:
                label = f"{step.node_id}: {step.kind}" + (f" ({step.value})" if step.value else "")
                steps.append(_after(alarm.at, step.at, label, step.person))
                if call is None and step.node_id == CALL_911_NODE:
                    call = _after(alarm.at, step.at, "call-911 decision", step.person)
        responses.append(
            AlarmResponse(
                alarm=alarm,
                acknowledged=None if ack is None else _after(alarm.at, ack.at, "acknowledged", ack.person),
                protocol_started=started,
                steps=tuple(steps),
                call_911=call,
            )
        )
    return responses


def _s(step: ResponseStep | None) -> str:
    return "not recorded" if step is None else f"{step.seconds:.0f} s"


def drill_report_pdf(
    log_entry: DrillLogRecord,
    record: FullSessionRecord,
    responses: Sequence[AlarmResponse],
    *,
    zone: tzinfo | None = None,
    printed_at: datetime | None = None,
) -> bytes:
    """The drill report: the log, then each alarm with the team's response timings; DRILL on every page."""
    story: list[Flowable] = [
        text("DRILL report", H1),
        body("A practice run on the drill database: no patient, no patient record."),
        Spacer(1, 6),
        fields(
            [
                ("Drill date", f"{log_entry.drill_date:%Y-%m-%d}"),
                ("Scenario", log_entry.scenario),
                ("Participants", ", ".join(log_entry.participants)),
                ("Drill session", record.session.session_id),
                ("Logged by", f"{log_entry.logged_by}, {when(log_entry.logged_at, zone)}"),
            ]
        ),
        text("Response timings", H2),
    ]
    if not responses:
        story.append(body("No alarm was raised during the drill: there is nothing to time."))
    summary_rows = [
        (
            when(r.alarm.at, zone),
            f"{r.alarm.condition} ({r.alarm.priority})",
            _s(r.acknowledged),
            _s(r.protocol_started),
            _s(r.call_911),
        )
        for r in responses
    ]
    if summary_rows:
        story.append(
            grid(
                ["Alarm started", "Alarm", "To acknowledgement", "To protocol start", "To call-911 decision"],
                summary_rows,
                [1.6 * inch, 1.7 * inch, 1.3 * inch, 1.3 * inch, WIDTH - 5.9 * inch],
            )
        )
    for r in responses:
        if not r.steps:
            continue
        story += [
            text(f"Steps after {r.alarm.condition} at {when(r.alarm.at, zone)}", H2),
            grid(
                ["After alarm", "Step", "Who"],
                [(f"{st.seconds:.0f} s", st.what, st.person) for st in r.steps],
                [1.0 * inch, WIDTH - 2.6 * inch, 1.6 * inch],
            ),
        ]
    printed = f", printed {when(printed_at, zone)}" if printed_at is not None else ""
    return render(
        story,
        title=f"Drill report {record.session.session_id}",
        header=f"Drill report  |  {log_entry.scenario}  |  {log_entry.drill_date:%Y-%m-%d}",
        footer=f"Bedside drill report{printed}: DRILL, not a patient record",
        drill=True,
    )


class DrillService:
    """Logs drills and prints drill reports, on the drill database only; both are audited."""

    def __init__(self, db: Database, clock: Clock, audit: AuditTrail) -> None:
        if not db.is_drill:
            raise DrillMixingError(
                "drills are kept only in the drill database, never with patient records: open the drill "
                "database (--drill) instead"
            )
        self._repository = FollowUpRepository(db)
        self._sessions = SessionRepository(db)
        self._clock = clock
        self._audit = audit

    def _drill_record(self, session_id: str) -> FullSessionRecord:
        try:
            record = read_full_record(self._sessions, session_id)
        except UnknownRecordError:
            raise DrillError(f"there is no drill session {session_id!r} in the drill database") from None
        if not record.session.is_drill:
            raise DrillMixingError(f"session {session_id} is not a drill session")
        return record

    def log_drill(
        self,
        by: Actor | str,
        session_id: str,
        *,
        drill_date: date,
        scenario: str,
        participants: Sequence[str],
    ) -> DrillLogRecord:
        """Log a drill run on a drill session; audited."""
        names = [p.strip() for p in participants if p.strip()]
        if not scenario.strip():
            raise DrillError("name the drill's scenario, e.g. 'BP spike to 210/120 with chest pain'")
        if not names:
            raise DrillError("list the drill's participants")
        self._drill_record(session_id)
        who = by if isinstance(by, str) else by.who
        entry = self._repository.add_drill_log(
            session_id=session_id,
            drill_date=drill_date,
            scenario=scenario.strip(),
            participants=names,
            at=self._clock.now(),
            by=who,
        )
        self._audit.append(
            by, "drill_logged", session_id, {"drill": entry.drill_id, "scenario": entry.scenario}
        )
        return entry

    def drill_logs(self) -> list[DrillLogRecord]:
        """Every logged drill by date."""
        return self._repository.drill_logs()

    def timings(self, session_id: str) -> list[AlarmResponse]:
        """The team's response timings in a drill session."""
        return response_timings(self._drill_record(session_id))

    def report_pdf(self, by: Actor | str, session_id: str, *, zone: tzinfo | None = None) -> bytes:
        """The drill report PDF (DRILL on every page); DrillError when the drill was never logged."""
        record = self._drill_record(session_id)
        logs = self._repository.drill_logs(session_id)
        if not logs:
            raise DrillError(
                f"drill session {session_id} has no drill log (date, scenario, participants): log it first"
            )
        pdf = drill_report_pdf(
            logs[-1], record, response_timings(record), zone=zone, printed_at=self._clock.now()
        )
        self._audit.append(
            by, "drill_report_exported", session_id, {"drill": logs[-1].drill_id, "bytes": len(pdf)}
        )
        return pdf
