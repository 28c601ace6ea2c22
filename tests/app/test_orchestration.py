"""The pipeline's orchestration on the scripted engine (ocr/fake.py): splitting, duplicates,
quarantine, transient failures, review routing and recovery, with pages whose recognition is
known in advance, failing on cue (tests/scripted.py prints the pages, keyed by a QR code)."""

from __future__ import annotations

import logging
import os
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pikepdf
import pytest

from app import pipeline
from app.intake import ATTEMPTS, process_with_retries
from app.services import Services
from app.settings import load_settings
from archive.model import CardView, InputFileRow
from ingest.errors import ConfigurationError, TransientError
from ingest.hotfolder import Candidate
from ocr.fake import Failure, PageScript, ScriptedEngine
from tests import scripted as S
from tests.app.conftest import MakeRig, Rig

BLANK = S.blank_page()
SEP = "KARTOTEKA-SEP"
INVOICE = (
    "СЧЕТ НА ОПЛАТУ № 123 от 12.03.2024\n"
    "Поставщик: ТОО «Северный ветер»\n"
    "Итого к оплате: 1 234 567,89 тенге\n"
    "Оплата данного счета означает согласие с условиями поставки."
)
MIXED = (
    "Материалы к совещанию\n"
    "Прилагаются счёт на оплату, договор аренды\n"
    "и коммерческое предложение для рассмотрения."
)


def _texts(cards: list[CardView]) -> list[list[str]]:
    return [[p.text for p in c.pages] for c in cards]


def _pdf_pages(rig: Rig, card: CardView) -> int:
    (pdf,) = [a for a in card.attachments if a.role == "pdf"]
    with rig.services.blobs.open(pdf.sha256) as f, pikepdf.open(f) as doc:
        return len(doc.pages)


# --- splitting ----------------------------------------------------------------------------------


def test_blank_sheets_cut_documents_across_the_files_of_a_batch_folder(make_rig: MakeRig) -> None:
    rig = make_rig({"a1": "order, page one", "a2": "order, page two", "b1": "memo", "c1": "letter"}, separation="blank")
    folder = rig.inbox / "morning"
    files = (
        rig.drop("01.png", ["a1"], folder),
        rig.drop("02.tif", ["a2", BLANK], folder),  # the order goes on from 01 and ends here
        rig.drop("03.png", [BLANK], folder),  # a separator sheet alone: owned by the next document
        rig.drop("04.pdf", ["b1", BLANK, "c1"], folder),
    )
    sent: list[str] = []
    pipeline.intake_candidate(Candidate(rig.profile, folder, files, "morning"), rig.services, sent.append)
    assert len(sent) == 4
    for input_id in sent:  # the first processes the whole folder; the others find nothing to do
        pipeline.process_input(input_id, rig.services)
    cards = rig.cards()
    assert _texts(cards) == [["order, page one", "order, page two"], ["memo"], ["letter"]]
    ledger = {Path(r.path).name: r for r in rig.services.catalog.ledger()}
    assert {r.outcome for r in ledger.values()} == {"archived"}
    owners = {name: r.card_id for name, r in ledger.items()}
    a, b, _ = (c.card.id for c in cards)
    assert owners == {"01.png": a, "02.tif": a, "03.png": b, "04.pdf": b}
    assert sum(x.role == "original" for x in cards[0].attachments) == 2
    assert rig.engine.calls == Counter({"a1": 1, "a2": 1, "b1": 1, "c1": 1}), "a blank sheet reached the engine"
    assert not folder.exists(), "the emptied batch folder is removed"


