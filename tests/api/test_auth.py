"""Who may do what, over HTTP: the auth matrix (every operation of the app's own route table ×
anonymous, each token scope and each role), sessions with CSRF, rate-limited logins, tokens
and accounts managed through the API."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi.routing import iter_route_contexts

from app.principals import ROLE_PERMISSIONS, SCOPE_PERMISSIONS
from app.settings import load_settings
from tests.api.conftest import PASSWORD, MakeApi, Running
from workers.api.app import create_app
from workers.api.auth import CSRF_HEADER, SESSION_COOKIE
from workers.api.openapi import SIGNED_IN, operation_permissions

#: Routes anyone may call; every other route must declare a permission (Require).
PUBLIC = {
    ("GET", "/health"),
    ("GET", "/ready"),
    ("POST", "/api/v1/session"),
    ("GET", "/api/v1/openapi.json"),
    ("GET", "/api/v1/docs"),
    ("HEAD", "/api/v1/openapi.json"),
    ("HEAD", "/api/v1/docs"),
}
PERMISSIONS = {**{s: SCOPE_PERMISSIONS[s] for s in SCOPE_PERMISSIONS}, **{r: ROLE_PERMISSIONS[r] for r in ROLE_PERMISSIONS}}
CALLERS = [None, *PERMISSIONS]


def _route_table() -> dict[tuple[str, str], str | None]:
    # The app's own routes: built without starting (nothing is opened before the lifespan runs).
    return operation_permissions(create_app(load_settings({"KARTOTEKA_DATA_DIR": "/nonexistent"})))


OPERATIONS = sorted(_route_table().items())


def _request(client: httpx.Client, method: str, path: str) -> httpx.Response:
    url = re.sub(r"\{[^}]+\}", "none-such", path)
    body = {"json": {}} if method in ("POST", "PATCH", "PUT") else {}
    return client.request(method, url, **body)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def clients(api: Running) -> Iterator[dict[str | None, httpx.Client]]:
    made = {who: api.client(who) for who in CALLERS}
    yield made
    for client in made.values():
        client.close()


def test_every_route_declares_a_permission_or_is_known_to_be_public() -> None:
    app = create_app(load_settings({"KARTOTEKA_DATA_DIR": "/nonexistent"}))
    table = operation_permissions(app)
    every = {(m, c.path_format) for c in iter_route_contexts(app.routes) for m in (c.methods or ())}
    undeclared = {op for op in every if table.get(op) is None} - PUBLIC
    assert not undeclared, f"routes without Require(...) that are not listed as public: {sorted(undeclared)}"
    assert len(table) >= 20


@pytest.mark.parametrize(("operation", "permission"), OPERATIONS, ids=[f"{m} {p}" for (m, p), _ in OPERATIONS])
def test_the_auth_matrix(
    api: Running, clients: dict[str | None, httpx.Client], operation: tuple[str, str], permission: str | None
) -> None:
    method, path = operation
    for who in CALLERS:
        if (method, path) == ("DELETE", "/api/v1/session") and who is not None:
            with api.client(who) as fresh:  # signing out must not end the shared clients' sessions
                answer = _request(fresh, method, path)
        else:
            answer = _request(clients[who], method, path)
        allowed = permission is None or (who is not None and (permission == SIGNED_IN or permission in PERMISSIONS[who]))
        where = f"{method} {path} as {who or 'anonymous'}: {answer.status_code} {answer.text[:200]}"
        assert answer.status_code < 500, where
        if allowed:
            assert answer.status_code not in (401, 403), where
        else:
            assert answer.status_code == (401 if who is None else 403), where
            assert answer.headers["content-type"] == "application/problem+json", where


def test_a_session_cookie_is_httponly_and_samesite_lax(api: Running) -> None:
    with httpx.Client(base_url=api.url) as client:
        answer = client.post("/api/v1/session", json={"name": "clerk", "password": PASSWORD})
        assert answer.status_code == 200, answer.text
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
        body = answer.json()
        assert body["actor"] == "user:clerk" and body["permissions"] == ["read", "review"] and body["csrf_token"]
        assert client.get("/api/v1/session").json()["csrf_token"] == body["csrf_token"]


def test_a_change_by_cookie_needs_the_csrf_header(api: Running) -> None:
    with api.client("clerk") as client:
        token = client.headers.pop(CSRF_HEADER)
        assert client.get("/api/v1/review").status_code == 200
        refused = client.post("/api/v1/cards/none-such/accept")
        assert refused.status_code == 403 and refused.json()["code"] == "csrf-token-mismatch"
        wrong = client.post("/api/v1/cards/none-such/accept", headers={CSRF_HEADER: token[:-1] + "x"})
        assert wrong.status_code == 403
        right = client.post("/api/v1/cards/none-such/accept", headers={CSRF_HEADER: token})
        assert right.status_code == 404


def test_signing_out_ends_the_session(api: Running) -> None:
    with api.client("operator") as client:
        assert client.get("/api/v1/ledger").status_code == 200
        secret = client.cookies[SESSION_COOKIE]
        assert client.delete("/api/v1/session").status_code == 204
    with httpx.Client(base_url=api.url, cookies={SESSION_COOKIE: secret}) as again:
        assert again.get("/api/v1/ledger").status_code == 401


def test_a_wrong_password_is_refused_and_repeated_failures_are_rate_limited(make_api: MakeApi) -> None:
    api = make_api({"memo": "СЛУЖЕБНАЯ ЗАПИСКА"})
    with httpx.Client(base_url=api.url) as client:
        refused = client.post("/api/v1/session", json={"name": "clerk", "password": "wrong password!"})
        assert refused.status_code == 401 and refused.json()["code"] == "login-refused"
        assert SESSION_COOKIE not in client.cookies
        statuses = [
            client.post("/api/v1/session", json={"name": "clerk", "password": "wrong password!"}).status_code
            for _ in range(5)
        ]
        assert statuses == [401, 401, 401, 401, 429]
        limited = client.post("/api/v1/session", json={"name": "clerk", "password": PASSWORD})
    assert limited.status_code == 429 and limited.json()["code"] == "rate-limited"
    assert 0 < int(limited.headers["Retry-After"]) <= 15 * 60


def test_an_administrator_creates_lists_and_revokes_tokens(api: Running) -> None:
    with api.client("admin") as admin:
        created = admin.post("/api/v1/tokens", json={"name": "accounting", "scope": "read"})
        assert created.status_code == 201, created.text
        secret = created.json()["secret"]
        listed = admin.get("/api/v1/tokens").json()
        assert "hash" not in str(listed) and secret not in str(listed)
        (row,) = [t for t in listed if t["name"] == "accounting"]
        assert row["scope"] == "read" and row["revoked_at"] is None
        assert admin.post("/api/v1/tokens", json={"name": "accounting", "scope": "read"}).status_code == 409
        with httpx.Client(base_url=api.url, headers={"Authorization": f"Bearer {secret}"}) as accounting:
            assert accounting.get("/api/v1/cards").status_code == 200
            assert admin.delete("/api/v1/tokens/accounting").status_code == 204
            revoked = accounting.get("/api/v1/cards")
        assert revoked.status_code == 401 and revoked.json()["code"] == "invalid-token"
        assert admin.delete("/api/v1/tokens/accounting-2").status_code == 404


def test_an_administrator_adds_an_account_that_can_sign_in(api: Running, tmp_path: Path) -> None:
    with api.client("administrator") as admin:
        added = admin.post("/api/v1/users", json={"name": "anna", "role": "clerk", "password": "a long enough secret"})
        assert added.status_code == 201, added.text
        assert added.json()["role"] == "clerk" and "password" not in str(added.json())
        assert "anna" in [u["name"] for u in admin.get("/api/v1/users").json()]
        short = admin.post("/api/v1/users", json={"name": "bob", "role": "clerk", "password": "short"})
        assert short.status_code == 422
    with httpx.Client(base_url=api.url) as anna:
        assert anna.post("/api/v1/session", json={"name": "anna", "password": "a long enough secret"}).status_code == 200
        assert anna.get("/api/v1/review").status_code == 200


def test_a_cached_token_is_asked_again_after_the_cache_ttl() -> None:
    from app.principals import Principal
    from workers.api.auth import TokenCache

    now = [100.0]
    cache = TokenCache(ttl=10, size=2, clock=lambda: now[0])
    reader = Principal.for_token("t1", "accounting", "read")
    assert cache.get("kt_secret") is None
    cache.put("kt_secret", reader)
    assert cache.get("kt_secret") == reader and cache.get("kt_other") is None
    now[0] = 110.5
    assert cache.get("kt_secret") is None  # a token revoked elsewhere is refused after ttl
    cache.put("a", reader), cache.put("b", reader), cache.put("c", reader)
    assert cache.get("c") == reader and cache.get("a") is None  # bounded: full means start over
