"""Prometheus metrics of ``kartoteka worker`` (``--metrics-port``): what its processes did.

``serve``'s ``/metrics`` reports the archive as the catalog and the broker see it (queue depth
per broker queue, files by outcome, pages per minute); what happens inside the workers — the
failures by reason, the retries, how long a message takes — is only known there, so each
``kartoteka worker`` serves these itself (one scrape target per worker host or container, as
dramatiq's own Prometheus middleware does):

    kartoteka_worker_messages_total{queue}                  messages processed (any result)
    kartoteka_worker_failures_total{queue,reason,decision}  failed attempts by error class and
                                                            what the failure policy did: retry,
                                                            quarantine, raise (left to the sweep)
    kartoteka_worker_retries_total{queue,reason}            the failed attempts retried
    kartoteka_worker_message_seconds{queue}                 time per message (histogram)
    kartoteka_worker_messages_in_progress{queue}            messages being worked on now

``--processes N`` forks workers, each counting for itself: prometheus_client's multiprocess
mode (a directory of memory-mapped files the forked processes inherit, summed by the parent at
each scrape) gives one figure for the whole command, and counts of a process that died are kept.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from typing import Any

import dramatiq
from dramatiq.broker import MessageProxy
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess, start_http_server, values

__all__ = ["MetricsServer", "WorkerMetrics", "serve_worker_metrics"]

#: Seconds: a one-page registration takes a fraction of a second, a 300-page PDF many minutes.
MESSAGE_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0)


class WorkerMetrics(dramatiq.Middleware):
    """Counts messages as the broker's middleware; told of failures by ``observe`` (the failure
    policy calls it, since an input quarantined by the policy never reaches dramatiq as an error)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.messages = Counter("kartoteka_worker_messages", "messages processed", ["queue"], registry=registry)
        self.failures = Counter(
            "kartoteka_worker_failures", "failed attempts by error class and decision", ["queue", "reason", "decision"],
            registry=registry,
        )  # fmt: skip
        self.retries = Counter("kartoteka_worker_retries", "failed attempts retried", ["queue", "reason"], registry=registry)
        self.seconds = Histogram(
            "kartoteka_worker_message_seconds", "time per message", ["queue"], buckets=MESSAGE_BUCKETS, registry=registry
        )
        self.in_progress = Gauge(
            "kartoteka_worker_messages_in_progress", "messages being worked on", ["queue"],
            registry=registry, multiprocess_mode="livesum",
        )  # fmt: skip
        self._started: dict[str, float] = {}

    def observe(self, queue: str, error: BaseException, decision: str) -> None:
        """A failed attempt (``workers.broker.FailureObserver``)."""
        reason = type(error).__name__
        self.failures.labels(queue, reason, decision).inc()
        if decision == "retry":
            self.retries.labels(queue, reason).inc()

    def before_process_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self._started[message.message_id] = time.monotonic()
        self.in_progress.labels(message.queue_name).inc()

    def after_process_message(
        self, broker: dramatiq.Broker, message: MessageProxy, *, result: Any = None, exception: BaseException | None = None
    ) -> None:
        started = self._started.pop(message.message_id, None)
        if started is None:  # not counted in (a message skipped before processing)
            return
        queue = message.queue_name
        self.in_progress.labels(queue).dec()
        self.messages.labels(queue).inc()
        self.seconds.labels(queue).observe(time.monotonic() - started)

    def after_skip_message(self, broker: dramatiq.Broker, message: MessageProxy) -> None:
        self.after_process_message(broker, message)


@dataclass
class MetricsServer:
    """The HTTP server of the metrics and the directory its processes count in."""

    directory: str
    server: Any

    def process_ended(self, pid: int) -> None:
        """Drop the in-progress gauge of a process that died (its counters stay)."""
        multiprocess.mark_process_dead(pid, self.directory)  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self.server.shutdown()
        shutil.rmtree(self.directory, ignore_errors=True)


def serve_worker_metrics(host: str, port: int) -> MetricsServer:
    """Switch this process and the workers it forks to multiprocess counting and serve the sum
    on ``host``:``port`` (a thread of this process). Call before any WorkerMetrics is made."""
    directory = tempfile.mkdtemp(prefix="kartoteka-worker-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    # prometheus_client picks its value class when first imported; pick again now that the
    # directory is set (this is its own function for that choice).
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    server, _thread = start_http_server(port, addr=host, registry=registry)
    return MetricsServer(directory, server)
