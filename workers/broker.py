"""The dramatiq broker from a URL, and the actors bound to it.

Actors are declared by a factory with an explicit broker and the process's services instead of
at import time, so no import order can bind them to dramatiq's default (RabbitMQ) broker and no
module holds the services. Messages carry input ids only; the actor bodies are one call into
app/pipeline.py.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import dramatiq
from dramatiq.brokers.stub import StubBroker

from ingest.errors import ConfigurationError, PermanentError, TransientError
from app import pipeline
from app.services import Services

log = logging.getLogger(__name__)

#: One document may take long (a 300-page PDF): the limit is per message, in milliseconds.
TIME_LIMIT_MS = 6 * 60 * 60 * 1000


def make_broker(url: str | None) -> dramatiq.Broker:
    """In-process (no URL), Redis (redis://) or RabbitMQ (amqp://)."""
    if not url:
        broker: dramatiq.Broker = StubBroker()
        broker.emit_after("process_boot")
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(url=url)  # type: ignore[no-untyped-call]
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url)
    else:
        raise ConfigurationError(f"broker URL {url!r}: use redis://, amqp:// or leave it empty for in-process")
    dramatiq.set_broker(broker)
    return broker


def check_broker(url: str | None, timeout: float = 2.0) -> None:
    """Raise TransientError unless the broker the URL names answers (in-process always does)."""
    if not url:
        return
    try:
        if url.startswith(("amqp://", "amqps://")):
            import pika  # type: ignore[import-untyped,import-not-found,unused-ignore]

            params = pika.URLParameters(url)
            params.socket_timeout = params.blocked_connection_timeout = timeout
            pika.BlockingConnection(params).close()
        else:
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
    except ImportError as e:
        raise ConfigurationError(f"broker {url!r}: its client library is not installed ({e.name})") from e
    except Exception as e:  # refused, timed out, unknown host: the broker is not there now
        raise TransientError(f"broker {url!r} is unreachable: {type(e).__name__}: {e}") from e


@dataclass(frozen=True)
class Actors:
    process: dramatiq.Actor  # type: ignore[type-arg]


def declare_actors(
    broker: dramatiq.Broker, services: Services, on_done: Callable[[str], None] = lambda _id: None
) -> Actors:
    def process_input(input_id: str) -> None:
        try:
            pipeline.process_input(input_id, services)
        finally:
            on_done(input_id)

    process = dramatiq.actor(
        broker=broker,
        actor_name="process_input",
        queue_name="process",
        max_retries=5,
        min_backoff=2_000,
        max_backoff=120_000,
        time_limit=TIME_LIMIT_MS,
        throws=(PermanentError,),
    )(process_input)
    return Actors(process=process)


class Dispatcher:
    """Sends input ids to the process actor, at most once per id while it is in flight.

    The recovery sweep calls ``sweep`` with every pending id in the catalog: ids sent by this
    process and not yet done are skipped unless they have waited longer than ``stale_after``
    (their message may have been lost with a broker).
    """

    def __init__(self, send: Callable[[str], object], stale_after: float = 900.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._send = send
        self._stale_after = stale_after
        self._clock = clock
        self._sent: dict[str, float] = {}
        self._lock = threading.Lock()

    def enqueue(self, input_id: str) -> bool:
        now = self._clock()
        with self._lock:
            sent = self._sent.get(input_id)
            if sent is not None and now - sent < self._stale_after:
                return False
            self._sent[input_id] = now
        self._send(input_id)
        return True

    def done(self, input_id: str) -> None:
        with self._lock:
            self._sent.pop(input_id, None)

    def sweep(self, pending: Iterable[str]) -> int:
        count = sum(1 for i in pending if self.enqueue(i))
        if count:
            log.info("recovery sweep re-enqueued %d unfinished inputs", count)
        return count

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._sent)
