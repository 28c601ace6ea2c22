"""A card's files (app/files.py): attachments by id, byte ranges, Content-Disposition, page images
rendered from the searchable PDF and cached; cards made on the scripted engine."""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from urllib.parse import unquote

import numpy as np
import pikepdf
import pytest
from PIL import Image

from app import files
from app.files import (
    AttachmentNotFound,
    PageNotFound,
    RangeNotSatisfiable,
    byte_range,
    content_disposition,
    find_attachment,
    open_attachment,
    page_image,
)
from archive.errors import CardNotFound
from archive.model import CardView
from ocr.fake import read_key
from tests.app.conftest import MakeRig, Rig

SCRIPTS = {"p1": "page one", "p2": "page two", "p3": "page three", "solo": "a memo"}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _card(rig: Rig, name: str = "scan.pdf", pages: tuple[str, ...] = ("p1", "p2", "p3")) -> tuple[CardView, bytes]:
    """A card from a scan dropped into the hot folder, and the scan's bytes."""
    path = rig.drop(name, list(pages))
    original = path.read_bytes()
    row = rig.ingest(path)
    assert row.outcome == "archived", row
    return rig.card(row), original


# --- attachments ----------------------------------------------------------------------------------


def test_every_attachment_opens_by_id_and_streams_the_stored_bytes(make_rig: MakeRig) -> None:
    rig = make_rig(SCRIPTS)
    view, original = _card(rig)
    assert {a.role for a in view.attachments} >= {"original", "pdf", "text", "hocr"}
    for attachment in view.attachments:
        row, stream = open_attachment(rig.services, view.card.id, attachment.id)
        with stream:
            data = stream.read()
        assert row == attachment
        assert _sha256(data) == attachment.sha256 and len(data) == attachment.size
    original_row = find_attachment(rig.services, view.card.registration_number, "original")
    assert original_row.sha256 == _sha256(original)


def test_find_attachment_names_the_original_the_pdf_and_each_pages_text(make_rig: MakeRig) -> None:
    rig = make_rig(SCRIPTS)
    view, _ = _card(rig)
    services, card = rig.services, view.card.id
    assert find_attachment(services, card, "pdf").media_type == "application/pdf"
    text = find_attachment(services, card, "text", page=2)
    _, stream = open_attachment(services, card, text.id)
    with stream:
        assert stream.read().decode("utf-8") == "page two"
    assert find_attachment(services, card, "hocr", page=3).page == 3
    with pytest.raises(AttachmentNotFound):
        find_attachment(services, card, "text", page=4)


def test_an_attachment_is_reached_only_through_its_own_card(make_rig: MakeRig) -> None:
    rig = make_rig(SCRIPTS)
    first, _ = _card(rig)
    second, _ = _card(rig, "memo.png", ("solo",))
    other = next(a for a in second.attachments if a.role == "original")
    for bad in (other.id, "../../blobs", "", other.sha256):
        with pytest.raises(AttachmentNotFound):
            open_attachment(rig.services, first.card.id, bad)
    with pytest.raises(CardNotFound):
        open_attachment(rig.services, "no-such-card", other.id)


# --- byte ranges ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),
        ("", None),
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-100", (900, 999)),
        ("bytes=-5000", (0, 999)),  # more than the file: all of it
        ("bytes=900-5000", (900, 999)),  # past the end: up to the end
        ("bytes=999-999", (999, 999)),
        ("BYTES=0-0", (0, 0)),
        ("bytes=0-1, 5-6", None),  # several ranges: the whole file
        ("bytes=5-1", None),  # invalid: ignored
        ("bytes=-", None),
        ("bytes=a-b", None),
        ("bytes=+1-2", None),
        ("bytes=1_0-20", None),
        ("items=0-1", None),
        ("bytes 0-1", None),
    ],
)
def test_byte_range_reads_one_range_and_ignores_what_it_cannot_serve(header: str | None, expected: tuple[int, int] | None) -> None:
    assert byte_range(header, 1000) == expected


@pytest.mark.parametrize(("header", "size"), [("bytes=1000-", 1000), ("bytes=5000-6000", 1000), ("bytes=-0", 1000), ("bytes=0-", 0), ("bytes=-1", 0)])
def test_a_range_outside_the_file_is_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable) as caught:
        byte_range(header, size)
    assert caught.value.size == size and caught.value.http_status == 416


# --- Content-Disposition ----------------------------------------------------------------------------


def _filename_star(header: str) -> str | None:
    for part in header.split("; "):
        if part.startswith("filename*=UTF-8''"):
            return unquote(part[len("filename*=UTF-8''") :], encoding="utf-8", errors="strict")
    return None


def _fallback(header: str) -> str:
    start = header.index('filename="') + len('filename="')
    return header[start : header.index('"', start)]


def _is_safe(header: str) -> bool:
    return header.isascii() and all(" " <= c <= "~" for c in header)


def test_a_cyrillic_name_gets_an_ascii_fallback_and_its_utf8_form() -> None:
    header = content_disposition("Письмо №5 от 12.03.pdf", inline=False)
    assert header.startswith("attachment; ") and _is_safe(header)
    assert _filename_star(header) == "Письмо №5 от 12.03.pdf"
    assert _fallback(header).endswith(".pdf") and _fallback(header).isascii()
    assert _fallback(content_disposition("Счёт.pdf", inline=True)) == "download.pdf"
    assert content_disposition("Счёт.pdf", inline=True).startswith("inline; ")


