"""Turn a file into pages, one at a time: images decoded or PDF pages rasterised lazily.

Nothing here holds more than one page image in memory; the caller pulls pages as it has room.
PDFium is not thread-safe, so the generator must be consumed from one thread.
"""

from __future__ import annotations

import logging
import re
import struct
import threading
import unicodedata
import warnings
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ingest import reasons
from ingest.errors import UnsupportedInput
from ingest.sniff import FileType, sniff
from ocr.config import OcrConfig

log = logging.getLogger(__name__)

#: What Pillow's decoders raise on damaged input (TIFF directories fail with TypeError/KeyError).
DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, KeyError, IndexError, struct.error, zlib.error)

#: DPI assumed for images that do not say (or say something absurd).
DEFAULT_DPI = 300
_ALNUM = re.compile(r"\w", re.UNICODE)


@dataclass(frozen=True, slots=True)
class SourcePage:
    """One page as it comes out of the file: an image to recognise, a text layer, or an error."""

    number: int
    image: np.ndarray | None = None  # 8-bit grayscale
    #: the same page in colour (RGB), for a colour image only: ocr/photo.py evens out a phone
    #: photo's light and colour cast channel by channel, which the gray image no longer allows
    colour: np.ndarray | None = None
    dpi: int = DEFAULT_DPI
    text: str | None = None  # a usable text layer: no OCR needed
    error: str | None = None


def open_pages(path: Path, cfg: OcrConfig) -> tuple[FileType, Iterator[SourcePage]]:
    """Check the file and return its type and a lazy iterator over its pages.

    Raises UnsupportedInput (one-line reason) when the file as a whole cannot be read; problems
    with a single page are yielded as a SourcePage with ``error`` so the others go on.
    """
    kind = sniff(path)
    if kind is FileType.PDF:
        return kind, _pdf_pages(path, cfg)
    return kind, _image_pages(path, cfg)


# --- images ---------------------------------------------------------------------------------


def _open_image(path: Path, cfg: OcrConfig) -> Image.Image:
    try:
        with warnings.catch_warnings():
            # We enforce our own pixel limit below, with a clearer message than Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(path)
    except Image.DecompressionBombError as e:
        raise UnsupportedInput(reasons.TOO_LARGE % {"detail": str(e)}, stage="ocr") from e
    except DECODE_ERRORS as e:
        raise UnsupportedInput(reasons.IMAGE_UNDECODABLE % {"detail": _short(e)}, stage="ocr") from e
    return img


def _image_pages(path: Path, cfg: OcrConfig) -> Iterator[SourcePage]:
    img = _open_image(path, cfg)
    with img:
        number = 0
        while True:
            number += 1
            page, more = _next_frame(img, number, cfg)
            if page is not None:
                yield page
            if not more:
                return


def _next_frame(img: Image.Image, number: int, cfg: OcrConfig) -> tuple[SourcePage | None, bool]:
    """Page ``number`` of an image file, and whether pages may follow it. A page whose pixels
    cannot be decoded is an error page and the file goes on (a multi-page TIFF with one bad
    strip); a page whose directory cannot be read ends the file (a truncated TIFF)."""
    with warnings.catch_warnings():
        # Pillow warns (rather than fails) on some damaged TIFF directories; the decode below
        # fails properly if the page is really unreadable.
        warnings.simplefilter("ignore")
        if number > 1:
            try:
                img.seek(number - 1)
            except EOFError:
                return None, False  # no more frames
            except DECODE_ERRORS as e:
                return SourcePage(number=number, error=reasons.PAGE_TRUNCATED % {"detail": _short(e)}), False
        try:
            return _frame_page(img, number, cfg), True
        except DECODE_ERRORS as e:
            if number == 1:
                raise UnsupportedInput(reasons.IMAGE_UNDECODABLE % {"detail": _short(e)}, stage="ocr") from e
            return SourcePage(number=number, error=reasons.PAGE_DAMAGED % {"detail": _short(e)}), True


def _frame_page(frame: Image.Image, number: int, cfg: OcrConfig) -> SourcePage:
    w, h = frame.size
    if w * h > cfg.max_pixels:
        if number == 1:
            raise UnsupportedInput(_too_big(w, h), stage="ocr")
        return SourcePage(number=number, error=_too_big(w, h))
    frame.load()
    return SourcePage(number=number, image=_to_gray(frame), dpi=_image_dpi(frame), colour=_colour(frame))


