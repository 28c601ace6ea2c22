"""``kartoteka watch``: the distributed mode's intake process.

It watches the hot folders, copies each ready file into the blob store, records it as pending
and sends its id to the broker's ``ocr`` queue (a single file with a higher priority than the
files of a larger batch); it runs the recovery sweep (pending inputs re-sent every
``sweep_seconds``; one whose message was sent more than ten sweeps ago and is still pending is
taken for lost and sent again) and the index feed (the catalog's outbox applied to
Elasticsearch). One ``watch`` process per deployment is enough; a second one on the same hot
folders takes no file twice (the catalog records a file once) and feeds the same index twice,
harmlessly. Recognition and registration run in ``kartoteka worker`` processes.
"""

from __future__ import annotations

import argparse
import logging

from app import pipeline
from app.indexing import feed_of
from app.services import Services
from app.settings import Settings
from ingest.errors import ConfigurationError
from ingest.hotfolder import Candidate, HotFolderWatcher
from workers.broker import Dispatcher, declare_actors, make_broker, recovery_sweep
from workers.exitcodes import ExitCode
from workers.service_command import hot_folders, start_thread
from workers.signals import stop_on_signals
from workers.status_command import heartbeat

log = logging.getLogger(__name__)

#: A message sent this many sweeps ago whose input is still pending is sent again.
STALE_SWEEPS = 10
#: The sweep re-sends with the priority of a batch's files (workers/broker.py: priority_for).
RESENT_BATCH_SIZE = 2


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("watch", help="distributed mode: watch the hot folders and send what arrives to the workers")
    p.set_defaults(run=run, log_level="INFO")


def check_distributed_settings(settings: Settings, command: str) -> None:
    """A broker and Elasticsearch are required, and every server must answer (exit 3 or 4)."""
    if not settings.broker_url:
        raise ConfigurationError(f"kartoteka {command} needs a broker: set KARTOTEKA_BROKER_URL=redis://… or amqp://…")
    from workers.preflight import check_distributed, check_reachable

    check_distributed(settings)
    check_reachable(settings)


def run(args: argparse.Namespace, settings: Settings) -> int:
    check_distributed_settings(settings, "watch")
    profiles = hot_folders(settings)
    services = Services(settings)
    broker = make_broker(settings.broker_url)
    sender = declare_actors(broker, services).process
    dispatcher = Dispatcher(
        lambda i: sender.send(i, batch_size=RESENT_BATCH_SIZE),  # re-sent by the sweep: batch priority
        stale_after=STALE_SWEEPS * settings.sweep_seconds,
        sized=lambda i, n: sender.send(i, batch_size=n),
    )
    stop = stop_on_signals()

    def on_ready(candidate: Candidate) -> None:
        size = len(candidate.files)
        pipeline.intake_candidate(candidate, services, lambda i: dispatcher.enqueue(i, batch_size=size))

    recovery_sweep(dispatcher, services)
    watch_thread = start_thread(HotFolderWatcher(profiles, on_ready).run, stop, "watcher")
    feed_thread = start_thread(feed_of(services).run, stop, "index-feed")
    log.info("watching %s; sending to %s", ", ".join(str(p.path) for p in profiles), _redacted(settings.broker_url))
    beat = heartbeat(settings, "watch")  # `kartoteka status` lists it
    try:
        while not stop.wait(settings.sweep_seconds):
            recovery_sweep(dispatcher, services)
    finally:
        beat.stop()
        stop.set()
        watch_thread.join(timeout=15)
        feed_thread.join(timeout=30)
        broker.close()
        services.close()
    return ExitCode.OK


def _redacted(url: str | None) -> str:
    from workers.preflight import redact

    return redact(url or "")

