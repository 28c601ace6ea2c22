"""Uploads and retries (app/uploads.py) on the scripted engine: one batch per upload through the
hot folders' intake path, nothing stored when an upload is refused, quarantined inputs retried."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from app import pipeline
from app.uploads import (
    API_PREFIX,
    RETRY_PREFIX,
    InvalidUpload,
    UploadTooLarge,
    receive_upload,
    retry_input,
)
from archive.errors import InputNotFound, InvalidChange
from ocr.fake import PageScript
from tests import scripted as S
from tests.app.conftest import MakeRig, Rig

SCRIPTS = {"a1": "first letter", "b1": "second letter, page one", "b2": "second letter, page two", "x": "another"}
MiB = 1024 * 1024


def _scan(tmp_path: Path, name: str, pages: list[str]) -> bytes:
    path = tmp_path / "scans" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    (S.write_png(path, pages[0]) if name.endswith(".png") else S.write_pdf(path, pages))
    return path.read_bytes()


def _files(*items: tuple[str, bytes]) -> list[tuple[str, io.BytesIO]]:
    return [(name, io.BytesIO(data)) for name, data in items]


def _tree(root: Path) -> list[str]:
    """Every file and folder under ``root`` (relative), for "nothing changed" checks."""
    if not root.exists():
        return []
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _state(rig: Rig) -> tuple[list[str], dict[str, int], int]:
    batches = len(rig.services.catalog.list_batches())  # opens (creates) the catalog first
    blobs = [p for p in _tree(rig.services.settings.blob_dir) if not p.startswith(".tmp")]
    return blobs, rig.counts(), batches


# --- uploads ---------------------------------------------------------------------------------------


def test_an_upload_of_two_files_is_one_batch_archived_without_touching_a_hot_folder(make_rig: MakeRig, tmp_path: Path) -> None:
    rig = make_rig(SCRIPTS)
    rig.drop("waiting.png", ["x"])  # a hot-folder file that must stay where it is
    before = _tree(rig.inbox)
    letter, report = _scan(tmp_path, "letter.png", ["a1"]), _scan(tmp_path, "Отчёт.pdf", ["b1", "b2"])
    sent: list[str] = []

    receipt = receive_upload(rig.services, _files(("letter.png", letter), ("Отчёт.pdf", report)),
                             profile=None, max_bytes=10 * MiB, enqueue=sent.append)  # fmt: skip

    assert sent == [r.id for r in receipt.files] and len(sent) == 2
    assert [r.name for r in receipt.files] == ["letter.png", "Отчёт.pdf"]
    assert {r.outcome for r in receipt.files} == {"pending"} and {r.batch_id for r in receipt.files} == {receipt.batch}
    batch = rig.services.catalog.get_batch(receipt.batch)
    assert batch is not None and batch.hotfolder == f"{API_PREFIX}default" and batch.total == 2
    assert [r.size for r in receipt.files] == [len(letter), len(report)]

    done = [pipeline.process_input(input_id, rig.services) for input_id in sent]
    assert [r.outcome for r in done] == ["archived", "archived"]
    texts = [[p.text for p in rig.card(r).pages] for r in done]
    assert texts == [["first letter"], ["second letter, page one", "second letter, page two"]]
    assert _tree(rig.inbox) == before, "processing an upload changed the hot folder"
    assert not (rig.inbox / "quarantine").exists()
    assert _tree(rig.services.work_dir / "uploads") == []
    closed = rig.services.catalog.get_batch(receipt.batch)
    assert closed is not None and closed.closed_at is not None


def test_an_upload_over_the_limit_stores_nothing(make_rig: MakeRig, tmp_path: Path) -> None:
    rig = make_rig(SCRIPTS)
    letter = _scan(tmp_path, "letter.png", ["a1"])
    before = _state(rig)
    sent: list[str] = []
    for limit in (len(letter) - 1, len(letter) + 10):  # over in the first file; over only with the second
        with pytest.raises(UploadTooLarge) as caught:
            receive_upload(rig.services, _files(("a.png", letter), ("b.png", letter)),
                           profile=None, max_bytes=limit, enqueue=sent.append)  # fmt: skip
        assert caught.value.limit == limit
    assert _state(rig) == before and sent == []
    assert _tree(rig.services.work_dir / "uploads") == []
    exact = receive_upload(rig.services, _files(("a.png", letter)), profile=None, max_bytes=len(letter), enqueue=sent.append)
    assert len(exact.files) == 1, "a file of exactly the limit is taken"


@pytest.mark.parametrize(
    "name", ["", "  ", ".", "..", "../letter.png", "scans/letter.png", "C:\\scans\\letter.png", "a\r\nb.png", "nul\x00.png",
             "tab\t.png", "\u202egnp.exe", "x" * 300 + ".png"],
)  # fmt: skip
def test_a_bad_file_name_is_refused_and_nothing_is_stored(make_rig: MakeRig, tmp_path: Path, name: str) -> None:
    rig = make_rig(SCRIPTS)
    letter = _scan(tmp_path, "letter.png", ["a1"])
    before = _state(rig)
    sent: list[str] = []
    with pytest.raises(InvalidUpload):
        receive_upload(rig.services, _files(("good.png", letter), (name, letter)), profile=None, max_bytes=MiB, enqueue=sent.append)
    assert _state(rig) == before and sent == []


def test_an_upload_without_files_is_refused(make_rig: MakeRig) -> None:
    rig = make_rig(SCRIPTS)
    with pytest.raises(InvalidUpload):
        receive_upload(rig.services, [], profile=None, max_bytes=MiB, enqueue=lambda _i: None)
    assert rig.services.catalog.list_batches() == []


def test_two_files_of_one_name_are_both_kept(make_rig: MakeRig, tmp_path: Path) -> None:
    rig = make_rig(SCRIPTS)
    first, second = _scan(tmp_path, "1.png", ["a1"]), _scan(tmp_path, "2.png", ["x"])
    receipt = receive_upload(rig.services, _files(("scan.png", first), ("SCAN.png", second), ("scan.png", first)),
                             profile=None, max_bytes=MiB, enqueue=lambda _i: None)  # fmt: skip
    assert [r.name for r in receipt.files] == ["scan.png", "SCAN (1).png", "scan (2).png"]
    assert len({r.id for r in receipt.files}) == 3


def test_an_upload_names_its_profile_by_folder_name_or_path(make_rig: MakeRig, tmp_path: Path) -> None:
    rig = make_rig(SCRIPTS)
    letter = _scan(tmp_path, "letter.png", ["a1"])
    key = f"{API_PREFIX}{rig.inbox.resolve()}"
    for name in ("inbox", str(rig.inbox), str(rig.inbox) + "/"):
        receipt = receive_upload(rig.services, _files(("l.png", letter)), profile=name, max_bytes=MiB, enqueue=lambda _i: None)
        batch = rig.services.catalog.get_batch(receipt.batch)
        assert batch is not None and batch.hotfolder == key
    for unknown in ("outbox", "/nowhere/inbox", "inbox/", "/in\x00box", "../inbox"):
        with pytest.raises(InvalidUpload):
            receive_upload(rig.services, _files(("l.png", letter)), profile=unknown, max_bytes=MiB, enqueue=lambda _i: None)


def test_an_upload_under_a_named_profile_is_recognised_with_its_languages(make_rig: MakeRig, tmp_path: Path) -> None:
    rig = make_rig(SCRIPTS, languages="kaz")
    receipt = receive_upload(rig.services, _files(("l.png", _scan(tmp_path, "l.png", ["a1"]))), profile="inbox",
                             max_bytes=MiB, enqueue=lambda _i: None)  # fmt: skip
    assert pipeline.process_input(receipt.files[0].id, rig.services).outcome == "archived"
    assert [r.languages for r in rig.engine.requests] == ["kaz"]
    assert not (rig.inbox / "quarantine").exists(), "an upload's batch wrote into the hot folder's quarantine"


# --- retrying a quarantined input ---------------------------------------------------------------


def _quarantined(rig: Rig, name: str = "bad.png") -> tuple[str, Path]:
    """A hot-folder file whose only page cannot be read: quarantined and moved to quarantine."""
    row = rig.ingest(rig.drop(name, ["bad"]))
    assert row.outcome == "quarantined", row
    moved = rig.quarantine / name
    assert moved.is_file()
    return row.id, moved


def test_a_quarantined_input_is_archived_when_retried_after_the_fix(make_rig: MakeRig) -> None:
    broken = make_rig({"bad": PageScript("never", fail="unreadable")})
    old_id, moved = _quarantined(broken)
    fixed = make_rig({"bad": "readable now"})  # a language pack installed: the page reads
    sent: list[str] = []

    row = retry_input(fixed.services, old_id, sent.append)

    old = fixed.services.catalog.get_input(old_id)
    assert old is not None and old.outcome == "quarantined", "the old row is history, unchanged"
    assert sent == [row.id] and row.outcome == "pending" and row.id != old_id
    assert row.sha256 == old.sha256 and row.name == "bad.png" and row.batch_id != old.batch_id
    batch = fixed.services.catalog.get_batch(row.batch_id)
    assert batch is not None and batch.hotfolder == f"{RETRY_PREFIX}{fixed.inbox.resolve()}"
    done = pipeline.process_input(row.id, fixed.services)
    assert done.outcome == "archived"
    assert [p.text for p in fixed.card(done).pages] == ["readable now"]
    assert moved.is_file(), "the retry moved or deleted a file in quarantine"


def test_a_replacement_in_the_quarantine_folder_is_what_is_retried(make_rig: MakeRig, tmp_path: Path) -> None:
    rig = make_rig({"bad": PageScript("never", fail="unreadable"), "good": "the page scanned again"})
    old_id, moved = _quarantined(rig)
    os.chmod(moved, 0o644)
    S.write_png(moved, "good")  # the operator scanned the page again under the same name
    row = retry_input(rig.services, old_id, lambda _i: None)
    old = rig.services.catalog.get_input(old_id)
    assert old is not None and row.sha256 != old.sha256 and row.size == moved.stat().st_size
    done = pipeline.process_input(row.id, rig.services)
    assert done.outcome == "archived" and [p.text for p in rig.card(done).pages] == ["the page scanned again"]


def test_the_retry_of_the_second_file_of_a_name_takes_that_file(make_rig: MakeRig) -> None:
    """Two scans dropped as «scan.png» at different times, both quarantined («scan.png»,
    «scan (1).png»): retrying the second took «scan.png», the first one's file."""
    rig = make_rig({"first": PageScript("never", fail="unreadable"), "second": PageScript("never", fail="unreadable")})
    first = rig.ingest(rig.drop("scan.png", ["first"]))
    second = rig.ingest(rig.drop("scan.png", ["second"]))
    assert (first.outcome, second.outcome) == ("quarantined", "quarantined")
    assert (rig.quarantine / "scan (1).png").is_file()
    fixed = make_rig({"first": "document one", "second": "document two"})
    retried = retry_input(fixed.services, second.id, lambda _i: None)
    assert retried.sha256 == second.sha256  # its own file, not the first scan's
    done = pipeline.process_input(retried.id, fixed.services)
    assert [p.text for p in fixed.card(done).pages] == ["document two"]


