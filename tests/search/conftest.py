"""Fixtures for the search tests: the corpus catalog and an index on each backend.

The Elasticsearch backend needs a real node: ``scripts/test.sh`` starts one and sets
``KARTOTEKA_TEST_ELASTIC_URL``. Without it these tests fail (never skip), saying so.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from archive.catalog import Catalog
from archive.db import make_engine, upgrade
from search.backend import SearchIndex
from search.elastic_index import ElasticIndex
from search.feed import reindex
from search.tantivy_index import TantivyIndex
from tests.archive.helpers import TickingClock
from tests.search.corpus import build_catalog

ELASTIC_ENV = "KARTOTEKA_TEST_ELASTIC_URL"
TZ = ZoneInfo("Asia/Almaty")
BACKENDS = ["tantivy", "elastic"]


def elastic_url() -> str:
    url = os.environ.get(ELASTIC_ENV)
    if not url:
        pytest.fail(f"{ELASTIC_ENV} is not set: run the tests with scripts/test.sh, which starts Elasticsearch")
    return url.rstrip("/")


def make_index(backend: str, where: Path) -> SearchIndex:
    if backend == "tantivy":
        return TantivyIndex(where / f"index-{uuid.uuid4().hex[:8]}")
    return ElasticIndex(f"{elastic_url()}/kt-test-{uuid.uuid4().hex[:12]}")


def drop_index(index: SearchIndex) -> None:
    if isinstance(index, ElasticIndex):
        index.client.indices.delete(index=index.name, ignore_unavailable=True)
    index.close()


class Corpus:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        engine = make_engine(f"sqlite:///{root / 'catalog.db'}")
        upgrade(engine)
        self.clock = TickingClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
        self.catalog = Catalog(engine, clock=self.clock, tz=TZ)
        self.ids = build_catalog(self.catalog, self.clock)
        self.keys = {v: k for k, v in self.ids.items()}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module", params=BACKENDS)
def indexed(request: pytest.FixtureRequest, corpus: Corpus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SearchIndex]:
    """The corpus indexed on one backend (module-wide: tests only read it)."""
    index = make_index(request.param, tmp_path_factory.mktemp("index"))
    reindex(corpus.catalog, index, TZ)
    yield index
    drop_index(index)


@pytest.fixture(params=BACKENDS)
def empty_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SearchIndex]:
    """A fresh, empty index on one backend, for tests that write."""
    index = make_index(request.param, tmp_path)
    yield index
    drop_index(index)
