"""The searchable-PDF page (ocr/textpdf.py) from hand-written hOCR: text and word positions as readers see them."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pypdfium2 as pdfium
import pytest

from ocr.hocr import hocr_document, parse_hocr
from ocr.tesserocr_engine import find_tessdata
from ocr.textpdf import page_pdf

DPI = 150
SCALE = 72 / DPI
#: (text, box) per word; the second line slopes (baseline 0.02 -3), as a skewed scan's does
LINES = [
    ("line_1_1", "bbox 100 100 830 140; baseline 0 -5; x_size 30",
     [("СЛУЖЕБНАЯ", (100, 100, 400, 140)), ("записка", (412, 100, 610, 140)), ("№", (622, 100, 652, 140)), ("45/12-п", (664, 100, 830, 140))]),
    ("line_1_2", "bbox 100 200 780 260; baseline 0.02 -3; x_size 28",
     [("Құжаттарды", (100, 200, 420, 245)), ("тіркеу", (432, 205, 600, 252)), ("office", (612, 210, 780, 257))]),
]  # fmt: skip


def _hocr(system: str = "tesseract 5.5.0") -> str:
    body = ["  <div class='ocr_page' id='page_1' title='image \"\"; bbox 0 0 1000 400; ppageno 0'>\n"]
    for line_id, title, words in LINES:
        body.append(f"     <span class='ocr_line' id='{line_id}' title=\"{title}\">\n")
        for n, (text, box) in enumerate(words):
            body.append(f"      <span class='ocrx_word' id='w{line_id}{n}' title='bbox {' '.join(map(str, box))}; x_wconf 90'>{text}</span>\n")
        body.append("     </span>\n")
    return hocr_document("".join(body) + "  </div>\n", system)


def _font(name: str) -> bytes | None:
    if name == "none":
        return None
    tessdata = find_tessdata()
    if tessdata is None or not (Path(tessdata) / "pdf.ttf").exists():
        pytest.fail("Tesseract's pdf.ttf not found: run scripts/bootstrap.sh (apt-get install tesseract-ocr)")
    return (Path(tessdata) / "pdf.ttf").read_bytes()


def _run(*args: str) -> str:
    return subprocess.run(list(args), capture_output=True, text=True, check=True).stdout


def test_the_document_wraps_the_page_under_tesseracts_head() -> None:
    hocr = _hocr(system="kartoteka <test> 'engine'")
    assert hocr.startswith('<?xml version="1.0" encoding="UTF-8"?>') and hocr.endswith(" </body>\n</html>\n")
    assert "content='kartoteka &lt;test&gt; &#x27;engine&#x27;'" in hocr  # escaped inside the quotes
    assert [w.text for w in parse_hocr(hocr)] == [text for _, _, words in LINES for text, _ in words]


@pytest.mark.parametrize("font", ["none", pytest.param("pdf.ttf", marks=pytest.mark.tesseract)])
def test_readers_take_the_words_from_the_invisible_layer(tmp_path: Path, font: str) -> None:
    gray = np.full((400, 1000), 255, np.uint8)
    path = tmp_path / "page.pdf"
    path.write_bytes(page_pdf(gray, DPI, _hocr(), _font(font), producer="test"))
    assert f"Page size: {1000 * SCALE:g} x {400 * SCALE:g} pts" in " ".join(_run("pdfinfo", str(path)).split())
    fonts = _run("pdffonts", str(path)).splitlines()[2]
    assert fonts.startswith("GlyphLessFont") and fonts.split()[4:7] == (["yes", "no", "yes"] if font != "none" else ["no", "no", "yes"])
    expected = [text for _, _, words in LINES for text, _ in words]
    assert _run("pdftotext", str(path), "-").split() == expected
    doc = pdfium.PdfDocument(str(path))
    try:
        assert doc[0].get_textpage().get_text_range().split() == expected
    finally:
        doc.close()
    # each word starts at its box's left edge and spans its width (stretched), on the page's scale
    placed = _run("pdftotext", "-bbox", str(path), "-")
    for _, _, words in LINES:
        for text, (left, _, right, _) in words:
            (row,) = [r for r in placed.splitlines() if r.endswith(f">{text}</word>")]
            x_min, x_max = (float(row.split(f'{k}="')[1].split('"')[0]) for k in ("xMin", "xMax"))
            assert x_min == pytest.approx(left * SCALE, abs=0.5) and x_max == pytest.approx(right * SCALE, abs=3), row
