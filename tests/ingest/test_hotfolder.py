"""HotFolderWatcher driven by tick() and a fake clock: rescans only, no observer threads."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.errors import ConfigurationError, TransientError
from ingest.hotfolder import Candidate, HotFolderWatcher, filesystem_type, needs_polling
from ingest.profile import HotFolderProfile

SETTLE = 0.3


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Harness:
    """A watcher on ``hot`` whose time only moves when the test says so."""

    def __init__(self, hot: Path, **profile_options: object) -> None:
        hot.mkdir(exist_ok=True)
        options: dict[str, object] = {"settle_seconds": SETTLE, "rescan_seconds": 10.0, **profile_options}
        self.profile = HotFolderProfile(path=hot, **options)  # type: ignore[arg-type]
        self.clock = FakeClock()
        self.offered: list[Candidate] = []
        self.watcher = HotFolderWatcher([self.profile], self.offered.append, clock=self.clock)

    def tick_at(self, now: float) -> list[Candidate]:
        self.clock.now = now
        return self.watcher.tick()


def write(path: Path, data: bytes = b"data", mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def test_a_loose_file_is_one_batch_offered_once_after_settling(tmp_path: Path) -> None:
    h = Harness(tmp_path / "hot")
    scan = write(tmp_path / "hot" / "scan.pdf")
    assert h.tick_at(0.0) == []
    assert h.tick_at(SETTLE - 0.01) == []
    assert h.tick_at(SETTLE) == [Candidate(h.profile, scan, (scan,), "scan.pdf")]
    for now in (1.0, 5.0, 20.0, 40.0):  # across several rescans
        assert h.tick_at(now) == []
    assert len(h.offered) == 1
    assert not h.offered[0].is_folder


def test_a_file_that_changes_after_it_was_offered_is_offered_again(tmp_path: Path) -> None:
    h = Harness(tmp_path / "hot", rescan_seconds=1.0)
    scan = write(tmp_path / "hot" / "scan.pdf", b"v1", mtime=1_000)
    h.tick_at(0.0)
    assert len(h.tick_at(SETTLE)) == 1
    write(scan, b"version 2", mtime=2_000)
    h.tick_at(1.0)  # the rescan sees the change
    assert h.tick_at(1.0 + SETTLE - 0.01) == []
    assert [c.files for c in h.tick_at(1.0 + SETTLE)] == [(scan,)]


def test_a_file_removed_and_dropped_again_is_offered_again(tmp_path: Path) -> None:
    h = Harness(tmp_path / "hot", rescan_seconds=1.0)
    scan = write(tmp_path / "hot" / "scan.pdf", b"same", mtime=1_000)
    h.tick_at(0.0)
    assert len(h.tick_at(SETTLE)) == 1
    scan.unlink()  # the caller archived it
    h.tick_at(1.0)  # the rescan forgets it
    write(scan, b"same", mtime=1_000)  # the operator drops the very same file again
    h.tick_at(2.0)
    assert len(h.tick_at(2.0 + SETTLE)) == 1
    assert len(h.offered) == 2


def test_a_file_created_after_the_first_rescan_waits_for_the_next_one(tmp_path: Path) -> None:
    h = Harness(tmp_path / "hot", rescan_seconds=5.0)
    h.tick_at(0.0)
    scan = write(tmp_path / "hot" / "late.tif")  # no observer is running: no event arrives
    assert h.tick_at(4.9) == []
    h.tick_at(5.0)
    assert [c.batch_root for c in h.tick_at(5.0 + SETTLE)] == [scan]


def test_hidden_temporary_and_quarantine_names_are_never_offered(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    h = Harness(hot)
    for name in [".hidden.pdf", "~$letter.docx", "scan.tmp", "scan.part", "scan.partial", "scan.crdownload",
                 "scan.swp", "scan.pdf~", ".~lock.card.odt#", "old.pdf.reason.txt", "quarantine/rejected.pdf",
                 ".sync/batch.pdf", "batch/.thumbs/p1.png", "batch/p1.png.part"]:
        write(hot / name)
    good = write(hot / "good.pdf")
    h.tick_at(0.0)
    offered = h.tick_at(SETTLE)
    assert [c.files for c in offered] == [(good,)]


def test_a_folder_is_one_batch_in_natural_order_once_every_file_is_stable(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    h = Harness(hot)
    batch = hot / "batch-2024-03-12"
    pages = [write(batch / name) for name in ("page10.png", "page2.png", "page1.png")]
    h.tick_at(0.0)
    with pages[0].open("ab") as f:  # still being written when the others have settled
        f.write(b"more")
    assert h.tick_at(SETTLE) == []
    assert h.tick_at(2 * SETTLE - 0.01) == []
    (candidate,) = h.tick_at(2 * SETTLE)
    assert candidate.batch_root == batch
    assert candidate.batch_name == "batch-2024-03-12"
    assert [p.name for p in candidate.files] == ["page1.png", "page2.png", "page10.png"]
    assert candidate.is_folder


def test_a_file_that_appears_in_a_settled_folder_holds_the_batch_back(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    h = Harness(hot)
    batch = hot / "batch"
    write(batch / "p1.png")
    h.tick_at(0.0)
    late = write(batch / "p2.png")  # no event: only the fresh listing at offer time sees it
    assert h.tick_at(SETTLE) == []
    assert [p.name for c in h.tick_at(2 * SETTLE) for p in c.files] == ["p1.png", "p2.png"]
    assert late.exists()


def test_files_added_to_an_offered_folder_are_offered_alone(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    h = Harness(hot, rescan_seconds=1.0)
    batch = hot / "batch"
    write(batch / "p1.png")
    h.tick_at(0.0)
    assert len(h.tick_at(SETTLE)) == 1
    p2 = write(batch / "p2.png")
    h.tick_at(1.0)
    assert [c.files for c in h.tick_at(1.0 + SETTLE)] == [(p2,)]


def test_nested_folders_belong_to_the_top_level_batch(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    h = Harness(hot)
    write(hot / "box" / "folder10" / "a.png")
    write(hot / "box" / "folder9" / "a.png")
    write(hot / "box" / "cover.png")
    h.tick_at(0.0)
    (candidate,) = h.tick_at(SETTLE)
    assert [p.relative_to(hot / "box").as_posix() for p in candidate.files] == [
        "cover.png", "folder9/a.png", "folder10/a.png"
    ]


def test_marker_mode_waits_for_the_marker_file(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    h = Harness(hot, marker="READY")
    batch = hot / "batch"
    page = write(batch / "p1.png")
    loose = write(hot / "loose.pdf")
    h.tick_at(0.0)
    assert [c.files for c in h.tick_at(SETTLE)] == [(loose,)]  # loose files need no marker
    assert h.tick_at(5.0) == []
    write(batch / "READY", b"")
    assert [c.files for c in h.tick_at(5.25)] == [(page,)]  # the marker itself is not a file of the batch


def test_a_directory_named_like_a_file_is_a_batch_folder(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    h = Harness(hot)
    page = write(hot / "scan.pdf" / "page1.png")
    h.tick_at(0.0)
    assert h.tick_at(SETTLE) == [Candidate(h.profile, hot / "scan.pdf", (page,), "scan.pdf")]


def test_symlinks_are_offered_as_files_and_not_followed(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    h = Harness(hot)
    outside = tmp_path / "outside"
    write(outside / "secret.png")
    (hot / "linked-folder").symlink_to(outside, target_is_directory=True)
    (hot / "batch").mkdir()
    (hot / "batch" / "link.png").symlink_to(outside / "secret.png")
    h.tick_at(0.0)
    offered = {c.batch_name: c.files for c in h.tick_at(SETTLE)}
    assert offered == {"linked-folder": (hot / "linked-folder",), "batch": (hot / "batch" / "link.png",)}


def test_a_failing_callback_is_retried_after_the_next_rescan(tmp_path: Path) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    profile = HotFolderProfile(path=hot, settle_seconds=SETTLE, rescan_seconds=1.0)
    clock = FakeClock()
    calls: list[Candidate] = []

    def on_ready(candidate: Candidate) -> None:
        calls.append(candidate)
        if len(calls) == 1:
            raise RuntimeError("broker down")

    watcher = HotFolderWatcher([profile], on_ready, clock=clock)
    write(hot / "scan.pdf")
    for now in (0.0, SETTLE, 0.5, 0.9):
        clock.now = now
        watcher.tick()
    assert len(calls) == 1
    for now in (1.0, 1.0 + SETTLE):
        clock.now = now
        watcher.tick()
    assert len(calls) == 2


def test_a_transient_failure_is_one_log_line_without_a_traceback(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    hot = tmp_path / "hot"
    hot.mkdir()
    profile = HotFolderProfile(path=hot, settle_seconds=SETTLE, rescan_seconds=1.0)
    clock = FakeClock()

    def on_ready(candidate: Candidate) -> None:
        if candidate.batch_name == "scan.pdf":
            raise TransientError("the broker did not take input 1: ConnectionError: refused")
        raise RuntimeError("a bug")

    watcher = HotFolderWatcher([profile], on_ready, clock=clock)
    write(hot / "scan.pdf")
    write(hot / "other.pdf")
    for now in (0.0, SETTLE):
        clock.now = now
        watcher.tick()
    waits = [r for r in caplog.records if "scan.pdf waits" in r.getMessage()]
    assert len(waits) == 1 and waits[0].exc_info is None and "ConnectionError: refused" in waits[0].getMessage()
    bugs = [r for r in caplog.records if "other.pdf failed" in r.getMessage()]
    assert len(bugs) == 1 and bugs[0].exc_info is not None  # an unexpected error keeps its traceback


def test_overlapping_hot_folders_are_rejected(tmp_path: Path) -> None:
    profiles = [HotFolderProfile(path=tmp_path), HotFolderProfile(path=tmp_path / "inner")]
    with pytest.raises(ConfigurationError):
        HotFolderWatcher(profiles, lambda c: None)


def test_starting_on_a_missing_folder_is_a_configuration_error(tmp_path: Path) -> None:
    watcher = HotFolderWatcher([HotFolderProfile(path=tmp_path / "missing")], lambda c: None)
    with pytest.raises(ConfigurationError, match="does not exist"):
        watcher.start()


MOUNTS = (
    "sysfs /sys sysfs rw 0 0\n"
    "/dev/sda1 / ext4 rw,relatime 0 0\n"
    "//nas/scans /mnt/scan\\040share cifs rw,vers=3.0 0 0\n"
    "nas:/export /srv/nfs nfs4 rw 0 0\n"
    "/dev/sdb1 /srv/nfs/local ext4 rw 0 0\n"
    "user@host:/in /mnt/sshfs fuse.sshfs rw 0 0\n"
)


@pytest.mark.parametrize(
    ("path", "fs_type", "polling"),
    [
        ("/home/user/inbox", "ext4", False),
        ("/mnt/scan share/inbox", "cifs", True),
        ("/mnt/scan", "ext4", False),  # a prefix of the name is not a parent folder
        ("/srv/nfs/inbox", "nfs4", True),
        ("/srv/nfs/local/inbox", "ext4", False),  # the longest mount point wins
        ("/mnt/sshfs", "fuse.sshfs", True),
    ],
)
def test_needs_polling_reads_the_mount_table(tmp_path: Path, path: str, fs_type: str, polling: bool) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(MOUNTS)
    assert filesystem_type(Path(path), mounts_file=mounts) == fs_type
    assert needs_polling(Path(path), mounts_file=mounts) is polling


def test_needs_polling_follows_symlinks_to_the_share(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/sda1 / ext4 rw 0 0\nnas:/x {tmp_path / 'share'} nfs rw 0 0\n")
    (tmp_path / "share").mkdir()
    (tmp_path / "inbox").symlink_to(tmp_path / "share")
    assert needs_polling(tmp_path / "inbox", mounts_file=mounts)


def test_needs_polling_is_false_without_a_mount_table(tmp_path: Path) -> None:
    assert not needs_polling(tmp_path, mounts_file=tmp_path / "no-such-file")


def test_names_that_are_not_utf8_are_renamed_then_offered(tmp_path: Path) -> None:
    """A Windows PC saving to a share mounted with another charset writes «При.pdf» in
    Windows-1251; nothing could record such a name (it was offered and failed on every rescan).
    It is renamed, read as Windows-1251, and offered under the new name; a name taken is not
    overwritten; a batch folder is renamed the same way, with the files in it."""
    hot = tmp_path / "hot"
    h = Harness(hot)  # one rescan, at 0: the renamed files are offered without waiting for another
    loose = write(hot / os.fsdecode(b"\xcf\xf0\xe8.pdf"), b"scan")
    taken = write(hot / "Счёт.pdf", b"another")
    clash = write(hot / os.fsdecode(b"\xd1\xf7\xb8\xf2.pdf"), b"third")  # «Счёт» in Windows-1251
    folder = hot / os.fsdecode(b"\xcf\xe0\xea\xe5\xf2")  # «Пакет»
    inner = write(folder / os.fsdecode(b"\xeb\xe8\xf1\xf21.png"), b"page")  # «лист1»
    day = hot / "день"
    write(day / "a.png", b"first page")
    write(day / os.fsdecode(b"b\x98.png"), b"second page")  # 0x98: no character in Windows-1251
    offered: list[Candidate] = []
    for step in range(16):
        offered += h.tick_at(step * 0.5)
    names = sorted(p.relative_to(hot).as_posix() for c in offered for p in c.files)
    assert names == ["Пакет/лист1.png", "При.pdf", "Счёт (1).pdf", "Счёт.pdf", "день/a.png", "день/b_.png"]
    (batch,) = [c for c in offered if c.batch_name == "день"]
    assert len(batch.files) == 2, "the batch folder is offered once, whole"
    assert not any(p.exists() for p in (loose, clash, inner)) and taken.read_bytes() == b"another"
    assert (hot / "Счёт (1).pdf").read_bytes() == b"third"
    assert all(c.batch_name.isprintable() for c in offered)
