"""``kartoteka status``: the queues and their depth, the processes seen recently, pending inputs.

- **Queues**: on Redis, the lengths of dramatiq's keys (``dramatiq:<queue>`` ready,
  ``dramatiq:<queue>.DQ`` delayed, ``dramatiq:<queue>.XQ`` dead); on RabbitMQ, the message counts
  of a passive ``queue_declare`` of ``<queue>``, ``<queue>.DQ`` and ``<queue>.XQ``; in-process,
  nothing to count. The queues are the stage queues, those the live processes say they consume,
  and on Redis any other dramatiq queue holding messages.
- **Processes**: dramatiq keeps no registry of workers, so each process writes a heartbeat:
  ``DATA_DIR/workers/<host>-<pid>.json`` rewritten every ``HEARTBEAT_EVERY_S`` seconds by
  ``heartbeat(settings, role, queues)`` (a thread; ``kartoteka watch`` and ``kartoteka worker``
  start one, or add ``HeartbeatMiddleware`` to the broker) and removed when it stops. Those
  written in the last ``SEEN_WITHIN_S`` seconds are listed. The data directory is shared by the
  hosts, so one ``kartoteka status`` sees every host (their clocks must agree: NTP).
- **Pending inputs**: the catalog's count (``app.status``) and the age of the oldest.

``--this-host`` (for container health checks) reads only the heartbeat files: exit status 0 if a
process of this host wrote one recently, 1 if none did.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import threading
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import dramatiq

from app.settings import Settings
from ingest.errors import TransientError
from workers.exitcodes import ExitCode
from workers.output import print_json
from workers.preflight import describe_error, redact

__all__ = [
    "HEARTBEAT_EVERY_S", "Heartbeat", "HeartbeatMiddleware", "ProcessSeen", "QueueDepth", "SEEN_WITHIN_S",
    "STAGE_QUEUES", "StatusReport", "add_parser", "collect_status", "heartbeat", "queue_depths",
    "render_text", "seen_processes",
]  # fmt: skip

log = logging.getLogger(__name__)

#: The queues of the distributed mode's stages, and the queue of ``kartoteka run``'s broker mode.
STAGE_QUEUES = ("ocr", "archive", "process")
HEARTBEAT_EVERY_S = 10.0
SEEN_WITHIN_S = 60.0
#: dramatiq's Redis key prefix (RedisBroker's default namespace).
REDIS_NAMESPACE = "dramatiq"
TIMEOUT_S = 3.0


@dataclass(frozen=True)
class QueueDepth:
    """Messages in one queue; None where the broker does not have that queue (yet)."""

    queue: str
    ready: int | None
    delayed: int | None
    dead: int | None


@dataclass(frozen=True)
class ProcessSeen:
    host: str
    pid: int
    role: str
    queues: tuple[str, ...]
    started_at: datetime
    seen_at: datetime
    age_seconds: float


@dataclass(frozen=True)
class StatusReport:
    at: datetime
    #: the broker URL, password hidden, or "in-process"
    broker: str
    queues: tuple[QueueDepth, ...]
    processes: tuple[ProcessSeen, ...]
    pending: int
    oldest_pending_age_seconds: float | None
    stale_heartbeats: int = 0

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        for p in out["processes"]:
            p["started_at"], p["seen_at"] = p["started_at"].isoformat(), p["seen_at"].isoformat()
            p["queues"] = list(p["queues"])
        return out


# --- heartbeats -------------------------------------------------------------------------------


def heartbeat_dir(settings: Settings) -> Path:
    return settings.data_dir / "workers"


@dataclass
class Heartbeat:
    """A thread rewriting this process's heartbeat file until ``stop`` (which removes it)."""

    path: Path
    record: dict[str, Any]
    every: float = HEARTBEAT_EVERY_S
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)
    _thread: threading.Thread | None = field(default=None, repr=False)

    def beat(self) -> None:
        self.record["seen_at"] = datetime.now(timezone.utc).isoformat()
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(self.record), encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as e:  # a full or unmounted share must not stop the work
            log.warning("could not write the heartbeat %s: %s", self.path, e)

    def start(self) -> Heartbeat:
        self.beat()
        self._thread = threading.Thread(target=self._run, name="kartoteka-heartbeat", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.beat()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.path.unlink(missing_ok=True)


def heartbeat(settings: Settings, role: str, queues: Sequence[str] = (), every: float = HEARTBEAT_EVERY_S) -> Heartbeat:
    """Start this process's heartbeat (``role``: "watch", "worker", "serve"); call ``stop`` at exit."""
    host, pid = socket.gethostname(), os.getpid()
    now = datetime.now(timezone.utc).isoformat()
    record = {"host": host, "pid": pid, "role": role, "queues": list(queues), "started_at": now}
    return Heartbeat(heartbeat_dir(settings) / f"{host}-{pid}.json", record, every).start()


class HeartbeatMiddleware(dramatiq.Middleware):
    """The heartbeat of each dramatiq worker process, from its boot to its shutdown."""

    def __init__(self, settings: Settings, role: str = "worker", queues: Sequence[str] = ()) -> None:
        self.settings, self.role, self.queues = settings, role, tuple(queues)
        self._beat: Heartbeat | None = None

    def after_worker_boot(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        self._beat = heartbeat(self.settings, self.role, self.queues)

    def before_worker_shutdown(self, broker: dramatiq.Broker, worker: dramatiq.Worker) -> None:
        if self._beat is not None:
            self._beat.stop()


def _read_heartbeat(path: Path, now: datetime) -> ProcessSeen | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        seen = datetime.fromisoformat(data["seen_at"])
        return ProcessSeen(
            host=str(data["host"]), pid=int(data["pid"]), role=str(data["role"]),
            queues=tuple(str(q) for q in data.get("queues", ())),
            started_at=datetime.fromisoformat(data["started_at"]), seen_at=seen,
            age_seconds=max(0.0, (now - seen).total_seconds()),
        )  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError):  # removed meanwhile, or half-written by hand
        return None


def seen_processes(
    settings: Settings, within: float = SEEN_WITHIN_S, now: datetime | None = None
) -> tuple[list[ProcessSeen], int]:
    """Processes whose heartbeat is younger than ``within`` seconds (by host, pid), and how many
    older heartbeat files there are (processes killed without stopping)."""
    now = now or datetime.now(timezone.utc)
    found = [_read_heartbeat(p, now) for p in sorted(heartbeat_dir(settings).glob("*.json"))]
    live = [p for p in found if p is not None and p.age_seconds < within]
    stale = sum(1 for p in found if p is not None and p.age_seconds >= within)
    return sorted(live, key=lambda p: (p.host, p.pid)), stale


# --- queues -----------------------------------------------------------------------------------


def _redis_depths(url: str, queues: Iterable[str]) -> list[QueueDepth]:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_S, socket_timeout=TIMEOUT_S)
    try:
        names = set(queues)
        prefix = REDIS_NAMESPACE + ":"
        for key in client.scan_iter(match=prefix + "*", count=500):
            name = key.decode().removeprefix(prefix)
            if not name.startswith("__") and not name.endswith(".msgs"):
                names.add(name.removesuffix(".DQ").removesuffix(".XQ"))
        order = sorted(names)
        with client.pipeline(transaction=False) as pipe:
            for name in order:
                pipe.llen(prefix + name)
                pipe.llen(f"{prefix}{name}.DQ")
                pipe.zcard(f"{prefix}{name}.XQ")
            counts = pipe.execute()
        return [QueueDepth(name, *(int(n) for n in counts[3 * i : 3 * i + 3])) for i, name in enumerate(order)]
    finally:
        client.close()


