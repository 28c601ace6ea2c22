"""Input files for the scripted OCR engine (ocr/fake.py): pages that carry their key in a QR code.

A scripted page is a white sheet with a QR code of its key at the top (centred, so that a page
tilted by up to 20 degrees still holds all of it) and a few lines of dark bars standing in for
text, so blank detection (``ingest.separators.is_blank_page``) and the sideways check
(``ocr.preprocess.estimate_skew``) see an ordinary page. The code is
about a quarter of the page's short side (10-12 px a module on a 150 dpi A4 page), large enough
to be read after rasterising at 150-300 dpi and after the pipeline's preprocessing.

Pages are bilevel (0 and 255), written as 1-bit images: lossless (CCITT G4 in PDF and TIFF)
and fast, about 5 ms a page.

Caveat: with ``OcrConfig.read_codes`` on, a scripted page's key is one of its ``codes``, so in
``barcode`` separation without a ``separator_value`` every scripted page is a separator sheet.
Use a ``separator_value`` there, or ``plain_page()`` pages (no code: the engine's ``unknown``).
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from ocr.fake import PageScript

#: A4 at 150 dpi
A4_150 = (1240, 1754)
DPI = 150

PageSpec = str | np.ndarray


def _qr(value: str, side: int) -> np.ndarray:
    """The QR code of ``value`` (with a two-module quiet zone), about ``side`` pixels wide."""
    code = cv2.QRCodeEncoder.create().encode(value)
    module = max(3, side // code.shape[0])
    return cv2.resize(code, None, fx=module, fy=module, interpolation=cv2.INTER_NEAREST)


def _bars(page: np.ndarray, top: int, seed: int, lines: int = 8) -> None:
    """Lines of word-like dark bars from ``top`` down: text for the blank and sideways checks."""
    h, w = page.shape
    pitch = max(h // 40, 8)
    rng = np.random.default_rng(seed)
    y = top
    for _ in range(lines):
        if y + pitch > h * 0.9:
            break
        x = w // 10
        while True:
            width = int(rng.integers(2, 10)) * pitch // 2
            if x + width > w * 0.9:
                break
            page[y : y + pitch // 2, x : x + width] = 0
            x += width + pitch // 2
        y += pitch


def _turned(page: np.ndarray, rotation: int) -> np.ndarray:
    """The page as scanned turned so that it must be turned ``rotation`` degrees clockwise to read."""
    if rotation not in (0, 90, 180, 270):
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation}")
    return np.ascontiguousarray(np.rot90(page, rotation // 90))


def scripted_page(key: str, *, size: tuple[int, int] = A4_150, rotation: int = 0) -> np.ndarray:
    """A page (8-bit grayscale, ``size`` = width, height) whose QR code carries ``key``.

    ``rotation``: the page is scanned turned so that the pipeline, with orientation on, must turn
    it this many degrees clockwise (and reports it as ``PageResult.rotation``).
    """
    w, h = size
    page = np.full((h, w), 255, dtype=np.uint8)
    code = _qr(key, min(w, h) // 4)
    x0, y0 = (w - code.shape[1]) // 2, h // 16
    page[y0 : y0 + code.shape[0], x0 : x0 + code.shape[1]] = code
    _bars(page, y0 + code.shape[0] + h // 40, zlib.crc32(key.encode("utf-8")))
    return _turned(page, rotation)


def plain_page(*, size: tuple[int, int] = A4_150, seed: int = 0) -> np.ndarray:
    """A page with text-like bars and no code: the scripted engine answers with its ``unknown``."""
    w, h = size
    page = np.full((h, w), 255, dtype=np.uint8)
    _bars(page, h // 8, seed)
    return page


def blank_page(*, size: tuple[int, int] = A4_150) -> np.ndarray:
    """An empty white sheet (a ``blank`` separator; never sent to the engine when skip_blank is on)."""
    w, h = size
    return np.full((h, w), 255, dtype=np.uint8)


def separator_page(value: str, *, size: tuple[int, int] = A4_150) -> np.ndarray:
    """A separator sheet: a large QR code of ``value`` in the middle of an otherwise empty page.

    ``read_codes`` finds ``value`` on it, so it cuts documents in ``barcode`` mode (any code, or
    ``separator_value=value``). It is not blank, so it is also recognised: the engine reads
    ``value`` as the page's key (give it a script, or an ``unknown`` default).
    """
    w, h = size
    page = np.full((h, w), 255, dtype=np.uint8)
    code = _qr(value, min(w, h) // 3)
    x0, y0 = (w - code.shape[1]) // 2, (h - code.shape[0]) // 2
    page[y0 : y0 + code.shape[0], x0 : x0 + code.shape[1]] = code
    return page


def _image(spec: PageSpec) -> Image.Image:
    """A 1-bit PIL image of a key's scripted page or of a ready page (thresholded at mid-gray)."""
    page = scripted_page(spec) if isinstance(spec, str) else spec
    return Image.fromarray(np.where(page >= 128, 255, 0).astype(np.uint8)).convert("1", dither=Image.Dither.NONE)


def write_png(path: Path, page: PageSpec, *, dpi: int = DPI) -> Path:
    """One page as a PNG: a key (its scripted page) or a page image (blank, separator, turned)."""
    _image(page).save(path, "PNG", dpi=(dpi, dpi), compress_level=1)
    return path


def write_pdf(path: Path, pages: Sequence[PageSpec], *, dpi: int = DPI) -> Path:
    """An image-only PDF (a scan), one page per key or page image, in order."""
    first, *rest = [_image(p) for p in pages]
    first.save(path, "PDF", resolution=float(dpi), save_all=True, append_images=rest)
    return path


def write_tiff(path: Path, pages: Sequence[PageSpec], *, dpi: int = DPI) -> Path:
    """A multi-page TIFF (CCITT G4), one page per key or page image, in order."""
    first, *rest = [_image(p) for p in pages]
    first.save(path, "TIFF", save_all=True, append_images=rest, compression="group4", dpi=(dpi, dpi))
    return path


def write_script(path: Path, pages: Mapping[str, PageScript | str], *, unknown: PageScript | str | None = None) -> Path:
    """The JSON script of ``ScriptedEngine.from_file`` (``ocr.engine = "scripted"``,
    ``ocr.script_file``), for a ``kartoteka`` subprocess; a plain string is a page's text."""

    def plain(script: PageScript | str) -> dict[str, object]:
        return dataclasses.asdict(PageScript(script) if isinstance(script, str) else script)

    data: dict[str, object] = {"pages": {key: plain(script) for key, script in pages.items()}}
    if unknown is not None:
        data["unknown"] = plain(unknown)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    return path
