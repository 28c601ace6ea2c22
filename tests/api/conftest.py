"""A real archive (scripted OCR, real SQLite catalog and tantivy index) served over real HTTP.

``archive``: cards registered from scripted pages through ``app.intake.ingest_paths``, plus a
duplicate and a quarantined file, API tokens of every scope and an account of every role.
``api``: uvicorn serving ``create_app(settings)`` on a free port in a thread of this process.
Both are module-wide (tests only read, or write what no other test looks at); ``make_api``
gives a test its own archive and server when it must write freely.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from app import accounts
from app.indexing import update_index
from app.intake import ingest_paths, process_with_retries
from app.principals import ROLES, SCOPES
from app.services import Services
from app.settings import Settings, load_settings
from ocr.fake import PageScript, ScriptedEngine
from tests import scripted as S
from tests.processes import EXE, clean_env
from workers.api.app import create_app
from workers.api.auth import CSRF_HEADER, SESSION_COOKIE
from workers.api.server import ApiServer

INVOICE = (
    "СЧЕТ НА ОПЛАТУ № 123 от 12.03.2024\n"
    "Поставщик: ТОО «Северный ветер»\n"
    "Итого к оплате: 1 234 567,89 тенге\n"
    "Оплата данного счета означает согласие с условиями поставки."
)
MIXED = "Материалы к совещанию\nПрилагаются счёт на оплату, договор аренды\nи коммерческое предложение для рассмотрения."
MEMO = "СЛУЖЕБНАЯ ЗАПИСКА № 45 от 03.02.2026\nО закупке бумаги для принтеров\nПрошу согласовать закупку бумаги."
ORDER = "ORDER No. 12 of 5 March 2026\nOn the appointment of the procurement committee for the supply of paper."
#: key -> page text; every key is one single-page document
TEXTS: dict[str, str] = {
    "invoice": INVOICE,
    "mixed": MIXED,
    "memo": MEMO,
    "order": ORDER,
    **{f"letter-{i:02d}": f"Письмо № {i} о поставке товаров на склад номер {i}" for i in range(1, 9)},
}
PASSWORD = "correct horse battery staple"


@dataclass
class Archive:
    settings: Settings
    services: Services
    #: scope -> token secret; accounts are named by their role and share PASSWORD
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def data_dir(self) -> Path:
        return self.settings.data_dir

    def cli(self, *args: str) -> Any:
        """``kartoteka ARGS --json`` on this archive (and its search index), parsed."""
        env = {"KARTOTEKA_SEARCH_URL": self.settings.search_url} if self.settings.search_url else {}
        out = subprocess.run(
            [str(EXE), *args, "--json"], env=clean_env(self.data_dir, **env), capture_output=True, text=True, timeout=120,
            check=False,
        )
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)


def build_archive(
    root: Path, texts: Mapping[str, str] = TEXTS, later: Mapping[str, str] | None = None, search_url: str | None = None
) -> Archive:
    """Cards of ``texts`` (a page each); the engine also knows ``later``, for pages sent later.
    ``search_url``: the search index (default: the embedded one under the data directory)."""
    scripts = {**texts, **(later or {})}
    engine = ScriptedEngine({k: PageScript(v) for k, v in scripts.items()}, unknown=PageScript("unreadable scan"))
    env = {"KARTOTEKA_DATA_DIR": str(root / "data"), **({"KARTOTEKA_SEARCH_URL": search_url} if search_url else {})}
    settings = load_settings(env)
    settings = settings.model_copy(update={"ocr": settings.ocr.model_copy(update={"dpi": S.DPI})})
    services = Services(settings, engine_factory=lambda _s: engine)
    morning = root / "scans" / "morning"
    morning.mkdir(parents=True)
    for key in texts:
        S.write_png(morning / f"{key}.png", key)
    ingest_paths(services, [morning])
    archive = Archive(settings, services)
    for scope in SCOPES:
        _, archive.tokens[scope] = accounts.create_token(services, f"{scope}-system", scope)
    for role in ROLES:
        accounts.add_user(services, role, role, PASSWORD)
    return archive


def add_odd_files(archive: Archive, root: Path) -> None:
    """A second batch: a duplicate of the invoice and a file that is not a scan (quarantined)."""
    later = root / "scans" / "later"
    later.mkdir(parents=True)
    (later / "copy-of-invoice.png").write_bytes((root / "scans" / "morning" / "invoice.png").read_bytes())
    (later / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF at all\n")
    ingest_paths(archive.services, [later])


@dataclass
class Running:
    """The API of an archive, served over HTTP."""

    archive: Archive
    server: ApiServer
    app: FastAPI
    processor: Processor

    def stop(self) -> None:
        self.server.stop()
        self.processor.pool.shutdown(wait=True)

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, who: str | None = None) -> httpx.Client:
        """A client as ``who``: a scope (``read``, ``write``, ``admin``: its token), a role (a
        session cookie, the CSRF header set), or None (anonymous)."""
        client = httpx.Client(base_url=self.url, timeout=60)
        if who in self.archive.tokens:
            client.headers["Authorization"] = f"Bearer {self.archive.tokens[who]}"
        elif who is not None:
            with httpx.Client(base_url=self.url, timeout=60) as login:
                answer = login.post("/api/v1/session", json={"name": who, "password": PASSWORD})
                assert answer.status_code == 200, answer.text
                assert SESSION_COOKIE in login.cookies
                client.cookies.update(login.cookies)
            client.headers[CSRF_HEADER] = answer.json()["csrf_token"]
        return client


class Processor:
    """What ``kartoteka run`` does with an uploaded file, in a background thread: process it, then
    bring the search index up to date."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="uploads")

    def __call__(self, input_id: str) -> None:
        self.pool.submit(self._process, input_id)

    def _process(self, input_id: str) -> None:
        process_with_retries(input_id, self.services)
        update_index(self.services.catalog, self.services.open_index, self.services.tz)


def serve(archive: Archive, **settings: Any) -> Running:
    """The archive's API on a free port (``settings`` override the archive's settings)."""
    processor = Processor(archive.services)
    app = create_app(archive.settings.model_copy(update=settings), enqueue=processor)
    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    return Running(archive, server, app, processor)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Archive]:
    root = tmp_path_factory.mktemp("archive")
    made = build_archive(root)
    add_odd_files(made, root)
    yield made
    made.services.close()


@pytest.fixture(scope="module")
def api(archive: Archive) -> Iterator[Running]:
    running = serve(archive)
    yield running
    running.stop()


MakeApi = Callable[..., Running]


@pytest.fixture
def make_api(tmp_path: Path) -> Iterator[MakeApi]:
    """``make_api(texts=TEXTS, later=None, **settings)``: an archive of this test's own, served."""
    made: list[Running] = []

    def make(texts: Mapping[str, str] = TEXTS, later: Mapping[str, str] | None = None, **settings: Any) -> Running:
        made.append(serve(build_archive(tmp_path / f"a{len(made)}", texts, later), **settings))
        return made[-1]

    yield make
    for running in made:
        running.stop()
        running.archive.services.close()
