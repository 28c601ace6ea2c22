"""Assemble a document's searchable PDF from its pages, streaming from files on disk."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path

import pikepdf

from ingest import reasons
from ingest.errors import PermanentError


def assemble(parts: Sequence[tuple[Path, int]], out: Path) -> int:
    """Write ``out`` from (pdf file, page index) parts in order; returns the page count.

    Written to a temporary name and renamed, so a reader never sees half a file.
    """
    if not parts:
        raise PermanentError(reasons.NO_PDF_PAGES, stage="ocr")
    tmp = out.with_name(out.name + ".part")
    with ExitStack() as stack:
        opened: dict[Path, pikepdf.Pdf] = {}
        doc = stack.enter_context(pikepdf.new())
        for path, index in parts:
            if path not in opened:
                opened[path] = stack.enter_context(pikepdf.open(path))
            doc.pages.append(opened[path].pages[index])
        doc.save(tmp)
    tmp.replace(out)
    return len(parts)
