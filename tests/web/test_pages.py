"""The UI over plain HTTP: sessions and CSRF, who may open what, error pages, headers."""

from __future__ import annotations

import html
import logging
import re
import urllib.parse
from decimal import Decimal

import httpx
import pytest

from tests.web.conftest import PASSWORD, Site, form_token
from workers.api.auth import SESSION_COOKIE
from workers.web.errors import SECURITY_HEADERS
from workers.web.routes import search as search_route


def test_nothing_is_shown_without_a_session(site: Site) -> None:
    lease = site.card("lease").card
    with httpx.Client(base_url=site.url) as anonymous:
        for path in ("/ui/search?q=аренды", f"/ui/cards/{lease.id}", "/ui/review", "/ui/operator", "/ui/admin", "/ui/nowhere"):
            answer = anonymous.get(path)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/ui/login?next=/ui/"), path
            assert lease.registration_number not in answer.text
        assert anonymous.get("/ui/operator/live").status_code == 401  # the page's script reloads, then signs in
        assert anonymous.get("/ui/").headers["location"] == "/ui/search"
        assert anonymous.get("/ui/static/app.css").status_code == 200
        refused = anonymous.post(f"/ui/cards/{lease.id}/review", data={"action": "accept", "version": "1"})
        assert refused.status_code == 303 and refused.headers["location"].startswith("/ui/login")


