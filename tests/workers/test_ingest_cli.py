"""``kartoteka ingest`` on paths that are no file to archive: one line each, the rest goes on."""

from __future__ import annotations

import json
import os
from pathlib import Path

from tests import pages as P


def test_missing_paths_broken_links_and_names_not_utf8_are_refused_and_the_rest_archived(kartoteka, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Exit 1 (bad input), not 4 (a transient failure: try again, which would never help),
    one ``kartoteka: PATH: reason`` line each, and ledger entries with the contract's keys."""
    good = P.text_pdf([P.TEXTS["rus"]], tmp_path / "memo.pdf")
    missing = tmp_path / "no-such.pdf"
    link = tmp_path / "broken.pdf"
    link.symlink_to(tmp_path / "nowhere.pdf")
    cp1251 = tmp_path / os.fsdecode(b"\xcf\xf0\xe8.pdf")  # «При.pdf» written in Windows-1251
    cp1251.write_bytes(good.read_bytes())
    folder = tmp_path / "batch"
    folder.mkdir()
    P.text_pdf([P.TEXTS["eng"]], folder / "letter.pdf")
    (folder / os.fsdecode(b"\xeb\xe8\xf1\xf2.pdf")).write_bytes(good.read_bytes())  # «лист.pdf»

    done = kartoteka("ingest", str(good), str(missing), str(link), str(cp1251), str(folder), "--json")

    assert done.returncode == 1, done.stderr
    lines = [ln for ln in done.stderr.splitlines() if ln.startswith("kartoteka: ")]
    assert f"kartoteka: {missing}: no such file or folder" in lines
    assert f"kartoteka: {link}: a symbolic link to nothing" in lines
    assert f"kartoteka: {tmp_path}/\\xcf\\xf0\\xe8.pdf: the name is not UTF-8" in "\n".join(lines)
    assert f"kartoteka: {folder}/\\xeb\\xe8\\xf1\\xf2.pdf: the name is not UTF-8" in "\n".join(lines)
    assert "Traceback" not in done.stderr
    report = json.loads(done.stdout)
    outcomes = {Path(f["path"]).name: f["outcome"] for f in report["files"]}
    assert outcomes == {"memo.pdf": "archived", "letter.pdf": "archived", "no-such.pdf": "refused",
                        "broken.pdf": "refused", "\\xcf\\xf0\\xe8.pdf": "refused", "\\xeb\\xe8\\xf1\\xf2.pdf": "refused"}  # fmt: skip
    keys = {"input", "path", "sha256", "batch", "outcome", "card", "registration_number", "reason", "stage"}
    assert all(set(f) == keys for f in report["files"])
    assert report["totals"] == {"archived": 2, "refused": 4}
