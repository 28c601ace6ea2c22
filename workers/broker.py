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
from typing import Any, Literal

import dramatiq
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import CurrentMessage

from ingest import reasons
from ingest.errors import ConfigurationError, PermanentError, TransientError
from app import housekeeping, pipeline
from app.services import Services
from app.settings import BROKER_SCHEMES

log = logging.getLogger(__name__)

#: One document may take long (a 300-page PDF): the limit is per message, in milliseconds.
TIME_LIMIT_MS = 6 * 60 * 60 * 1000

#: The queues of the distributed mode, one per stage, so recognition scales apart from the rest.
#: ``process`` is the embedded mode's queue (``kartoteka run``: both stages in one call).
OCR_QUEUE, ARCHIVE_QUEUE, PROCESS_QUEUE = "ocr", "archive", "process"
QUEUES = (OCR_QUEUE, ARCHIVE_QUEUE, PROCESS_QUEUE)

#: RabbitMQ message priorities (``broker_priority``; queues declared with ``x-max-priority``):
#: a single upload or a one-file batch goes before the files of a larger batch, and a
#: registration before new recognition. Redis has no priorities: its queues are first in,
#: first out, whatever the priority (dramatiq's RedisBroker ignores the option).
MAX_PRIORITY = 9
PRIORITY_URGENT, PRIORITY_BATCH, PRIORITY_REGISTER = 5, 1, 7
#: A killed worker's unacknowledged Redis messages go back to their queue once its heartbeat
#: is this old (RabbitMQ redelivers at once, when the connection drops).
REDIS_HEARTBEAT_MS = 20_000
#: Redis queue maintenance (which requeues those messages) runs on this many commands per million.
REDIS_MAINTENANCE_CHANCE = 50_000


def priority_for(batch_size: int) -> int:
    return PRIORITY_URGENT if batch_size <= 1 else PRIORITY_BATCH


Action = Literal["retry", "quarantine", "raise"]


@dataclass(frozen=True)
class Policy:
    """What happens to a message whose step raised an error of a class: ``retry`` it up to
    ``max_retries`` times with a backoff, and once they are spent ``then``: ``quarantine`` the
    input with the error as its reason, or ``raise`` (drop the message: the input stays pending
    and the recovery sweep sends it again later)."""

    action: Action
    max_retries: int = 0
    then: Action = "raise"
    #: retries logged at INFO: expected in normal work (a group another worker is on)
    quiet: bool = False


#: The failure policy, most specific class first. TransientError: a catalog, broker or index
#: that did not answer, a lock held, an engine that could not run. PermanentError: bad input
#: (the pipeline records most as a quarantined outcome itself; what reaches here is quarantined).
FAILURE_POLICY: dict[type[BaseException], Policy] = {
    pipeline.PageTimedOut: Policy("retry", max_retries=1, then="quarantine"),
    pipeline.RecognitionIncomplete: Policy("retry", max_retries=5, then="quarantine"),
    pipeline.GroupBusy: Policy("retry", max_retries=10, then="raise", quiet=True),
    TransientError: Policy("retry", max_retries=10, then="raise"),
    PermanentError: Policy("quarantine"),
}
#: Errors outside the table (bugs, OSError): retried a few times, then left to the sweep.
DEFAULT_POLICY = Policy("retry", max_retries=3, then="raise")
#: The backoff between retries (dramatiq's Retries: exponential from min to max, with jitter).
MIN_BACKOFF_MS, MAX_BACKOFF_MS = 1_000, 60_000


def policy_for(error: BaseException) -> Policy:
    if isinstance(error, dramatiq.Retry) and error.__cause__ is not None:
        error = error.__cause__  # a retry we asked for (``_apply_policy``): its cause's policy
    for cls in type(error).__mro__:
        if cls in FAILURE_POLICY:
            return FAILURE_POLICY[cls]
    return DEFAULT_POLICY


def retry_when(retries: int, error: BaseException) -> bool:
    """dramatiq's ``retry_when`` from the table: retry while the policy allows it."""
    policy = policy_for(error)
    return policy.action == "retry" and retries < policy.max_retries


