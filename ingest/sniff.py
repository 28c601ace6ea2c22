"""Decide what a file is from its first bytes, never from its name."""

from __future__ import annotations

import enum
import stat
from pathlib import Path

from ingest import reasons
from ingest.errors import UnsupportedInput


class FileType(enum.Enum):
    PDF = "pdf"
    PNG = "png"
    JPEG = "jpeg"
    TIFF = "tiff"

    @property
    def media_type(self) -> str:
        return {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg", "tiff": "image/tiff"}[
            self.value
        ]


_SIGNATURES: tuple[tuple[bytes, FileType], ...] = (
    (b"\x89PNG\r\n\x1a\n", FileType.PNG),
    (b"\xff\xd8\xff", FileType.JPEG),
    (b"II*\x00", FileType.TIFF),
    (b"MM\x00*", FileType.TIFF),
    (b"II+\x00", FileType.TIFF),  # BigTIFF
    (b"MM\x00+", FileType.TIFF),
)


def sniff_bytes(head: bytes) -> FileType | None:
    """The type of a file whose first bytes are ``head`` (1 KiB is enough), or None."""
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    # PDF readers accept the header anywhere in the first kilobyte (some scanners prepend junk).
    if b"%PDF-" in head[:1024]:
        return FileType.PDF
    return None


def sniff(path: Path) -> FileType:
    """The type of the file at ``path``; UnsupportedInput with a one-line reason otherwise."""
    if path.is_symlink():
        raise UnsupportedInput(reasons.SYMLINK, stage="ingest")
    if path.is_dir():
        raise UnsupportedInput(reasons.DIRECTORY, stage="ingest")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as e:
        raise UnsupportedInput(reasons.VANISHED, stage="ingest") from e
    except OSError as e:
        raise UnsupportedInput(reasons.UNREADABLE % {"cause": e.strerror or e}, stage="ingest") from e
    if not stat.S_ISREG(mode):  # opening a FIFO would wait for a writer forever
        raise UnsupportedInput(reasons.NOT_REGULAR, stage="ingest")
    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except FileNotFoundError as e:
        raise UnsupportedInput(reasons.VANISHED, stage="ingest") from e
    except OSError as e:
        raise UnsupportedInput(reasons.UNREADABLE % {"cause": e.strerror or e}, stage="ingest") from e
    if not head:
        raise UnsupportedInput(reasons.EMPTY, stage="ingest")
    kind = sniff_bytes(head)
    if kind is None:
        shown = head[:8].hex(" ")
        raise UnsupportedInput(reasons.NOT_A_DOCUMENT % {"start": shown}, stage="ingest")
    return kind
