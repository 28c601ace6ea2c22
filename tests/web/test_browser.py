"""The UI in a real headless Chromium (Debian's, driven by Playwright): what a clerk and an operator
do, end to end, over a real server and archive."""

from __future__ import annotations

import io
import re
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from app import pipeline
from app.intake import process_with_retries
from ocr.hocr import parse_hocr
from tests.web.conftest import LATER, PASSWORD, OpenPage, Site
from tests.web.screens import save_screenshot
from tests.web.textpages import write_text_pdf, write_text_png

_PAGE_BOX = re.compile(r"class='ocr_page'[^>]*bbox 0 0 (\d+) (\d+)")


def test_an_anonymous_visitor_is_sent_to_the_login_page_and_back(site: Site, open_page: OpenPage) -> None:
    page = open_page()
    page.goto("/ui/search?q=аренды")
    expect(page).to_have_url(re.compile(r"/ui/login\?next=/ui/search%3Fq%3D"))
    assert "ВХ-2026" not in page.content()
    page.fill("#name", "clerk")
    page.fill("#password", PASSWORD)
    page.keyboard.press("Enter")  # the form works from the keyboard
    page.wait_for_url(re.compile(r"/ui/search\?q="))
    expect(page.locator("#q")).to_have_value("аренды")
    expect(page.locator(".hit h2 a").first).to_have_text(site.card("lease").card.registration_number)


def _dark_fraction(page: Any, box: dict[str, float]) -> float:
    """The share of dark pixels in a rectangle of the page as shown."""
    shot = page.screenshot(clip={"x": box["x"], "y": box["y"], "width": box["width"], "height": box["height"]})
    gray = np.asarray(Image.open(io.BytesIO(shot)).convert("L"))
    return float((gray < 110).mean())


def test_a_clerk_finds_an_inflected_word_and_sees_it_marked_on_the_page_image(site: Site, open_page: OpenPage) -> None:
    lease = site.card("lease").card
    page = open_page("clerk")
    page.fill("#q", "договорами")
    page.press("#q", "Enter")
    page.wait_for_url(re.compile(r"/ui/search\?q=%D0%B4%D0%BE%D0%B3"))  # the query lives in the URL
    hit = page.locator(".hit").first
    expect(hit.locator("h2 a")).to_have_text(lease.registration_number)
    expect(hit.locator(".snippet mark").first).to_be_visible()
    assert {m.lower() for m in hit.locator(".snippet mark").all_inner_texts()} >= {"договор", "договору"}
    expect(hit.locator(".snippet .where").last).to_have_text("Страница 1")  # the highlight names the page
    save_screenshot(page, "search")

    hit.locator("h2 a").click()
    page.wait_for_url(re.compile(rf"/ui/cards/{lease.id}\?q=.+#page-1"))
    image = page.locator("#page-1 img")
    expect(image).to_have_js_property("complete", True)  # (not wait_for_function: the page's CSP forbids eval)
    assert image.evaluate("img => img.naturalWidth") > 0
    boxes = page.locator("#page-1 .hit-box")
    expect(boxes).to_have_count(2)
    # Each box is the hOCR word's box scaled to the image as shown, and the word is under it.
    hocr = page.context.request.get(f"/api/v1/cards/{lease.id}/pages/1/hocr").text()
    size = _PAGE_BOX.search(hocr)
    assert size is not None
    words = [w for w in parse_hocr(hocr) if w.text.lower() in ("договор", "договору")]
    shown = image.bounding_box()
    assert shown is not None
    scale = shown["width"] / int(size.group(1))
    for element, word in zip(boxes.all(), words, strict=True):
        assert word.bbox is not None
        box = element.bounding_box()
        assert box is not None
        expected = [shown["x"] + word.bbox[0] * scale, shown["y"] + word.bbox[1] * scale,
                    (word.bbox[2] - word.bbox[0]) * scale, (word.bbox[3] - word.bbox[1]) * scale]  # fmt: skip
        actual = [box["x"], box["y"], box["width"], box["height"]]
        assert all(abs(a - b) < 1.5 for a, b in zip(actual, expected, strict=True)), (actual, expected)
        assert element.get_attribute("data-word") == word.text
        assert _dark_fraction(page, box) > 0.03, f"no ink under the box of {word.text}"
    # A field's value shows where it was read: its box appears on the page image.
    page.locator("table.fields a", has_text="17-А").click()
    field_box = page.locator("#field-number")
    expect(field_box).to_be_visible()
    found = field_box.bounding_box()
    assert found is not None and _dark_fraction(page, found) > 0.03
    page.evaluate("window.scrollTo(0, 0)")
    save_screenshot(page, "card")


