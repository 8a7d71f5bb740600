"""Who is at the monitor: clinicians with roles, signing in with a PIN or password (issue 9, Identity).

Secrets are hashed with argon2 (argon2-cffi) and never stored, logged or put in the audit trail.
Wrong secrets are counted per clinician in the database (so every station sees the same count);
``sign_in.max_wrong_tries`` wrong ones in a row lock the account for ``sign_in.lockout_min``
minutes (alarms/defaults.yaml), and while it is locked no secret is even checked. A new secret set
by an administrator unlocks at once. Every sign-in, refusal, lock and change is an audit entry.

Roles: a *clinician* runs sessions; a *medical director* also approves protocols and clinic
defaults; an *administrator* manages sign-ins. A role grants only its own rights:
``require_role(signed_in, Role.MEDICAL_DIRECTOR)`` refuses an administrator.
"""

from __future__ import annotations

import enum
import logging
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from alarms.config import SignInConfig
from bedside.workflow.audit import AuditAction, AuditTrail
from drivers.clock import Clock
from storage import AdministratorExistsError, ClinicianRecord, Database, IdentityRepository

log = logging.getLogger(__name__)

LOGIN_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
MAX_SECRET_LENGTH = 128  # argon2 takes any length; a bound keeps a pasted file from being hashed
MAX_NAME_LENGTH = 200
FIRST_START = "first start"  # the audit's "who" for the administrator created on a first start


class Role(enum.StrEnum):
    """What a signed-in person may do."""

    CLINICIAN = "clinician"
    MEDICAL_DIRECTOR = "medical_director"
    ADMINISTRATOR = "administrator"

    @property
    def words(self) -> str:
        """The role as the clinic says it."""
        return self.value.replace("_", " ")

    @property
    def with_article(self) -> str:
        """The role with its article, as a sentence needs it: a clinician, an administrator."""
        return ("an " if self.value[0] in "aeiou" else "a ") + self.words


class IdentityError(Exception):
    """Base class of identity problems; each message says what to do."""


class SignInRefused(IdentityError):
    """A sign-in was refused: unknown sign-in name or wrong PIN/password (counted)."""


class AccountLocked(SignInRefused):
    """Too many wrong secrets in a row: the account is locked until ``until``."""

    def __init__(self, message: str, until: datetime) -> None:
        super().__init__(message)
        self.until = until


class NotPermitted(IdentityError):
    """The signed-in person's role does not allow this."""


class NotSignedIn(IdentityError):
    """Nobody is signed in at this station."""


class SecretRejected(IdentityError):
    """A new PIN or password is unusable (too short, too long, control characters)."""


class ClinicianDetailsError(IdentityError):
    """A clinician's name, sign-in name or role is unusable."""


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A clinician signed in at a station: ``who`` (sign-in name) goes on every record they make."""

    who: str
    name: str
    role: Role
    at: datetime
    station: str
    clinician_id: str


@dataclass(frozen=True, slots=True)
class Clinician:
    """A clinician as shown to people: never the secret or its hash."""

    login: str
    name: str
    role: Role
    active: bool
    locked_until: datetime | None
    created_at: datetime
    created_by: str
    last_sign_in_at: datetime | None


def _public(record: ClinicianRecord) -> Clinician:
    return Clinician(
        login=record.login,
        name=record.name,
        role=Role(record.role),
        active=record.active,
        locked_until=record.locked_until,
        created_at=record.created_at,
        created_by=record.created_by,
        last_sign_in_at=record.last_sign_in_at,
    )


def require_role(signed_in: SignedIn, *roles: Role) -> None:
    """Refuse (NotPermitted) unless the signed-in person holds one of ``roles``."""
    if signed_in.role not in roles:
        wanted = " or ".join(r.with_article for r in roles)
        raise NotPermitted(
            f"{signed_in.name} is signed in as {signed_in.role.with_article}; only {wanted} may do this"
        )


def normalise_login(login: str) -> str:
    """The sign-in name as stored: trimmed, lower case; ClinicianDetailsError when unusable."""
    text = login.strip().lower()
    if not LOGIN_PATTERN.fullmatch(text):
        raise ClinicianDetailsError(
            f"sign-in name {login[:70]!r} is unusable: use 1 to 64 letters, digits, dots, hyphens or "
            "underscores, starting with a letter or digit (e.g. rivera)"
        )
    return text


def login_from_name(name: str) -> str:
    """A sign-in name made from a person's name ("Dr. Ana Rivera" -> "dr.ana.rivera")."""
    words = re.findall(r"[a-z0-9]+", name.lower())
    return normalise_login(".".join(words)[:64] or "admin")


