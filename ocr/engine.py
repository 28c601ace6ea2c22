"""The recognition engine interface. Implementations: ocr/tesseract.py (real), ocr/fake.py (tests)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import numpy as np

from ocr.model import PageText


@dataclass(frozen=True, slots=True)
class Orientation:
    #: clockwise degrees the page must be turned to be upright
    rotation: int
    confidence: float


@runtime_checkable
class OcrEngine(Protocol):
    """Recognises one page image. Implementations are called from worker threads, one page each."""

    name: str

    def version(self) -> str: ...

    def languages(self) -> set[str]: ...

    def recognize(self, image: np.ndarray, *, languages: str, dpi: int, timeout: float) -> PageText:
        """Text, words with confidences, hOCR and a searchable-PDF page, all from one run.

        Raises UnreadablePage (permanent: the page makes the engine fail or time out) or
        EngineFailed (transient: the engine itself could not run).
        """
        ...

    def orientation(self, image: np.ndarray, *, dpi: int, timeout: float) -> Orientation | None:
        """Which way up the page is, or None when the engine cannot tell."""
        ...
