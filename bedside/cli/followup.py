"""What follows a session, on the command line (issue 9: DOC-5, DOC-6, DOC-7, DRL-2).

``bedside followup list [--due|--overdue]`` lists open follow-ups with where each stands;
``bedside followup close ID --outcome adjust|pause|stop [--adjust WHAT ...] [--workup WHICH]``
closes one; ``bedside medwatch draft INCIDENT_OR_SESSION --out F.pdf`` prints the MedWatch draft of a
flagged event; ``bedside referral SESSION --out F.pdf`` prints the referral summary (only with the
patient's written consent recorded); ``bedside drill report SESSION --out F.pdf`` prints a drill
report from the drill database. ``bedside followup schedule SESSION --event-type TYPE [--incident ID]``
schedules what an event calls for; ``bedside medwatch flag SUBJECT --criterion C ... --description
TEXT`` / ``medwatch unflag SUBJECT --reason TEXT`` flag an event as serious or withdraw the flag;
``bedside consent record PATIENT --scope TEXT --signed-on DATE`` records the written consent (DOC-5);
``bedside drill log SESSION --date DATE --scenario TEXT --participant NAME ...`` logs a drill
(DRL-2). Every change and export signs in (``--as LOGIN``; the PIN or password
is asked without echo, or read from standard input with ``--secret-stdin``) and is audited.
Exit 0 when done, 1 when refused (sign-in, consent, not flagged), 2 on bad input.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from alarms import ClinicalConfig, ConfigError, ThresholdSet, load_config
from alarms.thresholds import ThresholdField
from bedside.cli._common import USER_DATABASE, add_record_arguments, quiet_logs
from bedside.workflow.audit import AuditTrail
from bedside.workflow.drills import DrillError, DrillService
from bedside.workflow.followup import (
    Adjustment,
    FollowUpError,
    FollowUpOutcome,
    FollowUpService,
    FollowUpState,
    Workup,
    follow_up_state,
    suggest_next_thresholds,
)
from bedside.workflow.identity import IdentityError, IdentityService, SignedIn
from bedside.workflow.medwatch import MedWatchError, MedWatchService, SeriousCriterion
from bedside.workflow.referral import ConsentMissing, ReferralError, ReferralService
from drivers.clock import Clock, SystemClock
from storage import (
    Database,
    DatabasePurposeError,
    IdentityRepository,
    SessionRepository,
    StorageError,
    UnknownRecordError,
    open_database,
)
from storage.files import write_owner_only
from storage.followup import FollowUpRecord
from storage.urls import sqlite_file_of

log = logging.getLogger(__name__)

FOLLOWUP_COMMANDS = ("followup", "medwatch", "referral", "drill", "consent")

Ask = Callable[[str], str]


class _Refused(Exception):
    """Stop the command: refused (exit 1)."""


class _BadInput(Exception):
    """Stop the command: the input cannot be used (exit 2)."""


def _common(p: argparse.ArgumentParser, *, signs_in: bool = True, drill: bool = False) -> None:
    add_record_arguments(
        p,
        signer="required" if signs_in else "none",
        default_where="the drill database" if drill else USER_DATABASE,
        config_help="clinic defaults YAML (follow_up ...)",
        secret_help="read the PIN or password from standard input (scripts) instead of asking",
    )


def add_followup_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``followup``, ``medwatch``, ``referral`` and ``drill`` to the ``bedside`` parser."""
    followup = sub.add_parser("followup", help="list due and overdue follow-ups; close one with an outcome")
    fsub = followup.add_subparsers(dest="action", required=True)
    listing = fsub.add_parser("list", help="open follow-ups, soonest due first")
    which = listing.add_mutually_exclusive_group()
    which.add_argument("--due", action="store_true", help="only those due now")
    which.add_argument("--overdue", action="store_true", help="only those past their due time")
    _common(listing, signs_in=False)
    close = fsub.add_parser("close", help="close a follow-up with its outcome")
    close.add_argument("id", help="the follow-up's id (from `bedside followup list`)")
    close.add_argument("--outcome", required=True, choices=[o.value for o in FollowUpOutcome])
    close.add_argument(
        "--adjust",
        action="append",
        default=[],
        choices=[a.value for a in Adjustment],
        help="what changes next time (adjust; repeatable)",
    )
    close.add_argument("--workup", choices=[w.value for w in Workup], help="the workup a pause waits for")
    close.add_argument("--note", default="", help="what the patient reported, what was agreed")
    _common(close)
    schedule = fsub.add_parser("schedule", help="schedule the follow-ups an event's type calls for")
    schedule.add_argument("session", help="the session the event happened in")
    schedule.add_argument(
        "--event-type", required=True, help="the event's type: a protocol id (bp-spike ...) or any word"
    )
    schedule.add_argument("--incident", default="", help="the incident the follow-up is about")
    schedule.add_argument("--event-at", default=None, help="when it happened (ISO time; default: now)")
    _common(schedule)

    medwatch = sub.add_parser("medwatch", help="print the MedWatch draft of a serious event (never sent)")
    msub = medwatch.add_subparsers(dest="action", required=True)
    flag = msub.add_parser("flag", help="flag an incident or session as a serious event (DOC-6)")
    flag.add_argument("subject", metavar="INCIDENT_OR_SESSION")
    flag.add_argument(
        "--criterion",
        action="append",
        required=True,
        choices=[c.value for c in SeriousCriterion],
        help="a serious criterion met (repeatable)",
    )
    flag.add_argument("--description", required=True, help="what happened, what was done, how the patient is")
    flag.add_argument("--event-at", default=None, help="when it happened (ISO time; default: the incident)")
    flag.add_argument("--tests", default="", help="relevant tests and results")
    flag.add_argument("--dose", default="", help="ketamine dose as given, e.g. '0.5 mg/kg over 40 min'")
    flag.add_argument("--route", default="", help="route of the suspect product")
    flag.add_argument("--therapy-dates", default="", help="therapy dates")
    flag.add_argument("--concomitant", action="append", default=[], help="a concomitant medication")
    _common(flag)
    unflag = msub.add_parser("unflag", help="withdraw an event's serious flag, with the reason")
    unflag.add_argument("subject", metavar="INCIDENT_OR_SESSION")
    unflag.add_argument("--reason", required=True, help="why the flag is withdrawn")
    _common(unflag)
    draft = msub.add_parser(
        "draft", help="the voluntary report's fields as a PDF for the clinician to submit"
    )
    draft.add_argument("subject", metavar="INCIDENT_OR_SESSION")
    draft.add_argument("--out", type=Path, required=True, help="the PDF to write")
    _common(draft)

    referral = sub.add_parser("referral", help="print a session summary for the referring provider")
    referral.add_argument("session")
    referral.add_argument("--out", type=Path, required=True, help="the PDF to write")
    _common(referral)

    drill = sub.add_parser("drill", help="drill reports from the drill database")
    dsub = drill.add_subparsers(dest="action", required=True)
    report = dsub.add_parser(
        "report", help="the drill's log and the team's response timings (DRILL on every page)"
    )
    report.add_argument("session")
    report.add_argument("--out", type=Path, required=True, help="the PDF to write")
    _common(report, drill=True)
    log_drill = dsub.add_parser(
        "log", help="log a drill run on a drill session: date, scenario, participants"
    )
    log_drill.add_argument("session")
    log_drill.add_argument("--date", required=True, help="the drill's date (YYYY-MM-DD)")
    log_drill.add_argument("--scenario", required=True, help="what was rehearsed")
    log_drill.add_argument(
        "--participant", action="append", required=True, help="a participant's name and role (repeatable)"
    )
    _common(log_drill, drill=True)

    consent = sub.add_parser("consent", help="record a patient's written consent (DOC-5)")
    csub = consent.add_subparsers(dest="action", required=True)
    record = csub.add_parser("record", help="record the written consent to share summaries")
    record.add_argument("patient", help="the patient's clinic id (MRN) or patient id")
    record.add_argument("--scope", required=True, help="what may be shared with whom")
    record.add_argument("--signed-on", required=True, help="the date the patient signed (YYYY-MM-DD)")
    _common(record)


