"""API tokens, accounts, logins and sessions (app/accounts.py)."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from app import accounts
from app.accounts import LoginRateLimited, LoginRefused
from app.principals import ROLE_PERMISSIONS, ROLES, SCOPE_PERMISSIONS, SCOPES
from app.services import Services, open_catalog
from app.settings import load_settings
from archive.catalog import Catalog
from archive.errors import InvalidChange, NameTaken, TokenNotFound
from archive.model import TOKEN_SCOPES, USER_ROLES
from archive.tables import api_tokens, sessions
from tests.archive.helpers import TickingClock

PASSWORD = "correct horse battery"


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc))


@pytest.fixture
def services(tmp_path: Path, clock: TickingClock) -> Services:
    """Services whose catalog reads the test's clock."""
    settings = load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path)})
    engine = open_catalog(settings).engine
    return Services(settings, _parts={"catalog": Catalog(engine, clock=clock)})


def test_the_archive_names_the_same_scopes_and_roles_as_the_principals() -> None:
    assert set(TOKEN_SCOPES) == set(SCOPES) and set(USER_ROLES) == set(ROLES)


# -- tokens -----------------------------------------------------------------------------------


def test_a_token_secret_is_shown_once_and_only_its_hash_is_stored(services: Services) -> None:
    row, secret = accounts.create_token(services, "accounting", "read")

    assert secret.startswith("kt_") and len(secret) == 3 + 43  # 32 random bytes, URL-safe base64
    assert row.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    with services.catalog.engine.connect() as conn:
        stored = conn.execute(select(api_tokens)).one()
    assert not any(secret in str(value) or secret[3:] in str(value) for value in stored)
    assert secret not in repr(row) and row.token_hash not in repr(row)
    listed = accounts.list_tokens(services)
    assert [(t.name, t.scope) for t in listed] == [("accounting", "read")]


def test_a_token_stands_for_its_scope_until_revoked(services: Services) -> None:
    row, secret = accounts.create_token(services, "edms", "write")

    principal = accounts.principal_for_token(services, secret)

    assert principal is not None and (principal.kind, principal.id, principal.name) == ("token", row.id, "edms")
    assert principal.permissions == SCOPE_PERMISSIONS["write"] and principal.actor == "token:edms"
    assert accounts.principal_for_token(services, secret + "x") is None
    assert accounts.principal_for_token(services, secret[3:]) is None
    accounts.revoke_token(services, "edms")
    assert accounts.principal_for_token(services, secret) is None
    with pytest.raises(TokenNotFound):
        accounts.revoke_token(services, "nobody")


def test_token_use_is_noted_at_most_once_a_minute(services: Services, clock: TickingClock) -> None:
    _row, secret = accounts.create_token(services, "edms", "read")
    catalog = services.catalog

    accounts.principal_for_token(services, secret)
    first = catalog.get_token("edms")
    accounts.principal_for_token(services, secret)
    second = catalog.get_token("edms")
    clock.set(clock.now + timedelta(minutes=2))
    accounts.principal_for_token(services, secret)
    third = catalog.get_token("edms")

    assert first is not None and second is not None and third is not None and first.last_used_at is not None
    assert second.last_used_at == first.last_used_at
    assert third.last_used_at is not None and third.last_used_at > first.last_used_at


@pytest.mark.parametrize(("name", "scope"), [("edms", "root"), ("", "read"), ("two words", "read"), ("x" * 129, "read")])
def test_a_bad_token_name_or_scope_is_refused(services: Services, name: str, scope: str) -> None:
    with pytest.raises(InvalidChange):
        accounts.create_token(services, name, scope)  # type: ignore[arg-type]


def test_token_names_are_unique(services: Services) -> None:
    accounts.create_token(services, "edms", "read")
    with pytest.raises(NameTaken):
        accounts.create_token(services, "edms", "admin")


# -- accounts and logins ----------------------------------------------------------------------


def test_passwords_are_kept_as_argon2_hashes_and_short_ones_refused(services: Services) -> None:
    user = accounts.add_user(services, "anna", "clerk", PASSWORD)

    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    assert PasswordHasher().verify(user.password_hash, PASSWORD)
    with pytest.raises(InvalidChange, match="10 characters"):
        accounts.add_user(services, "boris", "clerk", "123456789")
    with pytest.raises(InvalidChange):
        accounts.add_user(services, "boris", "janitor", PASSWORD)  # type: ignore[arg-type]
    assert [u.name for u in accounts.list_users(services)] == ["anna"]


def test_login_opens_a_session_for_the_persons_role(services: Services) -> None:
    user = accounts.add_user(services, "anna", "operator", PASSWORD)

    principal, session = accounts.login(services, "anna", PASSWORD, client="10.0.0.1")

    assert (principal.kind, principal.id, principal.permissions) == ("user", user.id, ROLE_PERMISSIONS["operator"])
    found = accounts.principal_for_session(services, session.secret)
    assert found == (principal, session.csrf_token)
    assert session.csrf_token != session.secret
    with services.catalog.engine.connect() as conn:
        (stored,) = conn.execute(select(sessions.c.id)).scalars()
    assert stored == hashlib.sha256(session.secret.encode()).hexdigest()
    assert accounts.principal_for_session(services, "not-a-session") is None


