"""People's accounts (administrators): list, add."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app import accounts
from workers.api.auth import Administrator
from workers.api.deps import ServicesDep
from workers.api.models import User, UserRequest
from workers.api.openapi import problems
from workers.api.rows import row_json

router = APIRouter(tags=["administration"])


@router.get("/users", response_model=list[User], response_model_exclude_unset=True, summary="Accounts")
def get_users(services: ServicesDep, _: Administrator) -> list[dict[str, Any]]:
    return [row_json(u) for u in accounts.list_users(services)]


@router.post(
    "/users", status_code=201, response_model=User, response_model_exclude_unset=True,
    responses=problems(409), summary="Add an account",
)  # fmt: skip
def post_user(body: UserRequest, services: ServicesDep, _: Administrator) -> dict[str, Any]:
    return row_json(accounts.add_user(services, body.name, body.role, body.password))
