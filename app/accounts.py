"""Who may call the HTTP API: API tokens for systems, accounts and sessions for people.

A token is ``kt_`` and 32 random bytes (URL-safe base64), shown once when it is created; the
catalog keeps only its SHA-256. A person logs in with a name and a password (kept as an Argon2
hash) and gets a session: a random secret for the cookie, also stored only as its SHA-256, and a
CSRF token the web UI echoes in a header. Sessions last 12 hours from their last use. Failed
logins are counted per name and per client: after 5 in 15 minutes, further attempts are refused
with ``LoginRateLimited`` before the password is even checked.

The caller is a ``app.principals.Principal``; its permissions follow from the token's scope or
the person's role, nothing else.
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.principals import ROLES, SCOPES, Principal, Role, Scope
from app.services import Services
from archive.catalog import AccountStore
from archive.errors import InvalidChange
from archive.model import TokenRow, UserRow
from ingest.errors import PermanentError

__all__ = [
    "FAILURE_WINDOW",
    "MAX_FAILURES",
    "MIN_PASSWORD_LENGTH",
    "SESSION_LIFETIME",
    "TOKEN_PREFIX",
    "LoginRateLimited",
    "LoginRefused",
    "Session",
    "add_user",
    "create_token",
    "disable_user",
    "hash_secret",
    "list_tokens",
    "list_users",
    "login",
    "logout",
    "principal_for_session",
    "principal_for_token",
    "revoke_token",
    "set_password",
]

TOKEN_PREFIX = "kt_"
MIN_PASSWORD_LENGTH = 10
#: Longer passwords are refused: hashing one must not become a way to burn CPU.
MAX_PASSWORD_LENGTH = 1024
SESSION_LIFETIME = timedelta(hours=12)
MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
#: ``last_used_at`` of a token and ``last_seen_at`` of a session are written at most this often,
#: so a busy client does not turn every request into a write.
TOUCH_EVERY = timedelta(minutes=1)
_NAME = re.compile(r"[\w.@+-]{1,128}")
_REFUSED = "wrong name or password"

# argon2-cffi's defaults (RFC 9106's second recommended profile); ``login`` rehashes a password
# whose stored hash used other parameters.
_HASHER = PasswordHasher()


class LoginRefused(PermanentError):
    """Wrong name or password (the same message for both, so names cannot be probed)."""

    code = "login-refused"


class LoginRateLimited(PermanentError):
    """Too many failed logins for this name or from this client: wait ``retry_after`` seconds."""

    code = "rate-limited"

    def __init__(self, message: str, *, retry_after: int, stage: str = "") -> None:
        super().__init__(message, stage=stage)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Session:
    """A new web session: the secret goes in the cookie and is shown only this once."""

    secret: str = field(repr=False)
    csrf_token: str = field(repr=False)
    expires_at: datetime


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a token's or session's secret, the only form the catalog keeps.

    A fast hash is right here, unlike for passwords: these secrets are 32 random bytes, so there
    is nothing to guess by brute force however fast the hash, and a lookup per request must stay
    cheap (Argon2 would cost tens of milliseconds per API call).
    """
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _check_name(name: str, what: str) -> str:
    if not _NAME.fullmatch(name):
        raise InvalidChange(f"{what} name {name!r}: 1 to 128 letters, digits or . _ @ + -")
    return name


# -- API tokens -------------------------------------------------------------------------------


def create_token(services: Services, name: str, scope: Scope) -> tuple[TokenRow, str]:
    """A new token and its secret, which is returned only here: the catalog keeps its hash."""
    if scope not in SCOPES:
        raise InvalidChange(f"a token's scope is one of {', '.join(SCOPES)}, not {scope!r}")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = services.catalog.add_token(_check_name(name, "a token"), scope, hash_secret(secret))
    return row, secret


def list_tokens(services: Services) -> list[TokenRow]:
    """Every token, revoked ones too (their secrets are not known to anyone any more)."""
    return services.catalog.list_tokens()


def revoke_token(services: Services, id_or_name: str) -> TokenRow:
    """Revoke a token for good (``TokenNotFound`` if there is none)."""
    return services.catalog.revoke_token(id_or_name)


def principal_for_token(services: Services, secret: str) -> Principal | None:
    """The caller a token's secret stands for; None if it is unknown or revoked."""
    if not secret.startswith(TOKEN_PREFIX):
        return None
    catalog = services.catalog
    row = catalog.find_token(hash_secret(secret))
    if row is None or not row.active:
        return None
    if row.last_used_at is None or catalog.now() - row.last_used_at >= TOUCH_EVERY:
        catalog.touch_token(row.id, TOUCH_EVERY)
    return Principal.for_token(row.id, row.name, row.scope)