def test_a_wrong_password_and_an_unknown_name_are_refused_alike(services: Services) -> None:
    accounts.add_user(services, "anna", "clerk", PASSWORD)

    with pytest.raises(LoginRefused) as wrong:
        accounts.login(services, "anna", "not the password", client="10.0.0.1")
    with pytest.raises(LoginRefused) as unknown:
        accounts.login(services, "nobody", PASSWORD, client="10.0.0.2")

    assert str(wrong.value) == str(unknown.value) and wrong.value.code == "login-refused"


def test_after_five_failures_logins_are_rate_limited_per_name_and_per_client(
    services: Services, clock: TickingClock
) -> None:
    accounts.add_user(services, "anna", "clerk", PASSWORD)
    accounts.add_user(services, "boris", "clerk", PASSWORD)
    for attempt in range(5):
        with pytest.raises(LoginRefused):
            accounts.login(services, "anna", f"guess {attempt}", client="10.0.0.1")

    with pytest.raises(LoginRateLimited) as limited:
        accounts.login(services, "anna", PASSWORD, client="10.0.0.9")  # the right password, another client
    with pytest.raises(LoginRateLimited):
        accounts.login(services, "boris", PASSWORD, client="10.0.0.1")  # another name, the same client

    assert limited.value.code == "rate-limited" and 0 < limited.value.retry_after <= 15 * 60
    accounts.login(services, "boris", PASSWORD, client="10.0.0.2")  # neither key is limited
    clock.set(clock.now + timedelta(minutes=16))
    principal, _session = accounts.login(services, "anna", PASSWORD, client="10.0.0.1")
    assert principal.name == "anna"


def test_four_failures_then_success_is_not_limited(services: Services) -> None:
    accounts.add_user(services, "anna", "clerk", PASSWORD)
    for _ in range(4):
        with pytest.raises(LoginRefused):
            accounts.login(services, "anna", "wrong password", client="10.0.0.1")

    accounts.login(services, "anna", PASSWORD, client="10.0.0.1")
    for _ in range(4):  # the name's count started again (else the second would be limited)
        with pytest.raises(LoginRefused):
            accounts.login(services, "anna", "wrong password", client="10.0.0.2")


def test_sessions_expire_twelve_hours_after_their_last_use(services: Services, clock: TickingClock) -> None:
    accounts.add_user(services, "anna", "clerk", PASSWORD)
    _principal, session = accounts.login(services, "anna", PASSWORD, client="10.0.0.1")
    assert session.expires_at - clock.now < timedelta(hours=12, seconds=5)

    clock.set(clock.now + timedelta(hours=11))
    assert accounts.principal_for_session(services, session.secret) is not None  # slides the expiry
    clock.set(clock.now + timedelta(hours=11))
    assert accounts.principal_for_session(services, session.secret) is not None
    clock.set(clock.now + timedelta(hours=12, minutes=1))
    assert accounts.principal_for_session(services, session.secret) is None


def test_logout_ends_the_session(services: Services) -> None:
    accounts.add_user(services, "anna", "clerk", PASSWORD)
    _principal, session = accounts.login(services, "anna", PASSWORD, client="10.0.0.1")

    assert accounts.logout(services, session.secret) is True
    assert accounts.principal_for_session(services, session.secret) is None
    assert accounts.logout(services, session.secret) is False


def test_a_disabled_account_cannot_log_in_and_loses_its_sessions(services: Services) -> None:
    accounts.add_user(services, "anna", "clerk", PASSWORD)
    _principal, session = accounts.login(services, "anna", PASSWORD, client="10.0.0.1")

    accounts.disable_user(services, "anna")

    assert accounts.principal_for_session(services, session.secret) is None
    with pytest.raises(LoginRefused, match="wrong name or password"):
        accounts.login(services, "anna", PASSWORD, client="10.0.0.1")


def test_a_new_password_replaces_the_old_and_ends_sessions(services: Services) -> None:
    accounts.add_user(services, "anna", "clerk", PASSWORD)
    _principal, session = accounts.login(services, "anna", PASSWORD, client="10.0.0.1")

    accounts.set_password(services, "anna", "a much better passphrase")

    assert accounts.principal_for_session(services, session.secret) is None
    with pytest.raises(LoginRefused):
        accounts.login(services, "anna", PASSWORD, client="10.0.0.1")
    accounts.login(services, "anna", "a much better passphrase", client="10.0.0.1")
    with pytest.raises(InvalidChange):
        accounts.set_password(services, "anna", "short")


def test_a_hash_with_old_parameters_is_upgraded_at_login(services: Services) -> None:
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    services.catalog.add_user("anna", "clerk", weak)

    accounts.login(services, "anna", PASSWORD, client="10.0.0.1")

    user = services.catalog.get_user("anna")
    assert user is not None and user.password_hash != weak
    assert not PasswordHasher().check_needs_rehash(user.password_hash)
    assert PasswordHasher().verify(user.password_hash, PASSWORD)
