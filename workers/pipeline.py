"""The stages of ingestion as plain functions over Services: intake, processing, finalising.

The dramatiq actors (workers/actors.py), ``kartoteka ingest`` and the tests all call these; none
of them knows about the broker. Every function is idempotent: the catalog is the source of
truth, and running a step twice changes nothing the second time (DESIGN.md, durability rules).

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
import os
import shutil
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from archive.blobs import sha256_file
from archive.model import AttachmentDraft, CardDraft, ExtractedField, InputFileRow, PageDraft
from classify.simple import classify_document
from ingest.errors import PermanentError, TransientError
from ingest.hotfolder import Candidate
from ingest.profile import HotFolderProfile
from ingest.quarantine import quarantine, write_batch_ledger_json
from ocr.model import FileResult, PageResult
from ocr.run import recognize_files, searchable_pdf
from workers.logs import current_item
from workers.services import Services

log = logging.getLogger(__name__)

#: Batches ingested from the command line: their files are never moved or deleted.
CLI_PREFIX = "cli:"

Enqueue = Callable[[str], None]


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
        raise TransientError(f"{path} disappeared before it could be read", stage="ingest") from e
    if not stat.S_ISREG(st.st_mode):
        # A symlink, FIFO or socket: never followed or opened (opening a FIFO blocks forever).
        what = "a symbolic link" if stat.S_ISLNK(st.st_mode) else "not a regular file"
        key = hashlib.sha256(f"{what}:{path}:{st.st_ino}".encode()).hexdigest()
        row = catalog.record_input(batch_id, str(path), path.name, key, 0)
        if row.outcome == "pending":
            row = catalog.mark_quarantined(row.id, f"is {what}: copy the file itself into the folder", "ingest")
        return row
    blob = services.blobs.put_file(path)
    return catalog.record_input(batch_id, str(path), path.name, blob.sha256, blob.size)


# --- processing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """Pages of one input that form one registration card."""

    key: str
    pages: tuple[PageResult, ...]


def process_input(input_id: str, services: Services) -> InputFileRow:
    """Recognise, classify and register one pending input; commit its outcome; finalise it.

    Raises TransientError when it should be retried (the engine could not run); bad input is
    never raised: it becomes the outcome ``quarantined`` with its reason.
    """
    catalog = services.catalog
    row = catalog.get_input(input_id)
    if row is None:
        log.info("input %s no longer exists", input_id)
        raise PermanentError(f"input {input_id} does not exist", stage="process")
    token = current_item.set(row.path)
    try:
        if row.outcome == "pending":
            row = _process(row, services)
        finalize(row, services)
        return row
    finally:
        current_item.reset(token)


def _process(row: InputFileRow, services: Services) -> InputFileRow:
    catalog = services.catalog
    existing = catalog.find_card_by_sha256(row.sha256) or catalog.find_card_by_sha256(document_key(row.sha256, 1, 2))
    if existing is not None:
        return catalog.mark_duplicate(row.id, existing.id)
    profile = services.profile_for(_batch_root(row, services))
    blob = services.blobs.path(row.sha256)
    if not blob.exists():
        return catalog.mark_quarantined(row.id, "the stored copy of the original is missing: drop the file again", "ocr")
    cfg = services.settings.ocr.model_copy(
        update={"languages": profile.languages, "read_codes": profile.separation == "barcode"}
    )
    spool = services.work_dir / row.id
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir(parents=True)
    try:
        catalog.set_stage(row.id, "ocr")
        (result,) = recognize_files([blob], cfg, services.engine, spool=spool)
        if result.error:
            return catalog.mark_quarantined(row.id, result.error, "ocr")
        if any(p.retry for p in result.pages):
            raise TransientError(f"recognition could not run on every page of {row.name}: will retry", stage="ocr")
        if result.pages and all(p.error for p in result.pages):
            reason = f"no page could be recognised: {result.pages[0].error}"
            return catalog.mark_quarantined(row.id, reason, "ocr")
        documents = split_documents(result, row.sha256, profile)
        if not documents:
            return catalog.mark_quarantined(row.id, "every page is blank or a separator sheet: nothing to archive", "ocr")
        catalog.set_stage(row.id, "archive")
        drafts = [_draft(doc, index, result, row, profile, services, spool) for index, doc in enumerate(documents, 1)]
        catalog.register_cards(row.id, drafts)
        return catalog.get_input(row.id) or row
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def document_key(file_sha256: str, index: int, count: int) -> str:
    """The key a document's card is registered under: the file's checksum when it is whole."""
    if count == 1:
        return file_sha256
    return hashlib.sha256(f"{file_sha256}#{index}".encode()).hexdigest()


def split_documents(result: FileResult, file_sha256: str, profile: HotFolderProfile) -> list[Document]:
    """Split a file's pages into documents by the profile's mode; separator pages are dropped."""
    groups: list[list[PageResult]] = [[]]
    for page in result.pages:
        if _is_separator(page, profile):
            groups.append([])
        elif not (page.blank and profile.separation == "file" and not page.text):
            groups[-1].append(page)
    groups = [g for g in groups if g and not all(p.blank for p in g)]
    return [Document(document_key(file_sha256, i, len(groups)), tuple(g)) for i, g in enumerate(groups, 1)]


def _is_separator(page: PageResult, profile: HotFolderProfile) -> bool:
    if profile.separation == "blank":
        return page.blank
    if profile.separation == "barcode":
        return bool(page.codes) and (profile.separator_value is None or profile.separator_value in page.codes)
    return False


def _draft(
    doc: Document,
    index: int,
    result: FileResult,
    row: InputFileRow,
    profile: HotFolderProfile,
    services: Services,
    spool: Path,
) -> CardDraft:
    blobs = services.blobs
    texts = [p.text for p in doc.pages]
    cls = classify_document(texts, profile.kind)
    attachments = [AttachmentDraft("original", row.sha256, row.size, result.media_type or "application/octet-stream", row.name)]
    pdf_path = spool / f"document-{index}.pdf"
    with contextlib.suppress(PermanentError):  # every page blank or failed: no PDF to keep
        searchable_pdf(replace(result, pages=doc.pages), pdf_path)
        ref = blobs.put_file(pdf_path)
        attachments.append(AttachmentDraft("pdf", ref.sha256, ref.size, "application/pdf", f"{Path(row.name).stem}.pdf"))
    pages: list[PageDraft] = []
    for number, page in enumerate(doc.pages, 1):
        pages.append(
            PageDraft(number, page.text, min(max(page.confidence, 0.0), 1.0), page.rotation, page.skew, page.source)
        )
        text_ref = blobs.put_bytes(page.text.encode("utf-8"))
        attachments.append(AttachmentDraft("text", text_ref.sha256, text_ref.size, "text/plain; charset=utf-8", f"page-{number}.txt", number))
        if page.hocr:
            hocr_ref = blobs.put_bytes(page.hocr.encode("utf-8"))
            attachments.append(AttachmentDraft("hocr", hocr_ref.sha256, hocr_ref.size, "text/vnd.hocr+html", f"page-{number}.hocr", number))
    failed = [p.number for p in doc.pages if p.error]
    fields = {name: ExtractedField(_plain(f.value), f.confidence, f.page) for name, f in cls.fields.items()}
    if failed:
        fields["failed_pages"] = ExtractedField(",".join(map(str, failed)), 1.0)
    return CardDraft(
        journal=profile.journal,
        kind=cls.kind,
        source_sha256=doc.key,
        title=cls.title,
        doc_number=cls.doc_number,
        doc_date=cls.doc_date,
        fields=fields,
        language=profile.languages,
        status="needs review" if failed or cls.needs_review else "registered",
        pages=pages,
        attachments=attachments,
    )


def _plain(value: object) -> str | int | float | bool | None:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value.isoformat() if hasattr(value, "isoformat") else value)


# --- finalising -------------------------------------------------------------------------------


def finalize(row: InputFileRow, services: Services) -> None:
    """Act on a committed outcome: remove the hot-folder file or move it to quarantine.

    Only files from hot folders are touched, and only while they are still the file that was
    recorded (same checksum), so a new file dropped under the same name is never lost.
    """
    if row.outcome == "pending":
        return
    root = _batch_root(row, services)
    if root.startswith(CLI_PREFIX):
        return
    path = Path(row.path)
    if not _still_the_same(path, row):
        _close_batch_if_done(row, services)
        return
    profile = services.profile_for(root)
    if row.outcome == "quarantined":
        batch = _batch_folder_name(path, Path(root))
        target = profile.quarantine or (Path(root) / "quarantine")
        moved = quarantine(path, target, row.reason or "rejected", row.stage or "ingest", batch=batch)
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


def _batch_folder_name(path: Path, root: Path) -> str | None:
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
    if profile.quarantine is not None and not root.startswith(CLI_PREFIX):
        name = _batch_folder_name(Path(row.path), Path(root)) or Path(row.path).name
        write_batch_ledger_json(profile.quarantine, name, [ledger_entry(r) for r in rows])
    catalog.close_batch(row.batch_id)


def ledger_entry(row: InputFileRow) -> dict[str, object]:
    """One ledger line as the command-line contract prints it."""
    return {
        "path": row.path,
        "sha256": row.sha256,
        "batch": row.batch_id,
        "outcome": row.outcome,
        "card": row.card_number,
        "reason": row.reason,
    }


def pending_ids(services: Services) -> list[str]:
    return [r.id for r in services.catalog.pending_inputs()]


def is_regular_file(path: Path) -> bool:
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def files_of(paths: Sequence[Path]) -> list[tuple[Path, list[Path]]]:
    """``kartoteka ingest`` arguments as (batch root, files): a folder is one batch of its files."""
    from ingest.batches import is_ignored, list_batch_files

    out: list[tuple[Path, list[Path]]] = []
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            out.append((p, list_batch_files(p)))
        elif not is_ignored(p):
            out.append((p, [p]))
    return out
