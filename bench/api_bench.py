"""API benchmark: search through the HTTP API at 1, 8 and 32 concurrent clients against the
in-process search in the same run, and a full change-feed backfill (records/s, peak memory of
server and client) at two archive sizes.

    .venv/bin/python bench/api_bench.py [--n 100000] [--backfill-n 20000 100000] [--clients 1 8 32]
                                        [--seconds 20] [--queries 700] [--cache DIR] [--rebuild]
                                        [--out bench/results/api.md]

1. **Archives** of N synthetic cards, written into a real catalog and the embedded index.
   ``bench/search_bench.py`` writes only an index (its ``Generator`` yields ``CardView`` objects
   that never reach a catalog), so its generator is reused and its cards are registered through
   ``Catalog.register_cards``: one ledger input per chunk of 250 cards (a scan split by separator
   sheets), one transaction per chunk, with the card numbers, audit entries, outbox rows and
   change-feed events that registration writes. The catalog's clock is set to the generator's
   registration time of the chunk's first card, so registration dates span two years as in the
   search bench. The index gets ``search.document.card_document`` of each registered card (the
   catalog's row + the same pages: what ``kartoteka reindex`` would write; a sample of cards is
   checked against a reindex from the catalog), then the outbox is marked applied. Archives are
   cached in ``--cache`` (default ``/tmp/kartoteka-api-bench``) under ``n<N>-<key>``, the key a
   hash of the generator, the index analysis and the catalog schema, so reruns skip the build;
   ``--rebuild`` forces it. Each run creates its own read token with ``kartoteka token create``.
2. **Search**: ``kartoteka serve`` in a subprocess (127.0.0.1, a free port: ``KARTOTEKA_HTTP_PORT=0``
   and the address it logs), clients with httpx (keep-alive) calling
   ``GET /api/v1/search?q=…&facets=true``, over search_bench's query mix (words, inflected words,
   phrases, filters + words, prefixes, date ranges + words, facets only; highlights, facets and
   the total count on every query). One client: the mix interleaved query by query with
   ``app.searching.search`` in this process (what ``kartoteka search`` calls), so machine noise
   hits both alike; the server's own time per request is read from its request log. Then 1, 8
   and 32 clients in threads for ``--seconds`` each (requests/s, latency), and the same with a
   process per client (``--process-clients``) to see whether the client's GIL distorts the
   figures. ``kartoteka search --json --facets`` end to end for a handful of queries (process
   start dominates; reported apart).
3. **Change-feed backfill** at each ``--backfill-n``: a fresh server, a client in its own
   process pulling ``GET /api/v1/changes?after=…&limit=1000`` from the start to the end
   (decoding every page, checking the cursors rise), its peak RSS (``ru_maxrss``) and the
   server's (psutil, every 50 ms); ``kartoteka export`` (JSON Lines to a file) and
   ``app.changes.export_changes`` in this process for comparison.

Targets (issue 10): API p95 ≤ 1.5 × the in-process p95 at one client; backfill ≥ 2,000 records/s
with peak memory that does not grow with the archive. Timings come from a shared 2-core
machine: compare within one run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import importlib.metadata
import json
import multiprocessing
import os
import platform
import queue
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import psutil

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.stats import pct  # noqa: E402

# Only the standard library, httpx and psutil are imported at the top: the backfill client and
# the client processes run this file too, and their memory and start-up must be a client's.
if TYPE_CHECKING:
    from app.services import Services

DEFAULT_OUT = REPO / "bench" / "results" / "api.md"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "kartoteka-api-bench"
EXE = REPO / ".venv" / "bin" / "kartoteka"
CHUNK = 250  # cards per registration transaction (one ledger input each)
PAGE = 1000  # change-feed page size the backfill asks for (the API's maximum)
LISTENING = re.compile(r"HTTP API on (http://\S+?)/api/v1")
REQUEST_LINE = re.compile(r"workers\.api\.requests: GET (/\S*) (\d{3}) ([\d.]+) ms")
TARGET_RATIO = 1.5
TARGET_RECORDS_S = 2000.0
HEALTH_REQUESTS = 300
FLAT = 1.10  # peak at the larger size within 10 % of the smaller one's: "does not grow"
MiB = 2**20


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def f1(x: float) -> str:
    return "–" if x != x else (f"{x:.1f}" if x < 100 else f"{x:,.0f}")


# ----------------------------------------------------------------------------------------------
# Archives
# ----------------------------------------------------------------------------------------------


def cache_key() -> str:
    """What the cached archive depends on: the generator, the index document and analysis, the
    registration code and the catalog's migrations."""
    h = hashlib.sha256()
    for rel in ("bench/search_bench.py", "search/document.py", "search/analysis.py", "search/tantivy_index.py",
                "archive/registration.py", "archive/catalog/cards.py", "archive/events.py"):
        h.update((REPO / rel).read_bytes())
    for path in sorted((REPO / "archive" / "migrations").rglob("*.py")):
        h.update(path.read_bytes())
    h.update(str(CHUNK).encode())
    return h.hexdigest()[:10]


def dir_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def archive(cache: Path, n: int, rebuild: bool) -> tuple[Path, dict[str, Any]]:
    """The data directory of an N-card archive (built now or taken from the cache) and its facts."""
    final = cache / f"n{n}-{cache_key()}"
    marker = final / "archive.json"
    if final.exists() and marker.exists() and not rebuild:
        facts = json.loads(marker.read_text())
        facts["cached"] = True
        progress(f"N={n}: archive from the cache, {final}")
        return final, facts
    shutil.rmtree(final, ignore_errors=True)
    building = cache / f"{final.name}.building-{os.getpid()}"
    shutil.rmtree(building, ignore_errors=True)
    facts = build_archive(building, n)
    marker_tmp = building / "archive.json"
    marker_tmp.write_text(json.dumps(facts, indent=1))
    building.rename(final)
    facts["cached"] = False
    return final, facts


