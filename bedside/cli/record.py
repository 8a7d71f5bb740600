"""``bedside incident|note|medication ...``: the clinical record from the command line (issue 9, DOC-1..4).

    bedside incident list SESSION
    bedside incident show SESSION INCIDENT
    bedside incident open SESSION --title TEXT [--at TIME]
    bedside incident close SESSION INCIDENT --outcome OUTCOME [--text TEXT]
    bedside incident debrief SESSION INCIDENT --what-happened ... --protocol-followed yes|no|partly
    bedside incident review SESSION INCIDENT --protocol-followed ... --findings ... [--needs-change TEXT]
    bedside incident told SESSION INCIDENT --observed ... --done ... --meaning ... --told-at TIME
    bedside note add SESSION TEXT [--at TIME] | bedside note marker SESSION LABEL [--at TIME]
    bedside medication add SESSION --drug D --dose N --unit U --route R --given-at TIME

INCIDENT may be the start of an incident id, when only one incident of the session starts so.
TIME is ISO 8601 (2026-11-27T10:05 or 2026-11-27T10:05+00:00); a time without a zone is this
computer's local time. Every command that writes signs in first (``--as LOGIN``; the PIN or
password is asked without echo, or read from one line of standard input with ``--secret-stdin``).
Exit 0 when done, 1 when a sign-in is refused or the record refuses a change (closed already, no
review due), 2 on bad input or when the database cannot be opened.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import socket
import sys
from collections.abc import Callable
from datetime import datetime
from typing import TextIO

from alarms import ClinicalConfig, ConfigError, load_config
from bedside.cli._common import add_record_arguments, quiet_logs
from bedside.workflow import (
    AuditTrail,
    IdentityError,
    IdentityService,
    IncidentClosedError,
    IncidentError,
    IncidentRecord,
    IncidentService,
    Outcome,
    ProtocolFollowed,
    ProtocolRef,
    RecordError,
    RecordService,
    ReviewNotDue,
    Route,
    SeriousCriterion,
    SignedIn,
)
from drivers.clock import Clock, SystemClock
from storage import Database, IncidentSummary, StorageError, UnknownRecordError, open_database

log = logging.getLogger(__name__)

RECORD_COMMANDS = ("incident", "note", "medication")

Ask = Callable[[str], str]


class _BadInput(Exception):
    """Stop the command: the input cannot be used (exit 2)."""


def _common(p: argparse.ArgumentParser, *, signs_in: bool) -> None:
    add_record_arguments(p, signer="required" if signs_in else "none")


def add_record_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``incident``, ``note`` and ``medication`` with their sub-commands to the ``bedside`` parser."""
    incident = sub.add_parser("incident", help="list, show, open, close, debrief and review incidents")
    isub = incident.add_subparsers(dest="action", required=True)
    listing = isub.add_parser("list", help="a session's incidents and what each still lacks")
    listing.add_argument("session")
    _common(listing, signs_in=False)
    show = isub.add_parser("show", help="one incident with its links, runs, debrief and the vitals around it")
    show.add_argument("session")
    show.add_argument("incident")
    _common(show, signs_in=False)
    opening = isub.add_parser("open", help="open an incident by hand")
    opening.add_argument("session")
    opening.add_argument("--title", required=True, help="what happened, in a few words")
    opening.add_argument("--at", default=None, metavar="TIME", help="when it happened (default: now)")
    _common(opening, signs_in=True)
    close = isub.add_parser("close", help="close an incident with its outcome (once)")
    close.add_argument("session")
    close.add_argument("incident")
    close.add_argument("--outcome", required=True, choices=[o.value for o in Outcome])
    close.add_argument("--text", default="", help='what the outcome was (required with "other")')
    _common(close, signs_in=True)
    debrief = isub.add_parser("debrief", help="record the structured debrief of an incident")
    debrief.add_argument("session")
    debrief.add_argument("incident")
    debrief.add_argument("--what-happened", required=True)
    debrief.add_argument("--what-was-done", required=True)
    debrief.add_argument("--went-well", required=True)
    debrief.add_argument("--to-improve", required=True)
    debrief.add_argument("--protocol-followed", required=True, choices=[p.value for p in ProtocolFollowed])
    debrief.add_argument(
        "--serious",
        action="append",
        default=[],
        choices=[s.value for s in SeriousCriterion],
        help="a serious criterion the event met; repeatable (any one makes a formal review due)",
    )
    debrief.add_argument(
        "--serious-text", default="", help='what made it serious (required with "other_serious")'
    )
    _common(debrief, signs_in=True)
    review = isub.add_parser("review", help="the formal review of a serious incident")
    review.add_argument("session")
    review.add_argument("incident")
    review.add_argument("--protocol-followed", required=True, choices=[p.value for p in ProtocolFollowed])
    review.add_argument("--findings", required=True)
    review.add_argument(
        "--needs-change",
        default="",
        metavar="TEXT",
        help="the protocol needs to change: say what should change",
    )
    review.add_argument(
        "--protocol",
        default=None,
        metavar="ID@VERSION@HASH",
        help="the protocol judged, when the incident ran none (e.g. bp-spike@1.2@sha256:...)",
    )
    _common(review, signs_in=True)
    told = isub.add_parser("told", help="record what the patient was told")
    told.add_argument("session")
    told.add_argument("incident")
    told.add_argument("--observed", required=True)
    told.add_argument("--done", required=True)
    told.add_argument("--meaning", required=True)
    told.add_argument("--told-at", required=True, metavar="TIME")
    told.add_argument("--told-by", default="", help="who told the patient (default: whoever signs in)")
    _common(told, signs_in=True)

    note = sub.add_parser("note", help="add a note or an event marker to a session's record")
    nsub = note.add_subparsers(dest="action", required=True)
    nadd = nsub.add_parser("add", help="add a free-text note")
    nadd.add_argument("session")
    nadd.add_argument("text")
    nadd.add_argument("--at", default=None, metavar="TIME", help="the note's time (default: now)")
    _common(nadd, signs_in=True)
    marker = nsub.add_parser("marker", help="add a time-stamped event marker")
    marker.add_argument("session")
    marker.add_argument("label")
    marker.add_argument("--at", default=None, metavar="TIME", help="when it happened (default: now)")
    marker.add_argument("--note", default="")
    _common(marker, signs_in=True)

    medication = sub.add_parser("medication", help="record a medication given (Bedside computes no dose)")
    msub = medication.add_subparsers(dest="action", required=True)
    madd = msub.add_parser("add", help="record a medication given, exactly as given")
    madd.add_argument("session")
    madd.add_argument("--drug", required=True)
    madd.add_argument("--dose", required=True, type=float)
    madd.add_argument("--unit", required=True, help="e.g. mg, mcg, mL")
    madd.add_argument("--route", required=True, help=f"one of {', '.join(r.value for r in Route)}")
    madd.add_argument("--given-at", required=True, metavar="TIME")
    madd.add_argument("--note", default="")
    _common(madd, signs_in=True)


