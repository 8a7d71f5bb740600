"""Clinicians, roles and sign-in (issue 9, "Identity"; DOC-1: every record carries the person signed in)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alarms import ClinicalConfig, ConfigError
from alarms.config import SignInConfig
from bedside.workflow import (
    CLINIC_DEFAULTS,
    PROTOCOL,
    AccountLocked,
    ApprovalService,
    AuditAction,
    AuditTrail,
    IdentityService,
    NotPermitted,
    NotSignedIn,
    Role,
    SecretRejected,
    SignedIn,
    SignInDesk,
    SignInRefused,
    require_role,
)
from drivers.clock import FakeClock
from protocols import LIBRARY_DIR, ProtocolFileError, compute_hash
from storage import Database, IdentityRepository
from tests.workflow.conftest import ADMIN_SECRET, CLINICIAN_SECRET, DIRECTOR_SECRET

pytestmark = pytest.mark.req("DOC-1")


def _actions(audit: AuditTrail) -> list[tuple[str, str, str]]:
    return [(e.who, e.action, e.subject) for e in audit.entries()]


def test_the_first_start_creates_the_administrator_once(identity: IdentityService, audit: AuditTrail) -> None:
    """DOC-1 / issue 9 "Identity": the first start creates the administrator; later starts leave it alone."""
    assert not identity.has_clinicians()

    created = identity.ensure_administrator("Morgan  Admin", ADMIN_SECRET)
    again = identity.ensure_administrator("Someone Else", "9999-other")

    assert created is not None
    assert (created.login, created.name, created.role) == ("morgan.admin", "Morgan Admin", Role.ADMINISTRATOR)
    assert again is None
    assert [c.login for c in identity.clinicians()] == ["morgan.admin"]
    assert _actions(audit) == [("first start", "administrator_created", "morgan.admin")]


def test_sign_in_returns_who_role_and_when_and_is_audited(
    identity: IdentityService, audit: AuditTrail, clock: FakeClock
) -> None:
    """DOC-1 / issue 9 "Identity": sign-in returns a SignedIn (who, role, at) that records carry."""
    identity.ensure_administrator("Morgan Admin", ADMIN_SECRET, login="admin")
    clock.advance(60)

    signed_in = identity.sign_in(" Admin ", ADMIN_SECRET)

    assert signed_in.who == "admin"
    assert signed_in.role is Role.ADMINISTRATOR
    assert signed_in.at == clock.now()
    assert signed_in.station == "room-1"
    last = list(audit.entries())[-1]
    assert (last.who, last.action, last.at, last.station) == ("admin", "sign_in", clock.now(), "room-1")


def test_a_wrong_pin_is_refused_clearly_and_counted_then_locks(
    identity: IdentityService,
    clinician: SignedIn,
    audit: AuditTrail,
    clock: FakeClock,
    config: ClinicalConfig,
) -> None:
    """DOC-1 / issue 9 "Identity": a wrong PIN is refused with a clear message and counted; after N tries
    in a row the account is locked for M minutes (both from the clinic config), the right PIN too."""
    tries = config.sign_in.max_wrong_tries
    for n in range(1, tries):
        with pytest.raises(SignInRefused) as refused:
            identity.sign_in("rivera", "0000")
        assert not isinstance(refused.value, AccountLocked)
        left = tries - n
        assert f"wrong PIN or password for rivera: {left} more wrong" in str(refused.value)

    with pytest.raises(AccountLocked) as locked:
        identity.sign_in("rivera", "0000")
    assert locked.value.until == clock.now() + timedelta(minutes=config.sign_in.lockout_min)
    assert "locked until" in str(locked.value)
    with pytest.raises(AccountLocked):
        identity.sign_in("rivera", CLINICIAN_SECRET)

    clock.advance(config.sign_in.lockout_min * 60 - 1)
    with pytest.raises(AccountLocked):
        identity.sign_in("rivera", CLINICIAN_SECRET)
    clock.advance(1)
    assert identity.sign_in("rivera", CLINICIAN_SECRET).who == "rivera"

    actions = [a for _, a, s in _actions(audit) if s == "rivera"]
    assert actions.count("sign_in_refused") == tries - 1 + 2
    assert actions.count("account_locked") == 1


def test_lockout_numbers_come_from_the_clinic_config(
    db: Database, clock: FakeClock, audit: AuditTrail, hasher: PasswordHasher, clinician: SignedIn
) -> None:
    """DOC-1 / issue 9 "Identity": the lock after N tries for M minutes is configurable."""
    strict = IdentityService(
        db, clock, audit, SignInConfig(max_wrong_tries=2, lockout_min=1, min_secret_length=4), hasher=hasher
    )
    with pytest.raises(SignInRefused, match="1 more wrong try lock the account for 1 minutes"):
        strict.sign_in("rivera", "0000")
    with pytest.raises(AccountLocked):
        strict.sign_in("rivera", "0000")
    clock.advance(60)
    assert strict.sign_in("rivera", CLINICIAN_SECRET).who == "rivera"


def test_a_right_pin_clears_the_count_of_wrong_ones(
    identity: IdentityService, clinician: SignedIn, config: ClinicalConfig
) -> None:
    """DOC-1 / issue 9 "Identity": only wrong tries in a row lock; a success starts the count again."""
    for _ in range(3):
        for _ in range(config.sign_in.max_wrong_tries - 1):
            with pytest.raises(SignInRefused):
                identity.sign_in("rivera", "0000")
        identity.sign_in("rivera", CLINICIAN_SECRET)


def test_an_administrators_new_secret_unlocks_at_once(
    identity: IdentityService, admin: SignedIn, clinician: SignedIn, config: ClinicalConfig
) -> None:
    """DOC-1 / issue 9 "Identity": locked out mid-shift, an administrator sets a new PIN and it works."""
    for _ in range(config.sign_in.max_wrong_tries):
        with pytest.raises(SignInRefused):
            identity.sign_in("rivera", "0000")

    identity.change_secret(admin, "rivera", "8642")

    assert identity.sign_in("rivera", "8642").who == "rivera"
    with pytest.raises(SignInRefused):
        identity.sign_in("rivera", CLINICIAN_SECRET)


def test_ones_own_secret_changes_only_with_the_current_one(
    identity: IdentityService, clinician: SignedIn, director: SignedIn
) -> None:
    """DOC-1 / issue 9 "Identity": a clinician changes their own PIN, never anyone else's."""
    with pytest.raises(SignInRefused, match="current PIN or password is wrong"):
        identity.change_secret(clinician, "rivera", "5555", current_secret="0000")
    with pytest.raises(NotPermitted):
        identity.change_secret(clinician, "director", "5555")

    identity.change_secret(clinician, "rivera", "5555", current_secret=CLINICIAN_SECRET)

    assert identity.sign_in("rivera", "5555").who == "rivera"


