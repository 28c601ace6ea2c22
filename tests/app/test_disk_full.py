"""A data directory whose disk fills up mid-batch (a 3 MB tmpfs mounted for the test): the input
stays pending with a DiskFull that says what to do, nothing is quarantined, temp files are gone,
and the recovery sweep (``pending_ids`` + ``process_input``, as ``kartoteka run`` does) archives
it once space is freed. The command line is tested in tests/workers/test_disk_full.py."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from app import pipeline
from ingest.errors import DiskFull, TransientError
from tests.app.conftest import MakeRig

#: The size of the data directory's filesystem.
TMPFS_SIZE = "3m"
FILLER = "filler"


@pytest.fixture
def data_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """``tmp_path / "data"`` (the data directory of ``make_rig`` and ``kartoteka``) on a 3 MB tmpfs.

    Request it before ``make_rig`` so the services are closed before it is unmounted.
    """
    data = tmp_path / "data"
    data.mkdir()
    mount = ["mount", "-t", "tmpfs", "-o", f"size={TMPFS_SIZE}", "tmpfs", str(data)]
    done = subprocess.run(mount, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for the full-disk test (run as root): {done.stderr.strip()}")
    try:
        yield data
    finally:
        if subprocess.run(["umount", str(data)], capture_output=True, check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(data)], check=True)  # something still holds a file open


def fill(data: Path, leave_kb: int) -> Path:
    """Fill ``data``'s filesystem with one file, leaving about ``leave_kb`` KiB free."""
    st = os.statvfs(data)
    free = st.f_bavail * st.f_frsize
    filler = data / FILLER
    size = free - leave_kb * 1024
    assert size > 0, f"only {free // 1024} KiB free on {data}"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, size)
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_keeps_the_input_pending_and_the_sweep_archives_it_once_freed(
    data_tmpfs: Path, make_rig: MakeRig
) -> None:
    rig = make_rig({}, unknown="СЛУЖЕБНАЯ ЗАПИСКА № 45 о закупке бумаги")
    scan = rig.drop("memo.pdf", [f"p{n}" for n in range(8)])  # about 50 KiB a spooled page
    row = rig.intake(scan)  # the original is stored while there is room
    # 120 KiB: room for the catalog's next few writes, not for eight spooled pages (~50 KiB each).
    filler = fill(data_tmpfs, leave_kb=120)

    with pytest.raises(DiskFull) as raised:
        pipeline.process_input(row.id, rig.services)
    assert isinstance(raised.value, TransientError) and raised.value.code == "disk-full"
    message = str(raised.value)
    assert str(data_tmpfs) in message and "free space or move KARTOTEKA_DATA_DIR" in message
    assert "stay pending" in message
    after = rig.services.catalog.get_input(row.id)
    assert after is not None and after.outcome == "pending"
    assert pipeline.pending_ids(rig.services) == [row.id]
    assert scan.exists() and not rig.quarantine.exists()
    assert [p.name for p in (data_tmpfs / "work").iterdir()] in ([], ["locks"]), "the page spool was left behind"
    assert list((data_tmpfs / "blobs" / ".tmp").glob("*")) == []

    filler.unlink()  # an operator frees space; the recovery sweep takes the input again
    for input_id in pipeline.pending_ids(rig.services):
        pipeline.process_input(input_id, rig.services)
    done = rig.services.catalog.get_input(row.id)
    assert done is not None and done.outcome == "archived", done
    assert not scan.exists() and not (rig.quarantine / scan.name).exists()  # the batch ledger is there
    (card,) = rig.cards()
    assert len(card.pages) == 8


def test_a_full_disk_under_the_blob_store_is_disk_full_and_leaves_no_temp_file(data_tmpfs: Path, make_rig: MakeRig) -> None:
    rig = make_rig({})
    rig.services.catalog  # noqa: B018 - create the catalog while there is room
    fill(data_tmpfs, leave_kb=16)
    with pytest.raises(DiskFull, match="free space or move KARTOTEKA_DATA_DIR"):
        rig.services.blobs.put_bytes(os.urandom(256 * 1024))
    assert list((data_tmpfs / "blobs" / ".tmp").glob("*")) == []
