"""``kartoteka worker``: dramatiq workers of the distributed mode over the configured broker.

``--queues ocr,archive`` (the default: both stages; ``process`` too for a ``kartoteka run`` on
the same broker), ``--threads N`` messages at once per process (default ``worker_threads``),
``--processes N`` worker processes, each forked from this one with Services of its own (its
catalog connections, its OCR engine); a process that dies is started again. SIGTERM or Ctrl-C
stops every process cleanly: messages being worked on finish or go back to the broker.
``--metrics-port P`` serves the workers' Prometheus metrics (workers/worker_metrics.py) on the
address of ``http_host`` (``KARTOTEKA_HTTP_HOST``), port P.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time

from typing import TYPE_CHECKING

import dramatiq

from app.services import Services
from app.settings import Settings
from ingest.errors import ConfigurationError
from ocr import run as ocr_run
from workers.arguments import PORT, int_in
from workers.broker import ARCHIVE_QUEUE, OCR_QUEUE, QUEUES, declare_actors, make_broker, stop_worker
from workers.exitcodes import ExitCode
from workers.signals import stop_on_signals
from workers.status_command import heartbeat
from workers.watch_command import check_distributed_settings

if TYPE_CHECKING:  # prometheus_client is imported only when metrics are served
    from workers.worker_metrics import MetricsServer

log = logging.getLogger(__name__)

#: A worker process that died is started again after this many seconds.
RESTART_DELAY_S = 1.0


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("worker", help="distributed mode: recognise and register what the broker's queues hold")
    p.add_argument("--queues", type=_queues, default=f"{OCR_QUEUE},{ARCHIVE_QUEUE}",
                   help="comma-separated queues (default: ocr,archive)")  # fmt: skip
    p.add_argument("--processes", type=int_in(1, 64), default=1, metavar="N", help="worker processes (default 1)")
    p.add_argument("--threads", type=int_in(1, 64), default=None, metavar="N", help="messages at once per process")
    p.add_argument("--metrics-port", type=PORT, default=None, metavar="P", help="serve Prometheus metrics on this port")
    p.set_defaults(run=run, log_level="INFO")


def _queues(text: str) -> set[str]:
    """The queues of ``--queues``: an argparse type, so a wrong name is a usage error (exit 2)."""
    queues = {q.strip() for q in text.split(",") if q.strip()}
    unknown = queues - set(QUEUES)
    if not queues or unknown:
        raise argparse.ArgumentTypeError(f"{text!r}: use some of {', '.join(QUEUES)}")
    return queues


_queues.__name__ = "queue list"  # argparse names the type in its message


def run(args: argparse.Namespace, settings: Settings) -> int:
    queues: set[str] = args.queues
    if args.processes < 1 or (args.threads is not None and args.threads < 1):
        raise ConfigurationError("--processes and --threads must be at least 1")
    check_distributed_settings(settings, "worker")
    threads = args.threads or settings.worker_threads
    metrics = _serve_metrics(settings, args.metrics_port)
    try:
        if args.processes == 1:
            return work(settings, queues, threads, counted=metrics is not None)
        return _supervise(settings, queues, threads, args.processes, metrics)
    finally:
        if metrics is not None:
            metrics.close()


def _serve_metrics(settings: Settings, port: int | None) -> MetricsServer | None:
    if port is None:
        return None
    if not 0 <= port <= 65535:
        raise ConfigurationError(f"--metrics-port {port}: use a port from 0 to 65535")
    from workers.worker_metrics import serve_worker_metrics

    try:
        metrics = serve_worker_metrics(settings.http_host, port)
    except OSError as e:
        raise ConfigurationError(f"cannot serve metrics on {settings.http_host}:{port}: {e.strerror or e}") from e
    log.info("worker metrics on http://%s:%d/metrics", settings.http_host, metrics.server.server_port)
    return metrics


def work(settings: Settings, queues: set[str], threads: int, *, processes: int = 1, counted: bool = False) -> int:
    """One worker process (of ``processes`` on this host): its Services, the actors on the
    broker, a dramatiq Worker; with ``counted``, its WorkerMetrics (``serve_worker_metrics`` was
    called before)."""
    ocr_run.share_cores(processes * max(threads, ocr_run.workers(settings.ocr)))
    services = Services(settings)
    services.check_processing()  # a missing Tesseract, language pack or kinds file stops the start
    log.info("recognition engine: %s", services.engine.name)
    services.start_retraining()
    broker = make_broker(settings.broker_url)
    if counted:
        from workers.worker_metrics import WorkerMetrics

        counter = WorkerMetrics()
        broker.add_middleware(counter)
        declare_actors(broker, services, observe=counter.observe)
    else:
        declare_actors(broker, services)
    worker = dramatiq.Worker(broker, queues=queues, worker_threads=threads, worker_timeout=250)
    # One message per thread and queue: dramatiq's default (two per thread) let a worker busy on
    # a long page hold messages an idle worker could have taken, and the broker's priorities
    # only order messages no worker has taken yet.
    worker.queue_prefetch = threads
    stop = stop_on_signals()
    worker.start()
    beat = heartbeat(settings, "worker", sorted(queues))  # `kartoteka status` lists it
    log.info("worker %d on %s, %d threads", os.getpid(), ",".join(sorted(queues)), threads)
    try:
        stop.wait()
    finally:
        beat.stop()
        stop_worker(worker, services, grace_ms=30_000)
        broker.close()
        services.close()
    return ExitCode.OK


def _fork(settings: Settings, queues: set[str], threads: int, processes: int, counted: bool) -> int:
    pid = os.fork()
    if pid == 0:  # the child: a worker until SIGTERM, never returning into the parent's code
        code = 1
        try:
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            code = work(settings, queues, threads, processes=processes, counted=counted)
        except BaseException:
            log.exception("worker process failed")
        finally:
            logging.shutdown()
            sys.stdout.flush()
            os._exit(code)
    return pid


def _supervise(settings: Settings, queues: set[str], threads: int, processes: int, metrics: MetricsServer | None) -> int:
    """Fork ``processes`` workers, start again any that dies, pass SIGTERM on to all."""
    stop = stop_on_signals()
    counted = metrics is not None
    children = {_fork(settings, queues, threads, processes, counted) for _ in range(processes)}
    while not stop.is_set():
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            pid, status = 0, 0
        if pid in children:
            children.discard(pid)
            log.warning("worker process %d ended (status %d): starting another", pid, status)
            if metrics is not None:
                metrics.process_ended(pid)
            stop.wait(RESTART_DELAY_S)
            if not stop.is_set():
                children.add(_fork(settings, queues, threads, processes, counted))
            continue
        stop.wait(0.5)
    for pid in children:
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 60
    for pid in children:
        while time.monotonic() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            time.sleep(0.1)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    return ExitCode.OK