def test_a_clerk_corrects_a_field_and_finds_the_card_by_the_new_value(site: Site, open_page: OpenPage) -> None:
    notes = site.card("notes-1").card
    assert notes.status == "needs review"
    page = open_page("clerk")
    page.goto("/ui/review")
    page.locator(".queue a", has_text=notes.registration_number).click()
    page.select_option("#new-name-1", "number")
    page.fill("#new-value-1", "КЛ-4242")
    page.fill("#title", "Заметки к совещанию о ремонте")
    page.locator("#new-value-1").press("Enter")  # Enter saves
    page.wait_for_url(re.compile(r"/ui/(cards/[\w-]+\?review=1|review\?done=1)"))  # on to the next card
    assert notes.id not in page.url
    deadline = time.monotonic() + 15  # the index feed applies the change within a second or two
    while True:
        page.goto("/ui/search?q=number:КЛ-4242")
        if page.locator(".hit").count() or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    expect(page.locator(".hit h2 a")).to_have_text(notes.registration_number)
    page.locator(".hit h2 a").click()
    expect(page.locator(".card-head .badge")).to_have_class(re.compile("status-verified"))
    expect(page.locator(".history")).to_contain_text("КЛ-4242")
    expect(page.locator(".history")).to_contain_text("user:clerk")


def test_a_stale_correction_is_refused_with_a_clear_message(site: Site, open_page: OpenPage) -> None:
    card = site.card("notes-2").card
    first = open_page("clerk")
    second = first.context.new_page()
    for page in (first, second):
        page.goto(f"/ui/cards/{card.id}")
        page.locator("details.correct summary").click()
        page.select_option("#kind", "service_memo")  # its kind is the hot folder's, not a configured one
    first.bring_to_front()  # a background tab gets no animation frames: Playwright's clicks would wait
    first.fill("#title", "Перечень вопросов (первая правка)")
    first.click("button[value=save].primary")
    expect(first.locator(".notice.ok")).to_be_visible()
    second.bring_to_front()
    second.fill("#title", "Перечень вопросов (вторая правка)")
    with second.expect_response(lambda r: r.url.endswith("/review") and r.request.method == "POST") as answer:
        second.click("button[value=save].primary")
    assert answer.value.status == 409
    expect(second.locator("#stale")).to_contain_text("версии 2")
    expect(second.locator(".card-head .title")).to_have_text("Перечень вопросов (первая правка)")
    assert site.services.catalog.get_card(card.id).card.title == "Перечень вопросов (первая правка)"  # type: ignore[union-attr]


def _drop_batch(site: Site) -> tuple[str, list[str], Path]:
    """A batch folder in the hot folder, recorded but not processed: four scans and a broken file."""
    folder = site.inbox / "batch-0317"
    folder.mkdir()
    for i in range(1, 5):
        write_text_png(folder / f"page-{i}.png", f"batch-{i}", LATER[f"batch-{i}"])
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not a PDF at all\n")
    services = site.services
    batch_id = services.catalog.open_batch(str(site.inbox.resolve()), folder.name)
    pending: list[str] = []
    for path in sorted(folder.iterdir()):
        pipeline.intake_file(path, batch_id, services, pending.append)
    return batch_id, pending, folder


