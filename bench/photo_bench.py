"""Phone photos (issue 13): raw Tesseract, the commit before the photo steps, and this tree.

    .venv/bin/python bench/photo_bench.py [--before /tmp/kt-photo-before] [--samples DIR]
                                          [--out bench/results/photo.md]

Pages, all recognised by each variant in the same run:
  samples    ../shared/samples/class/phone-scan/<kind>/: one paper document per kind (11), as a
             flatbed scan (0_1) and photographed seven ways (1_1..1_7, manifest ``condition``).
  generated  texts with known words (tests/pages.py TEXTS and generated office documents from
             tests/classify/documents.py) as a 300 dpi flatbed scan, and photographed
             (tests/ocr/test_photo.py ``photograph``): small whole pages in perspective on a
             desk, small pages cropped at the edges (both: shading, colour cast, blur, JPEG),
             and a larger whole-page photo.
Variants:
  raw        the engine alone on the image as loaded (grayscale), no preprocessing;
  before     ``ocr.run.recognize_files`` from a git worktree of the commit before the photo steps;
  off        the same from this tree with the photo steps switched off (OcrConfig
             find_page, even_light, scale_text = False);
  after      the same from this tree.
All use the default engine (tesserocr workers) with ``jobs=1``: one page at a time, so seconds
per page are comparable. Recognised text is cached in ~/.cache/kartoteka-photo/<variant>/ by
image checksum (and, for ``after``, a checksum of ocr/*.py), so reruns take seconds.
Kinds: the project's classifier as in bench/classify_bench.py: rules alone, and rules + model
with the model trained on generated documents only (no real document is used for training,
so every condition is scored on documents the model has not seen).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
# The recognising subprocess imports ``ocr`` from the tree on its PYTHONPATH (this one or "before").
if str(REPO) not in sys.path and "--recognise" not in sys.argv:
    sys.path.insert(0, str(REPO))

CACHE = Path.home() / ".cache" / "kartoteka-photo"
DEFAULT_SAMPLES = REPO.parent / "shared" / "samples" / "class" / "phone-scan"
LANGS = "rus+eng"
VARIANTS = ("raw", "before", "off", "after")
#: "off": this tree with the photo steps switched off, so other changes since "before" (the
#: ruled-forms step is being changed alongside) are not counted as the photo steps' doing
PHOTO_OFF = {"find_page": False, "even_light": False, "scale_text": False}
#: generated conditions: (name, photograph() keyword arguments, points); None: a flatbed scan
GENERATED: dict[str, tuple[dict[str, Any], float] | None] = {
    "scan": None,
    "photo-small": ({"across": 900}, 9.0),
    "photo-small-cropped": ({"across": 650, "cropped": True}, 9.0),
    "photo-large": ({"across": 1800}, 9.0),
}


# --- recognition (run in a subprocess whose sys.path starts with the variant's tree) ---------


def recognise(variant: str, files: list[Path], out: Path) -> None:
    """Recognise ``files`` one at a time; write {file: {text, seconds, steps}} to ``out``."""
    import numpy as np
    from PIL import Image

    from ocr.config import OcrConfig
    from ocr.engines import make_engine
    from ocr.run import recognize_files

    cfg = OcrConfig(languages=LANGS, jobs=1, **(PHOTO_OFF if variant == "off" else {}))
    engine = make_engine(cfg, 1)
    # Warm up (start the worker, load the models) so the first page's time is the page's own.
    engine.recognize(np.full((200, 600), 255, np.uint8), languages=LANGS, dpi=300, timeout=60.0)
    results: dict[str, Any] = {}
    for path in files:
        started = time.perf_counter()
        if variant == "raw":
            with Image.open(path) as img:
                gray = np.ascontiguousarray(np.asarray(img.convert("L"), dtype=np.uint8))
                dpi = int(img.info.get("dpi", (300, 300))[0]) or 300
            text = engine.recognize(gray, languages=LANGS, dpi=dpi if dpi >= 70 else 300, timeout=180.0)
            entry: dict[str, Any] = {"text": text.text, "steps": []}
        else:
            (result,) = recognize_files([path], cfg, engine)
            entry = {"text": "\n".join(p.text for p in result.pages), "steps": [list(p.steps) for p in result.pages]}
        entry["seconds"] = time.perf_counter() - started
        results[str(path)] = entry
        print(f"{variant} {path.name} {entry['seconds']:.1f}s {entry['steps']}", file=sys.stderr, flush=True)
    close = getattr(engine, "close", None)
    if close:
        close()
    out.write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")


def paired_cost(files: list[Path], out: Path, rounds: int) -> None:
    """Seconds of ``recognize_page`` per page with the photo steps on and off, alternating on
    the same page in one process (off, on, off, on, ...), so load drifts hit both alike."""
    from ocr.config import OcrConfig
    from ocr.engines import make_engine
    from ocr.page import recognize_page
    from ocr.sources import open_pages

    on = OcrConfig(languages=LANGS, jobs=1)
    off = on.model_copy(update=PHOTO_OFF)
    engine = make_engine(on, 1)
    results: dict[str, dict[str, list[float]]] = {}
    for path in files:
        _, pages = open_pages(path, on)
        page = next(iter(pages))
        assert page.image is not None
        engine.recognize(page.image, languages=LANGS, dpi=page.dpi, timeout=180.0)  # warm up
        times: dict[str, list[float]] = {"off": [], "on": []}
        for _ in range(rounds):
            for name, cfg in (("off", off), ("on", on)):
                started = time.perf_counter()
                recognize_page(1, page.image, page.dpi, cfg, engine, colour=page.colour)
                times[name].append(time.perf_counter() - started)
        results[str(path)] = times
        print(f"cost {path.name} off {statistics.median(times['off']):.2f}s on {statistics.median(times['on']):.2f}s", file=sys.stderr, flush=True)
    out.write_text(json.dumps(results), encoding="utf-8")


def _tree_key(tree: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted((tree / "ocr").glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def recognised(variant: str, tree: Path, files: list[Path]) -> dict[Path, dict[str, Any]]:
    """Each file's text, steps and seconds for ``variant``, from the cache or a fresh run."""
    folder = CACHE / (variant if variant == "raw" else f"{variant}-{_tree_key(tree)}")
    folder.mkdir(parents=True, exist_ok=True)
    keys = {p: folder / f"{hashlib.sha256(p.read_bytes()).hexdigest()}.json" for p in files}
    missing = [p for p in files if not keys[p].exists()]
    if missing:
        for name, entry in _run(variant, tree, missing).items():
            keys[Path(name)].write_text(json.dumps(entry, ensure_ascii=False), encoding="utf-8")
    return {p: json.loads(keys[p].read_text(encoding="utf-8")) for p in files}