def _name(args: argparse.Namespace) -> str:
    action = getattr(args, "action", None)
    return f"bedside {args.command}" + (f" {action}" if action else "")


def _open(args: argparse.Namespace) -> Database:
    drill = args.command == "drill"
    file = sqlite_file_of(args.db) if args.db else None
    if file is not None and not file.is_file():
        # Opening would create an empty database: say what is wrong instead.
        raise _BadInput(f"there is no database at {file}: check --db")
    try:
        return open_database(args.db, drill=drill)
    except DatabasePurposeError:
        if drill:
            raise _Refused(
                "this is the patient database: drill reports come only from the drill database, "
                "so drill data never mixes with patient records"
            ) from None
        raise
    except StorageError:
        raise
    except Exception as exc:  # any driver or file error: one sentence, never a traceback
        raise _BadInput(f"cannot open the database: {exc}") from None


def run_followup(
    args: argparse.Namespace,
    *,
    clock: Clock | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    ask_secret: Ask | None = None,
) -> int:
    """Run a ``followup``, ``medwatch``, ``referral`` or ``drill`` command; 0 done, 1 refused, 2 bad input."""
    stdin = stdin if stdin is not None else sys.stdin
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    name = _name(args)
    quiet_logs(args)
    try:
        config = load_config(args.clinic_config)
    except (ConfigError, OSError) as exc:
        err.write(f"{name}: the clinic config cannot be used: {exc}\n")
        return 2
    clock = clock if clock is not None else SystemClock()
    try:
        db = _open(args)
    except _Refused as exc:
        err.write(f"{name}: {exc}\n")
        return 1
    except (_BadInput, StorageError) as exc:
        err.write(f"{name}: {exc}\n")
        return 2
    try:
        audit = AuditTrail(db, clock, station=args.station or socket.gethostname())
        signed: SignedIn | None = None
        if hasattr(args, "signer"):
            if args.secret_stdin:
                secret = stdin.readline().rstrip("\r\n")
            else:
                reader = ask_secret if ask_secret is not None else _getpass(err)
                secret = reader(f"PIN or password for {args.signer}: ")
            signed = IdentityService(db, clock, audit, config.sign_in).sign_in(args.signer, secret)
        return _run(args, db=db, clock=clock, audit=audit, config=config, signed=signed, out=out, err=err)
    except (_Refused, ConsentMissing, IdentityError) as exc:
        err.write(f"{name}: {exc}\n")
        return 1
    except (_BadInput, FollowUpError, MedWatchError, ReferralError, DrillError, StorageError, OSError) as exc:
        err.write(f"{name}: {exc}\n")
        return 2
    finally:
        db.close()


