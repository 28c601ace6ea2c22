"""``kartoteka run`` as a scanner operator uses it: drop files, get cards.

Real Tesseract where the page text matters (the integration tests); the scripted engine
(ocr/fake.py, pages from tests/scripted.py) where only what happens to the files does.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

import pikepdf
import pytest

from ocr.fake import PageScript
from tests import pages as P
from tests import scripted as S
from tests.workers.service import Service

pytestmark = pytest.mark.slow


def _page(text: str, dpi: int = 150):  # type: ignore[no-untyped-def]
    return P.render_page(text, dpi=dpi, points=14)


def _drop(src: Path, inbox: Path, name: str) -> Path:
    """Drop a file the way a scanner does: written under a temporary name, then renamed."""
    tmp = inbox / f".{name}.part"
    tmp.write_bytes(src.read_bytes())
    target = inbox / name
    os.replace(tmp, target)
    return target


@pytest.fixture
def service(tmp_path: Path):  # type: ignore[no-untyped-def]
    svc = Service(tmp_path)
    yield svc
    if svc.proc is not None:
        svc.stop()


#: Seconds each page of the SIGKILL test takes in the scripted engine: a burst of b files keeps
#: the service's 2 worker threads busy for about b * SIGKILL_DELAY / 2 seconds.
SIGKILL_DELAY = 0.1
#: A4 at 100 dpi: a small page
A4_100 = (827, 1169)


def _final(svc: Service, count: int) -> bool:
    if svc.decided() < count:  # read from the catalog file: no `kartoteka ledger` process per poll
        return False
    rows = svc.ledger()
    return len(rows) >= count and all(r["outcome"] != "pending" for r in rows) and not svc.inbox_files()


@pytest.mark.tesseract
def test_dropped_files_become_cards_with_the_page_text(service: Service, tmp_path: Path) -> None:
    service.start()
    memo = P.save_png(_page(P.TEXTS["rus"]), tmp_path / "memo.png", dpi=150)
    order = P.image_pdf([_page(P.TEXTS["eng"])], tmp_path / "order.pdf", dpi=150)
    _drop(memo, service.inbox, "memo.png")
    _drop(order, service.inbox, "order.pdf")
    service.wait_for(lambda: _final(service, 2), 120, "two cards")
    rows = {Path(r["path"]).name: r for r in service.ledger()}
    assert {r["outcome"] for r in rows.values()} == {"archived"}
    card = service.cli("card", rows["memo.png"]["card"])
    assert card["registration_number"].startswith("ВХ-")
    assert "ЗАПИСКА" in card["pages"][0]["text"]
    assert card["doc_number"] == "45/12-п" and card["doc_date"] == "2024-03-12"
    assert {a["role"] for a in card["attachments"]} >= {"original", "pdf", "text", "hocr"}
    order_card = service.cli("card", rows["order.pdf"]["card"])
    assert "PURCHASE" in order_card["pages"][0]["text"]
    assert not (service.inbox / "memo.png").exists()  # removed only after its card was committed
    assert service.cli("verify")["problems"] == []
    # The service's index feed makes the cards searchable without anyone running reindex.
    service.wait_for(lambda: service.cli("search", "записки")["total"] == 1, 60, "the memo in the search index")
    hit = service.cli("search", "записки")["hits"][0]
    assert hit["card"] == rows["memo.png"]["card"] and hit["registration_number"] == card["registration_number"]
    assert any(h["page"] == 1 and "<mark>ЗАПИСКА</mark>" in h["snippet"] for h in hit["highlights"])


def test_same_file_twice_is_a_duplicate_of_the_first_card(service: Service, tmp_path: Path) -> None:
    service.use_script({"memo": "a memo"})
    service.start()
    memo = S.write_png(tmp_path / "memo.png", "memo")
    _drop(memo, service.inbox, "first.png")
    service.wait_for(lambda: _final(service, 1), 120, "first card")
    _drop(memo, service.inbox, "again.png")
    service.wait_for(lambda: _final(service, 2), 120, "duplicate outcome")
    rows = {Path(r["path"]).name: r for r in service.ledger()}
    assert rows["first.png"]["outcome"] == "archived"
    assert rows["again.png"]["outcome"] == "duplicate"
    assert rows["again.png"]["card"] == rows["first.png"]["card"]


def test_a_file_still_being_written_is_not_taken_early(service: Service, tmp_path: Path) -> None:
    service.settle = 2.0
    service.use_script({"p1": "page one", "p2": "page two"})
    service.start()
    data = S.write_tiff(tmp_path / "scan.tif", ["p1", "p2"]).read_bytes()
    target = service.inbox / "scan.tif"
    chunks = 6
    step = len(data) // chunks + 1
    with target.open("wb") as f:
        for i in range(chunks):
            f.write(data[i * step : (i + 1) * step])
            f.flush()
            time.sleep(0.7)  # a slow network scanner: well inside the settle window
            assert service.recorded() == 0, "taken while still being written"
    service.wait_for(lambda: _final(service, 1), 120, "the complete file")
    (row,) = service.ledger()
    assert row["outcome"] == "archived", row
    card = service.cli("card", row["card"])
    assert card["page_count"] == 2


@pytest.mark.tesseract
def test_hostile_inputs_are_quarantined_while_good_files_go_on(service: Service, tmp_path: Path) -> None:
    inbox = service.inbox
    service.write_settings()
    good = P.save_png(_page(P.TEXTS["eng"]), tmp_path / "good.png", dpi=150)
    tif = P.save_tiff([_page("one"), _page("two")], tmp_path / "t.tif", dpi=150).read_bytes()
    pdf = P.image_pdf([_page("x"), _page("y")], tmp_path / "p.pdf", dpi=150).read_bytes()
    locked = tmp_path / "locked.pdf"
    with pikepdf.open(P.text_pdf([P.TEXTS["eng"]], tmp_path / "plain.pdf")) as doc:
        doc.save(locked, encryption=pikepdf.Encryption(user="u", owner="o"))
    from tests.ocr.test_inputs import _png_header_only

    hostile = {
        "zero.pdf": b"",
        "truncated.tif": tif[: len(tif) // 3],
        "truncated.pdf": pdf[: len(pdf) // 2],
        "locked.pdf": locked.read_bytes(),
        "bomb.png": _png_header_only(tmp_path / "bomb.png", 80_000, 80_000).read_bytes(),
        "random.pdf": os.urandom(4096),
    }
    for name, content in hostile.items():
        (inbox / name).write_bytes(content)
    (inbox / "link.pdf").symlink_to(good)
    odd = "счёт №5 (копия) ;'$x & y.png"
    _drop(good, inbox, odd)
    _drop(good, inbox, "good.png")
    (inbox / "folder.pdf").mkdir()
    _drop(P.save_png(_page(P.TEXTS["rus"]), tmp_path / "r.png", dpi=150), inbox / "folder.pdf", "inside.png")
    service.start()
    expected = len(hostile) + 4  # + link, odd name, good, inside
    service.wait_for(lambda: _final(service, expected), 180, "every file to have an outcome")
    rows = {Path(r["path"]).name: r for r in service.ledger()}
    for name in [*hostile, "link.pdf"]:
        assert rows[name]["outcome"] == "quarantined", rows[name]
        assert rows[name]["reason"]
        batch_dir = service.quarantine
        assert (batch_dir / name).exists() or (batch_dir / name).is_symlink(), f"{name} not moved to quarantine"
        reason = (batch_dir / f"{name}.reason.txt").read_text(encoding="utf-8")
        assert rows[name]["reason"] in reason
    assert "encrypted" in rows["locked.pdf"]["reason"]
    assert "too large" in rows["bomb.png"]["reason"]
    assert "truncated" in rows["truncated.pdf"]["reason"]
    assert "empty" in rows["zero.pdf"]["reason"]
    assert "symbolic link" in rows["link.pdf"]["reason"]
    # the good ones, including the odd name and the file inside a folder named like a file
    # the same content under two names: one is archived, the other is its duplicate
    assert sorted([rows[odd]["outcome"], rows["good.png"]["outcome"]]) == ["archived", "duplicate"]
    assert rows[odd]["card"] == rows["good.png"]["card"]
    assert rows["inside.png"]["outcome"] == "archived"
    assert (service.quarantine / "truncated.pdf").read_bytes() == hostile["truncated.pdf"]  # untouched
    assert list(service.quarantine.glob("*.ledger.json"))


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(service: Service, tmp_path: Path) -> None:
    """50 files, the service killed -9 again and again while it ingests, then restarted.

    On the scripted engine: every page takes SIGKILL_DELAY seconds, so a kill at a random moment
    within the time its burst takes lands while pages are being recognised; every card's text
    is known."""
    rng = random.Random(20261129)
    n = 50
    texts = {f"doc-{i:02d}": f"Входящий документ номер {i}\nDocument number {i}\nКартотека" for i in range(n)}
    service.use_script({key: PageScript(text, delay=SIGKILL_DELAY) for key, text in texts.items()})
    sources = [
        S.write_png(tmp_path / f"src-{i:02d}.png", S.scripted_page(key, size=A4_100), dpi=100) for i, key in enumerate(texts)
    ]
    service.start()
    dropped = 0
    kills = 0
    deadline = time.monotonic() + 240
    while kills < 8 and time.monotonic() < deadline:
        burst = rng.randint(5, 12)
        before = service.recorded()
        for src in sources[dropped : dropped + burst]:
            _drop(src, service.inbox, f"scan-{dropped:02d}.png")
            dropped += 1
        # Kill while the burst is being worked on: once the catalog has recorded some of it (a
        # fixed sleep made the test depend on how fast the service starts), a random moment later.
        service.wait_for(lambda: service.recorded() > before, 60, "the service to take up the burst")
        time.sleep(rng.uniform(0.0, burst * SIGKILL_DELAY / 2))
        service.kill()
        kills += 1
        service.start()
    for src in sources[dropped:]:
        _drop(src, service.inbox, f"scan-{dropped:02d}.png")
        dropped += 1
    assert dropped == n
    service.wait_for(lambda: _final(service, n), 300, "every file to have an outcome after the kills")
    rows = service.ledger()
    by_name: dict[str, list[dict]] = {}
    for r in rows:
        by_name.setdefault(Path(r["path"]).name, []).append(r)
    assert sorted(by_name) == [f"scan-{i:02d}.png" for i in range(n)], "a file was lost or invented"
    assert all(len(v) == 1 for v in by_name.values()), {k: v for k, v in by_name.items() if len(v) > 1}
    assert {r["outcome"] for r in rows} == {"archived"}
    numbers = sorted(r["registration_number"] for r in rows)
    assert len({r["card"] for r in rows}) == n
    assert len(set(numbers)) == n, "a card or registration number was duplicated"
    seqs = sorted(int(num.rsplit("-", 1)[1]) for num in numbers)
    assert seqs == list(range(1, n + 1)), "registration numbers have gaps"
    assert service.inbox_files() == []
    assert "recovery sweep re-enqueued" in service.log(), "no kill hit unfinished work: the test proved nothing"
    cards = service.card_texts()
    assert {r["card"]: cards[r["card"]] for r in rows} == {
        r["card"]: [texts["doc-" + Path(r["path"]).stem.split("-")[1]]] for r in rows
    }, "a card does not hold its file's pages"
    assert service.cli("verify")["problems"] == []


@pytest.mark.tesseract
def test_a_stop_signal_to_the_process_group_mid_recognition_leaves_the_file_to_the_next_start(
    service: Service, tmp_path: Path
) -> None:
    """SIGTERM to the whole group (Ctrl-C, systemd, docker stop) killed the OCR worker processes
    with the service: their pages were recorded as pages that crash Tesseract, the file
    registered without their text or quarantined, and the stop could end in an abort."""
    service.start(new_session=True)
    pages = [_page(P.TEXTS["rus"] if i % 2 else P.TEXTS["eng"], dpi=300) for i in range(12)]
    _drop(P.image_pdf(pages, tmp_path / "long.pdf", dpi=300), service.inbox, "long.pdf")
    service.wait_for(lambda: service.recorded() == 1, 60, "the file taken in")
    time.sleep(3)  # its pages are being recognised
    assert service.proc is not None
    os.killpg(service.proc.pid, signal.SIGTERM)
    assert service.proc.wait(timeout=120) == 0  # a clean stop, not an abort
    (row,) = service.ledger()
    assert row["outcome"] in ("pending", "archived"), row  # never quarantined by the stop
    service.start()
    service.wait_for(lambda: _final(service, 1), 300, "the file archived after the restart")
    (row,) = service.ledger()
    card = service.cli("card", row["card"])
    assert row["outcome"] == "archived" and len(card["pages"]) == 12
    assert all(p["text"].strip() for p in card["pages"]), "a page lost its text to the stop"
    assert "crashed" not in (service.root / "service.log").read_text(encoding="utf-8", errors="replace")


def test_status_sees_the_embedded_service(service: Service, tmp_path: Path) -> None:
    """`kartoteka status` said «processes seen in the last 60 s: 0» while `kartoteka run` ran, and
    `status --this-host` (a container's health check) failed."""
    import subprocess

    from tests.processes import EXE

    service.use_script({"memo": "a memo"})
    service.start()
    _drop(S.write_png(tmp_path / "memo.png", "memo"), service.inbox, "memo.png")
    service.wait_for(lambda: _final(service, 1), 120, "the service up and working")
    health = subprocess.run([str(EXE), "status", "--this-host"], env=service.env(), capture_output=True, text=True, timeout=60, check=False)
    assert health.returncode == 0, health.stdout + health.stderr
    status = service.cli("status")
    assert [p["role"] for p in status["processes"]] == ["run"], status
