"""Reading the archive over HTTP gives exactly what the command line's ``--json`` prints."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.api.conftest import Archive, Running


def _number(archive: Archive, key: str) -> str:
    ledger = archive.cli("ledger")["files"]
    (entry,) = [f for f in ledger if f["path"].endswith(f"/morning/{key}.png")]
    return str(entry["registration_number"])


def test_the_process_answers_health_and_ready_without_credentials(api: Running) -> None:
    with api.client() as client:
        assert client.get("/health").json() == {"status": "ok"}
        ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"catalog": "ok", "index": "ok"}}


def test_a_card_by_number_or_id_is_the_cli_card_json_with_an_etag(api: Running) -> None:
    number = _number(api.archive, "invoice")
    expected = api.archive.cli("card", number)
    with api.client("read") as client:
        by_number = client.get(f"/api/v1/cards/{quote(number)}")
        by_id = client.get(f"/api/v1/cards/{expected['id']}")
    assert by_number.status_code == 200, by_number.text
    assert by_number.headers["content-type"] == "application/json"
    assert by_number.json() == expected
    assert by_id.json() == expected
    assert by_number.headers["ETag"] == f'"v{expected["version"]}"' == by_id.headers["ETag"]


@pytest.mark.parametrize(
    ("query", "options"),
    [
        ("поставка", {}),
        ("счёт", {"facets": "true"}),
        ('"служебная записка"', {"sort": "newest"}),
        ("письмо", {"per_page": "3", "page": "2"}),
        ("", {"status": "needs review"}),
        ("закупке", {"from": "2000-01-01", "to": "2100-12-31", "journal": "ВХ"}),
        ("kind:payment_invoice registered:2026", {}),
        ("служебная записка вертолёта", {}),  # a word no card has: left out, named in "missing"
    ],
)
def test_search_is_the_cli_search_json(api: Running, query: str, options: dict[str, str]) -> None:
    flags = [f"--{k.replace('_', '-')}" + ("" if v == "true" else f"={v}") for k, v in options.items()]
    expected = api.archive.cli("search", *([query] if query else []), *flags)
    with api.client("read") as client:
        answer = client.get("/api/v1/search", params={"q": query, **options})
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected
    if "вертолёта" in query:
        assert expected["missing"] == ["вертолета"] and expected["total"] >= 1


def test_a_search_finds_what_was_ingested_with_highlights(api: Running) -> None:
    with api.client("read") as client:
        found = client.get("/api/v1/search", params={"q": "служебная записка"}).json()
    assert found["total"] == 1
    (hit,) = found["hits"]
    assert hit["registration_number"] == _number(api.archive, "memo")
    assert any("<mark>" in h["snippet"] for h in hit["highlights"])


@pytest.mark.parametrize("options", [{}, {"outcome": "quarantined"}, {"limit": "3"}])
def test_the_ledger_is_the_cli_ledger_json(api: Running, options: dict[str, str]) -> None:
    expected = api.archive.cli("ledger", *[f"--{k}={v}" for k, v in options.items()])
    with api.client("read") as client:
        answer = client.get("/api/v1/ledger", params={"limit": "1000", **options})
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected


def test_the_ledger_pages_with_its_cursor_to_every_file_once(api: Running) -> None:
    everything = api.archive.cli("ledger")["files"]
    seen: list[dict[str, object]] = []
    params: dict[str, str] = {"limit": "4"}
    with api.client("read") as client:
        while True:
            page = client.get("/api/v1/ledger", params=params).json()
            seen += page["files"]
            if page["next_cursor"] is None:
                break
            params["after"] = page["next_cursor"]
    assert seen == everything
    assert {f["outcome"] for f in seen} == {"archived", "duplicate", "quarantined"}


def test_batches_are_listed_and_fetched_one_by_one(api: Running) -> None:
    with api.client("read") as client:
        batches = client.get("/api/v1/batches").json()
        assert [b["name"] for b in batches["batches"]] == ["morning", "later"]
        later = batches["batches"][1]
        assert later["counts"]["duplicate"] == 1 and later["counts"]["quarantined"] == 1
        one = client.get(f"/api/v1/batches/{later['batch']}").json()
        cards = one.pop("cards")
        assert one == later and len(cards) == later["counts"]["archived"]  # one batch's page lists its cards


def test_the_review_queue_is_the_cli_review_list_json(api: Running) -> None:
    expected = api.archive.cli("review", "list")
    with api.client("clerk") as client:
        answer = client.get("/api/v1/review")
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected
    assert expected["total"] >= 1
