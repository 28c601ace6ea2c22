"""Reindex benchmark: ``kartoteka reindex`` throughput and peak memory against catalog size.

    .venv/bin/python bench/reindex_bench.py [--n 2000 20000] [--out bench/results/reindex.md]

For each N: a fresh SQLite catalog with N cards (~2 KB of text each over two pages, written
straight through ``archive.catalog.Catalog``), then ``kartoteka reindex --json`` as a user
runs it, its peak RSS sampled every 50 ms with psutil (children included). Reindexing streams
the catalog in batches, so peak memory should not grow with N (paperless-ngx needed more than
32 GB to reindex 70k documents); the report gives the ratio of the peaks.
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
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from archive.catalog import Catalog  # noqa: E402
from archive.db import make_engine, upgrade  # noqa: E402
from archive.model import CardDraft, PageDraft  # noqa: E402
from bench.report import publish  # noqa: E402
from tests.processes import EXE, clean_env  # noqa: E402

WORDS = (
    "договор поставки оборудования аренды нежилого помещения счёт на оплату акт выполненных работ "
    "служебная записка прошу согласовать закупку канцелярских товаров для отдела документационного "
    "обеспечения сумма тенге рублей срок исполнения обязательств стороны подписали приложение "
    "purchase order invoice delivery address payment within thirty days of acceptance contract "
    "құжаттарды тіркеу бөлімі азаматтардың өтініштерін қабылдау"
).split()


def _text(rng: random.Random, words: int) -> str:
    lines, line = [], []
    for _ in range(words):
        line.append(rng.choice(WORDS))
        if len(line) >= 12:
            lines.append(" ".join(line))
            line = []
    return "\n".join(lines + [" ".join(line)])


def build_catalog(data_dir: Path, n: int, seed: int = 1) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(f"sqlite:///{data_dir / 'catalog.sqlite3'}")
    upgrade(engine)
    start = datetime(2025, 1, 1, 9, tzinfo=timezone.utc)
    clock_state = {"now": start}

    def clock() -> datetime:
        clock_state["now"] += timedelta(minutes=7)
        return clock_state["now"]

    catalog = Catalog(engine, clock=clock)
    rng = random.Random(seed)
    batch = catalog.open_batch("/bench", "reindex")
    for i in range(n):
        key = f"{seed}-{i}"
        sha = f"{i:064x}"
        row = catalog.record_input(batch, f"/bench/{key}.pdf", f"{key}.pdf", sha, 1)
        draft = CardDraft(
            journal=rng.choice(["ВХ", "ИСХ", "ВН"]),
            kind=rng.choice(["letter", "payment_invoice", "lease_contract", "service_memo"]),
            source_sha256=sha,
            title=_text(rng, 6),
            correspondent=f"ТОО «Организация {rng.randint(1, 300)}»",
            pages=[PageDraft(1, _text(rng, 140), 0.9), PageDraft(2, _text(rng, 140), 0.9)],
        )
        catalog.register_card(row.id, draft)
    engine.dispose()


def reindex(data_dir: Path) -> tuple[float, int, dict[str, int]]:
    """Seconds, peak RSS in bytes (process tree), and the command's JSON totals."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        [str(EXE), "reindex", "--json"], env=clean_env(data_dir), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    peak = 0
    watched = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = watched.memory_info().rss + sum(c.memory_info().rss for c in watched.children(recursive=True))
            peak = max(peak, rss)
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    out = proc.stdout.read() if proc.stdout else b""
    assert proc.returncode == 0, proc.returncode
    return time.perf_counter() - started, peak, json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[2000, 20000])
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "reindex.md")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kt-reindex-") as tmp:
        for n in args.n:
            data = Path(tmp) / f"n{n}"
            t0 = time.perf_counter()
            build_catalog(data, n)
            print(f"catalog of {n} cards built in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            seconds, peak, totals = reindex(data)
            assert totals["cards"] == n and totals["documents"] == n, totals
            index_mb = sum(p.stat().st_size for p in (data / "index").rglob("*") if p.is_file()) / 2**20
            rows.append((n, seconds, peak, index_mb))
            print(f"N={n}: {seconds:.1f} s, {n / seconds:.0f} cards/s, peak {peak / 2**20:.0f} MiB", file=sys.stderr)
    base_peak = rows[0][2]
    lines = [
        "# Reindex: throughput and peak memory against catalog size",
        "",
        f"{dt.date.today().isoformat()}, {os.cpu_count()} cores; `.venv/bin/python bench/reindex_bench.py "
        + " ".join(f"--n {n}" if i == 0 else str(n) for i, n in enumerate(args.n))
        + "`",
        "",
        "| cards | reindex s | cards/s | peak RSS MiB | peak vs smallest | index MiB |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for n, seconds, peak, index_mb in rows:
        lines.append(
            f"| {n} | {seconds:.1f} | {n / seconds:.0f} | {peak / 2**20:.0f} | {peak / base_peak:.2f}x | {index_mb:.1f} |"
        )
    lines += ["", "Peak RSS is the `kartoteka reindex` process (Python start-up and imports included)."]
    publish(lines, args.out)


if __name__ == "__main__":
    main()