def test_signing_in_sets_an_httponly_samesite_session_cookie_and_signing_out_ends_it(site: Site) -> None:
    with httpx.Client(base_url=site.url) as client:
        login_page = client.get("/ui/login?next=/ui/review")
        assert "HttpOnly" in login_page.headers["set-cookie"] and "SameSite=strict" in login_page.headers["set-cookie"]
        token = form_token(login_page.text)
        wrong = client.post("/ui/login", data={"name": "clerk", "password": "nope", "csrf_token": token, "next": "/ui/review"})
        assert wrong.status_code == 401 and "Неверное имя или пароль" in wrong.text
        answer = client.post("/ui/login", data={"name": "clerk", "password": PASSWORD, "csrf_token": token, "next": "/ui/review"})
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/review"
        cookie = answer.headers["set-cookie"]
        assert cookie.startswith(f"{SESSION_COOKIE}=") and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
        page = client.get("/ui/review")
        assert page.status_code == 200
        assert client.get("/api/v1/review").status_code == 200  # the same session: page images come from the API
        out = client.post("/ui/logout", data={"csrf_token": form_token(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/ui/login"
        assert client.get("/ui/review").status_code == 303


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/ui/x", "/api/v1/cards", "/ui//evil"])
def test_signing_in_never_sends_the_visitor_off_the_ui(site: Site, target: str) -> None:
    with httpx.Client(base_url=site.url) as client:
        token = form_token(client.get("/ui/login").text)
        answer = client.post("/ui/login", data={"name": "clerk", "password": PASSWORD, "csrf_token": token, "next": target})
        assert answer.headers["location"] == "/ui/search"


def test_a_form_posted_without_its_csrf_token_is_refused(site: Site) -> None:
    card = site.card("notes-3").card
    before = site.services.catalog.get_card(card.id)
    assert before is not None
    with site.client("clerk") as clerk:
        token = form_token(clerk.get(f"/ui/cards/{card.id}").text)
        form = {"action": "accept", "version": str(before.card.version)}
        missing = clerk.post(f"/ui/cards/{card.id}/review", data=form)
        wrong = clerk.post(f"/ui/cards/{card.id}/review", data={**form, "csrf_token": token[:-2] + "xx"})
        for answer in (missing, wrong):
            assert answer.status_code == 403
            assert "Форма отклонена" in answer.text
        assert clerk.post("/ui/logout", data={}).status_code == 403
        assert clerk.get("/ui/review").status_code == 200  # still signed in
    after = site.services.catalog.get_card(card.id)
    assert after is not None and after.card.version == before.card.version and after.card.status == "needs review"
    with httpx.Client(base_url=site.url) as client:  # the login form has its own token
        client.get("/ui/login")
        refused = client.post("/ui/login", data={"name": "clerk", "password": PASSWORD})
        assert refused.status_code == 403 and SESSION_COOKIE not in refused.headers.get("set-cookie", "")


def test_a_clerk_cannot_reach_operator_or_administrator_pages(site: Site) -> None:
    with site.client("clerk") as clerk:
        search = clerk.get("/ui/search")
        assert '/ui/review"' in search.text and '/ui/operator"' not in search.text and '/ui/admin"' not in search.text
        for path in ("/ui/operator", "/ui/operator/live", "/ui/admin", "/ui/operator/batches/none-such"):
            answer = clerk.get(path)
            assert answer.status_code == 403, path
            assert "Доступ запрещён" in answer.text and "Traceback" not in answer.text
        token = form_token(search.text)
        assert clerk.post("/ui/operator/inputs/none-such/retry", data={"csrf_token": token}).status_code == 403
    with site.client("operator") as operator:
        assert operator.get("/ui/review").status_code == 403  # an operator does not review
        assert operator.get("/ui/operator").status_code == 200
    with site.client("administrator") as admin:
        for path in ("/ui/search", "/ui/review", "/ui/operator", "/ui/admin"):
            assert admin.get(path).status_code == 200, path
        assert "clerk" in admin.get("/ui/admin").text


def test_a_failing_page_shows_a_reference_not_a_stack_trace(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret detail of the failure")

    monkeypatch.setattr(search_route, "search", broken)
    with caplog.at_level(logging.ERROR, logger="workers.web.errors"), site.client("clerk") as clerk:
        answer = clerk.get("/ui/search?q=аренды")
    assert answer.status_code == 500
    found = re.search(r"<code>([0-9a-f]{12})</code>", answer.text)
    assert found, answer.text
    assert "Traceback" not in answer.text and "secret detail" not in answer.text and "RuntimeError" not in answer.text
    logged = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert logged and logged[0].exc_info is not None  # the traceback is in the log, under the reference


def test_unknown_cards_and_bad_addresses_are_error_pages(site: Site) -> None:
    with site.client("clerk") as clerk:
        unknown = clerk.get("/ui/cards/none-such")
        assert unknown.status_code == 404 and "Не найдено" in unknown.text
        assert clerk.get("/ui/cards/..%2F..%2Fetc").status_code == 404
        assert clerk.get("/ui/search?page=0").status_code == 400
        assert clerk.get("/ui/nowhere").status_code == 404
        bad_query = clerk.get("/ui/search?q=registered:2026-13-45")
        assert bad_query.status_code == 200 and "Запрос нельзя выполнить" in bad_query.text


def test_pages_carry_the_security_headers(site: Site) -> None:
    with site.client("clerk") as clerk:
        page = clerk.get("/ui/search")
        error = clerk.get("/ui/cards/none-such")
    for answer in (page, error):
        for name, value in SECURITY_HEADERS.items():
            assert answer.headers[name] == value
        assert answer.headers["cache-control"] == "no-store"
    assert "script-src 'self'" in page.headers["content-security-policy"]
    assert "<script>" not in page.text  # no inline script: the policy allows none


def test_facets_are_links_that_narrow_the_query(site: Site) -> None:
    with site.client("clerk") as clerk:
        page = clerk.get("/ui/search", params={"q": "поставке"})
        links = re.findall(r'<a class="facet" href="([^"]+)">', page.text)
        assert links
        narrowed = [link for link in links if "kind%3Aletter" in link]
        assert narrowed, links
        again = clerk.get(narrowed[0].replace("&amp;", "&"))
    assert 'value="поставке kind:letter"' in again.text
    total = re.search(r'<h1 id="found">([^<]+)</h1>', again.text)
    assert total and total.group(1).strip() == "Найдено 6 карточек"


def test_the_operator_dashboard_fragment_is_small_and_live(site: Site) -> None:
    with site.client("operator") as operator:
        page = operator.get("/ui/operator")
        fragment = operator.get("/ui/operator/live")
    assert 'data-live-url="/ui/operator/live"' in page.text
    assert fragment.status_code == 200 and "<html" not in fragment.text and len(fragment.content) < 20_000
    assert "Пакеты в работе" in fragment.text
    # the page says how to tell old figures: what the live part shows when the server is silent
    assert 'data-live-stale="Данные не обновляются: сервер не отвечает.' in page.text


@pytest.mark.parametrize(
    ("locale", "total", "expected"),
    [("ru", 1, "Готово 1 из 1 файла"), ("ru", 2, "Готово 1 из 2 файлов"), ("ru", 5, "Готово 1 из 5 файлов"),
     ("ru", 21, "Готово 1 из 21 файла"), ("en", 1, "1 of 1 file done"), ("en", 2, "1 of 2 files done")],
)  # fmt: skip
def test_a_batch_progress_says_files_in_the_right_form(locale: str, total: int, expected: str) -> None:
    """«Готово 1 из 1 файлов» was the same form for every number."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from archive.model import BatchSummary
    from workers.web.dashboard import BatchView
    from workers.web.templating import Templates

    counts = {"archived": 1, "duplicate": 0, "quarantined": 0, "pending": total - 1}
    batch = BatchView(BatchSummary("b", "/srv/in", "scan.pdf", datetime(2026, 3, 2, tzinfo=timezone.utc), None, counts))
    html = Templates(ZoneInfo("Asia/Almaty"), "/ui", "/api/v1").render(locale, "_batch_progress.html", {"batch": batch})
    assert f">{expected}<" in html


def test_a_clerk_accepts_a_correspondent_proposed_for_the_directory(site: Site) -> None:
    from app import review

    invoice = site.card("invoice").card
    (proposal,) = [o for o in review.organisations(site.services, proposed_only=True) if o.name == invoice.correspondent]
    with site.client("clerk") as clerk:
        page = clerk.get(f"/ui/cards/{invoice.id}")
        assert f'name="use_proposal" value="{proposal.name}"' in page.text and "Принять предложение" in page.text
        form = {"csrf_token": form_token(page.text), "version": str(invoice.version), "review": "0",
                "kind": invoice.kind, "title": invoice.title, "correspondent": "", "use_proposal": proposal.name}  # fmt: skip
        answer = clerk.post(f"/ui/cards/{invoice.id}/review", data=form)
        assert answer.status_code == 303 and answer.headers["location"] == f"/ui/cards/{invoice.id}?saved=true"
        assert "Сохранено" in clerk.get(answer.headers["location"]).text
    accepted = site.services.catalog.get_organisation(proposal.id)
    after = site.services.catalog.get_card(invoice.id)
    assert accepted is not None and accepted.status == "accepted"
    assert after is not None and after.card.status == "verified" and after.card.correspondent == proposal.name
    assert after.card.fields["date"].page == 1  # fields the clerk left alone keep where they were found


def test_accepting_a_card_as_it_is_goes_on_to_the_next_card_of_the_queue(site: Site) -> None:
    from app import review

    queue = review.review_queue(site.services)
    first = next(c for c in queue if (c.source_name or "").startswith("letter-"))
    following = queue[queue.index(first) + 1]
    with site.client("clerk") as clerk:
        page = clerk.get(f"/ui/cards/{first.id}?review=1")
        assert "Следующая карточка" in page.text and 'name="review" value="1"' in page.text
        form = {"csrf_token": form_token(page.text), "version": str(first.version), "review": "1", "action": "accept"}
        answer = clerk.post(f"/ui/cards/{first.id}/review", data=form)
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/ui/cards/{following.id}?review=1"
        skipped = clerk.get(f"/ui/review/next?after={following.id}")
        assert skipped.status_code == 303 and following.id not in skipped.headers["location"]
    done = site.services.catalog.get_card(first.id)
    assert done is not None and done.card.status == "verified" and done.card.review_reasons == ()


def test_an_invoice_shows_its_line_items_as_a_table_and_not_among_the_fields(site: Site) -> None:
    invoice = site.card("invoice").card
    assert invoice.fields["items.count"].value == 2
    with site.client("clerk") as clerk:
        page = clerk.get(f"/ui/cards/{invoice.id}").text
    table = page[page.index('id="items-h"') : page.index("</table>", page.index('id="items-h"'))]
    rows = re.findall(r"<tr>(.*?)</tr>", table, re.S)
    cells = [re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, re.S) for row in rows]
    assert cells[0][:6] == ["№", "Наименование", "Количество", "Ед. изм.", "Цена", "Сумма"], cells
    assert [row[:6] for row in cells[1:]] == [  # figures in the page's locale, kopecks kept
        ["1", "Бумага офисная А4", "20", "уп", "352,50", "7\xa0050"],
        ["2", "Поставка оборудования", "1", "шт", "1\xa0227\xa0517,89", "1\xa0227\xa0517,89"],
    ], cells
    fields = page[page.index('id="fields-h"') : page.index('id="items-h"')]
    assert "items.1" not in fields and "Бумага офисная" not in fields
    assert "Сумма по позициям" in fields  # items.sum stays a field, with its label



def test_a_mistyped_search_shows_close_matches_and_marks_them_on_the_card(site: Site) -> None:
    with site.client("clerk") as clerk:
        page = clerk.get("/ui/search", params={"q": "договр аренды"}).text
        assert "Точных совпадений нет. Показаны близкие совпадения для договр~ аренды~" in page
        lease = site.card("lease").card
        link = re.search(rf'href="/ui/cards/{lease.id}\?q=([^"&#]+)', page)
        assert link is not None and "~" in urllib.parse.unquote_plus(link.group(1))
        card = clerk.get(f"/ui/cards/{lease.id}", params={"q": urllib.parse.unquote_plus(link.group(1))}).text
        assert "<mark" in card


def test_a_search_with_a_word_no_card_has_names_it_and_shows_the_rest(site: Site) -> None:
    with site.client("clerk") as clerk:
        page = clerk.get("/ui/search", params={"q": "договор аренды вертолёта"}).text
        assert "Ни одна карточка не содержит вертолета; показаны результаты по остальным словам" in page
        lease = site.card("lease").card
        assert f'href="/ui/cards/{lease.id}' in page


def test_a_card_found_by_its_heading_marks_it_and_counts_it(site: Site) -> None:
    """A card found by its registration number, title or correspondent: the heading shows the
    match marked and the count includes it (it said «0 places match» before)."""
    lease = site.card("lease").card
    query = f'"{lease.registration_number}"'
    with site.client("clerk") as clerk:
        found = clerk.get("/ui/search", params={"q": query}).text
        assert f'href="/ui/cards/{lease.id}' in found
        card = clerk.get(f"/ui/cards/{lease.id}", params={"q": query}).text
    start = card.index('<header class="card-head">')
    head = card[start : card.index("</header>", start)]
    assert "<h1><mark>" in head
    count = re.search(r"На карточке (\d+) совпадени", card)
    assert count is not None and int(count.group(1)) >= 1


@pytest.mark.parametrize("version", ["³", "", "1" * 40, "-1"])
def test_a_review_form_with_a_version_that_is_not_a_number_is_a_422_page(site: Site, version: str) -> None:
    """«³» passes str.isdigit() but not int(): it was a 500."""
    lease = site.card("lease").card
    with site.client("clerk") as clerk:
        page = clerk.get(f"/ui/cards/{lease.id}")
        form = {"csrf_token": form_token(page.text), "version": version, "action": "accept"}
        answer = clerk.post(f"/ui/cards/{lease.id}/review", data=form)
    assert answer.status_code == 422 and "open the card again" in answer.text
    after = site.services.catalog.get_card(lease.id)
    assert after is not None and after.card.version == lease.version


def test_saving_a_card_goes_on_to_the_one_after_it_not_back_to_the_oldest(site: Site) -> None:
    """A clerk who skipped the oldest card and saved the next one was sent back to the oldest
    (the saved card had left the queue, so «the one after it» was not found)."""
    from app import review

    queue = review.review_queue(site.services)
    letters = [c for c in queue if (c.source_name or "").startswith("letter-")]  # the notes are other tests'
    skipped, saved = letters[0], letters[1]
    following = queue[queue.index(saved) + 1]
    with site.client("clerk") as clerk:
        page = clerk.get(f"/ui/cards/{saved.id}?review=1")
        form = {"csrf_token": form_token(page.text), "version": str(saved.version), "review": "1", "action": "accept"}
        answer = clerk.post(f"/ui/cards/{saved.id}/review", data=form)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/ui/cards/{following.id}?review=1" != f"/ui/cards/{skipped.id}?review=1"


def test_the_history_names_fields_and_kinds_and_leaves_out_what_did_not_change() -> None:
    """It showed «fields.kind: service_memo → service_memo» (a kind confirmed: only its
    confidence moved) and kinds by their ids."""
    from datetime import datetime, timezone

    from archive.model import AuditRow
    from workers.web.cardpage import _changes

    row = AuditRow(1, "c", datetime(2026, 3, 2, tzinfo=timezone.utc), "user:clerk", "updated", {
        "fields.kind": {"old": {"value": "service_memo", "confidence": 0.46}, "new": {"value": "service_memo", "confidence": 1.0}},
        "kind": {"old": "universal_transfer_document_upd", "new": "waybill_torg12"},
        "title": {"old": "Акт", "new": "Накладная"},
    })  # fmt: skip
    titles = {"universal_transfer_document_upd": "УПД", "waybill_torg12": "ТОРГ-12", "service_memo": "Служебная записка"}
    assert _changes(row, titles) == [("kind", "УПД", "ТОРГ-12"), ("title", "Акт", "Накладная")]


def test_the_history_shows_a_correction_of_a_column_and_its_field_once() -> None:
    """A correction records both the card's column and its field (``doc_date`` and
    ``fields.date``, ``correspondent`` and ``fields.correspondent``…): each was listed twice."""
    from datetime import date, datetime, timezone

    from archive.model import AuditRow
    from workers.web.cardpage import _changes

    def field(value: str, confidence: float = 1.0) -> dict[str, object]:
        return {"value": value, "confidence": confidence, "page": None}

    row = AuditRow(2, "c", datetime(2026, 3, 2, tzinfo=timezone.utc), "user:clerk", "updated", {
        "kind": {"old": "incoming", "new": "letter"},
        "doc_date": {"old": "2026-03-05", "new": "2026-03-06"},
        "doc_number": {"old": None, "new": "12"},
        "correspondent": {"old": "Альфа", "new": "Бета"},
        "fields.kind": {"old": field("incoming", 0.0), "new": field("letter")},
        "fields.date": {"old": field("2026-03-05", 0.9), "new": field("2026-03-06")},
        "fields.number": {"old": None, "new": field("12")},
        "fields.correspondent": {"old": field("Альфа", 0.5), "new": field("Бета")},
        "fields.amount": {"old": field("250000", 0.75), "new": field("250000.50")},
    })  # fmt: skip
    assert _changes(row, {"incoming": "Входящий документ", "letter": "Письмо"}) == [
        ("kind", "Входящий документ", "Письмо"),
        ("date", date(2026, 3, 5), date(2026, 3, 6)),
        ("number", "—", "12"),
        ("correspondent", "Альфа", "Бета"),
        ("amount", Decimal("250000"), Decimal("250000.50")),
    ]


def test_back_to_the_results_keeps_the_search_its_sorting_and_page(site: Site) -> None:
    """It went back to the first page sorted by relevance, and after a mistyped search to the
    tolerant query (with «~») instead of what the clerk typed."""
    with site.client("clerk") as clerk:
        results = clerk.get("/ui/search", params={"q": "письмо", "sort": "oldest"}).text
        link = re.search(r'<h2>\s*<a href="(/ui/cards/[^"#]+)', results)
        assert link is not None
        card = clerk.get(html.unescape(link.group(1))).text
        back = re.search(r'<a href="([^"]+)">Назад к результатам</a>', card)
        assert back is not None and html.unescape(back.group(1)) == "/ui/search?q=%D0%BF%D0%B8%D1%81%D1%8C%D0%BC%D0%BE&sort=oldest"
        typo = clerk.get("/ui/search", params={"q": "договр аренды"}).text
        link = re.search(r'<h2>\s*<a href="(/ui/cards/[^"#]+)', typo)
        assert link is not None
        card = clerk.get(html.unescape(link.group(1))).text
        back = re.search(r'<a href="([^"]+)">Назад к результатам</a>', card)
        assert back is not None and urllib.parse.parse_qs(urllib.parse.urlsplit(html.unescape(back.group(1))).query)["q"] == ["договр аренды"]
        # a «from» that is no search of ours leads to the search page all the same
        forged = clerk.get(f"/ui/cards/{site.card('lease').card.id}", params={"q": "аренды", "from": "https://evil.example/x?q=a"}).text
        assert '<a href="/ui/search?q=a">Назад к результатам</a>' in forged
    # the page number travels too (here read back from a link as the search page makes it)
    from workers.web.links import SearchState

    state = SearchState("письмо", "oldest", 3)
    assert SearchState.from_url(state.url()) == state
    assert SearchState.from_url("/ui/search?q=x&sort=bogus&page=-2") == SearchState("x")


def test_kinds_are_named_in_the_chosen_language(site: Site) -> None:
    """Every kind stayed Russian in the English and Kazakh UI (hits, facets, the card, the form)."""
    lease = site.card("lease").card
    with site.client("clerk") as clerk:
        pages = {}
        for lang in ("ru", "kk", "en"):
            clerk.get(f"/ui/lang/{lang}")
            pages[lang] = (clerk.get("/ui/search", params={"q": "аренды"}).text, clerk.get(f"/ui/cards/{lease.id}").text)
        clerk.get("/ui/lang/ru")
    for lang, title in (("ru", "Договор аренды"), ("kk", "Жалдау шарты"), ("en", "Lease agreement")):
        search, card = pages[lang]
        assert f'<span class="kind">{title}</span>' in search and f'<p class="kind">{title}' in card, lang
        assert f">{title}</option>" in card, lang


def test_an_unknown_field_is_said_in_the_chosen_language(site: Site) -> None:
    with site.client("clerk") as clerk:
        ru = clerk.get("/ui/search", params={"q": "автор:Новиков записка"}).text
        clerk.get("/ui/lang/kk")
        kk = clerk.get("/ui/search", params={"q": "автор:Новиков записка"}).text
        clerk.get("/ui/lang/ru")
    assert "Поля «автор» нет: искали как слова" in ru and "unknown field" not in ru
    assert "«автор» өрісі жоқ" in kk and "unknown field" not in kk


def test_review_reasons_are_phrased_in_the_chosen_language(site: Site) -> None:
    """The reason's detail was the recorded English message («kind not recognised (kept …)»)."""
    card = site.card("notes-3").card
    assert [r.code for r in card.review_reasons] == ["kind_unrecognised"] and card.review_reasons[0].details
    with site.client("clerk") as clerk:
        ru = clerk.get(f"/ui/cards/{card.id}").text
        queue = clerk.get("/ui/review").text
        clerk.get("/ui/lang/en")
        en = clerk.get(f"/ui/cards/{card.id}").text
        clerk.get("/ui/lang/ru")
    assert card.review_reasons[0].details["kind"] == "incoming"  # the hot folder's kind, named by its title
    assert "ни один вид не набрал достаточно; оставлен «Входящий документ»" in ru and "kind not recognised" not in ru
    assert "ни один вид не набрал достаточно" in queue
    assert "no kind scored enough; kept «Incoming document»" in en


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("ru", "ни одна страница не распознана: Tesseract распознавал эту страницу дольше 30 с (не удалось 3 раз)"),
     ("kk", "бірде-бір бет танылмады: Tesseract бұл бетті 30 с-тан ұзақ таныды (3 рет сәтсіз болды)"),
     ("en", "no page could be recognised: Tesseract took longer than 30 s on this page (failed 3 times)")],
)  # fmt: skip
def test_a_quarantine_reason_is_shown_in_the_chosen_language(locale: str, expected: str) -> None:
    """Reasons were the stages' English lines in every language of the UI."""
    from zoneinfo import ZoneInfo

    from ingest import reasons
    from ocr.errors import page_timed_out
    from workers.web.templating import Templates

    recorded = reasons.GAVE_UP % {"error": reasons.NO_PAGE_RECOGNISED % {"error": page_timed_out(30)}, "times": 3}
    env = Templates(ZoneInfo("Asia/Almaty"), "/ui", "/api/v1").environments[locale]
    assert env.from_string("{{ r|reason }}").render(r=recorded) == html.escape(expected, quote=True)
    # a reason made from no template (a server's own message) is shown as recorded, marked English
    shown = env.from_string("{{ r|reason }}").render(r="connection <refused>")
    assert shown == '<span lang="en">connection &lt;refused&gt;</span>'
    assert env.from_string("{{ r|reason }}").render(r=None) == ""
