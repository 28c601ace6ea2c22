"""Services on the scripted engine (ocr/fake.py): a hot folder, a real SQLite catalog, and pages
that answer as scripted, so the pipeline's orchestration is tested in milliseconds a page."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from app import pipeline
from app.services import Services
from app.settings import Settings, load_settings
from archive.model import CardView, InputFileRow
from ingest.profile import HotFolderProfile
from ocr.fake import PageScript, ScriptedEngine
from tests import scripted as S

Scripts = Mapping[str, PageScript | str]


def as_script(script: PageScript | str) -> PageScript:
    return PageScript(script) if isinstance(script, str) else script


@dataclass
class Rig:
    """Services with one hot folder (``inbox``) and the scripted engine they recognise with."""

    services: Services
    engine: ScriptedEngine

    @property
    def inbox(self) -> Path:
        return self.services.settings.hotfolders[0].path

    @property
    def quarantine(self) -> Path:
        return self.inbox / "quarantine"

    @property
    def profile(self) -> HotFolderProfile:
        return self.services.settings.hotfolders[0]

    def drop(self, name: str, pages: Sequence[S.PageSpec], folder: Path | None = None) -> Path:
        """A scan in the hot folder: pages (keys or page images) as .png (one page), .pdf or .tif."""
        path = (folder or self.inbox) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix == ".png":
            (page,) = pages
            return S.write_png(path, page)
        return (S.write_pdf if path.suffix == ".pdf" else S.write_tiff)(path, pages)

    def batch(self, name: str = "b") -> str:
        return self.services.catalog.open_batch(str(self.inbox.resolve()), name)

    def intake(self, path: Path, enqueue: Callable[[str], object] = lambda _i: None) -> InputFileRow:
        return pipeline.intake_file(path, self.batch(), self.services, enqueue)

    def ingest(self, path: Path) -> InputFileRow:
        """Intake and process one file, as the service does with a file dropped alone."""
        return pipeline.process_input(self.intake(path).id, self.services)

    def cards(self) -> list[CardView]:
        return sorted(self.services.catalog.iter_cards(), key=lambda c: c.card.registration_number)

    def card(self, row: InputFileRow) -> CardView:
        assert row.card_id, row
        found = self.services.catalog.get_card(row.card_id)
        assert found is not None
        return found

    def counts(self) -> dict[str, int]:
        """Rows per table: what a repeated step must not change."""
        db = sqlite3.connect(self.services.settings.data_dir / "catalog.sqlite3")
        try:
            tables = ("cards", "pages", "attachments", "audit", "outbox", "input_files")
            return {t: db.execute(f"select count(*) from {t}").fetchone()[0] for t in tables}
        finally:
            db.close()


def scripted_settings(root: Path, ocr: Mapping[str, Any] | None = None, **profile: Any) -> Settings:
    inbox = root / "inbox"
    inbox.mkdir(exist_ok=True)
    settings = load_settings({"KARTOTEKA_DATA_DIR": str(root / "data")})
    hot = HotFolderProfile(path=inbox, quarantine=inbox / "quarantine", **profile)
    # PDF pages rasterised at the resolution the scripted pages are printed at (not 300 dpi: 4x the pixels)
    ocr_cfg = settings.ocr.model_copy(update={"dpi": S.DPI, **(ocr or {})})
    return settings.model_copy(update={"hotfolders": (hot,), "ocr": ocr_cfg})


MakeRig = Callable[..., Rig]


@pytest.fixture
def make_rig(tmp_path: Path) -> Iterator[MakeRig]:
    """``make_rig(scripts, unknown=None, ocr={...}, **profile)``: services on a scripted engine.

    ``scripts`` maps QR keys to a PageScript or a plain text; ``ocr`` overrides OcrConfig
    settings (``page_timeout``); ``profile`` sets the hot folder's (``separation`` ...). Called
    again, it gives other services over the same data directory and hot folder: a restart.
    """
    made: list[Rig] = []

    def make(scripts: Scripts, *, unknown: PageScript | str | None = None, ocr: Mapping[str, Any] | None = None,
             **profile: Any) -> Rig:  # fmt: skip
        engine = ScriptedEngine(
            {k: as_script(v) for k, v in scripts.items()}, unknown=None if unknown is None else as_script(unknown)
        )
        settings = scripted_settings(tmp_path, ocr, **profile)
        made.append(Rig(Services(settings, engine_factory=lambda _s: engine), engine))
        return made[-1]

    yield make
    for rig in made:
        rig.engine.release()
        rig.services.close()
