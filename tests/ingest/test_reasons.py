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
