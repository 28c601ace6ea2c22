"""Quarantine reasons are made from templates and read back from their English text (the web UI
shows them in the clerk's language from what was recorded)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ingest import reasons
from ingest.errors import UnsupportedInput
from ingest.sniff import sniff
from ocr.errors import page_timed_out


@pytest.mark.parametrize("template", reasons.TEMPLATES)
def test_every_template_reads_back_into_itself_and_its_params(template: str) -> None:
    names = re.findall(r"%\((\w+)\)s", template)
    params = {name: f"«{name}: a value (with brackets), and: a colon»" for name in names}
    parsed = reasons.parse(template % params)
    assert parsed is not None and parsed.template == template and parsed.params == params


def test_the_stages_messages_are_read_back(tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")
    (tmp_path / "notes.pdf").write_bytes(b"just some text")
    (tmp_path / "folder.pdf").mkdir()
    found = {}
    for name in ("empty.pdf", "notes.pdf", "folder.pdf"):
        with pytest.raises(UnsupportedInput) as e:
            sniff(tmp_path / name)
        found[name] = reasons.parse(str(e.value))
    assert found["empty.pdf"] == reasons.Parsed(reasons.EMPTY, {})
    assert found["notes.pdf"] == reasons.Parsed(reasons.NOT_A_DOCUMENT, {"start": "6a 75 73 74 20 73 6f 6d"})
    assert found["folder.pdf"] == reasons.Parsed(reasons.DIRECTORY, {})
    timed_out = page_timed_out(30.0)
    assert timed_out == "Tesseract took longer than 30 s on this page"  # the recorded wording, kept
    assert reasons.parse(timed_out) == reasons.Parsed(reasons.PAGE_TIMED_OUT, {"seconds": "30"})


def test_a_wrapped_reason_names_the_inner_one_and_other_text_is_unknown() -> None:
    inner = reasons.NO_PAGE_RECOGNISED % {"error": reasons.PAGE_CRASHED}
    outer = reasons.GAVE_UP % {"error": inner, "times": 3}
    assert reasons.parse(outer) == reasons.Parsed(reasons.GAVE_UP, {"error": inner, "times": "3"})
    assert reasons.parse(inner) == reasons.Parsed(reasons.NO_PAGE_RECOGNISED, {"error": reasons.PAGE_CRASHED})
    assert reasons.parse("connection to server at 10.0.0.5 refused") is None
    assert reasons.parse("") is None


def _zip_of(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def test_an_archive_holding_pdfs_is_refused_not_read_as_one_of_them(tmp_path: Path) -> None:
    """An uncompressed ZIP of two PDFs has "%PDF-" in its first kilobyte: it was read as the PDF
    whose cross-reference table came last, and the other document was lost without a word."""
    from tests import pages as P

    one = P.image_pdf([P.render_page("first", dpi=50)], tmp_path / "one.pdf", dpi=50).read_bytes()
    two = P.image_pdf([P.render_page("second", dpi=50)], tmp_path / "two.pdf", dpi=50).read_bytes()
    archive = tmp_path / "both.pdf"
    archive.write_bytes(_zip_of({"one.pdf": one, "two.pdf": two}))
    assert b"%PDF-" in archive.read_bytes()[:1024]
    with pytest.raises(UnsupportedInput) as e:
        sniff(archive)
    assert str(e.value) == reasons.ZIP


@pytest.mark.parametrize(
    ("head", "expected"),
    [(b"Rar!\x1a\x07\x01\x00%PDF-1.4", reasons.ARCHIVE % {"format": "RAR"}),
     (b"\x1f\x8b\x08\x00", reasons.ARCHIVE % {"format": "gzip"}),
     (b"GIF89a\x01\x00", reasons.OTHER_FORMAT % {"format": "GIF"}),
     (b"BM\x36\x00\x0c\x00\x00\x00\x00\x00\x36\x00", reasons.OTHER_FORMAT % {"format": "BMP"}),
     (b"\x00\x00\x00\x18ftypheic\x00\x00", reasons.OTHER_FORMAT % {"format": "HEIC"}),
     (b"RIFF\x10\x00\x00\x00WEBPVP8 ", reasons.OTHER_FORMAT % {"format": "WebP"}),
     (b"BMW service book", reasons.NOT_A_DOCUMENT % {"start": "42 4d 57 20 73 65 72 76"})],
)  # fmt: skip
def test_formats_we_do_not_read_are_named(tmp_path: Path, head: bytes, expected: str) -> None:
    path = tmp_path / "scan.pdf"
    path.write_bytes(head + b"\x00" * 64)
    with pytest.raises(UnsupportedInput) as e:
        sniff(path)
    assert str(e.value) == expected and reasons.parse(expected) is not None