def test_a_retry_that_fails_again_can_be_retried_with_a_replacement(make_rig: MakeRig) -> None:
    rig = make_rig({"bad": PageScript("never", fail="unreadable"), "good": "fixed"})
    old_id, moved = _quarantined(rig)
    again = pipeline.process_input(retry_input(rig.services, old_id, lambda _i: None).id, rig.services)
    assert again.outcome == "quarantined" and moved.is_file() and not (rig.inbox / "quarantine" / "bad (1).png").exists()
    moved.unlink()
    S.write_png(moved, "good")
    third = pipeline.process_input(retry_input(rig.services, again.id, lambda _i: None).id, rig.services)
    assert third.outcome == "archived", "the replacement for the first input was not found through the retry"


def test_an_input_is_retried_once_a_second_click_is_refused(make_rig: MakeRig) -> None:
    """A double click on «retry» would archive the file twice (the second a duplicate of the
    first's card); once its retry was quarantined too, that retry is the one to retry."""
    rig = make_rig({"bad": PageScript("never", fail="unreadable")})
    old_id, _ = _quarantined(rig)
    sent: list[str] = []
    first = retry_input(rig.services, old_id, sent.append)
    with pytest.raises(InvalidChange, match=f"retried already, as input {first.id} \\(pending\\)$"):
        retry_input(rig.services, old_id, sent.append)
    assert sent == [first.id]
    assert pipeline.process_input(first.id, rig.services).outcome == "quarantined"
    with pytest.raises(InvalidChange, match=f"as input {first.id} \\(quarantined\\); retry that one"):
        retry_input(rig.services, old_id, sent.append)
    second = retry_input(rig.services, first.id, sent.append)
    assert sent == [first.id, second.id] and second.id not in (old_id, first.id)


