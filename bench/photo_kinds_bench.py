"""Kinds of phone photos (issue 13): the classifier before and after the noise-tolerant matching.

    .venv/bin/python bench/photo_kinds_bench.py [--before COMMIT] [--samples DIR]
                                                [--out bench/results/photo-kinds.md]

Texts are recognised once, by this tree's OCR (as ``after`` in bench/photo_bench.py, whose cache
in ~/.cache/kartoteka-photo/ this script shares), and classified twice: by the classify package
of ``--before`` (unpacked with ``git archive`` into /tmp, run in a subprocess) and by this tree.
Both classifiers are built as bench/photo_bench.py builds them: rules alone, and rules + a model
trained on generated documents (``corpus(20, seed=11)``).

Two sets of pages:
  samples    ../shared/samples/class/phone-scan/<kind>/: one paper document per kind (11), as a
             flatbed scan (0_1) and photographed seven ways (1_1..1_7). The kind rules were written
             from these documents, and the noise-tolerant matching was tuned on them: their
             figures are test-set figures.
  held out   documents generated with tests/classify/documents.py ``generate`` (seed 2027, not
             the model's training seed, every starter kind), rendered at 9 pt and photographed with
             tests/ocr/test_photo.py ``photograph``: small whole pages on a desk (900 and 650 px
             across) and small cropped pages (650 px), plus the flatbed scan. Never looked at
             while tuning.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

#: the commit before the noise-tolerant matching
BEFORE = "40815f1"
#: held-out conditions: (photograph() keyword arguments); None: a 300 dpi flatbed scan
HELD_OUT: dict[str, dict[str, Any] | None] = {
    "scan": None,
    "photo-900": {"across": 900},
    "photo-650": {"across": 650},
    "cropped-650": {"across": 650, "cropped": True},
}
PER_KIND = 2
SEED = 2027
CLASSIFIERS = ("rules", "rules + model")


def classify_texts(texts: dict[str, str]) -> dict[str, dict[str, str]]:
    """{key: {classifier: kind}} by the ``classify`` package first on sys.path."""
    sys.argv = sys.argv[:1]  # photo_bench reads sys.argv at import
    from bench.photo_bench import classifiers

    clfs = classifiers()
    return {key: {name: clf.classify([text], "(none)").kind for name, clf in clfs.items()} for key, text in texts.items()}


def classify_in(tree: Path, texts: dict[str, str]) -> dict[str, dict[str, str]]:
    """``classify_texts`` run in a subprocess importing ``classify`` and ``tests`` from ``tree``."""
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "texts.json", Path(tmp) / "out.json"
        src.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        code = (
            "import json, sys; tree, repo, src, out = sys.argv[1:5]; sys.path[:0] = [tree, repo]\n"
            "from bench.photo_kinds_bench import classify_texts\n"
            "texts = json.load(open(src, encoding='utf-8'))\n"
            "json.dump(classify_texts(texts), open(out, 'w', encoding='utf-8'))\n"
        )
        # ``tree`` first: its classify/ and tests/ win; this repo second, for bench/ only.
        env = {**os.environ, "PYTHONPATH": f"{tree}{os.pathsep}{REPO}"}
        subprocess.run([sys.executable, "-c", code, str(tree), str(REPO), str(src), str(out)], check=True, env=env, cwd=tree)
        result: dict[str, dict[str, str]] = json.loads(out.read_text(encoding="utf-8"))
        return result


def before_tree(commit: str) -> Path:
    """The tree at ``commit`` unpacked under /tmp (``git archive``; the work tree is not touched)."""
    full = subprocess.run(["git", "rev-parse", commit], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()
    tree = Path(tempfile.gettempdir()) / f"kt-kinds-before-{full[:12]}"
    if not (tree / "classify").exists():
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "archive", full, "classify", "tests", "ingest"], cwd=REPO, capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
    return tree


def held_out_pages(folder: Path) -> list[tuple[str, str, Path]]:
    """(condition, kind, path) of every held-out page, rendered and photographed under ``folder``."""
    import cv2

    from tests import pages as P
    from tests.classify.documents import KINDS, generate
    from tests.ocr.test_photo import photograph

    rng = random.Random(SEED)
    docs = [(kind, i, generate(kind, rng)) for kind in KINDS for i in range(PER_KIND)]
    out = []
    for index, (kind, i, doc) in enumerate(docs):
        page = None
        for condition, spec in HELD_OUT.items():
            path = folder / f"{condition}-{kind}-{i}.{'png' if spec is None else 'jpg'}"
            if not path.exists():
                page = page if page is not None else P.render_page(doc.text, points=9.0)
                if spec is None:
                    P.save_png(page, path)
                else:
                    cv2.imwrite(str(path), photograph(page, seed=SEED + index, **spec))
            out.append((condition, kind, path))
    return out


def rows(pages: list[tuple[str, str, Path]], before: dict[str, dict[str, str]], after: dict[str, dict[str, str]]) -> list[str]:
    """One table row per condition and classifier: accuracy / macro-F1 before and after."""
    from bench.photo_bench import kind_scores

    by_condition: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for condition, kind, path in pages:
        by_condition[condition].append((kind, str(path)))
    lines = ["| condition | pages | classifier | before acc / macro-F1 | after acc / macro-F1 | wrong after (truth → found) |", "|---|---|---|---|---|---|"]
    for name in CLASSIFIERS:
        for condition, items in by_condition.items():
            truth = [k for k, _ in items]
            cells = []
            for found in (before, after):
                acc, mf1 = kind_scores(truth, [found[p][name] for _, p in items])
                cells.append(f"{acc:.2f} / {mf1:.2f}")
            wrong = sorted({f"{k} → {after[p][name]}" for k, p in items if after[p][name] != k})
            lines.append(f"| {condition} | {len(items)} | {name} | {cells[0]} | {cells[1]} | {'; '.join(wrong) or '-'} |")
    return lines


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--before", default=BEFORE, help="commit whose classify package is 'before'")
    ap.add_argument("--samples", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "photo-kinds.md")
    args = ap.parse_args()
    sys.argv = sys.argv[:1]
    from bench.photo_bench import CACHE, DEFAULT_SAMPLES, recognised, samples

    real = samples(args.samples or DEFAULT_SAMPLES)
    folder = CACHE / "kinds-held-out"
    folder.mkdir(parents=True, exist_ok=True)
    held = held_out_pages(folder)
    files = [p for _, _, p in real] + [p for _, _, p in held]
    texts = {str(p): entry["text"] for p, entry in recognised("after", REPO, files).items()}
    before = classify_in(before_tree(args.before), texts)
    after = classify_in(REPO, texts)
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "classify"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    lines = [
        f"# Kinds of phone photos ({dt.date.today().isoformat()})",
        "",
        f"`.venv/bin/python bench/photo_kinds_bench.py`; before = classify/ at `{args.before}`, after = classify/ at "
        f"`{head}`{' + changes' if dirty else ''}. Texts recognised once by this tree's OCR (rus+eng) and classified by both.",
        "",
        "## Samples (one paper document per kind; the rules and the fuzzy matching were tuned on them)",
        "",
        *rows(real, before, after),
        "",
        f"## Held out: generated documents ({PER_KIND} per kind, {len({k for _, k, _ in held})} kinds, seed {SEED}), photographed",
        "",
        *rows(held, before, after),
    ]
    from bench.report import publish

    publish(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