# -- accounts ---------------------------------------------------------------------------------


def _password_hash(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidChange(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise InvalidChange(f"a password has at most {MAX_PASSWORD_LENGTH} characters")
    return _HASHER.hash(password)


def add_user(services: Services, name: str, role: Role, password: str) -> UserRow:
    """Create an account (``NameTaken`` if the name is used)."""
    if role not in ROLES:
        raise InvalidChange(f"a role is one of {', '.join(ROLES)}, not {role!r}")
    return services.catalog.add_user(_check_name(name, "an account"), role, _password_hash(password))


def list_users(services: Services) -> list[UserRow]:
    return services.catalog.list_users()


def set_password(services: Services, id_or_name: str, password: str) -> UserRow:
    """Set a new password and end the person's sessions (``UserNotFound``)."""
    return services.catalog.set_password_hash(id_or_name, _password_hash(password), end_sessions=True)


def disable_user(services: Services, id_or_name: str) -> UserRow:
    """Disable an account and end its sessions (``UserNotFound``)."""
    return services.catalog.disable_user(id_or_name)


# -- logging in -------------------------------------------------------------------------------


@functools.cache
def _decoy_hash() -> str:
    """A hash to check unknown names against, so they take as long as known ones."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def _password_matches(stored: str, password: str) -> bool:
    try:
        return _HASHER.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _failure_keys(name: str, client: str) -> list[str]:
    return [f"name:{name}"[:255], f"client:{client}"[:255]]


def _check_rate(catalog: AccountStore, keys: list[str], now: datetime) -> None:
    """``LoginRateLimited`` if any key has ``MAX_FAILURES`` failures in the window."""
    waits = []
    for key in keys:
        failures = catalog.login_failures(key, now - FAILURE_WINDOW)
        if len(failures) >= MAX_FAILURES:
            # the attempt is allowed again once the MAX_FAILURES-th newest failure has aged out
            waits.append((failures[MAX_FAILURES - 1] + FAILURE_WINDOW - now).total_seconds())
    if waits:
        retry_after = max(1, math.ceil(max(waits)))
        raise LoginRateLimited(f"too many failed logins; try again in {retry_after} s", retry_after=retry_after)


def login(services: Services, name: str, password: str, *, client: str) -> tuple[Principal, Session]:
    """Check a name and password and open a session.

    ``client`` names where the attempt comes from (the remote address). ``LoginRefused`` for an
    unknown name, a disabled account or a wrong password alike; ``LoginRateLimited`` after
    ``MAX_FAILURES`` failures in ``FAILURE_WINDOW`` for the name or the client.
    """
    catalog = services.catalog
    now = catalog.now()
    keys = _failure_keys(name, client)
    _check_rate(catalog, keys, now)
    user = catalog.get_user(name)
    if user is None or user.name != name:
        _password_matches(_decoy_hash(), password)
        user = None
    elif not _password_matches(user.password_hash, password) or not user.active:
        user = None
    if user is None:
        catalog.add_login_failure(keys, forget_before=now - FAILURE_WINDOW)
        raise LoginRefused(_REFUSED)
    if _HASHER.check_needs_rehash(user.password_hash):
        catalog.set_password_hash(user.id, _HASHER.hash(password), end_sessions=False)
    catalog.clear_login_failures(keys[0])
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    stored = catalog.add_session(hash_secret(secret), user.id, csrf, now + SESSION_LIFETIME)
    return Principal.for_user(user.id, user.name, user.role), Session(secret, csrf, stored.expires_at)


def principal_for_session(services: Services, secret: str) -> tuple[Principal, str] | None:
    """The person a session's secret stands for and the session's CSRF token; None if the
    session is unknown, expired or its account disabled. Using it moves its expiry."""
    catalog = services.catalog
    found = catalog.find_session(hash_secret(secret))
    if found is None:
        return None
    session, user = found
    now = catalog.now()
    if session.expires_at <= now or not user.active:
        catalog.delete_session(session.id)
        return None
    if now - session.last_seen_at >= TOUCH_EVERY:
        catalog.touch_session(session.id, now + SESSION_LIFETIME)
    return Principal.for_user(user.id, user.name, user.role), session.csrf_token


def logout(services: Services, secret: str) -> bool:
    """End a session; False if there was none."""
    return services.catalog.delete_session(hash_secret(secret))
