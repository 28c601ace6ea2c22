"""Signing in and out, and the language switch.

The session is the API's (``app.accounts``): the same cookie (HttpOnly, SameSite=Lax, Secure
over HTTPS) lets the page fetch page images and attachments from ``/api/v1``. The login form
carries a CSRF token of its own, matched against a short-lived cookie (there is no session yet).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app import accounts
from workers.api.auth import SESSION_COOKIE
from workers.web import UI_PREFIX
from workers.web.i18n import LANG_COOKIE, LOCALES
from workers.web.routes import web_router
from workers.web.session import CSRF_FIELD, LOGIN_CSRF_COOKIE, SignedInForm, current_viewer, login_token, same_token
from workers.web.state import services_of
from workers.web.templating import render

router = web_router()

HOME = f"{UI_PREFIX}/search"
Next = Annotated[str, Query(alias="next", max_length=2000)]
LOGIN_TOKEN_SECONDS = 12 * 3600
LANG_SECONDS = 365 * 24 * 3600


def safe_next(target: str) -> str:
    """Where to go after signing in or switching language: a path of the UI, else the search."""
    path = target.split("?", 1)[0]
    if path.startswith(f"{UI_PREFIX}/") and "//" not in path and "\\" not in target and target.isprintable():
        return target
    return HOME


def _login_page(request: Request, target: str, status: int = 200, error: str = "", retry_after: int = 0) -> Response:
    token = login_token(request)
    response = render(request, "login.html", status, login_csrf=token, next=safe_next(target), error=error,
                      retry_after=retry_after, section="login")  # fmt: skip
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, max_age=LOGIN_TOKEN_SECONDS, path=f"{UI_PREFIX}/login",
        httponly=True, samesite="strict", secure=request.url.scheme == "https",
    )  # fmt: skip
    return response


@router.get("/login")
def login_form(request: Request, target: Next = HOME) -> Response:
    if current_viewer(request) is not None:
        return RedirectResponse(safe_next(target), status_code=303)
    return _login_page(request, target)


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form(max_files=0, max_fields=10)
    values = {k: v for k, v in form.items() if isinstance(v, str)}
    target = values.get("next", HOME)
    if not same_token(values.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(request, target, 403, error="csrf")
    client = request.client.host if request.client else "unknown"
    try:
        principal, session = await run_in_threadpool(
            accounts.login, services_of(request), values.get("name", ""), values.get("password", ""), client=client
        )
    except accounts.LoginRateLimited as e:
        return _login_page(request, target, 429, error="rate-limited", retry_after=e.retry_after)
    except accounts.LoginRefused:
        return _login_page(request, target, 401, error="refused")
    response = RedirectResponse(safe_next(target), status_code=303)
    response.set_cookie(
        SESSION_COOKIE, session.secret, expires=session.expires_at, path="/",
        httponly=True, samesite="lax", secure=request.url.scheme == "https",
    )  # fmt: skip
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=f"{UI_PREFIX}/login")
    return response


@router.post("/logout")
def logout(request: Request, posted: SignedInForm) -> Response:
    accounts.logout(services_of(request), posted.viewer.session)
    response = RedirectResponse(f"{UI_PREFIX}/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/lang/{code}")
def switch_language(code: str, target: Next = HOME) -> Response:
    """Remember the language (a preference, not a change of the archive: a plain link)."""
    response = RedirectResponse(safe_next(target), status_code=303)
    if code in LOCALES:
        response.set_cookie(LANG_COOKIE, code, max_age=LANG_SECONDS, path="/", samesite="lax")
    return response


@router.get("/")
def home() -> Response:
    return RedirectResponse(HOME, status_code=303)