def test_barcode_sheets_cut_only_on_the_separator_value_and_are_not_archived(make_rig: MakeRig) -> None:
    # Every scripted page carries a QR code of its own key: only the separator value cuts.
    scripts = {"a1": "contract, page one", "a2": "contract, page two", SEP: "separator sheet", "b1": "act", "b2": "annex"}
    rig = make_rig(scripts, separation="barcode", separator_value=SEP)
    pages: list[S.PageSpec] = ["a1", "a2", S.separator_page(SEP), "b1", "b2", S.separator_page(SEP)]
    done = rig.ingest(rig.drop("batch.pdf", pages))
    cards = rig.cards()
    assert done.outcome == "archived" and done.card_id == cards[0].card.id
    assert _texts(cards) == [["contract, page one", "contract, page two"], ["act", "annex"]]
    assert [c.card.page_count for c in cards] == [2, 2] and [_pdf_pages(rig, c) for c in cards] == [2, 2]
    assert rig.engine.calls[SEP] == 2  # recognised (it is not blank) and still left out


def test_file_mode_leaves_blank_pages_out_and_quarantines_a_file_of_blank_pages(make_rig: MakeRig) -> None:
    rig = make_rig({"a1": "report, page one", "a2": "report, page two"})
    done = rig.ingest(rig.drop("report.tif", ["a1", BLANK, "a2", BLANK]))
    card = rig.card(done)
    assert _texts([card]) == [["report, page one", "report, page two"]] and _pdf_pages(rig, card) == 2
    empty = rig.ingest(rig.drop("empty.pdf", [BLANK, BLANK]))
    assert empty.outcome == "quarantined" and "every page is blank" in (empty.reason or "")
    assert (rig.quarantine / "empty.pdf").exists() and not (rig.inbox / "empty.pdf").exists()
    assert rig.engine.calls == Counter({"a1": 1, "a2": 1}) and len(rig.cards()) == 1


# --- duplicates ---------------------------------------------------------------------------------


def test_the_same_bytes_again_are_a_duplicate_and_never_recognised_again(make_rig: MakeRig) -> None:
    rig = make_rig({"a1": "first page", "a2": "second page"})
    src = rig.drop("scan.pdf", ["a1", "a2"])
    data = src.read_bytes()
    first = rig.ingest(src)
    assert first.outcome == "archived" and rig.engine.calls == Counter({"a1": 1, "a2": 1})
    for name in ("copy.pdf", "scan.pdf"):  # under another name, and again under its own later
        (rig.inbox / name).write_bytes(data)
        again = rig.ingest(rig.inbox / name)
        assert (again.outcome, again.card_id) == ("duplicate", first.card_id)
        assert not (rig.inbox / name).exists()
    assert rig.engine.calls == Counter({"a1": 1, "a2": 1}), "a duplicate was recognised"
    assert len(rig.cards()) == 1


def test_processing_an_input_again_creates_nothing_twice(make_rig: MakeRig) -> None:
    rig = make_rig({"a1": "the only page"})
    sent: list[str] = []
    row = rig.intake(rig.drop("scan.png", ["a1"]), sent.append)
    assert sent == [row.id] and row.outcome == "pending"
    first = pipeline.process_input(row.id, rig.services)
    before, calls = rig.counts(), rig.engine.calls
    again = pipeline.process_input(row.id, rig.services)
    assert (again.outcome, again.card_id, again.card_number) == ("archived", first.card_id, first.card_number)
    assert rig.counts() == before and rig.engine.calls == calls
    assert before["cards"] == 1 and before["outbox"] == 1
    assert [c.card.seq for c in rig.cards()] == [1]


# --- quarantine ---------------------------------------------------------------------------------


def test_a_file_whose_every_page_is_unreadable_is_quarantined_with_its_reason(make_rig: MakeRig) -> None:
    rig = make_rig({"u1": PageScript("", fail="unreadable"), "u2": PageScript("", fail="unreadable")})
    done = rig.ingest(rig.drop("smudged.pdf", ["u1", "u2"]))
    assert (done.outcome, done.stage) == ("quarantined", "ocr")
    assert "no page could be recognised" in (done.reason or "") and "could not read this page" in (done.reason or "")
    assert not (rig.inbox / "smudged.pdf").exists() and (rig.quarantine / "smudged.pdf").exists()
    assert (done.reason or "") in (rig.quarantine / "smudged.pdf.reason.txt").read_text(encoding="utf-8")
    assert rig.cards() == []


