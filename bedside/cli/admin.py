"""``bedside clinician add|list|passwd`` and ``bedside patient add|list|show`` (issue 9, Identity).

Secrets are asked for without echo (getpass) and never taken from the command line; for scripts,
``--secret-stdin`` reads each one from its own line of standard input instead. On a database with
no clinician yet, any of these commands first asks for the administrator (name, sign-in name,
PIN or password). Exit 0 when done, 1 when a sign-in or a permission is refused, 2 on bad input.
"""

from __future__ import annotations

import argparse
import getpass
import logging
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from alarms import ClinicalConfig, ConfigError, load_config
from bedside.cli._common import add_record_arguments, quiet_logs
from bedside.workflow import (
    AuditTrail,
    ClinicianDetailsError,
    IdentityError,
    IdentityService,
    PatientDetailsError,
    PatientService,
    Role,
    SecretRejected,
    Sex,
    SignedIn,
)
from drivers.clock import Clock, SystemClock
from storage import (
    Database,
    DuplicateLoginError,
    PatientDetails,
    PatientRecord,
    ReferringProvider,
    StorageError,
    UnknownRecordError,
    open_database,
)

log = logging.getLogger(__name__)

ADMIN_COMMANDS = ("clinician", "patient")

Ask = Callable[[str], str]


class _Refused(Exception):
    """Stop the command: a sign-in or a permission was refused (exit 1)."""


class _BadInput(Exception):
    """Stop the command: the input cannot be used (exit 2)."""


def _common(p: argparse.ArgumentParser, *, signs_in: bool = True) -> None:
    # Admin reads secrets from stdin even without --as: the first start creates the first clinician.
    add_record_arguments(
        p,
        signer="optional" if signs_in else "none",
        config_help="clinic defaults YAML (sign-in lockout ...)",
        secret_help="read each PIN or password from its own line of standard input (scripts) instead of "
        "asking",
        secret_stdin=True,
    )


