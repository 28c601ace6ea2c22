"""The change feed under a consumer that crashes (issue 10, "Must hold"): a consumer killed at
random points while cards are created and corrected, then resumed from its stored cursor, has
seen every change exactly once.

Real processes throughout: ``kartoteka serve`` (its own process) serves the archive over HTTP; a
writer thread in this process registers cards from scripted scans (``app.intake.ingest_paths``,
plus a file that is not a scan now and then: ``file.quarantined``), corrects some of them
(``app.review.correct``, sometimes a second time with the same values, which changes nothing
and must not appear in the feed) and deletes a few (``Catalog.delete_card``), on the same data
directory; the consumer (``feed_consumer.py``) is a separate Python process, SIGKILLed at random
moments and started again from its stored state, then run until it has caught up.

Exactly-once is checked strictly: the consumer stores its output and its cursor in one atomic
write per page (see ``feed_consumer.py``), so a kill can never leave a page's output without its
cursor, and no deduplication is done here. What it recorded must equal the archive's whole feed
(``app.changes.list_changes`` from the start, read in this process after the writer stopped),
line for line and in the same order: a change skipped, repeated or reordered by the feed (or lost
on resume) fails the test. The feed must also hold exactly what the writer did: one
``card.registered`` per card created, one ``card.changed`` per correction that changed the card,
one ``card.deleted`` per deletion, one ``file.quarantined`` per quarantined file.

The random choices (page sizes, kill moments, what the writer does) come from a seed printed in
every failure message; timing still varies from run to run.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from app.changes import list_changes
from app.intake import ingest_paths
from app.review import Correction, correct
from app.services import Services
from app.settings import load_settings
from ocr.fake import PageScript, ScriptedEngine
from tests import scripted as S
from tests.processes import EXE, clean_env

CONSUMER = Path(__file__).with_name("feed_consumer.py")
LISTENING = re.compile(r"HTTP API on (http://\S+?)/api/v1")
#: How long the writer writes while the consumer is being killed.
WRITE_SECONDS = 6.0
#: How long a consumer run lives before it is killed: from before its first request to many pages.
RUN_SECONDS = (0.05, 0.5)
#: The writer's rounds have scripts for this many scans each (a scan of an unknown key would
#: still be registered, with the engine's ``unknown`` text).
ROUNDS, PER_ROUND = 200, 3
NOT_A_SCAN = b"%PDF-1.4\nthis is not a PDF at all\n"


class Writer(threading.Thread):
    """Registers, corrects and deletes cards until stopped, and keeps count of what it did."""

    def __init__(self, services: Services, scans: Path, seed: int) -> None:
        super().__init__(name="feed-writer", daemon=True)
        self.services, self.scans, self.rng = services, scans, random.Random(seed)
        self.halt = threading.Event()
        self.rounds = 0
        self.created: list[str] = []
        self.deleted: list[str] = []
        self.quarantined = 0
        #: card -> corrections that changed it; and how many changed nothing (no event)
        self.changed: Counter[str] = Counter()
        self.unchanged = 0
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.halt.is_set():
                self.round()
        except BaseException as e:  # reported by the test
            self.error = e

    def round(self) -> None:
        n, rng = self.rounds, self.rng
        self.rounds += 1
        folder = self.scans / f"round-{n:03d}"
        folder.mkdir(parents=True)
        for i in range(rng.randint(1, PER_ROUND)):
            S.write_png(folder / f"doc-{n:03d}-{i}.png", f"doc-{n:03d}-{i}")
        if n % 4 == 1:
            (folder / "not-a-scan.pdf").write_bytes(NOT_A_SCAN)
        for row in ingest_paths(self.services, [folder]).files:
            if row.outcome == "archived" and row.card_id:
                self.created.append(row.card_id)
            elif row.outcome == "quarantined":
                self.quarantined += 1
            else:
                raise AssertionError(f"unexpected outcome of {row.path}: {row.outcome} ({row.reason})")
        alive = [c for c in self.created if c not in self.deleted]
        for card in rng.sample(alive, min(2, len(alive))):
            fix = Correction(fields={"number": f"{n}-{rng.randint(1, 10**6)}"}, title=f"Письмо, раунд {n}")
            for _ in range(2 if rng.random() < 0.3 else 1):  # the second time changes nothing
                self.correct(card, fix)
        if n in (2, 5, 9) and alive:
            card = rng.choice(alive)
            self.services.catalog.delete_card(card, "feed-writer", "scanned twice by mistake")
            self.deleted.append(card)

    def correct(self, card: str, fix: Correction) -> None:
        view = self.services.catalog.get_card(card)
        assert view is not None, card
        after = correct(self.services, card, fix, "feed-writer").card.version
        if after > view.card.version:
            self.changed[card] += 1
        else:
            self.unchanged += 1


def writer_services(data: Path) -> Services:
    texts = {f"doc-{n:03d}-{i}": f"Письмо № {n}-{i} о поставке товаров на склад номер {n}" for n in range(ROUNDS)
             for i in range(PER_ROUND)}  # fmt: skip
    engine = ScriptedEngine({k: PageScript(v) for k, v in texts.items()}, unknown=PageScript("unreadable scan"))
    settings = load_settings({"KARTOTEKA_DATA_DIR": str(data)})
    settings = settings.model_copy(update={"ocr": settings.ocr.model_copy(update={"dpi": S.DPI})})
    return Services(settings, engine_factory=lambda _s: engine)


def read_token(data: Path) -> str:
    made = subprocess.run(
        [str(EXE), "token", "create", "--name", "feed-consumer", "--scope", "read"],
        env=clean_env(data), capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


def wait_for_url(proc: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = LISTENING.search(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
        time.sleep(0.05)
    raise AssertionError("kartoteka serve did not start: " + log.read_text(encoding="utf-8", errors="replace"))


def stored_cursor(state: Path) -> str:
    return str(json.loads(state.read_text(encoding="utf-8"))["cursor"]) if state.exists() else "0"


def whole_feed(services: Services) -> list[str]:
    """Every change in the archive, oldest first, as the consumer writes its lines."""
    lines: list[str] = []
    cursor: str | None = None
    while True:
        page = list_changes(services, after=cursor, limit=1000)
        lines += [f"{c.cursor} {c.topic} {c.card or '-'}" for c in page.changes]
        if not page.changes:
            return lines
        cursor = page.next_cursor


def differences(got: list[str], want: list[str]) -> str:
    repeated = sorted((line for line, n in Counter(got).items() if n > 1), key=lambda s: int(s.split()[0]))
    missing = sorted(set(want) - set(got), key=lambda s: int(s.split()[0]))
    extra = sorted(set(got) - set(want), key=lambda s: int(s.split()[0]))
    out_of_order = not repeated and not missing and not extra
    return (f"{len(got)} lines recorded, {len(want)} in the feed; repeated {repeated[:10]}, missing {missing[:10]},"
            f" not in the feed {extra[:10]}" + (", same lines in another order" if out_of_order else ""))  # fmt: skip


def kill_and_restart(url: str, token: str, state: Path, logs: Path, rng: random.Random, writer: Writer) -> list[str]:
    """Consumer runs, each SIGKILLed after a random time, while the writer writes; the cursor
    each kill left stored."""
    at_kill: list[str] = []
    deadline = time.monotonic() + WRITE_SECONDS
    while time.monotonic() < deadline:
        log = logs / f"consumer-{len(at_kill):02d}.log"
        with log.open("wb") as out:
            run = subprocess.Popen([sys.executable, str(CONSUMER), url, token, str(state), str(rng.random())],
                                   stdout=out, stderr=out)  # fmt: skip
        try:
            time.sleep(rng.uniform(*RUN_SECONDS))
            assert run.poll() is None, f"the consumer ended before it was killed: {log.read_text()}"
            run.send_signal(signal.SIGKILL)
            assert run.wait(timeout=10) == -signal.SIGKILL
        finally:
            if run.poll() is None:
                run.kill()
                run.wait()
        at_kill.append(stored_cursor(state))
        assert writer.is_alive(), f"the writer stopped early: {writer.error!r}"
    return at_kill


def test_a_consumer_killed_at_random_points_sees_every_change_exactly_once(tmp_path: Path) -> None:
    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    data, state = tmp_path / "data", tmp_path / "consumer-state.json"
    services = writer_services(data)  # migrates the catalog before anything else opens it
    writer = Writer(services, tmp_path / "scans", seed)
    token = read_token(data)
    serve_log = tmp_path / "serve.log"
    with serve_log.open("wb") as out:
        serve = subprocess.Popen([str(EXE), "serve"], env=clean_env(data), stdout=out, stderr=out)
    try:
        url = wait_for_url(serve, serve_log)
        writer.start()
        at_kill = kill_and_restart(url, token, state, tmp_path, rng, writer)
        writer.halt.set()
        writer.join(timeout=60)
        assert not writer.is_alive() and writer.error is None, f"seed {seed}: the writer failed: {writer.error!r}"
        final = subprocess.run([sys.executable, str(CONSUMER), url, token, str(state), str(rng.random()), "--until-caught-up"],
                               capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
        assert final.returncode == 0, final.stderr
        feed = whole_feed(services)
    finally:
        writer.halt.set()
        if writer.is_alive():
            writer.join(timeout=60)
        serve.terminate()
        try:
            serve.wait(timeout=30)
        except subprocess.TimeoutExpired:
            serve.kill()
            serve.wait()
        services.close()

    where = f"seed {seed}, {len(at_kill)} kills at stored cursors {at_kill}"
    # the consumer was killed often, at least three times after it had stored progress, in different places
    assert len(at_kill) >= 5 and len(set(at_kill) - {"0"}) >= 3, where
    recorded = json.loads(state.read_text(encoding="utf-8"))["lines"]
    assert recorded == feed, f"{where}: {differences(recorded, feed)}"
    assert stored_cursor(state) == feed[-1].split()[0], where

    # ... and the feed is what the writer did, each once
    by_topic: dict[str, Counter[str]] = {}
    for line in recorded:
        _, topic, card = line.split()
        by_topic.setdefault(topic, Counter())[card] += 1
    assert len(writer.created) >= 10 and writer.changed.total() >= 5 and writer.deleted and writer.unchanged, (
        f"{where}: the writer did too little to test with: {writer.rounds} rounds, {len(writer.created)} cards,"
        f" {writer.changed.total()} changes, {writer.unchanged} no-op corrections, {len(writer.deleted)} deletions"
    )
    assert by_topic["card.registered"] == Counter(writer.created), where
    assert by_topic["card.changed"] == writer.changed, where
    assert by_topic["card.deleted"] == Counter(writer.deleted), where
    assert by_topic["file.quarantined"] == Counter({"-": writer.quarantined}), where
    assert set(by_topic) == {"card.registered", "card.changed", "card.deleted", "file.quarantined"}, where