def test_unknown_sign_in_names_are_refused_and_audited(identity: IdentityService, audit: AuditTrail) -> None:
    """DOC-1 / issue 9 "Identity": refusals are audit entries too."""
    identity.ensure_administrator("Morgan Admin", ADMIN_SECRET, login="admin")
    for login in ("nobody", "", "bad name!"):
        with pytest.raises(SignInRefused, match="no active clinician signs in as"):
            identity.sign_in(login, ADMIN_SECRET)
    assert [a for _, a, _ in _actions(audit)].count("sign_in_refused") == 3


@pytest.mark.parametrize("secret", ["123", " 1234", "12\n34", "x" * 129])
def test_unusable_secrets_are_refused_without_repeating_them(identity: IdentityService, secret: str) -> None:
    """DOC-1 / issue 9 "Identity": a PIN shorter than the clinic's minimum (4) and the like is refused."""
    with pytest.raises(SecretRejected) as rejected:
        identity.ensure_administrator("Morgan Admin", secret)
    assert secret.strip() not in str(rejected.value)
    assert not identity.has_clinicians()


def test_roles_grant_only_their_own_rights(
    identity: IdentityService, admin: SignedIn, director: SignedIn, clinician: SignedIn
) -> None:
    """DOC-1 / issue 9 "Identity": only an administrator adds clinicians; only a medical director approves."""
    with pytest.raises(NotPermitted, match="only an administrator may do this"):
        identity.add_clinician(clinician, name="X", login="x", role=Role.CLINICIAN, secret="1111")
    with pytest.raises(NotPermitted):
        identity.add_clinician(director, name="X", login="x", role=Role.CLINICIAN, secret="1111")
    require_role(director, Role.MEDICAL_DIRECTOR)
    for person in (admin, clinician):
        with pytest.raises(NotPermitted, match="only a medical director may do this"):
            require_role(person, Role.MEDICAL_DIRECTOR)


