"""``kartoteka run``: the embedded service. Watch the hot folders, process, keep going.

One process: the hot-folder watcher, an in-process dramatiq worker, a recovery sweep that
re-enqueues unfinished work from the catalog at start-up and every ``sweep_seconds``, and the
index feed (workers/indexer.py) that brings the search index up to date with the catalog.
SIGTERM or Ctrl-C stops it cleanly; SIGKILL loses nothing (the catalog is the source of truth).
"""

from __future__ import annotations

import argparse
import logging
import signal
import threading
from types import FrameType
from zoneinfo import ZoneInfo

import dramatiq

from ingest.errors import ConfigurationError, TransientError
from ingest.hotfolder import Candidate, HotFolderWatcher
from workers import pipeline
from workers.broker import Dispatcher, declare_actors, make_broker
from search.service import open_index
from workers.exitcodes import ExitCode
from workers.indexer import IndexFeed
from workers.services import build_services, set_current
from workers.settings import Settings

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="the embedded service: watch the hot folders and process what arrives")
    p.set_defaults(run=run, log_level="INFO")


def run(args: argparse.Namespace, settings: Settings) -> int:
    profiles = settings.profiles()
    if not profiles:
        raise ConfigurationError("no hot folder: set KARTOTEKA_INBOX or add [[hotfolders]] to the settings file")
    for profile in profiles:
        profile.path.mkdir(parents=True, exist_ok=True)
        if profile.quarantine:
            profile.quarantine.mkdir(parents=True, exist_ok=True)
    services = build_services(settings)
    set_current(services)
    broker = make_broker(settings.broker_url)
    dispatcher_ref: list[Dispatcher] = []
    actors = declare_actors(broker, on_done=lambda i: dispatcher_ref[0].done(i))
    dispatcher = Dispatcher(actors.process.send)
    dispatcher_ref.append(dispatcher)
    worker = dramatiq.Worker(broker, worker_threads=settings.worker_threads, worker_timeout=250)

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    def on_ready(candidate: Candidate) -> None:
        pipeline.intake_candidate(candidate, services, dispatcher.enqueue)

    watcher = HotFolderWatcher(profiles, on_ready)
    worker.start()
    dispatcher.sweep(pipeline.pending_ids(services))
    watch_thread = threading.Thread(target=watcher.run, args=(stop,), name="watcher", daemon=True)
    watch_thread.start()
    feed = IndexFeed(services.catalog, lambda: open_index(settings.search_url, settings.data_dir), ZoneInfo(settings.timezone))
    feed_thread = threading.Thread(target=feed.run, args=(stop,), name="index-feed", daemon=True)
    feed_thread.start()
    log.info(
        "watching %s; data in %s; %d worker threads",
        ", ".join(str(p.path) for p in profiles),
        settings.data_dir,
        settings.worker_threads,
    )
    try:
        while not stop.wait(settings.sweep_seconds):
            try:
                dispatcher.sweep(pipeline.pending_ids(services))
            except TransientError as e:  # a busy or unreachable catalog: try at the next sweep
                log.warning("recovery sweep skipped: %s", e)
    finally:
        stop.set()
        watch_thread.join(timeout=15)
        feed_thread.join(timeout=30)
        worker.stop(timeout=10_000)
        set_current(None)
    return ExitCode.OK
