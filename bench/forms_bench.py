"""Ruled forms and tables benchmark (issue 13): raw Tesseract, the commit before, this commit.

    .venv/bin/python bench/forms_bench.py --before COMMIT [--after COMMIT] [--samples ../shared/samples]
                                          [--cache ~/.cache/kartoteka-forms] [--out bench/results/forms.md]

Every configuration reads the same pages in the same run, one after the other:

  raw      ``tesseract page stdout -l LANGS --dpi DPI`` (OMP_THREAD_LIMIT=1), no preprocessing.
  before   ``ocr.page.recognize_page`` of a git worktree of ``--before`` (the commit before the
           ruled-forms work), CLI engine (``TesseractEngine``).
  after    the same from a worktree of ``--after`` (default HEAD): rules off, tables by rows.
  after+h  ``after`` with the horizontal rules removed too (``remove_rules(horizontal=True)``):
           the alternative the rules step was chosen against.
  after-off  ``after`` with the rules step switched off (``find_rules`` gives None): what the
           rules step alone does, apart from other work committed between ``--before`` and
           ``--after`` (the phone-photo steps, issue 13's other part).

Pages
  scribe   the table pages of ``ocr/scribe-benchmark`` (ground truth ``.gt.txt``; its line
           order is not reading order, so the metric is bag-of-words).
  scribe-other  the other scribe-benchmark pages (filings, deposition, multi-column, slide,
           chart): the rules step must leave them as they were.
  generated  ruled invoices from ``tests/forms.py`` (A4, 300 dpi, every cell boxed), clean and
           JPEG-degraded; ground truth: the form's own text.
  dense    UPD item tables from ``bench/dense_form.py``: twelve narrow columns at 7 pt, header
           cells wrapped over several lines; at 300 dpi, and at 200 dpi as a JPEG of quality 40.
  phone-scan  the flatbed scans ``0_1_*`` of the ruled kinds (TORG-12, UPD, invoice, 2-NDFL,
           advance report). They have no ground truth: reported are mean word confidence,
           the line items found and whether they add up (the sum check is a self-check).

Metrics: word F1 = harmonic mean of bag-of-words precision and recall (``bench.metrics.words``:
punctuation dropped, case kept); ``F1 num`` is the same after joining digit groups split by a
space («7 347,50» → «7347,50», on both sides; not across cells: «…,00 123» stays apart), since Tesseract drops or keeps that space at
random and a number read either way is the same number. Line items: a generated item counts as
exact when name, quantity, price and amount all equal the form's (items extracted by this
commit's ``classify.lineitems`` from each configuration's text); tampered totals: share flagged.

OCR output is cached under ``--cache`` (outside the repository) by configuration, commit and
page checksum; a cached page keeps the seconds measured when it was recognised.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.metrics import words  # noqa: E402

DEFAULT_OUT = REPO / "bench" / "results" / "forms.md"
DEFAULT_SAMPLES = REPO.parent / "shared" / "samples"
DEFAULT_CACHE = Path.home() / ".cache" / "kartoteka-forms"
SCRIBE_TABLES = ("table_01", "table_08")
PHONE_KINDS = ("waybill_torg12", "universal_transfer_document_upd", "payment_invoice",
               "income_certificate_2ndfl", "advance_report")  # fmt: skip
CONFIGS = ("raw", "before", "after-off", "after", "after+h")

#: Runs inside a worktree's interpreter: recognise pages with that tree's ocr.page.
WORKER = r"""
import json, sys, time, functools
import cv2
sys.path.insert(0, sys.argv[1])
from ocr.config import OcrConfig
from ocr.page import recognize_page
from ocr.tesseract import TesseractEngine
import ocr.page
if sys.argv[3] == "h":
    ocr.page.remove_rules = functools.partial(ocr.page.remove_rules, horizontal=True)
if sys.argv[3] == "off":
    ocr.page.find_rules = lambda *args, **kwargs: None
jobs = json.loads(open(sys.argv[2]).read())
eng = TesseractEngine()
out = []
for job in jobs:
    gray = cv2.imread(job["path"], cv2.IMREAD_GRAYSCALE)
    t = time.perf_counter()
    page = recognize_page(1, gray, job["dpi"], OcrConfig(languages=job["langs"]), eng)
    out.append({"text": page.text, "steps": list(page.steps), "seconds": time.perf_counter() - t,
                "confidence": page.confidence, "error": page.error})