def _run(variant: str, tree: Path, files: list[Path]) -> dict[str, Any]:
    """Recognise ``files`` in a subprocess importing ``ocr`` from ``tree``."""
    with tempfile.TemporaryDirectory() as tmp:
        listing, out = Path(tmp) / "files.txt", Path(tmp) / "out.json"
        listing.write_text("\n".join(map(str, files)), encoding="utf-8")
        env = {**os.environ, "PYTHONPATH": str(tree), "OMP_THREAD_LIMIT": "1"}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--recognise", variant, str(listing), str(out)]
        subprocess.run(cmd, check=True, env=env, cwd=tree)
        result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
        return result


def clean_cost(trees: dict[str, Path], files: list[Path], rounds: int) -> list[str]:
    """Seconds per clean page, variants run in turn (before, off, after, before, ...), never
    cached: load on the shared machine drifts over minutes, so only interleaved runs compare."""
    order = ("before", "off", "after")
    times: dict[str, dict[str, list[float]]] = {v: defaultdict(list) for v in order}
    for _ in range(rounds):
        for variant in order:
            for name, entry in _run(variant, trees[variant], files).items():
                times[variant][name].append(entry["seconds"])
    med = {v: [statistics.median(times[v][str(p)]) for p in files] for v in order}
    lines = [
        f"{len(files)} clean pages (the 0_1 flatbed samples and the generated scans), {rounds} rounds of "
        "before, off, after; per page the median of its rounds.",
        "",
        "| | before s/page | off s/page | after s/page | after / before | after / off |",
        "|---|---|---|---|---|---|",
    ]
    for label, agg in (("median over pages", statistics.median), ("total", sum)):
        b, o, a = (agg(med[v]) for v in order)
        lines.append(f"| {label} | {b:.2f} | {o:.2f} | {a:.2f} | {a / b:.3f} | {a / o:.3f} |")
    return lines


