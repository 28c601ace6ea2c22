"""Relevance benchmark: inflected queries over recognised real scans, on both search backends.

    git worktree add --detach /tmp/kt-before d0f65e3     # the commit before the lemma work
    .venv/bin/python bench/relevance_bench.py --before /tmp/kt-before [--samples ../shared/samples/class/phone-scan]
        [--elastic-url http://127.0.0.1:9200] [--cards drafted|text] [--scenario fresh|fed|edited]
        [--detail "edited, drafted"] [--out bench/results/relevance.md]

Documents: every image under ``--samples``/<kind>/ (PHONE-SCAN: 11 kinds of Russian office
documents, one paper document per kind, a flatbed scan ``0_1_*`` and several phone photos),
recognised once with the project's engine (``ocr.run``, default settings, ``rus+eng``) and the
text cached outside the repository (``~/.cache/kartoteka-bench/relevance-ocr``, by the image's
checksum and that of the code under ``ocr/``).
The set has no licence: neither images nor recognised text go into the repository; the report
holds per-query figures only.

Each image becomes one card registered in a SQLite catalog: ``--cards drafted`` as the service
drafts it (the rules classifier's title, correspondent, number, date and fields; the kind judged
is the true one), ``--cards text`` with only a neutral title («Скан N»), so only the recognised
text can match. The cards go to each backend (tantivy in a temporary directory, Elasticsearch in
an index ``kt-relbench-*``, dropped after) as ``--scenario``:
  fresh       one ``search.feed.reindex`` per backend (one pass, documents in catalog order)
  fed         the outbox feed (``apply_outbox``) 8 cards a commit, as a running service applies it
  edited      fed, then every third card written again, 8 a commit (a clerk verifying cards):
              several segments, merged when each backend decides, and deleted documents
The code measured is the tree given by ``--repo`` (default: this one); ``--before`` also measures
another tree (a git worktree of an older commit). Each (tree, cards, scenario) runs in a child
process whose ``PYTHONPATH`` is that tree, on the same recognised text, in one run.

Measured per query and backend (``run_search``, relevance order, 10 hits):
  P@5         hits among the first five whose kind is the query's kind, / 5
  agree@5     |top-5 tantivy ∩ top-5 Elasticsearch| / the larger top 5 (set overlap; 1 if both empty)
  same top-5 / top-10 order
              the share of queries whose first 5 / 10 card ids are the same in the same order
  P@5 ceiling min(5, relevant cards the query finds at all) / 5: what ranking alone could reach
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent.parent
DEFAULT_SAMPLES = HERE.parent / "shared" / "samples" / "class" / "phone-scan"
DEFAULT_OUT = HERE / "bench" / "results" / "relevance.md"
CACHE = Path.home() / ".cache" / "kartoteka-bench" / "relevance-ocr"
LANGS = "rus+eng"


def _use_repo(repo: Path) -> None:
    """Import kartoteka's packages from ``repo`` (this tree, or a worktree of another commit)."""
    if str(repo) not in sys.path:
        sys.path.insert(0, str(repo))


def ocr_texts(samples: Path) -> list[tuple[str, str, str]]:
    """(kind, file name, text) of every image under samples/<kind>/, recognised once (cached by
    the image and the code under ``ocr/``)."""
    from bench.sample_text import labelled_texts

    engine_code = hashlib.sha256(b"".join(f.read_bytes() for f in sorted((HERE / "ocr").glob("*.py")))).hexdigest()[:12]
    return labelled_texts(samples, CACHE, code_key=engine_code, verbose=True)

