"""The UI over a real archive, served over real HTTP, driven by a real headless Chromium.

``site`` (one per session): cards registered from scripted pages that show their text
(``textpages.py``) through ``app.intake.ingest_paths``, a hot folder, an account of every role;
the API of ``create_app`` with the UI mounted (``workers.web.mount``) served by uvicorn on a
free port in a thread of this process, an index feed thread (as ``kartoteka run`` keeps the
search index up to date) and a processor for enqueued files (retries).

``browser``: Debian's Chromium (``apt-get install chromium``) driven by Playwright's Python
package; Playwright's own browser download is not used. ``open_page(who)`` gives a test a fresh
context (its own cookies) at 1280×800, signed in as ``who`` through the login form.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from app import accounts
from app.indexing import IndexFeed
from app.intake import ingest_paths, process_with_retries
from app.principals import ROLES
from app.services import Services
from app.settings import Settings, load_settings
from archive.model import CardView
from ingest.profile import HotFolderProfile
from ocr.fake import PageScript, ScriptedEngine
from tests import scripted as S
from tests.web.textpages import write_text_png
from workers.api.app import create_app
from workers.api.server import ApiServer
from workers.web import mount

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "correct horse battery staple"

LEASE = (
    "ДОГОВОР АРЕНДЫ № 17-А от 01.02.2026\n"
    "Арендодатель ТОО «Северный ветер» передаёт арендатору\n"
    "нежилое помещение по договору аренды сроком\n"
    "на одиннадцать месяцев. Арендная плата 250 000 тенге."
)
INVOICE = (
    "СЧЕТ НА ОПЛАТУ № 123 от 12.03.2024\n"
    "Поставщик: ТОО «Северный ветер»\n"
    "№\tНаименование\tКол-во\tЕд.\tЦена\tСумма\n"
    "1\tБумага офисная А4\t20\tуп\t352,50\t7 050,00\n"
    "2\tПоставка оборудования\t1\tшт\t1 227 517,89\t1 227 517,89\n"
    "Итого к оплате: 1 234 567,89 тенге\n"
    "Оплата данного счета означает согласие с условиями поставки."
)
MEMO = "СЛУЖЕБНАЯ ЗАПИСКА № 45 от 03.02.2026\nО закупке бумаги для принтеров\nПрошу согласовать закупку бумаги."
ORDER = "ORDER No. 12 of 5 March 2026\nOn the appointment of the procurement committee\nfor the supply of paper."
LETTER_KK = "ҚЫЗМЕТТІК ХАТ № 17\n2024 жылғы 5 сәуір\nҚұжаттарды тіркеу бөлімі өтініштерді қарастырды."
#: key -> page text; every key is one single-page document. The notes are of no kind: they need review.
TEXTS: dict[str, str] = {
    "lease": LEASE,
    "invoice": INVOICE,
    "memo": MEMO,
    "order": ORDER,
    "letter-kk": LETTER_KK,
    "notes-1": "Заметки к совещанию\nОбсудить график отпусков и ремонт кабинета.",
    "notes-2": "Разное\nПеречень вопросов на следующую неделю.",
    "notes-3": "Черновик\nСписок дел без даты.",
    **{f"letter-{i:02d}": f"Письмо № {i} о поставке товаров\nна склад номер {i} до конца месяца." for i in range(1, 7)},
}
#: Pages the operator's test sends later (a batch in the hot folder, a fixed file).
LATER: dict[str, str] = {
    **{f"batch-{i}": f"Акт сверки № {i}\nпо поставкам за март." for i in range(1, 5)},
    "fixed-scan": "Акт сверки № 5\nпо поставкам за март, исправленный скан.",
}


@dataclass
class Site:
    settings: Settings
    services: Services
    engine: ScriptedEngine
    server: ApiServer
    root: Path
    pool: ThreadPoolExecutor = field(default_factory=lambda: ThreadPoolExecutor(1, thread_name_prefix="process"))
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def inbox(self) -> Path:
        return self.settings.hotfolders[0].path

    def enqueue(self, input_id: str) -> None:
        """What ``kartoteka run``'s dispatcher does with a pending input: process it (in a thread)."""
        self.pool.submit(process_with_retries, input_id, self.services)

    def card(self, key: str) -> CardView:
        """The card of the scripted page ``key`` (by its source file's name)."""
        for view in self.services.catalog.iter_cards():
            if view.card.source_name == f"{key}.png":
                return view
        raise LookupError(key)

    @contextlib.contextmanager
    def client(self, who: str | None = None) -> Iterator[httpx.Client]:
        """Plain HTTP, signed in through the login form as ``who`` (a role) when given."""
        with httpx.Client(base_url=self.url, timeout=30, follow_redirects=False) as client:
            if who is not None:
                token = form_token(client.get("/ui/login").text)
                answer = client.post("/ui/login", data={"name": who, "password": PASSWORD, "csrf_token": token})
                assert answer.status_code == 303, answer.text
            yield client


def form_token(html: str) -> str:
    """The CSRF token of the first form of a page."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:2000]
    return found.group(1)


def build_site(root: Path) -> Site:
    scripts = {k: PageScript(v) for k, v in {**TEXTS, **LATER}.items()}
    engine = ScriptedEngine(scripts, unknown=PageScript("unreadable scan"))
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    settings = load_settings({"KARTOTEKA_DATA_DIR": str(root / "data")})
    settings = settings.model_copy(update={
        "ocr": settings.ocr.model_copy(update={"dpi": S.DPI}),
        "hotfolders": (HotFolderProfile(path=inbox, quarantine=inbox / "quarantine"),),
    })  # fmt: skip
    services = Services(settings, engine_factory=lambda _s: engine)
    scans = root / "scans" / "morning"
    scans.mkdir(parents=True)
    for key, text in TEXTS.items():
        write_text_png(scans / f"{key}.png", key, text)
    ingest_paths(services, [scans])
    for role in ROLES:
        accounts.add_user(services, role, role, PASSWORD)
    holder: list[Site] = []
    app = create_app(settings, services, enqueue=lambda input_id: holder[0].enqueue(input_id))
    mount(app, settings)
    site = Site(settings, services, engine, ApiServer(app, "127.0.0.1", 0), root)
    holder.append(site)
    return site


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    made = build_site(tmp_path_factory.mktemp("web"))
    feed = IndexFeed(made.services.catalog, made.services.open_index, made.services.tz)
    thread = threading.Thread(target=feed.run, args=(made.stop,), name="index-feed", daemon=True)
    thread.start()
    made.server.start()
    yield made
    made.server.stop()
    made.stop.set()
    thread.join(30)
    made.pool.shutdown(wait=True)
    made.engine.release()
    made.services.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (Debian's; Playwright's download is not used)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield launched
        launched.close()


OpenPage = Callable[..., Any]


@pytest.fixture
def open_page(site: Site, browser: Any) -> Iterator[OpenPage]:
    """``open_page(who=None, width=1280, height=800)``: a page in a fresh context, signed in as ``who``."""
    contexts: list[Any] = []

    def open_(who: str | None = None, width: int = 1280, height: int = 800) -> Any:
        context = browser.new_context(base_url=site.url, viewport={"width": width, "height": height})
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        if who is not None:
            page.goto("/ui/login")
            page.fill("#name", who)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit].primary")
            page.wait_for_url("**/ui/search")
        return page

    yield open_
    for context in contexts:
        context.close()
