"""What every UI route may depend on: the API app it is mounted in (its Services and enqueue),
the settings and the templates, kept on the UI app's state by ``create_ui``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from app.services import Services
from app.settings import Settings
from app.uploads import Enqueue
from workers.api.deps import get_services_of

if TYPE_CHECKING:
    from workers.web.templating import Templates

__all__ = ["WebState", "enqueue_of", "services_of", "web_state"]


@dataclass(frozen=True)
class WebState:
    #: the API's app: its lifespan builds the Services the UI uses
    api: FastAPI
    settings: Settings
    templates: Templates


def web_state(request: HTTPConnection) -> WebState:
    state = getattr(request.app.state, "web", None)
    if not isinstance(state, WebState):
        raise RuntimeError("the UI's state is not set: was it made by workers.web.mount?")
    return state


def services_of(request: HTTPConnection) -> Services:
    return get_services_of(web_state(request).api)


def enqueue_of(request: HTTPConnection) -> Enqueue:
    """How the API's app sends an input to be processed (``create_app``'s ``enqueue``)."""
    enqueue: Enqueue = web_state(request).api.state.enqueue
    return enqueue
