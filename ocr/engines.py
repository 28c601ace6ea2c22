"""Build the recognition engine the settings name: the one place that chooses it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ocr.config import OcrConfig
from ocr.engine import OcrEngine
from ocr.tesseract import TesseractEngine

if TYPE_CHECKING:  # imported when chosen: tesserocr loads its own libtesseract
    from ocr.tesserocr_engine import TesserocrEngine
    from ocr.worker_engine import WorkerEngine


def make_engine(cfg: OcrConfig, max_parallel: int = 0, *, languages: Iterable[str] = ()) -> OcrEngine:
    """The engine of ``cfg.engine``, checked to have ``cfg.languages`` and ``languages``.

    ``max_parallel`` caps the pages recognised at once in the whole process (0: no cap).
    Raises EngineMissing (a ConfigurationError) when the engine or a language pack is missing.
    """
    engine: TesseractEngine | TesserocrEngine | WorkerEngine
    if cfg.engine == "tesserocr-workers":
        from ocr import tesserocr_engine, worker_engine

        engine = worker_engine.WorkerEngine(tesserocr_engine.find_tessdata(cfg.tesseract_cmd), max_parallel=max_parallel)
    elif cfg.engine == "tesserocr":
        from ocr import tesserocr_engine

        tessdata = tesserocr_engine.find_tessdata(cfg.tesseract_cmd)
        engine = tesserocr_engine.TesserocrEngine(tessdata, max_parallel=max_parallel)
    else:
        engine = TesseractEngine(cfg.tesseract_cmd, max_parallel=max_parallel)
    for langs in dict.fromkeys([cfg.languages, *languages]):
        engine.check_languages(langs)
    return engine
