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


#: Formats we do not read, known by their first bytes, with the reason a file of each gets. A
#: ZIP archive holding a PDF has "%PDF-" in its first kilobyte: without this it was read as the
#: PDF whose cross-reference table came last, and the other documents in it were lost.
_FOREIGN: tuple[tuple[bytes, int, str], ...] = (
    # (magic, offset, name for the reason: a ZIP gets its own reason)
    (b"PK\x03\x04", 0, "ZIP"),
    (b"PK\x05\x06", 0, "ZIP"),
    (b"PK\x07\x08", 0, "ZIP"),
    (b"Rar!\x1a\x07", 0, "RAR"),
    (b"7z\xbc\xaf\x27\x1c", 0, "7-Zip"),
    (b"\x1f\x8b", 0, "gzip"),
    (b"BZh", 0, "bzip2"),
    (b"\xfd7zXZ\x00", 0, "xz"),
    (b"ustar", 257, "tar"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "Microsoft Office 97-2003 (.doc, .xls)"),
    (b"GIF87a", 0, "GIF"),
    (b"GIF89a", 0, "GIF"),
    (b"WEBP", 8, "WebP"),
    (b"ftypheic", 4, "HEIC"),
    (b"ftypheix", 4, "HEIC"),
    (b"ftypmif1", 4, "HEIF"),
    (b"ftypavif", 4, "AVIF"),
    (b"\x00\x00\x00\x0cjP  ", 0, "JPEG 2000"),
    (b"AT&TFORM", 0, "DjVu"),
    (b"%!PS", 0, "PostScript"),
)
_ARCHIVES = frozenset({"RAR", "7-Zip", "gzip", "bzip2", "xz", "tar"})


def sniff_bytes(head: bytes) -> FileType | None:
    """The type of a file whose first bytes are ``head`` (1 KiB is enough), or None."""
    for magic, kind in _SIGNATURES:
        if head.startswith(magic):
            return kind
    if foreign_format(head) is not None:
        return None
    # PDF readers accept the header anywhere in the first kilobyte (some scanners prepend junk).
    if b"%PDF-" in head[:1024]:
        return FileType.PDF
    return None


def foreign_format(head: bytes) -> str | None:
    """The name of a format we know but do not read (an archive, GIF, HEIC…), or None."""
    for magic, offset, name in _FOREIGN:
        if head[offset : offset + len(magic)] == magic:
            return name
    if head[:2] == b"BM" and head[6:10] == b"\x00\x00\x00\x00":  # "BM", its size, four zero bytes
        return "BMP"
    return None


def _refusal(head: bytes) -> str:
    """Why a file with these first bytes is not taken, with what to do about it."""
    name = foreign_format(head)
    if name == "ZIP":
        return reasons.ZIP
    if name in _ARCHIVES:
        return reasons.ARCHIVE % {"format": name}
    if name is not None:
        return reasons.OTHER_FORMAT % {"format": name}
    return reasons.NOT_A_DOCUMENT % {"start": head[:8].hex(" ")}


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
        raise UnsupportedInput(_refusal(head), stage="ingest")
    return kind
