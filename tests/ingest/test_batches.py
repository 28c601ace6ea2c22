"""Name rules and batch-folder listing."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.batches import has_marker, is_ignored, is_ignored_below, list_batch_files, natural_key
from ingest.profile import HotFolderProfile


def test_natural_key_orders_numbers_by_value() -> None:
    names = ["page10.png", "Page2.png", "page1.png", "page1a.png", "page01.png", "cover.png"]
    assert sorted(names, key=natural_key) == [
        "cover.png", "page01.png", "page1.png", "page1a.png", "Page2.png", "page10.png"
    ]


def test_natural_key_handles_cyrillic_and_names_without_digits() -> None:
    assert sorted(["лист 3", "Лист 12", "акт"], key=natural_key) == ["акт", "лист 3", "Лист 12"]


@pytest.mark.parametrize(
    "name",
    [".hidden.pdf", "~$report.docx", "scan.tmp", "scan.PART", "scan.partial", "scan.crdownload",
     ".scan.swp", "scan.swp", "scan.pdf~", ".~lock.scan.odt#", "scan.pdf.reason.txt", "Thumbs.db", "desktop.ini"],
)
def test_temporary_hidden_and_own_files_are_ignored(tmp_path: Path, name: str) -> None:
    assert is_ignored(tmp_path / name)


@pytest.mark.parametrize("name", ["scan.pdf", "scan.tmp.pdf", "partial-scan.tif", "~scan.png", "READY.pdf"])
def test_ordinary_names_are_not_ignored(tmp_path: Path, name: str) -> None:
    assert not is_ignored(tmp_path / name, HotFolderProfile(path=tmp_path, marker="READY"))


def test_the_marker_file_is_ignored_in_any_case(tmp_path: Path) -> None:
    profile = HotFolderProfile(path=tmp_path, marker="READY")
    assert is_ignored(tmp_path / "batch" / "READY", profile)
    assert is_ignored(tmp_path / "batch" / "ready", profile)
    assert not is_ignored(tmp_path / "batch" / "READY", HotFolderProfile(path=tmp_path))


def test_quarantine_folders_are_ignored_but_a_file_named_so_is_not(tmp_path: Path) -> None:
    (tmp_path / "Quarantine").mkdir()
    assert is_ignored(tmp_path / "Quarantine")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "quarantine").write_bytes(b"%PDF")
    assert not is_ignored(tmp_path / "sub" / "quarantine")


def test_the_profiles_own_quarantine_folder_is_ignored_whatever_its_name(tmp_path: Path) -> None:
    profile = HotFolderProfile(path=tmp_path, quarantine=tmp_path / "rejected")
    assert is_ignored(tmp_path / "rejected", profile)
    (tmp_path / "rejected").mkdir()
    (tmp_path / "via-link").symlink_to(tmp_path, target_is_directory=True)
    assert is_ignored(tmp_path / "via-link" / "rejected", profile)
    assert not is_ignored(tmp_path / "accepted", profile)


def test_a_file_inside_an_ignored_folder_is_ignored(tmp_path: Path) -> None:
    assert is_ignored_below(tmp_path, tmp_path / ".staging" / "scan.pdf")
    assert not is_ignored_below(tmp_path, tmp_path / "batch" / "scan.pdf")
    assert is_ignored_below(tmp_path / "hot", tmp_path / "elsewhere" / "scan.pdf")


def test_list_batch_files_is_recursive_natural_and_skips_ignored(tmp_path: Path) -> None:
    batch = tmp_path / "batch"
    (batch / "part2").mkdir(parents=True)
    (batch / "part10").mkdir()
    (batch / ".cache").mkdir()
    for rel in ["page10.png", "page2.png", "part10/a.png", "part2/b.png", "part2/a.png", ".cache/x.png",
                "page3.png.part", "READY"]:
        (batch / rel).write_bytes(b"x")
    profile = HotFolderProfile(path=tmp_path, marker="READY")
    files = list_batch_files(batch, profile)
    assert [f.relative_to(batch).as_posix() for f in files] == [
        "page2.png", "page10.png", "part2/a.png", "part2/b.png", "part10/a.png"
    ]


def test_list_batch_files_reports_symlinks_as_files_without_following(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.png").write_bytes(b"x")
    batch = tmp_path / "batch"
    batch.mkdir()
    (batch / "linked").symlink_to(outside, target_is_directory=True)
    assert list_batch_files(batch) == [batch / "linked"]


def test_list_batch_files_raises_for_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        list_batch_files(tmp_path / "nope")


def test_has_marker_is_case_insensitive(tmp_path: Path) -> None:
    assert not has_marker(tmp_path, "READY")
    (tmp_path / "ready").write_bytes(b"")
    assert has_marker(tmp_path, "READY")
    assert not has_marker(tmp_path / "missing", "READY")
