"""The scripted OCR engine (ocr/fake.py) driven through the real page pipeline: no Tesseract involved."""

from __future__ import annotations

import inspect
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pikepdf
import pypdfium2 as pdfium
import pytest

from ocr.config import OcrConfig
from ocr.engine import OcrEngine
from ocr.errors import EngineFailed, EngineMissing, PAGE_CRASHED, UnreadablePage
from ocr.fake import NO_KEY, NOT_UPRIGHT, PageKey, PageScript, ScriptedEngine, read_key
from ocr.hocr import mean_confidence, parse_hocr, parse_words
from ocr.model import FileResult
from ocr.page import RECHECK_BELOW
from ocr.run import recognize_files, searchable_pdf
from ocr.worker_engine import WorkerEngine
from tests import scripted as S

#: 150 dpi keeps rasterising cheap; two pages at once exercise the thread pool.
CFG = OcrConfig(dpi=150, jobs=2)


def _run(paths: list[Path], engine: ScriptedEngine, cfg: OcrConfig = CFG, spool: Path | None = None) -> list[FileResult]:
    return list(recognize_files(paths, cfg, engine, spool=spool))


def _pdf_text(path: Path) -> list[str]:
    doc = pdfium.PdfDocument(str(path))
    try:
        return [" ".join(doc[i].get_textpage().get_text_range().split()) for i in range(len(doc))]
    finally:
        doc.close()


def test_the_scripted_engine_is_an_ocr_engine() -> None:
    engine = ScriptedEngine({}, languages=["rus", "eng"])
    assert isinstance(engine, OcrEngine)
    assert engine.name == "scripted" and engine.version()
    assert engine.languages() == {"rus", "eng"}
    engine.check_languages("rus+eng")
    with pytest.raises(EngineMissing, match="kaz"):
        engine.check_languages("kaz+rus")


def test_a_png_a_pdf_and_a_tiff_give_the_scripted_texts_in_page_order(tmp_path: Path) -> None:
    scripts = {
        "png": PageScript("Служебная записка № 45", confidence=0.91),
        "pdf-1": PageScript("first page", confidence=0.82),
        "pdf-2": PageScript("second page\nwith two lines", confidence=0.73),
        "pdf-3": PageScript("Құжаттарды тіркеу", confidence=0.64),
        "tif-1": PageScript("tiff one", confidence=0.55),
        "tif-2": PageScript("tiff two", confidence=0.99),
    }
    files = [
        S.write_png(tmp_path / "a.png", "png"),
        S.write_pdf(tmp_path / "b.pdf", ["pdf-1", "pdf-2", "pdf-3"]),
        S.write_tiff(tmp_path / "c.tif", ["tif-1", "tif-2"]),
    ]
    results = _run(files, ScriptedEngine(scripts))
    assert [r.path for r in results] == [str(f) for f in files]
    assert all(r.ok for r in results)
    pages = [p for r in results for p in r.pages]
    assert [p.text for p in pages] == [s.text for s in scripts.values()]
    assert [p.confidence for p in pages] == pytest.approx([s.confidence for s in scripts.values()])
    assert [[p.number for p in r.pages] for r in results] == [[1], [1, 2, 3], [1, 2]]
    assert [r.media_type for r in results] == ["image/png", "application/pdf", "image/tiff"]


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_a_turned_page_is_turned_upright_and_its_rotation_reported(tmp_path: Path, rotation: int) -> None:
    path = S.write_pdf(tmp_path / "turned.pdf", [S.scripted_page("k", rotation=rotation)])
    engine = ScriptedEngine({"k": PageScript("upright text", confidence=0.9)})
    (page,) = _run([path], engine, OcrConfig(dpi=150, jobs=2, orientation="auto"))[0].pages
    assert page.rotation == rotation
    assert page.confidence == pytest.approx(0.9)  # the text was read upright in the end
    assert page.text == "upright text"


