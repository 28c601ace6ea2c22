"""Read-only commands need no OCR engine: with Tesseract gone they still answer.

The archive is built first with Tesseract present; then `card`, `ledger`, `search`,
`review list` and `verify` run with `tesseract` off PATH and no language data anywhere, as on a
machine where the OCR installation broke. Only a command that must recognise pages
(`ingest` of an image) fails, and says why in one line with exit status 3.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import pages as P

pytestmark = pytest.mark.tesseract


@pytest.fixture
def without_tesseract(tmp_path: Path) -> dict[str, str]:
    """PATH without tesseract, tessdata pointed at an empty folder, the engine that needs the
    program chosen (the in-process engines would still find the Debian tessdata folder)."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    tessdata = tmp_path / "no-tessdata"
    tessdata.mkdir()
    return {"PATH": str(empty), "TESSDATA_PREFIX": str(tessdata), "KARTOTEKA_OCR_ENGINE": "tesseract"}


def test_read_only_commands_work_without_tesseract(kartoteka, tmp_path: Path, without_tesseract: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    inbox = tmp_path / "in"
    inbox.mkdir()
    P.text_pdf([P.TEXTS["rus"]], inbox / "memo.pdf")
    P.save_png(P.make_page("eng", P.Condition("clean")), inbox / "order.png", dpi=200)
    made = kartoteka("ingest", str(inbox), "--json")
    assert made.returncode == 0, made.stderr
    files = json.loads(made.stdout)["files"]
    card = files[0]["card"]

    env = without_tesseract
    assert not (Path(env["PATH"]) / "tesseract").exists()
    ledger = kartoteka("ledger", "--json", env=env)
    assert ledger.returncode == 0, ledger.stderr
    assert {f["card"] for f in json.loads(ledger.stdout)["files"]} == {f["card"] for f in files}
    shown = kartoteka("card", card, "--json", env=env)
    assert shown.returncode == 0 and json.loads(shown.stdout)["card"] == card, shown.stderr
    found = kartoteka("search", "записка", "--json", env=env)
    assert found.returncode == 0 and json.loads(found.stdout)["total"] >= 1, found.stderr
    queue = kartoteka("review", "list", "--json", env=env)
    assert queue.returncode == 0 and "cards" in json.loads(queue.stdout), queue.stderr
    verified = kartoteka("verify", "--json", env=env)
    assert verified.returncode == 0 and json.loads(verified.stdout)["problems"] == [], verified.stdout

    P.save_png(P.make_page("rus", P.Condition("clean")), tmp_path / "new.png", dpi=200)
    broken = kartoteka("ingest", str(tmp_path / "new.png"), env=env)
    assert broken.returncode == 3, broken.stderr
    assert broken.stderr.strip().splitlines()[-1].startswith("kartoteka: "), broken.stderr
