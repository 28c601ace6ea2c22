"""A change-feed consumer as a downstream system would write one, run as its own process by
``test_feed_consumer.py`` (which SIGKILLs it at random moments and starts it again).

    python feed_consumer.py BASE_URL TOKEN STATE_FILE SEED [--until-caught-up]

It asks ``GET /api/v1/changes?after=CURSOR&limit=N`` (N random, 1..7) over and over. For each
page it "processes" the changes by appending a line ``cursor topic card`` to its output, then
stores the output and the page's ``next_cursor`` **together, in one atomic write** (a temporary
file, fsync, rename, fsync of the directory): the strict variant of "process, then store the
cursor", in which a kill at any point leaves either the state before the page or the state after
it, never the output of a page without its cursor. So the output must hold every change exactly
once, with no deduplication afterwards, and any repeated or missing line is the feed's fault.

Started again, it resumes from the stored cursor (``0`` when there is no state yet). With
``--until-caught-up`` it exits 0 at the first empty page; without, it polls until killed. Any
HTTP error ends it with a non-zero status and the answer on stderr. Standard library only, so it
starts in a few tens of milliseconds.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

#: The largest page asked for: small, so that a run is many pages and a kill finds one half done.
MAX_LIMIT = 7


def load(state: Path) -> dict[str, Any]:
    if not state.exists():
        return {"cursor": "0", "lines": []}
    return json.loads(state.read_text(encoding="utf-8"))


def store(state: Path, cursor: str, lines: list[str]) -> None:
    """The cursor and the output as one unit: all of it lands, or none of it."""
    tmp = state.with_name(state.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as f:
        json.dump({"cursor": cursor, "lines": lines}, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, state)
    fd = os.open(state.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fetch(base: str, token: str, cursor: str, limit: int) -> dict[str, Any]:
    request = urllib.request.Request(
        f"{base}/api/v1/changes?after={cursor}&limit={limit}", headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def main(argv: list[str]) -> int:
    base, token, state_path, seed = argv[:4]
    until_caught_up = "--until-caught-up" in argv[4:]
    rng = random.Random(seed)
    state = Path(state_path)
    stored = load(state)
    cursor, lines = stored["cursor"], stored["lines"]
    while True:
        page = fetch(base, token, cursor, rng.randint(1, MAX_LIMIT))
        if not page["changes"]:
            if until_caught_up:
                return 0
            time.sleep(0.02)
            continue
        for change in page["changes"]:
            lines.append(f"{change['cursor']} {change['topic']} {change['card'] or '-'}")
        cursor = page["next_cursor"]
        store(state, cursor, lines)
        time.sleep(rng.uniform(0, 0.01))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