def test_with_orientation_off_an_upside_down_page_is_not_turned_and_reads_badly(tmp_path: Path) -> None:
    path = S.write_png(tmp_path / "down.png", S.scripted_page("k", rotation=180))
    engine = ScriptedEngine({"k": PageScript("text", confidence=0.9)})
    (page,) = _run([path], engine, OcrConfig(dpi=150, orientation="off"))[0].pages
    assert page.rotation == 0
    assert page.confidence == pytest.approx(0.9 * NOT_UPRIGHT)
    assert page.confidence < RECHECK_BELOW  # low enough for the pipeline to check which way up it is


def test_orientation_reports_the_truth_or_the_scripted_answer() -> None:
    engine = ScriptedEngine({"true": PageScript("a"), "told": PageScript("b", rotation=270)})
    found = engine.orientation(S.scripted_page("true", rotation=90), dpi=150, timeout=5)
    assert found is not None and found.rotation == 90
    told = engine.orientation(S.scripted_page("told"), dpi=150, timeout=5)
    assert told is not None and told.rotation == 270
    assert engine.orientation(S.plain_page(), dpi=150, timeout=5) is None  # no code: no answer


def test_an_unreadable_page_fails_alone(tmp_path: Path) -> None:
    path = S.write_pdf(tmp_path / "scan.pdf", ["a", "bad", "c"])
    engine = ScriptedEngine({"a": PageScript("A"), "bad": PageScript("B", fail="unreadable"), "c": PageScript("C")})
    (result,) = _run([path], engine, spool=tmp_path)
    first, bad, last = result.pages
    assert (first.text, first.error, last.text, last.error) == ("A", None, "C", None)
    assert bad.error and "could not read" in bad.error and not bad.retry
    assert bad.pdf_file is not None  # the image is kept, without text
    assert result.failed_pages == [bad]


def test_an_engine_failure_marks_the_page_for_retry(tmp_path: Path) -> None:
    path = S.write_pdf(tmp_path / "scan.pdf", ["a", "down"])
    engine = ScriptedEngine({"a": PageScript("A"), "down": PageScript("B", fail="engine")})
    first, down = _run([path], engine)[0].pages
    assert first.text == "A" and not first.retry
    assert down.retry and down.error and down.error.endswith("(try again)")
    with pytest.raises(EngineFailed):
        engine.recognize(S.scripted_page("down"), languages="rus", dpi=150, timeout=5)


def test_a_hanging_page_times_out_at_the_page_timeout(tmp_path: Path) -> None:
    path = S.write_pdf(tmp_path / "scan.pdf", ["hang", "ok"])
    engine = ScriptedEngine({"hang": PageScript("never", fail="hang"), "ok": PageScript("fine")})
    started = time.monotonic()
    hung, ok = _run([path], engine, OcrConfig(dpi=150, jobs=2, page_timeout=0.5))[0].pages
    elapsed = time.monotonic() - started
    assert 0.5 <= elapsed < 5.0
    assert hung.error == "Tesseract took longer than 0.5 s on this page" and not hung.retry
    assert ok.text == "fine" and ok.error is None


def test_release_ends_a_hang_at_once() -> None:
    engine = ScriptedEngine({"hang": PageScript("never", fail="hang")})
    errors: list[Exception] = []

    def recognise() -> None:
        try:
            engine.recognize(S.scripted_page("hang"), languages="rus", dpi=150, timeout=60)
        except UnreadablePage as e:
            errors.append(e)

    thread = threading.Thread(target=recognise)
    started = time.monotonic()
    thread.start()
    time.sleep(0.2)
    engine.release()
    thread.join(timeout=10)
    assert not thread.is_alive() and time.monotonic() - started < 5
    assert [str(e) for e in errors] == ["Tesseract took longer than 60 s on this page"]


