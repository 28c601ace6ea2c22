"""Who is calling: an API token (``Authorization: Bearer …``) or a person's session cookie.

``Require(permission)`` is the dependency every protected route declares (the auth matrix test
finds it in the route table): 401 with ``WWW-Authenticate`` when nobody is signed in (or the
token is unknown or revoked), 403 when the caller lacks the permission. A request signed in by
cookie that may change something (POST, PUT, PATCH, DELETE) must also carry the session's CSRF
token in ``X-CSRF-Token``; a token-authenticated one need not (a browser never sends tokens
on its own).
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from app import accounts
from app.principals import Permission, Principal
from workers.api.deps import ServicesDep, get_settings
from workers.api.problems import ApiProblem
from workers.api.requestlog import ACTOR_KEY

__all__ = [
    "CSRF_HEADER",
    "SESSION_COOKIE",
    "Access",
    "Caller",
    "PublicWhen",
    "Require",
    "TokenCache",
    "authenticate",
    "session_cookie",
    "token_cache",
]

SESSION_COOKIE = "kartoteka_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

bearer = HTTPBearer(auto_error=False, description="An API token (`kartoteka token create`).")
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE, auto_error=False, description="A person's session (`POST /api/v1/session`)."
)


@dataclass(frozen=True)
class Caller:
    principal: Principal
    #: the session's CSRF token when signed in by cookie; None for a token
    csrf_token: str | None = None
    #: the session cookie's secret, for signing out
    session: str | None = None


class TokenCache:
    """Principals of tokens seen in the last ``ttl`` seconds, so a busy client's requests do not
    each read the catalog (a token lookup was ~1 ms at the median and ~5 ms at p95 on a loaded
    machine, bench/api_bench.py). Only valid tokens are kept, by the secret's hash. Revoking
    through this API clears it at once; a token revoked by another process (``kartoteka token
    revoke``) is refused here within ``ttl`` seconds."""

    def __init__(self, ttl: float = 10.0, size: int = 1024, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.size, self.clock = ttl, size, clock
        self._found: dict[str, tuple[Principal, float]] = {}

    def get(self, secret: str) -> Principal | None:
        found = self._found.get(accounts.hash_secret(secret))
        if found is None or found[1] < self.clock():
            return None
        return found[0]

    def put(self, secret: str, principal: Principal) -> None:
        if len(self._found) >= self.size:
            self._found.clear()
        self._found[accounts.hash_secret(secret)] = (principal, self.clock() + self.ttl)

    def clear(self) -> None:
        self._found.clear()


def token_cache(request: Request) -> TokenCache:
    cache = getattr(request.app.state, "token_cache", None)
    if not isinstance(cache, TokenCache):
        cache = request.app.state.token_cache = TokenCache()
    return cache


async def authenticate(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> Caller | None:
    """The caller, or None when anonymous. A token that is given but unknown is refused (401)
    rather than treated as anonymous, so a revoked token never falls back to a cookie.

    async, with the catalog read in the thread pool only when the token is not cached: a
    request costs one trip through the thread pool (the endpoint's), not two."""
    caller: Caller | None = None
    if credentials is not None:
        cache = token_cache(request)
        principal = cache.get(credentials.credentials)
        if principal is None:
            principal = await run_in_threadpool(accounts.principal_for_token, services, credentials.credentials)
            if principal is None:
                raise ApiProblem(401, "invalid-token", "the API token is unknown or revoked")
            cache.put(credentials.credentials, principal)
        caller = Caller(principal)
    elif cookie:
        found = await run_in_threadpool(accounts.principal_for_session, services, cookie)
        if found is not None:
            caller = Caller(found[0], csrf_token=found[1], session=cookie)
    if caller is not None:
        setattr(request.state, ACTOR_KEY, caller.principal.actor)
    return caller


class Access:
    """A dependency that decides who may call a route; the route table (``operation_permissions``,
    the auth matrix, ``x-permission``) reads its ``permission``."""

    permission: Permission | None


class Require(Access):
    """A dependency that lets a caller with ``permission`` through (any signed-in caller for None)."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission

    async def __call__(self, request: Request, caller: Annotated[Caller | None, Depends(authenticate)]) -> Principal:
        # async: it only compares (see deps.get_services); authenticate, which reads the
        # catalog, stays in the thread pool.
        if caller is None:
            raise ApiProblem(401, "unauthenticated", "sign in: send an API token as 'Authorization: Bearer …'")
        if self.permission is not None and not caller.principal.may(self.permission):
            raise ApiProblem(403, "forbidden", f"{caller.principal.actor} lacks the {self.permission!r} permission")
        if caller.csrf_token is not None and request.method not in SAFE_METHODS:
            sent = request.headers.get(CSRF_HEADER, "")
            if not hmac.compare_digest(sent.encode(), caller.csrf_token.encode()):
                raise ApiProblem(403, "csrf-token-mismatch", f"a signed-in change needs the session's {CSRF_HEADER} header")
        return caller.principal

    def __repr__(self) -> str:
        return f"Require({self.permission!r})"


class PublicWhen(Access):
    """``Require(permission)``, unless the boolean setting ``setting`` of the app's settings is
    true: then anyone may call (None when nobody signed in). A token that is given must still be
    valid."""

    def __init__(self, permission: Permission, setting: str) -> None:
        self.permission = permission
        self.setting = setting
        self.require = Require(permission)

    async def __call__(self, request: Request, caller: Annotated[Caller | None, Depends(authenticate)]) -> Principal | None:
        if getattr(get_settings(request), self.setting) is True:
            return None if caller is None else caller.principal
        return await self.require(request, caller)

    def __repr__(self) -> str:
        return f"PublicWhen({self.permission!r}, {self.setting!r})"


#: The caller of a route that needs the permission, as a parameter type.
Reader = Annotated[Principal, Depends(Require("read"))]
Reviewer = Annotated[Principal, Depends(Require("review"))]
Ingester = Annotated[Principal, Depends(Require("ingest"))]
Administrator = Annotated[Principal, Depends(Require("admin"))]
SignedIn = Annotated[Principal, Depends(Require(None))]
