"""The API over Elasticsearch (``KARTOTEKA_SEARCH_URL``): search is the CLI's, listing pages."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from search.elastic_index import ElasticIndex
from tests.api.conftest import Running, add_odd_files, build_archive, serve
from tests.search.conftest import elastic_url


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    url = f"{elastic_url()}/kt-api-{uuid.uuid4().hex[:12]}"
    root: Path = tmp_path_factory.mktemp("elastic")
    archive = build_archive(root, search_url=url)
    add_odd_files(archive, root)
    running = serve(archive)
    yield running
    running.stop()
    archive.services.close()
    index = ElasticIndex(url)
    index.client.indices.delete(index=index.name, ignore_unavailable=True)
    index.close()


@pytest.mark.parametrize(("query", "options"), [("поставка", {"facets": "true"}), ("", {"sort": "newest", "per_page": "5"})])
def test_search_over_elasticsearch_is_the_cli_search_json(api: Running, query: str, options: dict[str, str]) -> None:
    flags = [f"--{k.replace('_', '-')}" + ("" if v == "true" else f"={v}") for k, v in options.items()]
    expected = api.archive.cli("search", *([query] if query else []), *flags)
    with api.client("read") as client:
        answer = client.get("/api/v1/search", params={"q": query, **options})
    assert answer.status_code == 200, answer.text
    assert answer.json() == expected and expected["total"] > 0


def test_cards_page_over_elasticsearch_to_every_card_once(api: Running) -> None:
    seen: list[str] = []
    params = {"limit": "5"}
    with api.client("read") as client:
        while True:
            page = client.get("/api/v1/cards", params=params).json()
            seen += [c["card"] for c in page["cards"]]
            if page["next_cursor"] is None:
                break
            params["cursor"] = page["next_cursor"]
        assert client.get("/ready").json()["checks"] == {"catalog": "ok", "index": "ok"}
    assert len(seen) == len(set(seen)) == 12