def parse_time(text: str, what: str) -> datetime:
    """An ISO 8601 time; one without a zone is this computer's local time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _BadInput(f"{what} {text!r} is not a time such as 2026-11-27T10:05") from None
    return value if value.tzinfo is not None else value.astimezone()


def _protocol(text: str | None) -> ProtocolRef | None:
    if text is None:
        return None
    parts = text.split("@")
    if len(parts) != 3 or not all(parts):
        raise _BadInput(f"--protocol {text!r}: write ID@VERSION@HASH, e.g. bp-spike@1.2@sha256:...")
    return ProtocolRef(*parts)


def _incident(incidents: IncidentService, session_id: str, wanted: str) -> IncidentSummary:
    """The session's incident whose id is ``wanted`` or starts with it (one only)."""
    found = [i for i in incidents.incidents(session_id) if i.incident_id.startswith(wanted.strip())]
    exact = [i for i in found if i.incident_id == wanted.strip()]
    if exact:
        return exact[0]
    if len(found) != 1 or not wanted.strip():
        why = "no incident" if not found else f"{len(found)} incidents"
        raise _BadInput(
            f"session {session_id} has {why} with an id starting {wanted!r}: "
            f"see 'bedside incident list {session_id}'"
        )
    return found[0]


def _status(shown: IncidentRecord) -> str:
    if shown.closure is not None:
        return f"closed: {Outcome(shown.closure.outcome).words}"
    return "closed" if shown.is_closed else "open"