def build_archive(data: Path, n: int) -> dict[str, Any]:
    """N cards registered in a fresh SQLite catalog under ``data`` and indexed in ``data/index``."""
    from datetime import timezone
    from zoneinfo import ZoneInfo

    from archive.catalog import Catalog
    from archive.db import make_engine, upgrade
    from archive.model import CardDraft, CardView, PageDraft
    from bench.search_bench import Generator
    from search.document import IndexDoc, card_document
    from search.tantivy_index import TantivyIndex

    data.mkdir(parents=True)
    engine = make_engine(f"sqlite:///{data / 'catalog.sqlite3'}")
    upgrade(engine)
    clock = {"now": dt.datetime.now(timezone.utc)}
    catalog = Catalog(engine, clock=lambda: clock["now"])
    batch_id = catalog.open_batch("/bench/api", "synthetic")
    index = TantivyIndex(data / "index")
    utc = dt.timezone.utc
    tz = ZoneInfo("UTC")  # the settings' default time zone, which the server and reindex use
    stages: defaultdict[str, float] = defaultdict(float)
    samples: dict[str, IndexDoc] = {}
    chunk: list[CardView] = []
    registered = 0
    started = time.perf_counter()

    def register(views: list[CardView], k: int) -> None:
        nonlocal registered
        t0 = time.perf_counter()
        clock["now"] = views[0].card.registered_at.astimezone(utc)
        key = hashlib.sha256("".join(v.card.source_sha256 for v in views).encode()).hexdigest()
        source = catalog.record_input(batch_id, f"/bench/api/scan-{k:05d}.pdf", f"scan-{k:05d}.pdf", key, 1)
        drafts = [
            CardDraft(
                journal=v.card.journal, kind=v.card.kind, source_sha256=v.card.source_sha256, title=v.card.title,
                correspondent=v.card.correspondent, doc_number=v.card.doc_number, doc_date=v.card.doc_date,
                fields=v.card.fields, page_count=v.card.page_count, language=v.card.language, status=v.card.status,
                source_name=v.card.source_name,
                pages=[PageDraft(p.number, p.text, p.confidence, p.rotation, p.skew, p.source) for p in v.pages],
            )
            for v in views
        ]  # fmt: skip
        rows = catalog.register_cards(source.id, drafts)
        t1 = time.perf_counter()
        docs = [card_document(CardView(card=row, pages=v.pages, attachments=(), history=()), tz) for row, v in zip(rows, views, strict=True)]
        t2 = time.perf_counter()
        index.upsert(docs)
        if k % 40 == 39:
            index.commit()  # every 10,000 cards, as reindex does
        t3 = time.perf_counter()
        if k % 37 == 0:
            samples[docs[k % len(docs)].id] = docs[k % len(docs)]
        stages["register"] += t1 - t0
        stages["analyse"] += t2 - t1
        stages["index"] += t3 - t2
        registered += len(rows)

    cards = Generator().cards(n)
    k = 0
    while True:
        t = time.perf_counter()
        view = next(cards, None)
        stages["generate"] += time.perf_counter() - t
        if view is not None:
            chunk.append(view)
        if chunk and (len(chunk) == CHUNK or view is None):
            register(chunk, k)
            chunk = []
            k += 1
            if k % 40 == 0:
                progress(f"N={n}: {registered:,} cards registered and indexed ({time.perf_counter() - started:.0f} s)")
        if view is None:
            break
    t = time.perf_counter()
    index.commit()
    index.mark_complete()
    stages["index"] += time.perf_counter() - t
    # The index has every card: the outbox rows registration wrote are applied.
    t = time.perf_counter()
    while rows := catalog.outbox_pending(limit=5000):
        catalog.outbox_done(r.id for r in rows)
    stages["outbox"] += time.perf_counter() - t
    # The bulk path must give what `kartoteka reindex` gives: rebuild a sample from the catalog.
    mismatched = [cid for cid, doc in samples.items() if card_document(_view(catalog, cid), tz) != doc]
    if mismatched:
        raise AssertionError(f"index documents differ from a reindex for cards {mismatched[:5]}")
    facts = {
        "n": n, "cards": catalog.count_cards(), "events": catalog.last_event_seq(), "documents": index.count(),
        "build_s": time.perf_counter() - started, "stages": dict(stages), "checked_against_reindex": len(samples),
        "catalog_bytes": dir_bytes(data) - dir_bytes(data / "index"), "index_bytes": dir_bytes(data / "index"),
        "built": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "chunk": CHUNK,
    }  # fmt: skip
    index.close()
    engine.dispose()
    assert facts["cards"] == n == facts["documents"] == facts["events"], facts
    progress(f"N={n}: archive built in {facts['build_s']:.0f} s "
             f"({', '.join(f'{k} {v:.0f} s' for k, v in stages.items())})")
    return facts


def _view(catalog: Any, card_id: str) -> Any:
    found = catalog.get_card(card_id)
    assert found is not None, card_id
    return found


# ----------------------------------------------------------------------------------------------
# The server
# ----------------------------------------------------------------------------------------------


def clean_env(data: Path, **settings: str) -> dict[str, str]:
    from tests.processes import clean_env as env

    return env(data, **settings)


def create_token(data: Path) -> str:
    done = subprocess.run(
        [str(EXE), "token", "create", "--name", f"api-bench-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}", "--scope", "read"],
        env=clean_env(data), capture_output=True, text=True, check=True, timeout=120,
    )  # fmt: skip
    return done.stdout.strip()


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def stop(self) -> None:
        from tests.processes import stop_process

        stop_process(self.proc)


