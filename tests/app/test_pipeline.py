"""The stage functions in-process (no broker) on the scripted engine and a real SQLite catalog:
what happens to the files. Splitting, duplicates, quarantine of pages, retries, review routing
and recovery are in test_orchestration.py; recognition itself is tested on real Tesseract
(tests/ocr, test_review_pipeline.py, the service in tests/workers/test_service.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from app import pipeline
from tests import scripted as S
from tests.app.conftest import MakeRig


def test_a_new_file_under_the_same_name_is_never_deleted(make_rig: MakeRig) -> None:
    rig = make_rig({"old": "the scan that was taken", "new": "the scan dropped meanwhile"})
    src = rig.drop("scan.png", ["old"])
    row = rig.intake(src)
    S.write_png(src, "new")  # the operator drops another scan.png before the first is processed
    done = pipeline.process_input(row.id, rig.services)
    assert done.outcome == "archived" and rig.card(done).pages[0].text == "the scan that was taken"
    assert src.exists(), "a file that was not the one archived was removed"
    assert rig.engine.calls == Counter({"old": 1})


def test_bad_input_is_quarantined_with_a_reason_file_and_batch_ledger(make_rig: MakeRig) -> None:
    rig = make_rig({})
    bad = rig.inbox / "broken.pdf"
    bad.write_bytes(b"%PDF-1.7\n1 0 obj\n<<>>\n")  # truncated
    done = rig.ingest(bad)
    assert done.outcome == "quarantined" and "truncated" in (done.reason or "")
    assert (rig.quarantine / "broken.pdf").read_bytes() == b"%PDF-1.7\n1 0 obj\n<<>>\n"
    reason = (rig.quarantine / "broken.pdf.reason.txt").read_text(encoding="utf-8")
    assert "truncated" in reason and "ocr" in reason
    (ledger_file,) = rig.quarantine.glob("*.ledger.json")
    assert "quarantined" in ledger_file.read_text(encoding="utf-8")
    assert rig.engine.calls == Counter() and rig.cards() == []


def test_kartoteka_ingest_reports_every_file_and_leaves_them_in_place(kartoteka, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The command line on the scripted engine, chosen by the settings as an integrator would."""
    folder = tmp_path / "batch"
    folder.mkdir()
    S.write_png(folder / "a.png", "a")
    S.write_png(folder / "b.png", "b")
    (folder / "c.pdf").write_bytes(b"not a pdf")
    script = S.write_script(tmp_path / "script.json", {"a": "PURCHASE ORDER No. 2024-118", "b": "ҚЫЗМЕТТІК ХАТ № 17"})
    engine = {"KARTOTEKA_OCR_ENGINE": "scripted", "KARTOTEKA_OCR_SCRIPT_FILE": str(script)}
    proc = kartoteka("ingest", str(folder), "--json", env=engine)
    assert proc.returncode == 1, proc.stderr  # one file was bad
    out = json.loads(proc.stdout)
    outcomes = {Path(f["path"]).name: f["outcome"] for f in out["files"]}
    assert outcomes == {"a.png": "archived", "b.png": "archived", "c.pdf": "quarantined"}
    assert out["totals"] == {"archived": 2, "quarantined": 1}
    assert sorted(p.name for p in folder.iterdir()) == ["a.png", "b.png", "c.pdf"]
    assert "c.pdf: is not a PDF" in proc.stderr
    ledger = json.loads(kartoteka("ledger", "--json").stdout)["files"]
    assert {f["outcome"] for f in ledger} == {"archived", "quarantined"}
    (b_card,) = [f["card"] for f in ledger if Path(f["path"]).name == "b.png"]
    card = json.loads(kartoteka("card", b_card, "--json").stdout)
    assert [p["text"] for p in card["pages"]] == ["ҚЫЗМЕТТІК ХАТ № 17"]  # as scripted: the engine ran


def test_several_processes_opening_a_new_catalog_at_once_all_succeed(tmp_path: Path) -> None:
    """The service and a `kartoteka ledger` started together both migrate a new catalog."""
    code = (
        "from app.settings import load_settings; from app.services import Services; "
        f"Services(load_settings({{'KARTOTEKA_DATA_DIR': {str(tmp_path / 'data')!r}}})).catalog"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE, text=True) for _ in range(4)]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors


def test_a_group_another_process_holds_waits_for_it_instead_of_sharing_its_scratch_folder(make_rig: MakeRig) -> None:
    """`kartoteka ingest` beside a running service on the same data: both processed the same
    input in the same scratch folder, one deleted it under the other (FileNotFoundError, a
    traceback, inputs left pending)."""
    import threading
    import time

    import pytest

    from app.intake import process_with_retries

    rig = make_rig({"memo": "служебная записка"})
    row = rig.intake(rig.drop("memo.png", ["memo"]))
    with pipeline.group_lock(row.id, rig.services) as held:  # the other process, on its own lock file handle
        assert held
        with pytest.raises(pipeline.GroupBusy):
            pipeline.process_input(row.id, rig.services)
    other = threading.Event()

    def hold_a_while() -> None:
        with pipeline.group_lock(row.id, rig.services):
            other.set()
            time.sleep(1.5)

    holder = threading.Thread(target=hold_a_while)
    holder.start()
    other.wait(5)
    done, problem = process_with_retries(row.id, rig.services)  # waits, then does it
    holder.join()
    assert problem is None and done.outcome == "archived"