def _rabbitmq_count(connection: Any, queue: str) -> int | None:
    import pika.exceptions  # type: ignore[import-untyped,import-not-found,unused-ignore]

    channel = connection.channel()
    try:
        return int(channel.queue_declare(queue=queue, passive=True).method.message_count)
    except pika.exceptions.ChannelClosedByBroker as e:
        if e.reply_code == 404:  # not declared: no process has used this queue yet
            return None
        raise
    finally:
        if channel.is_open:
            channel.close()


def _rabbitmq_depths(url: str, queues: Iterable[str]) -> list[QueueDepth]:
    import pika

    params = pika.URLParameters(url)
    params.socket_timeout = params.blocked_connection_timeout = TIMEOUT_S
    connection = pika.BlockingConnection(params)
    try:
        return [
            QueueDepth(q, *(_rabbitmq_count(connection, n) for n in (q, f"{q}.DQ", f"{q}.XQ"))) for q in sorted(set(queues))
        ]
    finally:
        connection.close()


def queue_depths(url: str | None, queues: Iterable[str]) -> list[QueueDepth]:
    """Depth of each queue (and, on Redis, of every other dramatiq queue there); [] in-process."""
    if not url:
        return []
    try:
        if url.startswith(("amqp://", "amqps://")):
            return _rabbitmq_depths(url, queues)
        return _redis_depths(url, queues)
    except Exception as e:  # refused, timed out: the broker is not there now
        raise TransientError(f"broker {redact(url)} is unreachable: {describe_error(e)}") from e