def test_a_medical_director_approves_a_protocol_by_its_hash(
    db: Database,
    clock: FakeClock,
    audit: AuditTrail,
    admin: SignedIn,
    director: SignedIn,
    clinician: SignedIn,
) -> None:
    """DOC-1 / issue 9 "Identity": a medical director approves protocols; the approval records the file's
    content hash, who and when, in the approvals and the audit trail."""
    approvals = ApprovalService(db, clock, audit)
    path = LIBRARY_DIR / "bp-spike.yaml"
    for refused in (admin, clinician):
        with pytest.raises(NotPermitted):
            approvals.approve_protocol(refused, path)

    record = approvals.approve_protocol(director, path)

    assert (record.kind, record.subject, record.approved_by) == (PROTOCOL, "bp-spike", "director")
    assert record.content_hash == compute_hash(path)
    assert record.at == clock.now()
    assert approvals.is_approved(PROTOCOL, "bp-spike", compute_hash(path))
    assert not approvals.is_approved(PROTOCOL, "bp-spike", "sha256:" + "0" * 64)
    last = list(audit.entries())[-1]
    assert (last.who, last.action, last.subject) == ("director", "protocol_approved", "bp-spike")
    assert last.details["content_hash"] == compute_hash(path)


def test_an_invalid_protocol_or_clinic_file_cannot_be_approved(
    db: Database, clock: FakeClock, audit: AuditTrail, director: SignedIn, tmp_path: Path
) -> None:
    """DOC-1 / issue 9 "Identity": what is approved is validated first."""
    approvals = ApprovalService(db, clock, audit)
    broken = tmp_path / "bp-spike.yaml"
    broken.write_text("id: bp-spike\n")
    with pytest.raises(ProtocolFileError):
        approvals.approve_protocol(director, broken)
    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("band:\n  low_factor: 0.5\n")
    with pytest.raises(ConfigError):
        approvals.approve_clinic_defaults(director, clinic)
    assert approvals.approvals() == []


def test_a_medical_director_approves_the_clinic_defaults(
    db: Database, clock: FakeClock, audit: AuditTrail, director: SignedIn, tmp_path: Path
) -> None:
    """DOC-1 / issue 9 "Identity": clinic defaults are approved by the sha256 of the file."""
    import hashlib

    clinic = tmp_path / "clinic.yaml"
    clinic.write_text("sign_in:\n  max_wrong_tries: 3\n")

    record = ApprovalService(db, clock, audit).approve_clinic_defaults(director, clinic)

    assert record.kind == CLINIC_DEFAULTS
    assert record.content_hash == "sha256:" + hashlib.sha256(clinic.read_bytes()).hexdigest()
    assert list(audit.entries())[-1].action == AuditAction.CLINIC_DEFAULTS_APPROVED