def test_one_unreadable_page_of_three_sends_the_card_to_review_naming_the_page(make_rig: MakeRig) -> None:
    rig = make_rig({"p1": "page one", "p2": PageScript("never read", fail="unreadable"), "p3": "page three"})
    done = rig.ingest(rig.drop("three.pdf", ["p1", "p2", "p3"]))
    card = rig.card(done)
    assert done.outcome == "archived" and card.card.status == "needs review"
    failed = [r for r in card.card.review_reasons if r.code == "pages_failed"]
    assert [(r.message, r.field) for r in failed] == [("pages 2 could not be recognised", "failed_pages")]
    assert card.card.fields["failed_pages"].value == "2"
    assert card.card.page_count == 3 and (card.pages[0].text, card.pages[2].text) == ("page one", "page three")
    assert "never read" not in card.pages[1].text and _pdf_pages(rig, card) == 3  # the image is kept
    assert [c.id for c in rig.services.catalog.review_queue()] == [card.card.id]


@pytest.mark.parametrize(("fail", "words"), [("hang", "took longer than 0.2 s"), ("crash", "crashed on this page")])
def test_a_page_that_hangs_or_crashes_fails_alone_and_the_document_gets_its_card(
    make_rig: MakeRig, caplog: pytest.LogCaptureFixture, fail: Failure, words: str
) -> None:
    rig = make_rig({"ok": "the readable page", "bad": PageScript("", fail=fail)}, ocr={"page_timeout": 0.2})
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="ocr.page"):
        done = rig.ingest(rig.drop("scan.pdf", ["bad", "ok"]))
    assert time.monotonic() - started < 5, "the hang was not cut at the page timeout"
    card = rig.card(done)
    assert (done.outcome, card.card.status) == ("archived", "needs review")
    assert [r.message for r in card.card.review_reasons if r.code == "pages_failed"] == ["pages 1 could not be recognised"]
    assert card.pages[1].text == "the readable page"
    assert any(words in r.getMessage() for r in caplog.records), [r.getMessage() for r in caplog.records]
    assert {r.timeout for r in rig.engine.requests} == {0.2}


def test_a_file_that_is_not_a_scan_is_quarantined_without_recognition(make_rig: MakeRig) -> None:
    rig = make_rig({})
    notes = rig.inbox / "notes.pdf"
    notes.write_bytes(b"meeting notes, typed in a text editor\n")
    done = rig.ingest(notes)
    assert done.outcome == "quarantined" and "is not a PDF, PNG, JPEG or TIFF" in (done.reason or "")
    assert (rig.quarantine / "notes.pdf").read_bytes() == b"meeting notes, typed in a text editor\n"
    assert rig.engine.calls == Counter() and rig.cards() == []


# --- transient failures ------------------------------------------------------------------------


def test_an_engine_failure_keeps_the_input_pending_until_a_working_engine_archives_it(make_rig: MakeRig) -> None:
    rig = make_rig({"e1": PageScript("", fail="engine")})
    src = rig.drop("scan.png", ["e1"])
    row = rig.intake(src)
    with pytest.raises(TransientError, match="will retry"):
        pipeline.process_input(row.id, rig.services)
    assert _outcome(rig, row) == "pending" and src.exists() and rig.cards() == []
    assert pipeline.pending_ids(rig.services) == [row.id]
    again, problem = process_with_retries(row.id, rig.services)  # kartoteka ingest's retries give up
    assert again.outcome == "pending" and problem and "will retry" in problem
    assert rig.engine.calls["e1"] == 1 + ATTEMPTS
    fixed = make_rig({"e1": "recognised at last"})  # the engine works again (a restart)
    done = pipeline.process_input(row.id, fixed.services)
    assert done.outcome == "archived" and not src.exists()
    assert _texts(fixed.cards()) == [["recognised at last"]] and pipeline.pending_ids(fixed.services) == []


def _outcome(rig: Rig, row: InputFileRow) -> str:
    found = rig.services.catalog.get_input(row.id)
    assert found is not None
    return found.outcome


