"""A card's files: any attachment by id, the original, the searchable PDF, each page's text,
hOCR and image (rendered from the stored scan at a requested width, cached).

Files stream from the blob store with ``Range`` support (one range: 206 with ``Content-Range``;
past the end: 416), a strong ``ETag`` (the checksum) and a ``Content-Disposition`` that is safe
for any stored name (an ASCII fallback and the UTF-8 name). Attachments are reached through
their card and id only, never a path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, BinaryIO

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import FileResponse, Response, StreamingResponse

from app import files
from archive.model import AttachmentRole
from workers.api.auth import Reader
from workers.api.deps import ServicesDep
from workers.api.openapi import problems
from workers.api.params import ID_PATTERN, CardId

router = APIRouter(tags=["files"])

CHUNK = 256 * 1024
AttachmentId = Annotated[str, Path(min_length=1, max_length=64, pattern=ID_PATTERN)]
PageNumber = Annotated[int, Path(ge=1, le=100_000, description="page number, from 1")]
RangeHeader = Annotated[str | None, Header(max_length=200, description="one byte range: bytes=first-last")]
Download = Annotated[bool, Query(description="as an attachment (Save as) rather than inline")]


def _binary(*media_types: str) -> dict[int | str, dict[str, Any]]:
    content = {media: {"schema": {"type": "string", "format": "binary"}} for media in media_types}
    return {
        200: {"description": "The file", "content": content},
        206: {"description": "The requested byte range", "content": content},
        **problems(416),
    }


ANY_FILE = _binary("*/*")


def _chunks(stream: BinaryIO, start: int, length: int) -> Iterator[bytes]:
    try:
        stream.seek(start)
        while length > 0:
            chunk = stream.read(min(CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        stream.close()


def _send(services: ServicesDep, card: str, attachment_id: str, range_header: str | None, download: bool) -> Response:
    row, stream = files.open_attachment(services, card, attachment_id)
    try:
        span = files.byte_range(range_header, row.size)
    except BaseException:
        stream.close()
        raise
    headers = {
        "Accept-Ranges": "bytes",
        "ETag": f'"{row.sha256}"',
        "Content-Disposition": files.content_disposition(row.name, inline=not download),
    }
    if span is None:
        headers["Content-Length"] = str(row.size)
        return StreamingResponse(_chunks(stream, 0, row.size), media_type=row.media_type, headers=headers)
    first, last = span
    headers["Content-Range"] = f"bytes {first}-{last}/{row.size}"
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(_chunks(stream, first, last - first + 1), 206, media_type=row.media_type, headers=headers)


def _by_role(services: ServicesDep, card: str, role: AttachmentRole, page: int | None, range_header: str | None,
             download: bool) -> Response:  # fmt: skip
    found = files.find_attachment(services, card, role, page)
    return _send(services, card, found.id, range_header, download)


@router.get("/cards/{id_or_number}/attachments/{attachment_id}", response_class=Response, responses=ANY_FILE,
            summary="One of the card's attachments (ids are in the card's attachments)")  # fmt: skip
def get_attachment(id_or_number: CardId, attachment_id: AttachmentId, services: ServicesDep, _: Reader,
                   range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
                   download: Download = False) -> Response:  # fmt: skip
    return _send(services, id_or_number, attachment_id, range_header, download)


@router.get("/cards/{id_or_number}/original", response_class=Response, responses=ANY_FILE,
            summary="The original file as it was scanned (the first, if the card has several)")  # fmt: skip
def get_original(id_or_number: CardId, services: ServicesDep, _: Reader,
                 range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
                 download: Download = False) -> Response:  # fmt: skip
    return _by_role(services, id_or_number, "original", None, range_header, download)


@router.get("/cards/{id_or_number}/pdf", response_class=Response, responses=_binary("application/pdf"),
            summary="The searchable PDF")  # fmt: skip
def get_pdf(id_or_number: CardId, services: ServicesDep, _: Reader,
            range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
            download: Download = False) -> Response:  # fmt: skip
    return _by_role(services, id_or_number, "pdf", None, range_header, download)


@router.get("/cards/{id_or_number}/pages/{page}/text", response_class=Response, responses=_binary("text/plain"),
            summary="A page's recognised text")  # fmt: skip
def get_page_text(id_or_number: CardId, page: PageNumber, services: ServicesDep, _: Reader,
                  range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
                  download: Download = False) -> Response:  # fmt: skip
    return _by_role(services, id_or_number, "text", page, range_header, download)


@router.get("/cards/{id_or_number}/pages/{page}/hocr", response_class=Response,
            responses=_binary("text/vnd.hocr+html"), summary="A page's hOCR (words with their boxes)")  # fmt: skip
def get_page_hocr(id_or_number: CardId, page: PageNumber, services: ServicesDep, _: Reader,
                  range_header: Annotated[str | None, Header(alias="Range", max_length=200)] = None,
                  download: Download = False) -> Response:  # fmt: skip
    return _by_role(services, id_or_number, "hocr", page, range_header, download)


@router.get("/cards/{id_or_number}/pages/{page}/image", response_class=Response,
            responses={200: {"description": "The page image", "content": {files.IMAGE_MEDIA_TYPE: {
                "schema": {"type": "string", "format": "binary"}}}}},
            summary="A page's image at a width (rendered once, then cached)")  # fmt: skip
def get_page_image(id_or_number: CardId, page: PageNumber, services: ServicesDep, _: Reader,
                   width: Annotated[int, Query(ge=files.MIN_WIDTH, le=files.MAX_WIDTH)] = 1000) -> Response:  # fmt: skip
    image = files.page_image(services, id_or_number, page, width)
    return FileResponse(image.path, media_type=image.media_type, headers={"ETag": image.etag})
