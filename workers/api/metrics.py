"""Prometheus metrics of one app, in a registry of its own (never the process-global one, so two
apps in one process, as in the tests, count apart).

Read from the catalog at each scrape (``app.status``, a few COUNT queries):

    kartoteka_up                          1 when the catalog answered this scrape's queries
    kartoteka_files{outcome}              input files in the ledger by outcome
    kartoteka_queue_depth                 input files waiting to be processed (pending)
    kartoteka_cards                       cards in the archive
    kartoteka_cards_registered{window}    cards registered in the last 1m / 1h
    kartoteka_pages_per_minute            pages of the cards registered in the last 10 minutes, per minute

Read from the broker at each scrape (distributed mode; nothing in-process):

    kartoteka_broker_up                   1 when the broker answered this scrape
    kartoteka_broker_messages{queue,state}  messages in each stage queue: ready, delayed
                                          (waiting for a retry's backoff), dead (given up)

Each ``kartoteka worker --metrics-port`` serves what happens inside the workers (failures by
reason, retries, time per message): workers/worker_metrics.py.

Counted by this process since it started:

    kartoteka_http_requests_total{route,method,status}   requests answered, by route template
    kartoteka_search_seconds                              search latency (GET /api/v1/search), a histogram
    kartoteka_webhook_attempts_total{result}              delivery attempts (delivered / failed) of this process's sender
    kartoteka_webhook_deliveries{status}                  all webhook deliveries by status (pending, delivered, failed)
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from prometheus_client.registry import Collector

from app.status import PAGES_WINDOW, status
from app.webhooks import Post
from ingest.errors import TransientError
from workers.api.deps import get_services_of

__all__ = ["CONTENT_TYPE", "Metrics", "app_metrics"]

log = logging.getLogger(__name__)

#: The text exposition format 0.0.4, which every Prometheus reads.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
#: Seconds; a search at 100k cards answers in tens of milliseconds (bench/).
SEARCH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: The route label of a request no route matched (so unknown paths cannot grow the label set).
UNMATCHED = "unmatched"
#: Methods counted by name; any other is counted as OTHER (the label set stays bounded).
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER = "other"


class StatusCollector(Collector):
    """Gauges from ``app.status.status`` at scrape time."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        try:
            now = status(get_services_of(self.app))
        except Exception as e:  # the catalog is busy or down: say so rather than fail the scrape
            log.warning("metrics: the catalog did not answer: %s", e)
            yield GaugeMetricFamily("kartoteka_up", "1 when the catalog answered this scrape's queries", value=0)
            return
        yield GaugeMetricFamily("kartoteka_up", "1 when the catalog answered this scrape's queries", value=1)
        files = GaugeMetricFamily("kartoteka_files", "Input files in the ledger by outcome", labels=["outcome"])
        for outcome, count in now.outcomes.items():
            files.add_metric([outcome], count)
        yield files
        yield GaugeMetricFamily("kartoteka_queue_depth", "Input files waiting to be processed", value=now.pending)
        yield GaugeMetricFamily("kartoteka_cards", "Cards in the archive", value=now.cards)
        recent = GaugeMetricFamily("kartoteka_cards_registered", "Cards registered in the last window", labels=["window"])
        recent.add_metric(["1m"], now.cards_last_minute)
        recent.add_metric(["1h"], now.cards_last_hour)
        yield recent
        deliveries = GaugeMetricFamily(
            "kartoteka_webhook_deliveries", "Webhook deliveries by status (failed: given up after a day)", labels=["status"]
        )
        for state, count in now.deliveries.items():
            deliveries.add_metric([state], count)
        yield deliveries
        minutes = int(PAGES_WINDOW.total_seconds() // 60)
        yield GaugeMetricFamily(
            "kartoteka_pages_per_minute", f"Pages recognised per minute over the last {minutes} minutes",
            value=now.pages_per_minute,
        )  # fmt: skip


class BrokerCollector(Collector):
    """Gauges of the broker's queues at scrape time (a few Redis LLENs or passive declares)."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    def collect(self) -> Iterator[Metric]:
        from workers.status_command import STAGE_QUEUES, queue_depths

        url = get_services_of(self.app).settings.broker_url
        if not url:
            return
        up = "1 when the broker answered this scrape"
        try:
            depths = queue_depths(url, STAGE_QUEUES)
        except TransientError as e:
            log.warning("metrics: %s", e)
            yield GaugeMetricFamily("kartoteka_broker_up", up, value=0)
            return
        yield GaugeMetricFamily("kartoteka_broker_up", up, value=1)
        messages = GaugeMetricFamily(
            "kartoteka_broker_messages", "Messages in each queue: ready, delayed (retry backoff), dead", labels=["queue", "state"]
        )
        for depth in depths:
            for state in ("ready", "delayed", "dead"):
                count = getattr(depth, state)
                if count is not None:
                    messages.add_metric([depth.queue, state], count)
        yield messages


class Metrics:
    """The registry of one app and the metrics its requests and its webhook sender count."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._templates: dict[int, str] | None = None
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "kartoteka_http_requests", "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"], registry=self.registry,
        )  # fmt: skip
        self.search_seconds = Histogram(
            "kartoteka_search_seconds", "Seconds to answer GET /api/v1/search", buckets=SEARCH_BUCKETS,
            registry=self.registry,
        )  # fmt: skip
        self.webhook_attempts = Counter(
            "kartoteka_webhook_attempts", "Webhook delivery attempts by this process, by result", ["result"],
            registry=self.registry,
        )  # fmt: skip
        for result in ("delivered", "failed"):
            self.webhook_attempts.labels(result)
        self.registry.register(StatusCollector(app))
        self.registry.register(BrokerCollector(app))

    def template(self, route: object) -> str:
        """The full path template (``/api/v1/cards/{id_or_number}``) of the route a request
        matched; UNMATCHED for none. (A route included with a prefix knows only its own part.)"""
        if self._templates is None:
            contexts = iter_route_contexts(self.app.routes)
            self._templates = {id(c.original_route): c.path_format for c in contexts if c.path_format is not None}
        return self._templates.get(id(route), UNMATCHED) if route is not None else UNMATCHED

    def request(self, route: object, method: str, status: int) -> None:
        """Count a request: ``route`` is the one it matched (the ASGI scope's ``route``), or None."""
        method = method if method in METHODS else OTHER
        self.requests.labels(self.template(route), method, str(status)).inc()

    def counting(self, post: Post) -> Post:
        """``post`` that counts each attempt as delivered (2xx) or failed (any other status, or
        an error reaching the receiver)."""

        def counted(url: str, body: bytes, headers: dict[str, str]) -> int:
            try:
                answer = post(url, body, headers)
            except Exception:
                self.webhook_attempts.labels("failed").inc()
                raise
            self.webhook_attempts.labels("delivered" if 200 <= answer < 300 else "failed").inc()
            return answer

        return counted

    def render(self) -> bytes:
        return generate_latest(self.registry)


def app_metrics(app: FastAPI) -> Metrics:
    """The metrics ``create_app`` gave ``app``."""
    metrics = getattr(app.state, "metrics", None)
    if not isinstance(metrics, Metrics):
        raise RuntimeError("the app has no metrics: was it made by create_app?")
    return metrics
