"""Inputs of every kind the scanners produce, and the broken ones they sometimes produce."""

from __future__ import annotations

import struct
import unicodedata
import zlib
from pathlib import Path

import pikepdf
from PIL import Image
import pytest

from ingest.errors import UnsupportedInput
from ingest.sniff import FileType, sniff
from ocr.config import OcrConfig
from ocr.run import recognize_files, searchable_pdf
from ocr.sources import open_pages
from tests import pages as P
from tests.cer import cer


def _png_header_only(path: Path, width: int, height: int) -> Path:
    """A tiny PNG that claims huge dimensions: a decompression bomb's calling card."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b""))
    return path


def test_type_is_decided_by_content_not_by_extension(tmp_path: Path) -> None:
    page = P.render_page("x", dpi=72)
    png_named_pdf = P.save_png(page, tmp_path / "scan.pdf")
    pdf_named_jpg = P.image_pdf([page], tmp_path / "scan.jpg")
    tiff_named_txt = P.save_tiff([page], tmp_path / "scan.txt")
    assert sniff(png_named_pdf) is FileType.PNG
    assert sniff(pdf_named_jpg) is FileType.PDF
    assert sniff(tiff_named_txt) is FileType.TIFF


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"random bytes that are not a document" * 10, "not a PDF, PNG, JPEG or TIFF"),
    ],
)
def test_unreadable_files_are_rejected_with_a_reason(tmp_path: Path, content: bytes, reason: str) -> None:
    path = tmp_path / "input.pdf"
    path.write_bytes(content)
    with pytest.raises(UnsupportedInput, match=reason):
        open_pages(path, OcrConfig())


def test_a_directory_named_like_a_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "scan.pdf").mkdir()
    with pytest.raises(UnsupportedInput, match="directory"):
        open_pages(tmp_path / "scan.pdf", OcrConfig())


def test_truncated_pdf_is_rejected(tmp_path: Path) -> None:
    whole = P.image_pdf([P.render_page("x", dpi=72)] * 2, tmp_path / "whole.pdf").read_bytes()
    cut = tmp_path / "cut.pdf"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(UnsupportedInput, match="truncated"):
        open_pages(cut, OcrConfig())


def test_truncated_png_is_rejected(tmp_path: Path) -> None:
    whole = P.save_png(P.render_page(P.TEXTS["eng"], dpi=100), tmp_path / "whole.png").read_bytes()
    cut = tmp_path / "cut.png"
    cut.write_bytes(whole[: len(whole) // 3])
    with pytest.raises(UnsupportedInput, match="truncated|damaged"):
        list(open_pages(cut, OcrConfig())[1])


def test_encrypted_pdf_is_rejected_with_what_to_do(tmp_path: Path) -> None:
    plain = P.text_pdf([P.TEXTS["eng"]], tmp_path / "plain.pdf")
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(locked, encryption=pikepdf.Encryption(user="secret", owner="owner"))
    with pytest.raises(UnsupportedInput, match="encrypted.*unprotected copy"):
        open_pages(locked, OcrConfig())


def test_a_pdf_without_pages_says_so_even_after_an_encrypted_one(tmp_path: Path) -> None:
    """PDFium keeps the process's last error: a PDF without pages (refused with no error of its
    own) was reported as encrypted when an encrypted PDF had been read before."""
    src = P.image_pdf([P.render_page("secret", dpi=50)], tmp_path / "plain.pdf", dpi=50)
    with pikepdf.open(src) as pdf:
        pdf.save(tmp_path / "locked.pdf", encryption=pikepdf.Encryption(user="u", owner="o"))
    pikepdf.new().save(tmp_path / "empty.pdf")
    for name, expected in (("locked.pdf", "encrypted"), ("empty.pdf", "PDF has no pages"), ("locked.pdf", "encrypted")):
        with pytest.raises(UnsupportedInput, match=expected):
            open_pages(tmp_path / name, OcrConfig())


def test_pdf_with_owner_password_only_is_read(tmp_path: Path) -> None:
    plain = P.text_pdf([P.TEXTS["eng"]], tmp_path / "plain.pdf")
    restricted = tmp_path / "restricted.pdf"
    with pikepdf.open(plain) as pdf:
        pdf.save(restricted, encryption=pikepdf.Encryption(user="", owner="owner"))
    _, pages = open_pages(restricted, OcrConfig())
    (page,) = list(pages)
    assert page.text is not None and "PURCHASE ORDER" in page.text


def test_decompression_bomb_is_rejected_before_decoding(tmp_path: Path) -> None:
    bomb = _png_header_only(tmp_path / "bomb.png", 60_000, 60_000)
    assert bomb.stat().st_size < 2000
    with pytest.raises(UnsupportedInput, match="too large"):
        list(open_pages(bomb, OcrConfig())[1])


def test_pixel_limit_is_a_setting(tmp_path: Path) -> None:
    page = P.save_png(P.render_page("x", dpi=150), tmp_path / "page.png")  # 1240 x 1753
    list(open_pages(page, OcrConfig(max_pixels=3_000_000))[1])
    with pytest.raises(UnsupportedInput, match="too large"):
        list(open_pages(page, OcrConfig(max_pixels=2_000_000))[1])


def test_huge_pdf_page_is_rasterised_within_the_pixel_limit(tmp_path: Path) -> None:
    path = tmp_path / "poster.pdf"
    with pikepdf.new() as pdf:
        pdf.add_blank_page(page_size=(5000, 5000))  # 69 inches square: 433 Mpx at 300 dpi
        pdf.save(path)
    cfg = OcrConfig(max_pixels=4_000_000)
    (page,) = list(open_pages(path, cfg)[1])
    assert page.image is not None
    assert page.image.size <= cfg.max_pixels
    assert page.dpi < 300


def test_text_layer_pages_are_taken_as_they_are(tmp_path: Path) -> None:
    pdf = P.text_pdf([P.TEXTS["rus"], P.TEXTS["kaz"]], tmp_path / "digital.pdf")
    (result,) = recognize_files([pdf], OcrConfig(), engine=None)  # type: ignore[arg-type]
    assert [p.source for p in result.pages] == ["text-layer", "text-layer"]
    assert cer(P.TEXTS["rus"], result.pages[0].text) < 0.01
    assert cer(P.TEXTS["kaz"], result.pages[1].text) < 0.01


def test_a_text_layer_with_decomposed_letters_comes_out_composed(tmp_path: Path) -> None:
    """«й» stored as «и» + U+0306 (some PDF producers do): the page's text is in NFC, so the
    kind rules and search see the same letters as in a scan's recognised text."""
    text = P.TEXTS["rus"] + "\nУниверсальный передаточный документ; приём, йогурт"
    pdf = P.text_pdf([unicodedata.normalize("NFD", text)], tmp_path / "nfd.pdf")
    (result,) = recognize_files([pdf], OcrConfig(), engine=None)  # type: ignore[arg-type]
    (page,) = result.pages
    assert page.source == "text-layer" and unicodedata.is_normalized("NFC", page.text)
    assert "Универсальный передаточный документ; приём, йогурт" in page.text