def actor_options() -> dict[str, Any]:
    """The options of every actor, built from the failure policy."""
    return {
        "retry_when": retry_when,
        "min_backoff": MIN_BACKOFF_MS,
        "max_backoff": MAX_BACKOFF_MS,
        "time_limit": TIME_LIMIT_MS,
        "throws": tuple(cls for cls, p in FAILURE_POLICY.items() if p.action != "retry"),
    }


#: Seconds a worker thread gets to notice its recognition was cut off when a worker stops.
STOP_JOIN_SECONDS = 60.0


def make_broker(url: str | None) -> dramatiq.Broker:
    """In-process (no URL), Redis (redis://) or RabbitMQ (amqp://)."""
    if not url:
        broker: dramatiq.Broker = StubBroker()
        broker.emit_after("process_boot")
    elif url.startswith(("redis://", "rediss://", "unix://")):
        from dramatiq.brokers.redis import RedisBroker

        broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=url, heartbeat_timeout=REDIS_HEARTBEAT_MS, maintenance_chance=REDIS_MAINTENANCE_CHANCE
        )
    elif url.startswith(("amqp://", "amqps://")):
        from dramatiq.brokers.rabbitmq import RabbitmqBroker

        broker = RabbitmqBroker(url=url, max_priority=MAX_PRIORITY)
    else:
        raise ConfigurationError(f"broker URL {url!r}: use redis://, amqp:// or leave it empty for in-process")
    broker.add_middleware(CurrentMessage())
    dramatiq.set_broker(broker)
    return broker


def check_broker(url: str | None, timeout: float = 2.0) -> None:
    """Raise TransientError unless the broker the URL names answers (in-process always does)."""
    if not url:
        return
    if not url.startswith(BROKER_SCHEMES):
        # A setting to fix (exit 3), not a broker to wait for (exit 4: a supervisor would restart forever).
        raise ConfigurationError(f"broker URL {_shown(url)}: use redis://, amqp:// or leave it empty for in-process")
    try:
        if url.startswith(("amqp://", "amqps://")):
            _check_rabbitmq(url, timeout)
        else:
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
    except ImportError as e:
        raise ConfigurationError(f"broker {_shown(url)}: its client library is not installed ({e.name})") from e
    except Exception as e:  # refused, timed out, unknown host: the broker is not there now
        raise TransientError(f"broker {_shown(url)} is unreachable: {_cause(e)}") from e


def _check_rabbitmq(url: str, timeout: float) -> None:
    """Connect once, with pika's own log lines held back (a refused connection wrote a dozen
    lines and a traceback before our one line)."""
    import logging

    import pika  # type: ignore[import-untyped,import-not-found,unused-ignore]

    nodes = [pika.URLParameters(u) for u in url.split(";")]  # dramatiq takes a list of nodes so
    for params in nodes:
        params.socket_timeout = params.blocked_connection_timeout = timeout
        params.connection_attempts = 1
    quiet = logging.getLogger("pika")
    level, quiet.level = quiet.level, logging.CRITICAL
    try:
        pika.BlockingConnection(nodes).close()  # the first node that answers
    finally:
        quiet.setLevel(level)


def _cause(e: BaseException) -> str:
    """The error's name and, where it says one, its reason («AMQPConnectionError» alone said nothing)."""
    for _ in range(5):  # pika wraps the socket's error as its first argument
        inner = e.__cause__ if e.__cause__ is not None else (e.args[0] if e.args else None)
        if not isinstance(inner, BaseException):
            break
        e = inner
    text = " ".join((str(e) or repr(e)).split())[:160]
    return f"{type(e).__name__}: {text}" if text and text != type(e).__name__ else type(e).__name__


def _shown(url: str) -> str:
    """The URL as messages and logs may show it: without its password."""
    from workers.preflight import redact

    return redact(url)


@dataclass(frozen=True)
class Sender:
    """Sends an input id to the recognition queue with the priority its batch's size gives."""

    actor: dramatiq.Actor  # type: ignore[type-arg]

    def send(self, input_id: str, *, batch_size: int = 1) -> dramatiq.Message:  # type: ignore[type-arg]
        return self.actor.send_with_options(args=(input_id,), broker_priority=priority_for(batch_size))