def start_server(data: Path, log: Path) -> Server:
    """``kartoteka serve`` on 127.0.0.1 and a free port, ready (``/ready`` answers 200)."""
    token = create_token(data)
    env = clean_env(data, KARTOTEKA_HTTP_HOST="127.0.0.1", KARTOTEKA_HTTP_PORT="0")
    with log.open("wb") as out:
        proc = subprocess.Popen([str(EXE), "serve"], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 120
    url = ""
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            url = found.group(1)
            break
        if proc.poll() is not None:
            raise RuntimeError("kartoteka serve exited: " + log.read_text(errors="replace")[-2000:])
        time.sleep(0.1)
    if not url:
        proc.kill()
        raise RuntimeError("kartoteka serve did not start: " + log.read_text(errors="replace")[-2000:])
    assert url.startswith("http://127.0.0.1:"), url
    server = Server(proc, url, log, token)
    ready = httpx.get(f"{url}/ready", timeout=120)
    if ready.status_code != 200:
        server.stop()
        raise RuntimeError(f"/ready answered {ready.status_code}: {ready.text}")
    return server


class PeakRss:
    """The highest RSS of one process (its children too, if asked), sampled every 50 ms."""

    def __init__(self, pid: int, children: bool = False, interval: float = 0.05) -> None:
        self.process = psutil.Process(pid)
        self.children = children
        self.interval = interval
        self.peak = 0
        self.first = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        try:
            rss = int(self.process.memory_info().rss)
            if self.children:
                rss += sum(int(c.memory_info().rss) for c in self.process.children(recursive=True))
            return rss
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.sample())
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakRss:
        self.first = self.sample()
        self.peak = self.first
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self.sample())


def own_memory() -> tuple[int, int]:
    """This process's RSS and its high-water mark (bytes), from /proc/self/status.

    Not ``ru_maxrss``: Linux keeps the high-water mark across ``exec``, so a child started with
    vfork + exec (``subprocess``) reports its parent's peak if that was higher."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) * 1024
    return found["VmRSS"], found["VmHWM"]


def cpu_seconds(process: psutil.Process) -> float:
    t = process.cpu_times()
    return float(t.user + t.system)


def server_durations(log: Path, offset: int, route: str, expected: int) -> list[float]:
    """The request log's durations (ms) of ``route`` after byte ``offset``, once ``expected`` are there."""
    deadline = time.monotonic() + 10
    found: list[float] = []
    while time.monotonic() < deadline:
        with log.open("rb") as f:
            f.seek(offset)
            text = f.read().decode("utf-8", errors="replace")
        found = [float(m.group(3)) for m in REQUEST_LINE.finditer(text) if m.group(1) == route]
        if len(found) >= expected:
            break
        time.sleep(0.2)
    return found[-expected:]


# ----------------------------------------------------------------------------------------------
# Search
# ----------------------------------------------------------------------------------------------


def search_params(q: str) -> dict[str, str]:
    return {"q": q, "facets": "true"}


def one_client(server: Server, services: Services, mix: list[tuple[str, str]]) -> dict[str, Any]:
    """The mix through the API and in-process, query by query (the order alternating)."""
    from app.searching import SearchParams, search

    def inproc(q: str) -> int:
        return search(services, SearchParams(query=q, facets=True)).total

    with httpx.Client(base_url=server.url, headers=server.headers, timeout=120) as client:

        def api(q: str) -> int:
            r = client.get("/api/v1/search", params=search_params(q))
            r.raise_for_status()
            return int(r.json()["total"])

        distinct = sorted({q for _, q in mix})
        progress(f"search: warm-up ({len(distinct)} distinct queries on both paths)")
        for q in distinct:
            inproc(q)
            api(q)
        progress(f"search: {len(mix)} queries, one client, API and in-process interleaved")
        time.sleep(0.5)  # the last warm-up request's log line is written after its response
        offset = server.log.stat().st_size
        lat: dict[str, dict[str, list[float]]] = {"api": defaultdict(list), "inproc": defaultdict(list)}
        mismatches: list[tuple[str, int, int]] = []
        for i, (cat, q) in enumerate(mix):
            got: dict[str, int] = {}
            for name in (("api", "inproc") if i % 2 == 0 else ("inproc", "api")):
                call = api if name == "api" else inproc
                t = time.perf_counter()
                got[name] = call(q)
                lat[name][cat].append((time.perf_counter() - t) * 1000)
            if got["api"] != got["inproc"]:
                mismatches.append((q, got["api"], got["inproc"]))
        handler = server_durations(server.log, offset, "/api/v1/search", len(mix))
        # The floor: an unauthenticated route that does nothing (HTTP, routing, the thread pool).
        time.sleep(0.5)
        offset = server.log.stat().st_size
        health = []
        for _ in range(HEALTH_REQUESTS):
            t = time.perf_counter()
            client.get("/health").raise_for_status()
            health.append((time.perf_counter() - t) * 1000)
    health_server = server_durations(server.log, offset, "/health", HEALTH_REQUESTS)
    return {"lat": {k: dict(v) for k, v in lat.items()}, "server_ms": handler, "mismatches": mismatches,
            "health": health, "health_server": health_server}


def server_overhead(services: Services, token: str, queries: list[str]) -> dict[str, list[float]]:
    """What the server does around the search, redone in this process for every query of the mix:
    the token lookup (``accounts.principal_for_token``, as the auth dependency calls it), the
    search, and the response model's validation + JSON (``TypeAdapter(SearchResult)``, as FastAPI
    validates and serialises a ``response_model``)."""
    from pydantic import TypeAdapter

    from app import accounts
    from app.searching import SearchParams, search
    from workers.api.models import SearchResult

    progress(f"search: the server's work around the search, in this process ({len(queries)} queries)")
    adapter: TypeAdapter[Any] = TypeAdapter(SearchResult)
    stages: dict[str, list[float]] = defaultdict(list)
    for q in queries:
        t0 = time.perf_counter()
        assert accounts.principal_for_token(services, token) is not None
        t1 = time.perf_counter()
        found = search(services, SearchParams(query=q, facets=True))
        t2 = time.perf_counter()
        adapter.dump_json(adapter.validate_python(found.as_json()), exclude_unset=True)
        t3 = time.perf_counter()
        for key, a, b in (("token lookup", t0, t1), ("search", t1, t2), ("response model + JSON", t2, t3)):
            stages[key].append((b - a) * 1000)
    return dict(stages)


