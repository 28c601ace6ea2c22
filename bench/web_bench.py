"""Web UI benchmark: time to first render of the search page and the card page with 100k cards in
the archive (the server's time and the browser's, from Chromium's performance timing), and the
card page's weight in bytes with 10 page images.

    .venv/bin/python bench/web_bench.py [--n 100000] [--queries 100] [--runs 10] [--cache DIR]
                                        [--rebuild] [--out bench/results/web.md]

1. **Archive**: ``bench/api_bench.py``'s archive of N synthetic cards (SQLite catalog and the
   embedded index, cached in ``--cache``; built there if missing), copied to a work directory,
   plus one card registered through the real pipeline on the scripted engine
   (``ocr/fake.py``) from a 10-page PDF of pages that show their text (``tests/web/textpages.py``):
   the card page's 10 page images, hOCR word boxes and fields are real. A clerk account.
2. **Server**: this file in ``--serve`` mode in a subprocess: ``create_app`` with the UI mounted
   (``workers.web.mount``), uvicorn on 127.0.0.1 and a free port, the request log in a file.
3. **Server time**: one client (httpx, keep-alive, signed in through the login form) asks for
   ``/ui/search?q=…`` over search_bench's query mix, interleaved with ``/api/v1/search`` of the
   same query (the page's 20 hits with facets: the difference is the page's own cost), and the
   card page of the 10-page card and of synthetic cards. Client round trip and the handler's
   time from the server's request log.
4. **Browser**: Debian's Chromium driven by Playwright, a fresh context per visit (no HTTP
   cache): navigation timing (first byte, DOMContentLoaded, load), first contentful paint and
   the largest contentful paint, for the search page and the card page; the card page cold (the
   server renders its page images on the first request: the image cache emptied before each
   visit) and warm (page images rendered before).
5. **Weight**: the card page's bytes from resource timing (HTML, CSS, JS, images; bodies as
   sent), as first loaded (page images below the fold are lazy) and after scrolling through all
   10 pages.

Timings come from a shared 2-core machine: compare within one run.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.api_bench import archive, code_state, f1, machine, progress, server_durations, versions  # noqa: E402
from bench.stats import pct  # noqa: E402

DEFAULT_OUT = REPO / "bench" / "results" / "web.md"
DEFAULT_CACHE = Path("/tmp/kartoteka-api-bench")
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "web bench password"
PAGES = 10
LISTENING = re.compile(r"LISTENING (http://\S+)")
VIEWPORT = {"width": 1280, "height": 800}
CARD_QUERY = "договор"
SAMPLES = Path("/work/shared/samples/class/phone-scan")


# ----------------------------------------------------------------------------------------------
# The archive and the server
# ----------------------------------------------------------------------------------------------


def card_pages() -> list[tuple[str, str]]:
    """Ten scripted pages (key, text) of one contract: words the search finds on every page."""
    from bench.search_bench import COMMON

    rng = random.Random(7)
    pages = []
    for n in range(1, PAGES + 1):
        words = " ".join(rng.choice(COMMON) for _ in range(12))
        text = (
            f"ДОГОВОР ПОСТАВКИ № 77/{n} от 14.03.2026\nстраница {n} из {PAGES}\n"
            f"Поставщик ТОО «Альфа-Трейд» обязуется поставить товар по договору,\n{words}\n"
            "Покупатель принимает и оплачивает товар в срок 10 дней.\nИтого к оплате: 1 250 000 тенге."
        )
        pages.append((f"bench-page-{n}", text))
    return pages


def scans_pdf(target: Path) -> Path | None:
    """A 10-page PDF of real flatbed scans (the developer samples), or None without them."""
    from PIL import Image

    found = sorted(SAMPLES.glob("*/0_1_*.jpg"))[:PAGES]
    if len(found) < PAGES:
        return None
    images = [Image.open(p).convert("RGB") for p in found]
    images[0].save(target, "PDF", resolution=300.0, save_all=True, append_images=images[1:], quality=85)
    return target


def prepare(data0: Path, work: Path) -> tuple[Path, dict[str, str], list[str], float]:
    """A copy of the cached archive with the 10-page cards and a clerk: (data dir, card ids by
    name, ids of synthetic cards, seconds the copy took)."""
    from app import accounts
    from app.intake import ingest_paths
    from app.services import Services
    from app.settings import load_settings
    from ocr.fake import PageScript, ScriptedEngine
    from tests.web.textpages import write_text_pdf

    data = work / "data"
    t = time.perf_counter()
    subprocess.run(["cp", "-a", "--reflink=auto", str(data0), str(data)], check=True)
    copy_s = time.perf_counter() - t
    pages = card_pages()
    # Pages without a QR code (the real scans) read as the first text page.
    engine = ScriptedEngine({k: PageScript(v) for k, v in pages}, unknown=PageScript(pages[0][1]))
    services = Services(load_settings({"KARTOTEKA_DATA_DIR": str(data)}), engine_factory=lambda _s: engine)
    files = {"text pages": write_text_pdf(work / "contract-77.pdf", pages), "scans": scans_pdf(work / "scans.pdf")}
    report = ingest_paths(services, [p for p in files.values() if p is not None])
    assert not report.problems and all(r.card_id for r in report.files), report
    by_name = {Path(r.path).name: str(r.card_id) for r in report.files}
    cards = {name: by_name[path.name] for name, path in files.items() if path is not None}
    accounts.add_user(services, "bench-clerk", "clerk", PASSWORD)
    synthetic = [v.card.id for _, v in zip(range(2000), services.catalog.iter_cards())]
    services.close()
    return data, cards, random.Random(3).sample(synthetic, 40), copy_s


def serve(data: str) -> int:
    """``--serve``: the API with the UI on a free port until SIGTERM; one log line per request."""
    import logging
    import threading

    from app.settings import load_settings
    from workers.api.app import create_app
    from workers.api.server import ApiServer
    from workers.web import mount

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stdout)
    settings = load_settings({"KARTOTEKA_DATA_DIR": data})
    app = create_app(settings)
    mount(app, settings)
    server = ApiServer(app, "127.0.0.1", 0)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    server.start()
    print(f"LISTENING {server.url}", flush=True)
    stop.wait()
    server.stop()
    return 0


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        from tests.processes import stop_process

        stop_process(self.proc)


def start_server(data: Path, log: Path) -> Server:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARTOTEKA_")}
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, __file__, "--serve", str(data)], env=env, stdout=out, stderr=out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return Server(proc, found.group(1), log)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the server did not start: " + log.read_text(errors="replace")[-2000:])


@contextlib.contextmanager
def signed_in(url: str) -> Iterator[httpx.Client]:
    """A client signed in through the login form, as a person's browser is."""
    with httpx.Client(base_url=url, timeout=120) as client:
        page = client.get("/ui/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token, page[:500]
        form = {"name": "bench-clerk", "password": PASSWORD, "csrf_token": token.group(1)}
        answer = client.post("/ui/login", data=form)
        assert answer.status_code == 303, answer.text[:500]
        yield client


# ----------------------------------------------------------------------------------------------
# Server time
# ----------------------------------------------------------------------------------------------


def timed_get(client: httpx.Client, path: str, **params: str) -> tuple[float, int]:
    t = time.perf_counter()
    answer = client.get(path, params=params)
    elapsed = (time.perf_counter() - t) * 1000
    assert answer.status_code == 200, (path, params, answer.status_code, answer.text[:300])
    return elapsed, len(answer.content)


def server_phase(server: Server, cards: dict[str, str], synthetic: list[str], queries: list[str], runs: int) -> dict[str, Any]:
    res: dict[str, Any] = {}
    with signed_in(server.url) as client:
        progress(f"server: warm-up over {len(set(queries))} distinct queries and the cards")
        for q in sorted(set(queries)):
            timed_get(client, "/ui/search", q=q)
            timed_get(client, "/api/v1/search", q=q, facets="true", per_page="20")
        for card in cards.values():
            timed_get(client, f"/ui/cards/{card}", q=CARD_QUERY)
        progress(f"server: {len(queries)} search pages and API searches, interleaved")
        time.sleep(0.5)
        offset = server.log.stat().st_size
        page, api, sizes = [], [], []
        for q in queries:
            ms, size = timed_get(client, "/ui/search", q=q)
            page.append(ms)
            sizes.append(size)
            api.append(timed_get(client, "/api/v1/search", q=q, facets="true", per_page="20")[0])
        res["search"] = {"client": page, "api_client": api, "html_bytes": sizes,
                         "server": server_durations(server.log, offset, "/ui/search", len(queries)),
                         "api_server": server_durations(server.log, offset, "/api/v1/search", len(queries))}  # fmt: skip
        res["cards"] = {name: card_times(server, client, card, runs * 3) for name, card in cards.items()}
        res["synthetic"] = synthetic_times(server, client, synthetic)
    return res


def card_times(server: Server, client: httpx.Client, card: str, runs: int) -> dict[str, Any]:
    progress(f"server: card page {card} {runs} times")
    time.sleep(0.5)
    offset = server.log.stat().st_size
    got = [timed_get(client, f"/ui/cards/{card}", q=CARD_QUERY) for _ in range(runs)]
    return {"client": [ms for ms, _ in got], "server": server_durations(server.log, offset, f"/ui/cards/{card}", runs),
            "bytes": got[0][1]}  # fmt: skip


def synthetic_times(server: Server, client: httpx.Client, synthetic: list[str]) -> dict[str, Any]:
    progress(f"server: {len(synthetic)} synthetic cards once each")
    time.sleep(0.5)
    offset = server.log.stat().st_size
    got = [timed_get(client, f"/ui/cards/{c}", q=CARD_QUERY)[0] for c in synthetic]
    time.sleep(0.5)
    text = server.log.read_bytes()[offset:].decode("utf-8", errors="replace")
    handler = [float(m.group(3)) for m in re.finditer(r"GET (/ui/cards/\S+) (\d{3}) ([\d.]+) ms", text)]
    return {"client": got, "server": handler[-len(synthetic):]}


# ----------------------------------------------------------------------------------------------
# Browser time and weight
# ----------------------------------------------------------------------------------------------

TIMING_JS = """async () => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = name => (performance.getEntriesByName(name)[0] || {}).startTime ?? null;
  const lcp = await new Promise(done => {
    new PerformanceObserver(list => { const e = list.getEntries(); done(e[e.length - 1].startTime); })
      .observe({type: 'largest-contentful-paint', buffered: true});
    setTimeout(() => done(null), 1500);
  });
  return {ttfb: nav.responseStart - nav.startTime, dcl: nav.domContentLoadedEventEnd - nav.startTime,
          load: nav.loadEventEnd - nav.startTime, fcp: paint('first-contentful-paint'), lcp: lcp,
          html: nav.encodedBodySize};
}"""

WEIGHT_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const out = {html: [nav.encodedBodySize, nav.transferSize, 1]};
  for (const r of performance.getEntriesByType('resource')) {
    const kind = r.initiatorType === 'img' ? 'image' : (r.name.includes('.css') ? 'css' : (r.name.includes('.js') ? 'js' : r.initiatorType));
    const row = out[kind] || [0, 0, 0];
    out[kind] = [row[0] + r.encodedBodySize, row[1] + r.transferSize, row[2] + 1];
  }
  return out;
}"""


def wait_until(page: Any, js: str, timeout: float = 30.0) -> None:
    """Poll ``js`` (an expression) until true; not ``wait_for_function``, whose polling evaluates
    strings, which the UI's Content-Security-Policy forbids."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(js):
        if time.monotonic() > deadline:
            raise TimeoutError(js)
        time.sleep(0.02)


