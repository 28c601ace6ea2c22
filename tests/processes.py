"""What tests and benchmarks need to drive ``kartoteka`` as separate processes."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
from pathlib import Path

EXE = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "kartoteka"


def clean_env(data_dir: Path, **settings: str) -> dict[str, str]:
    """This process's environment without any KARTOTEKA_* setting, then a data dir and ``settings``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KARTOTEKA_")}
    env["KARTOTEKA_DATA_DIR"] = str(data_dir)
    # `kartoteka run` serves the API: on a free port, so services side by side never collide.
    env["KARTOTEKA_HTTP_PORT"] = "0"
    env.update(settings)
    return env


def count_inputs(data_dir: Path, *, decided_only: bool = False) -> int:
    """Input files in the catalog (only those with an outcome, if asked), read straight from the
    SQLite file: no process start-up, so it can be polled while a service writes."""
    db_path = data_dir / "catalog.sqlite3"
    if not db_path.exists():
        return 0
    query = "select count(*) from input_files" + (" where outcome != 'pending'" if decided_only else "")
    try:
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            return int(db.execute(query).fetchone()[0])
        finally:
            db.close()
    except sqlite3.OperationalError:  # not migrated yet
        return 0


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """SIGTERM (a clean stop), then SIGKILL if it has not ended within ``timeout`` seconds."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