@dataclass(frozen=True)
class Actors:
    #: where new work goes: ``process.send(input_id)`` (the ``ocr`` queue, urgent by default)
    process: Sender
    #: the two stages of the distributed mode
    ocr: dramatiq.Actor  # type: ignore[type-arg]
    archive: dramatiq.Actor  # type: ignore[type-arg]
    #: both stages in one call (``kartoteka run``: pipeline.process_input on queue ``process``)
    whole: dramatiq.Actor  # type: ignore[type-arg]


#: Told of every failed attempt: (queue, the error, what the policy did: ``retry``,
#: ``quarantine`` or ``raise``). ``kartoteka worker --metrics-port`` counts them.
FailureObserver = Callable[[str, BaseException, Action], None]


def _ignore_failure(queue: str, error: BaseException, decision: Action) -> None:
    return None


def _retries() -> int:
    message = CurrentMessage.get_current_message()
    return 0 if message is None else int(message.options.get("retries", 0))


def _apply_policy(input_id: str, error: BaseException, services: Services, queue: str, observe: FailureObserver) -> None:
    """Re-raise ``error`` for dramatiq to retry or drop, or quarantine the input (the table).

    An expected error retried (TransientError, PageTimedOut) is logged here in one line and
    raised as ``dramatiq.Retry`` from it: dramatiq logs its own traceback for any other
    exception, which for a database restarting meant a screenful per message per attempt.
    """
    policy = policy_for(error)
    retries = _retries()
    if policy.action == "retry" and retries < policy.max_retries:
        observe(queue, error, "retry")
        if policy is DEFAULT_POLICY:  # unexpected: dramatiq logs the traceback
            raise error
        log.log(logging.INFO if policy.quiet else logging.WARNING,
                "%s: %s; retry %d of %d", input_id, error, retries + 1, policy.max_retries)  # fmt: skip
        raise dramatiq.Retry(str(error)) from error
    final = policy.then if policy.action == "retry" else policy.action
    observe(queue, error, final)
    if final != "quarantine":
        raise error
    stage = getattr(error, "stage", "") or "process"
    reason = str(error) if policy.action != "retry" else reasons.GAVE_UP % {"error": error, "times": policy.max_retries + 1}
    log.warning("quarantining %s: %s", input_id, reason)
    pipeline.quarantine_input(input_id, reason, stage, services)