def visit(browser: Any, url: str, path: str, cookies: list[dict[str, Any]]) -> dict[str, float]:
    """One visit in a fresh context (empty HTTP cache), signed in: its timings."""
    context = browser.new_context(base_url=url, viewport=VIEWPORT)
    context.add_cookies(cookies)
    page = context.new_page()
    page.goto(path, wait_until="load")
    wait_until(page, "performance.getEntriesByName('first-contentful-paint').length > 0")
    timing: dict[str, float] = page.evaluate(TIMING_JS)
    context.close()
    return timing


def weight(browser: Any, url: str, path: str, cookies: list[dict[str, Any]]) -> dict[str, Any]:
    """The card page's bytes as first loaded, then with every page image loaded."""
    context = browser.new_context(base_url=url, viewport=VIEWPORT)
    context.add_cookies(cookies)
    page = context.new_page()
    page.goto(path, wait_until="load")
    first = page.evaluate(WEIGHT_JS)
    for n in range(1, PAGES + 1):
        page.locator(f"#page-{n}").scroll_into_view_if_needed()
        wait_until(page, f"document.querySelector('#page-{n} img').complete")
    page.wait_for_load_state("networkidle")
    shown = page.evaluate("[...document.querySelectorAll('.page img')].filter(i => i.naturalWidth > 0).length")
    every = page.evaluate(WEIGHT_JS)
    context.close()
    return {"first": first, "all": every, "images_shown": shown}


