"""A second recognition of low-confidence lines at another scale (issue 13's optional step): does it pay?

    .venv/bin/python bench/reread_bench.py [--config 0.75,1.33/0.6/6 ...] [--samples DIR]
                                           [--out bench/results/reread.md]

Each page is prepared exactly as the service prepares it (``ocr.page.prepare``, then the ruling
lines removed where ``ocr.rules.find_rules`` finds a grid) and recognised once with tesserocr
(``PSM.AUTO``, as ocr/tesserocr_engine.py). Every hOCR line whose mean word confidence is below
the threshold is then cut out of the prepared image (a third of its height around it), resized
by each factor (INTER_AREA down, INTER_CUBIC up) and read again with the given page-segmentation
mode (6 a block, 7 a single line); the reading with the highest mean confidence, at least 0.05
above the first, replaces the line. A config is ``factors/threshold/psm``.

"first" and "re-read" texts are both rebuilt from the hOCR lines (one line of words per hOCR
line), so the rebuilding itself is the same on both sides (with no line re-read the two texts
are equal).

Pages (the photo benches' own, see bench/photo_bench.py and bench/photo_kinds_bench.py):
  samples    ../shared/samples/class/phone-scan/: the small photos 1_5 and 1_6 (kinds; words of
             the flatbed scan's text found, the scan read by the same "first" pass) and the
             flatbed scans 0_1 (how many of their lines would be re-read).
  generated  bench/photo_bench.py's generated photos with known text (CER).
  held out   bench/photo_kinds_bench.py's 38 whole pages photographed at 650 px (kinds).
The images are the ones those benches cached in ~/.cache/kartoteka-photo/ (made here if missing).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

LANGS = "rus+eng"
DEFAULT_CONFIGS = ("0.75,1.33/0.6/6", "0.5,0.75,1.5/0.7/7")
#: a re-reading must beat the first by this much mean confidence to replace it
MARGIN = 0.05


@dataclass(frozen=True)
class Config:
    factors: tuple[float, ...]
    below: float
    psm: int

    @classmethod
    def parse(cls, spec: str) -> Config:
        factors, below, psm = spec.split("/")
        return cls(tuple(float(f) for f in factors.split(",")), float(below), int(psm))

    def __str__(self) -> str:
        return f"x{'/'.join(f'{f:g}' for f in self.factors)} below {self.below:g} psm {self.psm}"


class Reader:
    """One tesserocr API: a page pass, then line passes."""

    def __init__(self) -> None:
        import tesserocr

        from ocr.tesserocr_engine import find_tessdata

        self.t = tesserocr
        tessdata = find_tessdata()
        assert tessdata, "no Tesseract language data"
        self.api = tesserocr.PyTessBaseAPI(path=tessdata.rstrip("/") + "/", lang=LANGS)

    def page(self, image: Any, dpi: int) -> str:
        from PIL import Image

        self.api.SetPageSegMode(self.t.PSM.AUTO)
        self.api.SetImage(Image.fromarray(image))
        self.api.SetSourceResolution(dpi)
        self.api.Recognize()
        return str(self.api.GetHOCRText(0))

    def line(self, image: Any, dpi: int, psm: int) -> list[tuple[str, float]]:
        from PIL import Image

        self.api.SetPageSegMode(psm)
        self.api.SetImage(Image.fromarray(image))
        self.api.SetSourceResolution(max(dpi, 70))
        self.api.Recognize()
        level = self.t.RIL.WORD
        words = []
        for it in self.t.iterate_level(self.api.GetIterator(), level):
            try:
                text = it.GetUTF8Text(level)
            except RuntimeError:  # an empty word
                continue
            if text and text.strip():
                words.append((text.strip(), it.Confidence(level) / 100.0))
        return words


def mean_conf(words: list[tuple[str, float]]) -> float:
    total = sum(len(t) for t, _ in words)
    return sum(c * len(t) for t, c in words) / total if total else 0.0


def read(path: Path, reader: Reader, configs: list[Config]) -> dict[str, Any]:
    """{"first": text, str(config): text, "lines": n, "reread": {config: n}, "seconds": {...}}."""
    import cv2

    from ocr.config import OcrConfig
    from ocr.hocr import parse_hocr
    from ocr.page import prepare
    from ocr.rules import find_rules, remove_rules
    from ocr.sources import open_pages

    cfg = OcrConfig(languages=LANGS, jobs=1)
    _, pages = open_pages(path, cfg)
    page = next(iter(pages))
    assert page.image is not None
    prep = prepare(page.image, page.dpi, cfg, _NoEngine(), page.colour)
    image, dpi = prep.image, prep.dpi
    ruled = find_rules(image, dpi)
    if ruled is not None:
        image = remove_rules(image, ruled)
    started = time.perf_counter()
    words = parse_hocr(reader.page(image, dpi))
    out: dict[str, Any] = {"steps": list(prep.steps), "seconds": {"first": time.perf_counter() - started}, "reread": {}}
    lines: dict[Any, list[tuple[str, float]]] = {}
    for w in words:
        lines.setdefault(w.line.bbox if w.line else None, []).append((w.text, w.confidence))
    out["lines"] = len(lines)
    out["first"] = "\n".join(" ".join(t for t, _ in ws) for ws in lines.values())
    for c in configs:
        started = time.perf_counter()
        text, n = [], 0
        for box, first in lines.items():
            best, conf = first, mean_conf(first)
            if box is not None and conf < c.below:
                left, top, right, bottom = box
                pad = max(4, (bottom - top) // 3)
                crop = image[max(0, top - pad) : bottom + pad, max(0, left - pad) : right + pad]
                for f in c.factors:
                    resized = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_AREA if f < 1 else cv2.INTER_CUBIC)
                    resized = cv2.copyMakeBorder(resized, 10, 10, 10, 10, cv2.BORDER_CONSTANT, value=255)
                    alt = reader.line(resized, round(dpi * f), c.psm)
                    if mean_conf(alt) > conf + MARGIN:
                        best, conf = alt, mean_conf(alt)
                n += best is not first
            text.append(" ".join(t for t, _ in best))
        out[str(c)] = "\n".join(text)
        out["reread"][str(c)] = n
        out["seconds"][str(c)] = time.perf_counter() - started
    return out


class _NoEngine:
    """``prepare`` asks an engine only for sideways pages' orientation; none of these pages is."""

    def orientation(self, *args: Any, **kwargs: Any) -> None:
        return None


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", action="append", help="factors/threshold/psm, e.g. 0.75,1.33/0.6/6 (repeatable)")
    ap.add_argument("--samples", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reread.md")
    args = ap.parse_args()
    sys.argv = sys.argv[:1]  # photo_bench reads sys.argv at import
    from bench.metrics import Score, score
    from bench.photo_bench import CACHE, DEFAULT_SAMPLES, classifiers, generated, kind_scores, samples
    from bench.photo_kinds_bench import held_out_pages

    configs = [Config.parse(s) for s in (args.config or DEFAULT_CONFIGS)]
    names = ["first", *map(str, configs)]
    real = [(c, k, p) for c, k, p in samples(args.samples or DEFAULT_SAMPLES) if c in ("0_1", "1_5", "1_6")]
    gen_folder = CACHE / "generated"
    gen_folder.mkdir(parents=True, exist_ok=True)
    gen = [(c, p, truth) for c, _, p, truth in generated(gen_folder) if c != "scan"]
    held_folder = CACHE / "kinds-held-out"
    held_folder.mkdir(parents=True, exist_ok=True)
    held = [(k, p) for c, k, p in held_out_pages(held_folder) if c == "photo-650"]

    reader = Reader()
    texts: dict[Path, dict[str, Any]] = {}
    for path in [p for _, _, p in real] + [p for _, p, _ in gen] + [p for _, p in held]:
        texts[path] = read(path, reader, configs)
        print(path.name, texts[path]["steps"], texts[path]["reread"], file=sys.stderr, flush=True)

    clfs = classifiers()
    lines = []
    # samples: words of the flatbed text found, kinds
    flat = {k: texts[p]["first"] for c, k, p in real if c == "0_1"}
    lines += ["## Samples: small photos (words of the flatbed scan's text found; kinds, wrong pages)", "",
              "| condition | pages | lines re-read | text | words found | rules acc / macro-F1 | rules + model acc / macro-F1 | wrong (rules + model) |",
              "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for cond in ("1_5", "1_6"):
        items = [(k, p) for c, k, p in real if c == cond]
        for name in names:
            found = sum((score(texts[p][name], flat[k], order_insensitive=True) for k, p in items), Score()).word_accuracy
            cells = []
            wrong: list[str] = []
            for cname, clf in clfs.items():
                predicted = [clf.classify([texts[p][name]], "(none)").kind for _, p in items]
                acc, mf1 = kind_scores([k for k, _ in items], predicted)
                cells.append(f"{acc:.2f} / {mf1:.2f}")
                if cname == "rules + model":
                    wrong = [f"{k} → {got}" for (k, _), got in zip(items, predicted, strict=True) if got != k]
            reread = "-" if name == "first" else f"{sum(texts[p]['reread'][name] for _, p in items)} / {sum(texts[p]['lines'] for _, p in items)}"
            lines.append(f"| {cond} | {len(items)} | {reread} | {name} | {found:.3f} | {cells[0]} | {cells[1]} | {'; '.join(wrong) or '-'} |")
    scans = [p for c, _, p in real if c == "0_1"]
    lines += ["", "Flatbed scans (0_1, no photo step, so a product would not re-read them): lines under the threshold "
              + ", ".join(f"{c}: {sum(texts[p]['reread'][str(c)] for p in scans)} of {sum(texts[p]['lines'] for p in scans)}" for c in configs), ""]  # fmt: skip
    # generated: CER
    lines += ["## Generated photos with known text (CER)", "", "| condition | pages | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    for cond in sorted({c for c, _, _ in gen}):
        items = [(p, t) for c, p, t in gen if c == cond]
        cells = [f"{sum((score(texts[p][n], t) for p, t in items), Score()).cer * 100:.2f} %" for n in names]
        lines.append(f"| {cond} | {len(items)} | " + " | ".join(cells) + " |")
    # held out: kinds
    lines += ["", "## Held out: generated documents photographed whole at 650 px (kinds)", "",
              "| text | lines re-read | rules acc / macro-F1 | rules + model acc / macro-F1 |", "|---|---|---|---|"]  # fmt: skip
    for name in names:
        cells = []
        for clf in clfs.values():
            acc, mf1 = kind_scores([k for k, _ in held], [clf.classify([texts[p][name]], "(none)").kind for _, p in held])
            cells.append(f"{acc:.2f} / {mf1:.2f}")
        reread = "-" if name == "first" else f"{sum(texts[p]['reread'][name] for _, p in held)} / {sum(texts[p]['lines'] for _, p in held)}"
        lines.append(f"| {name} | {reread} | {cells[0]} | {cells[1]} |")
    # cost
    photos = [p for c, _, p in real if c != "0_1"] + [p for _, p, _ in gen] + [p for _, p in held]
    lines += ["", "## Cost on the photos (seconds of line passes / seconds of the page pass, all photos above)", "", "| config | ratio |", "|---|---|"]
    for c in configs:
        ratio = sum(texts[p]["seconds"][str(c)] for p in photos) / sum(texts[p]["seconds"]["first"] for p in photos)
        lines.append(f"| {c} | {ratio:.2f} |")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    head = [f"# Re-reading low-confidence lines at another scale ({dt.date.today()})", "",
            f"`.venv/bin/python bench/reread_bench.py`{''.join(f' --config {s}' for s in (args.config or []))} at {commit}; "
            "configs: " + "; ".join(map(str, configs)) + f"; a re-reading replaces a line only {MARGIN} above its confidence.", ""]  # fmt: skip
    args.out.write_text("\n".join(head + lines) + "\n", encoding="utf-8")
    print(args.out.read_text(encoding="utf-8"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
