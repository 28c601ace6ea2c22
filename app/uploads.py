"""Files that come in over HTTP, and quarantined files tried again: the hot folders' intake path.

An upload is one batch (hot-folder key ``api:<profile path>`` or ``api:default``, named by
the time and a short id). Its files are streamed into the work area while their bytes are
counted; only when every file has arrived within the size limit and under an acceptable name
are they stored as blobs and recorded as pending, then enqueued, as ``intake_file`` does with
a hot folder's files. Too large or badly named: nothing is stored, no batch, no ledger row.

A ledger path of an upload is ``<batch key>/<batch name>/<file name>``: not a filesystem path,
so nothing is ever moved or deleted for it; in a separator-sheet profile the files of one
upload form one batch folder (documents may span them, in name order), as in a hot folder.

``retry_input`` gives a quarantined input a new ledger row in a new ``retry:`` batch: the
replacement an operator put in the quarantine folder under the same name, or else the stored
original. The old row stays as it was, as history.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import stat
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from app.pipeline import API_PREFIX, NOT_IN_A_HOT_FOLDER, RETRY_PREFIX, batch_folder_name
from app.services import Services
from archive.blobs import BlobRef
from archive.errors import InputNotFound, InvalidChange
from archive.model import InputFileRow
from ingest.errors import PermanentError
from ingest.profile import HotFolderProfile
from ingest.quarantine import find_quarantined, quarantine_folder

__all__ = [
    "API_PREFIX",
    "DEFAULT_PROFILE",
    "RETRY_PREFIX",
    "InvalidUpload",
    "UploadReceipt",
    "UploadTooLarge",
    "find_profile",
    "receive_upload",
    "retry_input",
    "upload_source",
]

log = logging.getLogger(__name__)

#: Batches of files uploaded over HTTP: ``api:<resolved profile path>`` or ``api:default``.
#: Batches of quarantined inputs tried again: ``retry:<the original batch's key>``.
#: The profile name of uploads that name none (the settings' OCR languages, the default kind).
DEFAULT_PROFILE = "default"
CHUNK_SIZE = 1024 * 1024
#: Longest file name accepted, in UTF-8 bytes (what most filesystems allow).
MAX_NAME_BYTES = 255
#: Format characters a name may hold: the zero-width (non-)joiner of emoji sequences and of
#: some scripts' spelling. Every other one (bidi overrides above all) is refused.
JOINERS = frozenset("\u200c\u200d")
#: How far back a retry of a retry is followed to find the hot-folder file it began as.
MAX_RETRY_CHAIN = 50

Enqueue = Callable[[str], object]


class UploadTooLarge(PermanentError):
    """The files of one upload are larger than the limit together (HTTP 413); nothing was stored."""

    code = "upload-too-large"

    def __init__(self, message: str, *, limit: int) -> None:
        super().__init__(message, stage="upload")
        self.limit = limit


class InvalidUpload(PermanentError):
    """An upload that cannot be taken: no files, a bad file name, an unknown profile."""

    code = "invalid-upload"


@dataclass(frozen=True)
class UploadReceipt:
    """The batch an upload became and its ledger rows, pending, in the order they came."""

    batch: str
    files: list[InputFileRow]


# --- uploads ----------------------------------------------------------------------------------


def receive_upload(
    services: Services,
    files: Iterable[tuple[str, BinaryIO]],
    *,
    profile: str | None,
    max_bytes: int,
    enqueue: Enqueue,
) -> UploadReceipt:
    """Take the uploaded (name, stream) pairs as one batch: store, record pending, enqueue.

    ``profile`` names a configured hot folder (its folder name or absolute path) whose languages, kind,
    journal and separation apply; None: the default profile. ``max_bytes`` bounds the files
    together. UploadTooLarge, InvalidUpload: nothing is stored.
    """
    source = upload_source(services, profile)
    spool = services.work_dir / "uploads" / uuid.uuid4().hex
    spool.mkdir(parents=True)
    try:
        received = _receive_all(files, spool, max_bytes)
        stored = [(name, services.blobs.put_file(path)) for name, path in received]
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    batch = batch_name(services)
    batch_id = services.catalog.open_batch(source, batch)
    rows = [_record(services, batch_id, f"{source}/{batch}/{name}", name, ref) for name, ref in stored]
    for row in rows:
        if row.outcome == "pending":
            enqueue(row.id)
    log.info("received %d uploaded files as batch %s (%s)", len(rows), batch_id, source)
    return UploadReceipt(batch_id, rows)


def upload_source(services: Services, profile: str | None) -> str:
    """The batch key of an upload under ``profile``; InvalidUpload when no hot folder has it."""
    if profile is None or not profile.strip():
        return API_PREFIX + DEFAULT_PROFILE
    return API_PREFIX + str(find_profile(services, profile).path.resolve())


def find_profile(services: Services, name: str) -> HotFolderProfile:
    """The configured hot folder named ``name``: its folder's name, or its absolute path."""
    profiles = services.profiles  # by resolved path
    wanted = name.strip()
    if Path(wanted).is_absolute():
        try:
            found = profiles.get(str(Path(wanted).resolve()))
        except (OSError, ValueError):  # a NUL byte, a symlink loop: no hot folder of ours
            found = None
        if found is not None:
            return found
    matches = [p for p in profiles.values() if p.path.name == wanted]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(sorted(p.path.name for p in profiles.values())) or "none is configured"
    if matches:
        raise InvalidUpload(f"several hot folders are named {wanted!r}: name the profile by its path", stage="upload")
    raise InvalidUpload(f"no hot-folder profile is named {wanted!r} (known: {known})", stage="upload")


