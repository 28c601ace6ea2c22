"""Distributed-mode benchmark: pages per minute of ``kartoteka watch`` + ``kartoteka worker`` on
PostgreSQL, Redis and Elasticsearch with one and with two worker processes, against the
embedded ``kartoteka run`` on the same pages in the same run, and the time to drain a backlog.

    .venv/bin/python bench/distributed_bench.py --postgres URL --redis URL --elastic URL \
        [--pages 100] [--backlog 200] [--rounds 1] [--out bench/results/distributed.md]

The servers are private ones on 127.0.0.1 (``bash scripts/services.sh start postgres|redis``,
``bash scripts/elasticsearch.sh start`` print their URLs). Every configuration gets a fresh
data directory, a database of its own on the PostgreSQL server, an index of its own on
Elasticsearch and a flushed Redis. Pages: ``--backlog`` single-page PNG scans rendered with
tests/pages.py (the mix of ingest_bench: Russian, English, Kazakh x clean, skew4, rot90, jpeg,
skew-12, languages kaz+rus+eng); the first ``--pages`` of them are the batch of configurations
1-4, all of them the backlog. Recognition: the default engine (tesserocr-workers, real
Tesseract). Hot folder settle window --settle seconds everywhere.

1. ``embedded``: ``kartoteka run`` (SQLite, embedded index, in-process broker), OCR jobs = cores
   (the default: both cores recognise). All pages dropped at once; the clock runs from the drop
   to the last committed outcome, read from the catalog.
2. ``dist-1x1``: ``watch`` + ``worker --processes 1 --threads 1`` with ``KARTOTEKA_OCR_JOBS=1``:
   one message at a time, one Tesseract process: one core recognising.
3. ``dist-2x1``: the same with ``--processes 2``: two cores recognising.
4. ``dist-1x2``: ``worker --processes 1 --threads 2`` with OCR jobs = 2: one process using both
   cores, as the embedded run does.
4b. ``dist-1x1-pin``: ``dist-1x1`` with the worker pinned to CPU 0 (``taskset -c 0``): strictly
   one core (unpinned, OpenCV's thread pool in preprocessing spreads one process over both).
4c. ``tesseract-1``, ``tesseract-2``: the reference: the same pages through the ``tesseract``
   command, one and two at a time, nothing of Kartoteka: how far two cores of this machine scale
   the same recognition by themselves (two vCPUs of a shared host need not give 2x).
5. ``backlog``: ``watch`` alone takes the --backlog files in (every file registered, queued,
   no worker running), then ``worker --processes 2 --threads 1`` (OCR jobs 1) is started; the
   clock runs from the workers' start (their start-up included) to the last outcome.

Every configuration also reports CPU by role over its window (``bench/cpu.py``: workers, watch,
PostgreSQL, Elasticsearch, Redis, the benchmark, the rest of the machine) and the cores left idle.

``--rounds N`` repeats 1-4c N times, the order rotating from round to round; medians are reported.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shlex
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.cpu import CpuMeter  # noqa: E402
from bench.ingest_bench import LANGS, make_pages  # noqa: E402
from bench.report import publish  # noqa: E402
from ocr.config import OcrConfig  # noqa: E402
from ocr.tesseract import TesseractEngine  # noqa: E402
from tests.processes import EXE, clean_env, count_inputs  # noqa: E402

#: name -> (worker processes, threads per process, OCR jobs per process); None: embedded
CONFIGS: dict[str, tuple[int, int, int] | None] = {
    "embedded": None,
    "dist-1x1": (1, 1, 1),
    "dist-2x1": (2, 1, 1),
    "dist-1x2": (1, 2, 2),
    "dist-1x1-pin": (1, 1, 1),
}
#: the machine's own scaling, for reference: the same pages through the ``tesseract`` command
#: (languages LANGS, OMP_THREAD_LIMIT=1), one page at a time / two at a time; no Kartoteka
REFERENCE = {"tesseract-1": 1, "tesseract-2": 2}
#: configurations whose worker is pinned to CPU 0 (``taskset -c 0``): one core, whatever threads
#: OpenCV or anything else in the process would start
PINNED = {"dist-1x1-pin"}
BACKLOG_WORKERS = (2, 1, 1)
TIMEOUT_S = 1800.0


def drop(inbox: Path, src: Path) -> None:
    tmp = inbox / f".{src.name}.part"
    tmp.write_bytes(src.read_bytes())
    os.replace(tmp, inbox / src.name)


class Deployment:
    """The processes of one configuration on a data directory and hot folder of its own."""

    def __init__(self, root: Path, settle: float, servers: argparse.Namespace | None) -> None:
        self.root = root
        self.inbox = root / "inbox"
        self.inbox.mkdir(parents=True)
        (root / "k.toml").write_text(
            f'[[hotfolders]]\npath = "{self.inbox}"\nlanguages = "{LANGS}"\nsettle_seconds = {settle}\n', encoding="utf-8"
        )
        self.procs: list[subprocess.Popen[bytes]] = []
        self.db_name = ""
        self.engine = None
        settings = {"KARTOTEKA_SETTINGS": str(root / "k.toml")}
        self.servers = servers
        if servers is not None:
            self.db_name = f"kt_dbench_{uuid.uuid4().hex[:10]}"
            admin = create_engine(servers.postgres, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.exec_driver_sql(f'CREATE DATABASE "{self.db_name}"')
            admin.dispose()
            url = make_url(servers.postgres).set(database=self.db_name).render_as_string(hide_password=False)
            self.engine = create_engine(url)
            from workers.broker import make_broker

            broker = make_broker(servers.redis)
            broker.flush_all()
            broker.close()
            settings.update(
                KARTOTEKA_DATABASE_URL=url,
                KARTOTEKA_BROKER_URL=servers.redis,
                KARTOTEKA_SEARCH_URL=f"{servers.elastic.rstrip('/')}/{self.db_name}",
            )
        self.env = clean_env(root / "data", **settings)

    def start(self, *args: str, jobs: int | None = None) -> subprocess.Popen[bytes]:
        env = dict(self.env)
        prefix: list[str] = []
        if "--pin" in args:
            args = tuple(a for a in args if a != "--pin")
            prefix = ["taskset", "-c", "0"]
        if jobs is not None:
            env["KARTOTEKA_OCR_JOBS"] = str(jobs)
        with (self.root / f"{args[0]}-{len(self.procs)}.log").open("ab") as log:
            proc = subprocess.Popen([*prefix, str(EXE), *args], env=env, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def counts(self) -> tuple[int, int]:
        """(input files in the catalog, those with an outcome)."""
        if self.engine is None:
            return count_inputs(self.root / "data"), count_inputs(self.root / "data", decided_only=True)
        try:
            with self.engine.connect() as conn:
                row = conn.execute(
                    text("select count(*), count(*) filter (where outcome != 'pending') from input_files")
                ).one()
            return int(row[0]), int(row[1])
        except Exception:  # noqa: BLE001 - not migrated yet
            return 0, 0

    def wait(self, pred, what: str, timeout: float = TIMEOUT_S) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while not pred():
            dead = [p for p in self.procs if p.poll() is not None]
            if time.monotonic() > deadline or dead:
                raise RuntimeError(f"{what}: not reached (see the logs in {self.root})")
            time.sleep(0.1)

    def ready(self) -> None:
        """The catalog exists and is migrated (the first process has started)."""
        if self.engine is None:
            self.wait(lambda: (self.root / "data" / "catalog.sqlite3").exists(), "catalog", 120)
        else:
            def migrated() -> bool:
                try:
                    with self.engine.connect() as conn:  # type: ignore[union-attr]
                        conn.execute(text("select 1 from input_files limit 1")).all()
                    return True
                except Exception:  # noqa: BLE001
                    return False

            self.wait(migrated, "catalog migrated", 120)

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self.engine is not None:
            self.engine.dispose()
            admin = create_engine(self.servers.postgres, isolation_level="AUTOCOMMIT")  # type: ignore[union-attr]
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
            admin.dispose()
            import urllib.request

            req = urllib.request.Request(f"{self.servers.elastic.rstrip('/')}/{self.db_name}*", method="DELETE")  # type: ignore[union-attr]
            try:
                urllib.request.urlopen(req, timeout=30).close()
            except Exception:  # noqa: BLE001 - best effort: an index left behind is harmless
                pass


def outcomes(dep: Deployment) -> dict[str, int]:
    if dep.engine is not None:
        with dep.engine.connect() as conn:
            return {str(k): int(v) for k, v in conn.execute(text("select outcome, count(*) from input_files group by outcome"))}
    import sqlite3

    db = sqlite3.connect(f"file:{dep.root / 'data' / 'catalog.sqlite3'}?mode=ro", uri=True)
    try:
        return {str(k): int(v) for k, v in db.execute("select outcome, count(*) from input_files group by outcome")}
    finally:
        db.close()


def run_batch(
    name: str, pages: list[Path], root: Path, args: argparse.Namespace
) -> tuple[float, dict[str, int], dict[str, float]]:
    """Drop ``pages`` at once into a running deployment: (seconds to the last outcome, outcomes,
    CPU seconds by role over that window)."""
    shape = CONFIGS[name]
    dep = Deployment(root, args.settle, None if shape is None else args)
    try:
        roots: dict[str, int] = {}
        if shape is None:
            roots["run"] = dep.start("run").pid
        else:
            processes, threads, jobs = shape
            roots["watch"] = dep.start("watch").pid
            dep.ready()
            pin = ("--pin",) if name in PINNED else ()
            roots["worker"] = dep.start(
                "worker", "--processes", str(processes), "--threads", str(threads), *pin, jobs=jobs
            ).pid
            # the workers are up when their engines are: give them the time a long-running one had
            time.sleep(args.warmup)
        dep.ready()
        if shape is None:
            time.sleep(args.warmup)
        with CpuMeter(roots) as cpu:
            dropped = dt.datetime.now(dt.timezone.utc)
            start = time.perf_counter()
            for src in pages:
                drop(dep.inbox, src)
            dep.wait(lambda: dep.counts()[1] >= len(pages), f"{name}: {len(pages)} outcomes")
            took = time.perf_counter() - start
        if dep.engine is not None:
            with dep.engine.connect() as conn:
                first_in, last_in, first_out = conn.execute(
                    text("select min(created_at), max(created_at), min(updated_at) from input_files")
                ).one()
            print(
                f"  taken in {(first_in - dropped).total_seconds():.1f}-{(last_in - dropped).total_seconds():.1f} s "
                f"after the drop, first outcome at {(first_out - dropped).total_seconds():.1f} s",
                file=sys.stderr,
            )
        return took, outcomes(dep), dict(cpu.seconds)
    finally:
        dep.stop()


def run_reference(name: str, pages: list[Path]) -> tuple[float, dict[str, int], dict[str, float]]:
    """Recognise ``pages`` with the ``tesseract`` command, REFERENCE[name] at a time."""
    todo = list(pages)
    lock = threading.Lock()
    failed: list[int] = []
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}

    def runner() -> None:
        while True:
            with lock:
                if not todo:
                    return
                page = todo.pop()
            done = subprocess.run(["tesseract", str(page), "stdout", "-l", LANGS], env=env, capture_output=True)
            if done.returncode:
                failed.append(done.returncode)

    threads = [threading.Thread(target=runner) for _ in range(REFERENCE[name])]
    with CpuMeter({}) as cpu:
        start = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        took = time.perf_counter() - start
    return took, {"recognised": len(pages) - len(failed), "failed": len(failed)}, dict(cpu.seconds)


def run_backlog(pages: list[Path], root: Path, args: argparse.Namespace) -> tuple[float, float, dict[str, int]]:
    """(seconds for watch to take the backlog in, seconds from workers' start to the last outcome, outcomes)."""
    processes, threads, jobs = BACKLOG_WORKERS
    dep = Deployment(root, args.settle, args)
    try:
        dep.start("watch")
        dep.ready()
        start = time.perf_counter()
        for src in pages:
            drop(dep.inbox, src)
        dep.wait(lambda: dep.counts()[0] >= len(pages), "backlog taken in")
        intake = time.perf_counter() - start
        time.sleep(2.0)  # the last messages reach the broker
        assert dep.counts()[1] == 0, "a file was decided with no worker running"
        start = time.perf_counter()
        dep.start("worker", "--processes", str(processes), "--threads", str(threads), jobs=jobs)
        dep.wait(lambda: dep.counts()[1] >= len(pages), "backlog drained")
        drain = time.perf_counter() - start
        return intake, drain, outcomes(dep)
    finally:
        dep.stop()


def cpu_table(
    names: list[str], cpu: dict[str, list[dict[str, float]]], times: dict[str, list[float]], pages: int
) -> list[str]:
    """Where the cores went: CPU milliseconds per page by role (median over rounds), and the cores
    the roles other than the recognising processes took on average over the run."""
    roles = [r for r in ROLES if any(r in used for n in names for used in cpu[n])]
    roles += sorted({r for n in names for used in cpu[n] for r in used} - set(roles))
    lines = [
        "CPU per page by role (ms, median of rounds; read from /proc over the drop-to-last-outcome window). "
        "The last column: cores taken by everything but the recognising processes (`run` or `worker` and "
        "their children), and cores idle (nobody's), on average over the window. Not for the `tesseract-N` "
        "references: their processes live about a second each, mostly between two samples.",
        "",
        "| configuration | " + " | ".join(roles) + " | cores not recognising | cores idle |",
        "|---|" + "---|" * (len(roles) + 2),
    ]
    for n in names:
        if not cpu[n] or n in REFERENCE:  # a tesseract process per page: most end between two samples
            continue
        per_page = [statistics.median(used.get(r, 0.0) for used in cpu[n]) / pages * 1000 for r in roles]
        rest = statistics.median(
            sum(v for r, v in used.items() if r not in ("run", "worker")) / t for used, t in zip(cpu[n], times[n])
        )
        idle = statistics.median((os.cpu_count() or 1) - sum(used.values()) / t for used, t in zip(cpu[n], times[n]))
        lines.append(f"| {n} | " + " | ".join(f"{v:.0f}" for v in per_page) + f" | {rest:.2f} | {idle:.2f} |")
    return lines


#: roles in the CPU table's order (anything else the meter finds follows)
ROLES = ["run", "worker", "watch", "PostgreSQL", "Elasticsearch", "Redis", "RabbitMQ", "benchmark", "other"]


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--postgres", required=True, help="postgresql+psycopg://… of an account that may create databases")
    ap.add_argument("--redis", required=True, help="redis://… (flushed before each configuration)")
    ap.add_argument("--elastic", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--pages", type=int, default=100)
    ap.add_argument("--backlog", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--settle", type=float, default=1.0)
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds the processes get to start before the drop")
    ap.add_argument("--only", default=",".join([*CONFIGS, *REFERENCE]), help="configurations to run (comma-separated)")
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "results" / "distributed.md")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n]

    commit = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--short").splitlines()
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {n: [] for n in names}
    seen: dict[str, dict[str, int]] = {}
    cpu: dict[str, list[dict[str, float]]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="kt-dist-bench-") as tmp:
        root = Path(tmp)
        print(f"rendering {max(args.pages, args.backlog)} pages ...", file=sys.stderr)
        pages = make_pages(root / "pages", max(args.pages, args.backlog), "d")
        batch = pages[: args.pages]
        for r in range(args.rounds):
            order = names[r % len(names):] + names[: r % len(names)]
            for name in order:
                print(f"round {r + 1}: {name} ...", file=sys.stderr)
                if name in REFERENCE:
                    took, seen[name], used = run_reference(name, batch)
                else:
                    took, seen[name], used = run_batch(name, batch, root / f"{name}-{r}", args)
                times[name].append(took)
                cpu[name].append(used)
                print(f"  {took:.1f} s, {len(batch) / took * 60:.1f} pages/min, {seen[name]}", file=sys.stderr)
                print(f"  CPU s: { {k: round(v, 1) for k, v in sorted(used.items())} }", file=sys.stderr)
        backlog = None
        if args.backlog:
            print(f"backlog of {args.backlog} ...", file=sys.stderr)
            backlog = run_backlog(pages[: args.backlog], root / "backlog", args)
            print(f"  intake {backlog[0]:.1f} s, drain {backlog[1]:.1f} s, {backlog[2]}", file=sys.stderr)
    load_after = os.getloadavg()

    med = {n: statistics.median(v) for n, v in times.items() if v}
    ppm = {n: args.pages / t * 60 for n, t in med.items()}
    lines = [
        f"# Distributed-mode benchmark ({dt.date.today().isoformat()}, {os.cpu_count()} cores, "
        f"engine {OcrConfig().engine}, Tesseract {TesseractEngine().version()} (system), languages {LANGS})",
        "",
        f"Command: `{' '.join(shlex.quote(a if '://' not in a else a.split('://')[0] + '://…') for a in [sys.executable, *sys.argv])}`",
        "",
        f"Commit {commit}" + (f" + changes ({', '.join(d.split()[-1] for d in dirty)})" if dirty else "") + "; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (shared machine; PostgreSQL, Redis and "
        "Elasticsearch on the same 2 cores).",
        "",
        f"{args.pages} single-page scans dropped at once; time from the drop to the last committed outcome; "
        f"median of {args.rounds} round(s). Settle window {args.settle} s.",
        "",
        "| configuration | worker processes x threads, OCR jobs each | seconds (each round) | pages/min (median) | outcomes |",
        "|---|---|---|---|---|",
    ]
    for n in names:
        if n in REFERENCE:
            how = f"`tesseract` command, {REFERENCE[n]} page(s) at a time (no Kartoteka)"
        elif (shape := CONFIGS[n]) is None:
            how = "`kartoteka run`, OCR jobs = cores (2)"
        else:
            how = f"{shape[0]} x {shape[1]}, {shape[2]}"
        if n in PINNED:
            how += ", pinned to CPU 0"
        lines.append(
            f"| {n} | {how} | {', '.join(f'{t:.1f}' for t in times[n])} | {ppm[n]:.1f} | "
            f"{', '.join(f'{k} {v}' for k, v in sorted(seen[n].items()))} |"
        )
    lines += ["", *cpu_table(names, cpu, times, args.pages), ""]
    if "dist-1x1" in ppm and "dist-2x1" in ppm:
        ratio = ppm["dist-2x1"] / ppm["dist-1x1"]
        lines.append(f"* 2 worker processes / 1 (one OCR job each): **{ratio:.2f}x** (target >= 1.8x: {'met' if ratio >= 1.8 else 'missed'})")
    if "tesseract-1" in ppm and "tesseract-2" in ppm:
        ceiling = ppm["tesseract-2"] / ppm["tesseract-1"]
        lines.append(
            f"* reference, the machine itself: `tesseract` two pages at a time / one at a time: **{ceiling:.2f}x** "
            "(the same work with nothing of Kartoteka: what two cores of this machine give)"
        )
        if "dist-1x1" in ppm and "dist-2x1" in ppm:
            ratio = ppm["dist-2x1"] / ppm["dist-1x1"]
            lines.append(f"* Kartoteka's scaling against the machine's: {ratio:.2f} / {ceiling:.2f} = **{ratio / ceiling:.2f}**")
    if "dist-1x1-pin" in ppm and "dist-2x1" in ppm:
        ratio = ppm["dist-2x1"] / ppm["dist-1x1-pin"]
        lines.append(f"* 2 worker processes / 1 pinned to one core: **{ratio:.2f}x** (target >= 1.8x: {'met' if ratio >= 1.8 else 'missed'})")
    if "embedded" in med:
        for n in ("dist-2x1", "dist-1x2"):
            if n in med:
                over = med[n] / med["embedded"] - 1
                lines.append(
                    f"* {n} against embedded (both on 2 cores): time {med[n] / med['embedded']:.3f}x, "
                    f"overhead **{over * 100:+.1f}%** (target <= +10%: {'met' if over <= 0.10 else 'missed'})"
                )
    if backlog is not None:
        intake, drain, out = backlog
        p, t, j = BACKLOG_WORKERS
        lines.append(
            f"* backlog of {args.backlog} pages taken in by `watch` alone in {intake:.1f} s; drained by "
            f"`worker --processes {p} --threads {t}` (OCR jobs {j}) in **{drain:.1f} s** from the workers' start "
            f"({args.backlog / drain * 60:.1f} pages/min; outcomes {', '.join(f'{k} {v}' for k, v in sorted(out.items()))})"
        )
    publish(lines, args.out)
    return 0


if __name__ == "__main__":  # the worker engine spawns processes: keep the guard
    sys.exit(main())