def paired_rows(files: list[Path], rounds: int) -> list[str]:
    """The in-process on/off comparison (``paired_cost``) as report lines."""
    with tempfile.TemporaryDirectory() as tmp:
        listing, out = Path(tmp) / "files.txt", Path(tmp) / "out.json"
        listing.write_text("\n".join(map(str, files)), encoding="utf-8")
        cmd = [sys.executable, str(Path(__file__).resolve()), "--paired-cost", str(listing), str(out), str(rounds)]
        subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": str(REPO), "OMP_THREAD_LIMIT": "1"}, cwd=REPO)
        times = json.loads(out.read_text(encoding="utf-8"))
    off = [statistics.median(times[str(p)]["off"]) for p in files]
    on = [statistics.median(times[str(p)]["on"]) for p in files]
    ratios = [a / b for a, b in zip(on, off, strict=True)]
    return [
        "",
        f"The same pages in one process, photo steps off and on alternately on each page, {rounds} times each "
        "(`recognize_page`, page already decoded; per page the median):",
        "",
        "| | off s/page | on s/page | on / off |",
        "|---|---|---|---|",
        f"| median over pages | {statistics.median(off):.3f} | {statistics.median(on):.3f} | {statistics.median(ratios):.3f} (median of per-page ratios) |",
        f"| total | {sum(off):.2f} | {sum(on):.2f} | {sum(on) / sum(off):.3f} |",
    ]


# --- pages ----------------------------------------------------------------------------------


def samples(folder: Path) -> list[tuple[str, str, Path]]:
    """(condition, kind, path) of every sample image; the condition is the name's prefix."""
    out = []
    for path in sorted(folder.glob("*/*.jpg")):
        out.append((path.name[:3], path.parent.name, path))
    return out


def generated_texts() -> list[tuple[str, str]]:
    """(name, text): the Russian and English test texts and three generated office documents (Russian)."""
    from tests import pages as P
    from tests.classify.documents import corpus

    docs = [d for d in corpus(1, seed=31, damaged=0.0) if d.kind in ("payment_invoice", "lease_contract", "acceptance_act")]
    # Kazakh is left out: the pages are read with rus+eng, as the samples are.
    return [("rus", P.TEXTS["rus"]), ("eng", P.TEXTS["eng"]), *((d.kind, d.text) for d in docs)]


def generated(folder: Path) -> list[tuple[str, str, Path, str]]:
    """(condition, name, path, truth) of every generated page, written under ``folder``."""
    import cv2

    from tests import pages as P
    from tests.ocr.test_photo import photograph

    out = []
    for index, (name, text) in enumerate(generated_texts()):
        for condition, spec in GENERATED.items():
            path = folder / f"{condition}-{name}.{'png' if spec is None else 'jpg'}"
            if not path.exists():
                if spec is None:
                    P.save_png(P.render_page(text, points=9.0), path)
                else:
                    kwargs, points = spec
                    cv2.imwrite(str(path), photograph(P.render_page(text, points=points), seed=index, **kwargs))
            out.append((condition, name, path, text))
    return out


# --- scores ---------------------------------------------------------------------------------


def word_f1(hypothesis: str, truth: str) -> tuple[int, int, int]:
    """(matched, hypothesis words, truth words), bag of words as bench/metrics.py counts them."""
    from collections import Counter

    from bench.metrics import words

    hw, tw = Counter(words(hypothesis)), Counter(words(truth))
    return sum(min(n, hw[w]) for w, n in tw.items()), sum(hw.values()), sum(tw.values())