def _getpass(err: TextIO) -> Ask:
    def ask(prompt: str) -> str:
        return getpass.getpass(prompt, stream=err)

    return ask


def _line(record: FollowUpRecord, now: datetime) -> str:
    i = record.item
    state = follow_up_state(record, now).value.upper()
    about = f"incident {i.incident_id}" if i.incident_id else f"session {i.session_id}"
    who = f"  patient {i.patient_ref}" if i.patient_ref else ""
    return (
        f"{record.follow_up_id}  {state:<8}  {i.contact.replace('_', ' ')} #{i.number}  "
        f"due by {i.due_by.astimezone():%Y-%m-%d %H:%M}  after {i.event_type}, {about}{who}"
    )


def _run(
    args: argparse.Namespace,
    *,
    db: Database,
    clock: Clock,
    audit: AuditTrail,
    config: ClinicalConfig,
    signed: SignedIn | None,
    out: TextIO,
    err: TextIO,
) -> int:
    if args.command == "followup":
        service = FollowUpService(db, clock, audit, config.follow_up)
        if args.action == "list":
            now = clock.now()
            state = FollowUpState.DUE if args.due else FollowUpState.OVERDUE if args.overdue else None
            records = service.listed(state, now)
            for record in records:
                out.write(_line(record, now) + "\n")
            if not records:
                out.write("no follow-up " + (f"{state.value}\n" if state else "open\n"))
            return 0
        if args.action == "schedule":
            assert signed is not None
            SessionRepository(db).session(args.session)  # an unknown session is named, not scheduled
            event_at = _time(args.event_at, "--event-at") if args.event_at else clock.now()
            patient = SessionRepository(db).session(args.session).patient_mrn
            records = service.schedule(
                signed,
                event_type=args.event_type.strip() or "default",
                event_at=event_at,
                session_id=args.session,
                incident_id=args.incident,
                patient_ref=patient,
            )
            for record in records:
                out.write(_line(record, clock.now()) + "\n")
            return 0
        assert signed is not None
        closed = service.close(
            signed, args.id, args.outcome, adjustments=args.adjust, workup=args.workup, note=args.note
        )
        out.write(f"follow-up {closed.follow_up_id} closed: {closed.outcome}\n")
        _print_suggestion(db, config, closed, out)
        return 0
    assert signed is not None
    changed = _change(args, db=db, clock=clock, audit=audit, config=config, signed=signed)
    if changed is not None:
        out.write(changed + "\n")
        return 0
    if args.command == "medwatch":
        pdf = MedWatchService(db, clock, audit).draft_pdf(signed, args.subject, reporter=signed.name)
        what = "MedWatch draft (not sent anywhere: check it and submit it yourself)"
    elif args.command == "referral":
        pdf = ReferralService(db, clock, audit).summary_pdf(signed, args.session)
        what = "referral summary"
    else:
        pdf = DrillService(db, clock, audit).report_pdf(signed, args.session)
        what = "drill report"
    write_owner_only(args.out, pdf)
    out.write(f"{what} written to {args.out}\n")
    return 0