def test_a_crash_fails_the_page_for_good_as_a_dying_worker_does(tmp_path: Path) -> None:
    path = S.write_tiff(tmp_path / "scan.tif", ["crash", "ok"])
    engine = ScriptedEngine({"crash": PageScript("x", fail="crash"), "ok": PageScript("fine")})
    crashed, ok = _run([path], engine)[0].pages
    assert crashed.error and "worker process died" in crashed.error
    assert crashed.error == PAGE_CRASHED and "PAGE_CRASHED" in inspect.getsource(WorkerEngine._call)  # the real engine's words
    assert not crashed.retry
    assert ok.text == "fine"


def test_the_hocr_parses_back_into_the_words_with_boxes_inside_the_page() -> None:
    text = "Счёт № 45 & <акт>\n\n'quoted' \"words\" here"
    engine = ScriptedEngine({"k": PageScript(text, confidence=0.87)})
    image = S.scripted_page("k")
    page = engine.recognize(image, languages="rus+eng", dpi=150, timeout=5)
    assert page.text == text
    assert parse_words(page.hocr) == page.words
    assert all(w.line is not None and w.line.x_size > 0 for w in parse_hocr(page.hocr))  # every word on a line
    assert [w.text for w in page.words] == text.split()
    assert mean_confidence(page.words) == pytest.approx(0.87)
    h, w = image.shape
    for word in page.words:
        left, top, right, bottom = word.box
        assert 0 <= left < right <= w and 0 <= top < bottom <= h
    tops = [word.box[1] for word in page.words]
    assert tops == sorted(tops) and len(set(tops)) == 2  # two lines of text, top to bottom
    assert page.hocr.lstrip().startswith("<?xml") and "ocr_page" in page.hocr


def test_the_searchable_pdf_carries_the_scripted_text(tmp_path: Path) -> None:
    texts = {"p1": "Договор поставки № 7", "p2": "Invoice for services", "p3": "Акт приёма-передачи"}
    path = S.write_pdf(tmp_path / "scan.pdf", list(texts))
    spool = tmp_path / "spool"
    spool.mkdir()
    (result,) = _run([path], ScriptedEngine({k: PageScript(t) for k, t in texts.items()}), spool=spool)
    out = tmp_path / "searchable.pdf"
    assert searchable_pdf(result, out) == 3
    assert _pdf_text(out) == list(texts.values())
    with pikepdf.open(out) as pdf:
        assert len(pdf.pages[0].get_images()) == 1  # the page image is under the text


def test_unscripted_pages_use_the_default(tmp_path: Path) -> None:
    path = S.write_pdf(tmp_path / "scan.pdf", ["known", "stranger", S.plain_page()])
    engine = ScriptedEngine({"known": PageScript("K")}, unknown=PageScript("default", confidence=0.5))
    pages = _run([path], engine)[0].pages
    assert [(p.text, round(p.confidence, 2)) for p in pages] == [("K", 0.95), ("default", 0.5), ("default", 0.5)]


def test_without_a_default_an_unscripted_page_is_unreadable(tmp_path: Path) -> None:
    path = S.write_pdf(tmp_path / "scan.pdf", ["stranger", S.plain_page()])
    stranger, plain = _run([path], ScriptedEngine({}))[0].pages
    assert stranger.error == "no script for this page (QR code 'stranger')" and not stranger.retry
    assert plain.error == "no script for this page (no QR code found)"


def test_calls_are_counted_per_key_and_blank_pages_never_reach_the_engine(tmp_path: Path) -> None:
    path = S.write_tiff(tmp_path / "scan.tif", ["a", S.blank_page(), "b", S.plain_page()])
    engine = ScriptedEngine({"a": PageScript("A"), "b": PageScript("B")}, unknown=PageScript("?"))
    pages = _run([path], engine, OcrConfig(dpi=150, jobs=2, languages="kaz+rus"))[0].pages
    assert [p.blank for p in pages] == [False, True, False, False]
    assert engine.calls == {"a": 1, "b": 1, NO_KEY: 1}
    assert {(r.key, r.languages, r.dpi) for r in engine.requests} == {("a", "kaz+rus", 150), ("b", "kaz+rus", 150), (NO_KEY, "kaz+rus", 150)}
    _run([path], engine)
    assert engine.calls == {"a": 2, "b": 2, NO_KEY: 2}
    assert engine.calls["never"] == 0