# (query, the kind whose documents are relevant, category). Inflected forms of what a clerk
# types; function words kept; typos as typed (and with ``~`` where the tree has fuzzy words).
QUERIES: tuple[tuple[str, str, str], ...] = (
    ("уставом общества", "articles_of_association", "inflected"),
    ("уставе общества с ограниченной ответственностью", "articles_of_association", "function words"),
    ("договором аренды квартиры", "lease_contract", "inflected"),
    ("наймодателем", "lease_contract", "inflected"),
    ("заявлением об отпуске", "leave_application", "function words"),
    ("ежегодного оплачиваемого отпуска", "leave_application", "inflected"),
    ("счёта на оплату", "payment_invoice", "function words"),
    ("оплатой счёта поставщика", "payment_invoice", "inflected"),
    ("доверенностью", "power_of_attorney", "inflected"),
    ("доверенности на получение товара", "power_of_attorney", "function words"),
    ("актами приёмки", "acceptance_act", "inflected"),
    ("актом приёма-передачи автомобиля", "acceptance_act", "inflected"),
    ("товарной накладной", "waybill_torg12", "inflected"),
    ("грузополучателями", "waybill_torg12", "inflected"),
    ("договором купли-продажи", "sales_contract", "inflected"),
    ("продавцом автомобиля", "sales_contract", "inflected"),
    ("авансовым отчётом", "advance_report", "inflected"),
    ("подотчётного лица", "advance_report", "inflected"),
    ("справкой о доходах", "income_certificate_2ndfl", "function words"),
    ("налоговым агентом", "income_certificate_2ndfl", "inflected"),
    ("универсальным передаточным документом", "universal_transfer_document_upd", "inflected"),
    ("счетами-фактурами", "universal_transfer_document_upd", "inflected"),
    ("довереность", "power_of_attorney", "typo"),
    ("товарнй накладной", "waybill_torg12", "typo"),
    ("даговором аренды", "lease_contract", "typo"),
    ("заявленим об отпуске", "leave_application", "typo"),
)
FUZZY = "~"
ES_PREFIX = "kt-relbench-"
SCENARIOS = ("fresh", "fed", "edited")
DEFAULT_SCENARIOS = ("fresh", "edited")
CARDS = ("drafted", "text")
#: Cards per outbox batch (and per commit) in the "fed" scenario.
FEED_BATCH = 8


def has_fuzzy() -> bool:
    """True if the tree imported has fuzzy words (``word~``): a Fuzzy clause in search.query."""
    import search.query as q

    return hasattr(q, "Fuzzy")


def query_list(fuzzy: bool) -> list[tuple[str, str, str]]:
    """The fixed queries; with fuzzy words, each typo query also with ``~`` on every word."""
    out = list(QUERIES)
    if fuzzy:
        out += [(" ".join(w + FUZZY for w in q.split()), k, "typo~") for q, k, c in QUERIES if c == "typo"]
    return out


def _draft(kind: str, digest: str, n: int, text: str, classifier: Any) -> Any:
    """The card of one recognised image: ``text`` cards carry only a neutral title («Скан N»), so
    only the page can match; ``drafted`` ones what the service drafts from the classification
    (its title, correspondent, number, date and fields; the kind judged stays the true one)."""
    from archive.model import CardDraft, PageDraft

    pages = [PageDraft(1, text, 0.9)]
    if classifier is None:
        return CardDraft(journal="ВХ", kind=kind, source_sha256=digest, title=f"Скан {n}", pages=pages)
    from archive.drafting import card_fields

    cls = classifier.classify([text], "unknown")
    return CardDraft(
        journal="ВХ", kind=kind, source_sha256=digest, title=cls.title or f"Скан {n}", correspondent=cls.correspondent,
        doc_number=cls.doc_number, doc_date=cls.doc_date, fields=card_fields(cls.fields), pages=pages,
    )


def build_catalog(texts: list[tuple[str, str, str]], root: Path, cards: str = "text") -> Any:
    """A SQLite catalog with one card per recognised image; returns (catalog, {card id: kind})."""
    from datetime import datetime, timezone
    from zoneinfo import ZoneInfo

    from archive.catalog import Catalog
    from archive.db import make_engine, upgrade
    from tests.archive.helpers import TickingClock

    engine = make_engine(f"sqlite:///{root / 'catalog.db'}")
    upgrade(engine)
    clock = TickingClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    catalog = Catalog(engine, clock=clock, tz=ZoneInfo("Asia/Almaty"))
    batch = catalog.open_batch("/srv/inbox", "relevance-bench")
    classifier = None
    if cards == "drafted":
        from classify.classifier import Classifier
        from classify.config import ClassifyConfig

        (root / "models").mkdir()
        classifier = Classifier(ClassifyConfig(), root / "models")
    kinds: dict[str, str] = {}
    for n, (kind, name, text) in enumerate(texts, 1):
        digest = hashlib.sha256(f"{kind}/{name}".encode()).hexdigest()
        row = catalog.record_input(batch, f"/srv/inbox/{n}.jpg", f"{n}.jpg", digest, 10)
        kinds[catalog.register_card(row.id, _draft(kind, digest, n, text, classifier)).id] = kind
    return catalog, kinds


class _Both:
    """Writes to both indexes at once: the outbox feed marks a row done only once."""

    def __init__(self, indexes: list[Any]) -> None:
        self.indexes = indexes

    def upsert(self, docs: Any) -> None:
        for index in self.indexes:
            index.upsert(docs)

    def delete(self, ids: Any) -> None:
        for index in self.indexes:
            index.delete(ids)

    def commit(self) -> None:
        for index in self.indexes:
            index.commit()