# --- review routing -----------------------------------------------------------------------------


def test_a_clear_invoice_is_registered_and_an_ambiguous_text_needs_review(make_rig: MakeRig) -> None:
    rig = make_rig({"inv": INVOICE, "mix": MIXED})
    rig.services.catalog.save_organisation("ТОО «Северный ветер»", "северный ветер")
    invoice = rig.card(rig.ingest(rig.drop("invoice.png", ["inv"]))).card
    mixed = rig.card(rig.ingest(rig.drop("mixed.png", ["mix"]))).card
    assert (invoice.kind, invoice.status, invoice.review_reasons) == ("payment_invoice", "registered", ())
    assert invoice.doc_number == "123" and invoice.fields["amount"].value == "1234567.89"
    assert mixed.status == "needs review"
    assert any(r.code.startswith("kind_") and r.field == "kind" for r in mixed.review_reasons), mixed.review_reasons
    assert [c.id for c in rig.services.catalog.review_queue()] == [mixed.id]


def test_a_low_confidence_page_is_archived_with_its_confidence(make_rig: MakeRig) -> None:
    rig = make_rig({"faint": PageScript("a faint carbon copy of a letter", confidence=0.2)})
    done = rig.ingest(rig.drop("faint.png", ["faint"]))
    (page,) = rig.card(done).pages
    assert done.outcome == "archived" and page.text == "a faint carbon copy of a letter"
    assert page.confidence == pytest.approx(0.2, abs=0.01) and page.rotation == 0
    assert rig.engine.calls["faint"] == 1  # the upside-down recheck found it upright: not read twice


# --- recovery -----------------------------------------------------------------------------------


def test_an_input_recorded_but_never_processed_is_finished_from_pending_ids(make_rig: MakeRig) -> None:
    rig = make_rig({"a1": "the page"}, separation="blank")
    folder = rig.inbox / "evening"
    files = (rig.drop("1.png", ["a1"], folder), rig.drop("2.png", [BLANK], folder))
    # the process dies after intake, before any message is sent or processed
    pipeline.intake_candidate(Candidate(rig.profile, folder, files, "evening"), rig.services, lambda _i: None)
    assert len(pipeline.pending_ids(rig.services)) == 2 and rig.engine.calls == Counter()
    restarted = make_rig({"a1": "the page"}, separation="blank")
    for input_id in pipeline.pending_ids(restarted.services):  # the recovery sweep
        pipeline.process_input(input_id, restarted.services)
    assert pipeline.pending_ids(restarted.services) == [] and _texts(restarted.cards()) == [["the page"]]
    assert restarted.engine.calls == Counter({"a1": 1}) and not folder.exists()


def _by_intake(rig: Rig, row: InputFileRow) -> InputFileRow:
    sent: list[str] = []
    again = rig.intake(Path(row.path), sent.append)  # the watcher's rescan offers the file again
    assert sent == [] and again.id == row.id
    return again


def _by_process(rig: Rig, row: InputFileRow) -> InputFileRow:
    return pipeline.process_input(row.id, rig.services)  # the message is delivered again


@pytest.mark.parametrize("finish", [_by_intake, _by_process])
def test_a_committed_outcome_whose_file_is_still_there_is_finished_without_a_second_card(
    make_rig: MakeRig, monkeypatch: pytest.MonkeyPatch, finish: Callable[[Rig, InputFileRow], InputFileRow]
) -> None:
    rig = make_rig({"a1": "the page"})
    src = rig.drop("scan.png", ["a1"])
    row = rig.intake(src)
    with monkeypatch.context() as m:
        m.setattr(pipeline, "finalize", lambda row, services: None)  # the crash: committed, not finalised
        pipeline.process_input(row.id, rig.services)
    assert src.exists() and _outcome(rig, row) == "archived"
    before = rig.counts()
    done = finish(rig, row)
    assert done.outcome == "archived" and not src.exists()
    assert rig.counts() == before and before["cards"] == 1 and rig.engine.calls == Counter({"a1": 1})


