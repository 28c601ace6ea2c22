"""``kartoteka serve``: the HTTP API alone (the distributed mode's API process).

uvicorn serves ``workers.api.app.create_app(settings)`` on ``KARTOTEKA_HTTP_HOST``:``KARTOTEKA_HTTP_PORT``
(127.0.0.1:8000), and the webhook sender runs beside it (workers/api/sender.py; off with
``KARTOTEKA_WEBHOOKS_SENDER=false``). SIGTERM or Ctrl-C lets open requests finish and exits with
status 0; a port already in use is one line on stderr and exit status 3.
"""

from __future__ import annotations

import argparse
import logging
from typing import TYPE_CHECKING

from app.services import Services
from app.settings import Settings
from workers.arguments import PORT
from workers.exitcodes import ExitCode
from workers.signals import stop_on_signals

if TYPE_CHECKING:
    from app.uploads import Enqueue

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("serve", help="serve the HTTP API (/api/v1) until SIGTERM or Ctrl-C")
    p.add_argument("--host", help="listen on this address (else KARTOTEKA_HTTP_HOST, 127.0.0.1)")
    p.add_argument("--port", type=PORT, help="listen on this port (else KARTOTEKA_HTTP_PORT, 8000)")
    p.set_defaults(run=serve, log_level="INFO")


def _enqueue(settings: Settings, services: Services) -> Enqueue | None:
    """Uploads go to the workers through the broker; without one they wait for the recovery
    sweep of a ``kartoteka run`` on the same data."""
    if not settings.broker_url:
        log.info("no broker URL: uploaded files wait for the recovery sweep of `kartoteka run`")
        return None
    from workers.broker import declare_actors, make_broker

    send = declare_actors(make_broker(settings.broker_url), services).process.send

    def enqueue(input_id: str) -> None:
        # The file is stored and recorded pending before this: the recovery sweep of `watch`
        # sends it once the broker answers. A 500 here had the client send it again (a duplicate).
        try:
            send(input_id, batch_size=_batch_size(services, input_id))
        except Exception as e:  # the broker client's own connection errors
            log.warning("the broker did not take input %s (%s: %s); the recovery sweep sends it", input_id, type(e).__name__, e)

    return enqueue


def _batch_size(services: Services, input_id: str) -> int:
    """How many files came with this one (an upload records them all before any is sent): a
    single file goes before the files of a large upload, as in the hot folders."""
    row = services.catalog.get_input(input_id)
    batch = services.catalog.get_batch(row.batch_id) if row is not None else None
    return batch.total if batch is not None else 1


def serve(args: argparse.Namespace, settings: Settings) -> int:
    from workers.api.server import ApiServer, bind

    host = args.host or settings.http_host
    port = settings.http_port if args.port is None else args.port
    sock = bind(host, port)  # first: a port in use is the one line printed, before anything loads
    from workers.preflight import check_reachable

    check_reachable(settings)  # an unreachable catalog, broker or index: one line, exit 4
    from workers.api.app import create_app
    from workers.api.metrics import app_metrics
    from workers.api.sender import start_sender

    services = Services(settings)
    app = create_app(settings, services, enqueue=_enqueue(settings, services))
    server = ApiServer(app, sock)
    stop = stop_on_signals()
    server.start()
    sender = start_sender(services, stop, app_metrics(app))
    try:
        while not stop.wait(1.0):
            if not server.running:
                log.error("the HTTP server stopped on its own")
                return ExitCode.TRY_AGAIN
    finally:
        stop.set()
        server.stop()
        if sender is not None:
            sender.join(timeout=15)
        services.close()
    return ExitCode.OK