def test_the_desk_gives_the_signed_in_author_or_refuses(identity: IdentityService, audit: AuditTrail) -> None:
    """DOC-1: every record carries the person signed in; with nobody signed in nothing is recorded."""
    desk = SignInDesk(identity, audit)
    with pytest.raises(NotSignedIn):
        desk.require()
    identity.ensure_administrator("Morgan Admin", ADMIN_SECRET, login="admin")

    desk.sign_in("admin", ADMIN_SECRET)
    assert desk.require().who == "admin"
    desk.sign_out()

    with pytest.raises(NotSignedIn):
        desk.require()
    assert [a for _, a, _ in _actions(audit)][-1] == "sign_out"


def test_secrets_never_reach_the_log_the_audit_or_the_database(
    identity: IdentityService, db: Database, audit: AuditTrail, caplog: pytest.LogCaptureFixture
) -> None:
    """DOC-1 / issue 9 "Identity": never echo or log secrets; only the argon2 hash is stored."""
    caplog.set_level(logging.DEBUG)
    identity.ensure_administrator("Morgan Admin", ADMIN_SECRET, login="admin")
    admin = identity.sign_in("admin", ADMIN_SECRET)
    identity.add_clinician(admin, name="Dr. Lee", login="lee", role=Role.CLINICIAN, secret=DIRECTOR_SECRET)
    with pytest.raises(SignInRefused):
        identity.sign_in("lee", "9753-wrong")
    identity.change_secret(admin, "lee", "8642-new")

    secrets = (ADMIN_SECRET, DIRECTOR_SECRET, "9753-wrong", "8642-new")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    trail = repr(list(audit.entries()))
    stored = repr([(c, c.secret_hash) for c in IdentityRepository(db).clinicians()])
    for secret in secrets:
        assert secret not in logged
        assert secret not in trail
        assert secret not in stored
    assert all(c.secret_hash.startswith("$argon2id$") for c in IdentityRepository(db).clinicians())
    assert "secret_hash" not in repr(IdentityRepository(db).clinicians())


# --- property: the lock follows wrong tries in a row and the clock, whatever the order ---

_step = st.one_of(
    st.just(("right", 0.0)),
    st.just(("wrong", 0.0)),
    st.tuples(st.just("wait"), st.floats(min_value=1, max_value=20 * 60)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(_step, max_size=25))
def test_any_sequence_of_tries_and_waits_locks_exactly_as_the_rule_says(
    db: Database, clock: FakeClock, audit: AuditTrail, hasher: PasswordHasher, steps: list[tuple[str, float]]
) -> None:
    """DOC-1 / issue 9 "Identity" (hypothesis): against a plain model of the rule (3 wrong in a row lock for
    5 minutes; nothing is checked while locked; a success clears the count)."""
    policy = SignInConfig(max_wrong_tries=3, lockout_min=5, min_secret_length=4)
    service = IdentityService(db, clock, audit, policy, hasher=hasher)
    login = f"c{clock.monotonic():.0f}"  # a new clinician per example: the database is shared
    if not service.has_clinicians():
        service.ensure_administrator("Morgan Admin", ADMIN_SECRET, login="admin")
    admin = service.sign_in("admin", ADMIN_SECRET)
    service.add_clinician(admin, name="Dr. Prop", login=login, role=Role.CLINICIAN, secret="2222")

    wrong_in_a_row = 0
    locked_until = None
    for kind, seconds in steps:
        if kind == "wait":
            clock.advance(seconds)
            continue
        now = clock.now()
        model_locked = locked_until is not None and now < locked_until
        secret = "2222" if kind == "right" else "0000"
        try:
            service.sign_in(login, secret)
            outcome = "in"
        except AccountLocked:
            outcome = "locked"
        except SignInRefused:
            outcome = "refused"
        if model_locked:
            assert outcome == "locked"
        elif kind == "right":
            assert outcome == "in"
            wrong_in_a_row = 0
        else:
            wrong_in_a_row += 1
            if wrong_in_a_row == policy.max_wrong_tries:
                assert outcome == "locked"
                locked_until = now + timedelta(minutes=policy.lockout_min)
                wrong_in_a_row = 0
            else:
                assert outcome == "refused"
    clock.advance(policy.lockout_min * 60)
