"""Uploads: one or more files in one multipart request become one intake batch (``202``).

The size limit (``KARTOTEKA_HTTP_MAX_UPLOAD_MB``) is enforced while the request streams in: a
``Content-Length`` over it is refused before a byte is read, and a body that grows past it is
cut off at once (413); ``app.uploads`` then counts the files' own bytes exactly. Nothing is
stored for a refused upload. The files are enqueued for processing as hot-folder files are
(in ``kartoteka run`` by its dispatcher); follow them in ``/api/v1/ledger?batch=…``.

A quarantined input (``/api/v1/ledger?outcome=quarantined``, with its reason) is tried again with
``POST /api/v1/inputs/{input}/retry`` once the cause is fixed: a new pending ledger entry in a
new ``retry:`` batch, from the replacement in the hot folder's quarantine folder or else the
stored original (``app.uploads.retry_input``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.types import Message, Receive

from app import records, uploads
from workers.api.auth import Ingester
from workers.api.deps import ServicesDep
from workers.api.models import LedgerEntry, UploadReceipt
from workers.api.openapi import problems
from workers.api.params import ID_PATTERN

router = APIRouter(tags=["uploads"])

#: Room for the multipart framing (boundaries, part headers, the profile field) beyond the files.
FRAMING_BYTES = 1024 * 1024
MAX_FILES = 1000

InputId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN, description="a ledger entry's `input`")]

REQUEST_BODY = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["files"],
                "properties": {
                    "files": {"type": "array", "items": {"type": "string", "format": "binary"}, "minItems": 1},
                    "profile": {"type": "string", "maxLength": 300,
                                "description": "a configured hot folder's name or path (default: the default profile)"},
                },
            }
        }
    },
}  # fmt: skip


def limited(receive: Receive, limit: int, slack: int = 0) -> Receive:
    """``receive`` that raises UploadTooLarge once the body passes ``limit`` + ``slack`` bytes
    (the multipart framing around the files); the message names ``limit``, the files' limit."""
    seen = 0

    async def counting() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit + slack:
                raise uploads.UploadTooLarge(f"the upload is larger than the limit of {limit} bytes", limit=limit)
        return message

    return counting


@router.post(
    "/uploads", status_code=202, response_model=UploadReceipt, responses=problems(413),
    openapi_extra={"requestBody": REQUEST_BODY}, summary="Upload scans as one batch",
)  # fmt: skip
async def post_upload(request: Request, services: ServicesDep, _: Ingester) -> dict[str, Any]:
    max_bytes = services.settings.http_max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes + FRAMING_BYTES:
        raise uploads.UploadTooLarge(f"the upload ({declared} bytes) is larger than the limit of {max_bytes} bytes",
                                     limit=max_bytes)  # fmt: skip
    body = Request(request.scope, limited(request.receive, max_bytes, FRAMING_BYTES))
    async with body.form(max_files=MAX_FILES, max_fields=10) as form:
        parts = [(p.filename or "", p.file) for p in form.getlist("files") if isinstance(p, UploadFile)]
        profile = form.get("profile")
        receipt = await run_in_threadpool(
            uploads.receive_upload, services, parts,
            profile=profile if isinstance(profile, str) else None,
            max_bytes=max_bytes, enqueue=request.app.state.enqueue,
        )  # fmt: skip
    return {"batch": receipt.batch, "files": [records.ledger_entry(r) for r in receipt.files]}


@router.post(
    "/inputs/{input_id}/retry", status_code=202, response_model=LedgerEntry, response_model_exclude_unset=True,
    summary="Try a quarantined input again",
)  # fmt: skip
def post_retry(input_id: InputId, request: Request, services: ServicesDep, _: Ingester) -> dict[str, Any]:
    """A new pending ledger entry for the input, processed as an upload is; 404 for an unknown
    input, 422 for one that is not quarantined (or whose file is gone)."""
    row = uploads.retry_input(services, input_id, request.app.state.enqueue)
    return records.ledger_entry(row)