def test_without_a_file_in_quarantine_the_stored_original_is_retried(make_rig: MakeRig) -> None:
    broken = make_rig({"bad": PageScript("never", fail="unreadable")})
    old_id, moved = _quarantined(broken)
    moved.unlink()
    fixed = make_rig({"bad": "readable now"})
    row = retry_input(fixed.services, old_id, lambda _i: None)
    assert pipeline.process_input(row.id, fixed.services).outcome == "archived"


def test_a_quarantined_upload_is_retried_from_its_stored_original(make_rig: MakeRig, tmp_path: Path) -> None:
    broken = make_rig({"bad": PageScript("never", fail="unreadable")})
    receipt = receive_upload(broken.services, _files(("bad.png", _scan(tmp_path, "bad.png", ["bad"]))),
                             profile=None, max_bytes=MiB, enqueue=lambda _i: None)  # fmt: skip
    assert pipeline.process_input(receipt.files[0].id, broken.services).outcome == "quarantined"
    fixed = make_rig({"bad": "readable now"})
    row = retry_input(fixed.services, receipt.files[0].id, lambda _i: None)
    batch = fixed.services.catalog.get_batch(row.batch_id)
    assert batch is not None and batch.hotfolder == f"{RETRY_PREFIX}{API_PREFIX}default"
    assert pipeline.process_input(row.id, fixed.services).outcome == "archived"
    assert not (fixed.inbox / "quarantine").exists()


def test_only_a_quarantined_input_can_be_retried(make_rig: MakeRig, tmp_path: Path) -> None:
    rig = make_rig(SCRIPTS)
    archived = rig.ingest(rig.drop("letter.png", ["a1"]))
    assert archived.outcome == "archived"
    pending = receive_upload(rig.services, _files(("l.png", _scan(tmp_path, "l.png", ["x"]))), profile=None,
                             max_bytes=MiB, enqueue=lambda _i: None).files[0]  # fmt: skip
    sent: list[str] = []
    for input_id in (archived.id, pending.id):
        with pytest.raises(InvalidChange):
            retry_input(rig.services, input_id, sent.append)
    with pytest.raises(InputNotFound):
        retry_input(rig.services, "no-such-input", sent.append)
    assert sent == []