def test_an_operator_sees_a_batch_progress_and_retries_a_quarantined_file(site: Site, open_page: OpenPage) -> None:
    batch_id, pending, folder = _drop_batch(site)
    page = open_page("operator")
    page.goto("/ui/operator")
    batch = page.locator(f'.batch[data-batch="{batch_id}"]')
    expect(batch.locator(".chip.pending")).to_have_attribute("data-count", "5")
    page.evaluate("window.notReloaded = true")

    def work() -> None:
        for input_id in pending:
            time.sleep(0.4)
            process_with_retries(input_id, site.services)

    worker = threading.Thread(target=work)
    worker.start()
    expect(batch.locator(".chip.archived")).to_have_attribute("data-count", re.compile("[1-3]"), timeout=20_000)
    expect(batch.locator(".chip.archived")).to_have_attribute("data-count", "4", timeout=20_000)
    expect(batch.locator(".chip.quarantined")).to_have_attribute("data-count", "1")
    worker.join()
    assert page.evaluate("window.notReloaded") is True  # the page updated itself

    quarantined = site.inbox / "quarantine" / folder.name / "broken.pdf"
    assert quarantined.is_file() and quarantined.with_name("broken.pdf.reason.txt").is_file()
    page.reload()
    item = page.locator(".quarantined-file", has_text="broken.pdf")
    expect(item.locator(".reason")).to_contain_text("PDF обрезан (нет маркера конца файла)")  # in the clerk's language
    expect(item.locator(".reason .meta")).to_contain_text("распознавание")  # the stage too
    expect(item.locator("details summary")).to_contain_text("broken.pdf.reason.txt")
    write_text_pdf(quarantined, [("fixed-scan", LATER["fixed-scan"])])
    page.reload()
    expect(item.locator(".retry .hint")).to_contain_text("замена")
    item.locator(".retry button").click()
    expect(page.locator(".notice.ok")).to_be_visible()
    deadline = time.monotonic() + 20
    while not item.locator(".retried .outcome-archived").count() and time.monotonic() < deadline:
        time.sleep(0.3)
        page.reload()
    expect(item.locator(".retried .outcome-archived")).to_be_visible()
    expect(item.locator(".retried a")).to_have_text(re.compile(r"ВХ-\d{4}-\d{6}"))
    page.locator(f'a[href="/ui/operator/batches/{batch_id}"]').first.click()
    expect(page.locator("table.ledger tbody tr")).to_have_count(5)


def test_the_language_switch_changes_words_dates_and_numbers(site: Site, open_page: OpenPage) -> None:
    lease = site.card("lease").card
    page = open_page("clerk", width=820, height=1180)  # a tablet, upright
    page.goto(f"/ui/cards/{lease.id}")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page.locator("nav.sections")).to_contain_text("Поиск")
    russian_date = page.locator(".facts div", has_text="Дата документа").locator("dd").inner_text()
    page.get_by_role("link", name="Қазақша").click()
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.locator("nav.sections")).to_contain_text("Іздеу")
    page.get_by_role("link", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("nav.sections")).to_contain_text("Search")
    english_date = page.locator(".facts div", has_text="Document date").locator("dd").inner_text()
    assert (russian_date, english_date) == ("1 февр. 2026\u202fг.", "Feb 1, 2026")  # CLDR: a narrow space before «г.»
    expect(page.locator("table.fields tbody tr", has_text="Date").locator("td.num").first).to_have_text("85%")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 820, "the card page scrolls sideways on a tablet"


def test_a_double_click_on_save_over_a_slow_server_saves_once(site: Site, open_page: OpenPage) -> None:
    """The second click went out as a second post of the same version and came back as «someone
    else changed this card» (409), though the change was the clerk's own."""
    card = site.card("letter-kk").card  # no other test reads or changes it
    page = open_page("clerk")
    page.goto(f"/ui/cards/{card.id}")
    posts: list[str] = []

    def slow(route: Any) -> None:
        posts.append(route.request.method)
        time.sleep(1.5)
        route.continue_()

    page.route("**/review", slow)
    page.locator("details.correct summary").click()
    page.select_option("#kind", "service_memo")
    page.fill("#title", "Қызметтік хат (бір рет сақталды)")
    # Two clicks 0.3 s apart, the second while the first answer is on its way (the clicks as the
    # browser delivers them: a click event on the button submits its form).
    page.evaluate("""() => { const b = document.querySelector('button[value=save].primary');
                              b.click(); setTimeout(() => b.click(), 300); }""")
    expect(page.locator(".notice.ok")).to_be_visible(timeout=15_000)
    assert posts == ["POST"] and page.locator("#stale").count() == 0
    after = site.services.catalog.get_card(card.id)
    assert after is not None and after.card.title == "Қызметтік хат (бір рет сақталды)" and after.card.version == card.version + 1


def test_the_dashboard_says_when_its_figures_stop_updating(site: Site, open_page: OpenPage) -> None:
    page = open_page("operator")
    page.goto("/ui/operator")
    notice = page.locator(".live-stale")
    expect(notice).to_be_hidden()
    page.route("**/operator/live", lambda route: route.fulfill(status=503, body="down"))
    expect(notice).to_be_visible(timeout=10_000)
    expect(notice).to_contain_text("сервер не отвечает")
    page.unroute("**/operator/live")
    expect(notice).to_be_hidden(timeout=10_000)