def add_admin_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``clinician`` and ``patient`` with their sub-commands to the ``bedside`` parser."""
    clinician = sub.add_parser("clinician", help="add and list clinicians; change a PIN or password")
    csub = clinician.add_subparsers(dest="action", required=True)
    add = csub.add_parser("add", help="add a clinician (administrators only)")
    add.add_argument("name", help='the clinician\'s name, e.g. "Dr. Ana Rivera"')
    add.add_argument("--login", required=True, help="sign-in name, e.g. rivera")
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    _common(add)
    _common(csub.add_parser("list", help="list clinicians, their roles and any lock"), signs_in=False)
    passwd = csub.add_parser(
        "passwd",
        help="change a PIN or password: your own (with the current one) or, as administrator, anyone's",
    )
    passwd.add_argument("login", help="whose PIN or password")
    _common(passwd)

    patient = sub.add_parser("patient", help="add, list and show patients")
    psub = patient.add_subparsers(dest="action", required=True)
    padd = psub.add_parser(
        "add", help="add a patient (the minimum: who, born, sex, weight, allergies, referrers)"
    )
    padd.add_argument("--name", default="", help="the patient's name (or give --clinic-id, or both)")
    padd.add_argument("--clinic-id", default="", help="the clinic's id for the patient")
    padd.add_argument("--dob", required=True, metavar="YYYY-MM-DD", help="date of birth")
    padd.add_argument("--sex", required=True, choices=[s.value for s in Sex])
    padd.add_argument("--weight-kg", required=True, type=float, help="weight in kilograms")
    padd.add_argument("--allergy", action="append", default=[], help="an allergy; repeatable")
    padd.add_argument("--no-known-allergies", action="store_true", help="the patient has no known allergies")
    padd.add_argument(
        "--referrer",
        action="append",
        default=[],
        metavar="NAME[;SPECIALTY[;CONTACT]]",
        help='a referring provider, e.g. "Dr. Lee;psychiatry;fax 555-0100"; repeatable',
    )
    _common(padd)
    _common(psub.add_parser("list", help="list patients"))
    show = psub.add_parser("show", help="show one patient")
    show.add_argument("patient_id")
    _common(show)


@dataclass
class _Context:
    db: Database
    clock: Clock
    config: ClinicalConfig
    identity: IdentityService
    patients: PatientService
    ask: Ask
    ask_secret: Ask
    confirm: bool  # ask a new secret twice (interactive), or once (--secret-stdin)
    out: TextIO
    err: TextIO


def _stdin_line(stream: TextIO) -> Ask:
    def read(_prompt: str) -> str:
        line = stream.readline()
        if not line:
            raise _BadInput("standard input ended before every answer was given")
        return line.rstrip("\r\n")

    return read


def _prompting(stream: TextIO, err: TextIO) -> Ask:
    def ask(prompt: str) -> str:
        err.write(prompt)
        err.flush()
        line = stream.readline()
        if not line:
            raise _BadInput("standard input ended before every answer was given")
        return line.rstrip("\r\n")

    return ask


def run_admin(
    args: argparse.Namespace,
    *,
    clock: Clock | None = None,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    ask_secret: Ask | None = None,
) -> int:
    """Run a ``clinician`` or ``patient`` command; 0 done, 1 refused, 2 bad input."""
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
        clock = clock if clock is not None else SystemClock()
        audit = AuditTrail(db, clock, station=args.station or socket.gethostname())
        if args.secret_stdin:
            secret_reader = _stdin_line(stdin)
        else:
            secret_reader = ask_secret if ask_secret is not None else _getpass(err)
        context = _Context(
            db=db,
            clock=clock,
            config=config,
            identity=IdentityService(db, clock, audit, config.sign_in),
            patients=PatientService(db, clock, audit, config.patient_record),
            ask=_prompting(stdin, err),
            ask_secret=secret_reader,
            confirm=not args.secret_stdin,
            out=out,
            err=err,
        )
        return _run(args, context)
    except _Refused as exc:
        err.write(f"{name}: {exc}\n")
        return 1
    except IdentityError as exc:
        err.write(f"{name}: {exc}\n")
        return 2 if isinstance(exc, SecretRejected | ClinicianDetailsError) else 1
    except (_BadInput, PatientDetailsError, StorageError) as exc:
        err.write(f"{name}: {exc}\n")
        return 2
    finally:
        db.close()


def _getpass(err: TextIO) -> Ask:
    def ask(prompt: str) -> str:
        return getpass.getpass(prompt, stream=err)

    return ask


def _new_secret(c: _Context, whose: str) -> str:
    secret = c.ask_secret(f"New PIN or password for {whose}: ")
    c.identity.check_secret(secret)
    if c.confirm and c.ask_secret("Again, to confirm: ") != secret:
        raise _BadInput("the two entries differ: nothing was changed")
    return secret


def _first_start(c: _Context) -> tuple[SignedIn, str] | None:
    """Create the administrator when the database has no clinician; returns them signed in."""
    if c.identity.has_clinicians():
        return None
    c.err.write("No clinician is registered in this database yet: create the administrator first.\n")
    name = c.ask("Administrator's name: ").strip()
    login = c.ask("Sign-in name: ").strip()
    secret = _new_secret(c, login or "the administrator")
    created = c.identity.ensure_administrator(name, secret, login=login or None)
    if created is None:
        raise _Refused("another station created the administrator meanwhile: sign in with that account")
    c.err.write(f"Administrator {created.login} created.\n")
    return c.identity.sign_in(created.login, secret), secret


def _sign_in(c: _Context, signer: str | None, fresh: tuple[SignedIn, str] | None) -> tuple[SignedIn, str]:
    """Sign in (or keep the administrator just created); returns who and the secret they gave."""
    login = signer if signer is not None else c.ask("Sign in as: ").strip()
    if fresh is not None and fresh[0].who == login.strip().lower():
        return fresh
    secret = c.ask_secret(f"PIN or password for {login}: ")
    return c.identity.sign_in(login, secret), secret


def _run(args: argparse.Namespace, c: _Context) -> int:
    fresh = _first_start(c)
    if args.command == "clinician" and args.action == "list":
        for person in c.identity.clinicians():
            status = "active" if person.active else "inactive"
            if person.locked_until is not None and person.locked_until > c.clock.now():
                status = f"locked until {person.locked_until:%Y-%m-%d %H:%M} UTC"
            c.out.write(f"{person.login}\t{person.name}\t{person.role.words}\t{status}\n")
        return 0
    if args.command == "clinician" and args.action == "add":
        by, _ = _sign_in(c, args.signer, fresh)
        secret = _new_secret(c, args.login)
        try:
            added = c.identity.add_clinician(
                by, name=args.name, login=args.login, role=Role(args.role), secret=secret
            )
        except DuplicateLoginError as exc:
            raise _BadInput(str(exc)) from None
        c.out.write(f"added {added.login} ({added.name}, {added.role.words})\n")
        return 0
    if args.command == "clinician" and args.action == "passwd":
        by, current = _sign_in(c, args.signer if args.signer is not None else args.login, fresh)
        secret = _new_secret(c, args.login)
        c.identity.change_secret(by, args.login, secret, current_secret=current or None)
        c.out.write(f"the PIN or password of {args.login.strip().lower()} was changed\n")
        return 0
    by, _ = _sign_in(c, args.signer, fresh)
    if args.action == "add":
        record = c.patients.add(by, _patient_details(args))
        c.out.write(f"added patient {record.patient_id}\n")
        return 0
    if args.action == "list":
        for record in c.patients.patients():
            d = record.details
            c.out.write(
                f"{record.patient_id}\t{d.clinic_id or '-'}\t{d.name or '-'}\t{d.date_of_birth.isoformat()}\t"
                f"{d.sex}\t{d.weight_kg:g} kg\n"
            )
        return 0
    try:
        record = c.patients.patient(args.patient_id)
    except UnknownRecordError as exc:
        raise _BadInput(str(exc)) from None
    c.out.write(_show(record))
    return 0


def _patient_details(args: argparse.Namespace) -> PatientDetails:
    if args.no_known_allergies == bool(args.allergy):
        raise _BadInput("give each allergy with --allergy, or --no-known-allergies (one or the other)")
    try:
        born = date.fromisoformat(args.dob)
    except ValueError:
        raise _BadInput(f"--dob {args.dob!r} is not a date such as 1984-03-09") from None
    providers = []
    for text in args.referrer:
        parts = [p.strip() for p in text.split(";")]
        if len(parts) > 3:
            raise _BadInput(f"--referrer {text!r}: write NAME;SPECIALTY;CONTACT (at most three parts)")
        providers.append(ReferringProvider(*parts))
    return PatientDetails(
        name=args.name,
        clinic_id=args.clinic_id,
        date_of_birth=born,
        sex=args.sex,
        weight_kg=args.weight_kg,
        allergies=tuple(args.allergy),
        referring_providers=tuple(providers),
    )


def _show(record: PatientRecord) -> str:
    d = record.details
    referrers = "; ".join(
        ", ".join(part for part in (p.name, p.specialty, p.contact) if part) for p in d.referring_providers
    )
    lines = [
        ("patient id", record.patient_id),
        ("name", d.name or "-"),
        ("clinic id", d.clinic_id or "-"),
        ("date of birth", d.date_of_birth.isoformat()),
        ("sex", d.sex),
        ("weight", f"{d.weight_kg:g} kg"),
        ("allergies", ", ".join(d.allergies) or "no known allergies"),
        ("referred by", referrers or "-"),
        ("added", f"{record.created_at:%Y-%m-%d %H:%M} UTC by {record.created_by}"),
        ("changed", f"{record.updated_at:%Y-%m-%d %H:%M} UTC by {record.updated_by}"),
    ]
    return "".join(f"{label:>14}: {value}\n" for label, value in lines)
