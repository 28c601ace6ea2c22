"""One log line per request (method, path, status, duration, who asked), and the last resort for
errors nobody handled: a 500 problem with a reference instead of a stack trace. Each request is
also reported to ``on_request(route or None, method, status)`` (the metrics).

A pure ASGI middleware (no response buffering, so file downloads stream through it). The auth
dependency records the caller's actor in the request's state, which lives in the ASGI scope.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from workers.api.problems import server_error_response

__all__ = ["ACTOR_KEY", "RequestLog"]

log = logging.getLogger("workers.api.requests")

#: Where the auth dependency leaves the caller's actor (``token:accounting``) in the scope's state.
ACTOR_KEY = "actor"

#: Told of every answered request: (the route it matched, from the scope, or None; method; status).
OnRequest = Callable[[object, str, int], None]


class RequestLog:
    def __init__(self, app: ASGIApp, on_request: OnRequest | None = None) -> None:
        self.app = app
        self.on_request = on_request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state = scope.setdefault("state", {})
        status = 0

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        method, path = scope.get("method", ""), scope.get("path", "")
        try:
            await self.app(scope, receive, send_and_note)
        except Exception as error:
            if status:  # the response has started: it cannot become a problem any more
                log.exception("error after the response started on %s %s", method, path)
                raise
            status = 500
            await server_error_response(error, f"{method} {path}")(scope, receive, send)
        finally:
            elapsed = round((time.perf_counter() - started) * 1000, 1)
            actor = state.get(ACTOR_KEY) if isinstance(state, dict) else None
            request = {"method": method, "path": path, "status": status, "duration_ms": elapsed, "actor": actor}
            log.info("%s %s %d %.1f ms %s", method, path, status, elapsed, actor or "-", extra={"request": request})
            if self.on_request is not None:
                self.on_request(scope.get("route"), method, status)