def test_a_plain_ascii_name_is_given_as_it_is() -> None:
    assert content_disposition("scan-2024_03.pdf", inline=True) == 'inline; filename="scan-2024_03.pdf"'


def test_a_name_with_a_path_keeps_its_last_component() -> None:
    assert content_disposition("../../etc/passwd", inline=False) == 'attachment; filename="passwd"'
    assert content_disposition("C:\\scans\\Счёт.pdf", inline=False).endswith("filename*=UTF-8''%D0%A1%D1%87%D1%91%D1%82.pdf")


@pytest.mark.parametrize(
    "name",
    ['say "hi".pdf', "back\\slash.pdf", "../../etc/passwd", "bad\r\nSet-Cookie: x=1.pdf", "nul\x00.pdf", "tab\tname.pdf",
     "100%25 done.pdf", "\u202etxt.exe", "..", ".", "", "  "],
)  # fmt: skip
def test_no_name_breaks_the_header_or_carries_a_path(name: str) -> None:
    header = content_disposition(name, inline=False)
    assert _is_safe(header), header
    fallback = _fallback(header)
    assert fallback and '"' not in fallback and "\\" not in fallback and "/" not in fallback and "%" not in fallback
    assert fallback not in {".", ".."}
    real = _filename_star(header) or fallback
    assert "/" not in real and "\\" not in real and not any(ord(c) < 32 or c == "\u202e" for c in real)
    assert not real.startswith(".")


# --- page images --------------------------------------------------------------------------------------


def test_a_page_image_has_the_requested_width_shows_that_page_and_is_cached(make_rig: MakeRig, monkeypatch: pytest.MonkeyPatch) -> None:
    rig = make_rig(SCRIPTS)
    view, _ = _card(rig)
    renders: list[int] = []
    real_render = files._render
    monkeypatch.setattr(files, "_render", lambda *a: renders.append(a[1]) or real_render(*a))

    image = page_image(rig.services, view.card.id, 2, 1000)
    pdf = find_attachment(rig.services, view.card.id, "pdf")
    assert image.path == rig.services.settings.data_dir / "cache" / "pages" / f"{pdf.sha256}-2-1000.webp"
    assert image.media_type == "image/webp" and image.etag.startswith('"') and image.etag.endswith('"')
    with Image.open(image.path) as img:
        assert img.format == "WEBP" and img.width == 1000
        assert abs(img.height / img.width - 1754 / 1240) < 0.01  # the page's aspect kept
        key = read_key(np.asarray(img.convert("L")))
    assert key is not None and key.key == "p2", "not page 2 of the card"

    stamp = image.path.stat().st_mtime_ns
    again = page_image(rig.services, view.card.registration_number, 2, 1000)
    assert again == image and renders == [2], "the second request rendered again"
    assert image.path.stat().st_mtime_ns == stamp
    assert [p.name for p in image.path.parent.iterdir()] == [image.path.name], "a temporary file was left"


def test_a_page_image_width_is_kept_within_bounds(make_rig: MakeRig) -> None:
    rig = make_rig(SCRIPTS)
    view, _ = _card(rig)
    for asked, width in ((10, 100), (-5, 100), (5000, 3000)):
        image = page_image(rig.services, view.card.id, 1, asked)
        with Image.open(image.path) as img:
            assert img.width == width
        assert image.path.name.endswith(f"-1-{width}.webp")


def test_a_page_the_card_does_not_have_is_not_found(make_rig: MakeRig) -> None:
    rig = make_rig(SCRIPTS)
    view, _ = _card(rig)
    for page in (0, -1, 4):
        with pytest.raises(PageNotFound):
            page_image(rig.services, view.card.id, page, 500)
    with pytest.raises(CardNotFound):
        page_image(rig.services, "no-such-card", 1, 500)


def test_concurrent_requests_for_one_image_all_get_the_whole_image(make_rig: MakeRig) -> None:
    rig = make_rig(SCRIPTS)
    view, _ = _card(rig)
    results: list[Path] = []
    errors: list[BaseException] = []

    def fetch() -> None:
        try:
            results.append(page_image(rig.services, view.card.id, 3, 700).path)
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=fetch) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(set(results)) == 1
    with Image.open(results[0]) as img:
        img.load()
        assert img.width == 700
    assert os.listdir(results[0].parent) == [results[0].name]


def test_no_page_image_is_shown_when_the_pdf_pages_do_not_line_up_with_the_card(make_rig: MakeRig, tmp_path: Path) -> None:
    """A page PDFium cannot even read has no image in the searchable PDF: the card's page 3 is
    then the PDF's page 2, and showing it as page 2 would be wrong."""
    rig = make_rig(SCRIPTS)
    scan = rig.drop("scan.pdf", ["p1", "p2", "p3"])
    with pikepdf.open(scan, allow_overwriting_input=True) as pdf:
        pdf.pages[1].MediaBox = [0, 0, 20000, 20000]  # past max_page_points: the page is an error
        pdf.save(scan)
    row = rig.ingest(scan)
    view = rig.card(row)
    assert len(view.pages) == 3
    with pytest.raises(PageNotFound):
        page_image(rig.services, view.card.id, 3, 500)