# --- the report -------------------------------------------------------------------------------


def _pending(settings: Settings) -> tuple[int, float | None]:
    from app.services import Services
    from app.status import status

    services = Services(settings)
    try:
        count = status(services).pending
        oldest = services.catalog.ledger(outcome="pending", limit=1)
        age = (services.catalog.now() - oldest[0].created_at).total_seconds() if oldest else None
        return count, age
    finally:
        services.close()


def collect_status(settings: Settings, queues: Sequence[str] = STAGE_QUEUES) -> StatusReport:
    """The queues, the processes seen in the last minute and the pending inputs, now."""
    processes, stale = seen_processes(settings)
    names = {*queues, *(q for p in processes for q in p.queues)}
    pending, oldest = _pending(settings)
    return StatusReport(
        at=datetime.now(timezone.utc),
        broker=redact(settings.broker_url) if settings.broker_url else "in-process",
        queues=tuple(queue_depths(settings.broker_url, names)),
        processes=tuple(processes),
        pending=pending,
        oldest_pending_age_seconds=oldest,
        stale_heartbeats=stale,
    )


def _age(seconds: float) -> str:
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def _count(n: int | None) -> str:
    return "-" if n is None else str(n)


def render_text(report: StatusReport) -> str:
    lines = [f"broker: {report.broker}"]
    if report.queues:
        lines.append(f"  {'queue':<16}{'ready':>8}{'delayed':>9}{'dead':>7}")
        for q in report.queues:
            lines.append(f"  {q.queue:<16}{_count(q.ready):>8}{_count(q.delayed):>9}{_count(q.dead):>7}")
    elif report.broker == "in-process":
        lines.append("  queues: in-process (inside each `kartoteka run`)")
    stale = f" ({report.stale_heartbeats} older heartbeats ignored)" if report.stale_heartbeats else ""
    lines.append(f"processes seen in the last {int(SEEN_WITHIN_S)} s: {len(report.processes)}{stale}")
    for p in report.processes:
        queues = f"  queues {','.join(p.queues)}" if p.queues else ""
        lines.append(f"  {p.role:<7} {p.host} pid {p.pid}{queues}  {_age(p.age_seconds)} ago")
    oldest = report.oldest_pending_age_seconds
    lines.append(f"pending inputs: {report.pending}" + (f" (oldest {_age(oldest)})" if oldest is not None else ""))
    return "\n".join(lines)


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("status", help="queues and their depth, processes seen recently, pending inputs")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument(
        "--this-host", action="store_true",
        help="only say whether a process of this host wrote its heartbeat recently (exit 0, else 1): a health check",
    )  # fmt: skip
    p.set_defaults(run=run_status)


def run_status(args: argparse.Namespace, settings: Settings) -> int:
    if args.this_host:
        host = socket.gethostname()
        alive = [p for p in seen_processes(settings)[0] if p.host == host]
        return ExitCode.OK if alive else ExitCode.BAD_INPUT
    report = collect_status(settings)
    if args.json:
        print_json(report.as_json())
    else:
        print(render_text(report))
    return ExitCode.OK