def _describe(shown: IncidentRecord) -> str:
    i = shown.incident
    lines = [
        f"incident {i.incident_id}: {i.title}",
        f"  opened {i.opened_at:%Y-%m-%d %H:%M:%S} UTC by {i.opened_by} ({shown.source.value})",
    ]
    if shown.closure is not None:
        c = shown.closure
        text = f" - {c.outcome_text}" if c.outcome_text else ""
        lines.append(f"  closed {c.at:%Y-%m-%d %H:%M:%S} UTC by {c.who}: {Outcome(c.outcome).words}{text}")
    elif i.closed_at is not None:
        lines.append(f"  closed {i.closed_at:%Y-%m-%d %H:%M:%S} UTC by {i.closed_by}")
    for alarm in shown.alarm_events:
        e = alarm.event
        lines.append(f"  alarm {e.at:%H:%M:%S} {e.condition} {e.kind} ({e.priority})")
    for run in shown.protocol_runs:
        lines.append(
            f"  protocol run {run.protocol_id} {run.protocol_version} {run.protocol_hash}"
            f" {run.outcome or 'running'}"
        )
    for n in shown.notes:
        lines.append(f"  note {n.note.at:%H:%M:%S} {n.note.who}: {n.note.text}")
    for m in shown.markers:
        lines.append(f"  marker {m.at:%H:%M:%S} {m.who}@{m.station}: {m.label}")
    for med in shown.medications:
        lines.append(
            f"  medication {med.given_at:%H:%M:%S} {med.drug} {med.dose:g} {med.unit} {med.route}"
            f" by {med.who}"
        )
    lines.append(
        f"  vitals {shown.vitals_from:%H:%M:%S} to {shown.vitals_to:%H:%M:%S} UTC:"
        f" {len(shown.vitals)} readings"
    )
    for o in shown.vitals:
        value = "-" if o.value is None else f"{o.value:g}"
        lines.append(f"    {o.measured_at:%H:%M:%S} {o.kind.value} {value} {o.unit} {o.quality.value}")
    d = shown.debrief
    if d is not None:
        lines += [
            f"  debrief {d.at:%Y-%m-%d %H:%M} UTC by {d.who} (protocol followed: {d.protocol_followed})",
            f"    what happened: {d.what_happened}",
            f"    what was done: {d.what_was_done}",
            f"    went well: {d.went_well}",
            f"    to improve: {d.to_improve}",
        ]
        if d.serious:
            lines.append(
                f"    serious: {', '.join(d.serious)}{' - ' + d.serious_text if d.serious_text else ''}"
            )
    for review in shown.reviews:
        change = "needs change" if review.needs_change else "no change"
        lines.append(
            f"  review {review.at:%Y-%m-%d %H:%M} UTC by {review.who}: {review.protocol_id} "
            f"{review.protocol_version}, followed {review.protocol_followed}, {change}: {review.findings}"
        )
        lines += [f"    {line}" for line in review.change_proposal.splitlines()]
    for t in shown.patient_told:
        lines.append(f"  patient told {t.told_at:%Y-%m-%d %H:%M} UTC by {t.told_by}")
        lines += [f"    observed: {t.observed}", f"    done: {t.done}", f"    what it means: {t.meaning}"]
    for amendment in shown.amendments:
        lines.append(f"  amendment {amendment.at:%Y-%m-%d %H:%M} UTC by {amendment.who}: {amendment.text}")
    if shown.outstanding:
        lines.append(f"  still to do: {', '.join(shown.outstanding)}")
    return "\n".join(lines) + "\n"


def _sign_in(args: argparse.Namespace, identity: IdentityService, ask_secret: Ask) -> SignedIn:
    if not identity.has_clinicians():
        raise _BadInput(
            "no clinician is registered yet: create the administrator with 'bedside clinician list'"
        )
    return identity.sign_in(args.signer, ask_secret(f"PIN or password for {args.signer}: "))


def _secret_reader(args: argparse.Namespace, stdin: TextIO, err: TextIO, ask_secret: Ask | None) -> Ask:
    if getattr(args, "secret_stdin", False):

        def read(_prompt: str) -> str:
            line = stdin.readline()
            if not line:
                raise _BadInput("standard input ended before the PIN or password was given")
            return line.rstrip("\r\n")

        return read
    if ask_secret is not None:
        return ask_secret
    return lambda prompt: getpass.getpass(prompt, stream=err)


