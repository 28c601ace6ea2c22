"""``kartoteka ocr`` as a user runs it: a real subprocess, real Tesseract."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests import pages as P
from tests.cer import cer

pytestmark = pytest.mark.tesseract


def test_json_output_follows_the_contract(kartoteka, tmp_path: Path) -> None:
    scan = P.save_png(P.make_page("rus", P.Condition("skew4")), tmp_path / "memo.png")
    digital = P.text_pdf([P.TEXTS["eng"]], tmp_path / "order.pdf")
    proc = kartoteka("ocr", str(scan), str(digital), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [f["path"] for f in out["files"]] == [str(scan), str(digital)]
    (memo,) = out["files"][0]["pages"]
    assert {"number", "text", "confidence", "rotation", "skew", "source"} <= memo.keys()
    assert memo["source"] == "ocr" and memo["number"] == 1 and memo["skew"] == pytest.approx(4.0, abs=0.3)
    assert cer(P.TEXTS["rus"], memo["text"]) < 0.04
    assert out["files"][1]["pages"][0]["source"] == "text-layer"


def test_bad_files_get_one_line_each_and_a_nonzero_status(kartoteka, tmp_path: Path) -> None:
    good = P.save_png(P.render_page(P.TEXTS["eng"]), tmp_path / "good.png")
    empty = tmp_path / "empty.pdf"
    empty.touch()
    junk = tmp_path / "junk.pdf"
    junk.write_bytes(b"\x00\x01 not a pdf at all" * 50)
    proc = kartoteka("ocr", str(empty), str(good), str(junk), "--json")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 2, proc.stderr
    assert lines[0].startswith(f"kartoteka: {empty}: ") and "empty" in lines[0]
    assert lines[1].startswith(f"kartoteka: {junk}: ") and "not a PDF" in lines[1]
    files = json.loads(proc.stdout)["files"]
    assert "PURCHASE" in files[1]["pages"][0]["text"]
    assert files[0]["pages"] == [] and files[0]["error"]


def test_lang_option_selects_kazakh(kartoteka, tmp_path: Path) -> None:
    page = P.save_png(P.render_page(P.TEXTS["kaz"]), tmp_path / "kaz.png")
    proc = kartoteka("ocr", str(page), "--json", "--lang", "kaz+rus")
    assert proc.returncode == 0, proc.stderr
    text = json.loads(proc.stdout)["files"][0]["pages"][0]["text"]
    assert cer(P.TEXTS["kaz"], text) < 0.03


def test_missing_language_pack_is_a_configuration_error(kartoteka, tmp_path: Path) -> None:
    page = P.save_png(P.render_page("x", dpi=72), tmp_path / "p.png")
    proc = kartoteka("ocr", str(page), "--lang", "rus+xyz")
    assert proc.returncode == 3
    assert "language pack missing: xyz" in proc.stderr


def test_pdf_option_writes_a_searchable_pdf(kartoteka, tmp_path: Path) -> None:
    scan = P.image_pdf([P.render_page(P.TEXTS["eng"]), P.turn(P.render_page(P.TEXTS["rus"]), 90)], tmp_path / "scan.pdf")
    out = tmp_path / "searchable.pdf"
    proc = kartoteka("ocr", str(scan), "--pdf", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "PURCHASE ORDER" in proc.stdout  # plain-text output goes on
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    assert "PURCHASE" in text and "ЗАПИСКА" in text
    info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True, check=True).stdout
    assert "Pages:           2" in info


def test_page_timeout_fails_the_page_with_a_reason(kartoteka, tmp_path: Path) -> None:
    page = P.save_png(P.render_page(P.TEXTS["eng"]), tmp_path / "slow.png")
    proc = kartoteka("ocr", str(page), "--page-timeout", "0.01", "--json")
    assert proc.returncode == 1
    assert "page 1: Tesseract took longer than 0.01 s" in proc.stderr
    (pg,) = json.loads(proc.stdout)["files"][0]["pages"]
    assert pg["error"] and pg["text"] == ""


def test_bad_setting_exits_with_configuration_status(kartoteka, tmp_path: Path) -> None:
    page = P.save_png(P.render_page("x", dpi=72), tmp_path / "p.png")
    proc = kartoteka("ocr", str(page), env={"KARTOTEKA_OCR_DPI": "many"})
    assert proc.returncode == 3
    assert proc.stderr.startswith("kartoteka: setting 'ocr.dpi'")


@pytest.mark.parametrize(
    ("option", "value"), [("--dpi", "0"), ("--jobs", "-1"), ("--page-timeout", "0"), ("--dpi", "ten")]
)
def test_an_option_out_of_range_is_a_usage_error_in_one_line(kartoteka, tmp_path: Path, option: str, value: str) -> None:
    """Exit 2 before any work (was a traceback, or a run in which every page failed)."""
    digital = P.text_pdf([P.TEXTS["eng"]], tmp_path / "order.pdf")
    proc = kartoteka("ocr", str(digital), option, value)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr and option in proc.stderr
    assert proc.stdout == ""


def test_a_pdf_into_a_folder_that_does_not_exist_is_refused_before_recognising(kartoteka, tmp_path: Path) -> None:
    digital = P.text_pdf([P.TEXTS["eng"]], tmp_path / "order.pdf")
    out = tmp_path / "missing" / "deeper" / "out.pdf"
    proc = kartoteka("ocr", str(digital), "--pdf", str(out))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"kartoteka: {out}: ") and proc.stdout == "" and not out.parent.exists()


def test_a_fifo_among_the_files_is_refused_and_the_others_read(kartoteka, tmp_path: Path) -> None:
    """Opening a FIFO waits for a writer: the command hung, and read nothing else."""
    digital = P.text_pdf([P.TEXTS["eng"]], tmp_path / "order.pdf")
    fifo = tmp_path / "pipe.pdf"
    os.mkfifo(fifo)
    proc = kartoteka("ocr", str(fifo), str(digital), "--json", timeout=60)
    assert proc.returncode == 1, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line == f"kartoteka: {fifo}: is not a regular file (a FIFO, socket or device)"
    assert "PURCHASE" in json.loads(proc.stdout)["files"][1]["pages"][0]["text"]


def test_several_files_write_one_pdf_each_into_an_existing_folder_named_after_them(kartoteka, tmp_path: Path) -> None:
    order = P.text_pdf([P.TEXTS["eng"]], tmp_path / "order.pdf")
    memo = P.text_pdf([P.TEXTS["rus"]], tmp_path / "memo.pdf")
    out = tmp_path / "out"
    out.mkdir()
    proc = kartoteka("ocr", str(order), str(memo), "--pdf", str(out))
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["memo.pdf", "order.pdf"]
    text = subprocess.run(["pdftotext", str(out / "memo.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "ЗАПИСКА" in text


@pytest.mark.parametrize(
    ("case", "says"),
    [
        ("missing folder", "no such folder"),  # was created, with its parents
        ("one .pdf for two files", "2 files need a folder"),  # made a folder named one.pdf
        ("same name in two folders", "would both be written there"),  # one PDF overwrote the other
        ("over an input", "would overwrite an input"),
    ],
)
def test_a_pdf_target_that_cannot_hold_what_is_asked_is_refused_before_recognising(kartoteka, tmp_path: Path, case: str, says: str) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = P.text_pdf([P.TEXTS["eng"]], tmp_path / "a" / "appeal.pdf")
    second = P.text_pdf([P.TEXTS["rus"]], tmp_path / "b" / ("appeal.pdf" if case == "same name in two folders" else "memo.pdf"))
    out = {"missing folder": tmp_path / "out" / "deeper", "one .pdf for two files": tmp_path / "one.pdf",
           "same name in two folders": tmp_path, "over an input": tmp_path / "a"}[case]  # fmt: skip
    before = sorted(tmp_path.rglob("*"))
    proc = kartoteka("ocr", str(first), str(second), "--pdf", str(out))
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("kartoteka: ") and says in line, line
    assert proc.stdout == "" and sorted(tmp_path.rglob("*")) == before  # nothing made, nothing overwritten


def test_text_of_several_files_names_each_file_and_a_missing_one_is_no_such_file(kartoteka, tmp_path: Path) -> None:
    """Two one-page files ran together with no name between them; a missing file «disappeared
    before it could be read»."""
    order = P.text_pdf([P.TEXTS["eng"]], tmp_path / "order.pdf")
    memo = P.text_pdf([P.TEXTS["rus"]], tmp_path / "memo.pdf")
    missing = tmp_path / "nosuch.png"
    proc = kartoteka("ocr", str(order), str(missing), str(memo))
    assert proc.returncode == 1
    assert proc.stderr.strip() == f"kartoteka: {missing}: no such file"
    headers = [ln for ln in proc.stdout.splitlines() if ln.startswith("--- ")]
    assert headers == [f"--- {order} page 1 ---", f"--- {memo} page 1 ---"]
    assert proc.stdout.index("PURCHASE") < proc.stdout.index(f"--- {memo}") < proc.stdout.index("ЗАПИСКА")
    single = kartoteka("ocr", str(order))
    assert not single.stdout.startswith("--- ") and "PURCHASE" in single.stdout  # one page of one file: text only
