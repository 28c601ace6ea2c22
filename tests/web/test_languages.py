"""The UI in the chosen language: field values and history in the locale's formats, review
reasons and the hot folder's kind in words, error details and token scopes translated; and the
operator's quarantine list telling a replacement from the untouched original."""

from __future__ import annotations

import contextlib
import html
import re
from collections.abc import Iterator

import httpx

from app import accounts, pipeline, review
from app.intake import process_with_retries
from tests.web.conftest import Site


NBSP, NNBSP = "\xa0", "\u202f"


@contextlib.contextmanager
def in_language(client: httpx.Client, lang: str) -> Iterator[None]:
    """The client's pages in ``lang`` (the switch's cookie), then in Russian again."""
    client.get(f"/ui/lang/{lang}")
    try:
        yield
    finally:
        client.get("/ui/lang/ru")


def _section(page: str, start: str, end: str) -> str:
    at = page.index(start)
    return page[at : page.index(end, at)]


def _rows(table: str) -> dict[str, str]:
    """A fields table's rows: label → value (tags stripped)."""
    rows = re.findall(r'<th scope="row">(.*?)</th>\s*<td>(.*?)</td>', table, re.S)
    return {html.unescape(label): html.unescape(re.sub(r"<[^>]+>", "", value)) for label, value in rows}


def _history(page: str) -> list[str]:
    """The changes listed in a card's history, newest first, tags stripped."""
    lists = re.findall(r"<ul>(.*?)</ul>", _section(page, '<ol class="history">', "</ol>"), re.S)
    found = [line for changes in lists for line in re.findall(r"<li>(.*?)</li>", changes, re.S)]
    return [html.unescape(re.sub(r"<[^>]+>", "", line)).strip() for line in found]


def _quarantine_hint(site: Site, input_id: str) -> str:
    with site.client("operator") as operator:
        page = operator.get("/ui/operator").text
    article = _section(page, f'data-input="{input_id}"', "</article>")
    hint = re.search(r'<span class="hint">([^<]*)</span>', article)
    assert hint is not None, article
    return html.unescape(hint.group(1))


def test_the_quarantine_list_announces_a_replacement_only_when_the_file_differs(site: Site) -> None:
    """Right after a file was quarantined the page said a replacement was waiting: the file in
    the quarantine folder was the untouched original."""
    folder = site.inbox / "batch-torn"
    folder.mkdir()
    original = b"%PDF-1.4\ntorn off in the middle\n"
    (folder / "torn.pdf").write_bytes(original)
    batch_id = site.services.catalog.open_batch(str(site.inbox.resolve()), folder.name)
    pending: list[str] = []
    pipeline.intake_file(folder / "torn.pdf", batch_id, site.services, pending.append)
    (input_id,) = pending
    process_with_retries(input_id, site.services)
    row = site.services.catalog.get_input(input_id)
    assert row is not None and row.outcome == "quarantined"
    moved = site.inbox / "quarantine" / folder.name / "torn.pdf"
    assert moved.read_bytes() == original

    none = "Замены нет: повторно будет обработан сохранённый оригинал."
    waiting = "В папке карантина лежит замена: будет взята она."
    assert _quarantine_hint(site, input_id) == none
    moved.write_bytes(original.replace(b"torn off", b"TORN OFF"))  # the same size, other bytes
    assert _quarantine_hint(site, input_id) == waiting
    moved.write_bytes(original + b"%%EOF\n")
    assert _quarantine_hint(site, input_id) == waiting
    moved.write_bytes(original)  # put back as it was
    assert _quarantine_hint(site, input_id) == none


def test_kazakh_dates_and_times_write_the_year_in_four_digits(site: Site) -> None:
    """Kazakh short dates were «02.12.26» (CLDR's pattern has a two-digit year)."""
    lease = site.card("lease").card
    with site.client("clerk") as clerk:
        with in_language(clerk, "kk"):
            page = clerk.get(f"/ui/cards/{lease.id}").text
    facts = _section(page, '<dl class="facts">', "</dl>")
    history = _section(page, '<ol class="history">', "</ol>")
    year = lease.registered_at.year
    for part in (facts, history):
        assert re.search(rf">\d{{2}}\.\d{{2}}\.{year}, \d{{2}}:\d{{2}}<", part), part
        assert not re.search(r">\d{2}\.\d{2}\.\d{2}, ", part), part


def test_an_unknown_card_or_batch_is_said_in_the_chosen_language(site: Site) -> None:
    """The 404 page's detail was the archive's English («no card has id or number 'nosuch'»)."""
    with site.client("clerk") as clerk:
        ru = clerk.get("/ui/cards/nosuch")
        with in_language(clerk, "kk"):
            kk = clerk.get("/ui/cards/nosuch")
    with site.client("operator") as operator:
        batch = operator.get("/ui/operator/batches/nosuch")
    assert ru.status_code == kk.status_code == batch.status_code == 404
    assert "Нет карточки с идентификатором или регистрационным номером «nosuch»." in ru.text
    assert "«nosuch» идентификаторы немесе тіркеу нөмірі бар карточка жоқ." in kk.text
    assert "Нет пакета с идентификатором «nosuch»." in batch.text
    for answer in (ru, kk, batch):
        assert "no card has" not in answer.text and "no batch" not in answer.text.lower()


def test_a_query_that_cannot_be_run_is_led_in_the_chosen_language(site: Site) -> None:
    """The search layer's reason is English text (QueryError carries no parameters): the lead is
    translated and the reason is marked English for the browser and screen readers."""
    with site.client("clerk") as clerk:
        page = clerk.get("/ui/search", params={"q": "registered:2026-13"}).text
    notice = _section(page, '<p class="notice error"', "</p>")
    assert "Запрос нельзя выполнить:" in notice
    assert re.search(r'<span lang="en">registered:2026-13: month 13 does not exist[^<]*</span>', notice)