def _colour(frame: Image.Image) -> np.ndarray | None:
    """An RGB copy of a colour frame (transparency as white paper); None for gray frames.

    RGB as Pillow gives it: one copy (about 15 ms for an A4 page at 300 dpi; reordering to
    OpenCV's BGR took 57 ms)."""
    if frame.mode not in ("RGB", "RGBA", "P", "PA", "CMYK", "YCbCr", "RGBX"):
        return None
    if frame.mode in ("RGBA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        rgba = frame.convert("RGBA")
        frame = Image.alpha_composite(Image.new("RGBA", rgba.size, (255, 255, 255, 255)), rgba)
    return np.asarray(frame if frame.mode == "RGB" else frame.convert("RGB"), dtype=np.uint8)


def _to_gray(frame: Image.Image) -> np.ndarray:
    if frame.mode in ("RGBA", "LA", "PA") or (frame.mode == "P" and "transparency" in frame.info):
        # Transparent areas are paper, not ink.
        rgba = frame.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        frame = Image.alpha_composite(background, rgba)
    if frame.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(frame, dtype=np.float64)
        top = arr.max() or 1.0
        return np.ascontiguousarray((arr * (255.0 / top)).astype(np.uint8))
    return np.ascontiguousarray(np.asarray(frame.convert("L"), dtype=np.uint8))


def _image_dpi(frame: Image.Image) -> int:
    dpi = frame.info.get("dpi")
    try:
        value = int(round(float(dpi[0]))) if dpi else 0
    except (TypeError, ValueError, IndexError):
        value = 0
    return value if 70 <= value <= 2400 else DEFAULT_DPI


# --- PDF ------------------------------------------------------------------------------------


#: PDFium keeps every page it has loaded until the document is closed (about 1 MiB a page):
#: reopening the document every this many pages keeps a 300-page PDF as light as a short one.
PDF_REOPEN_EVERY = 25
#: PDFium is not thread-safe: every call into it, for any document, holds this lock. Two ingest
#: threads reading two PDFs at once crashed the process ("double free or corruption") about one
#: run in ten. Rendering is a small part of a page's time next to Tesseract, which runs outside.
PDFIUM_LOCK = threading.RLock()


def _pdf_pages(path: Path, cfg: OcrConfig) -> Iterator[SourcePage]:
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    _check_pdf_complete(path)

    def open_pdf() -> Any:
        try:
            with PDFIUM_LOCK:
                return pdfium.PdfDocument(path)
        except pdfium.PdfiumError as e:
            raise UnsupportedInput(_pdf_open_reason(path, e), stage="ocr") from e

    def close(document: Any) -> None:
        with PDFIUM_LOCK:
            document.close()

    pdf = open_pdf()
    try:
        with PDFIUM_LOCK:
            count = len(pdf)
        if count == 0:
            raise UnsupportedInput(reasons.PDF_NO_PAGES, stage="ocr")
    except BaseException:
        close(pdf)
        raise

    def pages() -> Iterator[SourcePage]:
        nonlocal pdf
        try:
            for index in range(count):
                if index and index % PDF_REOPEN_EVERY == 0:
                    close(pdf)
                    pdf = open_pdf()
                with PDFIUM_LOCK:
                    page = _pdf_page(pdf, path, index, cfg, pdfium, pdfium_c)
                yield page
        finally:
            close(pdf)

    return pages()


def _check_pdf_complete(path: Path) -> None:
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(0, size - 2048))
        tail = f.read()
    if b"%%EOF" not in tail:
        raise UnsupportedInput(reasons.PDF_TRUNCATED, stage="ocr")


def _pdf_open_reason(path: Path, e: Exception) -> str:
    """Why PDFium could not open ``path``. Its own message is no guide: PDFium keeps the last
    error of the process, so a PDF without pages (which it refuses with no error of its own)
    was reported as "encrypted" after an encrypted one. qpdf (pikepdf) tells the cases apart."""
    import pikepdf

    try:
        with pikepdf.open(path) as document:
            if len(document.pages) == 0:
                return reasons.PDF_NO_PAGES
    except pikepdf.PasswordError:
        return reasons.PDF_ENCRYPTED
    except Exception:  # noqa: BLE001 - damaged for qpdf too: PDFium's words below
        pass
    return reasons.PDF_DAMAGED % {"detail": _short(e)}