def _run(
    args: argparse.Namespace,
    *,
    db: Database,
    clock: Clock,
    config: ClinicalConfig,
    ask_secret: Ask,
    out: TextIO,
) -> int:
    audit = AuditTrail(db, clock, station=args.station or socket.gethostname())
    incidents = IncidentService(db, clock, audit, config.incident_record, config.follow_up)
    record = RecordService(db, clock, audit)
    if args.command == "incident" and args.action == "list":
        for summary in incidents.incidents(args.session):
            shown = incidents.show(summary.incident_id)
            todo = ", ".join(shown.outstanding) or "complete"
            out.write(
                f"{summary.incident_id}\t{summary.opened_at:%Y-%m-%d %H:%M:%S}\t{shown.source.value}\t"
                f"{_status(shown)}\t{summary.title}\t{todo}\n"
            )
        return 0
    if args.command == "incident" and args.action == "show":
        out.write(_describe(incidents.show(_incident(incidents, args.session, args.incident).incident_id)))
        return 0
    identity = IdentityService(db, clock, audit, config.sign_in)
    who = _sign_in(args, identity, ask_secret)
    if args.command == "note":
        at = None if args.at is None else parse_time(args.at, "--at")
        if args.action == "add":
            note = record.add_note(who, args.session, args.text, at=at)
            out.write(f"note {note.note_id} added\n")
        else:
            marker = record.add_marker(who, args.session, args.label, at=at, note=args.note)
            out.write(f"event marker {marker.marker_id} added\n")
        return 0
    if args.command == "medication":
        med = record.add_medication(
            who,
            args.session,
            drug=args.drug,
            dose=args.dose,
            unit=args.unit,
            route=args.route,
            given_at=parse_time(args.given_at, "--given-at"),
            note=args.note,
        )
        out.write(
            f"medication {med.medication_id} recorded: {med.drug} {med.dose:g} {med.unit} {med.route}\n"
        )
        return 0
    if args.action == "open":
        at = None if args.at is None else parse_time(args.at, "--at")
        opened = incidents.open_by_hand(who, args.session, args.title, at=at)
        out.write(f"incident {opened.incident_id} opened\n")
        return 0
    incident_id = _incident(incidents, args.session, args.incident).incident_id
    if args.action == "close":
        closure = incidents.close(who, incident_id, args.outcome, args.text)
        out.write(f"incident {incident_id} closed: {Outcome(closure.outcome).words}\n")
        for owed in incidents.scheduled:
            out.write(
                f"follow-up {owed.follow_up_id} scheduled: {owed.item.contact.replace('_', ' ')} "
                f"due by {owed.item.due_by.astimezone():%Y-%m-%d %H:%M}\n"
            )
    elif args.action == "debrief":
        incidents.debrief(
            who,
            incident_id,
            what_happened=args.what_happened,
            what_was_done=args.what_was_done,
            went_well=args.went_well,
            to_improve=args.to_improve,
            protocol_followed=args.protocol_followed,
            serious=tuple(args.serious),
            serious_text=args.serious_text,
        )
        due = " (serious: a formal review is due)" if args.serious else ""
        out.write(f"incident {incident_id} debriefed{due}\n")
    elif args.action == "review":
        review = incidents.review(
            who,
            incident_id,
            protocol_followed=args.protocol_followed,
            needs_change=bool(args.needs_change.strip()),
            findings=args.findings,
            proposed_change=args.needs_change,
            protocol=_protocol(args.protocol),
        )
        out.write(f"incident {incident_id} reviewed against {review.protocol_id} {review.protocol_version}\n")
        out.write(review.change_proposal)
    else:
        incidents.patient_told(
            who,
            incident_id,
            observed=args.observed,
            done=args.done,
            meaning=args.meaning,
            told_at=parse_time(args.told_at, "--told-at"),
            told_by=args.told_by,
        )
        out.write(f"what the patient was told about incident {incident_id} is recorded\n")
    return 0


def run_record(
    args: argparse.Namespace,
    *,
    clock: Clock | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    ask_secret: Ask | None = None,
) -> int:
    """Run an ``incident``, ``note`` or ``medication`` command; 0 done, 1 refused, 2 bad input."""
    stdin = stdin if stdin is not None else sys.stdin
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    name = f"bedside {args.command} {args.action}"
    quiet_logs(args)
    try:
        config = load_config(args.clinic_config)
    except (ConfigError, OSError) as exc:
        err.write(f"{name}: the clinic config cannot be used: {exc}\n")
        return 2
    try:
        db = open_database(args.db)
    except Exception as exc:  # any driver or file error: one sentence, never a traceback
        err.write(f"{name}: cannot open the database: {exc}\n")
        return 2
    try:
        reader = _secret_reader(args, stdin, err, ask_secret)
        return _run(
            args,
            db=db,
            clock=clock if clock is not None else SystemClock(),
            config=config,
            ask_secret=reader,
            out=out,
        )
    except (IdentityError, IncidentClosedError, ReviewNotDue) as exc:
        err.write(f"{name}: {exc}\n")
        return 1
    except (_BadInput, RecordError, IncidentError, UnknownRecordError, StorageError) as exc:
        err.write(f"{name}: {exc}\n")
        return 2
    finally:
        db.close()
