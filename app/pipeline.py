"""The stages of ingestion as plain functions over Services: intake, processing, finalising.

The dramatiq actors (workers/broker.py), ``kartoteka ingest`` (app/intake.py) and the tests all
call these; none of them knows about the broker. Each stage's rules live in its package:
splitting and the duplicate rule in ingest/documents.py, the card in archive/drafting.py; this
module only sequences the stages and commits each input's outcome. Every function is idempotent:
the catalog is the source of truth, and running a step twice changes nothing the second time
(the durability rules of the design).

A file's life: ``intake`` copies it into the blob store and records it as ``pending``;
``process_input`` recognises the blob, splits it into documents, registers the cards and commits
the outcome; only then does ``finalize`` remove the file from the hot folder (archived,
duplicate) or move it to quarantine with a reason. A crash anywhere leaves either a pending
input (the recovery sweep re-enqueues it) or a committed outcome whose file is still there (the
next intake or sweep finalises it).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import stat
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from app import workarea
from app.context import current_item
from app.records import ledger_entry
from app.services import Services
from archive.blobs import copy_to, sha256_file
from archive.catalog import CardStore
from archive.drafting import DraftSource, draft_card, page_attachments
from archive.errors import BlobNotFound, InputNotFound
from archive.model import AttachmentDraft, CardDraft, InputFileRow
from classify.model import Classification
from classify.organisations import DirectoryEntry
from ingest.batches import is_ignored, list_batch_files, natural_key
from ingest import reasons
from ingest.documents import PageMark, duplicate_of, split_documents
from ingest.errors import DiskFull, PermanentError, TransientError, is_disk_full
from ingest.hotfolder import Candidate
from ingest.profile import HotFolderProfile
from ingest.quarantine import quarantine, write_batch_ledger_json
from ocr.errors import page_timed_out
from ocr.model import FileResult, PageResult
from ocr.run import recognize_files, searchable_pdf_from

log = logging.getLogger(__name__)

#: Batches ingested from the command line: their files are never moved or deleted.
CLI_PREFIX = "cli:"
#: Batches uploaded over HTTP, and retries of quarantined inputs: no hot-folder file to act on.
API_PREFIX = "api:"
RETRY_PREFIX = "retry:"
NOT_IN_A_HOT_FOLDER = (CLI_PREFIX, API_PREFIX, RETRY_PREFIX)

Enqueue = Callable[[str], object]


# --- intake ---------------------------------------------------------------------------------


def intake_candidate(candidate: Candidate, services: Services, enqueue: Enqueue) -> list[InputFileRow]:
    """Record a ready batch from a hot folder and enqueue its pending files."""
    root = str(candidate.profile.path.resolve())
    batch_id = services.catalog.open_batch(root, candidate.batch_name)
    return [intake_file(path, batch_id, services, enqueue) for path in candidate.files]


def intake_file(path: Path, batch_id: str, services: Services, enqueue: Enqueue) -> InputFileRow:
    """Store the original as a blob and record it; pending files are enqueued, done ones finalised."""
    token = current_item.set(str(path))
    try:
        row = _record(path, batch_id, services)
        if row.outcome == "pending":
            enqueue(row.id)
        else:
            finalize(row, services)  # left over from before a crash: finish the move
        return row
    finally:
        current_item.reset(token)


def _record(path: Path, batch_id: str, services: Services) -> InputFileRow:
    catalog = services.catalog
    try:
        st = path.lstat()
    except FileNotFoundError as e:
        raise TransientError("the file disappeared before it could be read", stage="ingest") from e
    if not stat.S_ISREG(st.st_mode):
        # A symlink, FIFO or socket: never followed or opened (opening a FIFO blocks forever).
        link = stat.S_ISLNK(st.st_mode)
        what = "a symbolic link" if link else "not a regular file"
        key = hashlib.sha256(f"{what}:{path}:{st.st_ino}".encode()).hexdigest()
        row = catalog.record_input(batch_id, str(path), path.name, key, 0)
        if row.outcome == "pending":
            row = catalog.mark_quarantined(row.id, reasons.SYMLINK if link else reasons.NOT_REGULAR, "ingest")
        return row
    blob = services.blobs.put_file(path)
    return catalog.record_input(batch_id, str(path), path.name, blob.sha256, blob.size)


# --- processing ------------------------------------------------------------------------------


def process_input(input_id: str, services: Services) -> InputFileRow:
    """Recognise, classify and register one pending input; commit its outcome; finalise it.

    In a separator-sheet profile, an input inside a batch folder is processed together with the
    other pending files of its batch (documents may span files). Raises TransientError when it
    should be retried (the engine could not run); bad input is never raised: it becomes the
    outcome ``quarantined`` with its reason.
    """
    catalog = services.catalog
    row = catalog.get_input(input_id)
    if row is None:
        raise InputNotFound(f"input {input_id} does not exist", stage="process")
    token = current_item.set(row.path)
    try:
        root = Path(catalog.batch_hotfolder(row.batch_id))
        profile = services.profile_for(str(root))
        if row.outcome == "pending":
            _process_group(row, root, profile, services)
            row = catalog.get_input(input_id) or row
        for done in _batch_group(row, root, profile, services, pending_only=False) if profile.separation != "file" else [row]:
            finalize(done, services)
        return catalog.get_input(input_id) or row
    finally:
        current_item.reset(token)


def _process_group(row: InputFileRow, root: Path, profile: HotFolderProfile, services: Services) -> None:
    """Process ``row`` with the pending inputs of its group, unless this process already is.

    GroupBusy when another process is (``kartoteka ingest`` beside a running service on the
    same data: both used the group's scratch folder, and one deleted it under the other)."""
    group = _batch_group(row, root, profile, services)
    key = _group_key(row, root, profile)
    lock = services.lock_for(key)
    if not lock.acquire(blocking=False):
        return  # another thread is processing this batch and will finalise it
    try:
        with group_lock(key, services) as held:
            if not held:
                raise GroupBusy(f"another process is on group {key}; tried again shortly", stage="process")
            fresh = [services.catalog.get_input(g.id) for g in group]
            pending = [r for r in fresh if r is not None and r.outcome == "pending"]
            if pending:
                _process(pending, profile, services)
    finally:
        lock.release()


def _group_key(row: InputFileRow, root: Path, profile: HotFolderProfile) -> str:
    """What a group is locked by: its batch folder in separator mode, else the input. Not by
    the group's size: a second file recorded meanwhile made the same group lock by another key
    than the first (and the two shared its scratch folder)."""
    if profile.separation != "file" and batch_folder_name(Path(row.path), root) is not None:
        return row.batch_id
    return row.id


def _batch_group(
    row: InputFileRow, root: Path, profile: HotFolderProfile, services: Services, *, pending_only: bool = True
) -> list[InputFileRow]:
    """The inputs processed together with ``row``: itself, or its batch folder's in separator mode."""
    folder = batch_folder_name(Path(row.path), root)
    if profile.separation == "file" or folder is None:
        return [row]
    rows = [
        r
        for r in services.catalog.ledger(batch_id=row.batch_id)
        if batch_folder_name(Path(r.path), root) == folder and (r.outcome == "pending" or not pending_only)
    ]
    return sorted(rows, key=lambda r: natural_key(str(Path(r.path).relative_to(root))))


@dataclass(frozen=True)
class _Recognised:
    """The usable recognised inputs of a group, their pages in order, and each input's file."""

    rows: list[InputFileRow]
    results: list[FileResult]
    files: dict[str, Path]


def _process(rows: list[InputFileRow], profile: HotFolderProfile, services: Services) -> None:
    """Sequence the stages for a group of pending inputs and commit every input's outcome."""
    catalog = services.catalog
    if len(rows) == 1:
        card_id = duplicate_of(rows[0].sha256, _card_of_original(catalog))
        if card_id is not None:
            catalog.mark_duplicate(rows[0].id, card_id)
            return
    spool = services.work_dir / rows[0].id
    shutil.rmtree(spool, ignore_errors=True)
    workarea.make_dir(spool)
    try:
        recognised = _recognise(rows, profile, services, spool)
        _register(recognised, profile, services, spool)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _card_of_original(catalog: CardStore) -> Callable[[str], str | None]:
    def lookup(sha256: str) -> str | None:
        found = catalog.find_card_by_sha256(sha256)
        return None if found is None else found.id

    return lookup


#: Called with the readable inputs and their results before any is quarantined (may raise).
ResultCheck = Callable[[list[InputFileRow], list[FileResult]], None]


def _recognise(
    rows: list[InputFileRow], profile: HotFolderProfile, services: Services, spool: Path, check: ResultCheck | None = None
) -> _Recognised:
    """Copy each stored original into the spool and recognise it; quarantine what is unusable."""
    catalog = services.catalog
    cfg = services.settings.ocr.model_copy(
        update={"languages": profile.languages, "read_codes": profile.separation == "barcode"}
    )
    files: dict[str, Path] = {}
    for index, row in enumerate(rows):
        catalog.set_stage(row.id, "ocr")
        try:
            files[row.id] = copy_to(services.blobs, row.sha256, spool / f"input-{index:05d}")
        except BlobNotFound:
            catalog.mark_quarantined(row.id, reasons.ORIGINAL_MISSING, "ocr")
    readable = [r for r in rows if r.id in files]
    results = list(recognize_files([files[r.id] for r in readable], cfg, services.engine, spool=spool))
    if any(p.retry for res in results for p in res.pages):
        if services.stopping:  # cut off by a stop: not the file's fault, never counted toward quarantine
            raise TransientError(f"recognition of {rows[0].name} stopped with the process; it is read again", stage="ocr")
        raise RecognitionIncomplete(reasons.NOT_EVERY_PAGE_RAN % {"name": rows[0].name}, stage="ocr")
    if check is not None:
        check(readable, results)
    usable: list[tuple[InputFileRow, FileResult]] = []
    for row, result in zip(readable, results, strict=True):
        reason = _unusable(result)
        if reason:
            catalog.mark_quarantined(row.id, reason, "ocr")
        else:
            usable.append((row, result))
    return _Recognised([r for r, _ in usable], [res for _, res in usable], files)


def _register(recognised: _Recognised, profile: HotFolderProfile, services: Services, spool: Path) -> None:
    """Split the recognised pages into documents, draft and register a card for each."""
    catalog = services.catalog
    rows = {r.id: r for r in recognised.rows}
    stream = [(row, result, page) for row, result in zip(recognised.rows, recognised.results) for page in result.pages]
    marks = [PageMark(row.id, row.sha256, page.number, page.blank, page.codes) for row, _, page in stream]
    split = split_documents(marks, profile.separation, profile.separator_value)
    for input_id in split.empty:
        catalog.mark_quarantined(input_id, reasons.NOTHING_TO_ARCHIVE, "ocr")
    if not split.documents:
        return
    media = {row.id: res.media_type for row, res in zip(recognised.rows, recognised.results)}
    drafts = []
    for index, plan in enumerate(split.documents, 1):
        pages = [(rows[stream[i][0].id], stream[i][2]) for i in plan.pages]
        drafts.append(_draft(plan.key, pages, profile, services, spool / f"document-{index}.pdf", media, recognised.files))
    for input_id in split.owners:
        catalog.set_stage(input_id, "archive")
    catalog.register_documents(drafts, split.owners)


def _unusable(result: FileResult) -> str | None:
    if result.error:
        return result.error
    if result.pages and all(p.error for p in result.pages):
        return reasons.NO_PAGE_RECOGNISED % {"error": result.pages[0].error}
    return None


def _draft(
    key: str,
    pages: list[tuple[InputFileRow, PageResult]],
    profile: HotFolderProfile,
    services: Services,
    pdf_path: Path,
    media: dict[str, str],
    files: dict[str, Path],
) -> CardDraft:
    """Classify one document, store its searchable PDF and page texts, and draft its card."""
    blobs = services.blobs
    texts = [page.text for _, page in pages]
    cls = classify(services, texts, profile.kind)
    first = pages[0][0]
    attachments = [
        AttachmentDraft("original", row.sha256, row.size, media.get(row.id) or "application/octet-stream", row.name)
        for row in {row.id: row for row, _ in pages}.values()
    ]
    with contextlib.suppress(PermanentError):  # every page failed: no PDF to keep
        searchable_pdf_from([(files[row.id], page) for row, page in pages], pdf_path)
        ref = blobs.put_file(pdf_path)
        attachments.append(AttachmentDraft("pdf", ref.sha256, ref.size, "application/pdf", f"{Path(first.name).stem}.pdf"))
    results = [page for _, page in pages]
    attachments.extend(page_attachments(blobs, results))
    source = DraftSource(key, first.name, first.batch_id, profile.journal, profile.languages)
    return draft_card(results, cls, source, attachments)


def classify(services: Services, texts: list[str], profile_kind: str) -> Classification:
    """Kind, fields and correspondent of a document; an unknown correspondent becomes a proposal."""
    catalog = services.catalog
    directory = [DirectoryEntry(o.id, o.name, o.key, o.tax_id) for o in catalog.organisations(status="accepted")]
    cls = services.classifier.classify(texts, profile_kind, directory)
    if cls.proposal is not None:
        name, key, tax_id = cls.proposal
        catalog.propose_organisation(name, key, tax_id)
    return cls


# --- the distributed steps: queue ``ocr``, then queue ``archive`` ------------------------------


class GroupBusy(TransientError):
    """Another worker holds the lock of the input's group: the message is tried again shortly
    (the failure policy) rather than dropped. The holder may be a worker that is stopping: its
    message went back to the broker while it still held the lock, and the input then waited
    for the recovery sweep (ten sweeps: ten minutes by default)."""

    code = "busy"


class RecognitionIncomplete(TransientError):
    """The engine could not run on every page (killed, out of memory, stopping): tried again a
    few times, then the input is quarantined (the failure policy): a page that kills the engine
    every time must not keep its file pending for ever."""

    code = "retry"


class PageTimedOut(TransientError):
    """A page went over its time limit: the recognition step is tried once more, then the input
    is quarantined (the failure policy in workers/broker.py)."""

    code = "page-timeout"


def recognise_input(input_id: str, services: Services, *, retry_timeouts: bool = True) -> str | None:
    """The ``ocr`` step: recognise the pending inputs of ``input_id``'s group into a work area
    (app/workarea.py) keyed by the group's first input.

    Returns that key for the ``archive`` step, or None when there is nothing to register: the
    input is decided already (finalised here), was a duplicate, or another worker holds its group
    (that worker sends it on). A complete work area is not recognised again (a redelivery).
    With ``retry_timeouts``, a page over its time limit raises PageTimedOut instead of failing.
    """
    row = _get(input_id, services)
    token = current_item.set(row.path)
    try:
        root = Path(services.catalog.batch_hotfolder(row.batch_id))
        profile = services.profile_for(str(root))
        group = _batch_group(row, root, profile, services) if row.outcome == "pending" else []
        if not group:
            _finalize_group(row, root, profile, services)
            return None
        lead = group[0].id
        if workarea.complete(services.work_dir, lead):
            return lead
        key = _group_key(row, root, profile)
        with group_lock(key, services) as held:
            if not held:
                raise GroupBusy(f"another worker is recognising group {key}; tried again shortly", stage="ocr")
            return _recognise_into_area(lead, group, profile, services, retry_timeouts)
    finally:
        current_item.reset(token)


def _recognise_into_area(
    lead: str, group: list[InputFileRow], profile: HotFolderProfile, services: Services, retry_timeouts: bool
) -> str | None:
    catalog = services.catalog
    fresh = [r for r in (catalog.get_input(g.id) for g in group) if r is not None and r.outcome == "pending"]
    if not fresh or workarea.complete(services.work_dir, lead):
        return lead if fresh else None
    if len(fresh) == 1:
        card_id = duplicate_of(fresh[0].sha256, _card_of_original(catalog))
        if card_id is not None:
            finalize(catalog.mark_duplicate(fresh[0].id, card_id), services)
            return None
    work = services.work_dir
    workarea.discard_partial(work, lead)
    check = _timeouts_check(services, profile) if retry_timeouts else None
    with workarea.writing(work, lead) as tmp:
        got = _recognise(fresh, profile, services, tmp, check)
        usable = [r.id for r in got.rows]
        workarea.commit(tmp, work, lead, [r.id for r in fresh], usable, got.files, got.results)
    return lead


def _timeouts_check(services: Services, profile: HotFolderProfile) -> ResultCheck:
    limit = page_timed_out(services.settings.ocr.page_timeout)

    def check(rows: list[InputFileRow], results: list[FileResult]) -> None:
        for row, result in zip(rows, results, strict=True):
            slow = [p.number for p in result.pages if p.error == limit]
            if slow:
                raise PageTimedOut(f"page {slow[0]} of {row.name}: {limit}", stage="ocr")

    return check


def register_input(lead: str, services: Services) -> bool:
    """The ``archive`` step: register the cards of ``lead``'s work area, finalise its inputs and
    delete the area. A registration already committed (no input pending) only finalises.

    Returns False when the work area is missing while inputs are pending: recognise again.
    """
    catalog = services.catalog
    row = _get(lead, services)
    token = current_item.set(row.path)
    try:
        root = Path(catalog.batch_hotfolder(row.batch_id))
        profile = services.profile_for(str(root))
        with group_lock(f"archive-{lead}", services) as held:
            if not held:
                raise GroupBusy(f"another worker is registering group {lead}; tried again shortly", stage="archive")
            area = workarea.load(services.work_dir, lead)
            if area is None:
                if row.outcome == "pending":
                    return False
                _finalize_group(row, root, profile, services)
                return True
            rows = [r for r in (catalog.get_input(i) for i in area.usable) if r is not None]
            if any(r.outcome == "pending" for r in rows):
                _register(_Recognised(rows, area.results, area.files), profile, services, area.path)
            for done in (catalog.get_input(i) for i in area.inputs):
                if done is not None:
                    finalize(done, services)
            workarea.delete(services.work_dir, lead)
            return True
    finally:
        current_item.reset(token)


def quarantine_input(input_id: str, reason: str, stage: str, services: Services) -> None:
    """Quarantine the pending inputs of ``input_id``'s group with ``reason`` and finalise them
    (a failure policy gave up on them)."""
    catalog = services.catalog
    row = _get(input_id, services)
    root = Path(catalog.batch_hotfolder(row.batch_id))
    profile = services.profile_for(str(root))
    for pending in _batch_group(row, root, profile, services) if row.outcome == "pending" else []:
        finalize(catalog.mark_quarantined(pending.id, reason, stage), services)
    _finalize_group(row, root, profile, services)


@contextlib.contextmanager
def group_lock(key: str, services: Services) -> Iterator[bool]:
    """A lock file per group on the shared data directory: True when this worker holds it.

    Across processes and hosts (where the filesystem passes on flock, as local disks and NFSv4
    do); the kernel releases it when a worker dies, so a redelivered message finds it free."""
    from filelock import FileLock, Timeout

    locks = services.work_dir / "locks"
    lock = FileLock(str(locks / f"{key}.lock"))
    try:
        locks.mkdir(parents=True, exist_ok=True)
        lock.acquire(timeout=0)
    except Timeout:
        yield False
        return
    except OSError as e:
        if is_disk_full(e):
            raise DiskFull(locks, stage="process") from e
        raise
    try:
        yield True
    finally:
        lock.release()


def _get(input_id: str, services: Services) -> InputFileRow:
    row = services.catalog.get_input(input_id)
    if row is None:
        raise InputNotFound(f"input {input_id} does not exist", stage="process")
    return row


def _finalize_group(row: InputFileRow, root: Path, profile: HotFolderProfile, services: Services) -> None:
    group = _batch_group(row, root, profile, services, pending_only=False) if profile.separation != "file" else [row]
    for done in group:
        finalize(done, services)


# --- finalising -------------------------------------------------------------------------------


def finalize(row: InputFileRow, services: Services) -> None:
    """Act on a committed outcome: remove the hot-folder file or move it to quarantine.

    Only files from hot folders are touched, and only while they are still the file that was
    recorded (same checksum), so a new file dropped under the same name is never lost.
    """
    if row.outcome == "pending":
        return
    root = _batch_root(row, services)
    if root.startswith(NOT_IN_A_HOT_FOLDER):
        _close_batch_if_done(row, services)  # close the batch, touch no files
        return
    path = Path(row.path)
    if not _still_the_same(path, row):
        _close_batch_if_done(row, services)
        return
    profile = services.profile_for(root)
    if row.outcome == "quarantined":
        batch = batch_folder_name(path, Path(root))
        target = profile.quarantine or (Path(root) / "quarantine")
        moved = quarantine(path, target, row.reason or "rejected", row.stage or "ingest", batch=batch, input_id=row.id)
        log.warning("quarantined %s: %s (moved to %s)", path, row.reason, moved)
    else:
        path.unlink(missing_ok=True)
        log.info("%s %s: card %s", row.outcome, path, row.card_number)
    _remove_empty_batch_folder(path, Path(root))
    _close_batch_if_done(row, services)


def _still_the_same(path: Path, row: InputFileRow) -> bool:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode):
        return row.size == 0  # the link or FIFO we recorded
    if st.st_size != row.size:
        return False
    try:
        return sha256_file(path) == row.sha256
    except OSError:
        return False


