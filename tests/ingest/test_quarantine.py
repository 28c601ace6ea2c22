"""quarantine(): the original moves untouched, a reason file explains, nothing is overwritten."""

from __future__ import annotations

import errno
import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.errors import TransientError
from ingest.quarantine import REASON_SUFFIX, find_quarantined, quarantine, write_batch_ledger_json

WHEN = datetime(2024, 3, 12, 9, 30, 5, tzinfo=UTC)


def drop(folder: Path, name: str, data: bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(data)
    return path


def test_quarantine_moves_the_original_and_writes_a_reason(tmp_path: Path) -> None:
    original = drop(tmp_path / "hot" / "batch-7", "scan.pdf", b"%PDF-1.7 broken")
    target = quarantine(
        original, tmp_path / "quarantine", "file is encrypted", "normalize",
        batch="batch-7", hint="Remove the password and scan again.", now=WHEN,
    )
    assert target == tmp_path / "quarantine" / "batch-7" / "scan.pdf"
    assert not original.exists()
    assert target.read_bytes() == b"%PDF-1.7 broken"
    reason = (target.parent / "scan.pdf.reason.txt").read_text(encoding="utf-8")
    assert "file is encrypted" in reason
    assert "normalize" in reason
    assert "batch-7" in reason
    assert "Remove the password and scan again." in reason
    assert "2024-03-12T09:30:05+00:00" in reason
    assert str(original) in reason


def test_a_second_file_of_the_same_name_gets_a_suffix_and_overwrites_nothing(tmp_path: Path) -> None:
    qdir = tmp_path / "quarantine"
    first = quarantine(drop(tmp_path / "a", "scan.pdf", b"first"), qdir, "bad", "ocr", batch="b")
    second = quarantine(drop(tmp_path / "b", "scan.pdf", b"second"), qdir, "worse", "ocr", batch="b")
    third = quarantine(drop(tmp_path / "c", "scan.pdf", b"third"), qdir, "worst", "ocr", batch="b")
    assert (first.name, second.name, third.name) == ("scan.pdf", "scan (1).pdf", "scan (2).pdf")
    assert [p.read_bytes() for p in (first, second, third)] == [b"first", b"second", b"third"]
    assert "worse" in (qdir / "b" / "scan (1).pdf.reason.txt").read_text(encoding="utf-8")
    assert "bad" in (qdir / "b" / "scan.pdf.reason.txt").read_text(encoding="utf-8")


def test_names_without_an_extension_get_a_suffix_too(tmp_path: Path) -> None:
    qdir = tmp_path / "quarantine"
    quarantine(drop(tmp_path / "a", "README", b"1"), qdir, "bad", "ingest")
    second = quarantine(drop(tmp_path / "b", "README", b"2"), qdir, "bad", "ingest")
    assert second == qdir / "README (1)"


def test_without_a_batch_the_file_lands_directly_in_the_quarantine_folder(tmp_path: Path) -> None:
    target = quarantine(drop(tmp_path / "hot", "photo.jpg", b"\xff\xd8\xff"), tmp_path / "q", "bad", "ingest")
    assert target == tmp_path / "q" / "photo.jpg"
    assert "Batch:       -" in (tmp_path / "q" / "photo.jpg.reason.txt").read_text(encoding="utf-8")


def test_a_batch_name_cannot_escape_the_quarantine_folder(tmp_path: Path) -> None:
    qdir = tmp_path / "deep" / "q"
    for batch in ("..", "../../etc"):
        target = quarantine(drop(tmp_path / "hot", "x.pdf", b"x"), qdir, "bad", "ingest", batch=batch)
        assert qdir in target.parents


def test_a_move_across_filesystems_copies_then_removes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = drop(tmp_path / "hot", "scan.tif", b"II*\x00 pages")
    os.utime(original, (1_000_000, 1_000_000))
    real_replace = os.replace

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if Path(src) == original:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    target = quarantine(original, tmp_path / "q", "bad", "ocr", batch="b")
    assert not original.exists()
    assert target.read_bytes() == b"II*\x00 pages"
    assert target.stat().st_mtime == 1_000_000  # copy2 keeps the timestamps
    assert sorted(p.name for p in target.parent.iterdir()) == ["scan.tif", "scan.tif.reason.txt"]


def test_a_symlink_is_moved_as_a_link(tmp_path: Path) -> None:
    secret = drop(tmp_path / "elsewhere", "secret.pdf", b"secret")
    link = tmp_path / "hot" / "link.pdf"
    link.parent.mkdir()
    link.symlink_to(secret)
    target = quarantine(link, tmp_path / "q", "symbolic links are not accepted", "ingest")
    assert target.is_symlink()
    assert secret.read_bytes() == b"secret"
    assert not os.path.lexists(link)


def test_a_failed_move_leaves_no_placeholder_or_reason(tmp_path: Path) -> None:
    qdir = tmp_path / "q"
    with pytest.raises(TransientError) as caught:
        quarantine(tmp_path / "hot" / "vanished.pdf", qdir, "bad", "ingest", batch="b")
    assert caught.value.stage == "quarantine"
    assert list((qdir / "b").iterdir()) == []


def test_the_batch_ledger_is_written_as_json(tmp_path: Path) -> None:
    entries: list[dict[str, object]] = [
        {"path": tmp_path / "hot" / "a.pdf", "outcome": "archived", "card": "ВХ-2024-000001"},
        {"path": "b.pdf", "outcome": "quarantined", "reason": "пустой файл"},
    ]
    path = write_batch_ledger_json(tmp_path / "q", "batch-7", entries, now=WHEN)
    assert path == tmp_path / "q" / "batch-7.ledger.json"
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["batch"] == "batch-7"
    assert document["written_at"] == "2024-03-12T09:30:05+00:00"
    assert document["files"][0] == {"path": str(tmp_path / "hot" / "a.pdf"), "outcome": "archived",
                                    "card": "ВХ-2024-000001"}
    assert document["files"][1]["reason"] == "пустой файл"
    assert [p.name for p in path.parent.iterdir()] == ["batch-7.ledger.json"]  # no temp files left


def test_rewriting_the_ledger_replaces_it(tmp_path: Path) -> None:
    write_batch_ledger_json(tmp_path, "b", [{"outcome": "pending"}])
    path = write_batch_ledger_json(tmp_path, "b", [{"outcome": "archived"}])
    assert json.loads(path.read_text(encoding="utf-8"))["files"] == [{"outcome": "archived"}]


def test_a_name_near_the_filesystem_limit_is_quarantined_with_its_note(tmp_path: Path) -> None:
    """A 244-byte name is a legal file; its ``.reason.txt`` and the temporary files beside it
    were not («File name too long»: the input stayed in the hot folder, marked quarantined)."""
    name = "д" * 120 + ".pdf"
    assert len(name.encode()) == 244
    original = drop(tmp_path / "hot", name, b"%PDF-1.4 nope")
    target = quarantine(original, tmp_path / "q", "not a PDF", "ingest", batch="b")
    again = quarantine(drop(tmp_path / "hot", name, b"second"), tmp_path / "q", "not a PDF", "ingest", batch="b")
    assert not original.exists() and target.read_bytes() == b"%PDF-1.4 nope" and again.read_bytes() == b"second"
    assert target.name.startswith("д" * 100) and target.name.endswith("….pdf") and again.name.endswith("… (1).pdf")
    for path in (target, again):
        note = path.with_name(path.name + ".reason.txt")
        assert note.is_file() and len(note.name.encode()) <= 255
    assert sorted(p.name for p in (tmp_path / "q" / "b").iterdir() if p.name.startswith(".")) == []
    ledger = write_batch_ledger_json(tmp_path / "q", name, [{"outcome": "quarantined"}], batch_id="1")
    assert ledger.is_file() and len(ledger.name.encode()) <= 255


def test_a_batch_name_that_comes_back_gets_its_own_ledger(tmp_path: Path) -> None:
    """A scanner that always writes ``scan.pdf``: the second batch's ledger went over the first's."""
    first = write_batch_ledger_json(tmp_path, "scan.pdf", [{"outcome": "quarantined"}], batch_id="b1")
    second = write_batch_ledger_json(tmp_path, "scan.pdf", [{"outcome": "archived"}], batch_id="b2")
    again = write_batch_ledger_json(tmp_path, "scan.pdf", [{"outcome": "duplicate"}], batch_id="b1")
    assert first.name == "scan.pdf.ledger.json" and second.name == "scan.pdf (1).ledger.json" and again == first
    assert json.loads(first.read_text(encoding="utf-8"))["files"] == [{"outcome": "duplicate"}]
    assert json.loads(second.read_text(encoding="utf-8"))["batch_id"] == "b2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["scan.pdf (1).ledger.json", "scan.pdf.ledger.json"]


def test_each_input_finds_its_own_file_among_files_of_one_name(tmp_path: Path) -> None:
    q = tmp_path / "quarantine"
    first = quarantine(drop(tmp_path / "in", "scan.pdf", b"one"), q, "bad", "ocr", now=WHEN, input_id="in-1")
    second = quarantine(drop(tmp_path / "in", "scan.pdf", b"two"), q, "bad", "ocr", now=WHEN, input_id="in-2")
    assert (first.name, second.name) == ("scan.pdf", "scan (1).pdf")
    assert "Input:       in-2" in (q / f"scan (1).pdf{REASON_SUFFIX}").read_text(encoding="utf-8")
    assert find_quarantined(q, "scan.pdf", "in-2") == second and find_quarantined(q, "scan.pdf", "in-1") == first
    assert find_quarantined(q, "scan.pdf", "in-3") is None
    # the operator removed the first pair after dealing with it: the second is still found
    first.unlink()
    first.with_name(first.name + REASON_SUFFIX).unlink()
    assert find_quarantined(q, "scan.pdf", "in-2") == second


def test_a_move_cut_off_by_a_crash_leaves_no_empty_file_for_a_retry_to_take(tmp_path: Path) -> None:
    """The process died between the note and the move: an empty «scan.png» stayed beside a note
    saying it was the original, and the next try quarantined the file as «scan (1).png»."""
    q = tmp_path / "quarantine"
    q.mkdir()
    (q / "scan.png").write_bytes(b"")  # the placeholder and note of a try in progress
    (q / f"scan.png{REASON_SUFFIX}").write_text("File:        scan.png\nInput:       in-7\n", encoding="utf-8")
    assert find_quarantined(q, "scan.png", "in-7") == q / "scan.png"  # nothing better to offer
    busy = quarantine(drop(tmp_path / "in", "scan.png", b"the scan"), q, "bad", "ocr", now=WHEN, input_id="in-7")
    assert busy == q / "scan (1).png"  # a young placeholder may be another try's: never taken
    assert find_quarantined(q, "scan.png", "in-7") == busy  # the file, not the empty placeholder
    busy.unlink()
    busy.with_name(busy.name + REASON_SUFFIX).unlink()
    hour_ago = WHEN.timestamp() - 3600
    os.utime(q / "scan.png", (hour_ago, hour_ago))  # the try that died, long ago
    moved = quarantine(drop(tmp_path / "in", "scan.png", b"the scan"), q, "bad", "ocr", now=WHEN, input_id="in-7")
    assert moved == q / "scan.png" and moved.read_bytes() == b"the scan"
    assert not (q / "scan (1).png").exists()
    # another input's empty file is never taken over
    other = quarantine(drop(tmp_path / "in", "scan.png", b"other"), q, "bad", "ocr", now=WHEN, input_id="in-8")
    assert other == q / "scan (1).png"