def test_calls_from_many_threads_are_all_counted() -> None:
    engine = ScriptedEngine({"k": PageScript("x")})
    image = S.scripted_page("k", size=(400, 566))
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda _: engine.recognize(image, languages="rus", dpi=50, timeout=5), range(40)))
    assert engine.calls["k"] == 40 and len(engine.requests) == 40


def test_a_slow_page_takes_its_delay() -> None:
    engine = ScriptedEngine({"slow": PageScript("x", delay=0.3)})
    started = time.monotonic()
    engine.recognize(S.scripted_page("slow"), languages="rus", dpi=150, timeout=5)
    assert time.monotonic() - started >= 0.3


def test_read_codes_sees_the_key_and_the_separator_value(tmp_path: Path) -> None:
    path = S.write_pdf(tmp_path / "batch.pdf", ["a", S.separator_page("NEXT-DOC"), S.blank_page()])
    engine = ScriptedEngine({"a": PageScript("A"), "NEXT-DOC": PageScript("")})
    pages = _run([path], engine, OcrConfig(dpi=150, read_codes=True))[0].pages
    assert [p.codes for p in pages] == [("a",), ("NEXT-DOC",), ()]
    assert [p.blank for p in pages] == [False, False, True]


def test_keys_survive_rasterising_at_300_dpi(tmp_path: Path) -> None:
    path = S.write_pdf(tmp_path / "scan.pdf", ["x-300", S.scripted_page("y-300", rotation=90)])
    engine = ScriptedEngine({"x-300": PageScript("X"), "y-300": PageScript("Y")})
    pages = _run([path], engine, OcrConfig(dpi=300, jobs=2))[0].pages
    assert [(p.text, p.rotation, p.dpi) for p in pages] == [("X", 0, 300), ("Y", 90, 300)]
    assert pages[0].width > 2400  # rasterised at 300 dpi indeed


def test_read_key_finds_the_key_and_which_way_up_the_page_is() -> None:
    assert read_key(S.scripted_page("doc-7/page-2", rotation=270)) == PageKey("doc-7/page-2", 270)
    assert read_key(S.blank_page()) is None


def test_writing_twenty_pages_takes_well_under_a_second(tmp_path: Path) -> None:
    keys = [f"doc-{i // 4}/page-{i % 4}" for i in range(20)]
    started = time.monotonic()
    S.write_pdf(tmp_path / "twenty.pdf", keys)
    elapsed = time.monotonic() - started
    assert elapsed < 1.0  # about 0.13 s here
    with pikepdf.open(tmp_path / "twenty.pdf") as pdf:
        assert len(pdf.pages) == 20


def test_a_page_script_rejects_values_the_engine_cannot_play() -> None:
    with pytest.raises(ValueError, match="confidence"):
        PageScript("x", confidence=1.5)
    with pytest.raises(ValueError, match="rotation"):
        PageScript("x", rotation=45)
    with pytest.raises(ValueError, match="fail"):
        PageScript("x", fail="boom")  # type: ignore[arg-type]


def test_an_engine_from_a_json_file(tmp_path: Path) -> None:
    spec = {"pages": {"a": {"text": "A", "confidence": 0.7}, "b": {"text": "B", "fail": "engine"}}, "unknown": {"text": "?"}}
    (tmp_path / "script.json").write_text(json.dumps(spec), encoding="utf-8")
    engine = ScriptedEngine.from_file(tmp_path / "script.json")
    page = engine.recognize(S.scripted_page("a"), languages="rus", dpi=150, timeout=5)
    assert page.text == "A" and mean_confidence(page.words) == pytest.approx(0.7)
    assert engine.recognize(np.full((300, 300), 255, np.uint8), languages="rus", dpi=150, timeout=5).text == "?"
    with pytest.raises(EngineFailed):
        engine.recognize(S.scripted_page("b"), languages="rus", dpi=150, timeout=5)