def batch_name(services: Services) -> str:
    """A new batch's name: the local time and a short random id (``20260314-101502-3fa9c1``)."""
    return f"{datetime.now(services.tz):%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


def _receive_all(files: Iterable[tuple[str, BinaryIO]], spool: Path, max_bytes: int) -> list[tuple[str, Path]]:
    """Stream every file into ``spool`` (as 00000, 00001, …), counting bytes against the limit."""
    received: list[tuple[str, Path]] = []
    taken: set[str] = set()
    total = 0
    for index, (raw_name, stream) in enumerate(files):
        name = _unique(check_name(raw_name), taken)
        target = spool / f"{index:05d}"
        with open(target, "wb") as out:
            while chunk := stream.read(CHUNK_SIZE):
                total += len(chunk)
                if total > max_bytes:
                    raise UploadTooLarge(
                        f"the upload is larger than the limit of {max_bytes} bytes: send fewer or smaller files",
                        limit=max_bytes,
                    )
                out.write(chunk)
        received.append((name, target))
    if not received:
        raise InvalidUpload("the upload holds no files: send them as multipart/form-data fields named 'files'", stage="upload")
    return received


def check_name(raw: str) -> str:
    """An uploaded file's name, if it is a plain file name; InvalidUpload when it is not."""
    name = raw.strip()
    if not name or name in {".", ".."}:
        raise InvalidUpload(f"file name {raw!r} is empty or not a file name", stage="upload")
    if "/" in name or "\\" in name:
        raise InvalidUpload(f"file name {raw!r} holds a path: send the file's name alone", stage="upload")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") and c not in JOINERS for c in name):
        raise InvalidUpload(f"file name {raw!r} holds control characters", stage="upload")
    if len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES:
        raise InvalidUpload(f"file name {name[:40]!r}… is longer than {MAX_NAME_BYTES} bytes", stage="upload")
    return name


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name (1)``, ``name (2)``… when an earlier file of the upload has it."""
    stem, dot, suffix = name.rpartition(".")
    if not stem:
        stem, dot, suffix = name, "", ""
    candidate, number = name, 0
    while candidate.casefold() in taken:
        number += 1
        tail = f" ({number}){dot}{suffix}"
        room = MAX_NAME_BYTES - len(tail.encode("utf-8", "surrogatepass"))
        short = stem.encode("utf-8", "surrogatepass")[:room].decode("utf-8", "ignore")  # whole characters
        candidate = f"{short}{tail}"
    taken.add(candidate.casefold())
    return candidate


def _record(services: Services, batch_id: str, path: str, name: str, ref: BlobRef) -> InputFileRow:
    return services.catalog.record_input(batch_id, path, name, ref.sha256, ref.size)


# --- retrying a quarantined input ---------------------------------------------------------------


def retry_input(services: Services, input_id: str, enqueue: Enqueue) -> InputFileRow:
    """Try a quarantined input again: a new pending row in a new ``retry:`` batch, enqueued.

    The file is the replacement in the hot folder's quarantine folder under the same name when
    there is one, else the stored original. InputNotFound; InvalidChange when the input is not
    quarantined or neither copy exists.
    """
    catalog = services.catalog
    old = catalog.get_input(input_id)
    if old is None:
        raise InputNotFound(f"input {input_id} does not exist", stage="retry")
    if old.outcome != "quarantined":
        raise InvalidChange(f"input {input_id} is {old.outcome}: only a quarantined input can be retried", stage="retry")
    # Once: a second click would archive the file again as a duplicate of the first retry's card.
    # A retry that was quarantined in turn is retried itself (the ledger shows it, not this one).
    retries = catalog.inputs_with_path_ending(_retry_path("", old))
    if retries:
        last = retries[-1]
        raise InvalidChange(
            f"input {input_id} was retried already, as input {last.id} ({last.outcome})"
            + ("; retry that one" if last.outcome == "quarantined" else ""),
            stage="retry",
        )
    root = catalog.batch_hotfolder(old.batch_id)
    replacement = quarantined_file(services, old)
    if replacement is not None:
        ref = services.blobs.put_file(replacement)
        log.info("retrying input %s with %s", input_id, replacement)
    elif services.blobs.exists(old.sha256):
        ref = BlobRef(old.sha256, old.size)
    else:
        raise InvalidChange(f"the stored copy of {old.name} is missing: drop the file again", stage="retry")
    source = root if root.startswith(RETRY_PREFIX) else RETRY_PREFIX + root
    batch_id = catalog.open_batch(source, batch_name(services))
    row = _record(services, batch_id, _retry_path(source, old), old.name, ref)
    if row.outcome == "pending":
        enqueue(row.id)
    return row


def _retry_path(source: str, old: InputFileRow) -> str:
    """A retry's ledger path: its source, then the retried input's id (unique) and name."""
    return f"{source}/{old.id}/{old.name}"


def quarantined_file(services: Services, row: InputFileRow) -> Path | None:
    """The file under ``row``'s name in its hot folder's quarantine folder, if it is a regular file.

    For a retried input, the hot-folder file it began as is looked for; uploads and command-line
    inputs are never moved to quarantine, so they have none.
    """
    origin, root = _origin(services, row)
    if root.startswith(NOT_IN_A_HOT_FOLDER):
        return None  # an upload, a command-line input, or a retry whose origin is gone
    profile = services.profile_for(root)
    folder = profile.quarantine or Path(root) / "quarantine"
    candidate = find_quarantined(quarantine_folder(folder, batch_folder_name(Path(origin.path), Path(root))), origin.name, origin.id)
    if candidate is None:
        return None
    try:
        st = candidate.lstat()
    except OSError:
        return None
    # An empty file is the placeholder of a move cut off by a crash, never a replacement.
    return candidate if stat.S_ISREG(st.st_mode) and st.st_size > 0 else None


def _origin(services: Services, row: InputFileRow) -> tuple[InputFileRow, str]:
    """The input a chain of retries began with, and its batch's key."""
    root = services.catalog.batch_hotfolder(row.batch_id)
    for _ in range(MAX_RETRY_CHAIN):
        if not root.startswith(RETRY_PREFIX):
            break
        earlier = services.catalog.get_input(Path(row.path).parent.name)
        if earlier is None:
            break
        row, root = earlier, services.catalog.batch_hotfolder(earlier.batch_id)
    return row, root
