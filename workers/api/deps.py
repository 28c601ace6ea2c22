"""What every route may depend on: the process's Services, built by the app's lifespan, and the
settings the app was made with."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request

from app.services import Services
from app.settings import Settings

__all__ = ["ServicesDep", "get_services", "get_services_of", "get_settings"]


async def get_services(request: Request) -> Services:
    # async: no IO here, so it runs on the event loop instead of taking a trip through the thread
    # pool (each trip costs about 0.1-0.3 ms, and more in the tail on a busy machine).
    return get_services_of(request.app)


def get_services_of(app: FastAPI) -> Services:
    services = getattr(app.state, "services", None)
    if not isinstance(services, Services):
        raise RuntimeError("the API's Services are not built: is the app running under its lifespan?")
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(request: Request) -> Settings:
    settings = getattr(request.app.state, "settings", None)
    if not isinstance(settings, Settings):
        raise RuntimeError("the API's settings are not set: was the app made by create_app?")
    return settings