def f1(parts: list[tuple[int, int, int]]) -> float:
    found, hyp, truth = (sum(p[i] for p in parts) for i in range(3))
    return 2 * found / (hyp + truth) if hyp + truth else 1.0


def kind_scores(truth: list[str], predicted: list[str]) -> tuple[float, float]:
    from sklearn.metrics import accuracy_score, f1_score

    labels = sorted(set(truth))
    return float(accuracy_score(truth, predicted)), float(f1_score(truth, predicted, labels=labels, average="macro", zero_division=0))


def classifiers() -> dict[str, Any]:
    """The rules alone, and rules + a model trained on generated documents of every kind."""
    from classify.classifier import Classifier
    from classify.config import ClassifyConfig
    from classify.learned import train
    from tests.classify.documents import corpus

    rules = Classifier(ClassifyConfig(), Path(tempfile.mkdtemp(prefix="kartoteka-photo-rules-")))
    rules.install(None)
    combined = Classifier(ClassifyConfig(), Path(tempfile.mkdtemp(prefix="kartoteka-photo-model-")))
    docs = corpus(20, seed=11)
    combined.install(train([d.text for d in docs], [d.kind for d in docs]))
    return {"rules": rules, "rules + model": combined}


# --- report ---------------------------------------------------------------------------------


def sample_rows(real: list[tuple[str, str, Path]], texts: dict[str, dict[Path, dict[str, Any]]]) -> list[str]:
    lines = ["| condition | pages | classifier | " + " | ".join(f"{v} acc / macro-F1" for v in VARIANTS) + " | "
             + " | ".join(f"{v} s/page" for v in VARIANTS) + " |", "|---|---|---|" + "---|" * (2 * len(VARIANTS))]  # fmt: skip
    by_condition: dict[str, list[tuple[str, Path]]] = defaultdict(list)
    for condition, kind, path in real:
        by_condition[condition].append((kind, path))
    for name, clf in classifiers().items():
        for condition, items in sorted(by_condition.items()):
            truth = [kind for kind, _ in items]
            cells = []
            for v in VARIANTS:
                predicted = [clf.classify([texts[v][p]["text"]], "(none)").kind for _, p in items]
                acc, mf1 = kind_scores(truth, predicted)
                cells.append(f"{acc:.2f} / {mf1:.2f}")
            secs = [f"{statistics.median(texts[v][p]['seconds'] for _, p in items):.2f}" for v in VARIANTS]
            lines.append(f"| {condition} | {len(items)} | {name} | " + " | ".join(cells) + " | " + " | ".join(secs) + " |")
    return lines


def generated_rows(pages: list[tuple[str, str, Path, str]], texts: dict[str, dict[Path, dict[str, Any]]]) -> list[str]:
    from bench.metrics import Score, score

    lines = ["| condition | pages | " + " | ".join(f"{v} word F1 / CER" for v in VARIANTS) + " | "
             + " | ".join(f"{v} s/page" for v in VARIANTS) + " | steps (after) |", "|---|---|" + "---|" * (2 * len(VARIANTS) + 1)]  # fmt: skip
    for condition in GENERATED:
        items = [(p, truth) for c, _, p, truth in pages if c == condition]
        cells = []
        for v in VARIANTS:
            total = sum((score(texts[v][p]["text"], t) for p, t in items), Score())
            cells.append(f"{f1([word_f1(texts[v][p]['text'], t) for p, t in items]):.3f} / {total.cer * 100:.1f}%")
        secs = [f"{statistics.median(texts[v][p]['seconds'] for p, _ in items):.2f}" for v in VARIANTS]
        steps = sorted({" ".join(s) for p, _ in items for s in texts["after"][p]["steps"]})
        lines.append(f"| {condition} | {len(items)} | " + " | ".join(cells) + " | " + " | ".join(secs) + f" | {'; '.join(steps) or '-'} |")
    return lines


