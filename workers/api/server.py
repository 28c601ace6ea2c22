"""Serving the API with uvicorn in a thread, on a socket bound before anything else starts.

Binding up front makes a port already in use fail at once with one line (ConfigurationError:
exit status 3) instead of uvicorn's ``sys.exit`` inside a thread, and lets tests ask for port 0
and read the port they got. The caller owns the signals: ``kartoteka serve`` and ``kartoteka
run`` stop the server with ``stop()`` when SIGTERM or Ctrl-C arrives.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn
from fastapi import FastAPI

from ingest.errors import ConfigurationError

__all__ = ["ApiServer", "bind"]

log = logging.getLogger(__name__)

#: Seconds open requests get to finish when the server stops.
GRACEFUL_SECONDS = 10
START_SECONDS = 30


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready TCP socket on ``host:port``; ConfigurationError when it cannot be had."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as e:
        raise ConfigurationError(f"cannot listen on {host}:{port}: {e}; set KARTOTEKA_HTTP_HOST") from e
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as e:
        sock.close()
        raise ConfigurationError(
            f"cannot listen on {host}:{port}: {e.strerror or e}; stop what uses it or set KARTOTEKA_HTTP_PORT"
        ) from e
    sock.set_inheritable(True)
    return sock


class ApiServer:
    """uvicorn serving ``app`` on a bound socket (``bind``, or ``host`` and ``port`` bound now)
    once ``start()`` is called."""

    def __init__(self, app: FastAPI, host: str | socket.socket, port: int = 0) -> None:
        self.socket = host if isinstance(host, socket.socket) else bind(host, port)
        self.host = str(self.socket.getsockname()[0])
        config = uvicorn.Config(
            app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=GRACEFUL_SECONDS,
        )  # fmt: skip
        self.server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.socket.getsockname()[1])

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> None:
        """Serve in a thread; return once requests are answered (ConfigurationError if it failed)."""
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.socket]}, name="http-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_SECONDS
        while not self.server.started and self._thread.is_alive() and time.monotonic() < deadline:
            self._thread.join(0.02)
        if not self.server.started:
            self.stop()
            raise ConfigurationError(f"the HTTP API did not start on {self.url}; see the log above")
        log.info("HTTP API on %s/api/v1 (schema at /api/v1/openapi.json)", self.url)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = GRACEFUL_SECONDS + 5) -> None:
        """Finish open requests (up to the grace period), run the app's shutdown, release the port."""
        self.server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self.socket.close()
