"""OpenCV's threads per process when pages already run in parallel (``ocr.run.share_cores``)."""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import pytest

from ocr.run import cores, share_cores


@pytest.fixture(autouse=True)
def _restore() -> Iterator[None]:
    before = cv2.getNumThreads()
    yield
    cv2.setNumThreads(before)


def test_the_cores_are_shared_among_the_pages_that_run_at_once() -> None:
    assert share_cores(1) == cores() == cv2.getNumThreads()  # one page: every core for OpenCV
    assert share_cores(cores()) == 1 == cv2.getNumThreads()  # a page per core: none left over
    assert share_cores(4 * cores()) == 1  # more pages than cores: still one thread, never zero
    assert share_cores(0) == cores()  # nothing in parallel counts as one page


def test_a_process_pinned_to_fewer_cores_counts_only_those(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0})  # `taskset -c 0`
    assert cores() == 1 and share_cores(1) == 1 == cv2.getNumThreads()
