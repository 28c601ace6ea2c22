"""What the long commands print where: results on stdout (so `> report.txt` holds them), progress
bars on stderr only when a person watches a terminal and never under ``--json``."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import struct
import subprocess
import termios
from pathlib import Path

import pytest

from tests import pages as P
from tests.processes import EXE, clean_env


@pytest.fixture
def archive(kartoteka, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A data directory holding two cards (text-layer PDFs: no page to recognise)."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    P.text_pdf([P.TEXTS["rus"]], inbox / "memo.pdf")
    P.text_pdf([P.TEXTS["eng"]], inbox / "order.pdf")
    proc = kartoteka("ingest", str(inbox), "--json")
    assert proc.returncode == 0, proc.stderr
    return tmp_path / "data"


def _with_terminal_stderr(data: Path, *args: str) -> tuple[str, str]:
    """Run ``kartoteka ARGS`` with stderr on a pseudo-terminal; (stdout, what the terminal showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))  # 0 columns: tqdm draws nothing
    proc = subprocess.Popen([str(EXE), *args], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
                            env=clean_env(data), text=True)  # fmt: skip
    os.close(slave)
    shown = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        shown += chunk
    out, _ = proc.communicate(timeout=60)
    os.close(master)
    assert proc.returncode in (0, 1), shown
    return out, shown.decode("utf-8", "replace")


def test_verify_writes_its_report_to_stdout_once_in_plain_words(kartoteka, archive: Path) -> None:  # type: ignore[no-untyped-def]
    """`kartoteka verify > report.txt` left the file empty (the summary went to stderr), each
    problem came twice (a timestamped ERROR archive.blobs line, also under --json), and «1 problems»."""
    clean = kartoteka("verify")
    assert clean.returncode == 0 and clean.stderr == ""
    blobs = sorted(p for p in (archive / "blobs").rglob("*") if p.is_file() and len(p.name) == 64)
    assert clean.stdout.splitlines() and clean.stdout.splitlines()[-1] == f"{len(blobs)} blobs checked, 0 problems"
    damaged = blobs[0]
    damaged.chmod(0o644)
    damaged.write_bytes(damaged.read_bytes() + b"bit rot")
    found = kartoteka("verify")
    assert found.returncode == 1 and found.stderr == ""
    problem, summary = found.stdout.splitlines()
    assert f"is corrupt ({damaged.name})" in problem and summary == f"{len(blobs)} blobs checked, 1 problem"
    as_json = kartoteka("verify", "--json")
    assert as_json.returncode == 1 and as_json.stderr == ""
    assert json.loads(as_json.stdout)["problems"] == [problem]


@pytest.mark.parametrize("command", [["verify"], ["reindex"]], ids=" ".join)
def test_a_terminal_sees_the_progress_bar_and_json_output_comes_without_one(archive: Path, command: list[str]) -> None:
    out, shown = _with_terminal_stderr(archive, *command)
    assert f"{command[0]}: 100%" in shown and "2/2" in shown and out.strip()
    out, shown = _with_terminal_stderr(archive, *command, "--json")
    assert shown == "" and json.loads(out)
