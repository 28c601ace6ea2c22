"""Ruled forms: rules are found and removed where a page has them, and a table is read row by row."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from ocr.config import OcrConfig
from ocr.hocr import hocr_document
from ocr.model import PageText
from ocr.page import recognize_page
from ocr.rules import find_rules, remove_rules
from ocr.tables import in_row_order, table_rows
from tests import pages as P
from tests.forms import make_form, render_form, render_table

ROWS = [
    ("№", "Наименование", "Кол-во", "Ед.", "Цена", "Сумма"),
    ("1", "Бумага офисная", "12", "уп", "350,00", "4 200,00"),
    ("2", "Степлер", "3", "шт", "1 250,50", "3 751,50"),
    ("3", "Картридж", "2", "шт", "7 900,00", "15 800,00"),
]


def _small(gray: np.ndarray) -> np.ndarray:
    """The top part of the page (where the table is): smaller pages keep the suite fast."""
    return np.ascontiguousarray(gray[: gray.shape[0] // 2])


def test_a_ruled_table_has_its_rows_and_columns_found() -> None:
    rules = find_rules(render_table(ROWS), 300)
    assert rules is not None
    assert len(rules.horizontal) == len(ROWS) + 1
    assert len(rules.vertical) == len(ROWS[0]) + 1
    rows = table_rows(rules, 300)
    assert len(rows) == len(ROWS)
    assert all(len(r.cuts) == len(ROWS[0]) + 1 for r in rows)
    assert [r.top for r in rows] == sorted(r.top for r in rows)


def test_a_page_of_text_has_no_rules() -> None:
    page = P.render_page(P.TEXTS["rus"])
    assert find_rules(page, 300) is None
    cv2.line(page, (200, 250), (2300, 250), 0, 3)  # a rule under the heading and one over the
    cv2.line(page, (200, 3000), (2300, 3000), 0, 3)  # footer: no grid, nothing to do
    assert find_rules(page, 300) is None


def test_removing_rules_keeps_every_letter_pixel_inside_the_cells() -> None:
    page = render_table(ROWS)
    rules = find_rules(page, 300)
    assert rules is not None
    out = remove_rules(page, rules)
    assert find_rules(out, 300) is None or not find_rules(out, 300).vertical  # type: ignore[union-attr]
    far = cv2.dilate(rules.mask, np.ones((15, 15), np.uint8)) == 0  # away from every line
    assert np.array_equal(out[far] < 128, page[far] < 128)
    assert (out < 128).sum() < (page < 128).sum()  # the vertical lines' ink is gone


def test_a_stroke_crossing_a_rule_is_mended() -> None:
    page = np.full((600, 1000), 255, np.uint8)
    cv2.line(page, (300, 50), (300, 550), 0, 3)  # a vertical rule
    cv2.line(page, (40, 100), (960, 100), 0, 3)  # two horizontal ones: a page with rules
    cv2.line(page, (40, 500), (960, 500), 0, 3)
    page[300:306, 280:321] = 0  # a letter's bar crossing the vertical rule
    rules = find_rules(page, 300)
    assert rules is not None and rules.vertical
    out = remove_rules(page, rules)
    assert (out[300:306, 280:321] < 128).all()  # the bar is whole
    assert (out[200:250, 298:303] > 128).all()  # the rule above it is gone


def test_row_order_puts_each_row_on_one_line_with_its_cells_in_order() -> None:
    # A scripted engine's view of the table: Tesseract read it column by column.
    rules = find_rules(render_table(ROWS), 300)
    assert rules is not None
    rows = table_rows(rules, 300)
    words, lines = [], []
    for c in range(len(ROWS[0])):
        for r, row in enumerate(rows):
            x = (row.cuts[c] + row.cuts[c + 1]) // 2
            y = (row.top + row.bottom) // 2
            lines.append(ROWS[r][c])
            words.append(f"<span class='ocr_line' title='bbox {x} {y} {x + 10} {y + 10}'>"
                         + "".join(f"<span class='ocrx_word' title='bbox {x + i} {y} {x + i + 1} {y + 10}; x_wconf 90'>{w}</span>"
                                   for i, w in enumerate(ROWS[r][c].split()))
                         + "</span>")  # fmt: skip
    text = PageText("\n".join(lines), (), hocr_document("".join(words), "test"), None)
    out = in_row_order(text, rules, 300).text.splitlines()
    assert out == ["\t".join(row) for row in ROWS]


def test_a_text_that_is_not_the_engines_line_for_line_is_left_alone() -> None:
    rules = find_rules(render_table(ROWS), 300)
    assert rules is not None
    text = PageText("something else", (), hocr_document("", "test"), None)
    assert in_row_order(text, rules, 300) is not None
    assert in_row_order(text, rules, 300).text == "something else"


@pytest.mark.tesseract
def test_a_ruled_forms_cells_come_out_whole_and_in_row_order(engine) -> None:
    form = make_form(7, n_items=4)
    page = recognize_page(1, _small(render_form(form)), 300, OcrConfig(languages="rus+eng"), engine)
    assert "rules" in page.steps
    lines = page.text.splitlines()
    at = []
    for item in form.items:
        line = next(n for n, ln in enumerate(lines) if item.name in ln)
        cells = [c.strip() for c in lines[line].split("\t")]
        assert item.name in cells  # the name's cell whole, not cut by a rule
        assert cells[-1].replace(" ", "") == form.rows[len(at) + 1][-1].replace(" ", "")  # the amount on the same line
        at.append(line)
    assert at == sorted(at)


@pytest.mark.tesseract
def test_a_clean_page_gets_no_rules_step(engine) -> None:
    page = recognize_page(1, _small(P.render_page(P.TEXTS["rus"])), 300, OcrConfig(languages="rus+eng"), engine)
    assert "rules" not in page.steps
    assert "ЗАПИСКА" in page.text


def test_a_label_left_of_a_row_joins_that_row() -> None:
    rules = find_rules(render_table(ROWS), 300)
    assert rules is not None
    last = table_rows(rules, 300)[-1]
    y = (last.top + last.bottom) // 2
    x = (last.cuts[-2] + last.cuts[-1]) // 2

    def line(x: int, text: str) -> str:
        return (f"<span class='ocr_line' title='bbox {x} {y} {x + 50} {y + 10}'>"
                f"<span class='ocrx_word' title='bbox {x} {y} {x + 50} {y + 10}; x_wconf 90'>{text}</span></span>")  # fmt: skip

    hocr = hocr_document(line(x, "15 800,00".replace(" ", "")) + line(last.left - 150, "Итого"), "test")
    out = in_row_order(PageText("15800,00\nИтого", (), hocr, None), rules, 300).text
    assert out == "Итого\t15800,00"
    far = hocr_document(line(x, "15800,00") + line(last.left - 600, "Итого"), "test")  # two inches off: not the row's
    assert in_row_order(PageText("15800,00\nИтого", (), far, None), rules, 300).text == "15800,00\nИтого"


def test_light_text_on_a_dark_ground_is_left_alone() -> None:
    # a slide in white on black: the dark gaps between letters would look like rules
    assert find_rules(255 - render_table(ROWS), 300) is None
    binary = np.where(255 - render_table(ROWS) > 127, 255, 0).astype(np.uint8)  # the same, binarised
    assert find_rules(binary, 300) is None
