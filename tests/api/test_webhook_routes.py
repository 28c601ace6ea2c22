"""Webhooks managed over HTTP: registered (the secret shown once), listed, disabled, their delivery
log paged; the serving process's sender thread posts signed deliveries, one process per data
directory at a time, and counts its attempts in ``/metrics``."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from app.webhooks import verify_signature
from tests.api.conftest import MakeApi, Running
from tests.app.test_webhooks import Receiver
from workers.api.metrics import app_metrics
from workers.api.sender import LOCK_NAME, SenderLock, start_sender

SECRET = "a secret of at least sixteen characters"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.server.shutdown()
    r.server.server_close()


def _until(check: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _accept_a_card(client: httpx.Client) -> str:
    """A card.changed event: a clerk's acceptance of the first card in the review queue."""
    card = client.get("/api/v1/review").json()["cards"][0]["card"]
    assert client.post(f"/api/v1/cards/{card}/accept").status_code == 200
    return str(card)


def test_an_administrator_registers_lists_and_disables_a_webhook(api: Running) -> None:
    with api.client("admin") as admin:
        created = admin.post("/api/v1/webhooks", json={"url": "https://edms.example.org/in", "topics": ["card.changed"]})
        assert created.status_code == 201, created.text
        hook, secret = created.json()["webhook"], created.json()["secret"]
        assert len(secret) >= 32 and hook["topics"] == ["card.changed"] and hook["disabled_at"] is None
        given = admin.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/x", "topics": ["file.quarantined"],
                                                     "secret": SECRET, "from_start": True})  # fmt: skip
        assert given.status_code == 201 and given.json()["secret"] == SECRET
        assert given.json()["webhook"]["cursor"] == "0"
        listed = admin.get("/api/v1/webhooks").json()
        assert [h["id"] for h in listed][-2:] == [hook["id"], given.json()["webhook"]["id"]]
        assert secret not in json.dumps(listed) and SECRET not in json.dumps(listed)
        disabled = admin.delete(f"/api/v1/webhooks/{hook['id']}")
        assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
        assert admin.delete(f"/api/v1/webhooks/{hook['id']}").json() == disabled.json()
        assert admin.delete("/api/v1/webhooks/none-such").json()["code"] == "webhook-not-found"
        assert admin.get("/api/v1/webhooks/none-such/deliveries").status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.org/x", "topics": ["card.changed"]},
        {"url": "http://[::1/x", "topics": ["card.changed"]},
        {"url": "http:///x", "topics": ["card.changed"]},
        {"url": "https://example.org/x", "topics": []},
        {"url": "https://example.org/x", "topics": ["card.exploded"]},
        {"url": "https://example.org/x", "topics": ["card.changed"], "secret": "short"},
    ],
)
def test_a_bad_webhook_is_refused_and_nothing_registered(api: Running, body: dict[str, object]) -> None:
    with api.client("admin") as admin:
        before = admin.get("/api/v1/webhooks").json()
        refused = admin.post("/api/v1/webhooks", json=body)
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
        assert admin.get("/api/v1/webhooks").json() == before


def test_the_sender_thread_posts_signed_deliveries_logged_and_counted(
    make_api: MakeApi, receiver: Receiver
) -> None:
    api = make_api()
    stop = threading.Event()
    thread = start_sender(api.app.state.services, stop, app_metrics(api.app))
    assert thread is not None
    try:
        with api.client("admin") as admin:
            hook = admin.post("/api/v1/webhooks", json={"url": receiver.url, "topics": ["card.changed"],
                                                        "secret": SECRET}).json()["webhook"]  # fmt: skip
            refused = admin.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/nobody-listens",
                                                           "topics": ["card.changed"]}).json()["webhook"]  # fmt: skip
            cards = [_accept_a_card(admin) for _ in range(2)]
            _until(lambda: len(receiver.got) == 2, "both delivered")
            log = f"/api/v1/webhooks/{hook['id']}/deliveries"
            first = admin.get(log, params={"limit": "1"}).json()
            second = admin.get(log, params={"limit": "1", "after": first["next_cursor"]}).json()
            last = admin.get(log, params={"limit": "1", "after": second["next_cursor"]}).json()
            failing = f"/api/v1/webhooks/{refused['id']}/deliveries"
            _until(lambda: all(d["attempts"] for d in admin.get(failing).json()["deliveries"]), "tried the other")
            failed = admin.get(failing).json()["deliveries"]
            metrics = admin.get("/metrics").text
    finally:
        stop.set()
        thread.join(15)
    assert not thread.is_alive()
    deliveries = first["deliveries"] + second["deliveries"]
    assert [(d["topic"], d["status"], d["attempts"], d["last_status"]) for d in deliveries] == [
        ("card.changed", "delivered", 1, 204)
    ] * 2
    assert last == {"deliveries": [], "next_cursor": None}
    assert [(d["status"], d["last_status"]) for d in failed] == [("pending", None)] * 2
    assert all(d["last_error"] and d["next_attempt_at"] for d in failed)
    assert [json.loads(body)["card"] for _, body in receiver.got] == cards
    for headers, body in receiver.got:
        assert verify_signature(SECRET, body, headers["Kartoteka-Signature"])
        assert headers["Idempotency-Key"] == f"{hook['id']}:{json.loads(body)['cursor']}"
    assert 'kartoteka_webhook_attempts_total{result="delivered"} 2.0' in metrics
    assert 'kartoteka_webhook_attempts_total{result="failed"} 2.0' in metrics


def test_one_sender_per_data_directory_the_others_stand_by(tmp_path: Path) -> None:
    first, second = SenderLock(tmp_path / LOCK_NAME), SenderLock(tmp_path / LOCK_NAME)
    assert first.acquire() and first.acquire()
    assert not second.acquire()
    first.release()
    assert second.acquire()
    second.release()


def test_a_process_configured_not_to_send_starts_no_sender(make_api: MakeApi) -> None:
    api = make_api({"memo": "СЛУЖЕБНАЯ ЗАПИСКА"}, webhooks_sender=False)
    assert start_sender(api.app.state.services, threading.Event()) is None
