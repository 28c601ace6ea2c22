"""People sign in and out: a session cookie (HttpOnly, SameSite=Lax) and a CSRF token.

Failed sign-ins are rate-limited by ``app.accounts`` (429 with Retry-After).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from app import accounts
from app.principals import Principal
from workers.api.auth import SESSION_COOKIE, Caller, SignedIn, authenticate
from workers.api.deps import ServicesDep
from workers.api.models import Login, SessionInfo
from workers.api.openapi import problems
from workers.api.requestlog import ACTOR_KEY

router = APIRouter(tags=["session"])


def _info(principal: Principal, csrf_token: str | None, expires_at: datetime | None = None) -> dict[str, Any]:
    return {
        "actor": principal.actor,
        "kind": principal.kind,
        "name": principal.name,
        "permissions": sorted(principal.permissions),
        "csrf_token": csrf_token,
        "expires_at": expires_at.isoformat() if expires_at else None,
    }


@router.post("/session", response_model=SessionInfo, responses=problems(429), summary="Sign in: sets the session cookie, returns the CSRF token")
def login(body: Login, request: Request, response: Response, services: ServicesDep) -> dict[str, Any]:
    client = request.client.host if request.client else "unknown"
    principal, session = accounts.login(services, body.name, body.password, client=client)
    setattr(request.state, ACTOR_KEY, principal.actor)
    response.set_cookie(
        SESSION_COOKIE, session.secret, expires=session.expires_at, path="/",
        httponly=True, samesite="lax", secure=request.url.scheme == "https",
    )  # fmt: skip
    return _info(principal, session.csrf_token, session.expires_at)


@router.get("/session", response_model=SessionInfo, summary="Who is signed in (and the session's CSRF token)")
def whoami(principal: SignedIn, caller: Annotated[Caller | None, Depends(authenticate)]) -> dict[str, Any]:
    return _info(principal, caller.csrf_token if caller else None)


@router.delete("/session", status_code=204, response_class=Response, summary="Sign out")
def logout(principal: SignedIn, caller: Annotated[Caller | None, Depends(authenticate)], services: ServicesDep) -> Response:
    if caller is not None and caller.session is not None:
        accounts.logout(services, caller.session)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response