def fill(catalog: Any, backends: dict[str, Any], scenario: str) -> None:
    """``fresh``: one full reindex per backend. ``fed``: the outbox feed as a running service
    applies it, a few cards a commit (as scans arrive), so several segments. ``edited``: fed,
    then every third card written again in small batches (a clerk verifying it), which also
    leaves deleted documents."""
    from zoneinfo import ZoneInfo

    from search.document import card_document
    from search.feed import apply_outbox, reindex

    tz = ZoneInfo("Asia/Almaty")
    if scenario == "fresh":
        for index in backends.values():
            reindex(catalog, index, tz)
        return
    both = _Both(list(backends.values()))
    while apply_outbox(catalog, both, tz, batch=FEED_BATCH):  # type: ignore[arg-type]
        pass
    if scenario == "fed":
        return
    ids = sorted(next(iter(backends.values())).card_ids())[::3]
    for start in range(0, len(ids), FEED_BATCH):
        docs = [card_document(catalog.get_card(i), tz) for i in ids[start:start + FEED_BATCH]]
        both.upsert(docs)
        both.commit()


def measure(texts: list[tuple[str, str, str]], elastic_url: str, scenario: str, cards: str) -> dict[str, Any]:
    """Index the texts as cards on both backends of the imported tree; every query's top 10."""
    from search.elastic_index import ElasticIndex
    from search.service import run_search
    from search.tantivy_index import TantivyIndex

    with tempfile.TemporaryDirectory(prefix="kt-relbench-") as tmp:
        catalog, kinds = build_catalog(texts, Path(tmp), cards)
        name = f"{ES_PREFIX}{os.getpid()}-{scenario}-{int(time.time())}"
        backends: dict[str, Any] = {
            "tantivy": TantivyIndex(Path(tmp) / "index"), "elastic": ElasticIndex(f"{elastic_url.rstrip('/')}/{name}")
        }
        try:
            fill(catalog, backends, scenario)
            fuzzy = has_fuzzy()
            rows = []
            for query, kind, category in query_list(fuzzy):
                row: dict[str, Any] = {"query": query, "kind": kind, "category": category}
                every = run_search(backends["tantivy"], query, limit=100).hits
                row["reachable"] = sum(1 for h in every if kinds[h["card"]] == kind)
                for label, index in backends.items():
                    hits = run_search(index, query, limit=10).hits
                    row[label] = [(h["card"], kinds[h["card"]], float(h["score"])) for h in hits]
                    row[label + "_raw"] = raw_scores(index, query)
                rows.append(row)
        finally:
            elastic = backends["elastic"]
            assert isinstance(elastic, ElasticIndex)
            elastic.client.indices.delete(index=elastic.name, ignore_unavailable=True)
            for index in backends.values():
                index.close()
    return {"fuzzy": fuzzy, "documents": len(texts), "rows": rows}


def raw_scores(index: Any, query: str) -> dict[str, float]:
    """Card id → unrounded score of the top 10 (``run_search`` rounds to 4 decimals)."""
    from search.backend import SearchRequest
    from search.query import parse_query

    try:
        found = index.search(SearchRequest(parse_query(query), limit=10))
    except TypeError:  # another tree's request signature: the rounded scores will do
        return {}
    return {h.card_id: float(h.score) for h in found.hits}


# -- figures -------------------------------------------------------------------------------


def precision_at_5(hits: list[list[Any]], kind: str) -> float:
    return sum(1 for h in hits[:5] if h[1] == kind) / 5


def agreement_at_5(a: list[list[Any]], b: list[list[Any]]) -> float:
    """|top-5 of a ∩ top-5 of b| / the larger of the two (1.0 when both found nothing)."""
    top_a, top_b = {h[0] for h in a[:5]}, {h[0] for h in b[:5]}
    return len(top_a & top_b) / max(len(top_a), len(top_b)) if (top_a or top_b) else 1.0


def ties(scores: list[float]) -> int:
    """Neighbours in the ranked list whose scores are equal (to 1e-6 relative)."""
    return sum(1 for x, y in zip(scores, scores[1:]) if abs(x - y) <= 1e-6 * max(abs(x), 1e-9))


def score_gap(row: dict[str, Any]) -> float:
    """Largest relative difference between the two backends' scores of one card (cards in both
    top-10s; unrounded scores where the tree gives them)."""
    a = row.get("tantivy_raw") or {h[0]: h[2] for h in row["tantivy"]}
    b = row.get("elastic_raw") or {h[0]: h[2] for h in row["elastic"]}
    both = set(a) & set(b)
    return max((abs(a[c] - b[c]) / max(a[c], b[c], 1e-9) for c in both), default=0.0)


