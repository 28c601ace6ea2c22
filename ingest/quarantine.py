"""Moving a rejected file aside, untouched, with a note saying why and what to do.

Layout::

    quarantine_dir/
        <batch>.ledger.json             every file of the batch and its outcome
        <batch>/
            scan.pdf                    the original, byte for byte
            scan.pdf.reason.txt         what failed, when, at which stage, what to do
            scan (1).pdf                a second file of the same name: never overwritten
        scan.pdf (1).ledger.json        a later batch of the same name

A name too long to take ``.reason.txt`` (or a number) within the filesystem's 255 bytes is
shortened, its extension kept: «дддд….pdf».

The reason file is written before the original is moved, so a quarantined file always has one.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import json
import logging
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from ingest.errors import ConfigurationError, TransientError

log = logging.getLogger(__name__)

REASON_SUFFIX = ".reason.txt"
#: The note's line naming the input (the ledger's ``input``): how a retry finds the file.
INPUT_LABEL = "Input:"
LEDGER_SUFFIX = ".ledger.json"
DEFAULT_HINT = "Fix the file or scan the pages again, then drop the new file into the hot folder."
_STAGE = "quarantine"


def _safe_name(name: str) -> str:
    """``name`` usable as one path component (batch names come from folder names, but still)."""
    cleaned = name.replace("/", "_").replace("\\", "_").replace("\x00", "_").strip()
    return cleaned if cleaned not in {"", ".", ".."} else "_"


def quarantine_folder(quarantine_dir: Path, batch: str | None = None) -> Path:
    """Where a file of ``batch`` (a batch folder's name, or None for a loose file) is quarantined."""
    return quarantine_dir / _safe_name(batch) if batch else quarantine_dir


#: The longest file name (in bytes) Linux filesystems take.
NAME_MAX = 255
#: Bytes a name may need beyond itself: its reason note's suffix and a numeric suffix.
_ROOM = len(REASON_SUFFIX.encode()) + len(" (99999)")


def _fitted(name: str, room: int = _ROOM) -> str:
    """``name`` with its stem shortened (at a character boundary, the extension kept) so that
    ``room`` more bytes still make a name the filesystem takes; short names are unchanged.
    A file dropped under a name of 250 bytes is legal, its ``.reason.txt`` beside it is not."""
    limit = NAME_MAX - room
    if len(name.encode()) <= limit:
        return name
    stem, dot, suffix = name.rpartition(".")
    if not stem or len(suffix.encode()) > 16:  # no extension, or not one
        stem, dot, suffix = name, "", ""
    keep = limit - len(f"{dot}{suffix}".encode()) - len("…".encode())
    short = stem.encode()[:keep].decode("utf-8", errors="ignore")
    return f"{short}…{dot}{suffix}"


def _candidate_names(name: str) -> Iterator[str]:
    name = _fitted(name)
    yield name
    stem, dot, suffix = name.rpartition(".")
    if not stem:  # no extension, or a leading dot only
        stem, dot, suffix = name, "", ""
    number = 1
    while True:
        yield f"{stem} ({number}){dot}{suffix}"
        number += 1


#: How many free names in a row end a search for an input's quarantined file (an operator may
#: have deleted an earlier «scan.pdf» and its note: its number is free again, later ones are not).
_FREE_RUN = 10


def note_input(note: Path) -> str | None:
    """The input id a reason note names (notes written before they named one: None)."""
    try:
        text = note.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(INPUT_LABEL):
            return line[len(INPUT_LABEL) :].strip() or None
    return None


def find_quarantined(folder: Path, name: str, input_id: str) -> Path | None:
    """Where the file of input ``input_id``, dropped as ``name``, is in ``folder``: the file
    beside the note that names the input («scan (1).pdf» when an earlier «scan.pdf» was
    quarantined too). For a note from before notes named their input, the file under ``name``
    itself. None when there is none."""
    free = 0
    legacy: Path | None = None
    empty: Path | None = None  # a placeholder left by a try that died: the file may be further on
    for index, candidate in enumerate(_candidate_names(name)):
        target = folder / candidate
        note = target.with_name(candidate + REASON_SUFFIX)
        if not os.path.lexists(note):
            free = 0 if os.path.lexists(target) else free + 1
            if free >= _FREE_RUN:
                break
            continue
        free = 0
        owner = note_input(note)
        if owner == input_id:
            if not _is_empty(target):
                return target
            empty = empty or target
        elif owner is None and index == 0:
            legacy = target
    return legacy or empty


def _is_empty(path: Path) -> bool:
    try:
        return path.lstat().st_size == 0
    except OSError:
        return True


def _reserve(folder: Path, name: str, input_id: str | None = None) -> tuple[Path, bool]:
    """Create an empty placeholder under a free name in ``folder``; its path, and whether it is
    an earlier try's placeholder taken again.

    O_EXCL makes the reservation atomic, so a concurrent quarantine cannot pick the same name
    and nothing that is already there is ever overwritten. The empty placeholder of an earlier
    try for the same input (the process died between the note and the move), once it is older
    than ``STALE_PLACEHOLDER_S`` (a try in progress is younger), is taken again rather than left
    behind.
    """
    for candidate in _candidate_names(name):
        target = folder / candidate
        note = target.with_name(candidate + REASON_SUFFIX)
        if os.path.lexists(note):
            if input_id is not None and note_input(note) == input_id and _stale_placeholder(target):
                return target, True
            continue
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return target, False
    raise AssertionError("unreachable")  # pragma: no cover - the generator is endless


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some network filesystems refuse fsync on directories
        pass
    finally:
        os.close(fd)


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a flushed temporary file and a rename."""
    # A short hidden name (the watcher ignores it): the target's own name may be near NAME_MAX.
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=".kartoteka-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(path.parent)


def _indent(text: str) -> str:
    return "\n".join(line if i == 0 else f"    {line}" for i, line in enumerate(text.strip().splitlines()))


#: Seconds after which an empty placeholder is taken for one whose process died.
STALE_PLACEHOLDER_S = 60.0


def _stale_placeholder(path: Path) -> bool:
    try:
        st = path.lstat()
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and st.st_size == 0 and time.time() - st.st_mtime > STALE_PLACEHOLDER_S


def reason_text(
    *,
    name: str,
    original: Path,
    reason: str,
    stage: str,
    batch: str | None,
    hint: str,
    when: datetime,
    input_id: str | None = None,
) -> str:
    """The human-readable note written beside a quarantined file."""
    lines = [
        f"File:        {name}",
        f"Came from:   {original}",
        *([f"{INPUT_LABEL}       {input_id}"] if input_id else []),
        f"Batch:       {batch if batch else '-'}",
        f"Stage:       {stage}",
        f"When (UTC):  {when.astimezone(UTC).isoformat(timespec='seconds')}",
        f"Problem:     {_indent(reason) or 'not given'}",
        f"What to do:  {_indent(hint) or DEFAULT_HINT}",
        "",
        "The file next to this note is the original, unchanged.",
    ]
    return "\n".join(lines) + "\n"


def _move_across_filesystems(source: Path, target: Path) -> None:
    fd, name = tempfile.mkstemp(dir=target.parent, prefix=".kartoteka-", suffix=".moving")
    os.close(fd)
    temp = Path(name)
    os.unlink(temp)  # copy2 of a symlink makes a link: the name must be free
    shutil.copy2(source, temp, follow_symlinks=False)
    try:
        if not temp.is_symlink():
            with open(temp, "rb") as f:
                os.fsync(f.fileno())
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_dir(target.parent)
    os.unlink(source)


def move_file(source: Path, target: Path) -> None:
    """Move ``source`` onto ``target`` (a placeholder we own): rename, or copy+fsync+unlink."""
    try:
        os.replace(source, target)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        _move_across_filesystems(source, target)
    else:
        _fsync_dir(target.parent)


def _wrap(action: str, e: OSError) -> Exception:
    message = f"cannot {action}: {e.strerror or e}"
    if isinstance(e, PermissionError):
        return ConfigurationError(f"{message}; give the service write access to it", stage=_STAGE)
    return TransientError(f"{message}; check that the disk is mounted and has free space", stage=_STAGE)


def quarantine(
    path: Path,
    quarantine_dir: Path,
    reason: str,
    stage: str,
    *,
    batch: str | None = None,
    hint: str = DEFAULT_HINT,
    now: datetime | None = None,
    input_id: str | None = None,
) -> Path:
    """Move ``path`` untouched into ``quarantine_dir[/<batch>]`` with a reason file naming
    ``input_id`` (``find_quarantined`` finds it by that); return its new path.

    Never overwrites: a name already taken gets a numeric suffix ("scan (1).pdf"). Raises
    TransientError (retry later) or ConfigurationError (permissions) if the move fails; the
    original then stays where it was.
    """
    when = now if now is not None else datetime.now(UTC)
    folder = quarantine_folder(quarantine_dir, batch)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        target, reused = _reserve(folder, path.name, input_id)
    except OSError as e:
        raise _wrap(f"create a place for {path.name} in quarantine folder {folder}", e) from e
    note = target.with_name(target.name + REASON_SUFFIX)
    text = reason_text(
        name=target.name, original=path, reason=reason, stage=stage, batch=batch, hint=hint, when=when, input_id=input_id
    )
    try:
        write_atomic(note, text.encode("utf-8"))
        move_file(path, target)
    except OSError as e:
        # Only what this call made: a placeholder taken again may hold another try's file by now.
        for leftover in () if reused else (note, target):
            with contextlib.suppress(OSError):
                os.unlink(leftover)
        raise _wrap(f"move {path} to quarantine folder {folder}", e) from e
    log.info("quarantined %s as %s at stage %s: %s", path, target, stage, reason)
    return target


def write_batch_ledger_json(
    quarantine_dir: Path,
    batch_name: str,
    entries: Sequence[Mapping[str, object]],
    *,
    batch_id: str | None = None,
    now: datetime | None = None,
) -> Path:
    """Write ``<quarantine_dir>/<batch>.ledger.json`` atomically: every file of a batch and its outcome.

    A batch name comes back (a scanner that always writes ``scan.pdf``, a daily ``batch1/``):
    another batch's ledger is never overwritten, the new one is ``<batch> (1).ledger.json``;
    the same batch (``batch_id``) written again replaces its own. Values that JSON cannot hold
    (paths, datetimes) are written as strings.
    """
    when = now if now is not None else datetime.now(UTC)
    document = {
        "batch": batch_name,
        "batch_id": batch_id,
        "written_at": when.astimezone(UTC).isoformat(timespec="seconds"),
        "files": [dict(entry) for entry in entries],
    }
    data = json.dumps(document, ensure_ascii=False, indent=2, default=str).encode("utf-8") + b"\n"
    try:
        quarantine_dir.mkdir(parents=True, exist_ok=True)
        target = _ledger_place(quarantine_dir, _safe_name(batch_name), batch_id)
        write_atomic(target, data)
    except OSError as e:
        raise _wrap(f"write the ledger of batch {batch_name} in {quarantine_dir}", e) from e
    return target


def _ledger_place(folder: Path, name: str, batch_id: str | None) -> Path:
    """The batch's own ledger file, or a free name reserved for it (O_EXCL, like ``_reserve``)."""
    stem = _fitted(name, len(LEDGER_SUFFIX.encode()) + len(" (99999)"))
    for number in itertools.count():
        target = folder / (f"{stem}{LEDGER_SUFFIX}" if number == 0 else f"{stem} ({number}){LEDGER_SUFFIX}")
        try:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            if batch_id is None or _ledger_batch(target) == batch_id:
                return target  # its own: replace it
            continue  # another batch's (or a place another process just reserved)
        os.close(fd)
        return target
    raise AssertionError("unreachable")  # pragma: no cover - the count is endless


def _ledger_batch(path: Path) -> str | None:
    """The batch id a ledger file was written for (None: none, or not readable as a ledger)."""
    try:
        found = json.loads(path.read_text(encoding="utf-8")).get("batch_id")
    except (OSError, ValueError, AttributeError):
        return None
    return found if isinstance(found, str) else None