def run_client(url: str, token: str, queries: list[str], offset: int, seconds: float,
               ready: Any, go: Any, out: Any) -> None:
    """One client: its own keep-alive connection, the mix from ``offset``, until the deadline."""
    lat: list[float] = []
    errors = 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
        client.get("/api/v1/search", params=search_params(queries[offset % len(queries)]))  # connect
        ready.put(1)
        start_at = float(go.get())
        while (wait := start_at - time.perf_counter()) > 0:
            time.sleep(min(wait, 0.01))
        end_at = start_at + seconds
        cpu0 = time.process_time()
        last = time.perf_counter()
        i = offset
        while (t := time.perf_counter()) < end_at:
            r = client.get("/api/v1/search", params=search_params(queries[i % len(queries)]))
            last = time.perf_counter()
            if r.status_code != 200:
                errors += 1
            lat.append((last - t) * 1000)
            i += 1
        cpu = time.process_time() - cpu0
    out.put({"lat": lat, "errors": errors, "start": start_at, "end": last, "cpu": cpu})


def load(server: Server, queries: list[str], clients: int, seconds: float, mode: str) -> dict[str, Any]:
    """``clients`` concurrent clients (threads or processes) for ``seconds``."""
    ctx = multiprocessing.get_context("spawn")
    if mode == "threads":
        ready: Any = queue.Queue()
        go: Any = queue.Queue()
        out: Any = queue.Queue()
    else:
        ready, go, out = ctx.Queue(), ctx.Queue(), ctx.Queue()
    step = max(1, len(queries) // clients)
    args = [(server.url, server.token, queries, c * step, seconds, ready, go, out) for c in range(clients)]
    workers: list[Any] = (
        [threading.Thread(target=run_client, args=a, daemon=True) for a in args]
        if mode == "threads"
        else [ctx.Process(target=run_client, args=a, daemon=True) for a in args]
    )
    for w in workers:
        w.start()
    for _ in workers:
        ready.get(timeout=300)
    srv = psutil.Process(server.proc.pid)
    me = psutil.Process()
    start_at = time.perf_counter() + 0.3
    for _ in workers:
        go.put(start_at)
    with PeakRss(server.proc.pid) as rss:
        while time.perf_counter() < start_at:
            time.sleep(0.005)
        cpu_srv, cpu_me = cpu_seconds(srv), cpu_seconds(me)
        results = [out.get(timeout=seconds + 600) for _ in workers]
        cpu_srv, cpu_me = cpu_seconds(srv) - cpu_srv, cpu_seconds(me) - cpu_me
    for w in workers:
        w.join(timeout=60)
    wall = max(r["end"] for r in results) - start_at
    lat = [x for r in results for x in r["lat"]]
    client_cpu = cpu_me if mode == "threads" else sum(r["cpu"] for r in results)
    return {
        "clients": clients, "mode": mode, "wall": wall, "requests": len(lat), "errors": sum(r["errors"] for r in results),
        "lat": lat, "server_cores": cpu_srv / wall, "client_cores": client_cpu / wall, "server_peak": rss.peak,
    }  # fmt: skip


def cli_search(data: Path, services: Services, mix: list[tuple[str, str]], count: int) -> list[dict[str, Any]]:
    """``kartoteka search --json --facets`` as a user runs it, for one query per category (and more)."""
    from app.searching import SearchParams, search

    picked: list[tuple[str, str]] = []
    for cat, q in mix:  # one query of each category first, then others
        if (cat, q) not in picked and all(c != cat for c, _ in picked):
            picked.append((cat, q))
    for cat, q in mix:
        if (cat, q) not in picked:
            picked.append((cat, q))
    picked = picked[:count]
    env = clean_env(data)
    rows = []
    for cat, q in picked:
        argv = [str(EXE), "search", "--json", "--facets", *([q] if q else [])]
        subprocess.run(argv, env=env, capture_output=True, check=True, timeout=120)  # warm the page cache
        walls = []
        total = -1
        for _ in range(2):
            t = time.perf_counter()
            done = subprocess.run(argv, env=env, capture_output=True, check=True, timeout=120)
            walls.append((time.perf_counter() - t) * 1000)
            total = int(json.loads(done.stdout)["total"])
        inproc = []
        for _ in range(3):
            t = time.perf_counter()
            found = search(services, SearchParams(query=q, facets=True)).total
            inproc.append((time.perf_counter() - t) * 1000)
        rows.append({"category": cat, "query": q, "cli_ms": statistics.median(walls), "inproc_ms": statistics.median(inproc),
                     "same_total": total == found, "total": total})  # fmt: skip
    return rows


def search_phase(data: Path, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    from app.services import Services
    from app.settings import Settings
    from bench.search_bench import Generator, query_mix

    mix = query_mix(Generator().orgs, args.queries)
    services = Services(Settings(data_dir=data))
    server = start_server(data, work / "serve-search.log")
    progress(f"search: kartoteka serve at {server.url} (pid {server.proc.pid})")
    res: dict[str, Any] = {"url": server.url}
    try:
        res["idle_rss"] = psutil.Process(server.proc.pid).memory_info().rss
        res["one"] = one_client(server, services, mix)
        queries = [q for _, q in mix]
        res["overhead"] = server_overhead(services, server.token, [q for _, q in mix])
        res["load"] = []
        for clients in args.clients:
            modes = ["threads", *(["processes"] if clients in args.process_clients else [])]
            for round_ in range(1, args.rounds + 1):
                for mode in modes if round_ % 2 else modes[::-1]:
                    progress(f"search: {clients} client(s) in {mode} for {args.seconds:.0f} s (round {round_})")
                    r = load(server, queries, clients, args.seconds, mode)
                    r["round"] = round_
                    progress(f"search: {r['requests']} requests, {r['requests'] / r['wall']:.1f}/s, "
                             f"p50 {pct(r['lat'], 50):.1f} ms, p95 {pct(r['lat'], 95):.1f} ms")
                    res["load"].append(r)
    finally:
        server.stop()
    progress(f"search: kartoteka search --json for {args.cli_queries} queries")
    res["cli"] = cli_search(data, services, mix, args.cli_queries)
    return res


# ----------------------------------------------------------------------------------------------
# Change-feed backfill
# ----------------------------------------------------------------------------------------------


def feed_client(url: str) -> int:
    """The backfill client (run as its own process): every change from the start, a page at a
    time; prints what it saw and its peak RSS as JSON."""
    token = os.environ["KT_BENCH_TOKEN"]
    baseline = own_memory()[0]
    records = pages = 0
    last = 0
    rising = True
    topics: Counter[str] = Counter()
    no_card = 0
    page_ms: list[float] = []
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=300) as client:
        cursor = "0"
        started = time.perf_counter()
        while True:
            t = time.perf_counter()
            r = client.get("/api/v1/changes", params={"after": cursor, "limit": PAGE})
            r.raise_for_status()
            page = r.json()
            page_ms.append((time.perf_counter() - t) * 1000)
            for change in page["changes"]:
                seq = int(change["cursor"])
                rising = rising and seq > last
                last = seq
                topics[change["topic"]] += 1
                no_card += change["card"] is None
            records += len(page["changes"])
            pages += 1
            cursor = page["next_cursor"]
            if len(page["changes"]) < PAGE:
                break
        seconds = time.perf_counter() - started
    print(json.dumps({
        "records": records, "pages": pages, "seconds": seconds, "last_cursor": cursor, "rising": rising,
        "topics": dict(topics), "without_card": no_card, "page_p50_ms": pct(page_ms, 50), "page_p95_ms": pct(page_ms, 95),
        "baseline_rss": baseline, "maxrss": own_memory()[1],
    }))  # fmt: skip
    return 0


def backfill_phase(data: Path, n: int, events: int, work: Path) -> dict[str, Any]:
    from app.changes import export_changes
    from app.services import Services
    from app.settings import Settings

    res: dict[str, Any] = {"n": n, "events": events}
    server = start_server(data, work / f"serve-feed-{n}.log")
    try:
        with httpx.Client(base_url=server.url, headers=server.headers, timeout=60) as c:
            c.get("/api/v1/changes", params={"after": "0", "limit": 1}).raise_for_status()  # imports loaded
        time.sleep(0.5)
        progress(f"backfill N={n}: the API from cursor 0, {PAGE} a page")
        env = dict(os.environ, KT_BENCH_TOKEN=server.token)
        with PeakRss(server.proc.pid) as srv:
            t = time.perf_counter()
            client = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--feed-client", server.url],
                                      env=env, stdout=subprocess.PIPE)  # fmt: skip
            with PeakRss(client.pid) as cli:
                out, _ = client.communicate(timeout=3600)
            wall = time.perf_counter() - t
        assert client.returncode == 0, client.returncode
        api = json.loads(out)
        api.update(server_idle=srv.first, server_peak=srv.peak, client_sampled_peak=cli.peak, process_wall=wall)
        res["api"] = api
        progress(f"backfill N={n}: {api['records']:,} records in {api['seconds']:.1f} s "
                 f"({api['records'] / api['seconds']:,.0f}/s); server peak {srv.peak / MiB:.0f} MiB, "
                 f"client {api['maxrss'] / MiB:.0f} MiB")
    finally:
        server.stop()

    progress(f"backfill N={n}: kartoteka export")
    env = clean_env(data)
    target = work / f"export-{n}.jsonl"
    with target.open("wb") as f, (work / f"export-{n}.log").open("wb") as errlog:
        t = time.perf_counter()
        proc = subprocess.Popen([str(EXE), "export"], env=env, stdout=f, stderr=errlog)
        with PeakRss(proc.pid, children=True) as rss:
            proc.wait(timeout=3600)
        export_s = time.perf_counter() - t
    assert proc.returncode == 0, (work / f"export-{n}.log").read_text()
    lines = 0
    with target.open("rb") as written:
        while block := written.read(1 << 20):
            lines += block.count(b"\n")
    size = target.stat().st_size
    target.unlink()
    starts = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([str(EXE), "export", "--after", str(events)], env=env, capture_output=True, check=True, timeout=120)
        starts.append(time.perf_counter() - t)
    empty_s = statistics.median(starts)
    res["export"] = {"records": lines, "seconds": export_s, "peak": rss.peak, "bytes": size, "start_s": empty_s}

    progress(f"backfill N={n}: export_changes in-process")
    services = Services(Settings(data_dir=data))
    seen = [0]

    def count(change: dict[str, Any]) -> None:
        seen[0] += 1

    t = time.perf_counter()
    export_changes(services, after=None, write=count)
    res["inproc"] = {"records": seen[0], "seconds": time.perf_counter() - t}
    return res


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------

