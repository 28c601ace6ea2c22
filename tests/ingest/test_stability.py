"""StabilityTracker: a file is ready once its size and mtime stop changing for settle_seconds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ingest.stability import StabilityTracker, file_signature


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def append(path: Path, data: bytes, mtime_ns: int) -> None:
    with path.open("ab") as f:
        f.write(data)
    os.utime(path, ns=(mtime_ns, mtime_ns))  # distinct mtimes even on coarse-grained filesystems


def test_a_file_is_ready_only_after_the_settle_window(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock=clock)
    path = tmp_path / "scan.pdf"
    path.write_bytes(b"%PDF-1.7")
    tracker.observe(path)
    clock.now = 1.9
    assert tracker.ready() == []
    clock.now = 2.0
    assert tracker.ready() == [path]
    assert tracker.signature(path) == file_signature(path)


def test_a_file_appended_every_second_is_not_ready_until_writes_stop(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(2.0, clock=clock)
    path = tmp_path / "scan.tif"
    path.write_bytes(b"II*\x00")
    tracker.observe(path)
    for second in range(1, 6):  # one chunk a second for five seconds, an event after each
        clock.now = float(second)
        append(path, b"x" * 100, mtime_ns=second * 1_000_000_000)
        tracker.observe(path)
        assert tracker.ready() == []
    clock.now = 6.9
    assert tracker.ready() == []
    clock.now = 7.0
    assert tracker.ready() == [path]


def test_a_change_no_event_reported_restarts_the_window_when_checked(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(1.0, clock=clock)
    path = tmp_path / "scan.tif"
    path.write_bytes(b"one")
    tracker.observe(path)
    append(path, b"two", mtime_ns=5_000_000_000)  # written, but nobody told the tracker
    clock.now = 1.5
    assert tracker.ready() == []  # re-stat'ed: it changed, so the window starts again at 1.5
    clock.now = 2.4
    assert tracker.ready() == []
    clock.now = 2.5
    assert tracker.ready() == [path]


def test_vanished_files_are_forgotten(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(1.0, clock=clock)
    kept, gone = tmp_path / "kept.pdf", tmp_path / "gone.pdf"
    for path in (kept, gone):
        path.write_bytes(b"data")
        tracker.observe(path)
    gone.unlink()
    clock.now = 1.0
    assert tracker.ready() == [kept]
    assert gone not in tracker
    assert len(tracker) == 1


def test_observing_a_missing_path_forgets_it(tmp_path: Path) -> None:
    tracker = StabilityTracker(1.0, clock=FakeClock())
    path = tmp_path / "a.pdf"
    path.write_bytes(b"a")
    tracker.observe(path)
    path.unlink()
    tracker.observe(path)
    assert path not in tracker


def test_forget_stops_tracking_and_a_new_observation_starts_over(tmp_path: Path) -> None:
    clock = FakeClock()
    tracker = StabilityTracker(1.0, clock=clock)
    path = tmp_path / "a.pdf"
    path.write_bytes(b"a")
    tracker.observe(path)
    clock.now = 5.0
    tracker.forget(path)
    assert tracker.ready() == []
    tracker.observe(path)
    assert tracker.first_seen(path) == 5.0
    assert tracker.ready() == []
    clock.now = 6.0
    assert tracker.ready() == [path]


def test_forget_under_drops_a_whole_folder(tmp_path: Path) -> None:
    tracker = StabilityTracker(1.0, clock=FakeClock())
    (tmp_path / "batch").mkdir()
    inside, outside = tmp_path / "batch" / "p1.png", tmp_path / "batch-other.png"
    for path in (inside, outside):
        path.write_bytes(b"x")
        tracker.observe(path)
    tracker.forget_under(tmp_path / "batch")
    assert tracker.paths() == [outside]


def test_symlinks_are_observed_without_following_them(tmp_path: Path) -> None:
    tracker = StabilityTracker(1.0, clock=FakeClock())
    link = tmp_path / "link.pdf"
    link.symlink_to(tmp_path / "missing-target.pdf")
    tracker.observe(link)
    assert link in tracker  # a dangling link still exists as a link


def test_settle_seconds_must_be_positive() -> None:
    with pytest.raises(ValueError):
        StabilityTracker(0)