print(json.dumps(out))
"""


@dataclass
class Page:
    group: str
    name: str
    path: Path
    langs: str
    dpi: int
    truth: str | None = None
    #: generated invoices: the form (items and total) it was rendered from
    form: Any = None


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def generated_pages(work: Path) -> list[Page]:
    import cv2

    from tests.forms import make_form, render_form

    work.mkdir(parents=True, exist_ok=True)
    out: list[Page] = []
    cases = [(seed, n, "clean", Decimal(0)) for seed, n in ((1, 4), (2, 6), (3, 8), (4, 10), (5, 5), (6, 7))]
    cases += [(seed, n, "jpeg", Decimal(0)) for seed, n in ((7, 5), (8, 9))]
    cases += [(seed, 6, "tampered", Decimal("100.00") * seed) for seed in (11, 12, 13)]
    for seed, n, cond, tamper in cases:
        form = make_form(seed, n, tamper)
        img = render_form(form)
        path = work / f"form-{seed}-{cond}.png"
        if cond == "jpeg":
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 30])
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(path), img)
        truth = "\n".join(form.lines_before() + ["\t".join(r) for r in form.rows] + form.lines_after())
        out.append(Page("generated", f"form-{seed}-{cond}", path, "rus+eng", 300, truth, form))
    return out + dense_pages(work)


def dense_pages(work: Path) -> list[Page]:
    """UPD item tables (bench/dense_form.py): 7 pt in twelve narrow columns, at 300 dpi, and at
    200 dpi as a JPEG of quality 40 (a fax or an office scanner's small setting)."""
    import cv2

    from bench.dense_form import dense_form

    out: list[Page] = []
    for seed, n, dpi in ((1, 8, 300), (2, 12, 300), (3, 10, 300), (4, 8, 200), (5, 12, 200)):
        img, truth = dense_form(seed, n)
        path = work / f"upd-{seed}-{dpi}.png"
        if dpi != 300:
            img = cv2.resize(img, None, fx=dpi / 300, fy=dpi / 300, interpolation=cv2.INTER_AREA)
            ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 40])
            img = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
        cv2.imwrite(str(path), img)
        out.append(Page("dense", path.stem, path, "rus+eng", dpi, truth))
    return out


def sample_pages(samples: Path) -> list[Page]:
    from bench.ocr_bench import image_dpi  # kartoteka's rule: the image's own dpi when sane, else 300

    out = []
    for name in SCRIBE_TABLES:
        png = samples / "ocr" / "scribe-benchmark" / f"{name}.png"
        if png.exists():
            out.append(Page("scribe", name, png, "eng", image_dpi(png), png.with_suffix(".gt.txt").read_text(encoding="utf-8")))
    for png in sorted((samples / "ocr" / "scribe-benchmark").glob("*.png")):
        if png.stem not in SCRIBE_TABLES:  # the other office pages: the rules step must not hurt them
            out.append(Page("scribe-other", png.stem, png, "eng", image_dpi(png), png.with_suffix(".gt.txt").read_text(encoding="utf-8")))
    for kind in PHONE_KINDS:
        for path in sorted((samples / "class" / "phone-scan" / kind).glob("0_1_*.jpg")):
            out.append(Page("phone-scan", kind, path, "rus+eng", 300))
    return out


def run_raw(pages: list[Page], cache: Path) -> list[dict[str, Any]]:
    out = []
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    for p in pages:
        key = cache / "raw" / f"{sha(p.path)}-{p.langs}.json"
        if not key.exists():
            t = time.perf_counter()
            proc = subprocess.run(["tesseract", str(p.path), "stdout", "-l", p.langs, "--dpi", str(p.dpi)],
                                  capture_output=True, text=True, env=env, check=False)  # fmt: skip
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_text(json.dumps({"text": proc.stdout, "steps": [], "seconds": time.perf_counter() - t}))
        out.append(json.loads(key.read_text()))
    return out