@pytest.mark.tesseract
def test_mixed_pdf_takes_text_layer_pages_and_recognises_image_pages(engine, tmp_path: Path) -> None:
    digital = P.text_pdf([P.TEXTS["rus"]], tmp_path / "digital.pdf")
    scanned = P.image_pdf([P.render_page(P.TEXTS["eng"])], tmp_path / "scanned.pdf")
    mixed = tmp_path / "mixed.pdf"
    with pikepdf.new() as out, pikepdf.open(digital) as a, pikepdf.open(scanned) as b:
        out.pages.extend(a.pages)
        out.pages.extend(b.pages)
        out.save(mixed)
    spool = tmp_path / "spool"
    spool.mkdir()
    (result,) = recognize_files([mixed], OcrConfig(), engine, spool=spool)
    assert [p.source for p in result.pages] == ["text-layer", "ocr"]
    assert cer(P.TEXTS["eng"], result.pages[1].text) < 0.03
    out_pdf = tmp_path / "searchable.pdf"
    assert searchable_pdf(result, out_pdf) == 2
    with pikepdf.open(out_pdf) as pdf:
        assert len(pdf.pages) == 2


@pytest.mark.tesseract
def test_multipage_tiff_pages_are_recognised_in_order(engine, tmp_path: Path) -> None:
    tiff = P.save_tiff([P.render_page(P.TEXTS[k]) for k in ("eng", "rus")], tmp_path / "batch.tif")
    (result,) = recognize_files([tiff], OcrConfig(), engine)
    assert [p.number for p in result.pages] == [1, 2]
    assert "PURCHASE" in result.pages[0].text
    assert "ЗАПИСКА" in result.pages[1].text