def recall_rows(real: list[tuple[str, str, Path]], texts: dict[str, dict[Path, dict[str, Any]]]) -> list[str]:
    """Words of each kind's flatbed text (as this tree reads it) found in its photos: the samples
    have no ground truth, so the scan stands in for it (1_5/1_6 show part of the page only)."""
    from bench.metrics import Score, score

    flat = {kind: texts["after"][p]["text"] for c, kind, p in real if c == "0_1"}
    lines = ["| condition | " + " | ".join(VARIANTS) + " |", "|---|" + "---|" * len(VARIANTS)]
    for condition in sorted({c for c, _, _ in real} - {"0_1"}):
        items = [(kind, p) for c, kind, p in real if c == condition and kind in flat]
        cells = [sum((score(texts[v][p]["text"], flat[k], order_insensitive=True) for k, p in items), Score()).word_accuracy for v in VARIANTS]
        lines.append(f"| {condition} | " + " | ".join(f"{x:.3f}" for x in cells) + " |")
    return lines


def step_rows(real: list[tuple[str, str, Path]], texts: dict[str, dict[Path, dict[str, Any]]]) -> list[str]:
    by_condition: dict[str, list[str]] = defaultdict(list)
    for condition, _, path in real:
        by_condition[condition] += [" ".join(s) or "-" for s in texts["after"][path]["steps"]]
    lines = ["| condition | steps taken (after; pages) |", "|---|---|"]
    for condition, steps in sorted(by_condition.items()):
        counts: dict[str, int] = defaultdict(int)
        for s in steps:
            counts[s] += 1
        lines.append(f"| {condition} | " + "; ".join(f"{s} ({n})" for s, n in sorted(counts.items())) + " |")
    return lines


def main() -> int:
    if len(sys.argv) == 5 and sys.argv[1] == "--paired-cost":
        paired_cost([Path(p) for p in Path(sys.argv[2]).read_text(encoding="utf-8").split("\n") if p], Path(sys.argv[3]), int(sys.argv[4]))
        return 0
    if len(sys.argv) == 5 and sys.argv[1] == "--recognise":
        recognise(sys.argv[2], [Path(p) for p in Path(sys.argv[3]).read_text(encoding="utf-8").split("\n") if p], Path(sys.argv[4]))
        return 0
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", type=Path, default=Path("/tmp/kt-photo-before"), help="worktree of the commit before")
    ap.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "photo.md")
    ap.add_argument("--variants", nargs="*", default=list(VARIANTS), help="recognise only these (fill the cache)")
    ap.add_argument("--rounds", type=int, default=2, help="interleaved timing rounds on the clean pages (0: none)")
    args = ap.parse_args()
    real = samples(args.samples)
    folder = CACHE / "generated"
    folder.mkdir(parents=True, exist_ok=True)
    gen = generated(folder)
    files = [p for _, _, p in real] + [p for _, _, p, _ in gen]
    trees = {"raw": REPO, "before": args.before, "off": REPO, "after": REPO}
    texts = {v: recognised(v, trees[v], files) for v in args.variants}
    if set(args.variants) != set(VARIANTS):
        return 0
    before = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=args.before, capture_output=True, text=True).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    lines = [
        f"# Phone photos ({dt.date.today().isoformat()})",
        "",
        f"`bench/photo_bench.py`; before = `{before}`, after = this tree (`{head}` + changes). "
        "One page at a time, default engine, rus+eng; seconds are medians per page on a shared 2-core machine.",
        "",
        "## Samples: kind found (11 kinds, one paper document each per condition)",
        "",
        *sample_rows(real, texts),
        "",
        "## Samples: words of the flatbed scan's text found in the photo",
        "",
        *recall_rows(real, texts),
        "",
        "## Generated pages with known text",
        "",
        *generated_rows(gen, texts),
        "",
        "## Steps taken on the samples",
        "",
        *step_rows(real, texts),
    ]
    if args.rounds:
        clean = [p for c, _, p in real if c == "0_1"] + [p for c, _, p, _ in gen if c == "scan"]
        lines += ["", "## Cost on clean scans, timed interleaved", "", *clean_cost(trees, clean, args.rounds), *paired_rows(clean, 2 * args.rounds)]
    from bench.report import publish

    publish(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
