"""The administrator's page: accounts and API tokens (managed with ``kartoteka user`` and
``kartoteka token``, or the API)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from app import accounts
from workers.web.routes import web_router
from workers.web.session import Administrator
from workers.web.state import services_of
from workers.web.templating import render

router = web_router()


@router.get("/admin")
def admin_page(request: Request, viewer: Administrator) -> Response:
    services = services_of(request)
    return render(request, "admin.html", users=accounts.list_users(services), tokens=accounts.list_tokens(services),
                  section="admin")  # fmt: skip
