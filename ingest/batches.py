"""Which files in a hot folder count, and how a batch folder's files are ordered. Pure helpers.

Name rules live here (not in hotfolder.py) so that listing a batch needs no watcher; the
watcher re-exports :func:`is_ignored`.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

from ingest.profile import HotFolderProfile

#: Folder name the caller's default quarantine uses; a folder with this name is never a batch.
QUARANTINE_DIR_NAME = "quarantine"

_TEMP_SUFFIXES = (".tmp", ".part", ".partial", ".crdownload", ".swp")
#: Files quarantine.py writes beside what it moves.
_OWN_SUFFIXES = (".reason.txt", ".ledger.json")
#: Files and folders that operating systems and NAS boxes leave on shares.
_SYSTEM_NAMES = frozenset(
    n.casefold()
    for n in (
        "Thumbs.db",
        "desktop.ini",
        "@eaDir",
        "#recycle",
        "$RECYCLE.BIN",
        "System Volume Information",
        "lost+found",
    )
)
_DIGITS = re.compile(r"(\d+)")

log = logging.getLogger(__name__)

NaturalKey = tuple[str | int, ...]


def natural_key(name: str) -> NaturalKey:
    """Sort key that orders digit runs by value: "page2" < "page10"; case-insensitive.

    Text and numbers alternate at fixed positions, so any two keys compare without a type
    error. The name itself comes last to break ties ("p01" vs "p1") deterministically.
    """
    parts = _DIGITS.split(name.casefold())
    key: list[str | int] = [int(p) if i % 2 else p for i, p in enumerate(parts)]
    key.append(name)
    return tuple(key)


def path_key(relative: Path) -> tuple[NaturalKey, ...]:
    """Natural sort key of a relative path, component by component."""
    return tuple(natural_key(part) for part in relative.parts)


def _is_temporary(name: str) -> bool:
    lowered = name.casefold()
    return name.startswith("~$") or name.endswith("~") or lowered.endswith(_TEMP_SUFFIXES)


def _is_quarantine_folder(path: Path, profile: HotFolderProfile | None) -> bool:
    own = profile.quarantine if profile is not None else None
    if own is not None and path.name == own.name and os.path.realpath(path) == os.path.realpath(own):
        return True
    return path.name.casefold() == QUARANTINE_DIR_NAME and path.is_dir()


def is_ignored(path: Path, profile: HotFolderProfile | None = None) -> bool:
    """Whether the entry at ``path`` is never offered, judged by its own name.

    Ignored: hidden names, temporary names of half-written files (``~$x``, ``*.tmp``,
    ``*.part``, ``*.partial``, ``*.crdownload``, ``*.swp``, ``*~``, ``.~lock.*``), system
    litter (``Thumbs.db``, ``desktop.ini``, NAS recycle folders), reason and ledger files that
    quarantine writes, the profile's marker file, and quarantine folders.
    """
    name = path.name
    if not name:
        return False
    if name.startswith(".") or _is_temporary(name):
        return True
    folded = name.casefold()
    if folded in _SYSTEM_NAMES or folded.endswith(_OWN_SUFFIXES):
        return True
    if profile is not None and profile.marker is not None and folded == profile.marker.casefold():
        return True
    return _is_quarantine_folder(path, profile)


def is_ignored_below(root: Path, path: Path, profile: HotFolderProfile | None = None) -> bool:
    """Whether ``path`` (inside ``root``) or any folder between it and ``root`` is ignored.

    A path outside ``root`` counts as ignored.
    """
    try:
        relative = path.relative_to(root)
    except ValueError:
        return True
    current = root
    for part in relative.parts:
        current = current / part
        if is_ignored(current, profile):
            return True
    return False


def has_marker(folder: Path, marker: str) -> bool:
    """Whether ``folder`` directly holds a file named ``marker`` (case-insensitive)."""
    if os.path.lexists(folder / marker):
        return True
    wanted = marker.casefold()
    try:
        with os.scandir(folder) as entries:
            return any(entry.name.casefold() == wanted for entry in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _walk_files(folder: Path, profile: HotFolderProfile | None) -> list[Path]:
    files: list[Path] = []
    with os.scandir(folder) as entries:
        children = list(entries)
    for entry in children:
        path = Path(entry.path)
        if is_ignored(path, profile):
            continue
        if entry.is_dir(follow_symlinks=False):
            files.extend(_walk_files(path, profile))
        else:  # regular files, and symlinks and other oddities for the caller to reject
            files.append(path)
    return files


def list_batch_files(folder: Path, profile: HotFolderProfile | None = None) -> list[Path]:
    """Every file of the batch folder ``folder``, recursively, in natural name order.

    Symlinks are listed as files and never followed. Ignored names (see :func:`is_ignored`)
    are skipped, and so is everything inside an ignored folder. Raises OSError if ``folder``
    or a folder inside it cannot be read: a batch must not be offered with files missing.
    """
    files = _walk_files(folder, profile)
    return sorted(files, key=lambda p: path_key(p.relative_to(folder)))


# --- names that are not text -------------------------------------------------------------------


def is_text_name(path: Path) -> bool:
    """Whether the path is valid UTF-8. A name written in another code page (a Windows PC saving
    to a share mounted without the right charset) reaches Python with its stray bytes as lone
    surrogates, which no database, JSON or log line can hold."""
    try:
        os.fspath(path).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def text_name(name: str) -> str:
    """A UTF-8 name for one that is not: its bytes read as Windows-1251 (what such a PC writes
    for Russian and Kazakh names; «\\xcf\\xf0\\xe8» → «При»), a byte that stands for nothing as «_»."""
    return os.fsencode(name).decode("cp1251", errors="replace").replace("\ufffd", "_")


def rename_to_text(path: Path, root: Path) -> Path | None:
    """Rename the first part of ``path`` below ``root`` whose name is not UTF-8 to its
    ``text_name`` (« (1)», « (2)»… where that is taken; nothing is overwritten); the new path
    of that part, or None when every part is text or the rename failed (it is logged)."""
    current = root
    for part in path.relative_to(root).parts:
        current = current / part
        if is_text_name(Path(part)):
            continue
        stem, dot, suffix = text_name(part).rpartition(".")
        if not stem or (current.is_dir() and not current.is_symlink()):
            stem, dot, suffix = text_name(part), "", ""
        target, number = current.with_name(f"{stem}{dot}{suffix}"), 0
        while os.path.lexists(target):
            number += 1
            target = current.with_name(f"{stem} ({number}){dot}{suffix}")
        try:
            os.rename(current, target)
        except OSError as e:
            log.warning("cannot rename %s (its name is not UTF-8): %s", os.fsencode(current), e)
            return None
        log.warning("renamed %s to %s: the name was not UTF-8 (read as Windows-1251)", os.fsencode(current), target)
        return target
    return None
