"""Webhooks against a real HTTP receiver on loopback: signed, each event once, retried while the
receiver is down, and ingestion never waits for them."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from app.webhooks import WebhookSender, backoff, register_webhook, sign, verify_signature
from archive.errors import InvalidChange
from tests.app.conftest import MakeRig

SECRET = "s3cret-for-tests"


class Receiver:
    """A receiver on 127.0.0.1 that can be down (503), hanging, or up; it records what it got."""

    def __init__(self) -> None:
        self.mode = "up"
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.mode == "hang":
                    time.sleep(3)
                if outer.mode in ("down", "hang"):
                    self.send_response(503)
                    self.end_headers()
                    return
                with outer.lock:
                    outer.got.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _ingest(rig, tmp_path: Path, keys: list[str]) -> None:  # type: ignore[no-untyped-def]
    from app.intake import ingest_paths

    paths = [rig.drop(f"{k}.png", [k], folder=tmp_path / "in") for k in keys]
    report = ingest_paths(rig.services, paths)
    assert {r.outcome for r in report.files} == {"archived"}, report


def test_a_receiver_down_then_up_gets_each_event_once_signed(make_rig: MakeRig, receiver: Receiver, tmp_path: Path) -> None:
    rig = make_rig({"a": "Первый документ", "b": "Второй документ", "c": "Третий документ"})
    register_webhook(rig.services, receiver.url, ["card.registered"], secret=SECRET)
    sender = WebhookSender(rig.services, first_backoff=0.05)
    receiver.mode = "down"
    _ingest(rig, tmp_path, ["a", "b", "c"])
    assert sender.step() == 3 and receiver.got == []
    (hook,) = rig.services.catalog.list_webhooks()
    log = rig.services.catalog.deliveries(hook.id)
    assert [(d.status, d.attempts, d.last_status) for d in log] == [("pending", 1, 503)] * 3

    receiver.mode = "up"
    deadline = time.monotonic() + 10
    while len(receiver.got) < 3 and time.monotonic() < deadline:
        sender.step()
        time.sleep(0.05)
    for _ in range(3):  # nothing is delivered twice once it went through
        sender.step()
    keys = [h["Idempotency-Key"] for h, _ in receiver.got]
    assert len(keys) == 3 and len(set(keys)) == 3
    numbers = sorted(json.loads(body)["registration_number"] for _, body in receiver.got)
    assert numbers == sorted(c.card.registration_number for c in rig.cards())
    for headers, body in receiver.got:
        assert headers["Kartoteka-Event"] == "card.registered"
        assert verify_signature(SECRET, body, headers["Kartoteka-Signature"])
        assert not verify_signature("another secret", body, headers["Kartoteka-Signature"])
    assert {d.status for d in rig.services.catalog.deliveries(hook.id)} == {"delivered"}


def test_ingestion_does_not_wait_for_a_hanging_receiver(make_rig: MakeRig, receiver: Receiver, tmp_path: Path) -> None:
    rig = make_rig({k: f"Документ {k}" for k in "abcd"})
    register_webhook(rig.services, receiver.url, ["card.registered", "card.changed"], secret=SECRET)
    receiver.mode = "hang"
    stop = threading.Event()
    sender = threading.Thread(target=WebhookSender(rig.services, idle_seconds=0.05).run, args=(stop,), daemon=True)
    sender.start()
    try:
        _ingest(rig, tmp_path, ["a", "b"])
        time.sleep(0.3)  # the sender is now stuck in its first request to the hanging receiver
        _ingest(rig, tmp_path, ["c", "d"])
        assert len(rig.cards()) == 4
        (hook,) = rig.services.catalog.list_webhooks()
        assert not any(d.status == "delivered" for d in rig.services.catalog.deliveries(hook.id))
    finally:
        stop.set()
        sender.join(10)


def test_a_delivery_older_than_a_day_is_failed_for_good(make_rig: MakeRig, receiver: Receiver, tmp_path: Path) -> None:
    rig = make_rig({"a": "Документ"})
    register_webhook(rig.services, receiver.url, ["card.registered"], secret=SECRET)
    receiver.mode = "down"
    _ingest(rig, tmp_path, ["a"])
    sender = WebhookSender(rig.services, max_age=timedelta(seconds=5))  # the next try (10 s) is too late
    sender.step()
    (hook,) = rig.services.catalog.list_webhooks()
    (delivery,) = rig.services.catalog.deliveries(hook.id)
    assert delivery.status == "failed" and delivery.attempts == 1 and delivery.last_error == "HTTP 503"


def test_signatures_and_backoff() -> None:
    header = sign("k", b"{}", 1_700_000_000)
    assert verify_signature("k", b"{}", header, now=1_700_000_100)
    assert not verify_signature("k", b"{}", header, now=1_700_001_000)  # a replay, too old
    assert not verify_signature("k", b"{ }", header, now=1_700_000_100)  # the body was changed
    assert not verify_signature("k", b"{}", "v1=abc", now=1_700_000_100)
    assert not verify_signature("k", b"{}", "t=1700000000,v1=ä", now=1_700_000_100)  # refused, not a TypeError
    assert [backoff(n) for n in (1, 2, 3)] == [10.0, 20.0, 40.0] and backoff(30) == 3600.0


def test_a_webhook_needs_an_http_url_and_a_topic(make_rig: MakeRig) -> None:
    rig = make_rig({})
    with pytest.raises(InvalidChange):
        register_webhook(rig.services, "file:///etc/passwd", ["card.registered"])
    with pytest.raises(InvalidChange):
        register_webhook(rig.services, "http://127.0.0.1:1/x", [])


def test_a_slow_receiver_holds_up_only_its_own_deliveries(make_rig: MakeRig, tmp_path: Path) -> None:
    """Every due delivery was posted one after another on one thread: a receiver that timed out
    delayed every other receiver by a timeout per delivery of its own."""
    rig = make_rig({k: f"Документ {k}" for k in "abc"})
    register_webhook(rig.services, "http://fast.example/hook", ["card.registered"], secret=SECRET)
    register_webhook(rig.services, "http://slow.example/hook", ["card.registered"], secret=SECRET)
    _ingest(rig, tmp_path, ["a", "b", "c"])
    posted: list[tuple[str, float]] = []
    started = time.monotonic()

    def post(url: str, body: bytes, headers: dict[str, str]) -> int:
        if "slow" in url:
            time.sleep(2.5)  # then a timeout, as httpx raises it
            raise TimeoutError("read timed out")
        posted.append((url, time.monotonic() - started))
        return 200

    sender = WebhookSender(rig.services, post=post, first_backoff=60)
    assert sender.step() == 6
    assert [u for u, _ in posted] == ["http://fast.example/hook"] * 3
    assert max(t for _, t in posted) < 2.0, posted  # not after the slow receiver's timeout
    hooks = {h.url: h for h in rig.services.catalog.list_webhooks()}
    slow = rig.services.catalog.deliveries(hooks["http://slow.example/hook"].id)
    assert sorted(d.attempts for d in slow) == [0, 0, 1]  # one timeout, the rest wait for the next round
    assert {d.status for d in rig.services.catalog.deliveries(hooks["http://fast.example/hook"].id)} == {"delivered"}
