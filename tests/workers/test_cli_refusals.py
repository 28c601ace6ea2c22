"""The command line on what is no input: paths that are no file to archive (one line each, the
rest goes on) and options out of range (a usage error)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

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


@pytest.mark.parametrize(
    "argv",
    [
        ["ledger", "--limit", "0"],
        ["ledger", "--after", "garbage"],
        ["export", "--after", str(2**63)],
        ["search", "договор", "--per-page", "0"],
        ["search", "договор", "--page", "-3"],
        ["review", "list", "--limit", "0"],
        ["serve", "--port", "70000"],
        ["worker", "--processes", "0"],
        ["worker", "--queues", "ocr,foo"],  # was exit 3, as if a setting were wrong
    ],
    ids=lambda a: " ".join(a),
)
def test_an_option_out_of_range_is_a_usage_error(kartoteka, argv: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Exit 2 («the command line itself was wrong»), one line, no traceback, no decoder's words."""
    proc = kartoteka(*argv, timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "Traceback" not in proc.stderr and "codec" not in proc.stderr
    *_, last = [ln for ln in proc.stderr.splitlines() if ln.strip()]  # argparse: usage, then the error
    assert last.startswith("kartoteka") and ("error: argument" in last or "cursor" in last), last


@pytest.mark.parametrize(
    ("setting", "value", "command"),
    [
        ("KARTOTEKA_TIMEZONE", "Mars/Olympus", ["ledger"]),
        ("KARTOTEKA_DATABASE_URL", "foo://bar", ["ledger"]),
        ("KARTOTEKA_DATABASE_URL", "postgresql+nosuchdriver://u:secret@127.0.0.1/db", ["ledger"]),
        ("KARTOTEKA_DATABASE_URL", "sqlite:///{tmp}/missing/catalog.db", ["ledger"]),
        ("KARTOTEKA_DATA_DIR", "{tmp}/a-file", ["ledger"]),
        ("KARTOTEKA_DATA_DIR", "{tmp}/a-file/data", ["ledger"]),
        ("KARTOTEKA_DATA_DIR", "{tmp}/a-file/data", ["search", "договор"]),
        ("KARTOTEKA_INBOX", "{tmp}/a-file/inbox", ["run"]),
        ("KARTOTEKA_BROKER_URL", "foo://x", ["status"]),
    ],
    ids=lambda v: " ".join(v) if isinstance(v, list) else v,
)
def test_a_setting_that_cannot_work_is_one_line_naming_it_and_exit_3(kartoteka, tmp_path: Path, setting: str, value: str, command: list[str]) -> None:  # type: ignore[no-untyped-def]
    """Exit 3 («fix the settings»), not a traceback or 4 («try again», which would never help)."""
    (tmp_path / "a-file").write_text("not a folder")
    proc = kartoteka(*command, env={setting: value.format(tmp=tmp_path)}, timeout=60)
    assert proc.returncode == 3, (proc.returncode, proc.stderr)
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("kartoteka: setting ") and setting in line, line
    assert "secret" not in line and not (tmp_path / "missing").exists()


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["search", "договор", "--page", "2000"], "--page 2000: only the first 10000 hits"),
        (["search", "договор", "--page", "101", "--per-page", "100"], "page 100 is the last at --per-page 100"),
        (["ocr", "{tmp}/none.png", "--lang", "rus+"], "--lang: bad language list 'rus+'"),
    ],
    ids=lambda a: " ".join(a) if isinstance(a, list) else None,
)
def test_a_request_past_what_the_options_allow_is_a_usage_error_in_one_line(kartoteka, tmp_path: Path, argv: list[str], says: str) -> None:  # type: ignore[no-untyped-def]
    """Exit 2 (was 1 for the page, as if an input were bad; 3 for «rus+», with the advice to
    «apt-get install tesseract-ocr-»), before any work."""
    proc = kartoteka(*[a.format(tmp=tmp_path) for a in argv], timeout=60)
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("kartoteka: ") and says in line, line
    assert "apt-get" not in line and proc.stdout == ""


@pytest.mark.parametrize(
    ("setting", "value"),
    [("KARTOTEKA_CLASSIFY_KINDS_FILE", "{tmp}/no-such-kinds.toml"), ("KARTOTEKA_OCR_LANGUAGES", "rus+xyz")],
)
def test_ingest_checks_the_configuration_before_it_records_a_file(kartoteka, tmp_path: Path, setting: str, value: str) -> None:  # type: ignore[no-untyped-def]
    """A missing kinds file was found after the pages were read: exit 3, and the file left
    recorded as pending for good."""
    memo = P.text_pdf([P.TEXTS["rus"]], tmp_path / "memo.pdf")
    proc = kartoteka("ingest", str(memo), env={setting: value.format(tmp=tmp_path)})
    assert proc.returncode == 3, proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("kartoteka: ") and ("no-such-kinds.toml" in line or "xyz" in line), line
    ledger = kartoteka("ledger", "--json")
    assert ledger.returncode == 0 and json.loads(ledger.stdout)["files"] == []
