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
import shutil
import stat
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from archive.blobs import sha256_file
from archive.model import AttachmentDraft, CardDraft, ExtractedField, InputFileRow, PageDraft
from classify.classifier import Classifier, classifier_for
from classify.model import Classification
from classify.organisations import DirectoryEntry
from ingest.errors import PermanentError, TransientError
from ingest.hotfolder import Candidate
from ingest.profile import HotFolderProfile
from ingest.quarantine import quarantine, write_batch_ledger_json
from ocr.model import FileResult, PageResult
from ingest.batches import is_ignored, list_batch_files, natural_key
from ocr.run import recognize_files, searchable_pdf_from
from workers.logs import current_item
from workers.services import Services

log = logging.getLogger(__name__)

#: Batches ingested from the command line: their files are never moved or deleted.
CLI_PREFIX = "cli:"

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
class SourcedPage:
    """A recognised page with the input it came from."""

    row: InputFileRow
    source: Path
    page: PageResult


@dataclass(frozen=True)
class Document:
    """Pages (of one or several inputs) that form one registration card."""

    key: str
    pages: tuple[SourcedPage, ...]


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
        raise PermanentError(f"input {input_id} does not exist", stage="process")
    token = current_item.set(row.path)
    try:
        root = Path(_batch_root(row, services))
        profile = services.profile_for(str(root))
        if row.outcome == "pending":
            group = _batch_group(row, root, profile, services)
            lock = services.lock_for(row.batch_id if len(group) > 1 else row.id)
            if not lock.acquire(blocking=False):
                return row  # another thread is processing this batch and will finalise it
            try:
                group = [r for r in (catalog.get_input(g.id) for g in group) if r and r.outcome == "pending"]
                if group:
                    _process(group, profile, services)
            finally:
                lock.release()
            row = catalog.get_input(input_id) or row
        for done in _batch_group(row, root, profile, services, pending_only=False) if profile.separation != "file" else [row]:
            finalize(done, services)
        return catalog.get_input(input_id) or row
    finally:
        current_item.reset(token)


def _batch_group(
    row: InputFileRow, root: Path, profile: HotFolderProfile, services: Services, *, pending_only: bool = True
) -> list[InputFileRow]:
    """The inputs processed together with ``row``: itself, or its batch folder's in separator mode."""
    folder = _batch_folder_name(Path(row.path), root)
    if profile.separation == "file" or folder is None:
        return [row]
    rows = [
        r
        for r in services.catalog.ledger(batch_id=row.batch_id)
        if _batch_folder_name(Path(r.path), root) == folder and (r.outcome == "pending" or not pending_only)
    ]
    return sorted(rows, key=lambda r: natural_key(str(Path(r.path).relative_to(root))))


def _process(rows: list[InputFileRow], profile: HotFolderProfile, services: Services) -> None:
    catalog = services.catalog
    if len(rows) == 1:
        row = rows[0]
        existing = catalog.find_card_by_sha256(row.sha256)
        if existing is not None:
            catalog.mark_duplicate(row.id, existing.id)
            return
    cfg = services.settings.ocr.model_copy(
        update={"languages": profile.languages, "read_codes": profile.separation == "barcode"}
    )
    spool = services.work_dir / rows[0].id
    shutil.rmtree(spool, ignore_errors=True)
    spool.mkdir(parents=True)
    try:
        for row in rows:
            catalog.set_stage(row.id, "ocr")
        readable = [r for r in rows if services.blobs.exists(r.sha256)]
        for r in rows:
            if r not in readable:
                catalog.mark_quarantined(r.id, "the stored copy of the original is missing: drop the file again", "ocr")
        results = list(recognize_files([services.blobs.path(r.sha256) for r in readable], cfg, services.engine, spool=spool))
        if any(p.retry for res in results for p in res.pages):
            raise TransientError(f"recognition could not run on every page of {rows[0].name}: will retry", stage="ocr")
        stream: list[SourcedPage] = []
        for row, result in zip(readable, results, strict=True):
            reason = _unusable(result)
            if reason:
                catalog.mark_quarantined(row.id, reason, "ocr")
            else:
                stream.extend(SourcedPage(row, Path(result.path), p) for p in result.pages)
        documents = split_documents(stream, profile)
        kept = {sp.row.id for d in documents for sp in d.pages}
        for row in {sp.row.id: sp.row for sp in stream}.values():
            if row.id not in kept and not _owner_document(row, stream, documents):
                catalog.mark_quarantined(row.id, "every page is blank or a separator sheet: nothing to archive", "ocr")
        if not documents:
            return
        owners = {
            row.id: index
            for row in {sp.row.id: sp.row for sp in stream}.values()
            if (index := _owner_document(row, stream, documents)) is not None
        }
        media = {Path(res.path): res.media_type for res in results}
        drafts = [_draft(doc, i, profile, services, spool, media) for i, doc in enumerate(documents, 1)]
        for row_id in owners:
            catalog.set_stage(row_id, "archive")
        catalog.register_documents(drafts, owners)
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def _unusable(result: FileResult) -> str | None:
    if result.error:
        return result.error
    if result.pages and all(p.error for p in result.pages):
        return f"no page could be recognised: {result.pages[0].error}"
    return None


