"""The webhook sender of a serving process (``kartoteka run``, ``kartoteka serve``):
``app.webhooks.WebhookSender`` in a daemon thread, stopped with the rest of the process.

One sender per catalog: the catalog hands out due deliveries without a lease, so two senders
could post the same delivery at the same time (a receiver that honours ``Idempotency-Key``
would ignore the second, but it should not have to). Two guards:

- processes on one machine (one data directory) take turns through a lock file,
  ``<data_dir>/webhooks-sender.lock`` (``flock``): one sends, the others stand by and take over
  within ``STANDBY_SECONDS`` when it exits;
- processes on several machines sharing one catalog (PostgreSQL) cannot see each other's lock:
  set ``KARTOTEKA_WEBHOOKS_SENDER=false`` in all but one of them.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from types import TracebackType

from app.services import Services
from app.webhooks import WebhookSender
from workers.api.metrics import Metrics

try:
    import fcntl
except ImportError:  # not on POSIX: only the setting guards
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "SenderLock", "start_sender"]

log = logging.getLogger(__name__)

LOCK_NAME = "webhooks-sender.lock"
#: How often a standing-by process tries the lock again.
STANDBY_SECONDS = 5.0


class SenderLock:
    """An exclusive, non-blocking ``flock`` on a file, released when closed (or the process dies)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # another process holds it
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> SenderLock:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.release()


def _send_while_holding(sender: WebhookSender, lock: SenderLock, stop: threading.Event) -> None:
    with lock:
        standing_by = False
        while not lock.acquire():
            if not standing_by:
                log.info("another process on %s sends webhooks; this one stands by", lock.path.parent)
                standing_by = True
            if stop.wait(STANDBY_SECONDS):
                return
        log.info("sending webhooks from this process")
        sender.run(stop)


def start_sender(services: Services, stop: threading.Event, metrics: Metrics | None = None) -> threading.Thread | None:
    """The sender's thread, started; None when ``webhooks_sender`` is off for this process.
    ``metrics`` counts the delivery attempts."""
    if not services.settings.webhooks_sender:
        log.info("webhooks are not sent from this process (KARTOTEKA_WEBHOOKS_SENDER=false)")
        return None
    sender = WebhookSender(services)
    if metrics is not None:
        sender.post = metrics.counting(sender.post)
    services.settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = SenderLock(services.settings.data_dir / LOCK_NAME)
    thread = threading.Thread(target=_send_while_holding, args=(sender, lock, stop), name="webhook-sender", daemon=True)
    thread.start()
    return thread