def _batch_root(row: InputFileRow, services: Services) -> str:
    return services.catalog.batch_hotfolder(row.batch_id)


def batch_folder_name(path: Path, root: Path) -> str | None:
    """The batch folder (first folder under the hot folder) a file is in, or None for a loose file."""
    try:
        rel = path.relative_to(root)
    except ValueError:
        return None
    return rel.parts[0] if len(rel.parts) > 1 else None


def _remove_empty_batch_folder(path: Path, root: Path) -> None:
    folder = path.parent
    while folder != root and root in folder.parents:
        try:
            folder.rmdir()  # only succeeds when empty
        except OSError:
            return
        folder = folder.parent


def _close_batch_if_done(row: InputFileRow, services: Services) -> None:
    catalog = services.catalog
    rows = catalog.ledger(batch_id=row.batch_id)
    if any(r.outcome == "pending" for r in rows):
        return
    root = _batch_root(row, services)
    profile = services.profile_for(root)
    if profile.quarantine is not None and not root.startswith(NOT_IN_A_HOT_FOLDER):
        name = batch_folder_name(Path(row.path), Path(root)) or Path(row.path).name
        write_batch_ledger_json(profile.quarantine, name, [ledger_entry(r) for r in rows], batch_id=row.batch_id)
    catalog.close_batch(row.batch_id)