def test_token_scopes_are_named_in_the_chosen_language(site: Site) -> None:
    """The administrator's page showed «read», «write», «admin»."""
    for name, scope in (("lang-reader", "read"), ("lang-writer", "write"), ("lang-admin", "admin")):
        accounts.create_token(site.services, name, scope)  # type: ignore[arg-type]
    with site.client("administrator") as admin:
        ru = admin.get("/ui/admin").text
        with in_language(admin, "kk"):
            kk = admin.get("/ui/admin").text
    for page, words in ((ru, ("чтение", "чтение, проверка и загрузка", "всё, включая администрирование")),
                        (kk, ("оқу", "оқу, тексеру және жүктеу", "барлығы, әкімшілендіруді қоса"))):  # fmt: skip
        cells = dict(re.findall(r'<th scope="row">(lang-\w+)</th><td>([^<]*)</td>', page))
        assert cells == dict(zip(("lang-reader", "lang-writer", "lang-admin"), words, strict=True)), cells


def test_the_kind_a_hot_folder_gives_is_named_in_every_language(site: Site) -> None:
    """«incoming» (the hot folder's kind, kept when no kind is recognised) was shown as its id in
    the facets, the hits, the card, the review queue and the form of every language."""
    notes = site.card("notes-3").card
    assert notes.kind == "incoming"
    names = {"ru": "Входящий документ", "kk": "Кіріс құжат", "en": "Incoming document"}
    with site.client("clerk") as clerk:
        for lang, name in names.items():
            with in_language(clerk, lang):
                search = clerk.get("/ui/search", params={"q": "Черновик"}).text
                card = clerk.get(f"/ui/cards/{notes.id}").text
                queue = clerk.get("/ui/review").text
            facets = _section(search, 'class="facets"', "</aside>")
            assert f">{name}</a>" in facets and ">incoming<" not in facets, lang
            assert f'<span class="kind">{name}</span>' in search, lang
            assert f'<p class="kind">{name}' in card, lang
            assert f"«{name}»" in card and "incoming" not in _section(card, 'id="reasons-h"', "</section>"), lang
            assert f"«{name}»" in _section(card, '<select id="kind"', "</select>"), lang
            row = _section(queue, notes.registration_number, "</tr>")
            assert f"<td>{name} " in row and "incoming" not in row, lang


def test_the_fields_table_writes_dates_and_amounts_in_the_chosen_language(site: Site) -> None:
    """Dates were «2024-03-12» and amounts «1234567.89» in every language, beside a heading that
    said «12 мар. 2024 г.»; the correction form keeps the values as stored."""
    invoice = site.card("invoice").card
    assert (invoice.fields["date"].value, invoice.fields["amount"].value) == ("2024-03-12", "1234567.89")
    expected = {
        "ru": ("Дата", f"12 мар. 2024{NNBSP}г.", "Сумма", f"1{NBSP}234{NBSP}567,89"),
        "kk": ("Күні", f"2024{NNBSP}ж. 12 нау.", None, f"1{NBSP}234{NBSP}567,89"),
        "en": ("Date", "Mar 12, 2024", "Amount", "1,234,567.89"),
    }
    with site.client("clerk") as clerk:
        for lang, (date_label, date, amount_label, amount) in expected.items():
            with in_language(clerk, lang):
                page = clerk.get(f"/ui/cards/{invoice.id}").text
            rows = _rows(_section(page, 'id="fields-h"', "</table>"))
            assert rows[date_label] == date, (lang, rows)
            assert amount in rows.values() and "1234567.89" not in rows.values(), (lang, rows)
            if amount_label:
                assert rows[amount_label] == amount
            # the form's inputs keep the stored values: that is what is sent back
            assert 'name="field:date" value="2024-03-12"' in page and 'name="field:amount" value="1234567.89"' in page


def test_the_history_shows_each_change_once_with_dates_and_reasons_in_the_chosen_language(site: Site) -> None:
    """A correction listed «Дата документа» and «Дата», «Номер документа» and «Номер», the kind
    and the correspondent twice each (the card's column and its field); dates were ISO and the
    review reasons the recorded English («kind not recognised (kept incoming)»)."""
    order = site.card("order").card
    assert order.kind == "incoming" and order.fields["date"].value == "2026-03-05"
    correction = review.Correction(kind="order", fields={"date": "2026-03-06", "number": "12-к"})
    review.correct(site.services, order.id, correction, "user:clerk", expected_version=order.version)
    with site.client("clerk") as clerk:
        ru = _history(clerk.get(f"/ui/cards/{order.id}").text)
        with in_language(clerk, "en"):
            en = _history(clerk.get(f"/ui/cards/{order.id}").text)
    kind = review.kinds(site.services).get("order")
    assert kind is not None
    assert ru == [
        f"Дата: 5 мар. 2026{NNBSP}г. → 6 мар. 2026{NNBSP}г.",
        "Номер: 12 → 12-к",
        f"Вид документа: Входящий документ → {kind.title}",
        "Статус: на проверке → проверена",
        "Причины проверки: Вид документа не распознан (Вид документа): ни один вид не набрал достаточно; "
        "оставлен «Входящий документ» → —",
    ], ru
    assert "Date: Mar 5, 2026 → Mar 6, 2026" in en
    assert "Review reasons: Kind not recognised (Kind): no kind scored enough; kept «Incoming document» → —" in en
    assert not any("kind not recognised" in line for line in ru + en)