def figures(row: dict[str, Any]) -> dict[str, Any]:
    t, e = row["tantivy"], row["elastic"]
    return {
        "p5_tantivy": precision_at_5(t, row["kind"]),
        "p5_elastic": precision_at_5(e, row["kind"]),
        "agree5": agreement_at_5(t, e),
        "same5": [h[0] for h in t[:5]] == [h[0] for h in e[:5]],
        "same10": [h[0] for h in t] == [h[0] for h in e],
        "hits": (len(t), len(e)),
        "ties": (ties(_scores(row, "tantivy")), ties(_scores(row, "elastic"))),
        "gap": score_gap(row),
    }


def _scores(row: dict[str, Any], backend: str) -> list[float]:
    raw = row.get(backend + "_raw") or {}
    return [float(raw.get(h[0], h[2])) for h in row[backend]]


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else float("nan")


def summary_rows(runs: dict[str, dict[str, Any]]) -> list[str]:
    """Means per category and over all queries, per tree, with the targets."""
    out = ["| run | queries | category | P@5 tantivy | P@5 Elasticsearch | P@5 ceiling | agree@5 | same top-5 order "
           "| same top-10 order | ties in top-10 (t/e) |", "|---|---|---|---|---|---|---|---|---|---|"]
    for label, run in runs.items():
        figs = [(r["category"], {**figures(r), "ceiling": min(5, r.get("reachable", 5)) / 5}) for r in run["rows"]]
        for category in [*dict.fromkeys(c for c, _ in figs), "all"]:
            chosen = [f for c, f in figs if category in ("all", c)]
            out.append(
                f"| {label} | {len(chosen)} | {category} | {mean([f['p5_tantivy'] for f in chosen]):.3f} "
                f"| {mean([f['p5_elastic'] for f in chosen]):.3f} | {mean([f['ceiling'] for f in chosen]):.3f} "
                f"| {mean([f['agree5'] for f in chosen]):.3f} | {mean([float(f['same5']) for f in chosen]):.3f} "
                f"| {sum(f['same10'] for f in chosen)}/{len(chosen)} "
                f"| {sum(f['ties'][0] for f in chosen)}/{sum(f['ties'][1] for f in chosen)} |"
            )
    return out


def query_rows(runs: dict[str, dict[str, Any]]) -> list[str]:
    """One line per query: P@5 on each backend and the agreement, for every tree measured."""
    labels = list(runs)
    head = "| query | kind | category | " + " | ".join(
        f"P@5 t {x} | P@5 e {x} | relevant found {x} | agree@5 {x} | same order {x} | max score gap {x}" for x in labels) + " |"
    out = [head, "|" + "---|" * (3 + 6 * len(labels))]
    by_query = [{r["query"]: r for r in runs[x]["rows"]} for x in labels]
    for query in dict.fromkeys(q for rows in by_query for q in rows):
        first = next(rows[query] for rows in by_query if query in rows)
        cells = [f"«{query}»", first["kind"], first["category"]]
        for rows in by_query:
            if query not in rows:
                cells += ["—"] * 6
                continue
            f = figures(rows[query])
            cells += [f"{f['p5_tantivy']:.1f}", f"{f['p5_elastic']:.1f}", str(rows[query].get("reachable", "?")),
                      f"{f['agree5']:.1f}", "yes" if f["same10"] else "**no**", f"{f['gap']:.1e}"]
        out.append("| " + " | ".join(cells) + " |")
    return out


def target_lines(run: dict[str, Any]) -> list[str]:
    figs = [figures(r) for r in run["rows"]]
    p_t, p_e = mean([f["p5_tantivy"] for f in figs]), mean([f["p5_elastic"] for f in figs])
    agree = mean([f["agree5"] for f in figs])
    same5 = mean([float(f["same5"]) for f in figs])

    def verdict(ok: bool) -> str:
        return "PASS" if ok else "FAIL"

    return [
        f"* precision@5 ≥ 0.95: tantivy {p_t:.3f} {verdict(p_t >= 0.95)}, Elasticsearch {p_e:.3f} {verdict(p_e >= 0.95)}",
        f"* top-5 agreement ≥ 0.95: overlap {agree:.3f} {verdict(agree >= 0.95)}, identical order "
        f"{same5:.3f} {verdict(same5 >= 0.95)}",
        f"* same top-10 order (ids, ties included): {sum(f['same10'] for f in figs)}/{len(figs)} queries",
    ]


# -- running -------------------------------------------------------------------------------


