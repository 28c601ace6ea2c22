"""A card's files for downloads: attachments by id, byte ranges, safe file names, page images.

An attachment is reached only through its card and its id (never a path), and streamed from the
blob store. ``byte_range`` and ``content_disposition`` are the pure parts of serving a file
over HTTP. ``page_image`` renders one page of a card at a requested width, once: the image is
cached under ``data_dir/cache/pages`` and a second request reads the file.

Page images are rendered from the card's searchable PDF, not from the originals: the catalog
does not record which original (and which page of it) each card page came from (a card split
by separator sheets holds a subset of its originals' pages, and blank pages are left out),
while the searchable PDF holds exactly the card's pages in order. Its pages are the page images
as recognised (turned upright and deskewed), so the hOCR word boxes fall on them.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import quote

import numpy as np
from PIL import Image

from app.records import get_card
from app.services import Services
from archive.model import AttachmentRole, AttachmentRow, CardView
from ingest.errors import PermanentError
from ocr.sources import PDFIUM_LOCK

__all__ = [
    "MAX_WIDTH",
    "MIN_WIDTH",
    "AttachmentNotFound",
    "PageImage",
    "PageNotFound",
    "RangeNotSatisfiable",
    "byte_range",
    "content_disposition",
    "find_attachment",
    "open_attachment",
    "page_image",
]

#: Page images are rendered this wide at least and at most (the height keeps the aspect).
MIN_WIDTH = 100
MAX_WIDTH = 3000
#: A page image never holds more pixels than this (a very long page is rendered narrower).
MAX_PIXELS = MAX_WIDTH * 6000
#: Lossy WebP: measured on 12 real pages (flatbed scans, office pages, binarised book pages)
#: rendered 1000 px wide, 101 KiB a page at PSNR 42 dB, against JPEG q85 192 KiB at 41 dB and
#: PNG about 380 KiB, with text edges as sharp as PNG's; encoding as fast as PNG.
IMAGE_FORMAT = "WEBP"
IMAGE_MEDIA_TYPE = "image/webp"
IMAGE_SUFFIX = "webp"
IMAGE_QUALITY = 80
#: Part of every ETag: raise it when rendering or encoding changes (and empty cache/pages), so
#: clients fetch again.
RENDER_VERSION = 1
_RANGE = re.compile(r"bytes=(\d*)-(\d*)", re.IGNORECASE)
_FALLBACK_NAME = "download"


class AttachmentNotFound(PermanentError):
    """The card has no attachment with this id (or of this role and page)."""

    code = "attachment-not-found"


class PageNotFound(PermanentError):
    """The card has no such page, or no image of it to render."""

    code = "page-not-found"


class RangeNotSatisfiable(PermanentError):
    """A ``Range`` header that selects no byte of the file (HTTP 416, ``Content-Range: bytes */size``)."""

    code = "range-not-satisfiable"
    http_status = 416

    def __init__(self, message: str, *, size: int) -> None:
        super().__init__(message, stage="files")
        self.size = size


@dataclass(frozen=True)
class PageImage:
    """A rendered page image on disk (in the cache: read it, never write it)."""

    path: Path
    media_type: str
    #: a strong validator, quoted as the ``ETag`` header wants it
    etag: str


# --- attachments ------------------------------------------------------------------------------


def open_attachment(services: Services, card: str, attachment_id: str) -> tuple[AttachmentRow, BinaryIO]:
    """One of the card's attachments and a stream of its stored bytes (the caller closes it).

    CardNotFound when there is no such card; AttachmentNotFound when the id is not one of this
    card's attachments (an attachment of another card included).
    """
    view = get_card(services, card)
    found = next((a for a in view.attachments if a.id == attachment_id), None)
    if found is None:
        raise AttachmentNotFound(f"card {card} has no attachment {attachment_id!r}", stage="files")
    return found, services.blobs.open(found.sha256)


def find_attachment(services: Services, card: str, role: AttachmentRole, page: int | None = None) -> AttachmentRow:
    """The card's attachment of ``role``: the (first) original, the searchable PDF, or page
    ``page``'s text or hOCR. AttachmentNotFound when the card has none."""
    return _attachment(get_card(services, card), role, page)


def _attachment(view: CardView, role: AttachmentRole, page: int | None) -> AttachmentRow:
    for attachment in view.attachments:
        if attachment.role == role and (page is None or attachment.page == page):
            return attachment
    what = role if page is None else f"{role} of page {page}"
    raise AttachmentNotFound(f"card {view.card.registration_number} has no {what}", stage="files")


