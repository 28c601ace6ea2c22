"""A card's files over HTTP: content types, byte ranges, ETags, safe names, page images."""

from __future__ import annotations

import io
from pathlib import Path
from urllib.parse import quote, unquote

import pytest
from PIL import Image

from app.intake import ingest_paths
from tests import scripted as S
from tests.api.conftest import INVOICE, MakeApi, Running


def _card(api: Running, key: str) -> dict[str, object]:
    (entry,) = [f for f in api.archive.cli("ledger")["files"] if f["path"].endswith(f"/morning/{key}.png")]
    return dict(api.archive.cli("card", str(entry["card"])))


def test_the_original_is_the_file_ingested_with_its_checksum_as_etag(api: Running, tmp_path: Path) -> None:
    card = _card(api, "invoice")
    scans = api.archive.data_dir.parent / "scans" / "morning"
    with api.client("read") as client:
        answer = client.get(f"/api/v1/cards/{card['id']}/original")
    assert answer.status_code == 200, answer.text
    assert answer.content == (scans / "invoice.png").read_bytes()
    assert answer.headers["content-type"] == "image/png"
    assert answer.headers["ETag"] == f'"{card["source_sha256"]}"'
    assert answer.headers["Content-Disposition"] == 'inline; filename="invoice.png"'
    assert answer.headers["Accept-Ranges"] == "bytes"


def test_the_searchable_pdf_and_page_text_are_served_with_their_types(api: Running) -> None:
    card = _card(api, "invoice")
    with api.client("read") as client:
        pdf = client.get(f"/api/v1/cards/{card['registration_number']}/pdf", params={"download": "true"})
        text = client.get(f"/api/v1/cards/{card['id']}/pages/1/text")
        hocr = client.get(f"/api/v1/cards/{card['id']}/pages/1/hocr")
        missing = client.get(f"/api/v1/cards/{card['id']}/pages/2/text")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["Content-Disposition"].startswith("attachment; ")
    assert text.headers["content-type"] == "text/plain; charset=utf-8" and text.text.strip() == INVOICE
    assert hocr.status_code == 200 and "ocrx_word" in hocr.text
    assert missing.status_code == 404 and missing.json()["code"] == "attachment-not-found"


@pytest.mark.parametrize(("header", "first", "last"), [("bytes=0-9", 0, 9), ("bytes=-5", None, None), ("bytes=100-", 100, None)])
def test_a_byte_range_is_served_as_206(api: Running, header: str, first: int | None, last: int | None) -> None:
    card = _card(api, "memo")
    with api.client("read") as client:
        whole = client.get(f"/api/v1/cards/{card['id']}/pdf").content
        part = client.get(f"/api/v1/cards/{card['id']}/pdf", headers={"Range": header})
    size = len(whole)
    start = size - 5 if first is None else first
    end = size - 1 if last is None else last
    assert part.status_code == 206, part.text
    assert part.content == whole[start : end + 1]
    assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}"


def test_a_range_past_the_end_is_a_416_problem(api: Running) -> None:
    card = _card(api, "memo")
    with api.client("read") as client:
        size = len(client.get(f"/api/v1/cards/{card['id']}/pdf").content)
        answer = client.get(f"/api/v1/cards/{card['id']}/pdf", headers={"Range": f"bytes={size}-"})
    assert answer.status_code == 416 and answer.json()["code"] == "range-not-satisfiable"
    assert answer.headers["Content-Range"] == f"bytes */{size}"


def test_attachments_are_reached_by_id_through_their_own_card_only(api: Running) -> None:
    memo, invoice = _card(api, "memo"), _card(api, "invoice")
    attachments = memo["attachments"]
    assert isinstance(attachments, list)
    text = next(a for a in attachments if a["role"] == "text")
    with api.client("read") as client:
        own = client.get(f"/api/v1/cards/{memo['id']}/attachments/{text['id']}")
        other = client.get(f"/api/v1/cards/{invoice['id']}/attachments/{text['id']}")
        traversal = client.get(f"/api/v1/cards/{memo['id']}/attachments/..%2F..%2Fcatalog.sqlite3")
    assert own.status_code == 200 and "СЛУЖЕБНАЯ ЗАПИСКА" in own.text
    assert other.status_code == 404
    assert 400 <= traversal.status_code < 500


def test_a_page_image_is_rendered_at_the_width_asked_and_cached(api: Running) -> None:
    card = _card(api, "order")
    with api.client("read") as client:
        first = client.get(f"/api/v1/cards/{card['id']}/pages/1/image", params={"width": "400"})
        again = client.get(f"/api/v1/cards/{card['id']}/pages/1/image", params={"width": "400"})
        too_wide = client.get(f"/api/v1/cards/{card['id']}/pages/1/image", params={"width": "5000"})
    assert first.status_code == 200, first.text
    assert first.headers["content-type"] == "image/webp"
    assert Image.open(io.BytesIO(first.content)).width == 400
    assert again.content == first.content and again.headers["ETag"] == first.headers["ETag"]
    assert too_wide.status_code == 422


def test_a_non_ascii_name_gets_an_ascii_fallback_and_its_utf8_form(make_api: MakeApi, tmp_path: Path) -> None:
    api = make_api({"memo": "СЛУЖЕБНАЯ ЗАПИСКА"})
    folder = tmp_path / "кириллица"
    folder.mkdir()
    S.write_png(folder / "Служебная записка №5.png", S.plain_page(seed=3))
    (row,) = ingest_paths(api.archive.services, [folder]).files
    with api.client("read") as client:
        answer = client.get(f"/api/v1/cards/{row.card_id}/original", params={"download": "true"})
    disposition = answer.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"") and disposition.isascii()
    assert unquote(disposition.split("filename*=UTF-8''")[1]) == "Служебная записка №5.png"
    assert quote("Служебная") in disposition
