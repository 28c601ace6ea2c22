"""Decide what a file is from its first bytes, never from its name."""

from __future__ import annotations

import enum
import stat
from pathlib import Path

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
        raise UnsupportedInput("is a symbolic link: copy the file itself into the folder", stage="ingest")
    if path.is_dir():
        raise UnsupportedInput("is a directory, not a file", stage="ingest")
    try:
        mode = path.stat().st_mode
    except FileNotFoundError as e:
        raise UnsupportedInput("file disappeared before it could be read", stage="ingest") from e
    except OSError as e:
        raise UnsupportedInput(f"cannot be read: {e.strerror or e}", stage="ingest") from e
    if not stat.S_ISREG(mode):  # opening a FIFO would wait for a writer forever
        raise UnsupportedInput("is not a regular file (a FIFO, socket or device)", stage="ingest")
    try:
        with path.open("rb") as f:
            head = f.read(1024)
    except FileNotFoundError as e:
        raise UnsupportedInput("file disappeared before it could be read", stage="ingest") from e
    except OSError as e:
        raise UnsupportedInput(f"cannot be read: {e.strerror or e}", stage="ingest") from e
    if not head:
        raise UnsupportedInput("is empty (0 bytes): scan or export it again", stage="ingest")
    kind = sniff_bytes(head)
    if kind is None:
        shown = head[:8].hex(" ")
        raise UnsupportedInput(
            f"is not a PDF, PNG, JPEG or TIFF (content starts with {shown}): "
            "convert it to one of these and drop it again",
            stage="ingest",
        )
    return kind