def tree_state(repo: Path, folder: str = "search") -> str:
    """The commit of ``repo`` and, if any, the files under ``folder`` changed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=False).stdout

    commit = git("rev-parse", "--short", "HEAD").strip()
    changed = [line[3:] for line in git("status", "--short", "--", folder).splitlines()]
    return f"`{commit}`" + (f" + uncommitted changes in {', '.join(changed)}" if changed else "")


def run_tree(repo: Path, texts_file: Path, elastic_url: str, scenario: str, cards: str) -> dict[str, Any]:
    """Measure the code of ``repo`` in a child process that imports kartoteka from there."""
    env = {**os.environ, "PYTHONPATH": str(repo)}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--measure", str(texts_file), "--repo", str(repo),
           "--elastic-url", elastic_url, "--scenario", scenario, "--cards", cards]
    done = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"measuring {repo} failed:\n{done.stderr[-3000:]}")
    found: dict[str, Any] = json.loads(done.stdout)
    found["state"] = tree_state(repo)
    return found


def report(runs: dict[str, dict[str, Any]], args: argparse.Namespace, texts: list[tuple[str, str, str]], seconds: float) -> str:
    kinds = sorted({k for k, _, _ in texts})
    lines = [
        "# Relevance: inflected queries over recognised real scans, tantivy and Elasticsearch",
        "",
        f"`.venv/bin/python bench/relevance_bench.py {' '.join(sys.argv[1:])}`".replace("  ", " "),
        "",
        f"{dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC, {seconds:.0f} s. Documents: {len(texts)} images of "
        f"{len(kinds)} kinds under {args.samples.name}/ (recognised with `ocr.run` of {tree_state(HERE, 'ocr')}, `rus+eng`; "
        "text cached outside the repository), one card each, relevant = the cards of the query's kind "
        f"({min(sum(1 for k, _, _ in texts if k == x) for x in kinds)}-"
        f"{max(sum(1 for k, _, _ in texts if k == x) for x in kinds)} per kind).",
        "",
    ]
    for label, run in runs.items():
        lines.append(f"* **{label}**: {run['state']}; fuzzy words (`~`): {'yes' if run['fuzzy'] else 'no'}")
    lines += ["", "## Summary", "", *summary_rows(runs), ""]
    for label, run in runs.items():
        lines += [f"Targets, {label}:", "", *target_lines(run), ""]
    detail = {label: run for label, run in runs.items() if label.endswith(args.detail)} or runs
    lines += [f"## Per query ({', '.join(detail)})", "", "t = tantivy, e = Elasticsearch; relevant found: cards of "
              "the query's kind among all the query finds (tantivy); max score gap: the largest relative difference "
              "between the backends' scores of one card in both top-10s.", "", *query_rows(detail), ""]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--samples", type=Path, default=DEFAULT_SAMPLES)
    ap.add_argument("--elastic-url", default=os.environ.get("KARTOTEKA_TEST_ELASTIC_URL", "http://127.0.0.1:9200"))
    ap.add_argument("--repo", type=Path, default=HERE, help="the tree measured as 'after' (default: this one)")
    ap.add_argument("--before", type=Path, help="a worktree of the commit measured as 'before'")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--detail", default="edited, drafted", help="runs shown query by query (label ending)")
    ap.add_argument("--scenario", choices=SCENARIOS, action="append", help="fresh, fed, edited (default: fresh, edited)")
    ap.add_argument("--cards", choices=CARDS, action="append", help="drafted, text (default: both)")
    ap.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # child: recognised texts (JSON)
    args = ap.parse_args()
    if args.measure is not None:
        args.scenario = args.scenario[0]
        _use_repo(args.repo)
        texts = [tuple(t) for t in json.loads(args.measure.read_text(encoding="utf-8"))]
        print(json.dumps(measure(texts, args.elastic_url, args.scenario, args.cards[0]), ensure_ascii=False))
        return
    started = time.monotonic()
    _use_repo(HERE)
    texts = ocr_texts(args.samples)
    with tempfile.TemporaryDirectory(prefix="kt-relbench-texts-") as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(texts, ensure_ascii=False), encoding="utf-8")
        trees = ([("before", args.before.resolve())] if args.before is not None else []) + [("after", args.repo.resolve())]
        runs = {f"{label}, {scenario}, {cards}": run_tree(repo, texts_file, args.elastic_url, scenario, cards)
                for cards in args.cards or CARDS for label, repo in trees for scenario in args.scenario or DEFAULT_SCENARIOS}
    text = report(runs, args, texts, time.monotonic() - started)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
