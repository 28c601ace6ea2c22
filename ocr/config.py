"""Recognition settings. Built once by app/settings.py and passed down; never read from the environment here."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ingest.profile import check_language_list


class OcrConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Tesseract languages joined by "+", e.g. "rus+eng" or "kaz+rus+eng".
    languages: str = "rus+eng"
    #: Resolution PDF pages are rasterised at.
    dpi: int = Field(300, ge=72, le=1200)
    #: Images with more pixels than this are rejected (a decompression bomb guard); PDF pages
    #: that would exceed it are rasterised at a lower resolution instead.
    max_pixels: int = Field(120_000_000, ge=1_000_000)
    #: Largest page side in PDF points (1/72 in) we accept; 200 in = 14400 pt is the PDF limit.
    max_page_points: float = 14_400.0
    #: Seconds one page may spend in Tesseract before it is reported as failed.
    page_timeout: float = Field(180.0, gt=0)
    #: Pages recognised at once; 0 means one per CPU core.
    jobs: int = Field(0, ge=0)
    #: Orientation detection: off, or run Tesseract OSD where a page looks sideways or upside down.
    orientation: Literal["auto", "off"] = "auto"
    #: OSD confidence needed to turn a page. OCRmyPDF uses 14; on small and English pages a
    #: correct answer often scores 9-15, and in our measurements nothing below 2 was a wrong turn.
    osd_min_confidence: float = 2.0
    #: Deskew when the estimated skew is at least this many degrees (and at most max_skew).
    deskew: bool = True
    #: Below half a degree Tesseract copes by itself, and resampling a low-resolution page to fix
    #: 0.1 degree blurred it (scribe-benchmark at 96 dpi: CER 0.079 -> 0.156).
    min_skew: float = 0.5
    max_skew: float = 20.0
    #: Clean up noisy pages (denoise + binarise) when the estimated noise exceeds noise_threshold.
    #: Clean pages are left alone: binarising them made recognition slightly worse.
    clean_noisy: bool = True
    noise_threshold: float = 3.0
    #: Phone photos (ocr/photo.py, bench/results/photo.md). Find a page lying on a darker
    #: background and flatten its perspective; pages without such an outline (scans, photos
    #: cropped inside the page) are left as they are.
    find_page: bool = True
    #: Divide out uneven light and a colour cast when the paper's brightest/darkest tone exceeds
    #: uneven_above or its strongest/weakest channel exceeds cast_above. Flatbed scans measure
    #: 1.00-1.01 on both, phone photos 1.05-1.7 and 1.01-1.4.
    even_light: bool = True
    uneven_above: float = Field(1.15, ge=1.0)
    cast_above: float = Field(1.08, ge=1.0)
    #: Scale a page whose text (median letter height, ocr.photo.text_height) is below
    #: scale_below or above shrink_above pixels to text_target: at 8-10 px Tesseract lost
    #: 20 % of characters, at 28 px 3 %. Scans at 300 dpi measure 20-30 px and are left alone.
    scale_text: bool = True
    scale_below: float = Field(14.5, ge=0.0)
    shrink_above: float = Field(90.0, ge=1.0)
    text_target: float = Field(28.0, ge=8.0, le=80.0)
    #: Resampling when scaling text up (cubic, lanczos and linear + unsharp were within noise).
    resampling: Literal["cubic", "lanczos", "linear"] = "cubic"
    #: Unsharp-mask amount after scaling text up 3x or more (0: none): the upscaled strokes of
    #: 4-6 px letters are soft, and Tesseract reads them better crisp. On the held-out 650 px
    #: photos of bench/photo_kinds_bench.py, CER 60.8 % -> 53.9 % at 1.0 (50.6 % at 1.6, 50.7 % at
    #: 2.4; kinds 0.32 -> 0.47); bench/results/photo.md has the other conditions.
    sharpen: float = Field(1.0, ge=0.0, le=4.0)
    #: Blank pages are detected and not sent to Tesseract.
    skip_blank: bool = True
    #: Remove dark scanner borders.
    remove_borders: bool = True
    #: A PDF page with at least this many letters or digits in its text layer is taken as it is.
    text_layer_min_chars: int = 20
    #: Read QR codes and barcodes on each page (for separator sheets); off unless a profile needs it.
    read_codes: bool = False
    #: How PDF pages are rasterised: PDFium in-process (about 3x faster) or poppler's pdftoppm.
    rasterizer: Literal["pdfium", "pdftoppm"] = "pdfium"
    #: The recognition engine. "tesserocr-workers" (default): Tesseract kept loaded in long-lived
    #: worker processes (tesserocr's wheel, its own Tesseract 5.5, the installed language data),
    #: one per core: a page that hangs is killed at page_timeout and one that crashes Tesseract
    #: takes only its worker down; 0.93-0.97x raw tesseract's pages/minute on clean pages and
    #: 1.03x on the real samples, against 0.66-0.70x and 0.69x for "tesseract"
    #: (bench/results/ocr-quick-engines.md). "tesseract": the tesseract program, one process per
    #: page (ocr/tesseract.py; no extra package). "tesserocr": in this process, as
    #: fast, but a Tesseract crash ends the process and the timeout misses layout analysis.
    #: "scripted": no recognition at all; each page answers from ``script_file`` by the QR code
    #: printed on it (ocr/fake.py), for tests and integrators' rehearsals. Never the default.
    engine: Literal["tesseract", "tesserocr", "tesserocr-workers", "scripted"] = "tesserocr-workers"
    #: The "scripted" engine's JSON script (``ScriptedEngine.from_file``):
    #: ``{"pages": {"<QR key>": {"text": ..., "confidence": 0.95, "fail": "unreadable", "delay": 0.5}},
    #: "unknown": {...}}``. Ignored by the other engines.
    script_file: Path | None = None
    #: Path of the tesseract program.
    tesseract_cmd: str = "tesseract"

    @field_validator("languages")
    @classmethod
    def _language_list(cls, value: str) -> str:
        return check_language_list(value)
