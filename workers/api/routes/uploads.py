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
from python_multipart.multipart import parse_options_header

from app import records, uploads
from workers.api.auth import Ingester
from workers.api.deps import ServicesDep
from workers.api.models import LedgerEntry, UploadReceipt
from workers.api.openapi import problems
from workers.api.problems import ApiProblem
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


class WatchedBody:
    """The request body as it streams in: ``receive`` raises UploadTooLarge once the body passes
    ``limit`` + ``slack`` bytes (the multipart framing around the files; the message names
    ``limit``, the files' limit), and the body's end raises a 400 unless the multipart close
    delimiter came: python-multipart takes a body that stops in the middle of a part as a whole
    one and drops that part (a cut-off upload was a 202 with files silently missing)."""

    def __init__(self, receive: Receive, limit: int, slack: int, boundary: bytes | None) -> None:
        self._receive = receive
        self._limit = limit
        self._slack = slack
        self._seen = 0
        self._close = b"--" + boundary + b"--" if boundary else b""
        self._tail = b""
        self.complete = not boundary  # without a boundary the parser refuses the body itself

    async def receive(self) -> Message:
        message = await self._receive()
        if message["type"] == "http.request":
            body = message.get("body", b"")
            self._seen += len(body)
            if self._seen > self._limit + self._slack:
                raise uploads.UploadTooLarge(f"the upload is larger than the limit of {self._limit} bytes", limit=self._limit)
            if not self.complete:
                window = self._tail + body
                self.complete = self._close in window
                self._tail = window[-len(self._close) :]
            if not self.complete and not message.get("more_body", False):
                # Raised while the parser reads: Starlette then closes the temporary files of
                # the parts it began (a part cut off is in no list it closes afterwards).
                raise ApiProblem(400, "truncated-body", "the multipart body ends before its closing boundary: "
                                 "the upload was cut off; nothing was stored, send it again")  # fmt: skip
        return message


def _boundary(content_type: str) -> bytes | None:
    """The multipart boundary of a ``multipart/form-data`` Content-Type; ApiProblem 415 for
    any other type of body."""
    media_type, options = parse_options_header(content_type)
    if media_type != b"multipart/form-data":
        raise ApiProblem(415, "unsupported-media-type",
                         "send the files as multipart/form-data, each in a field named 'files'")  # fmt: skip
    return options.get(b"boundary") or None


@router.post(
    "/uploads", status_code=202, response_model=UploadReceipt, responses=problems(400, 413, 415),
    openapi_extra={"requestBody": REQUEST_BODY}, summary="Upload scans as one batch",
)  # fmt: skip
async def post_upload(request: Request, services: ServicesDep, _: Ingester) -> dict[str, Any]:
    max_bytes = services.settings.http_max_upload_mb * 1024 * 1024
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes + FRAMING_BYTES:
        raise uploads.UploadTooLarge(f"the upload ({declared} bytes) is larger than the limit of {max_bytes} bytes",
                                     limit=max_bytes)  # fmt: skip
    watched = WatchedBody(request.receive, max_bytes, FRAMING_BYTES, _boundary(request.headers.get("content-type", "")))
    body = Request(request.scope, watched.receive)
    async with body.form(max_files=MAX_FILES, max_fields=10) as form:
        parts = [(p.filename or "", p.file) for p in form.getlist("files") if isinstance(p, UploadFile)]
        profile = form.get("profile")
        if profile is not None and not isinstance(profile, str):
            raise uploads.InvalidUpload("'profile' must be a text field, not a file", stage="upload")
        if not parts:
            others = sorted({name for name, value in form.multi_items() if isinstance(value, UploadFile)})
            if others:
                raise uploads.InvalidUpload(f"send the files in fields named 'files' (this upload has {', '.join(map(repr, others))})",
                                            stage="upload")  # fmt: skip
        receipt = await run_in_threadpool(
            uploads.receive_upload, services, parts, profile=profile,
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
