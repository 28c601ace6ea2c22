"""The recognised text of the sample images, recognised once and cached outside the repository
(the samples have no licence: neither they nor their text go into it). Shared by the benches
that read ``../shared/samples/class/``."""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

__all__ = ["labelled_texts"]

LANGS = "rus+eng"


def labelled_texts(samples: Path, cache: Path, *, code_key: str = "", verbose: bool = False) -> list[tuple[str, str, str]]:
    """(label, file name, text) of every image under ``samples``/<label>/, recognised with the
    project's default engine; cached in ``cache`` by the image's checksum, the languages and
    ``code_key`` (e.g. a checksum of ``ocr/``, so a change of the recogniser reads them again)."""
    from ocr.config import OcrConfig
    from ocr.engines import make_engine
    from ocr.run import recognize_files, workers

    paths = sorted(p for p in samples.glob("*/*") if p.is_file())
    cache.mkdir(parents=True, exist_ok=True)
    suffix = f"-{code_key}" if code_key else ""
    keys = {p: cache / f"{hashlib.sha256(p.read_bytes()).hexdigest()}-{LANGS}{suffix}.json" for p in paths}
    missing = [p for p in paths if not keys[p].exists()]
    if missing:
        cfg = OcrConfig(languages=LANGS)
        engine = make_engine(cfg, workers(cfg))
        started = time.monotonic()
        for path, result in zip(missing, recognize_files(missing, cfg, engine), strict=True):
            keys[path].write_text(json.dumps([pg.text for pg in result.pages], ensure_ascii=False), encoding="utf-8")
            if verbose:
                print(f"recognised {path.parent.name}/{path.name}", file=sys.stderr)
        print(f"recognised {len(missing)} images in {time.monotonic() - started:.0f} s", file=sys.stderr)
    return [(p.parent.name, p.name, "\n".join(json.loads(keys[p].read_text(encoding="utf-8")))) for p in paths]
