"""``kartoteka ingest`` on a data directory whose disk is full (a 3 MB tmpfs): one line per file
and the totals, exit status 4, every file pending and none quarantined; run again once space is
freed, it archives them, each once."""

from __future__ import annotations

import json
from pathlib import Path

from tests import scripted as S
from tests.app.test_disk_full import data_tmpfs, fill

__all__ = ["data_tmpfs"]  # the fixture, used by name below

FILES = 4


def test_ingest_on_a_full_disk_exits_4_and_the_next_run_archives_every_file(kartoteka, data_tmpfs: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "batch"
    folder.mkdir()
    for n in range(FILES):
        S.write_pdf(folder / f"scan{n}.pdf", [f"s{n}p{p}" for p in range(4)])
    script = S.write_script(tmp_path / "script.json", {}, unknown="PURCHASE ORDER No. 2024-118")
    env = {"KARTOTEKA_OCR_ENGINE": "scripted", "KARTOTEKA_OCR_SCRIPT_FILE": str(script), "KARTOTEKA_OCR_DPI": str(S.DPI)}
    assert kartoteka("ledger").returncode == 0  # the catalog, created while there is room
    # 400 KiB: the originals and the catalog's writes fit, the page spool (16 pages) does not.
    filler = fill(data_tmpfs, leave_kb=400)

    full = kartoteka("ingest", str(folder), "--json", env=env)
    assert full.returncode == 4, full.stderr
    assert "Traceback" not in full.stderr
    lines = full.stderr.strip().splitlines()
    assert len(lines) <= FILES + 1, full.stderr  # one per file at most, and the index's
    assert "free space or move KARTOTEKA_DATA_DIR" in full.stderr and f"the disk holding {data_tmpfs}" in full.stderr
    out = json.loads(full.stdout)
    assert out["totals"] == {"pending": FILES}
    assert sorted(p.name for p in folder.iterdir()) == [f"scan{n}.pdf" for n in range(FILES)]
    assert [p.name for p in (data_tmpfs / "work").iterdir()] in ([], ["locks"])  # no spool left (lock files are pruned later)

    filler.unlink()
    again = kartoteka("ingest", str(folder), "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["totals"] == {"archived": FILES}
    ledger = json.loads(kartoteka("ledger", "--json").stdout)["files"]
    assert len(ledger) == FILES and {f["outcome"] for f in ledger} == {"archived"}
    assert len({f["registration_number"] for f in ledger}) == FILES