def stop_worker(worker: dramatiq.Worker, services: Services, grace_ms: int) -> None:
    """Stop ``worker``: the messages in progress get ``grace_ms`` to finish; after that what is
    still being recognised is cut off (the OCR engine closed: its pages fail as transient, so
    their files stay pending and are done at the next start), and the worker's threads are
    waited for, so nothing runs on services being closed (that failed files for good).
    """
    worker.stop(timeout=grace_ms)
    busy = [t for t in worker.workers if t.is_alive()]
    if not busy:
        return
    log.warning("%d messages still in progress after %d s: stopping them; their files stay pending", len(busy), grace_ms // 1000)
    services.stop_recognition()
    deadline = time.monotonic() + STOP_JOIN_SECONDS
    for thread in busy:
        thread.join(timeout=max(0.0, deadline - time.monotonic()))


def declare_actors(
    broker: dramatiq.Broker,
    services: Services,
    on_done: Callable[[str], None] = lambda _id: None,
    observe: FailureObserver = _ignore_failure,
) -> Actors:
    """The actors on ``broker``: ``ocr`` (recognise, then send to ``archive``), ``archive``
    (register and finalise), and ``whole`` (both at once, the embedded mode). ``observe`` is
    told of each failed attempt of the two stages and what the failure policy did about it."""
    holder: list[dramatiq.Actor] = []  # type: ignore[type-arg]

    def recognise_input(input_id: str) -> None:
        try:
            lead = pipeline.recognise_input(input_id, services)
        except Exception as e:
            _apply_policy(input_id, e, services, OCR_QUEUE, observe)
            return
        if lead is not None:
            holder[1].send_with_options(args=(lead,), broker_priority=PRIORITY_REGISTER)

    def register_input(input_id: str) -> None:
        try:
            if not pipeline.register_input(input_id, services):
                log.warning("work area of %s is missing: recognising it again", input_id)
                holder[0].send_with_options(args=(input_id,), broker_priority=PRIORITY_BATCH)
        except Exception as e:
            _apply_policy(input_id, e, services, ARCHIVE_QUEUE, observe)
        finally:
            on_done(input_id)

    def process_input(input_id: str) -> None:
        try:
            pipeline.process_input(input_id, services)
        except Exception as e:
            _apply_policy(input_id, e, services, PROCESS_QUEUE, observe)
        finally:
            on_done(input_id)

    opts = actor_options()
    holder.append(dramatiq.actor(broker=broker, actor_name="recognise_input", queue_name=OCR_QUEUE, **opts)(recognise_input))
    holder.append(dramatiq.actor(broker=broker, actor_name="register_input", queue_name=ARCHIVE_QUEUE, **opts)(register_input))
    # The same failure policy (retry_when from the table); a longer backoff in-process.
    whole = dramatiq.actor(
        broker=broker, actor_name="process_input", queue_name=PROCESS_QUEUE,
        **{**opts, "min_backoff": 2_000, "max_backoff": 120_000},
    )(process_input)  # fmt: skip
    return Actors(process=Sender(holder[0]), ocr=holder[0], archive=holder[1], whole=whole)


class Dispatcher:
    """Sends input ids to the process actor, at most once per id while it is in flight.

    The recovery sweep calls ``sweep`` with every pending id in the catalog: ids sent by this
    process and not yet done are skipped unless they have waited longer than ``stale_after``
    (their message may have been lost with a broker).
    """

    def __init__(
        self,
        send: Callable[[str], object],
        stale_after: float = 900.0,
        clock: Callable[[], float] = time.monotonic,
        sized: Callable[[str, int], object] | None = None,
    ) -> None:
        self._send = send
        self._sized = sized
        self._stale_after = stale_after
        self._clock = clock
        self._sent: dict[str, float] = {}
        self._lock = threading.Lock()

    def enqueue(self, input_id: str, batch_size: int | None = None) -> bool:
        """Send ``input_id`` unless it is in flight; with ``batch_size``, through ``sized`` (the
        priority its batch's size gives)."""
        now = self._clock()
        with self._lock:
            sent = self._sent.get(input_id)
            if sent is not None and now - sent < self._stale_after:
                return False
            self._sent[input_id] = now
        try:
            if batch_size is not None and self._sized is not None:
                self._sized(input_id, batch_size)
            else:
                self._send(input_id)
        except Exception as e:
            # Not sent (the broker is down): not in flight either, so the next sweep sends it
            # again instead of waiting for it to go stale. The broker clients raise their own
            # connection errors; named transient here, so callers log one line, not a traceback.
            self.done(input_id)
            if isinstance(e, TransientError):
                raise
            raise TransientError(f"the broker did not take input {input_id}: {type(e).__name__}: {e}", stage="ingest") from e
        return True

    def done(self, input_id: str) -> None:
        with self._lock:
            self._sent.pop(input_id, None)

    def sweep(self, pending: Iterable[str]) -> int:
        """Send the pending ids not in flight; forget ids no longer pending (another process
        finished them: in the distributed mode ``done`` is never called in the sender)."""
        ids = list(pending)
        with self._lock:
            for gone in set(self._sent) - set(ids):
                del self._sent[gone]
        count = sum(1 for i in ids if self.enqueue(i))
        if count:
            log.info("recovery sweep re-enqueued %d unfinished inputs", count)
        return count

    @property
    def in_flight(self) -> int:
        with self._lock:
            return len(self._sent)


def recovery_sweep(dispatcher: Dispatcher, services: Services) -> None:
    """One recovery sweep: send the pending inputs again (those not in flight) and remove the
    lock files of groups finished long ago. A busy or unreachable catalog or broker skips it:
    the next sweep tries again."""
    try:
        dispatcher.sweep(pipeline.pending_ids(services))
        pruned = pipeline.prune_locks(services)
        if pruned:
            log.info("recovery sweep removed %d old lock files", pruned)
        left = {what: count for what, count in housekeeping.prune_leftovers(services).items() if count}
        if left:
            log.info("recovery sweep removed what crashed processes left: %s",
                     ", ".join(f"{count} {what}" for what, count in left.items()))  # fmt: skip
    except TransientError as e:
        log.warning("recovery sweep skipped: %s", e)
    except Exception as e:  # the broker's client raised (connection lost)
        log.warning("recovery sweep skipped: %s: %s", type(e).__name__, e)

