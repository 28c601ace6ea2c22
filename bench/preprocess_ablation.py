"""Does each preprocessing step earn its place? CER and time with each step switched off.

    .venv/bin/python bench/preprocess_ablation.py [--out bench/results/ablation.md]

Generated A4 pages (tests/pages.py: Russian, Kazakh, English; clean and degraded) are
recognised with the full pipeline and with one step off at a time; the table shows mean CER
per condition and the seconds per page, so a step that does not help where it runs shows up.
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.metrics import cer  # noqa: E402
from bench.report import publish  # noqa: E402
from ocr.config import OcrConfig  # noqa: E402
from ocr.run import recognize_files  # noqa: E402
from ocr.tesseract import TesseractEngine  # noqa: E402
from tests import pages as P  # noqa: E402

LANGS = {"rus": "rus+eng", "eng": "rus+eng", "kaz": "kaz+rus+eng"}
VARIANTS = {
    "full": {},
    "no deskew": {"deskew": False},
    "no orientation": {"orientation": "off"},
    "no clean-up": {"clean_noisy": False},
    "clean-up always": {"noise_threshold": 0.0},
    "no border removal": {"remove_borders": False},
}
CONDITIONS = [*P.CONDITIONS, P.Condition("border"), P.Condition("blur")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ablation.md")
    ap.add_argument("--conditions", nargs="*", help="only these conditions")
    args = ap.parse_args()
    conditions = [c for c in CONDITIONS if not args.conditions or c.name in args.conditions]
    engine = TesseractEngine()
    rows: dict[str, dict[str, tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        files = {
            (lang, c.name): P.save_png(P.make_page(lang, c) if c.name != "border" else P.dark_border(P.render_page(P.TEXTS[lang])), Path(tmp) / f"{lang}-{c.name}.png", dpi=c.dpi)
            for c in conditions
            for lang in LANGS
        }
        for variant, changes in VARIANTS.items():
            print(f"{variant} ...", file=sys.stderr)
            for c in conditions:
                cers, secs = [], []
                for lang, languages in LANGS.items():
                    cfg = OcrConfig(languages=languages, **changes)  # type: ignore[arg-type]
                    start = time.perf_counter()
                    (result,) = recognize_files([files[(lang, c.name)]], cfg, engine)
                    secs.append(time.perf_counter() - start)
                    cers.append(cer(" ".join(p.text for p in result.pages), P.TEXTS[lang]))
                rows.setdefault(c.name, {})[variant] = (statistics.mean(cers), statistics.mean(secs))
    header = "| condition | " + " | ".join(VARIANTS) + " |"
    lines = [
        f"# Preprocessing ablation ({dt.date.today().isoformat()}, Tesseract {engine.version()})",
        "",
        f"Command: `{' '.join([sys.executable, *sys.argv])}`. Each cell: mean CER over rus/eng/kaz pages, "
        "then seconds per page (one page at a time).",
        "",
        header,
        "|" + "---|" * (len(VARIANTS) + 1),
    ]
    for cond, by_variant in rows.items():
        cells = [f"{by_variant[v][0] * 100:.1f}% / {by_variant[v][1]:.2f}s" for v in VARIANTS]
        lines.append(f"| {cond} | " + " | ".join(cells) + " |")
    publish(lines, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
