"""What every route may depend on: the process's Services, built by the app's lifespan."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from app.services import Services

__all__ = ["ServicesDep", "get_services"]


def get_services(request: Request) -> Services:
    services = getattr(request.app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("the API's Services are not built: is the app running under its lifespan?")
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
