"""Indexing cost of two commits, A/B in alternating child processes on the same cards.

    git worktree add --detach /tmp/kt-a d0f65e3
    git worktree add --detach /tmp/kt-b HEAD
    .venv/bin/python bench/index_ab.py /tmp/kt-a /tmp/kt-b --n 20000 --rounds 3

Each round runs A then B (then B then A next round, so drift in the machine's load falls on
both), each a fresh process importing ``search`` from its tree and the card generator of
``bench/search_bench.py`` from this one: the cold analysis of ``--n`` cards (``card_document``:
the first pass pays the Russian dictionary for every new word), the same again warm (cached
lemmas), and the writes of those documents into a new embedded index. Prints per-round seconds
and the medians with B/A ratios. ``bench/search_bench.py --code`` measures the whole bench at
100,000 cards; at that size one run takes minutes, and on this shared machine the load drifts
between runs more than the change being measured.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

CHILD = """
import json, sys, tempfile, time
sys.path.insert(0, {tree!r})
sys.path.insert(1, {here!r})
from pathlib import Path
from bench.search_bench import Generator, TZ
from search.document import card_document
from search.tantivy_index import TantivyIndex
views = list(Generator().cards({n}))
t = time.perf_counter(); docs = [card_document(v, TZ) for v in views]; cold = time.perf_counter() - t
t = time.perf_counter(); [card_document(v, TZ) for v in views]; warm = time.perf_counter() - t
index = TantivyIndex(Path(tempfile.mkdtemp()) / "index")
t = time.perf_counter()
for i in range(0, len(docs), 1000):
    index.upsert(docs[i:i + 1000])
index.commit()
write = time.perf_counter() - t
print(json.dumps({{"cold": cold, "warm": warm, "write": write}}))
"""


def measure(tree: Path, n: int) -> dict[str, float]:
    """One child process on ``tree``: seconds of cold analysis, warm analysis and writes."""
    code = CHILD.format(tree=str(tree), here=str(HERE), n=n)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=tree)
    found: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("a", type=Path, help="the tree of the reference commit")
    parser.add_argument("b", type=Path, help="the tree of the commit measured against it")
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    runs: dict[str, list[dict[str, float]]] = {"a": [], "b": []}
    for r in range(args.rounds):
        order = ("a", "b") if r % 2 == 0 else ("b", "a")
        for label in order:
            runs[label].append(measure(getattr(args, label), args.n))
            print(f"round {r + 1} {label}: " + ", ".join(f"{k} {v:.2f} s" for k, v in runs[label][-1].items()))
    print(f"\n{args.n:,} cards, median of {args.rounds} rounds (B/A):")
    for key in ("cold", "warm", "write"):
        a = statistics.median(x[key] for x in runs["a"])
        b = statistics.median(x[key] for x in runs["b"])
        print(f"  {key:5} A {a:.2f} s  B {b:.2f} s  {b / a:.3f}")
    total_a = statistics.median(x["cold"] + x["write"] for x in runs["a"])
    total_b = statistics.median(x["cold"] + x["write"] for x in runs["b"])
    print(f"  indexing (cold analysis + writes) A {total_a:.2f} s  B {total_b:.2f} s  {total_b / total_a:.3f}")


if __name__ == "__main__":
    main()