@pytest.mark.tesseract
def test_truncated_multipage_tiff_keeps_the_pages_before_the_damage(engine, tmp_path: Path) -> None:
    pages = [P.render_page(P.TEXTS["eng"], dpi=150)] * 3
    whole = P.save_tiff(pages, tmp_path / "whole.tif", dpi=150).read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole[: int(len(whole) * 0.6)])
    (result,) = recognize_files([cut], OcrConfig(), engine)
    assert result.error is None or result.pages == ()
    good = [p for p in result.pages if not p.error]
    bad = [p for p in result.pages if p.error]
    assert bad, "the damage must be reported"
    assert all("PURCHASE" in p.text for p in good)


def test_a_damaged_page_inside_a_multipage_tiff_fails_alone(tmp_path: Path) -> None:
    """One page's pixels overwritten (its directory intact): that page is an error and the
    pages after it are still read (they were dropped as if the file ended there)."""
    tif = P.save_tiff([P.render_page(P.TEXTS[k], dpi=150) for k in ("eng", "rus", "eng")], tmp_path / "three.tif", dpi=150)
    with Image.open(tif) as img:
        img.seek(1)
        offsets, counts = img.tag_v2[273], img.tag_v2[279]  # StripOffsets, StripByteCounts
    data = bytearray(tif.read_bytes())
    for offset, count in zip(offsets, counts, strict=True):
        data[offset : offset + count] = bytes((i * 131 + 7) % 256 for i in range(count))
    damaged = tmp_path / "damaged.tif"
    damaged.write_bytes(bytes(data))
    pages = list(open_pages(damaged, OcrConfig())[1])
    assert [p.number for p in pages] == [1, 2, 3]
    assert pages[0].image is not None and pages[2].image is not None
    assert pages[1].image is None and "damaged" in (pages[1].error or "")


@pytest.mark.tesseract
def test_one_bad_file_does_not_stop_the_others(engine, tmp_path: Path) -> None:
    good = P.save_png(P.render_page(P.TEXTS["eng"]), tmp_path / "good.png")
    empty = tmp_path / "empty.png"
    empty.touch()
    odd = P.save_png(P.render_page(P.TEXTS["eng"]), tmp_path / "счёт №5 (копия) ;'$x.png")
    results = list(recognize_files([empty, good, odd], OcrConfig(), engine))
    assert [Path(r.path).name for r in results] == ["empty.png", "good.png", odd.name]
    assert "empty" in (results[0].error or "")
    assert results[1].ok and "PURCHASE" in results[1].pages[0].text
    assert results[2].ok and "PURCHASE" in results[2].pages[0].text


@pytest.mark.tesseract
def test_page_over_the_time_limit_fails_alone(engine, tmp_path: Path) -> None:
    tiff = P.save_tiff([P.render_page(P.TEXTS["eng"])] * 2, tmp_path / "two.tif")
    (result,) = recognize_files([tiff], OcrConfig(page_timeout=0.01), engine)
    assert len(result.pages) == 2
    assert all("longer than" in (p.error or "") for p in result.pages)


@pytest.mark.parametrize("rasterizer", ["pdfium", "pdftoppm"])
def test_both_rasterisers_give_the_same_page(tmp_path: Path, rasterizer: str) -> None:
    source = P.render_page(P.TEXTS["eng"], dpi=150)
    pdf = P.image_pdf([source], tmp_path / "scan.pdf", dpi=150)
    (page,) = list(open_pages(pdf, OcrConfig(rasterizer=rasterizer, dpi=150))[1])
    assert page.image is not None
    assert abs(page.image.shape[0] - source.shape[0]) <= 1 and abs(page.image.shape[1] - source.shape[1]) <= 1
    assert abs(float(page.image.mean()) - float(source.mean())) < 2.0


def test_long_pdf_pages_come_out_in_order_across_reopenings(tmp_path: Path) -> None:
    from ocr.sources import PDF_REOPEN_EVERY

    texts = [f"Page {i}" for i in range(PDF_REOPEN_EVERY * 2 + 3)]
    pdf = P.text_pdf([t + " of a long born-digital report" for t in texts], tmp_path / "long.pdf")
    pages = list(open_pages(pdf, OcrConfig())[1])
    assert [p.number for p in pages] == list(range(1, len(texts) + 1))
    assert all((p.text or "").startswith(t + " ") for p, t in zip(pages, texts, strict=True))
