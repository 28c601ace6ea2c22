"""``kartoteka run``: the embedded service. Watch the hot folders, process, keep going.

One process: the hot-folder watcher, an in-process dramatiq worker, a recovery sweep that
re-enqueues unfinished work from the catalog at start-up and every ``sweep_seconds``, and the
index feed (app/indexing.py) that brings the search index up to date with the catalog, the
HTTP API (workers/api/) on ``KARTOTEKA_HTTP_HOST``:``KARTOTEKA_HTTP_PORT``, and the webhook
sender (workers/api/sender.py, unless ``KARTOTEKA_WEBHOOKS_SENDER=false``), sharing the same
Services. SIGTERM or Ctrl-C stops it cleanly; SIGKILL loses nothing (the catalog is the source
of truth). A port already in use stops the start with one line (exit status 3).
"""

from __future__ import annotations

import argparse
import logging
import threading
from collections.abc import Callable

import dramatiq

from app import pipeline
from app.indexing import feed_of
from app.services import Services
from app.settings import Settings, make_folder
from ocr import run as ocr_run
from ingest.errors import ConfigurationError
from ingest.hotfolder import Candidate, HotFolderWatcher
from ingest.profile import HotFolderProfile
from workers.api.app import create_app
from workers.api.metrics import app_metrics
from workers.api.sender import start_sender
from workers.api.server import ApiServer, bind
from workers.broker import Dispatcher, declare_actors, make_broker, recovery_sweep, stop_worker
from workers.exitcodes import ExitCode
from workers.signals import stop_on_signals
from workers.status_command import heartbeat

log = logging.getLogger(__name__)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("run", help="the embedded service: watch the hot folders and process what arrives")
    p.set_defaults(run=run, log_level="INFO")


def hot_folders(settings: Settings) -> list[HotFolderProfile]:
    """The configured hot folders, created with their quarantine folders if missing."""
    profiles = settings.profiles()
    if not profiles:
        raise ConfigurationError("no hot folder: set KARTOTEKA_INBOX or add [[hotfolders]] to the settings file")
    for profile in profiles:
        setting = "inbox" if profile.path == settings.inbox else "hotfolders"
        make_folder(profile.path, setting)
        if profile.quarantine:
            make_folder(profile.quarantine, setting)
    return profiles


def start_thread(target: Callable[[threading.Event], None], stop: threading.Event, name: str) -> threading.Thread:
    thread = threading.Thread(target=target, args=(stop,), name=name, daemon=True)
    thread.start()
    return thread


def run(args: argparse.Namespace, settings: Settings) -> int:
    profiles = hot_folders(settings)
    sock = bind(settings.http_host, settings.http_port)  # a port in use stops the start (exit 3)
    ocr_run.share_cores(ocr_run.workers(settings.ocr))
    services = Services(settings)
    # Built now: a missing Tesseract, language pack or kinds file stops the start, not the first file.
    services.check_processing()
    log.info("recognition engine: %s", services.engine.name)
    services.start_retraining()
    broker = make_broker(settings.broker_url)
    dispatcher_ref: list[Dispatcher] = []
    actors = declare_actors(broker, services, on_done=lambda i: dispatcher_ref[0].done(i))
    dispatcher = Dispatcher(actors.whole.send)
    dispatcher_ref.append(dispatcher)
    app = create_app(settings, services, enqueue=dispatcher.enqueue)
    api = ApiServer(app, sock)
    worker = dramatiq.Worker(broker, worker_threads=settings.worker_threads, worker_timeout=250)
    stop = stop_on_signals()
    api.start()

    def on_ready(candidate: Candidate) -> None:
        pipeline.intake_candidate(candidate, services, dispatcher.enqueue)

    worker.start()
    recovery_sweep(dispatcher, services)
    watch_thread = start_thread(HotFolderWatcher(profiles, on_ready).run, stop, "watcher")
    feed_thread = start_thread(feed_of(services).run, stop, "index-feed")
    sender_thread = start_sender(services, stop, app_metrics(app))
    log.info("watching %s; data in %s; %d worker threads",
             ", ".join(str(p.path) for p in profiles), settings.data_dir, settings.worker_threads)  # fmt: skip
    beat = heartbeat(settings, "run", ["process"])  # `kartoteka status` lists it (and --this-host finds it)
    try:
        while not stop.wait(settings.sweep_seconds):
            recovery_sweep(dispatcher, services)
    finally:
        beat.stop()
        stop.set()
        api.stop()
        watch_thread.join(timeout=15)
        feed_thread.join(timeout=30)
        if sender_thread is not None:
            sender_thread.join(timeout=15)
        stop_worker(worker, services, grace_ms=10_000)
        services.close()
    return ExitCode.OK