WATCHED = ("app", "archive", "search", "workers")


def git(*a: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *a], capture_output=True, text=True).stdout


def code_state() -> tuple[str, dict[str, str]]:
    """HEAD and the uncommitted files of the code measured, each with a hash of its content."""
    head = git("rev-parse", "--short", "HEAD").strip()
    dirty = {}
    for line in git("status", "--porcelain", "--untracked-files=all", "--", *WATCHED).splitlines():
        path = line[3:].split(" -> ")[-1].strip()
        if not path.endswith(".py"):
            continue
        try:
            dirty[path] = hashlib.sha256((REPO / path).read_bytes()).hexdigest()
        except OSError:
            dirty[path] = "deleted"
    return head, dirty


def versions() -> str:
    names = ("fastapi", "uvicorn", "starlette", "pydantic", "httpx", "tantivy", "SQLAlchemy")
    found = []
    for name in names:
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def machine() -> str:
    cpu = ""
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"`nproc` = {os.cpu_count()}, {cpu}, {mem:.0f} GiB RAM, {platform.platform()}"


def lat_row(label: str, values: list[float], extra: str = "") -> str:
    rate = 1000 / statistics.fmean(values) if values else float("nan")
    return (f"| {label} | {len(values)} | {f1(pct(values, 50))} | {f1(pct(values, 95))} | {f1(pct(values, 99))} | "
            f"{f1(statistics.fmean(values))} | {f1(rate)} |{extra}")


