"""Cards over HTTP: cursor paging that survives new cards, corrections guarded by ETag/If-Match,
acceptance, and the change feed (the same records as ``kartoteka export``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from app.intake import ingest_paths
from tests import scripted as S
from tests.api.conftest import MakeApi, Running
from tests.processes import EXE, clean_env


def _all_pages(client: httpx.Client, params: dict[str, str], between: Any = None) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []
    query = dict(params)
    while True:
        page = client.get("/api/v1/cards", params=query)
        assert page.status_code == 200, page.text
        body = page.json()
        cards += body["cards"]
        if body["next_cursor"] is None:
            return cards
        query["cursor"] = body["next_cursor"]
        if between is not None:
            between()


def _seconds(cards: list[dict[str, Any]]) -> list[str]:
    """Registration times to the second: the index sorts by them at that precision (ties in
    the order cards were indexed)."""
    return [str(c["registered_at"])[:19] for c in cards]


@pytest.mark.parametrize("sort", ["newest", "oldest"])
def test_cards_page_by_cursor_to_every_card_once_in_order(api: Running, sort: str) -> None:
    with api.client("read") as client:
        cards = _all_pages(client, {"limit": "5", "sort": sort})
        total = client.get("/api/v1/cards", params={"limit": "1"}).json()["total"]
    numbers = [c["registration_number"] for c in cards]
    assert len(numbers) == len(set(numbers)) == total == 12
    assert _seconds(cards) == sorted(_seconds(cards), reverse=sort == "newest")


def test_cards_filter_by_status_and_kind(api: Running) -> None:
    with api.client("read") as client:
        review = _all_pages(client, {"status": "needs review", "limit": "2"})
        invoices = client.get("/api/v1/cards", params={"kind": "payment_invoice"}).json()
    assert review and all(c["status"] == "needs review" for c in review)
    assert invoices["total"] >= 1 and {c["kind"] for c in invoices["cards"]} == {"payment_invoice"}


def test_a_cursor_from_other_filters_is_refused(api: Running) -> None:
    with api.client("read") as client:
        cursor = client.get("/api/v1/cards", params={"limit": "2"}).json()["next_cursor"]
        answer = client.get("/api/v1/cards", params={"limit": "2", "sort": "oldest", "cursor": cursor})
    assert answer.status_code == 400 and answer.json()["code"] == "invalid-cursor"


def test_newest_first_paging_neither_skips_nor_repeats_while_cards_arrive(make_api: MakeApi, tmp_path: Path) -> None:
    api = make_api({f"doc-{i:02d}": f"Входящее письмо номер {i}" for i in range(1, 11)})
    archive = api.archive
    arriving = iter(range(1, 7))
    before = {c["registration_number"] for c in _page_everything(api)}

    def one_more() -> None:
        i = next(arriving, None)
        if i is None:
            return
        folder = tmp_path / f"arrival-{i}"
        folder.mkdir()
        S.write_png(folder / "scan.png", S.plain_page(seed=i))
        ingest_paths(archive.services, [folder])

    with api.client("read") as client:
        cards = _all_pages(client, {"limit": "3"}, between=one_more)
    seen = [c["registration_number"] for c in cards]
    assert len(seen) == len(set(seen)), "a card was served twice"
    assert set(seen) >= before, "a card that was there from the start was skipped"
    assert _seconds(cards) == sorted(_seconds(cards), reverse=True)


def _page_everything(api: Running) -> list[dict[str, Any]]:
    with api.client("read") as client:
        return _all_pages(client, {"limit": "100"})


def _card(client: httpx.Client, number: str) -> httpx.Response:
    answer = client.get(f"/api/v1/cards/{quote(number)}")
    assert answer.status_code == 200, answer.text
    return answer


def _needing_review(api: Running) -> str:
    queue = api.archive.cli("review", "list")["cards"]
    return str(queue[0]["registration_number"])


def test_a_correction_needs_if_match_and_a_stale_one_is_refused(make_api: MakeApi) -> None:
    api = make_api()
    number = _needing_review(api)
    with api.client("clerk") as clerk, api.client("write") as system:
        first = _card(clerk, number)
        etag = first.headers["ETag"]
        body = {"kind": "payment_invoice", "fields": {"number": "45/12-п", "date": "2024-03-12"},
                "correspondent": "ТОО «Северный ветер»"}  # fmt: skip
        missing = clerk.patch(f"/api/v1/cards/{quote(number)}", json=body)
        assert missing.status_code == 428 and missing.json()["code"] == "if-match-required"
        done = clerk.patch(f"/api/v1/cards/{quote(number)}", json=body, headers={"If-Match": etag})
        assert done.status_code == 200, done.text
        card = done.json()
        assert (card["kind"], card["status"], card["doc_number"]) == ("payment_invoice", "verified", "45/12-п")
        assert card["correspondent"] == "ТОО «Северный ветер»" and card["history"][-1]["actor"] == "user:clerk"
        assert done.headers["ETag"] == f'"v{card["version"]}"' != etag
        stale = system.patch(f"/api/v1/cards/{quote(number)}", json={"title": "overwrite"}, headers={"If-Match": etag})
        assert stale.status_code == 412 and stale.json()["code"] == "stale-version"
        assert stale.headers["ETag"] == done.headers["ETag"]
        assert _card(clerk, number).json()["title"] != "overwrite"


def test_a_correction_of_an_unknown_kind_is_a_422_and_changes_nothing(make_api: MakeApi) -> None:
    api = make_api()
    number = _needing_review(api)
    with api.client("clerk") as clerk:
        before = _card(clerk, number)
        answer = clerk.patch(f"/api/v1/cards/{quote(number)}", json={"kind": "no_such_kind"},
                             headers={"If-Match": before.headers["ETag"]})  # fmt: skip
        assert answer.status_code == 422 and answer.json()["code"] == "invalid-change"
        assert _card(clerk, number).json() == before.json()
        extra = clerk.patch(f"/api/v1/cards/{quote(number)}", json={"registration_number": "X"},
                            headers={"If-Match": before.headers["ETag"]})  # fmt: skip
        assert extra.status_code == 422
        # the kind among the fields: refused, where it used to be a 200 that changed nothing
        as_field = clerk.patch(f"/api/v1/cards/{quote(number)}", json={"fields": {"kind": "lease_contract"}},
                               headers={"If-Match": before.headers["ETag"]})  # fmt: skip
        assert as_field.status_code == 422 and '"kind"' in as_field.json()["detail"]
        assert _card(clerk, number).json() == before.json()


def test_accepting_a_card_marks_it_verified(make_api: MakeApi) -> None:
    api = make_api()
    number = _needing_review(api)
    with api.client("write") as system:
        seen = _card(system, number).headers["ETag"]
        system.patch(f"/api/v1/cards/{quote(number)}", json={"title": "Другой заголовок"}, headers={"If-Match": seen})
        stale = system.post(f"/api/v1/cards/{quote(number)}/accept", headers={"If-Match": seen})
        assert stale.status_code == 412, stale.text  # the version the clerk saw is not the card's any more
        answer = system.post(f"/api/v1/cards/{quote(number)}/accept")
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "verified" and answer.json()["review_reasons"] == []
        assert answer.headers["ETag"] == _card(system, number).headers["ETag"]
    assert number not in [c["registration_number"] for c in api.archive.cli("review", "list")["cards"]]


def _export(data_dir: Path, *args: str) -> tuple[list[dict[str, Any]], str]:
    out = subprocess.run([str(EXE), "export", *args], env=clean_env(data_dir), capture_output=True, text=True,
                         timeout=120, check=False)  # fmt: skip
    assert out.returncode == 0, out.stderr
    return [json.loads(line) for line in out.stdout.splitlines()], out.stderr


def test_the_change_feed_is_what_export_writes_and_pages_by_cursor(api: Running) -> None:
    exported, progress = _export(api.archive.data_dir)
    # counted apart from the progress bar, which is off without a terminal (it said «0 changes»)
    assert progress.splitlines()[-1] == f"{len(exported)} changes; continue with: kartoteka export --after {exported[-1]['cursor']}"
    seen: list[dict[str, Any]] = []
    params: dict[str, str] = {"limit": "5"}
    with api.client("read") as client:
        while True:
            page = client.get("/api/v1/changes", params=params).json()
            seen += page["changes"]
            if not page["changes"]:
                assert page["next_cursor"] == params.get("after", "0")
                break
            params["after"] = page["next_cursor"]
        registered = client.get("/api/v1/changes", params={"topic": "card.registered", "limit": "1000"}).json()
    assert seen == exported
    assert {c["topic"] for c in registered["changes"]} == {"card.registered"}
    later, _ = _export(api.archive.data_dir, "--after", exported[2]["cursor"])
    assert later == exported[3:]
