"""How one hot folder is watched and what its files become. Built by app/settings.py and passed in."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

#: Tesseract language names (``rus``, ``chi_sim``, ``script/Cyrillic``) joined by "+".
_LANGUAGE_LIST = re.compile(r"[\w/.-]+(\+[\w/.-]+)*")


def check_language_list(value: str) -> str:
    """``value`` if it is a language list; ValueError otherwise («rus+» asked Tesseract for a
    language with no name, and the advice was to install «tesseract-ocr-»)."""
    if not _LANGUAGE_LIST.fullmatch(value):
        raise ValueError(f"bad language list {value!r}: Tesseract languages joined by '+', such as rus+eng or kaz+rus+eng")
    return value

#: How the pages of one file are split into documents: one document per file, or at separator
#: sheets (a blank page, or a page carrying a QR code / barcode).
SeparationMode = Literal["file", "blank", "barcode"]


class HotFolderProfile(BaseModel):
    """One watched folder and the defaults given to everything dropped into it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The folder scanner operators drop files and batch folders into.
    path: Path
    #: Registration-number prefix of the journal documents from this folder are registered in.
    journal: str = Field(default="ВХ", min_length=1)
    #: Document kind given to documents from this folder until classification decides otherwise.
    kind: str = Field(default="incoming", min_length=1)
    #: Tesseract languages joined by "+".
    languages: str = Field(default="rus+eng", min_length=1)
    #: How a file's pages are split into documents.
    separation: SeparationMode = "file"
    #: In "barcode" mode, the code text that marks a separator sheet; None: any QR code or barcode.
    separator_value: str | None = None
    #: Where rejected files go; None: the caller picks a default under its data directory.
    quarantine: Path | None = None
    #: True: poll the folder; False: use the OS notifications; None: poll only on network shares.
    polling: bool | None = None
    #: A file is complete once its size and modification time have not changed for this long.
    settle_seconds: float = Field(default=2.0, gt=0)
    #: Marker-file mode: a batch folder is ready only once a file with this name exists in it.
    marker: str | None = None
    #: A full rescan of the folder runs this often, so a missed notification never strands a file.
    rescan_seconds: float = Field(default=30.0, gt=0)

    @field_validator("languages")
    @classmethod
    def _language_list(cls, value: str) -> str:
        return check_language_list(value)

    @field_validator("separator_value", "marker")
    @classmethod
    def _empty_is_none(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return value.strip()

    @field_validator("marker")
    @classmethod
    def _marker_is_a_plain_name(cls, value: str | None) -> str | None:
        if value is not None and (value in {".", ".."} or "/" in value or "\\" in value):
            raise ValueError("marker must be a plain file name such as READY, not a path")
        return value
