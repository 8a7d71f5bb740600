"""What follows a session, on the command line (issue 9: DOC-5, DOC-6, DOC-7, DRL-2).

``bedside followup list [--due|--overdue]`` lists open follow-ups with where each stands;
``bedside followup close ID --outcome adjust|pause|stop [--adjust WHAT ...] [--workup WHICH]``
closes one; ``bedside medwatch draft INCIDENT_OR_SESSION --out F.pdf`` prints the MedWatch draft of a
flagged event; ``bedside referral SESSION --out F.pdf`` prints the referral summary (only with the
patient's written consent recorded); ``bedside drill report SESSION --out F.pdf`` prints a drill
report from the drill database. Every change and export signs in (``--as LOGIN``; the PIN or password
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
from datetime import datetime
from pathlib import Path
from typing import Any, TextIO

from alarms import ClinicalConfig, ConfigError, ThresholdSet, load_config
from alarms.thresholds import ThresholdField
from bedside.cli._common import USER_DATABASE, add_record_arguments
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
from bedside.workflow.medwatch import MedWatchError, MedWatchService
from bedside.workflow.referral import ConsentMissing, ReferralError, ReferralService
from drivers.clock import Clock, SystemClock
from storage import Database, DatabasePurposeError, SessionRepository, StorageError, open_database
from storage.files import write_owner_only
from storage.followup import FollowUpRecord
from storage.urls import sqlite_file_of

log = logging.getLogger(__name__)

FOLLOWUP_COMMANDS = ("followup", "medwatch", "referral", "drill")

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

    medwatch = sub.add_parser("medwatch", help="print the MedWatch draft of a serious event (never sent)")
    msub = medwatch.add_subparsers(dest="action", required=True)
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
    if not getattr(args, "verbose", False):
        logging.getLogger().setLevel(logging.WARNING)  # stdout carries only the answer
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
        assert signed is not None
        closed = service.close(
            signed, args.id, args.outcome, adjustments=args.adjust, workup=args.workup, note=args.note
        )
        out.write(f"follow-up {closed.follow_up_id} closed: {closed.outcome}\n")
        _print_suggestion(db, config, closed, out)
        return 0
    assert signed is not None
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