# --- HTTP helpers -----------------------------------------------------------------------------


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The first and last byte (inclusive) a ``Range`` header asks for, or None to send it all.

    One range is served: ``bytes=a-b`` (``b`` past the end means the end), ``bytes=a-`` and
    ``bytes=-n`` (the last ``n`` bytes). No header, another unit, several ranges or a malformed
    header: None (RFC 9110 lets a server ignore them). RangeNotSatisfiable when the range
    starts past the end, or asks for the last 0 bytes, or the file is empty.
    """
    if header is None:
        return None
    found = _RANGE.fullmatch(header.strip())
    if found is None or (not found[1] and not found[2]):
        return None
    first, last = found[1], found[2]
    if first and last and int(last) < int(first):
        return None  # invalid: ignored, the whole file is sent
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(f"range {header!r} selects nothing of a {size}-byte file", size=size)
        return max(0, size - suffix), size - 1
    start = int(first)
    if start >= size:
        raise RangeNotSatisfiable(f"range {header!r} starts past the end of a {size}-byte file", size=size)
    return start, (min(int(last), size - 1) if last else size - 1)


def content_disposition(filename: str, inline: bool) -> str:
    """A ``Content-Disposition`` header value that is safe for any stored name.

    The name loses any path (its last component is kept) and control characters; ``filename=`` is
    an ASCII fallback without quotes, backslashes or percent signs, and ``filename*=`` (RFC
    5987/6266) carries the real name in UTF-8 when it differs (Cyrillic names).
    """
    kind = "inline" if inline else "attachment"
    name = _clean_name(filename)
    fallback = _ascii_fallback(name)
    header = f'{kind}; filename="{fallback}"'
    if fallback != name:
        header += f"; filename*=UTF-8''{quote(name, safe='!#$&+-.^_`|~')}"
    return header


def _clean_name(filename: str) -> str:
    """The last path component, without control or format characters, spaces collapsed."""
    base = re.split(r"[/\\]", filename)[-1]
    chars = (" " if unicodedata.category(c)[0] in "CZ" else c for c in base)
    name = " ".join("".join(chars).split()).strip(". ")
    return name or _FALLBACK_NAME


def _ascii_fallback(name: str) -> str:
    """Printable ASCII only: accents dropped, other letters and ``"\\%`` become ``_``."""
    plain = unicodedata.normalize("NFKD", name)
    chars = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in plain if not unicodedata.combining(c))
    stem, dot, suffix = chars.rpartition(".")
    if not dot:
        stem, suffix = chars, ""
    words = [re.sub(r"_{2,}", "_", w).strip("_") for w in stem.split()]
    stem = " ".join(w for w in words if w).strip(". ")
    if not any(c.isalnum() for c in stem):
        stem = _FALLBACK_NAME
    return f"{stem}.{suffix}" if suffix.isalnum() else stem


# --- page images ------------------------------------------------------------------------------


def page_image(services: Services, card: str, page: int, width: int) -> PageImage:
    """Page ``page`` (from 1) of the card, ``width`` pixels wide (clamped to 100..3000), cached.

    PageNotFound when the card has no such page, or no searchable PDF holding every page image.
    """
    view = get_card(services, card)
    if not 1 <= page <= len(view.pages):
        raise PageNotFound(f"card {view.card.registration_number} has no page {page} (it has {len(view.pages)})", stage="files")
    try:
        pdf = _attachment(view, "pdf", None)
    except AttachmentNotFound as e:
        raise PageNotFound(f"card {view.card.registration_number} has no searchable PDF to show its pages from", stage="files") from e
    width = min(max(width, MIN_WIDTH), MAX_WIDTH)
    name = f"{pdf.sha256}-{page}-{width}.{IMAGE_SUFFIX}"
    image = PageImage(_cache_dir(services) / name, IMAGE_MEDIA_TYPE, f'"{pdf.sha256[:32]}-{page}-{width}-v{RENDER_VERSION}"')
    if image.path.is_file():
        return image
    with _local_pdf(services, pdf.sha256) as source:
        rendered = _render(source, page, width, len(view.pages))
    _write_atomic(image.path, _encode(rendered))
    return image


def _cache_dir(services: Services) -> Path:
    folder = services.settings.data_dir / "cache" / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@contextlib.contextmanager
def _local_pdf(services: Services, sha256: str) -> Iterator[BinaryIO]:
    """The stored PDF as a seekable stream: the blob itself, or a copy in the work area."""
    with services.blobs.open(sha256) as stream:
        if stream.seekable():
            yield stream
            return
        with tempfile.TemporaryFile(dir=services.work_dir) as copy:
            shutil.copyfileobj(stream, copy)
            copy.seek(0)
            yield copy


def _render(source: BinaryIO, page: int, width: int, pages: int) -> Image.Image:
    """Render one page of a PDF stream ``width`` pixels wide (all PDFium calls under its lock)."""
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        try:
            pdf = pdfium.PdfDocument(source)
        except pdfium.PdfiumError as e:
            raise PageNotFound(f"the card's searchable PDF cannot be read ({e})", stage="files") from e
        try:
            if len(pdf) != pages:
                # A page that could not be read at all has no image in the PDF: the PDF's pages
                # no longer line up with the card's, and the wrong page must never be shown.
                raise PageNotFound(
                    f"the card's searchable PDF has {len(pdf)} pages for its {pages}: page images are unavailable",
                    stage="files",
                )
            return _render_page(pdf[page - 1], width)
        finally:
            pdf.close()


def _render_page(pdf_page: Any, width: int) -> Image.Image:
    try:
        page_w, page_h = pdf_page.get_size()
        height = max(1, round(width * page_h / page_w))
        if width * height > MAX_PIXELS:  # a very long page: narrower, so it fits
            width = max(1, int(width * (MAX_PIXELS / (width * height)) ** 0.5))
            height = max(1, round(width * page_h / page_w))
        bitmap = pdf_page.render(scale=width / page_w, may_draw_forms=False, rev_byteorder=True)
        try:
            image: Image.Image = bitmap.to_pil().copy()  # the bitmap's buffer is freed by close()
        finally:
            bitmap.close()
    finally:
        pdf_page.close()
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.LANCZOS)
    return image


def _encode(image: Image.Image) -> bytes:
    """The image as WebP; a page without colour is encoded gray."""
    if image.mode != "L":
        rgb = np.asarray(image.convert("RGB"))
        if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
            image = Image.fromarray(np.ascontiguousarray(rgb[..., 0]))
        else:
            image = image.convert("RGB")
    buf = io.BytesIO()
    image.save(buf, IMAGE_FORMAT, quality=IMAGE_QUALITY, method=4)
    return buf.getvalue()


def _write_atomic(path: Path, data: bytes) -> None:
    """Write through a temporary file and a rename: readers see the whole image or none, and two
    requests rendering the same image at once both write whole files."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # never a truncated image under the final name after a crash
            os.fchmod(out.fileno(), 0o644)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
