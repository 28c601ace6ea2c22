"""HotFolderWatcher with real watchdog observers on real files (rescans far off unless said)."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ingest.hotfolder import Candidate, HotFolderWatcher
from ingest.profile import HotFolderProfile

SETTLE = 0.3
TIMEOUT = 5.0


class Recorder:
    def __init__(self) -> None:
        self.offered: list[Candidate] = []
        self.times: list[float] = []

    def __call__(self, candidate: Candidate) -> None:
        self.offered.append(candidate)
        self.times.append(time.monotonic())


@pytest.fixture
def hot(tmp_path: Path) -> Path:
    folder = tmp_path / "hot"
    folder.mkdir()
    return folder


@pytest.fixture
def watch(hot: Path) -> Iterator[Callable[..., tuple[HotFolderWatcher, Recorder]]]:
    started: list[HotFolderWatcher] = []

    def make(**options: object) -> tuple[HotFolderWatcher, Recorder]:
        settings: dict[str, object] = {"settle_seconds": SETTLE, "rescan_seconds": 600.0, **options}
        recorder = Recorder()
        watcher = HotFolderWatcher([HotFolderProfile(path=hot, **settings)], recorder)  # type: ignore[arg-type]
        watcher.start()
        started.append(watcher)
        watcher.tick()  # the initial rescan: everything after this arrives through the observer
        return watcher, recorder

    yield make
    for watcher in started:
        watcher.stop()


def tick_until(watcher: HotFolderWatcher, done: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        watcher.tick()
        if done():
            return True
        time.sleep(0.05)
    return False


def tick_for(watcher: HotFolderWatcher, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        watcher.tick()
        time.sleep(0.05)


def test_a_dropped_file_is_offered_once_after_settling(
    hot: Path, watch: Callable[..., tuple[HotFolderWatcher, Recorder]]
) -> None:
    watcher, recorder = watch(polling=False)
    assert not watcher.uses_polling(HotFolderProfile(path=hot, settle_seconds=SETTLE, rescan_seconds=600.0, polling=False))
    scan = hot / "scan.pdf"
    scan.write_bytes(b"%PDF-1.7")
    written = time.monotonic()
    assert tick_until(watcher, lambda: bool(recorder.offered))
    assert recorder.times[0] - written >= SETTLE
    tick_for(watcher, 2 * SETTLE)
    assert [c.files for c in recorder.offered] == [(scan,)]


def test_a_file_written_in_chunks_is_offered_only_after_writes_stop(
    hot: Path, watch: Callable[..., tuple[HotFolderWatcher, Recorder]]
) -> None:
    watcher, recorder = watch(settle_seconds=0.5)
    scan = hot / "scan.tif"
    with scan.open("wb") as f:
        for _ in range(8):  # a chunk every 0.25 s for ~2 s: never quiet for 0.5 s
            f.write(b"x" * 4096)
            f.flush()
            last_write = time.monotonic()
            tick_for(watcher, 0.25)
            assert recorder.offered == []
    assert tick_until(watcher, lambda: bool(recorder.offered))
    assert recorder.times[0] - last_write >= 0.5
    assert recorder.offered[0].files == (scan,)
    assert scan.stat().st_size == 8 * 4096


def test_a_folder_moved_in_is_offered_as_one_batch_in_natural_order(
    tmp_path: Path, hot: Path, watch: Callable[..., tuple[HotFolderWatcher, Recorder]]
) -> None:
    watcher, recorder = watch()
    staging = tmp_path / "staging"
    staging.mkdir()
    for name in ("page10.png", "page2.png", "page1.png"):
        (staging / name).write_bytes(name.encode())
    os.rename(staging, hot / "batch")
    assert tick_until(watcher, lambda: bool(recorder.offered))
    (candidate,) = recorder.offered
    assert candidate.batch_name == "batch"
    assert [p.name for p in candidate.files] == ["page1.png", "page2.png", "page10.png"]


def test_a_folder_is_held_back_while_a_file_in_it_is_still_written(
    hot: Path, watch: Callable[..., tuple[HotFolderWatcher, Recorder]]
) -> None:
    watcher, recorder = watch()
    batch = hot / "batch"
    batch.mkdir()
    (batch / "p1.png").write_bytes(b"one")
    with (batch / "p2.png").open("wb") as f:
        for _ in range(5):  # quiet for 0.15 s at most, settle is 0.3 s
            f.write(b"x" * 1024)
            f.flush()
            tick_for(watcher, 0.15)
            assert recorder.offered == []
    assert tick_until(watcher, lambda: bool(recorder.offered))
    assert [p.name for p in recorder.offered[0].files] == ["p1.png", "p2.png"]


def test_marker_mode_offers_a_folder_when_the_marker_appears(
    hot: Path, watch: Callable[..., tuple[HotFolderWatcher, Recorder]]
) -> None:
    watcher, recorder = watch(marker="READY")
    batch = hot / "batch"
    batch.mkdir()
    (batch / "p1.png").write_bytes(b"one")
    tick_for(watcher, 2 * SETTLE)
    assert recorder.offered == []
    (batch / "READY").touch()
    assert tick_until(watcher, lambda: bool(recorder.offered))
    assert [p.name for p in recorder.offered[0].files] == ["p1.png"]


def test_the_polling_observer_finds_new_files(
    hot: Path, watch: Callable[..., tuple[HotFolderWatcher, Recorder]]
) -> None:
    watcher, recorder = watch(polling=True)
    profile = HotFolderProfile(path=hot, settle_seconds=SETTLE, rescan_seconds=600.0, polling=True)
    assert watcher.uses_polling(profile)
    scan = hot / "polled.pdf"
    scan.write_bytes(b"%PDF")
    assert tick_until(watcher, lambda: bool(recorder.offered))
    assert [c.files for c in recorder.offered] == [(scan,)]


def test_files_present_before_start_are_found_by_the_first_rescan(hot: Path) -> None:
    early = hot / "early.pdf"
    early.write_bytes(b"%PDF")
    recorder = Recorder()
    watcher = HotFolderWatcher([HotFolderProfile(path=hot, settle_seconds=SETTLE, rescan_seconds=600.0)], recorder)
    with watcher:
        assert tick_until(watcher, lambda: bool(recorder.offered))
    assert [c.files for c in recorder.offered] == [(early,)]


def test_run_offers_files_until_stopped(hot: Path) -> None:
    recorder = Recorder()
    watcher = HotFolderWatcher([HotFolderProfile(path=hot, settle_seconds=SETTLE)], recorder, tick_seconds=0.05)
    stop = threading.Event()
    runner = threading.Thread(target=watcher.run, args=(stop,))
    runner.start()
    try:
        (hot / "scan.pdf").write_bytes(b"%PDF")
        deadline = time.monotonic() + TIMEOUT
        while not recorder.offered and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        runner.join(timeout=TIMEOUT)
    assert not runner.is_alive()
    assert len(recorder.offered) == 1


def test_a_hot_folder_reached_through_a_symlink_still_gets_notifications(tmp_path: Path, hot: Path) -> None:
    link = tmp_path / "inbox"
    link.symlink_to(hot, target_is_directory=True)
    recorder = Recorder()
    profile = HotFolderProfile(path=link, settle_seconds=SETTLE, rescan_seconds=600.0, polling=False)
    with HotFolderWatcher([profile], recorder) as watcher:
        watcher.tick()
        (link / "scan.pdf").write_bytes(b"%PDF")
        assert tick_until(watcher, lambda: bool(recorder.offered))
    assert [c.files for c in recorder.offered] == [(hot / "scan.pdf",)]
