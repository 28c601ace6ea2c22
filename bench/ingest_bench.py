"""Ingestion benchmark: drop-to-card latency and batch throughput of ``kartoteka run``,
against the OCR-only time of the same pages measured in the same run.

    .venv/bin/python bench/ingest_bench.py [--pages 100] [--singles 20] [--out bench/results/ingest.md]

1. OCR only: ``ocr.run.recognize_files`` on the batch's pages (jobs = cores, spooling the
   searchable-PDF pages, as the service does): the reference.
2. Batch: a fresh ``kartoteka run`` (its own data dir, settle window --settle seconds); all
   pages are dropped at once as single-page files; the clock runs from the drop to the last
   committed outcome, read from the catalog. Overhead = batch time / OCR-only time - 1.
3. Drop to card: --singles files dropped one at a time into the running service, each waited
   for; p50/p95 of the latency, beside the OCR-only time of the same page and the settle window
   (which a scanner operator waits through by design: it is how a half-written file is told
   from a finished one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.report import publish  # noqa: E402
from ocr.config import OcrConfig  # noqa: E402
from ocr.engine import OcrEngine  # noqa: E402
from ocr.engines import make_engine  # noqa: E402
from ocr.run import recognize_files, workers  # noqa: E402
from ocr.tesseract import TesseractEngine  # noqa: E402
from tests import pages as P  # noqa: E402
from tests.processes import EXE, clean_env, count_inputs  # noqa: E402

MIX = [(lang, cond) for cond in ("clean", "skew4", "rot90", "jpeg", "skew-12") for lang in ("rus", "eng", "kaz")]
LANGS = "kaz+rus+eng"


def make_pages(folder: Path, count: int, prefix: str) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        lang, cond = MIX[i % len(MIX)]
        text = P.TEXTS[lang] + f"\nВходящий № {prefix}-{i}"
        page = P.Condition(cond).apply(P.render_page(text))
        out.append(P.save_png(page, folder / f"{prefix}-{i:03d}.png"))
    return out


def ocr_only(paths: list[Path], engine: OcrEngine) -> float:
    """The same recognition the service does (default engine, spooled PDF pages), timed."""
    with tempfile.TemporaryDirectory() as spool:
        start = time.perf_counter()
        for _ in recognize_files(paths, OcrConfig(languages=LANGS), engine, spool=Path(spool)):
            pass
        return time.perf_counter() - start


class Service:
    def __init__(self, root: Path, settle: float) -> None:
        self.root = root
        self.inbox = root / "inbox"
        self.inbox.mkdir(parents=True)
        (root / "k.toml").write_text(
            f'[[hotfolders]]\npath = "{self.inbox}"\nlanguages = "{LANGS}"\nsettle_seconds = {settle}\n', encoding="utf-8"
        )
        env = clean_env(root / "data", KARTOTEKA_SETTINGS=str(root / "k.toml"))
        self.log = (root / "service.log").open("wb")
        self.proc = subprocess.Popen([str(EXE), "run"], env=env, stdout=self.log, stderr=self.log)
        self.db_path = root / "data" / "catalog.sqlite3"
        self._wait(lambda: self.db_path.exists(), 60)

    def _wait(self, pred, timeout: float) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not pred():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError(f"service did not get there; see {self.root / 'service.log'}")
            time.sleep(0.05)

    def done(self) -> int:
        return count_inputs(self.root / "data", decided_only=True)

    def drop(self, src: Path) -> None:
        tmp = self.inbox / f".{src.name}.part"
        tmp.write_bytes(src.read_bytes())
        os.replace(tmp, self.inbox / src.name)

    def wait_done(self, count: int, timeout: float = 3600) -> None:
        self._wait(lambda: self.done() >= count, timeout)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=120)
        self.log.close()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--singles", type=int, default=20)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "ingest.md")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="kt-ingest-bench-") as tmp:
        root = Path(tmp)
        batch = make_pages(root / "batch", args.pages, "b")
        singles = make_pages(root / "singles", args.singles, "s")

        print(f"OCR only: {len(batch)} pages ...", file=sys.stderr)
        cfg = OcrConfig(languages=LANGS)
        engine = make_engine(cfg, workers(cfg))
        preload = getattr(engine, "preload", None)
        if preload is not None:  # a running service has its models loaded too
            preload(LANGS, workers(cfg))
        t_ocr = ocr_only(batch, engine)

        print("service: batch ...", file=sys.stderr)
        svc = Service(root / "svc", args.settle)
        try:
            start = time.perf_counter()
            for src in batch:
                svc.drop(src)
            svc.wait_done(len(batch))
            t_batch = time.perf_counter() - start

            print("service: drop to card ...", file=sys.stderr)
            latencies, ocr_single = [], []
            for i, src in enumerate(singles, 1):
                ocr_single.append(ocr_only([src], engine))
                start = time.perf_counter()
                svc.drop(src)
                svc.wait_done(len(batch) + i)
                latencies.append(time.perf_counter() - start)
        finally:
            svc.stop()

    overhead = t_batch / t_ocr - 1
    ocr_med = statistics.median(ocr_single)
    p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
    lines = [
        f"# Ingestion benchmark ({dt.date.today().isoformat()}, {os.cpu_count()} cores, "
        f"engine {OcrConfig().engine}, Tesseract {TesseractEngine().version()} (system), languages {LANGS})",
        "",
        f"Command: `{' '.join(shlex.quote(a) for a in [sys.executable, *sys.argv])}`",
        "",
        "| measure | value | reference (same run) | ratio |",
        "|---|---|---|---|",
        f"| batch of {len(batch)} mixed A4 pages at 300 dpi, drop to last outcome | {t_batch:.1f} s "
        f"({len(batch) / t_batch * 60:.1f} files/min) | OCR only {t_ocr:.1f} s ({len(batch) / t_ocr * 60:.1f} pages/min) "
        f"| {t_batch / t_ocr:.3f} (overhead {overhead * 100:+.1f}%, target <= +10%) |",
        f"| drop to card, single page, p50 | {p50:.2f} s | OCR only median {ocr_med:.2f} s + settle {args.settle:.1f} s "
        f"| {p50 / (ocr_med + args.settle):.2f} |",
        f"| drop to card, single page, p95 | {p95:.2f} s | | |",
        "",
        "Latency includes the settle window (a file must be unchanged that long before it is taken).",
    ]
    publish(lines, args.out)
    return 0


if __name__ == "__main__":  # the worker engine spawns processes: keep the guard
    sys.exit(main())
