"""Who is looking: the person of the session cookie (the API's sessions), what they may do, and
the CSRF token every form carries.

Nothing of the UI is shown without a session: ``Need(permission)`` sends an anonymous visitor to
the login page (``LoginRequired``) and refuses a person without the permission (``Forbidden``:
a 403 page). A form is posted with the session's CSRF token in ``csrf_token``; ``Posted``
refuses one without it or with another (``CsrfRefused``). The login form, before any session,
carries a token that must match a short-lived cookie of its own (double submit).
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app import accounts
from app.principals import Permission, Principal
from workers.api.auth import SESSION_COOKIE
from workers.api.requestlog import ACTOR_KEY
from workers.web.state import services_of

__all__ = [
    "CSRF_FIELD",
    "LOGIN_CSRF_COOKIE",
    "CsrfRefused",
    "Forbidden",
    "LoginRequired",
    "Need",
    "Posted",
    "PostedForm",
    "Viewer",
    "current_viewer",
    "login_token",
    "same_token",
]

CSRF_FIELD = "csrf_token"
LOGIN_CSRF_COOKIE = "kartoteka_login_csrf"
#: Fields a UI form may have at most (a correction form has one per card field).
MAX_FIELDS = 400


@dataclass(frozen=True)
class Viewer:
    """A signed-in person and their session's CSRF token."""

    principal: Principal
    csrf_token: str
    #: the session cookie's secret, for signing out
    session: str

    def may(self, permission: Permission) -> bool:
        return self.principal.may(permission)


class LoginRequired(Exception):
    """No session (or an expired one): the visitor is sent to the login page."""


class Forbidden(Exception):
    """Signed in, but without the permission the page needs."""

    def __init__(self, permission: Permission) -> None:
        super().__init__(permission)
        self.permission = permission


class CsrfRefused(Exception):
    """A form posted without the session's CSRF token (or with another one)."""


def current_viewer(request: Request) -> Viewer | None:
    """The person signed in by the request's session cookie, or None; remembered on the request
    (the error pages and the request log read it)."""
    if hasattr(request.state, "viewer"):
        known: Viewer | None = request.state.viewer
        return known
    secret = request.cookies.get(SESSION_COOKIE)
    viewer = None
    if secret:
        found = accounts.principal_for_session(services_of(request), secret)
        if found is not None:
            viewer = Viewer(found[0], found[1], secret)
            setattr(request.state, ACTOR_KEY, found[0].actor)
    request.state.viewer = viewer
    return viewer


class Need:
    """A dependency: the signed-in person, who must have ``permission`` (None: anyone signed in)."""

    def __init__(self, permission: Permission | None) -> None:
        self.permission = permission

    def __call__(self, request: Request) -> Viewer:
        viewer = current_viewer(request)
        if viewer is None:
            raise LoginRequired()
        if self.permission is not None and not viewer.may(self.permission):
            raise Forbidden(self.permission)
        return viewer

    def __repr__(self) -> str:
        return f"Need({self.permission!r})"


def same_token(sent: str | None, expected: str | None) -> bool:
    """Whether a posted token is the expected one (compared in constant time)."""
    if not sent or not expected:
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


@dataclass(frozen=True)
class PostedForm:
    viewer: Viewer
    form: FormData

    def get(self, name: str, default: str = "") -> str:
        value = self.form.get(name)
        return value if isinstance(value, str) else default


class Posted:
    """A dependency for a form's target: the signed-in person with ``permission`` and the form,
    whose ``csrf_token`` must be the session's."""

    def __init__(self, permission: Permission | None) -> None:
        self.need = Need(permission)

    async def __call__(self, request: Request) -> PostedForm:
        viewer = await run_in_threadpool(self.need, request)
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        sent = form.get(CSRF_FIELD)
        if not same_token(sent if isinstance(sent, str) else None, viewer.csrf_token):
            raise CsrfRefused()
        return PostedForm(viewer, form)

    def __repr__(self) -> str:
        return f"Posted({self.need.permission!r})"


def login_token(request: Request) -> str:
    """The login form's CSRF token: the one its cookie holds, or a new one."""
    found = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    return found if 20 <= len(found) <= 100 and found.isascii() else secrets.token_urlsafe(32)


#: The caller of a page, as a parameter type.
Reader = Annotated[Viewer, Depends(Need("read"))]
Reviewer = Annotated[Viewer, Depends(Need("review"))]
Operator = Annotated[Viewer, Depends(Need("ingest"))]
Administrator = Annotated[Viewer, Depends(Need("admin"))]
ReviewForm = Annotated[PostedForm, Depends(Posted("review"))]
OperatorForm = Annotated[PostedForm, Depends(Posted("ingest"))]
SignedInForm = Annotated[PostedForm, Depends(Posted(None))]
