"""The in-process engine (tesserocr) against the CLI engine, on the same pages: real Tesseract."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ocr.config import OcrConfig
from ocr.engine import OcrEngine
from ocr.engines import make_engine
from ocr.errors import EngineMissing, UnreadablePage
from ocr.model import PageText
from ocr.run import recognize_files
from ocr.tesseract import TesseractEngine
from ocr.tesserocr_engine import TesserocrEngine, find_tessdata
from tests import pages as P
from tests.cer import cer

pytestmark = pytest.mark.tesseract

LANGS = {"rus": "rus+eng", "eng": "rus+eng", "kaz": "kaz+rus+eng"}


class CountingEngine(TesserocrEngine):
    """Counts model loads (the real ones: this only watches them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loads: list[str] = []

    def _new_api(self, lang: str) -> Any:
        self.loads.append(lang)
        return super()._new_api(lang)


@pytest.fixture(scope="module")
def inproc() -> CountingEngine:
    eng = CountingEngine()
    missing = {"rus", "kaz", "eng", "osd"} - eng.languages()
    if missing:
        pytest.fail(f"Tesseract language packs missing in {eng.tessdata}: {sorted(missing)}: run scripts/bootstrap.sh")
    return eng


@pytest.fixture(scope="module")
def clean_pages() -> dict[str, np.ndarray]:
    return {lang: P.render_page(P.TEXTS[lang]) for lang in LANGS}


@pytest.fixture(scope="module")
def read_by_both(inproc, engine, clean_pages) -> dict[str, tuple[PageText, PageText]]:
    """Each clean page read by the in-process engine and by the CLI engine."""
    return {
        lang: (
            inproc.recognize(page, languages=LANGS[lang], dpi=300, timeout=120),
            engine.recognize(page, languages=LANGS[lang], dpi=300, timeout=120),
        )
        for lang, page in clean_pages.items()
    }


def test_it_is_an_ocr_engine_on_the_system_language_data(inproc) -> None:
    assert isinstance(inproc, OcrEngine)
    assert inproc.name == "tesserocr"
    assert inproc.version().split(".")[0] == "5"
    assert {"rus", "kaz", "eng", "osd"} <= inproc.languages()
    assert find_tessdata() == inproc.tessdata  # what `tesseract --list-langs` names


@pytest.mark.parametrize("lang", list(LANGS))
def test_pages_are_read_as_well_as_by_the_cli_engine(read_by_both, lang: str) -> None:
    mine, cli = read_by_both[lang]
    assert cer(P.TEXTS[lang], mine.text) <= cer(P.TEXTS[lang], cli.text) + 0.005, mine.text
    assert cer(P.TEXTS[lang], mine.text) < 0.02
    assert len(mine.words) == pytest.approx(len(cli.words), abs=2)


def test_words_carry_boxes_and_confidences_and_the_hocr_is_a_document(read_by_both) -> None:
    mine, cli = read_by_both["eng"]
    words = {w.text: w for w in mine.words}
    left, top, right, bottom = words["PURCHASE"].box
    assert 0 < left < right and 0 < top < bottom and right - left > 100
    assert 0.8 < words["PURCHASE"].confidence <= 1.0
    (same,) = [w for w in cli.words if w.text == "PURCHASE"]
    assert all(abs(a - b) <= 3 for a, b in zip(words["PURCHASE"].box, same.box))
    assert mine.hocr.startswith("<?xml") and mine.hocr.rstrip().endswith("</html>")
    assert "ocrx_word" in mine.hocr and "tesseract 5" in mine.hocr


@pytest.mark.parametrize("lang", ["rus", "kaz"])
def test_the_pdf_page_has_the_image_and_an_invisible_text_layer(read_by_both, tmp_path: Path, lang: str) -> None:
    mine, _ = read_by_both[lang]
    assert mine.pdf is not None
    path = tmp_path / "page.pdf"
    path.write_bytes(mine.pdf)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           1" in info
    assert "595.44 x 841.68 pts" in info  # A4 at 300 dpi, as the CLI's page
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
    # pdftotext spells "№" as "Ne" (for both engines' pages); the rest is the recognised text
    assert cer(mine.text.replace("№", "Ne"), text) < 0.01, text
    images = subprocess.run(["pdfimages", "-list", str(path)], capture_output=True, text=True, check=True).stdout
    assert " 2481  3507  gray " in images
    fonts = subprocess.run(["pdffonts", str(path)], capture_output=True, text=True, check=True).stdout
    assert "GlyphLessFont" in fonts


def test_the_text_layer_is_invisible(inproc, tmp_path: Path) -> None:
    page = P.render_page(P.TEXTS["eng"], dpi=100)
    pdf = inproc.recognize(page, languages="eng", dpi=100, timeout=60).pdf
    assert pdf is not None
    path = tmp_path / "page.pdf"
    path.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "100", "-gray", str(path), str(tmp_path / "r")], check=True)
    (rendered,) = tmp_path.glob("r*.pgm")
    from PIL import Image

    back = np.asarray(Image.open(rendered))
    assert back.shape == page.shape
    assert np.abs(back.astype(int) - page.astype(int)).mean() < 1.0


@pytest.mark.parametrize("turn", [0, 90, 180, 270])
@pytest.mark.parametrize("lang", ["rus", "eng"])
def test_orientation_agrees_with_the_cli_engine(inproc, engine, clean_pages, lang: str, turn: int) -> None:
    page = P.turn(clean_pages[lang], turn)
    mine = inproc.orientation(page, dpi=300, timeout=60)
    cli = engine.orientation(page, dpi=300, timeout=60)
    assert mine is not None and cli is not None
    assert mine.rotation == cli.rotation == (360 - turn) % 360
    assert mine.confidence == pytest.approx(cli.confidence, abs=0.5)