def pending_ids(services: Services) -> list[str]:
    return [r.id for r in services.catalog.pending_inputs()]


#: Group lock files older than this, and held by nobody, are removed by the recovery sweep.
LOCK_KEPT_S = 24 * 3600.0


def prune_locks(services: Services, older_than_s: float = LOCK_KEPT_S) -> int:
    """Remove the lock files of groups finished long ago (one or two per document would pile up
    by the hundred thousand a year); returns how many went.

    A file is removed only while this process holds its lock (taken without waiting), so a
    worker on that group now keeps it. A worker that opened the old file in the instant before
    it went does not end up holding a lock nobody else sees: filelock (4.x) checks, once it has
    the lock, that the file it locked is still linked, and opens the path again if not.
    """
    from filelock import FileLock, Timeout

    locks = services.work_dir / "locks"
    cutoff = time.time() - older_than_s
    removed = 0
    for path in locks.glob("*.lock") if locks.is_dir() else ():
        try:
            if path.stat().st_mtime >= cutoff:
                continue
            lock = FileLock(str(path))
            lock.acquire(timeout=0)
        except (OSError, Timeout):
            continue  # gone already, or held: a group being worked on
        try:
            path.unlink(missing_ok=True)
            removed += 1
        finally:
            lock.release()
    return removed


def files_of(paths: Sequence[Path]) -> list[tuple[Path, list[Path]]]:
    """``kartoteka ingest`` arguments as (batch root, files): a folder is one batch of its files."""
    out: list[tuple[Path, list[Path]]] = []
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            out.append((p, list_batch_files(p)))
        elif not is_ignored(p):
            out.append((p, [p]))
    return out
