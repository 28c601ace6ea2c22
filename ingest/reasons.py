"""Why a file was quarantined or a page failed: every reason's English template, in one place.

The stages raise and record ``TEMPLATE % params`` (English: what ledgers, reason files, logs, the
command line and the API show). The web UI reads a recorded reason back into its template and
parameters (``parse``) and shows it in the clerk's language; the templates are the gettext
messages (``N_`` marks them for extraction, ``workers/web/babel.cfg``). Reasons recorded earlier
are read the same way as long as a template keeps its wording: reword one and the old records
show in English, as a reason does whose template is not here (a server's own error, say).

Placeholders are ``%(name)s``; a parameter is free text (a library's message, a size), except
``error``, which is itself a reason and is translated too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache


def N_(message: str) -> str:
    """Mark ``message`` for the UI's catalogs (identity)."""
    return message


# --- the file as found in the hot folder (ingest/sniff.py, app/pipeline.py) -----------------
SYMLINK = N_("is a symbolic link: copy the file itself into the folder")
DIRECTORY = N_("is a directory, not a file")
NOT_REGULAR = N_("is not a regular file (a FIFO, socket or device)")
VANISHED = N_("file disappeared before it could be read")
UNREADABLE = N_("cannot be read: %(cause)s")
EMPTY = N_("is empty (0 bytes): scan or export it again")
NOT_A_DOCUMENT = N_(
    "is not a PDF, PNG, JPEG or TIFF (content starts with %(start)s): convert it to one of these and drop it again"
)
ZIP = N_(
    "is a ZIP archive or an Office document (.docx, .xlsx, .odt): unpack it, or save the document as PDF, "
    "and drop it again"
)
ARCHIVE = N_("is a %(format)s archive: unpack it and drop the files inside")
OTHER_FORMAT = N_("is a %(format)s file, not a PDF, PNG, JPEG or TIFF: convert it to one of these and drop it again")
ORIGINAL_MISSING = N_("the stored copy of the original is missing: drop the file again")

# --- decoding (ocr/sources.py) -----------------------------------------------------------------
TOO_LARGE = N_(
    "image is too large (%(detail)s; possible decompression bomb): split or downscale it, "
    "or raise KARTOTEKA_OCR_MAX_PIXELS"
)
IMAGE_UNDECODABLE = N_("image cannot be decoded (%(detail)s): the file is damaged or truncated")
PAGE_TRUNCATED = N_("page cannot be read (%(detail)s): the file is truncated")
PAGE_DAMAGED = N_("page cannot be decoded (%(detail)s): the page is damaged")
PDF_ENCRYPTED = N_("PDF is encrypted with a password: save an unprotected copy and drop it again")
PDF_DAMAGED = N_("PDF cannot be opened (%(detail)s): the file is damaged")
PDF_NO_PAGES = N_("PDF has no pages")
PDF_TRUNCATED = N_("PDF is truncated (no end-of-file marker): the file is incomplete; export or scan it again")
PDF_PAGE_UNREADABLE = N_("PDF page cannot be read (%(detail)s)")
PDF_PAGE_SIZE = N_("PDF page size %(width)sx%(height)s pt is out of range")
PDF_PAGE_UNRENDERABLE = N_("PDF page cannot be rendered (%(detail)s)")
PDFTOPPM_FAILED = N_("pdftoppm cannot render this page (%(detail)s)")

# --- recognition (ocr/) ------------------------------------------------------------------------
PAGE_TIMED_OUT = N_("Tesseract took longer than %(seconds)s s on this page")
PAGE_CRASHED = N_("Tesseract crashed on this page (its worker process died): the page cannot be read")
PAGE_NOT_READ = N_("Tesseract could not read this page")
PAGE_NOT_READ_BECAUSE = N_("Tesseract could not read this page: %(detail)s")
NO_PAGE_RECOGNISED = N_("no page could be recognised: %(error)s")
NOTHING_TO_ARCHIVE = N_("every page is blank or a separator sheet: nothing to archive")
NO_PDF_PAGES = N_("no pages to put in the PDF (every page was blank or failed)")
NOT_EVERY_PAGE_RAN = N_("recognition could not run on every page of %(name)s: will retry")
TRY_AGAIN = N_("%(error)s (try again)")

# --- the workers' failure policy (workers/broker.py) ---------------------------------------------
GAVE_UP = N_("%(error)s (failed %(times)s times)")

#: The templates ``parse`` knows, in the order tried: GAVE_UP first (the failure policy wraps
#: whatever the stages said, so it is the outermost), TRY_AGAIN last (it matches any text that
#: ends in its words).
TEMPLATES: tuple[str, ...] = (
    GAVE_UP, SYMLINK, DIRECTORY, NOT_REGULAR, VANISHED, UNREADABLE, EMPTY, NOT_A_DOCUMENT, ZIP, ARCHIVE, OTHER_FORMAT,
    ORIGINAL_MISSING,
    TOO_LARGE, IMAGE_UNDECODABLE, PAGE_TRUNCATED, PAGE_DAMAGED, PDF_ENCRYPTED, PDF_DAMAGED,
    PDF_NO_PAGES, PDF_TRUNCATED, PDF_PAGE_UNREADABLE, PDF_PAGE_SIZE, PDF_PAGE_UNRENDERABLE,
    PDFTOPPM_FAILED, PAGE_TIMED_OUT, PAGE_CRASHED, PAGE_NOT_READ_BECAUSE, PAGE_NOT_READ,
    NO_PAGE_RECOGNISED, NOTHING_TO_ARCHIVE, NO_PDF_PAGES, NOT_EVERY_PAGE_RAN, TRY_AGAIN,
)  # fmt: skip

_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@dataclass(frozen=True)
class Parsed:
    """A recorded reason read back: its template and the parameters it was filled with."""

    template: str
    params: dict[str, str]


@cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = _PLACEHOLDER.split(template)  # text, name, text, name, …, text
    regex = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(regex, re.DOTALL)


def parse(text: str) -> Parsed | None:
    """The template ``text`` was made from and its parameters; None for any other text."""
    for template in TEMPLATES:
        m = _pattern(template).fullmatch(text)
        if m:
            return Parsed(template, m.groupdict())
    return None