def _owner_document(row: InputFileRow, stream: list[SourcedPage], documents: list[Document]) -> int | None:
    """Index of the document an input belongs to: the one with its first kept page, else the next."""
    for index, doc in enumerate(documents):
        if any(sp.row.id == row.id for sp in doc.pages):
            return index
    position = next((i for i, sp in enumerate(stream) if sp.row.id == row.id), None)
    if position is None:
        return None
    for index, doc in enumerate(documents):  # a file that was only separator sheets
        if stream.index(doc.pages[0]) > position:
            return index
    return len(documents) - 1 if documents else None


def split_documents(stream: Sequence[SourcedPage], profile: HotFolderProfile) -> list[Document]:
    """Split pages into documents by the profile's mode; separator pages are dropped.

    One file per document in ``file`` mode (blank pages left out); in ``blank`` and ``barcode``
    modes the whole stream is cut at separator sheets, across file boundaries.
    """
    groups: list[list[SourcedPage]] = []
    current: list[SourcedPage] = []
    previous_row: str | None = None
    for sp in stream:
        if profile.separation == "file" and sp.row.id != previous_row:
            groups.append(current)
            current = []
        previous_row = sp.row.id
        if _is_separator(sp.page, profile):
            groups.append(current)
            current = []
        elif not sp.page.blank:
            current.append(sp)
    groups.append(current)
    return [Document(_key(g, stream), tuple(g)) for g in groups if g]


def _key(group: list[SourcedPage], stream: Sequence[SourcedPage]) -> str:
    """The file's checksum when the group is every page of exactly one file, else a page-list hash."""
    rows = {sp.row.id for sp in group}
    if len(rows) == 1:
        row_id = group[0].row.id
        whole = [sp for sp in stream if sp.row.id == row_id and not sp.page.blank]
        if [sp.page.number for sp in group] == [sp.page.number for sp in whole]:
            return group[0].row.sha256
    joined = "|".join(f"{sp.row.sha256}:{sp.page.number}" for sp in group)
    return hashlib.sha256(joined.encode()).hexdigest()


def _is_separator(page: PageResult, profile: HotFolderProfile) -> bool:
    if profile.separation == "blank":
        return page.blank
    if profile.separation == "barcode":
        return bool(page.codes) and (profile.separator_value is None or profile.separator_value in page.codes)
    return False