def without_start(e: dict[str, Any]) -> str:
    rest = e["seconds"] - e["start_s"]
    return f" ({e['records'] / rest:,.0f} without start)" if rest > 0.2 * e["seconds"] else ""


def report(run: dict[str, Any], args: argparse.Namespace) -> list[str]:
    head, dirty_start = run["code"]
    head_end, dirty_end = run.get("code_end", run["code"])
    changed = sorted(set(dirty_start) | set(dirty_end))
    code = f"commit {head}" + (f" + uncommitted changes in {', '.join(f'`{p}`' for p in changed)}" if changed else "")
    moved = sorted(p for p in changed if dirty_start.get(p) != dirty_end.get(p))
    if head_end != head or moved:
        code += (f" (**changed while the benchmark ran**: {', '.join(f'`{p}`' for p in moved) or 'HEAD'}; "
                 "other sessions edit the tree, and each server runs the code on disk when it starts)")
    out = ["# API benchmark: search through the HTTP API and the change-feed backfill", "", "```sh",
           "  " + " ".join([".venv/bin/python bench/api_bench.py", *sys.argv[1:]]).strip(), "```", "",
           f"* date: {run['date']}; code: {code}",
           f"* machine: {machine()}; load average at the start {run['load_start']}, at the end "
           + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
           f"* Python {platform.python_version()}; {versions()}",
           f"* wall time of the run: {(time.perf_counter() - run['t0']) / 60:.1f} min", ""]

    out += ["## Archives", "",
            "Synthetic cards of `bench/search_bench.py`'s generator (seeded), registered in a SQLite catalog "
            f"through `Catalog.register_cards` ({CHUNK} cards and one ledger input per transaction) and written "
            "to the embedded index as `card_document` of each registered card (a sample rebuilt from the "
            "catalog matched). Cached in `--cache`; \"cached\" means this run reused an archive built earlier.", "",
            "| N | cards | change-feed events | catalog MiB | index MiB | build | built in (generate / register / analyse / index) |",
            "|---|---|---|---|---|---|---|"]
    for n, facts in sorted(run["archives"].items()):
        s = facts["stages"]
        out.append(f"| {n:,} | {facts['cards']:,} | {facts['events']:,} | {facts['catalog_bytes'] / MiB:,.0f} | "
                   f"{facts['index_bytes'] / MiB:,.0f} | {'cached (' + facts['built'] + ')' if facts['cached'] else 'this run'} | "
                   f"{facts['build_s'] / 60:.1f} min ({s['generate']:.0f} / {s['register']:.0f} / {s['analyse']:.0f} / {s['index']:.0f} s) |")
    out += [""]

    s = run.get("search")
    if s:
        one = s["one"]
        api = [x for v in one["lat"]["api"].values() for x in v]
        inp = [x for v in one["lat"]["inproc"].values() for x in v]
        srv = one["server_ms"]
        out += [f"## Search at {args.n:,} cards, one client: the API against the in-process search", "",
                "Every query `GET /api/v1/search?q=…&facets=true` (httpx, one keep-alive connection) and "
                "`app.searching.search(services, SearchParams(query=q, facets=True))` in this process (what "
                "`kartoteka search` calls; it opens the index per call, as the API does), query by query, the order "
                "alternating, after a warm-up over every distinct query. Milliseconds; req/s = 1000 / mean. "
                "*server handler*: the duration the server's request log gives (middleware to the last byte "
                "sent: auth, validation, the search, the response model, JSON). `GET /health` (no auth, no work), "
                f"{HEALTH_REQUESTS} times after the mix, is the floor of a request through uvicorn and FastAPI.", "",
                "| path | queries | p50 | p95 | p99 | mean | req/s |", "|---|---|---|---|---|---|---|",
                lat_row("in-process `app.searching.search`", inp),
                lat_row("API, server handler (request log)", srv),
                lat_row("API, client round trip", api),
                lat_row("`GET /health`, server handler (request log)", one["health_server"]),
                lat_row("`GET /health`, client round trip", one["health"]), "",
                f"API / in-process: p50 {pct(api, 50) / pct(inp, 50):.2f}×, **p95 {pct(api, 95) / pct(inp, 95):.2f}×** "
                f"(target ≤ {TARGET_RATIO}×), p99 {pct(api, 99) / pct(inp, 99):.2f}×. Medians: the server adds "
                f"{pct(srv, 50) - pct(inp, 50):.1f} ms around the search, transport and the client "
                f"{pct(api, 50) - pct(srv, 50):.1f} ms. "
                + (f"{len(one['mismatches'])} queries gave a different total through the API: "
                   + ", ".join(f"`{q}` {a} vs {b}" for q, a, b in one["mismatches"][:5])
                   if one["mismatches"] else "Every query found the same number of cards through both paths."), "",
                "Where the server's extra time goes: its work around the search redone in this process for every "
                "query of the mix (the token lookup the auth dependency makes, `accounts.principal_for_token`; "
                "the search; the response model's validation and JSON, `TypeAdapter(SearchResult)` as FastAPI "
                "does for a `response_model`). The rest of the server handler's time is uvicorn/FastAPI: "
                "parsing, dependencies and the sync endpoint run in the thread pool (a hop per sync "
                "dependency, the endpoint and the response validation), the GIL handed between threads.", "",
                "| stage (in this process) | p50 ms | p95 ms | mean ms |", "|---|---|---|---|",
                *[f"| {k} | {f1(pct(v, 50))} | {f1(pct(v, 95))} | {f1(statistics.fmean(v))} |" for k, v in s["overhead"].items()],
                "", "Per category (p50 / p95, ms):", "",
                "| category | queries | in-process | API | API / in-process p95 |", "|---|---|---|---|---|"]
        from bench.search_bench import CATEGORIES

        for cat in [c for c in CATEGORIES if c in one["lat"]["api"]]:
            a, b = one["lat"]["api"][cat], one["lat"]["inproc"][cat]
            out.append(f"| {cat} | {len(a)} | {f1(pct(b, 50))} / {f1(pct(b, 95))} | {f1(pct(a, 50))} / {f1(pct(a, 95))} | "
                       f"{pct(a, 95) / pct(b, 95):.2f}× |")
        out += ["", "## Concurrent clients", "",
                f"Each client its own httpx keep-alive connection, the same mix from its own offset, for {args.seconds:.0f} s "
                "(requests started before the end finish and count). Threads: all clients in this process; "
                "processes: a process per client, to see whether the client's GIL distorts the figures. "
                "CPU = CPU seconds / wall seconds (cores busy), server = the `kartoteka serve` process; "
                f"server RSS at rest {s['idle_rss'] / MiB:.0f} MiB.", "",
                "| clients | client | round | requests | req/s | p50 ms | p95 ms | p99 ms | errors | server CPU | client CPU | server peak RSS MiB |",
                "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for r in s["load"]:
            out.append(f"| {r['clients']} | {r['mode']} | {r.get('round', 1)} | {r['requests']:,} | {r['requests'] / r['wall']:.1f} | "
                       f"{f1(pct(r['lat'], 50))} | {f1(pct(r['lat'], 95))} | {f1(pct(r['lat'], 99))} | {r['errors']} | "
                       f"{r['server_cores']:.2f} | {r['client_cores']:.2f} | {r['server_peak'] / MiB:.0f} |")
        out += ["", "All rounds pooled (requests / summed wall time; percentiles over every request):", "",
                "| clients | client | requests | req/s | p50 ms | p95 ms | p99 ms |", "|---|---|---|---|---|---|---|"]
        pooled: dict[tuple[int, str], list[dict[str, Any]]] = defaultdict(list)
        for r in s["load"]:
            pooled[(r["clients"], r["mode"])].append(r)
        for (clients, mode), rs in pooled.items():
            lat = [x for r in rs for x in r["lat"]]
            out.append(f"| {clients} | {mode} | {len(lat):,} | {len(lat) / sum(r['wall'] for r in rs):.1f} | "
                       f"{f1(pct(lat, 50))} | {f1(pct(lat, 95))} | {f1(pct(lat, 99))} |")
        out += ["", "## `kartoteka search --json --facets` end to end", "",
                "The command as a user runs it (a new process each time: interpreter start, imports, opening the "
                "index), median of 2 runs after an untimed one, against the in-process call (median of 3).", "",
                "| category | query | hits | command ms | in-process ms | difference ms |", "|---|---|---|---|---|---|"]
        for r in s["cli"]:
            out.append(f"| {r['category']} | `{r['query'] or '(empty)'}` | {r['total']:,}{'' if r['same_total'] else ' (differs!)'} | "
                       f"{r['cli_ms']:.0f} | {r['inproc_ms']:.1f} | {r['cli_ms'] - r['inproc_ms']:.0f} |")
        cli = [r["cli_ms"] for r in s["cli"]]
        diff = [r["cli_ms"] - r["inproc_ms"] for r in s["cli"]]
        out += ["", f"Median: {statistics.median(cli):.0f} ms a command, {statistics.median(diff):.0f} ms of it "
                "not the search (process start).", ""]

    fills = run.get("backfill", [])
    if fills:
        out += ["## Change-feed backfill", "",
                f"*API*: a client in its own process (httpx, one connection) asks `GET /api/v1/changes?after=CURSOR&limit={PAGE}` "
                "from cursor 0 until a page comes back short, decodes every page and checks that the cursors rise; a fresh "
                "`kartoteka serve` per size. Client peak = its `VmHWM` (Python + httpx included; \"at start\": its RSS "
                "before the first request); server peak sampled every 50 ms (\"at rest\": before the backfill, after one "
                "request). *export*: `kartoteka export > FILE` (JSON Lines), process start included; \"start\" is "
                "`kartoteka export --after LAST` (no records; median of 3). *in-process*: `app.changes.export_changes` with a "
                "writer that only counts.", "",
                "| N | path | records | seconds | records/s | server peak MiB (at rest) | client peak MiB (at start) | page p50 / p95 ms |",
                "|---|---|---|---|---|---|---|---|"]
        for b in fills:
            a, e, i = b["api"], b["export"], b["inproc"]
            ok = a["records"] == b["events"] and a["rising"] and a["without_card"] == 0
            out.append(f"| {b['n']:,} | API | {a['records']:,}{'' if ok else ' (**check failed**)'} | {a['seconds']:.1f} | "
                       f"{a['records'] / a['seconds']:,.0f} | {a['server_peak'] / MiB:.0f} ({a['server_idle'] / MiB:.0f}) | "
                       f"{a['maxrss'] / MiB:.0f} ({a['baseline_rss'] / MiB:.0f}) | {a['page_p50_ms']:.0f} / {a['page_p95_ms']:.0f} |")
            out.append(f"| {b['n']:,} | `kartoteka export` | {e['records']:,} | {e['seconds']:.1f} (start {e['start_s']:.1f}) | "
                       f"{e['records'] / e['seconds']:,.0f}{without_start(e)} | "
                       f"– | {e['peak'] / MiB:.0f} (the export process) | – |")
            out.append(f"| {b['n']:,} | in-process `export_changes` | {i['records']:,} | {i['seconds']:.1f} | "
                       f"{i['records'] / i['seconds']:,.0f} | – | – | – |")
        out += [""]
        if len(fills) >= 2:
            lo, hi = fills[0], fills[-1]
            out.append(f"Memory, {hi['n']:,} against {lo['n']:,} cards ({hi['n'] / lo['n']:.0f}× the archive): server peak "
                       f"{hi['api']['server_peak'] / lo['api']['server_peak']:.2f}×, API client "
                       f"{hi['api']['maxrss'] / lo['api']['maxrss']:.2f}×, `kartoteka export` "
                       f"{hi['export']['peak'] / lo['export']['peak']:.2f}× (\"flat\": ≤ {FLAT:.2f}×).")
            out += [""]

    out += ["## Targets", "", "| target | measured | result |", "|---|---|---|"]
    if s:
        api = [x for v in s["one"]["lat"]["api"].values() for x in v]
        inp = [x for v in s["one"]["lat"]["inproc"].values() for x in v]
        ratio = pct(api, 95) / pct(inp, 95)
        out.append(f"| API p95 ≤ {TARGET_RATIO}× in-process p95, one client, {args.n:,} cards | {pct(api, 95):.1f} ms / "
                   f"{pct(inp, 95):.1f} ms = {ratio:.2f}× | {'PASS' if ratio <= TARGET_RATIO else 'FAIL'} |")
    for b in fills:
        rate = b["api"]["records"] / b["api"]["seconds"]
        out.append(f"| backfill ≥ {TARGET_RECORDS_S:,.0f} records/s through the API, {b['n']:,} cards | {rate:,.0f} records/s | "
                   f"{'PASS' if rate >= TARGET_RECORDS_S else 'FAIL'} |")
    if len(fills) >= 2:
        lo, hi = fills[0], fills[-1]
        for label, a, b in (("server", lo["api"]["server_peak"], hi["api"]["server_peak"]),
                            ("client", lo["api"]["maxrss"], hi["api"]["maxrss"])):
            out.append(f"| backfill {label} peak RSS flat from {lo['n']:,} to {hi['n']:,} cards (≤ {FLAT:.2f}×) | "
                       f"{a / MiB:.0f} → {b / MiB:.0f} MiB ({b / a:.2f}×) | {'PASS' if b / a <= FLAT else 'FAIL'} |")
    out += [""]
    return out


# ----------------------------------------------------------------------------------------------
# Main
# ----------------------------------------------------------------------------------------------


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--feed-client":
        return feed_client(sys.argv[2])
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="cards in the archive searched (default 100000)")
    ap.add_argument("--backfill-n", type=int, nargs="*", default=None,
                    help="archive sizes for the backfill, smallest first (default: 20000 and --n); none: skip it")
    ap.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32])
    ap.add_argument("--process-clients", type=int, nargs="*", default=[8, 32],
                    help="levels also run with a process per client (default 8 32)")
    ap.add_argument("--seconds", type=float, default=20.0, help="per concurrency level and round (default 20)")
    ap.add_argument("--rounds", type=int, default=2,
                    help="passes over each level, the client modes in alternating order (default 2)")
    ap.add_argument("--queries", type=int, default=700, help="queries in the one-client mix (default 700)")
    ap.add_argument("--cli-queries", type=int, default=8, help="queries run through `kartoteka search --json` (default 8)")
    ap.add_argument("--no-search", action="store_true", help="skip the search part")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"where archives are kept (default {DEFAULT_CACHE})")
    ap.add_argument("--rebuild", action="store_true", help="build the archives again even if cached")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    if args.backfill_n is None:
        args.backfill_n = sorted({min(20_000, args.n), args.n})
    run: dict[str, Any] = {
        "t0": time.perf_counter(), "code": code_state(), "archives": {},
        "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "load_start": ", ".join(f"{x:.2f}" for x in os.getloadavg()),
    }  # fmt: skip
    from bench.report import publish

    args.cache.mkdir(parents=True, exist_ok=True)
    sizes = sorted(set(args.backfill_n) | ({args.n} if not args.no_search else set()))
    dirs: dict[int, Path] = {}
    for n in sizes:
        dirs[n], run["archives"][n] = archive(args.cache, n, args.rebuild)
    random.seed(0)
    with tempfile.TemporaryDirectory(prefix="kt-api-bench-") as tmp:
        work = Path(tmp)
        if not args.no_search:
            run["search"] = search_phase(dirs[args.n], work, args)
            publish(report(run, args), args.out)
        run["backfill"] = []
        for n in sorted(args.backfill_n):
            run["backfill"].append(backfill_phase(dirs[n], n, run["archives"][n]["events"], work))
        run["code_end"] = code_state()
        publish(report(run, args), args.out)
    progress(f"done in {(time.perf_counter() - run['t0']) / 60:.1f} min; report in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