def run_tree(tree: Path, commit: str, variant: str, pages: list[Page], cache: Path) -> list[dict[str, Any]]:
    """Recognise the pages not cached yet with ``tree``'s code, in one child process."""
    keys = [cache / f"{commit[:10]}{variant}" / f"{sha(p.path)}-{p.langs}.json" for p in pages]
    todo = [(p, k) for p, k in zip(pages, keys) if not k.exists()]
    if todo:
        jobs = cache / "jobs.json"
        jobs.write_text(json.dumps([{"path": str(p.path), "dpi": p.dpi, "langs": p.langs} for p, _ in todo]))
        env = {**os.environ, "OMP_THREAD_LIMIT": "1", "PYTHONPATH": str(tree)}
        proc = subprocess.run([sys.executable, "-c", WORKER, str(tree), str(jobs), variant or "-"],
                              capture_output=True, text=True, env=env, cwd=tree, check=True)  # fmt: skip
        for (_, key), result in zip(todo, json.loads(proc.stdout.strip().splitlines()[-1])):
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_text(json.dumps(result))
    return [json.loads(k.read_text()) for k in keys]


def worktree(commit: str, cache: Path) -> Path:
    path = cache / "trees" / commit[:10]
    if not path.exists():
        subprocess.run(["git", "worktree", "add", "--detach", str(path), commit], cwd=REPO, check=True, capture_output=True)
    return path


#: A number printed with digit groups: 1-3 digits not after a digit or a decimal comma, then
#: groups of three. «1 087 946,60» is one number; in «…,00 123 020,00» (two cells) the «00 123» is not.
_GROUPED = re.compile(r"(?<![\d,])\d{1,3}(?:[ \u00a0]\d{3})+(?!\d)")


def _join_groups(text: str) -> str:
    return _GROUPED.sub(lambda m: re.sub(r"[ \u00a0]", "", m.group()), text)


def f1(hyp: str, truth: str, join: bool = False) -> tuple[int, int, int]:
    """(matched, hypothesis words, truth words) for a micro-averaged F1."""
    if join:
        hyp, truth = _join_groups(hyp), _join_groups(truth)
    h, t = Counter(words(hyp)), Counter(words(truth))
    return sum((h & t).values()), sum(h.values()), sum(t.values())


def f1_of(parts: list[tuple[int, int, int]]) -> float:
    m, h, t = (sum(x[i] for x in parts) for i in range(3))
    return 2 * m / (h + t) if h + t else 0.0


def items_exact(text: str, form: Any) -> tuple[int, int]:
    from classify.lineitems import find_line_items

    got = {(i.name, i.quantity, i.price, i.amount) for i in find_line_items(text)}
    want = [(it.name, it.quantity, it.price, it.amount) for it in form.items]
    return sum(1 for w in want if w in got), len(want)


def flagged(text: str) -> bool:
    from classify.lineitems import add_line_items

    return bool(add_line_items({}, [text]))


def run_all(pages: list[Page], before: str, after: str, cache: Path) -> dict[str, list[dict[str, Any]]]:
    """Every configuration over the same pages, group by group, one configuration after another."""
    trees = {"before": (worktree(before, cache), before, ""), "after": (worktree(after, cache), after, ""),
             "after+h": (worktree(after, cache), after, "h"), "after-off": (worktree(after, cache), after, "off")}  # fmt: skip
    out: dict[str, list[dict[str, Any]]] = {c: [] for c in CONFIGS}
    for group in dict.fromkeys(p.group for p in pages):
        some = [p for p in pages if p.group == group]
        for config in CONFIGS:
            print(f"{group}: {config} ({len(some)} pages)", file=sys.stderr, flush=True)
            if config == "raw":
                out[config] += run_raw(some, cache)
            else:
                tree, commit, variant = trees[config]
                out[config] += run_tree(tree, commit, variant, some, cache)
    return out


