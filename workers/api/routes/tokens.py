"""API tokens (administrators): list, create (the secret is shown once), revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from app import accounts
from workers.api.auth import Administrator, token_cache
from workers.api.deps import ServicesDep
from workers.api.models import Token, TokenCreated, TokenRequest
from workers.api.openapi import problems
from workers.api.rows import row_json

router = APIRouter(tags=["administration"])

TokenRef = Annotated[str, Path(min_length=1, max_length=128, pattern=r"^[\w.@+-]+$", description="the token's id or name")]


@router.get("/tokens", response_model=list[Token], response_model_exclude_unset=True, summary="API tokens")
def get_tokens(services: ServicesDep, _: Administrator) -> list[dict[str, Any]]:
    return [row_json(t) for t in accounts.list_tokens(services)]


@router.post(
    "/tokens", status_code=201, response_model=TokenCreated, response_model_exclude_unset=True,
    responses=problems(409), summary="Create a token; its secret is shown this once",
)  # fmt: skip
def post_token(body: TokenRequest, services: ServicesDep, _: Administrator) -> dict[str, Any]:
    row, secret = accounts.create_token(services, body.name, body.scope)
    return {"token": row_json(row), "secret": secret}


@router.delete("/tokens/{id_or_name}", status_code=204, response_class=Response, summary="Revoke a token")
def delete_token(request: Request, id_or_name: TokenRef, services: ServicesDep, _: Administrator) -> Response:
    accounts.revoke_token(services, id_or_name)
    token_cache(request).clear()  # refused from the next request on, not within the cache's ttl
    return Response(status_code=204)