def _check_name(name: str) -> str:
    text = " ".join(name.split())
    if not text or len(text) > MAX_NAME_LENGTH or not text.isprintable():
        raise ClinicianDetailsError(
            f"a clinician's name is 1 to {MAX_NAME_LENGTH} printable characters, e.g. Dr. Ana Rivera"
        )
    return text


class IdentityService:
    """Clinicians, their secrets and sign-in, on one database, seen from one station."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        audit: AuditTrail,
        config: SignInConfig,
        *,
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._repository = IdentityRepository(db)
        self._clock = clock
        self._audit = audit
        self._config = config
        self._hasher = hasher if hasher is not None else PasswordHasher()
        self._dummy_hash: str | None = None

    @property
    def station(self) -> str:
        """The station (room) this service signs people in at."""
        return self._audit.station

    def has_clinicians(self) -> bool:
        """False on a first start, when the administrator must be created."""
        return self._repository.count_clinicians() > 0

    def check_secret(self, secret: str) -> None:
        """Refuse (SecretRejected) a PIN or password that cannot be used; the message never repeats it."""
        if len(secret) < self._config.min_secret_length:
            raise SecretRejected(
                f"a PIN or password needs at least {self._config.min_secret_length} characters"
            )
        if len(secret) > MAX_SECRET_LENGTH:
            raise SecretRejected(f"a PIN or password has at most {MAX_SECRET_LENGTH} characters")
        if not secret.isprintable() or secret != secret.strip():
            raise SecretRejected(
                "a PIN or password may not start or end with a space or hold control characters"
            )

    def ensure_administrator(self, name: str, secret: str, *, login: str | None = None) -> Clinician | None:
        """On a first start, create the administrator; returns None when clinicians exist already."""
        if self.has_clinicians():
            return None
        clean_name = _check_name(name)
        clean_login = normalise_login(login) if login is not None else login_from_name(clean_name)
        self.check_secret(secret)
        try:
            record = self._repository.add_first_administrator(
                login=clean_login,
                name=clean_name,
                role=Role.ADMINISTRATOR.value,
                secret_hash=self._hasher.hash(secret),
                at=self._clock.now(),
            )
        except AdministratorExistsError:
            log.info("the first administrator was created elsewhere meanwhile")
            return None
        self._audit.append(
            FIRST_START,
            AuditAction.ADMINISTRATOR_CREATED,
            record.login,
            {"name": record.name, "role": record.role},
        )
        log.info("first start: administrator %s created", record.login)
        return _public(record)

    def add_clinician(self, by: SignedIn, *, name: str, login: str, role: Role, secret: str) -> Clinician:
        """An administrator adds a clinician (any role) with a first PIN or password."""
        require_role(by, Role.ADMINISTRATOR)
        clean_name = _check_name(name)
        clean_login = normalise_login(login)
        self.check_secret(secret)
        record = self._repository.add_clinician(
            login=clean_login,
            name=clean_name,
            role=Role(role).value,
            secret_hash=self._hasher.hash(secret),
            at=self._clock.now(),
            created_by=by.who,
        )
        self._audit.append(
            by, AuditAction.CLINICIAN_ADDED, record.login, {"name": record.name, "role": record.role}
        )
        return _public(record)

    def clinicians(self) -> list[Clinician]:
        """Every clinician, by sign-in name."""
        return [_public(r) for r in self._repository.clinicians()]

    def change_secret(
        self, by: SignedIn, login: str, new_secret: str, *, current_secret: str | None = None
    ) -> None:
        """Set a new PIN or password: one's own (given the current one) or, as administrator, anyone's.

        An administrator's new secret for someone else also unlocks that account.
        """
        target = normalise_login(login)
        own = target == by.who
        if not own:
            require_role(by, Role.ADMINISTRATOR)
        record = self._repository.clinician(target)
        if record is None:
            raise ClinicianDetailsError(f"no clinician signs in as {target!r}")
        if own and (current_secret is None or not self._matches(record.secret_hash, current_secret)):
            raise SignInRefused("the current PIN or password is wrong: the new one was not set")
        self.check_secret(new_secret)
        self._repository.set_secret(target, self._hasher.hash(new_secret), self._clock.now())
        self._audit.append(by, AuditAction.SECRET_CHANGED, target, {"own": own, "unlocked": not own})

    def sign_in(self, login: str, secret: str) -> SignedIn:
        """Check a sign-in name and secret; SignInRefused (counted) or AccountLocked when refused."""
        now = self._clock.now()
        try:
            target = normalise_login(login)
        except ClinicianDetailsError:
            target = ""
        record = self._repository.clinician(target) if target else None
        if record is None or not record.active:
            self._matches(self._dummy(), secret)  # as slow as a real check: no hint which names exist
            self._audit.append(
                target or "(unusable name)",
                AuditAction.SIGN_IN_REFUSED,
                target,
                {"reason": "unknown sign-in name"},
            )
            raise SignInRefused(
                f"no active clinician signs in as {login.strip()[:64]!r}: check the sign-in name"
            )
        if record.locked_until is not None and now < record.locked_until:
            self._audit.append(record.login, AuditAction.SIGN_IN_REFUSED, record.login, {"reason": "locked"})
            raise AccountLocked(
                self._locked_words(record.login, record.locked_until, now), record.locked_until
            )
        if not self._matches(record.secret_hash, secret):
            return self._wrong_secret(record, now)
        rehash = self._hasher.hash(secret) if self._needs_rehash(record.secret_hash) else None
        self._repository.record_sign_in(record.login, now, secret_hash=rehash)
        signed_in = SignedIn(
            who=record.login,
            name=record.name,
            role=Role(record.role),
            at=now,
            station=self.station,
            clinician_id=record.clinician_id,
        )
        self._audit.append(signed_in, AuditAction.SIGN_IN, record.login, {"role": record.role})
        log.info("%s signed in at %s", record.login, self.station)
        return signed_in

    def _wrong_secret(self, record: ClinicianRecord, now: datetime) -> SignedIn:
        lock_until = now + timedelta(minutes=self._config.lockout_min)
        counted = self._repository.record_failed_sign_in(
            record.login, max_tries=self._config.max_wrong_tries, lock_until=lock_until
        )
        if counted.locked_until == lock_until:
            self._audit.append(
                record.login,
                AuditAction.ACCOUNT_LOCKED,
                record.login,
                {"wrong_tries": self._config.max_wrong_tries, "until": lock_until},
            )
            log.warning("%s locked after %d wrong tries", record.login, self._config.max_wrong_tries)
            raise AccountLocked(
                f"wrong PIN or password; {record.login} has now had {self._config.max_wrong_tries} wrong "
                f"tries in a row. {self._locked_words(record.login, lock_until, now)}",
                lock_until,
            )
        left = self._config.max_wrong_tries - counted.failed_sign_ins
        self._audit.append(
            record.login,
            AuditAction.SIGN_IN_REFUSED,
            record.login,
            {"reason": "wrong secret", "wrong_tries": counted.failed_sign_ins},
        )
        raise SignInRefused(
            f"wrong PIN or password for {record.login}: {left} more wrong {'try' if left == 1 else 'tries'} "
            f"lock the account for {self._config.lockout_min:g} minutes"
        )

    @staticmethod
    def _locked_words(login: str, until: datetime, now: datetime) -> str:
        minutes = max(1, math.ceil((until - now).total_seconds() / 60))
        return (
            f"{login} is locked until {until:%H:%M} UTC (about {minutes} min): wait, or ask an "
            "administrator to set a new PIN or password"
        )

    def _matches(self, secret_hash: str, secret: str) -> bool:
        try:
            return self._hasher.verify(secret_hash, secret)
        except VerifyMismatchError:
            return False
        except (VerificationError, InvalidHashError):
            log.error("a stored secret hash cannot be read; the clinician needs a new PIN or password")
            return False

    def _needs_rehash(self, secret_hash: str) -> bool:
        try:
            return self._hasher.check_needs_rehash(secret_hash)
        except (InvalidHashError, ValueError):
            return False

    def _dummy(self) -> str:
        if self._dummy_hash is None:
            self._dummy_hash = self._hasher.hash("not a secret: equalises the time of a refusal")
        return self._dummy_hash


class SignInDesk:
    """Who is signed in at this station now; services take ``desk.require()`` as the record's author."""

    def __init__(self, identity: IdentityService, audit: AuditTrail) -> None:
        self._identity = identity
        self._audit = audit
        self._current: SignedIn | None = None

    @property
    def current(self) -> SignedIn | None:
        """The clinician signed in here, if any."""
        return self._current

    def sign_in(self, login: str, secret: str) -> SignedIn:
        """Sign in (replacing whoever was signed in here)."""
        signed_in = self._identity.sign_in(login, secret)
        if self._current is not None and self._current.who != signed_in.who:
            self._audit.append(
                self._current, AuditAction.SIGN_OUT, self._current.who, {"replaced_by": signed_in.who}
            )
        self._current = signed_in
        return signed_in

    def sign_out(self) -> None:
        """Sign out whoever is signed in here."""
        if self._current is not None:
            self._audit.append(self._current, AuditAction.SIGN_OUT, self._current.who)
            self._current = None

    def require(self) -> SignedIn:
        """The signed-in clinician, or NotSignedIn: nothing is recorded without a name on it."""
        if self._current is None:
            raise NotSignedIn("nobody is signed in at this station: sign in first")
        return self._current