def _fmt(x: float | None, digits: int = 3) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def accuracy_tables(pages: list[Page], res: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["## Word F1 (bag of words) and seconds per page", "",
             "| pages | n | " + " | ".join(f"{c} F1 / F1 num / s" for c in CONFIGS) + " |",
             "|---|---|" + "---|" * len(CONFIGS)]  # fmt: skip
    for group in ("scribe", "scribe-other", "generated", "dense"):
        idx = [i for i, p in enumerate(pages) if p.group == group and p.truth is not None]
        if not idx:
            continue
        cells = []
        for c in CONFIGS:
            plain = f1_of([f1(res[c][i]["text"], pages[i].truth or "") for i in idx])
            joined = f1_of([f1(res[c][i]["text"], pages[i].truth or "", True) for i in idx])
            secs = sum(res[c][i]["seconds"] for i in idx) / len(idx)
            cells.append(f"{plain:.3f} / {joined:.3f} / {secs:.2f}")
        lines.append(f"| {group} | {len(idx)} | " + " | ".join(cells) + " |")
    lines += ["", "Per page (word F1; steps of `after`):", "", "| page | " + " | ".join(CONFIGS) + " | steps |",
              "|---|" + "---|" * (len(CONFIGS) + 1)]  # fmt: skip
    for i, p in enumerate(pages):
        if p.truth is None:
            continue
        row = [_fmt(f1_of([f1(res[c][i]["text"], p.truth)])) for c in CONFIGS]
        lines.append(f"| {p.name} | " + " | ".join(row) + f" | {','.join(res['after'][i]['steps']) or '—'} |")
    return lines


def items_tables(pages: list[Page], res: dict[str, list[dict[str, Any]]]) -> list[str]:
    from classify.lineitems import LINE_ITEM_KINDS, find_line_items, items_add_up

    lines = ["", "## Line items", "", "Generated invoices: items exact (name, quantity, price, amount) / items; "
             "untampered forms whose items add up; tampered totals flagged.", "",
             "| config | items exact | add up (untampered) | tampered flagged |", "|---|---|---|---|"]  # fmt: skip
    gen = [i for i, p in enumerate(pages) if p.group == "generated"]
    for c in CONFIGS:
        exact = total = ok = n_ok = flag = n_flag = 0
        for i in gen:
            text = res[c][i]["text"]
            if "tampered" in pages[i].name:
                n_flag += 1
                flag += flagged(text)
                continue
            e, t = items_exact(text, pages[i].form)
            exact, total = exact + e, total + t
            n_ok += 1
            ok += items_add_up(find_line_items(text), text) is True
        lines.append(f"| {c} | {exact}/{total} ({exact / max(total, 1):.0%}) | {ok}/{n_ok} | {flag}/{n_flag} |")
    lines += ["", "Phone-scan flatbed scans (no ground truth): mean word confidence (raw: not measured), and for "
              "the kinds that carry line items the items found and whether they add up to a printed total "
              "(—: no total found).", "",
              "| kind | " + " | ".join(f"{c} conf / items / add up" for c in CONFIGS) + " | steps |",
              "|---|" + "---|" * (len(CONFIGS) + 1)]  # fmt: skip
    for i, p in enumerate(pages):
        if p.group != "phone-scan":
            continue
        cells = []
        for c in CONFIGS:
            r = res[c][i]
            conf = r.get("confidence")
            if p.name not in LINE_ITEM_KINDS:
                cells.append(f"{_fmt(conf, 2)} / n/a / n/a")
                continue
            items = find_line_items(r["text"])
            verdict = items_add_up(items, r["text"]) if items else None
            cells.append(f"{_fmt(conf, 2)} / {len(items)} / {'—' if verdict is None else ('yes' if verdict else 'no')}")
        lines.append(f"| {p.name} | " + " | ".join(cells) + f" | {','.join(res['after'][i]['steps']) or '—'} |")
    return lines


def timing_line(pages: list[Page], res: dict[str, list[dict[str, Any]]]) -> list[str]:
    lines = ["", "## Seconds per page, all pages", ""]
    for c in CONFIGS:
        secs = [r["seconds"] for r in res[c]]
        lines.append(f"* {c}: {sum(secs) / len(secs):.2f} s/page over {len(secs)} pages")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--before", required=True, help="the commit before the ruled-forms work")
    ap.add_argument("--after", default="HEAD")
    ap.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args(argv)
    rev = lambda c: subprocess.run(["git", "rev-parse", c], cwd=REPO, capture_output=True, text=True, check=True).stdout.strip()  # noqa: E731
    before, after = rev(args.before), rev(args.after)
    args.cache.mkdir(parents=True, exist_ok=True)
    pages = sample_pages(args.samples) + generated_pages(args.cache / "generated")
    res = run_all(pages, before, after, args.cache)
    tess = subprocess.run(["tesseract", "--version"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    head = [f"# Ruled forms benchmark ({dt.date.today()})", "",
            f"`bench/forms_bench.py --before {before[:10]} --after {after[:10]}`; {tess}; before = {before[:10]}, "
            f"after = {after[:10]}; CLI engine, pages one after another on a shared 2-core machine.", ""]  # fmt: skip
    report = head + accuracy_tables(pages, res) + items_tables(pages, res) + timing_line(pages, res)
    text = "\n".join(report) + "\n"
    print(text)
    args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
