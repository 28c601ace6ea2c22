"""What recognition produces: plain frozen data, safe to pass between threads and to JSON."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Source = Literal["ocr", "text-layer"]


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    #: left, top, right, bottom in pixels of the recognised (preprocessed) image
    box: tuple[int, int, int, int]
    #: 0..1
    confidence: float


@dataclass(frozen=True, slots=True)
class PageText:
    """One engine run on one page image: everything Tesseract renders from that single run."""

    text: str
    words: tuple[Word, ...]
    hocr: str
    pdf: bytes | None


@dataclass(frozen=True, slots=True)
class PageResult:
    number: int
    text: str = ""
    #: mean word confidence 0..1 (1.0 for a text layer, 0.0 for a blank or failed page)
    confidence: float = 0.0
    #: clockwise degrees the page was turned to be upright (0, 90, 180, 270)
    rotation: int = 0
    #: degrees of skew found and corrected
    skew: float = 0.0
    source: Source = "ocr"
    blank: bool = False
    error: str | None = None
    #: the error was transient (the engine could not run): the page may work on a later try
    retry: bool = False
    width: int = 0
    height: int = 0
    dpi: int = 0
    words: tuple[Word, ...] = ()
    hocr: str = ""
    #: the searchable-PDF page from the same Tesseract run (None for text-layer and failed pages)
    pdf: bytes | None = field(default=None, repr=False)
    #: the same page written to a spool file (set by ocr.run when a spool folder is given)
    pdf_file: Path | None = None
    #: QR codes and barcodes found on the page (only when OcrConfig.read_codes is on)
    codes: tuple[str, ...] = ()
    #: what preprocessing did, for logs and benchmarks
    steps: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """The command-line contract's page object (plus a few extra keys)."""
        out: dict[str, Any] = {
            "number": self.number,
            "text": self.text,
            "confidence": round(self.confidence, 4),
            "rotation": self.rotation,
            "skew": round(self.skew, 2),
            "source": self.source,
        }
        if self.blank:
            out["blank"] = True
        if self.error:
            out["error"] = self.error
        if self.steps:
            out["steps"] = list(self.steps)
        return out


@dataclass(frozen=True, slots=True)
class FileResult:
    path: str
    media_type: str = ""
    pages: tuple[PageResult, ...] = ()
    #: set when the file as a whole could not be read (then pages is empty)
    error: str | None = None

    @property
    def failed_pages(self) -> list[PageResult]:
        return [p for p in self.pages if p.error]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed_pages

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "pages": [p.summary() for p in self.pages]}
        if self.error:
            out["error"] = self.error
        return out


def word_dict(w: Word) -> dict[str, Any]:
    return asdict(w)