def _time(text: str, what: str) -> datetime:
    """An ISO time; one without a zone is this computer's local time."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise _BadInput(f"{what} {text!r} is not a time such as 2026-11-27T10:05") from None
    return value if value.tzinfo is not None else value.astimezone()


def _day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise _BadInput(f"{what} {text!r} is not a date such as 2026-11-27") from None


def _change(
    args: argparse.Namespace,
    *,
    db: Database,
    clock: Clock,
    audit: AuditTrail,
    config: ClinicalConfig,
    signed: SignedIn,
) -> str | None:
    """Record a consent, a serious flag (or its withdrawal) or a drill log; the sentence to print,
    or None when the command is not one of these."""
    if args.command == "consent":
        identity = IdentityRepository(db)
        patient = identity.patient_by_clinic_id(args.patient)
        if patient is None:
            try:
                patient = identity.patient(args.patient)
            except UnknownRecordError:
                raise _BadInput(
                    f"no patient with clinic id or id {args.patient!r}: list them with 'bedside patient list'"
                ) from None
        consent = ReferralService(db, clock, audit).record_consent(
            signed, patient.patient_id, scope=args.scope, signed_on=_day(args.signed_on, "--signed-on")
        )
        return f"consent {consent.consent_id} recorded for {patient.details.name or args.patient}"
    if args.command == "medwatch" and args.action == "flag":
        flagged = MedWatchService(db, clock, audit).flag(
            signed,
            args.subject,
            args.criterion,
            description=args.description,
            event_at=_time(args.event_at, "--event-at") if args.event_at else None,
            relevant_tests=args.tests,
            suspect_dose=args.dose,
            suspect_route=args.route,
            therapy_dates=args.therapy_dates,
            concomitant_medications=args.concomitant,
        )
        return f"{args.subject} flagged as serious ({', '.join(flagged.criteria)}): flag {flagged.flag_id}"
    if args.command == "medwatch" and args.action == "unflag":
        MedWatchService(db, clock, audit).unflag(signed, args.subject, reason=args.reason)
        return f"serious flag of {args.subject} withdrawn"
    if args.command == "drill" and args.action == "log":
        logged = DrillService(db, clock, audit).log_drill(
            signed,
            args.session,
            drill_date=_day(args.date, "--date"),
            scenario=args.scenario,
            participants=args.participant,
        )
        return f"drill {logged.drill_id} logged with {len(logged.participants)} participant(s)"
    return None


def _print_suggestion(db: Database, config: ClinicalConfig, closed: FollowUpRecord, out: TextIO) -> None:
    """An earlier BP threshold is shown as a suggestion for the next session (confirmed there)."""
    sets = SessionRepository(db).threshold_sets(closed.item.session_id)
    base = ThresholdSet.clinic_default(config)
    if sets:
        last = sets[-1]
        values: dict[str, Any] = {
            f.value: getattr(last, f.value) if getattr(last, f.value, None) is not None else base.value(f)
            for f in ThresholdField
        }
        base = replace(base, **values)
    suggestion = suggest_next_thresholds(base, closed, config.follow_up)
    if suggestion is not None:
        out.write(f"suggested for the patient's next session, to be confirmed there: {suggestion.reason}\n")
