"""Helpers to run ``kartoteka run`` as a real subprocess against a temporary data dir and inbox."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ocr.fake import PageScript
from tests.processes import EXE, clean_env, count_inputs
from tests.scripted import write_script


@dataclass
class Service:
    root: Path
    settle: float = 0.3
    separation: str = "file"
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def quarantine(self) -> Path:
        return self.inbox / "quarantine"

    @property
    def settings_file(self) -> Path:
        return self.root / "kartoteka.toml"

    def env(self) -> dict[str, str]:
        return clean_env(
            self.root / "data", KARTOTEKA_SETTINGS=str(self.settings_file), KARTOTEKA_SWEEP_SECONDS="2", **self.extra_env
        )

    def use_script(self, pages: Mapping[str, PageScript | str], *, unknown: PageScript | str | None = None) -> None:
        """Recognise with the scripted engine (ocr/fake.py): each page answers as its QR key's script."""
        script = write_script(self.root / "script.json", pages, unknown=unknown)
        self.extra_env.update(KARTOTEKA_OCR_ENGINE="scripted", KARTOTEKA_OCR_SCRIPT_FILE=str(script))

    def write_settings(self) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.settings_file.write_text(
            "[[hotfolders]]\n"
            f'path = "{self.inbox}"\n'
            'journal = "ВХ"\n'
            'kind = "incoming"\n'
            f'separation = "{self.separation}"\n'
            f"settle_seconds = {self.settle}\n"
            "rescan_seconds = 2\n",
            encoding="utf-8",
        )

    def start(self, *, new_session: bool = False) -> None:
        """Start ``kartoteka run``; ``new_session``: in a process group of its own (signal it all
        with ``os.killpg``, as a terminal's Ctrl-C or a service manager does)."""
        self.write_settings()
        with (self.root / "service.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [str(EXE), "run"], env=self.env(), stdout=log, stderr=log, start_new_session=new_session
            )

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def cli(self, *args: str) -> Any:
        out = subprocess.run([str(EXE), *args, "--json"], env=self.env(), capture_output=True, text=True, timeout=120, check=False)
        assert out.returncode in (0, 1), out.stderr
        return json.loads(out.stdout)

    def ledger(self) -> list[dict[str, Any]]:
        return list(self.cli("ledger")["files"])

    def recorded(self) -> int:
        """How many input files the catalog has recorded (no process start-up)."""
        return count_inputs(self.root / "data")

    def decided(self) -> int:
        """How many recorded input files have an outcome (no process start-up)."""
        return count_inputs(self.root / "data", decided_only=True)

    def card_texts(self) -> dict[str, list[str]]:
        """Every card's page texts by card id, read from the catalog in this process."""
        from app.services import open_catalog
        from app.settings import load_settings

        catalog = open_catalog(load_settings(self.env()), migrate=False)
        return {view.card.id: [page.text for page in view.pages] for view in catalog.iter_cards()}

    def log(self) -> str:
        path = self.root / "service.log"
        return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""

    def wait_for(self, predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is None or self.proc.poll() is None, f"service exited: {self.log()[-3000:]}"
            if predicate():
                return
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}; log tail:\n{self.log()[-3000:]}")

    def inbox_files(self) -> list[Path]:
        return [p for p in self.inbox.rglob("*") if p.is_file() and self.quarantine not in p.parents]
