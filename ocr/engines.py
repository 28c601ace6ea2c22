"""Build the recognition engine the settings name: the one place that chooses it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from ingest.errors import ConfigurationError
from ocr.config import OcrConfig
from ocr.engine import OcrEngine
from ocr.tesseract import TesseractEngine

if TYPE_CHECKING:  # imported when chosen: tesserocr loads its own libtesseract
    from ocr.fake import ScriptedEngine
    from ocr.tesserocr_engine import TesserocrEngine
    from ocr.worker_engine import WorkerEngine


def make_engine(cfg: OcrConfig, max_parallel: int = 0, *, languages: Iterable[str] = ()) -> OcrEngine:
    """The engine of ``cfg.engine``, checked to have ``cfg.languages`` and ``languages``.

    ``max_parallel`` caps the pages recognised at once in the whole process (0: no cap).
    Raises EngineMissing (a ConfigurationError) when the engine or a language pack is missing,
    ConfigurationError when the scripted engine has no readable script.
    """
    engine: TesseractEngine | TesserocrEngine | WorkerEngine | ScriptedEngine
    if cfg.engine == "tesserocr-workers":
        from ocr import tesserocr_engine, worker_engine

        engine = worker_engine.WorkerEngine(tesserocr_engine.find_tessdata(cfg.tesseract_cmd), max_parallel=max_parallel)
    elif cfg.engine == "tesserocr":
        from ocr import tesserocr_engine

        tessdata = tesserocr_engine.find_tessdata(cfg.tesseract_cmd)
        engine = tesserocr_engine.TesserocrEngine(tessdata, max_parallel=max_parallel)
    elif cfg.engine == "scripted":
        engine = _scripted(cfg)
    else:
        engine = TesseractEngine(cfg.tesseract_cmd, max_parallel=max_parallel)
    for langs in dict.fromkeys([cfg.languages, *languages]):
        engine.check_languages(langs)
    return engine


def _scripted(cfg: OcrConfig) -> ScriptedEngine:
    """The scripted test engine (ocr/fake.py) from ``cfg.script_file``."""
    from ocr.fake import ScriptedEngine

    if cfg.script_file is None:
        raise ConfigurationError("the scripted OCR engine needs a script: set ocr.script_file (KARTOTEKA_OCR_SCRIPT_FILE)")
    try:
        return ScriptedEngine.from_file(cfg.script_file)
    except (OSError, ValueError) as e:
        detail = " ".join(str(e).split())
        raise ConfigurationError(f"the scripted OCR engine's script {cfg.script_file} cannot be used: {detail}") from e