def browser_phase(server: Server, data: Path, cards: dict[str, str], queries: list[str], runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    res: dict[str, Any] = {"cards": {}}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        with signed_in(server.url) as client:
            cookies = [{"name": k, "value": v, "url": server.url} for k, v in client.cookies.items()]
        progress(f"browser: {runs} search pages")
        res["search"] = [visit(browser, server.url, f"/ui/search?q={q}", cookies) for q in queries[:runs]]
        for name, card in cards.items():
            progress(f"browser: the card page of {name}, {runs} times cold and warm, and its weight")
            path = f"/ui/cards/{card}?q={CARD_QUERY}"
            cold, warm = [], []
            for _ in range(runs):
                shutil.rmtree(data / "cache" / "pages", ignore_errors=True)
                cold.append(visit(browser, server.url, path, cookies))
                warm.append(visit(browser, server.url, path, cookies))
            res["cards"][name] = {"cold": cold, "warm": warm, "weight": weight(browser, server.url, path, cookies)}
        browser.close()
    return res


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def row(label: str, values: list[float]) -> str:
    if not values:
        return f"| {label} | 0 | – | – | – |"
    return f"| {label} | {len(values)} | {f1(pct(values, 50))} | {f1(pct(values, 95))} | {f1(statistics.fmean(values))} |"


def browser_rows(label: str, visits: list[dict[str, float]]) -> list[str]:
    out = []
    for key, name in (("ttfb", "first byte"), ("fcp", "**first contentful paint**"), ("dcl", "DOMContentLoaded"),
                      ("lcp", "largest contentful paint"), ("load", "load")):  # fmt: skip
        values = [v[key] for v in visits if v.get(key) is not None]
        out.append(row(f"{label}: {name}", values))
    return out


def weight_rows(weights: dict[str, Any]) -> list[str]:
    out = ["| what | as first loaded: files | bytes | after scrolling through the 10 pages: files | bytes |", "|---|---|---|---|---|"]
    kinds = sorted(set(weights["first"]) | set(weights["all"]), key=lambda k: ("html", "css", "js", "image").index(k) if k in ("html", "css", "js", "image") else 9)
    totals = [0, 0, 0, 0]
    for kind in kinds:
        a, b = weights["first"].get(kind, [0, 0, 0]), weights["all"].get(kind, [0, 0, 0])
        out.append(f"| {kind} | {a[2]} | {a[0]:,} | {b[2]} | {b[0]:,} |")
        totals = [totals[0] + a[2], totals[1] + a[0], totals[2] + b[2], totals[3] + b[0]]
    out.append(f"| **total** | {totals[0]} | **{totals[1]:,}** | {totals[2]} | **{totals[3]:,}** |")
    return out


def header(run: dict[str, Any], args: argparse.Namespace) -> list[str]:
    head, dirty = run["code"]
    facts = run["facts"]
    return [
        "# Web UI benchmark: time to first render and the card page's weight", "",
        "```sh", f"  .venv/bin/python bench/web_bench.py --n {args.n} --queries {args.queries} --runs {args.runs}", "```", "",
        f"* date: {run['date']}; code: commit {head}" + (f" + uncommitted changes in {len(dirty)} files of app/, archive/, search/, workers/" if dirty else ""),
        f"* machine: {machine()}; load average at the start {run['load_start']}, at the end {run['load_end']}",
        f"* {versions()}; Chromium: {run['chromium']}",
        f"* archive: {facts['cards']:,} synthetic cards of bench/api_bench.py ({'cached' if facts.get('cached') else 'built now'}), copied in {run['copy_s']:.0f} s, "
        f"plus cards of {PAGES} pages registered through the pipeline on the scripted engine: *text pages* (pages that show their text, tests/web/textpages.py) "
        f"and *scans* (the first {PAGES} flatbed scans of the developer samples, {SAMPLES.relative_to(SAMPLES.parents[2])}, colour JPEG at 300 dpi)",
        f"* wall time of the run: {(time.perf_counter() - run['t0']) / 60:.1f} min", "",
    ]  # fmt: skip


def server_section(s: dict[str, Any]) -> list[str]:
    lines = [
        "## Server time (ms), one signed-in client", "",
        "The search page is `/ui/search?q=…` over search_bench's query mix (20 hits, highlights, facets); the API line is "
        "`/api/v1/search?q=…&facets=true&per_page=20` for the same query, interleaved: the difference is what the page adds "
        "(the session, the kinds, the template). Card pages are asked with `?q=" + CARD_QUERY + "` (words marked on text and images). "
        "*handler*: the server's request log.", "",
        "| request | n | p50 | p95 | mean |", "|---|---|---|---|---|",
        row("search page, handler", s["search"]["server"]), row("search page, client round trip", s["search"]["client"]),
        row("API search, handler", s["search"]["api_server"]), row("API search, client round trip", s["search"]["api_client"]),
    ]  # fmt: skip
    for name, got in s["cards"].items():
        lines += [row(f"card page, {PAGES} {name}, handler", got["server"]), row(f"card page, {PAGES} {name}, client round trip", got["client"])]
    lines += [row("card page of a synthetic card (1-3 pages, no hOCR), handler", s["synthetic"]["server"]),
              row("card page of a synthetic card, client round trip", s["synthetic"]["client"]), "",
              f"HTML: search page median {statistics.median(s['search']['html_bytes']):,.0f} bytes; card pages "
              + ", ".join(f"{name} {got['bytes']:,} bytes" for name, got in s["cards"].items()) + ".", ""]  # fmt: skip
    return lines


def browser_section(b: dict[str, Any]) -> list[str]:
    lines = [
        "## Browser time (ms), Chromium's performance timing", "",
        "A fresh context per visit (no HTTP cache), signed in, 1280×800. *cold*: the server renders the page images for "
        "this visit (its image cache emptied first); *warm*: rendered before, read from the cache. The first contentful "
        "paint is the page's first render; the largest is the first page image (or the text beside it).", "",
        "| page: timing | n | p50 | p95 | mean |", "|---|---|---|---|---|", *browser_rows("search page", b["search"]),
    ]  # fmt: skip
    for name, got in b["cards"].items():
        lines += [*browser_rows(f"card page ({name}), cold", got["cold"]), *browser_rows(f"card page ({name}), warm", got["warm"])]
    for name, got in b["cards"].items():
        lines += ["", f"## The card page's weight, {PAGES} page images: {name} (bytes of bodies as sent)", "",
                  *weight_rows(got["weight"]), "", f"Page images shown after scrolling: {got['weight']['images_shown']} of {PAGES}."]
    lines += ["", "Page images are WebP at 800 px wide (the `srcset` offers 1600 px to screens that need it), the first eager, the rest lazy."]
    return lines


def report(run: dict[str, Any], args: argparse.Namespace) -> list[str]:
    return [*header(run, args), *server_section(run["server"]), *browser_section(run["browser"])]


def main() -> int:
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        return serve(sys.argv[2])
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--n", type=int, default=100_000, help="synthetic cards in the archive (default 100000)")
    ap.add_argument("--queries", type=int, default=100, help="search pages in the server's mix (default 100)")
    ap.add_argument("--runs", type=int, default=10, help="browser visits per page (default 10)")
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"where archives are kept (default {DEFAULT_CACHE})")
    ap.add_argument("--rebuild", action="store_true", help="build the archive again even if cached")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    from bench.report import publish
    from bench.search_bench import Generator, query_mix

    run: dict[str, Any] = {"t0": time.perf_counter(), "code": code_state(), "date": dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                           "load_start": ", ".join(f"{x:.2f}" for x in os.getloadavg())}  # fmt: skip
    args.cache.mkdir(parents=True, exist_ok=True)
    data0, run["facts"] = archive(args.cache, args.n, args.rebuild)
    queries = [q for _, q in query_mix(Generator().orgs, args.queries)]
    run["chromium"] = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="kt-web-bench-") as tmp:
        work = Path(tmp)
        progress("copying the archive and registering the 10-page cards")
        data, cards, synthetic, run["copy_s"] = prepare(data0, work)
        server = start_server(data, work / "server.log")
        try:
            run["server"] = server_phase(server, cards, synthetic, queries, args.runs)
            run["browser"] = browser_phase(server, data, cards, queries, args.runs)
        finally:
            server.stop()
    run["load_end"] = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    publish(report(run, args), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