def test_orientation_without_enough_text_is_no_answer(inproc) -> None:
    assert inproc.orientation(np.full((600, 600), 255, np.uint8), dpi=300, timeout=60) is None


def test_a_page_over_the_timeout_fails_as_unreadable_and_the_next_page_is_read(inproc, clean_pages) -> None:
    with pytest.raises(UnreadablePage, match="took longer than 0.001 s"):
        inproc.recognize(clean_pages["eng"], languages="eng", dpi=300, timeout=0.001)
    after = inproc.recognize(clean_pages["eng"], languages="eng", dpi=300, timeout=60)
    assert cer(P.TEXTS["eng"], after.text) < 0.02


def test_models_are_loaded_once_not_per_page(clean_pages) -> None:
    eng = CountingEngine()
    for _ in range(3):
        eng.recognize(clean_pages["rus"], languages="rus+eng", dpi=300, timeout=60)
        eng.orientation(clean_pages["rus"], dpi=300, timeout=60)
    assert eng.loads == ["rus+eng", "osd"]
    eng.close()


def test_two_threads_at_once_each_get_their_own_page(clean_pages) -> None:
    eng = CountingEngine(max_parallel=2)
    jobs = [("rus", "rus+eng"), ("kaz", "kaz+rus+eng"), ("eng", "rus+eng"), ("rus", "rus+eng")]
    start = threading.Barrier(2)
    results: dict[int, str] = {}
    errors: list[BaseException] = []

    def work(half: int) -> None:
        try:
            start.wait()
            for i in range(half, len(jobs), 2):
                lang, langs = jobs[i]
                results[i] = eng.recognize(clean_pages[lang], languages=langs, dpi=300, timeout=120).text
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(h,)) for h in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for i, (lang, _) in enumerate(jobs):
        assert cer(P.TEXTS[lang], results[i]) < 0.02, (i, results[i])
    # rus+eng was needed by both threads at once, at most: never more APIs than threads
    assert eng.loads.count("rus+eng") <= 2 and eng.loads.count("kaz+rus+eng") == 1
    eng.close()


def test_missing_language_or_tessdata_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(EngineMissing, match="language pack missing: xyz"):
        TesserocrEngine().check_languages("rus+xyz")
    with pytest.raises(EngineMissing, match="language pack missing: xyz"):
        TesserocrEngine().recognize(P.render_page("x", dpi=72), languages="xyz", dpi=72, timeout=10)
    with pytest.raises(EngineMissing, match="not found"):
        TesserocrEngine(str(tmp_path / "no-tessdata")).check_languages("eng")


@pytest.mark.parametrize(("name", "cls"), [("tesseract", TesseractEngine), ("tesserocr", TesserocrEngine)])
def test_the_setting_chooses_the_engine(name: str, cls: type) -> None:
    cfg = OcrConfig.model_validate({"engine": name})
    eng = make_engine(cfg, max_parallel=2, languages=["kaz+rus"])
    assert isinstance(eng, cls) and eng.name == name
    with pytest.raises(EngineMissing, match="xyz"):
        make_engine(cfg, languages=["rus+xyz"])


# --- the whole page path (preprocessing, orientation, recognition) with each engine ------------------


@pytest.fixture(scope="module", params=["tesseract", "tesserocr"])
def any_engine(request, engine, inproc) -> OcrEngine:
    return engine if request.param == "tesseract" else inproc


@pytest.mark.parametrize(("condition", "rotation"), [("rot90", 270), ("rot180", 180), ("skew4", 0)])
def test_files_are_recognised_the_same_with_either_engine(any_engine, tmp_path: Path, condition: str, rotation: int) -> None:
    cond = next(c for c in P.CONDITIONS if c.name == condition)
    path = P.save_png(P.make_page("rus", cond), tmp_path / "page.png", dpi=cond.dpi)
    (result,) = recognize_files([path], OcrConfig(languages="rus+eng"), any_engine)
    (page,) = result.pages
    assert result.ok, page.error
    assert page.rotation == rotation
    assert cer(P.TEXTS["rus"], page.text) < 0.04
    assert page.pdf is None and page.words and page.hocr


def test_a_page_over_the_time_limit_fails_alone_in_a_file(inproc, tmp_path: Path) -> None:
    tiff = P.save_tiff([P.render_page(P.TEXTS["eng"])] * 2, tmp_path / "two.tif")
    (result,) = recognize_files([tiff], OcrConfig(page_timeout=0.01, orientation="off"), inproc)
    assert len(result.pages) == 2
    assert all("longer than" in (p.error or "") for p in result.pages)
    assert all(not p.retry for p in result.pages)


@pytest.mark.parametrize("name", ["tesseract", "tesserocr"])
def test_the_ocr_command_runs_on_the_chosen_engine(kartoteka, tmp_path: Path, name: str) -> None:
    """``kartoteka ocr`` with ``KARTOTEKA_OCR_ENGINE``: JSON and a searchable PDF with either engine."""
    scan = P.image_pdf([P.render_page(P.TEXTS["eng"]), P.turn(P.render_page(P.TEXTS["rus"]), 90)], tmp_path / "scan.pdf")
    out = tmp_path / "searchable.pdf"
    proc = kartoteka("ocr", str(scan), "--pdf", str(out), "--json", env={"KARTOTEKA_OCR_ENGINE": name})
    assert proc.returncode == 0, proc.stderr
    first, second = json.loads(proc.stdout)["files"][0]["pages"]
    assert cer(P.TEXTS["eng"], first["text"]) < 0.02 and second["rotation"] == 270
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "PURCHASE" in text and "ЗАПИСКА" in text
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           2" in info
