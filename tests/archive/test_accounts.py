"""AccountStore: tokens, accounts, sessions and failed logins as stored (the policies are tested
in tests/app/test_accounts.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from archive.catalog import Catalog
from archive.errors import NameTaken, TokenNotFound, UserNotFound
from tests.archive.helpers import TickingClock


def test_tokens_are_found_by_hash_and_revoked_once(catalog: Catalog, clock: TickingClock) -> None:
    token = catalog.add_token("accounting", "read", "a" * 64)

    assert catalog.find_token("a" * 64) == token
    assert catalog.find_token("b" * 64) is None
    assert catalog.get_token("accounting") == catalog.get_token(token.id) == token
    with pytest.raises(NameTaken):
        catalog.add_token("accounting", "admin", "c" * 64)

    revoked = catalog.revoke_token("accounting")
    again = catalog.revoke_token(token.id)

    assert revoked.revoked_at is not None and not revoked.active
    assert again.revoked_at == revoked.revoked_at
    assert [t.name for t in catalog.list_tokens()] == ["accounting"]
    with pytest.raises(TokenNotFound):
        catalog.revoke_token("nobody")


def test_touch_token_writes_at_most_once_per_interval(catalog: Catalog, clock: TickingClock) -> None:
    token = catalog.add_token("edms", "write", "d" * 64)
    every = timedelta(minutes=1)

    assert catalog.touch_token(token.id, every) is True
    first = catalog.find_token("d" * 64)
    assert catalog.touch_token(token.id, every) is False  # one second later
    clock.set(clock.now + timedelta(minutes=2))
    assert catalog.touch_token(token.id, every) is True

    latest = catalog.find_token("d" * 64)
    assert first is not None and latest is not None and first.last_used_at is not None
    assert latest.last_used_at is not None and latest.last_used_at > first.last_used_at


def test_disabling_a_user_ends_their_sessions(catalog: Catalog, clock: TickingClock) -> None:
    anna = catalog.add_user("anna", "clerk", "$argon2id$fake")
    catalog.add_session("s" * 64, anna.id, "csrf", clock.now + timedelta(hours=12))
    found = catalog.find_session("s" * 64)
    assert found is not None and found[1] == anna and found[0].csrf_token == "csrf"

    disabled = catalog.disable_user("anna")

    assert disabled.disabled_at is not None and catalog.find_session("s" * 64) is None
    with pytest.raises(UserNotFound):
        catalog.disable_user("boris")
    with pytest.raises(NameTaken):
        catalog.add_user("anna", "operator", "$argon2id$other")


def test_a_new_password_hash_ends_sessions_only_when_asked(catalog: Catalog, clock: TickingClock) -> None:
    anna = catalog.add_user("anna", "clerk", "old")
    catalog.add_session("s" * 64, anna.id, "csrf", clock.now + timedelta(hours=12))

    catalog.set_password_hash("anna", "rehashed", end_sessions=False)
    assert catalog.find_session("s" * 64) is not None
    catalog.set_password_hash(anna.id, "new", end_sessions=True)

    assert catalog.find_session("s" * 64) is None
    user = catalog.get_user("anna")
    assert user is not None and user.password_hash == "new"


def test_expired_sessions_are_purged(catalog: Catalog, clock: TickingClock) -> None:
    anna = catalog.add_user("anna", "clerk", "h")
    catalog.add_session("old" + "0" * 61, anna.id, "c1", clock.now + timedelta(minutes=5))
    catalog.add_session("new" + "0" * 61, anna.id, "c2", clock.now + timedelta(hours=12))
    clock.set(clock.now + timedelta(hours=1))

    assert catalog.delete_expired_sessions() == 1
    assert catalog.find_session("old" + "0" * 61) is None
    assert catalog.find_session("new" + "0" * 61) is not None


def test_login_failures_are_counted_per_key_in_a_window_and_pruned(catalog: Catalog, clock: TickingClock) -> None:
    start = clock.now
    catalog.add_login_failure(["name:anna", "client:10.0.0.1"], forget_before=start)
    catalog.add_login_failure(["name:anna"], forget_before=start)
    clock.set(start + timedelta(minutes=30))
    catalog.add_login_failure(["client:10.0.0.1"], forget_before=clock.now - timedelta(minutes=15))

    assert catalog.login_failures("name:anna", since=start) == []  # pruned by the last call
    recent = catalog.login_failures("client:10.0.0.1", since=start)
    assert len(recent) == 1 and recent[0] > start + timedelta(minutes=29)
    assert catalog.clear_login_failures("client:10.0.0.1") == 1
    assert catalog.login_failures("client:10.0.0.1", since=start) == []
