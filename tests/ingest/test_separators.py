"""Blank-page and QR/barcode separator sheets, on pages drawn with OpenCV."""

from __future__ import annotations

import cv2
import numpy as np
import numpy.typing as npt
import pytest

from ingest.separators import is_blank_page, read_codes

HEIGHT, WIDTH = 1754, 1240  # A4 at 150 dpi
Page = npt.NDArray[np.uint8]


def white_page(level: int = 245) -> Page:
    return np.full((HEIGHT, WIDTH), level, np.uint8)


def text_page(text: str = "Incoming letter No. 45", scale: float = 1.0) -> Page:
    page = white_page()
    cv2.putText(page, text, (150, 700), cv2.FONT_HERSHEY_SIMPLEX, scale, 0, 2, cv2.LINE_AA)
    return page


def scanned_empty_sheet(seed: int = 0) -> Page:
    """An empty sheet as a scanner returns it: sensor noise, dust specks, black lid borders."""
    rng = np.random.default_rng(seed)
    noisy = white_page().astype(np.int16) + rng.normal(0, 15, (HEIGHT, WIDTH)).astype(np.int16)
    page = np.clip(noisy, 0, 255).astype(np.uint8)
    for _ in range(80):
        x, y = int(rng.integers(100, WIDTH - 100)), int(rng.integers(100, HEIGHT - 100))
        cv2.circle(page, (x, y), int(rng.integers(0, 2)), 60, -1)
    page[:, :55] = 15
    page[:45, :] = 20
    page[-70:, :] = 10
    page[:, -30:] = 25
    return page


def qr_page(text: str) -> Page:
    encoder = cv2.QRCodeEncoder.create()
    code = cv2.resize(encoder.encode(text), None, fx=10, fy=10, interpolation=cv2.INTER_NEAREST)
    page = white_page(255)
    page[300 : 300 + code.shape[0], 300 : 300 + code.shape[1]] = code
    return page


def ean13_page(first12: str) -> tuple[Page, str]:
    left_odd = ["0001101", "0011001", "0010011", "0111101", "0100011", "0110001", "0101111", "0111011", "0110111",
                "0001011"]
    left_even = ["".join("1" if b == "0" else "0" for b in code)[::-1] for code in left_odd]
    right = ["".join("1" if b == "0" else "0" for b in code) for code in left_odd]
    parity = ["LLLLLL", "LLGLGG", "LLGGLG", "LLGGGL", "LGLLGG", "LGGLLG", "LGGGLL", "LGLGLG", "LGLGGL", "LGGLGL"]
    digits = [int(c) for c in first12]
    digits.append((10 - sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits)) % 10) % 10)
    bits = "101"
    for i, kind in enumerate(parity[digits[0]]):
        bits += (left_odd if kind == "L" else left_even)[digits[i + 1]]
    bits += "01010" + "".join(right[d] for d in digits[7:]) + "101"
    row = np.repeat(np.array([0 if b == "1" else 255 for b in bits], np.uint8), 4)
    page = white_page(255)
    page[700:900, 300 : 300 + row.size] = row
    return page, "".join(map(str, digits))


def test_a_white_page_is_blank() -> None:
    assert is_blank_page(white_page())


def test_a_page_with_one_line_of_text_is_not_blank() -> None:
    assert not is_blank_page(text_page())


def test_a_page_with_one_short_word_is_not_blank() -> None:
    assert not is_blank_page(text_page("OK", scale=0.8))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_scanned_empty_sheet_with_noise_and_dark_borders_is_blank(seed: int) -> None:
    assert is_blank_page(scanned_empty_sheet(seed))


def test_text_on_a_noisy_sheet_with_borders_is_not_blank() -> None:
    assert not is_blank_page(np.minimum(scanned_empty_sheet(), text_page()))


def test_a_dark_page_is_never_blank() -> None:
    assert not is_blank_page(white_page(30))


def test_colour_pages_are_accepted() -> None:
    colour = cv2.cvtColor(text_page(), cv2.COLOR_GRAY2BGR)
    assert not is_blank_page(colour)
    assert is_blank_page(cv2.cvtColor(white_page(), cv2.COLOR_GRAY2BGR))


def test_read_codes_reads_qr_codes() -> None:
    assert read_codes(qr_page("KARTOTEKA-SEPARATOR")) == ["KARTOTEKA-SEPARATOR"]


def test_read_codes_reads_two_qr_codes_on_one_page() -> None:
    page = qr_page("FIRST")
    page[1100:1350, 700:950] = qr_page("SECOND")[300:550, 300:550]
    assert sorted(read_codes(page)) == ["FIRST", "SECOND"]


def test_read_codes_finds_nothing_on_a_text_page() -> None:
    assert read_codes(text_page()) == []


def test_read_codes_reads_ean13_barcodes() -> None:
    page, number = ean13_page("460123456789")
    assert read_codes(page) == [number]