def _pdf_page(pdf, path: Path, index: int, cfg: OcrConfig, pdfium, pdfium_c) -> SourcePage:  # type: ignore[no-untyped-def]
    number = index + 1
    try:
        page = pdf[index]
    except pdfium.PdfiumError as e:
        return SourcePage(number=number, error=reasons.PDF_PAGE_UNREADABLE % {"detail": _short(e)})
    try:
        width, height = page.get_size()
        if max(width, height) > cfg.max_page_points or min(width, height) <= 0:
            return SourcePage(number=number, error=reasons.PDF_PAGE_SIZE % {"width": f"{width:.0f}", "height": f"{height:.0f}"})
        text = _usable_text_layer(page, width * height, cfg, pdfium_c)
        if text is not None:
            return SourcePage(number=number, text=text, dpi=cfg.dpi)
        dpi = float(cfg.dpi)
        pixels = (width / 72 * dpi) * (height / 72 * dpi)
        if pixels > cfg.max_pixels:
            dpi = dpi * (cfg.max_pixels / pixels) ** 0.5
            log.info("page %d is large: rasterising at %.0f dpi instead of %d", number, dpi, cfg.dpi)
        if cfg.rasterizer == "pdftoppm":
            gray = _render_pdftoppm(path, index, dpi, cfg)
        else:
            bitmap = page.render(scale=dpi / 72.0, grayscale=True)
            try:
                arr = bitmap.to_numpy()
                # A copy: the array is a view of the bitmap's buffer, which close() frees.
                gray = np.array(arr[:, :, 0] if arr.ndim == 3 else arr, dtype=np.uint8, order="C", copy=True)
            finally:
                bitmap.close()
        return SourcePage(number=number, image=gray, dpi=int(round(dpi)))
    except pdfium.PdfiumError as e:
        return SourcePage(number=number, error=reasons.PDF_PAGE_UNRENDERABLE % {"detail": _short(e)})
    except UnsupportedInput as e:
        return SourcePage(number=number, error=str(e))
    finally:
        page.close()


def _render_pdftoppm(path: Path, index: int, dpi: float, cfg: OcrConfig) -> np.ndarray:
    """Poppler's rasteriser through pdf2image: one page, one pdftoppm process."""
    from pdf2image import convert_from_path
    from pdf2image.exceptions import PDFPageCountError, PDFSyntaxError

    try:
        (image,) = convert_from_path(
            path, dpi=int(round(dpi)), first_page=index + 1, last_page=index + 1,
            grayscale=True, timeout=int(cfg.page_timeout),
        )
    except (PDFPageCountError, PDFSyntaxError, ValueError) as e:
        raise UnsupportedInput(reasons.PDFTOPPM_FAILED % {"detail": _short(e)}, stage="ocr") from e
    return np.ascontiguousarray(np.asarray(image.convert("L"), dtype=np.uint8))


def _usable_text_layer(page, area: float, cfg: OcrConfig, pdfium_c) -> str | None:  # type: ignore[no-untyped-def]
    """The page's own text if it is real text, not a scanner's stamp over a page image."""
    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
    finally:
        textpage.close()
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    # Composed letters, as Tesseract writes them: a PDF may store «й» as «и» + U+0306, which the
    # kind rules' keywords and a clerk's copy and paste would not match. NFC, not NFKC: NFKC
    # would turn «№» into «No».
    text = unicodedata.normalize("NFC", text)
    letters = len(_ALNUM.findall(text))
    if letters < cfg.text_layer_min_chars:
        return None
    if text.count("\ufffd") > letters * 0.05:
        return None  # fonts without a Unicode map: the text is garbage, OCR the page instead
    if letters < 200 and _image_coverage(page, area, pdfium_c) > 0.5:
        return None  # a scan with a few words of stamp or page number on top
    return str(text)


def _image_coverage(page, area: float, pdfium_c) -> float:  # type: ignore[no-untyped-def]
    covered = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_pos()
        covered += max(0.0, right - left) * max(0.0, top - bottom)
    return covered / area if area else 0.0


# --- messages ---------------------------------------------------------------------------------


def _too_big(width: int, height: int) -> str:
    return reasons.TOO_LARGE % {"detail": f"{width}x{height} pixels"}


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text[:160]


def count_pages(path: Path) -> int:
    """How many pages the file has, cheaply (for progress bars); 0 when it cannot be told."""
    try:
        kind = sniff(path)
        if kind is FileType.PDF:
            import pypdfium2 as pdfium

            with PDFIUM_LOCK, pdfium.PdfDocument(path) as pdf:
                return len(pdf)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                return int(getattr(img, "n_frames", 1))
    except Exception:  # noqa: BLE001 - a count is a hint; the real read reports the problem
        return 0
