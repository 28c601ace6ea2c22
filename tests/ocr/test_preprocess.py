"""Preprocessing steps on rendered pages, without Tesseract."""

from __future__ import annotations

import numpy as np
import pytest

from ocr import preprocess as pp
from ocr.hocr import HocrLine, mean_confidence, parse_hocr, parse_words
from tests import pages as P


@pytest.fixture(scope="module")
def page() -> np.ndarray:
    return P.render_page(P.TEXTS["rus"])


@pytest.mark.parametrize("degrees", [-15.0, -7.5, -2.0, 0.0, 1.0, 4.0, 12.0])
def test_skew_is_estimated_within_a_third_of_a_degree(page: np.ndarray, degrees: float) -> None:
    est = pp.estimate_skew(P.skew(page, degrees))
    assert est.angle == pytest.approx(degrees, abs=0.3)
    assert not est.sideways


def test_deskewing_by_the_estimate_straightens_the_page(page: np.ndarray) -> None:
    tilted = P.skew(page, 6.0)
    straight = pp.rotate(tilted, -pp.estimate_skew(tilted).angle)
    assert abs(pp.estimate_skew(straight).angle) <= 0.2


@pytest.mark.parametrize("turn", [90, 270])
def test_sideways_pages_are_recognised_as_sideways(page: np.ndarray, turn: int) -> None:
    assert pp.estimate_skew(P.turn(page, turn)).sideways


def test_single_text_line_is_never_called_sideways() -> None:
    line = P.render_page("ЗАПИСКА", dpi=300)[250:330, 200:700]
    assert not pp.estimate_skew(P.turn(line, 90)).sideways


def test_turn_is_lossless_and_composes(page: np.ndarray) -> None:
    assert np.array_equal(pp.turn(pp.turn(page, 90), 270), page)


def test_noise_level_separates_noisy_scans_from_clean_ones(page: np.ndarray) -> None:
    assert pp.noise_level(page) < 1.0
    assert pp.noise_level(P.jpeg(page)) < 1.0
    assert pp.noise_level(P.noisy(page)) > 5.0


def test_cleaning_a_noisy_page_leaves_two_tones(page: np.ndarray) -> None:
    cleaned = pp.clean_noisy(P.noisy(page))
    assert set(np.unique(cleaned)) <= {0, 255}
    assert pp.noise_level(cleaned) < 1.0


def test_dark_scanner_border_is_whitened(page: np.ndarray) -> None:
    bordered = P.dark_border(page)
    out, changed = pp.whiten_borders(bordered)
    assert changed
    assert out[:60, :].min() > 200 and out[:, :60].min() > 200
    assert np.array_equal(out[500:900, 300:1500], bordered[500:900, 300:1500])  # text untouched
    _, changed_clean = pp.whiten_borders(page)
    assert not changed_clean


def test_hocr_words_boxes_and_confidences_are_parsed() -> None:
    hocr = (
        "<span class='ocr_line' title='bbox 1 2 3 4'>"
        "<span class='ocrx_word' id='w1' title='bbox 10 20 110 60; x_wconf 96'>Счёт</span> "
        "<span class='ocrx_word' id='w2' title='bbox 120 20 200 60; x_wconf 50'><strong>&amp;Co</strong></span>"
        "<span class='ocrx_word' id='w3' title='bbox 1 1 2 2; x_wconf 10'> </span></span>"
    )
    words = parse_words(hocr)
    assert [w.text for w in words] == ["Счёт", "&Co"]
    assert words[0].box == (10, 20, 110, 60)
    assert words[0].confidence == pytest.approx(0.96)
    # Longer words weigh more: (4*0.96 + 3*0.50) / 7
    assert mean_confidence(words) == pytest.approx((4 * 0.96 + 3 * 0.5) / 7)


def test_hocr_words_know_their_line_and_its_baseline() -> None:
    hocr = (
        "<span class='ocrx_word' title='bbox 5 5 9 9; x_wconf 70'>before</span>"
        "<span class='ocr_line' title='bbox 10 20 300 60; baseline 0.01 -8; x_size 30'>"
        "<span class='ocrx_word' title='bbox 10 20 110 60; x_wconf 96'>one</span></span>"
        "<span class=\"ocr_header\" title=\"bbox 0 100 50 140\">"
        "<span class=\"ocrx_word\" title=\"x_wconf 40\">two</span></span>"
    )
    before, one, two = parse_hocr(hocr)
    assert before.line is None and before.bbox == (5, 5, 9, 9)
    assert one.line == HocrLine((10, 20, 300, 60), 0.01, -8.0, 30.0)
    assert two.line == HocrLine((0, 100, 50, 140), 0.0, 0.0, 40.0)  # no baseline or x_size: the box's height
    assert two.bbox is None and parse_words(hocr)[2].box == (0, 0, 0, 0)
