"""``/metrics``: Prometheus's text format with the catalog's counts at scrape time, search latency
and requests by route; administrators only, unless the settings make it public."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import dramatiq
import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest import MakeApi, Running
from workers.broker import make_broker


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _scrape(client: httpx.Client) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = client.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain; version=0.0.4")
    return _samples(answer.text)


def test_metrics_count_files_cards_and_pages_from_the_catalog(api: Running) -> None:
    ledger = api.archive.cli("ledger")["files"]
    with api.client("admin") as admin:
        got = _scrape(admin)
    for outcome in ("pending", "archived", "duplicate", "quarantined"):
        expected = sum(1 for f in ledger if f["outcome"] == outcome)
        assert got[("kartoteka_files", (("outcome", outcome),))] == expected, outcome
    cards = len({f["card"] for f in ledger if f["outcome"] == "archived"})
    assert got[("kartoteka_up", ())] == 1
    assert got[("kartoteka_queue_depth", ())] == 0
    assert got[("kartoteka_cards", ())] == cards
    # the archive was built moments ago: every card counts as recent, one page each
    assert got[("kartoteka_cards_registered", (("window", "1h"),))] == cards
    assert got[("kartoteka_pages_per_minute", ())] == cards / 10
    assert {got[("kartoteka_webhook_deliveries", (("status", s),))] for s in ("pending", "delivered", "failed")} == {0}


def test_searches_are_timed_and_requests_counted_by_route(api: Running) -> None:
    with api.client("admin") as admin:
        before = _scrape(admin)
        for query in ("письмо", "поставка", "kind:memo"):
            assert admin.get("/api/v1/search", params={"q": query}).status_code == 200
        card = admin.get("/api/v1/cards").json()["cards"][0]["card"]
        assert admin.get(f"/api/v1/cards/{card}").status_code == 200
        assert admin.get("/api/v1/cards/none-such").status_code == 404
        assert admin.get("/no/such/path").status_code == 404
        after = _scrape(admin)

    def grew(name: str, *labels: tuple[str, str]) -> float:
        key = (name, tuple(sorted(labels)))
        return after.get(key, 0) - before.get(key, 0)

    assert grew("kartoteka_search_seconds_count") == 3
    assert grew("kartoteka_search_seconds_bucket", ("le", "+Inf")) == 3
    assert grew("kartoteka_search_seconds_sum") > 0
    card_route = ("route", "/api/v1/cards/{id_or_number}")
    assert grew("kartoteka_http_requests_total", card_route, ("method", "GET"), ("status", "200")) == 1
    assert grew("kartoteka_http_requests_total", card_route, ("method", "GET"), ("status", "404")) == 1
    assert grew("kartoteka_http_requests_total", ("route", "unmatched"), ("method", "GET"), ("status", "404")) == 1
    assert not any("none-such" in str(key) or "/no/such" in str(key) for key in after)


def test_metrics_need_an_administrator_unless_public(api: Running, make_api: MakeApi) -> None:
    with api.client() as anonymous, api.client("read") as reader:
        assert anonymous.get("/metrics").status_code == 401
        assert reader.get("/metrics").status_code == 403
    public = make_api({"memo": "СЛУЖЕБНАЯ ЗАПИСКА"}, metrics_public=True)
    with public.client() as anonymous, httpx.Client(base_url=public.url, headers={"Authorization": "Bearer wrong"}) as bad:
        assert _scrape(anonymous)[("kartoteka_files", (("outcome", "archived"),))] == 1
        assert bad.get("/metrics").status_code == 401


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_queue(redis_url: str) -> Iterator[dramatiq.Broker]:
    broker = make_broker(redis_url)
    broker.flush_all()
    yield broker
    broker.flush_all()
    broker.close()


def test_serve_reports_the_messages_in_each_broker_queue(make_api: MakeApi, redis_url: str, redis_queue: dramatiq.Broker) -> None:
    redis_queue.declare_queue("ocr")
    for i in range(3):
        redis_queue.enqueue(dramatiq.Message(queue_name="ocr", actor_name="recognise_input", args=(f"id-{i}",), kwargs={}, options={}))
    running = make_api(broker_url=redis_url, metrics_public=True)
    with running.client() as client:
        got = _samples(client.get("/metrics").text)
    assert got[("kartoteka_broker_up", ())] == 1
    assert got[("kartoteka_broker_messages", (("queue", "ocr"), ("state", "ready")))] == 3
    assert got[("kartoteka_broker_messages", (("queue", "archive"), ("state", "ready")))] == 0


def test_an_unreachable_broker_is_reported_and_the_scrape_still_answers(make_api: MakeApi) -> None:
    running = make_api(broker_url=f"redis://127.0.0.1:{_unused_port()}/0", metrics_public=True)
    with running.client() as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200
    got = _samples(answer.text)
    assert got[("kartoteka_broker_up", ())] == 0
    assert got[("kartoteka_up", ())] == 1  # the catalog still answered