# --- the engine chosen by the settings ----------------------------------------------------------


def test_the_settings_choose_the_scripted_engine_and_its_script(tmp_path: Path) -> None:
    env = {"KARTOTEKA_DATA_DIR": str(tmp_path / "data"), "KARTOTEKA_OCR_ENGINE": "scripted"}
    with pytest.raises(ConfigurationError, match="KARTOTEKA_OCR_SCRIPT_FILE"):
        _ = Services(load_settings(env)).engine
    (tmp_path / "bad.json").write_text('{"pages": {"a1": {"fail": "melt"}}}', encoding="utf-8")
    for name in ("missing.json", "bad.json"):
        with pytest.raises(ConfigurationError, match=f"{name} cannot be used"):
            _ = Services(load_settings({**env, "KARTOTEKA_OCR_SCRIPT_FILE": str(tmp_path / name)})).engine
    script = S.write_script(tmp_path / "script.json", {"a1": "from the script"}, unknown="unknown page")
    engine = Services(load_settings({**env, "KARTOTEKA_OCR_SCRIPT_FILE": str(script)})).engine
    assert isinstance(engine, ScriptedEngine)
    read = [engine.recognize(p, languages="rus+eng", dpi=150, timeout=5).text for p in (S.scripted_page("a1"), S.plain_page())]
    assert read == ["from the script", "unknown page"]


def test_the_sweep_removes_the_spools_of_uploads_cut_off_by_a_crash(make_rig: MakeRig) -> None:
    """A kill -9 while an upload streamed in left its spool in work/uploads for good."""
    from app import housekeeping

    rig = make_rig({})
    root = rig.services.work_dir / "uploads"
    hour_ago = time.time() - 2 * 3600
    for name, stamps in (("dead", (hour_ago, hour_ago)), ("arriving", (hour_ago, time.time()))):
        spool = root / name
        spool.mkdir(parents=True)
        for i, stamp in enumerate(stamps):  # the second file is the one being written
            (spool / f"{i:05d}").write_bytes(b"x")
            os.utime(spool / f"{i:05d}", (stamp, stamp))
        os.utime(spool, (hour_ago, hour_ago))
    old = time.time() - 2 * 24 * 3600
    scratch = rig.services.work_dir / "in-1"  # a group's scratch folder, its process killed
    (scratch / "pages").mkdir(parents=True)
    part = rig.services.settings.blob_dir / ".tmp" / "put-x.part"  # a blob being written
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"half")
    for path in (scratch / "pages", scratch, part):
        os.utime(path, (old, old))
    (rig.services.work_dir / "areas").mkdir(exist_ok=True)
    os.utime(rig.services.work_dir / "areas", (old, old))  # work, not a leftover
    assert housekeeping.prune_leftovers(rig.services) == {"upload spools": 1, "scratch folders": 1, "partial blobs": 1}
    assert sorted(p.name for p in root.iterdir()) == ["arriving"]
    assert not scratch.exists() and not part.exists() and (rig.services.work_dir / "areas").is_dir()


def test_the_sweep_removes_old_unheld_lock_files_and_keeps_held_and_recent_ones(make_rig: MakeRig) -> None:
    rig = make_rig({})
    locks = rig.services.work_dir / "locks"
    with pipeline.group_lock("old-held", rig.services) as held:
        assert held
        for name in ("old-free", "recent-free"):
            (locks / f"{name}.lock").touch()
        day_ago = time.time() - 2 * 24 * 3600
        for name in ("old-free", "old-held"):
            os.utime(locks / f"{name}.lock", (day_ago, day_ago))
        assert pipeline.prune_locks(rig.services) == 1
        assert sorted(p.name for p in locks.iterdir()) == ["old-held.lock", "recent-free.lock"]
    # a group whose file went is locked again as before: one holder at a time
    with pipeline.group_lock("old-free", rig.services) as first:
        with pipeline.group_lock("old-free", rig.services) as second:
            assert (first, second) == (True, False)
