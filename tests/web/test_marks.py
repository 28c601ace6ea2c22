"""The search's words on a page: in its text and as boxes on its image; a field's box."""

from __future__ import annotations

import numpy as np

from ocr.fake import page_text
from workers.web.marks import QueryWords, field_box, hit_boxes, marked_text, page_layout

TEXT = "ДОГОВОР АРЕНДЫ № 17-А\nпо договору аренды <b>склада</b>\nакт приёма и акт сдачи"


def _layout(text: str = TEXT, size: tuple[int, int] = (1240, 1754)):  # type: ignore[no-untyped-def]
    hocr = page_text(text, 0.9, np.full((size[1], size[0]), 255, np.uint8), 150).hocr
    layout = page_layout(hocr)
    assert layout is not None
    return layout


def test_inflected_forms_are_marked_in_the_text_and_the_rest_is_escaped() -> None:
    html = str(marked_text(TEXT, QueryWords.of("договорами")))
    assert html.count("<mark>") == 2
    assert "<mark>ДОГОВОР</mark>" in html and "<mark>договору</mark>" in html
    assert "&lt;b&gt;склада&lt;/b&gt;" in html  # the page's text is never markup


def test_prefixes_and_phrases_mark_what_the_index_matched() -> None:
    assert str(marked_text(TEXT, QueryWords.of("скла*"))).count("<mark>") == 1
    phrase = str(marked_text(TEXT, QueryWords.of('"акт приёма"')))
    assert "<mark>акт</mark> <mark>приёма</mark> и акт сдачи" in phrase  # the second «акт» is not in the phrase
    assert str(marked_text(TEXT, QueryWords.of(""))) == str(marked_text(TEXT, QueryWords.of("-договор")))


def test_hit_boxes_are_the_words_boxes_in_percent_of_the_page() -> None:
    layout = _layout()
    boxes = hit_boxes(layout, QueryWords.of("договор"))
    words = [w for w in layout.words if w.text.lower().startswith("договор")]
    assert [b.text for b in boxes] == [w.text for w in words] == ["ДОГОВОР", "договору"]
    for box, word in zip(boxes, words, strict=True):
        assert word.bbox is not None
        left, top, right, bottom = word.bbox
        assert abs(box.left - 100 * left / 1240) < 1e-9 and abs(box.top - 100 * top / 1754) < 1e-9
        assert abs(box.width - 100 * (right - left) / 1240) < 1e-9 and abs(box.height - 100 * (bottom - top) / 1754) < 1e-9
    assert "left:" in boxes[0].style and boxes[0].style.endswith("%")


def test_a_fields_box_covers_the_words_of_its_span() -> None:
    layout = _layout()
    offset = TEXT.index("17-А")
    box = field_box(layout, TEXT, offset, len("17-А"))
    word = next(w for w in layout.words if w.text == "17-А")
    assert box is not None and word.bbox is not None
    assert abs(box.left - 100 * word.bbox[0] / 1240) < 1e-9 and box.text == "17-А"
    two_lines = field_box(layout, TEXT, TEXT.index("АРЕНДЫ"), len("АРЕНДЫ № 17-А\nпо"))
    assert two_lines is not None and two_lines.height > box.height  # words on two lines: one box around them
    assert field_box(layout, TEXT, len(TEXT) + 5, 3) is None


def test_a_page_without_a_size_has_no_layout() -> None:
    assert page_layout("<div class='ocr_page' title='image \"x.png\"; ppageno 0'></div>") is None
    assert page_layout("not hocr at all") is None
    real = page_layout("<div class='ocr_page' id='page_1' title='image \"/tmp/a.png\"; bbox 0 0 2480 3508; ppageno 0'>")
    assert real is not None and (real.width, real.height) == (2480, 3508)