def _draft(
    doc: Document,
    index: int,
    profile: HotFolderProfile,
    services: Services,
    spool: Path,
    media: dict[Path, str],
) -> CardDraft:
    blobs = services.blobs
    cls = classify(services, [sp.page.text for sp in doc.pages], profile.kind)
    attachments: list[AttachmentDraft] = []
    for row in {sp.row.id: sp.row for sp in doc.pages}.values():
        media_type = media.get(services.blobs.path(row.sha256)) or "application/octet-stream"
        attachments.append(AttachmentDraft("original", row.sha256, row.size, media_type, row.name))
    first = doc.pages[0].row
    pdf_path = spool / f"document-{index}.pdf"
    with contextlib.suppress(PermanentError):  # every page failed: no PDF to keep
        searchable_pdf_from([(sp.source, sp.page) for sp in doc.pages], pdf_path)
        ref = blobs.put_file(pdf_path)
        attachments.append(AttachmentDraft("pdf", ref.sha256, ref.size, "application/pdf", f"{Path(first.name).stem}.pdf"))
    pages: list[PageDraft] = []
    for number, sp in enumerate(doc.pages, 1):
        page = sp.page
        pages.append(PageDraft(number, page.text, min(max(page.confidence, 0.0), 1.0), page.rotation, page.skew, page.source))
        text_ref = blobs.put_bytes(page.text.encode("utf-8"))
        attachments.append(AttachmentDraft("text", text_ref.sha256, text_ref.size, "text/plain; charset=utf-8", f"page-{number}.txt", number))
        if page.hocr:
            hocr_ref = blobs.put_bytes(page.hocr.encode("utf-8"))
            attachments.append(AttachmentDraft("hocr", hocr_ref.sha256, hocr_ref.size, "text/vnd.hocr+html", f"page-{number}.hocr", number))
    failed = [n for n, sp in enumerate(doc.pages, 1) if sp.page.error]
    fields = card_fields(cls, failed)
    return CardDraft(
        journal=cls.journal or profile.journal,
        kind=cls.kind,
        source_sha256=doc.key,
        title=cls.title,
        correspondent=cls.correspondent,
        doc_number=cls.doc_number,
        doc_date=cls.doc_date,
        fields=fields,
        language=profile.languages,
        status="needs review" if REVIEW_REASONS in fields else "registered",
        source_name=first.name,
        batch_id=first.batch_id,
        pages=pages,
        attachments=attachments,
    )


#: The card field that says why a card is in the review queue ("; "-separated reasons).
REVIEW_REASONS = "review_reasons"


def classifier(services: Services) -> Classifier:
    """The process's classifier (kinds and model loaded once; newer models swapped in)."""
    return classifier_for(services.settings.classify, services.settings.data_dir / "models")


def classify(services: Services, texts: list[str], profile_kind: str) -> Classification:
    """Kind, fields and correspondent of a document; an unknown correspondent becomes a proposal.

    Retraining, when enough cards were verified since the model was trained, starts here in a
    background thread: ingestion goes on with the current model until the new one is saved.
    """
    current = classifier(services)
    catalog = services.catalog
    directory = [DirectoryEntry(o.id, o.name, o.key, o.tax_id) for o in catalog.organisations(status="accepted")]
    cls = current.classify(texts, profile_kind, directory)
    if cls.proposal is not None:
        name, key, tax_id = cls.proposal
        catalog.propose_organisation(name, key, tax_id)
    current.retrain_in_background(catalog)
    return cls


def card_fields(cls: Classification, failed_pages: Sequence[int] = ()) -> dict[str, ExtractedField]:
    """A card's fields from a classification; with ``REVIEW_REASONS`` when it needs review."""
    fields = {
        name: ExtractedField(_plain(f.value), min(max(f.confidence, 0.0), 1.0), f.page, f.offset, f.length)
        for name, f in cls.fields.items()
    }
    reasons = list(cls.reasons)
    if failed_pages:
        fields["failed_pages"] = ExtractedField(",".join(map(str, failed_pages)), 1.0)
        reasons.append(f"pages {','.join(map(str, failed_pages))} could not be recognised")
    if reasons:
        fields[REVIEW_REASONS] = ExtractedField("; ".join(reasons), 1.0)
    return fields


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


def files_of(paths: Sequence[Path]) -> list[tuple[Path, list[Path]]]:
    """``kartoteka ingest`` arguments as (batch root, files): a folder is one batch of its files."""
    out: list[tuple[Path, list[Path]]] = []
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            out.append((p, list_batch_files(p)))
        elif not is_ignored(p):
            out.append((p, [p]))
    return out
