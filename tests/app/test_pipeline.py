"""The stage functions in-process (no broker), against real Tesseract and a real SQLite catalog."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import cv2
import numpy as np
import pytest

from ingest.profile import HotFolderProfile
from tests import pages as P
from app import pipeline
from app.services import Services
from app.settings import load_settings

pytestmark = pytest.mark.tesseract


def _services(tmp_path: Path, **profile: object) -> Services:
    inbox = tmp_path / "inbox"
    inbox.mkdir(exist_ok=True)
    settings = load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path / "data")})
    hot = HotFolderProfile(path=inbox, quarantine=inbox / "quarantine", **profile)  # type: ignore[arg-type]
    return Services(settings.model_copy(update={"hotfolders": (hot,)}))


def _batch(services: Services) -> str:
    return services.catalog.open_batch(str((services.settings.hotfolders[0].path).resolve()), "b")


def _page(text: str) -> np.ndarray:
    return P.render_page(text, dpi=150, points=14)


def _qr_sheet(value: str) -> np.ndarray:
    sheet = np.full((1754, 1240), 255, np.uint8)
    code = cv2.QRCodeEncoder.create().encode(value)
    code = cv2.resize(code, None, fx=12, fy=12, interpolation=cv2.INTER_NEAREST)
    sheet[300 : 300 + code.shape[0], 300 : 300 + code.shape[1]] = code
    return sheet


def _counts(services: Services) -> dict[str, int]:
    db = sqlite3.connect(services.settings.data_dir / "catalog.sqlite3")
    try:
        return {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in ("cards", "pages", "attachments", "audit", "outbox")}
    finally:
        db.close()


def test_processing_the_same_input_twice_creates_nothing_twice(tmp_path: Path) -> None:
    services = _services(tmp_path)
    src = P.save_png(_page(P.TEXTS["eng"]), tmp_path / "inbox" / "order.png", dpi=150)
    sent: list[str] = []
    row = pipeline.intake_file(src, _batch(services), services, sent.append)
    assert sent == [row.id] and row.outcome == "pending"
    first = pipeline.process_input(row.id, services)
    assert first.outcome == "archived" and not src.exists()
    before = _counts(services)
    again = pipeline.process_input(row.id, services)
    assert again.card_id == first.card_id
    assert _counts(services) == before
    assert before["cards"] == 1 and before["outbox"] == 1


def test_a_committed_outcome_is_finished_by_the_next_intake(tmp_path: Path, monkeypatch) -> None:
    """A crash between committing the card and removing the file: the rescan finishes the job."""
    services = _services(tmp_path)
    src = P.save_png(_page(P.TEXTS["eng"]), tmp_path / "inbox" / "order.png", dpi=150)
    row = pipeline.intake_file(src, _batch(services), services, lambda _i: None)
    with monkeypatch.context() as m:
        m.setattr(pipeline, "finalize", lambda row, services: None)  # the crash: committed, not finalised
        pipeline.process_input(row.id, services)
    assert src.exists()
    sent: list[str] = []
    again = pipeline.intake_file(src, _batch(services), services, sent.append)
    assert sent == [] and again.outcome == "archived" and not src.exists()
    assert _counts(services)["cards"] == 1


def test_the_same_file_dropped_again_later_is_a_duplicate(tmp_path: Path) -> None:
    services = _services(tmp_path)
    src = P.save_png(_page(P.TEXTS["eng"]), tmp_path / "inbox" / "order.png", dpi=150)
    keep = src.read_bytes()
    first = pipeline.process_input(pipeline.intake_file(src, _batch(services), services, lambda _i: None).id, services)
    src.write_bytes(keep)
    row = pipeline.intake_file(src, _batch(services), services, lambda _i: None)
    again = pipeline.process_input(row.id, services)
    assert again.outcome == "duplicate" and again.card_id == first.card_id and not src.exists()


def test_a_new_file_under_the_same_name_is_never_deleted(tmp_path: Path) -> None:
    services = _services(tmp_path)
    src = P.save_png(_page(P.TEXTS["eng"]), tmp_path / "inbox" / "scan.png", dpi=150)
    row = pipeline.intake_file(src, _batch(services), services, lambda _i: None)
    P.save_png(_page(P.TEXTS["rus"]), src, dpi=150)  # the operator drops another scan.png meanwhile
    pipeline.process_input(row.id, services)
    assert src.exists(), "a file that was not the one archived was removed"


def test_blank_separator_sheets_split_a_file_into_documents(tmp_path: Path) -> None:
    services = _services(tmp_path, separation="blank")
    blank = np.full((1754, 1240), 255, np.uint8)
    tif = P.save_tiff(
        [_page(P.TEXTS["eng"]), _page("page two of the order"), blank, _page(P.TEXTS["rus"]), blank],
        tmp_path / "inbox" / "batch.tif",
        dpi=150,
    )
    row = pipeline.intake_file(tif, _batch(services), services, lambda _i: None)
    done = pipeline.process_input(row.id, services)
    assert done.outcome == "archived"
    cards = sorted(services.catalog.iter_cards(), key=lambda c: c.card.registration_number)
    assert [c.card.page_count for c in cards] == [2, 1]
    assert "PURCHASE" in cards[0].pages[0].text and "ЗАПИСКА" in cards[1].pages[0].text
    numbers = sorted(c.card.registration_number for c in cards)
    assert done.card_number == numbers[0]
    # again: nothing new
    pipeline.process_input(row.id, services)
    assert _counts(services)["cards"] == 2


def test_qr_separator_sheets_split_only_on_the_configured_value(tmp_path: Path) -> None:
    services = _services(tmp_path, separation="barcode", separator_value="KARTOTEKA-SEP")
    pdf = P.image_pdf(
        [_page(P.TEXTS["eng"]), _qr_sheet("KARTOTEKA-SEP"), _page(P.TEXTS["rus"]), _qr_sheet("INVOICE-QR-123")],
        tmp_path / "inbox" / "batch.pdf",
        dpi=150,
    )
    row = pipeline.intake_file(pdf, _batch(services), services, lambda _i: None)
    pipeline.process_input(row.id, services)
    counts = sorted(c.card.page_count for c in services.catalog.iter_cards())
    assert counts == [1, 2]  # the other QR code is a page of the second document, not a separator


def test_bad_input_is_quarantined_with_a_reason_file_and_batch_ledger(tmp_path: Path) -> None:
    services = _services(tmp_path)
    bad = tmp_path / "inbox" / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj\n<<>>\n")  # truncated
    row = pipeline.intake_file(bad, _batch(services), services, lambda _i: None)
    done = pipeline.process_input(row.id, services)
    assert done.outcome == "quarantined" and "truncated" in (done.reason or "")
    q = tmp_path / "inbox" / "quarantine"
    assert (q / "broken.pdf").read_bytes() == b"%PDF-1.7\n1 0 obj\n<<>>\n"
    reason = (q / "broken.pdf.reason.txt").read_text(encoding="utf-8")
    assert "truncated" in reason and "ocr" in reason
    (ledger_file,) = q.glob("*.ledger.json")
    assert "quarantined" in ledger_file.read_text(encoding="utf-8")


def test_kartoteka_ingest_reports_every_file_and_leaves_them_in_place(kartoteka, tmp_path: Path) -> None:
    folder = tmp_path / "batch"
    folder.mkdir()
    P.save_png(_page(P.TEXTS["eng"]), folder / "a.png", dpi=150)
    P.save_png(_page(P.TEXTS["kaz"]), folder / "b.png", dpi=150)
    (folder / "c.pdf").write_bytes(b"not a pdf")
    proc = kartoteka("ingest", str(folder), "--json")
    assert proc.returncode == 1, proc.stderr  # one file was bad
    out = json.loads(proc.stdout)
    outcomes = {Path(f["path"]).name: f["outcome"] for f in out["files"]}
    assert outcomes == {"a.png": "archived", "b.png": "archived", "c.pdf": "quarantined"}
    assert out["totals"] == {"archived": 2, "quarantined": 1}
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.png", "c.pdf"]
    assert "c.pdf: is not a PDF" in proc.stderr
    ledger = json.loads(kartoteka("ledger", "--json").stdout)["files"]
    assert {f["outcome"] for f in ledger} == {"archived", "quarantined"}
    card = json.loads(kartoteka("card", [f for f in ledger if f["card"]][0]["card"], "--json").stdout)
    assert card["status"] == "registered" and card["pages"]


def test_separator_sheets_split_a_batch_folder_across_files(tmp_path: Path) -> None:
    """A scanner that writes one file per page: documents span files, cut at blank sheets."""
    from ingest.hotfolder import Candidate

    services = _services(tmp_path, separation="blank")
    profile = services.settings.hotfolders[0]
    folder = tmp_path / "inbox" / "morning-batch"
    folder.mkdir()
    blank = np.full((1754, 1240), 255, np.uint8)
    pages = [_page(P.TEXTS["eng"]), _page("second page of the order"), blank, _page(P.TEXTS["rus"])]
    files = tuple(P.save_png(img, folder / f"page{i}.png", dpi=150) for i, img in enumerate(pages, 1))
    sent: list[str] = []
    rows = pipeline.intake_candidate(Candidate(profile, folder, files, "morning-batch"), services, sent.append)
    assert len(sent) == 4
    pipeline.process_input(sent[0], services)
    for i in sent[1:]:
        pipeline.process_input(i, services)  # nothing left to do
    cards = sorted(services.catalog.iter_cards(), key=lambda c: c.card.registration_number)
    assert [c.card.page_count for c in cards] == [2, 1]
    assert "PURCHASE" in cards[0].pages[0].text and "second page" in cards[0].pages[1].text
    assert sum(a.role == "original" for a in cards[0].attachments) == 2
    ledger = {Path(r.path).name: r for r in services.catalog.ledger()}
    assert {r.outcome for r in ledger.values()} == {"archived"}
    assert ledger["page1.png"].card_id == ledger["page2.png"].card_id == cards[0].card.id
    assert ledger["page3.png"].card_id == ledger["page4.png"].card_id == cards[1].card.id
    assert not folder.exists(), "the emptied batch folder is removed"
    assert len(rows) == 4


def test_several_processes_opening_a_new_catalog_at_once_all_succeed(tmp_path: Path) -> None:
    """The service and a `kartoteka ledger` started together both migrate a new catalog."""
    import subprocess
    import sys

    code = (
        "from app.settings import load_settings; from app.services import Services; "
        f"Services(load_settings({{'KARTOTEKA_DATA_DIR': {str(tmp_path / 'data')!r}}})).catalog"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
