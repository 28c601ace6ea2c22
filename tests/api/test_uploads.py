"""Uploads over HTTP: scans in one request become one batch, are processed as hot-folder files
are, found by search and downloaded; a refused upload (too large, a bad name) stores nothing."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests import scripted as S
from tests.api.conftest import MakeApi, Running, add_odd_files

ACT = "АКТ СВЕРКИ взаимных расчётов за март 2026 года между ТОО «Альфа-Строй» и АО «Бета»"
MiB = 1024 * 1024


def _scan(tmp_path: Path, key: str) -> bytes:
    return S.write_png(tmp_path / f"{key}.png", key).read_bytes()


def _wait_for(client: httpx.Client, batch: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 60
    while True:
        files = client.get("/api/v1/ledger", params={"batch": batch}).json()["files"]
        if len(files) == count and all(f["outcome"] != "pending" for f in files):
            return list(files)
        assert time.monotonic() < deadline, files
        time.sleep(0.1)


def _counts(client: httpx.Client) -> tuple[int, int]:
    ledger = client.get("/api/v1/ledger", params={"limit": "1000"}).json()["files"]
    batches = client.get("/api/v1/batches", params={"limit": "1000"}).json()["batches"]
    return len(ledger), len(batches)


def test_an_upload_becomes_cards_found_by_search_and_downloaded(make_api: MakeApi, tmp_path: Path) -> None:
    api = make_api({"memo": "СЛУЖЕБНАЯ ЗАПИСКА"}, later={"act": ACT, "letter": "Письмо о поставке цемента"})
    files = [("files", ("акт сверки.png", _scan(tmp_path, "act"), "image/png")),
             ("files", ("letter.png", _scan(tmp_path, "letter"), "image/png"))]  # fmt: skip
    with api.client("write") as client:
        answer = client.post("/api/v1/uploads", files=files)
        assert answer.status_code == 202, answer.text
        receipt = answer.json()
        assert [f["outcome"] for f in receipt["files"]] == ["pending", "pending"]
        assert receipt["files"][0]["path"].endswith("/акт сверки.png")
        done = _wait_for(client, receipt["batch"], 2)
        assert [f["outcome"] for f in done] == ["archived", "archived"]
        found = client.get("/api/v1/search", params={"q": "акт сверки расчётов"}).json()
        (hit,) = found["hits"]
        assert hit["card"] == done[0]["card"]
        pdf = client.get(f"/api/v1/cards/{hit['card']}/pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
        original = client.get(f"/api/v1/cards/{hit['card']}/original")
        assert original.content == (tmp_path / "act.png").read_bytes()
        batch = client.get(f"/api/v1/batches/{receipt['batch']}").json()
        assert batch["counts"]["archived"] == 2
        # every card registered from the upload (a file split by separator sheets gives several)
        assert {c["card"] for c in batch["cards"]} == {f["card"] for f in done}
        assert "cards" not in client.get("/api/v1/batches").json()["batches"][0]  # one batch's page only


def test_an_upload_over_the_limit_is_a_413_and_stores_nothing(make_api: MakeApi, tmp_path: Path) -> None:
    api = make_api({"memo": "СЛУЖЕБНАЯ ЗАПИСКА"}, http_max_upload_mb=1)
    big = b"\x89PNG" + bytes(3 * MiB)
    with api.client("write") as client:
        before = _counts(client)
        declared = client.post("/api/v1/uploads", files=[("files", ("big.png", big, "image/png"))])
        assert declared.status_code == 413 and declared.json()["code"] == "upload-too-large"
        assert f"limit of {MiB} bytes" in declared.json()["detail"]

        def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while it streams
            yield b"--b\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.png\"\r\n\r\n"
            for _ in range(3):
                yield bytes(MiB)
            yield b"\r\n--b--\r\n"

        streamed = client.post("/api/v1/uploads", content=chunks(),
                               headers={"Content-Type": "multipart/form-data; boundary=b"})  # fmt: skip
        assert streamed.status_code == 413, streamed.text
        assert f"limit of {MiB} bytes" in streamed.json()["detail"]  # the files' limit, not with the framing
        assert _counts(client) == before
    assert not any((api.archive.data_dir / "work" / "uploads").glob("*/*"))


def test_a_file_name_with_a_path_or_an_unknown_profile_is_refused(api: Running, tmp_path: Path) -> None:
    scan = _scan(tmp_path, "memo")
    with api.client("write") as client:
        before = _counts(client)
        traversal = client.post("/api/v1/uploads", files=[("files", ("../../etc/cron.d/x", scan, "image/png"))])
        profile = client.post("/api/v1/uploads", files=[("files", ("a.png", scan, "image/png"))], data={"profile": "nowhere"})
        empty = client.post("/api/v1/uploads", data={"profile": "x"})
        assert _counts(client) == before
    assert traversal.status_code == 422 and traversal.json()["code"] == "invalid-upload"
    assert profile.status_code == 422 and "nowhere" in profile.json()["detail"]
    assert empty.status_code == 415 and "multipart/form-data" in empty.json()["detail"]  # not a form of files at all


def test_an_upload_needs_the_ingest_permission(api: Running, tmp_path: Path) -> None:
    scan = _scan(tmp_path, "memo")
    with api.client("clerk") as clerk, api.client("operator") as operator:
        refused = clerk.post("/api/v1/uploads", files=[("files", ("a.png", scan, "image/png"))])
        assert refused.status_code == 403
        taken = operator.post("/api/v1/uploads", files=[("files", ("a.png", scan, "image/png"))])
        assert taken.status_code == 202, taken.text


def test_a_quarantined_input_is_retried_as_a_new_ledger_entry(make_api: MakeApi) -> None:
    api = make_api()
    add_odd_files(api.archive, api.archive.data_dir.parent)
    with api.client("operator") as operator:
        (broken,) = operator.get("/api/v1/ledger", params={"outcome": "quarantined"}).json()["files"]
        assert broken["reason"] and broken["input"]
        retried = operator.post(f"/api/v1/inputs/{broken['input']}/retry")
        assert retried.status_code == 202, retried.text
        entry = retried.json()
        assert entry["input"] != broken["input"] and entry["batch"] != broken["batch"]
        assert (entry["outcome"], entry["sha256"]) == ("pending", broken["sha256"])
        (done,) = _wait_for(operator, entry["batch"], 1)
        assert done["outcome"] == "quarantined"  # still not a PDF: it stays in quarantine, as a new entry
        ledger = operator.get("/api/v1/ledger", params={"outcome": "quarantined"}).json()["files"]
        assert [f["input"] for f in ledger] == [broken["input"], entry["input"]]
        archived = operator.get("/api/v1/ledger", params={"outcome": "archived"}).json()["files"][0]
        not_quarantined = operator.post(f"/api/v1/inputs/{archived['input']}/retry")
        unknown = operator.post("/api/v1/inputs/none-such/retry")
        traversal = operator.post("/api/v1/inputs/..%2F..%2Fetc/retry")
    assert not_quarantined.status_code == 422 and "only a quarantined input" in not_quarantined.json()["detail"]
    assert unknown.status_code == 404 and unknown.json()["code"] == "input-not-found"
    assert traversal.status_code in (404, 422)
    with api.client("clerk") as clerk:
        assert clerk.post(f"/api/v1/inputs/{broken['input']}/retry").status_code == 403


def _multipart(*parts: tuple[str, str, bytes], boundary: str = "kt-b0undary") -> bytes:
    body = b""
    for field, name, data in parts:
        body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; filename=\"{name}\"\r\n"
                 "Content-Type: image/png\r\n\r\n").encode() + data + b"\r\n"  # fmt: skip
    return body + f"--{boundary}--\r\n".encode()


def test_a_body_cut_off_before_its_closing_boundary_is_refused_whole(api: Running, tmp_path: Path) -> None:
    """python-multipart takes a body that stops inside a part as complete and drops that part:
    the upload was a 202 with the second file missing and nothing said."""
    first, second = _scan(tmp_path, "memo"), _scan(tmp_path, "act")
    whole = _multipart(("files", "first.png", first), ("files", "second.png", second))
    headers = {"Content-Type": "multipart/form-data; boundary=kt-b0undary"}
    with api.client("write") as client:
        before = _counts(client)
        cut = client.post("/api/v1/uploads", content=whole[: len(whole) - len(second) // 2], headers=headers)
        unclosed = client.post("/api/v1/uploads", content=whole[: whole.rindex(b"--kt-b0undary--")], headers=headers)
        assert _counts(client) == before
        assert client.post("/api/v1/uploads", content=whole, headers=headers).status_code == 202
    for answer in (cut, unclosed):
        assert answer.status_code == 400 and answer.json()["code"] == "truncated-body", answer.text
        assert "cut off" in answer.json()["detail"]


def test_files_in_another_field_or_a_profile_sent_as_a_file_are_named(api: Running, tmp_path: Path) -> None:
    scan = _scan(tmp_path, "memo")
    with api.client("write") as client:
        before = _counts(client)
        wrong_field = client.post("/api/v1/uploads", files=[("file", ("a.png", scan, "image/png"))])
        profile_file = client.post("/api/v1/uploads", files=[("files", ("a.png", scan, "image/png")),
                                                             ("profile", ("p.txt", b"x", "text/plain"))])  # fmt: skip
        raw = client.post("/api/v1/uploads", content=scan, headers={"Content-Type": "image/png"})
        assert _counts(client) == before
    assert wrong_field.status_code == 422 and "fields named 'files'" in wrong_field.json()["detail"]
    assert "'file'" in wrong_field.json()["detail"]
    assert profile_file.status_code == 422 and "'profile' must be a text field" in profile_file.json()["detail"]
    assert raw.status_code == 415 and raw.json()["code"] == "unsupported-media-type"


def test_a_client_hanging_up_mid_upload_is_no_server_error(api: Running, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    import socket
    import urllib.parse

    caplog.set_level(logging.INFO, logger="workers.api.problems")
    body = _multipart(("files", "a.png", _scan(tmp_path, "memo")))
    url = urllib.parse.urlsplit(api.url)
    with api.client("write") as client:
        before = _counts(client)
        token = client.headers["Authorization"]
        with socket.create_connection((url.hostname, url.port)) as raw:
            raw.sendall((f"POST /api/v1/uploads HTTP/1.1\r\nHost: {url.netloc}\r\nAuthorization: {token}\r\n"
                         "Content-Type: multipart/form-data; boundary=kt-b0undary\r\n"
                         f"Content-Length: {len(body)}\r\n\r\n").encode() + body[: len(body) // 2])  # fmt: skip
            time.sleep(0.5)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("client disconnected" in r.getMessage() for r in caplog.records):
            time.sleep(0.1)
        assert _counts(client) == before
    assert any("client disconnected during POST /api/v1/uploads" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_a_renamed_duplicate_name_stays_within_255_bytes_and_joiners_are_kept(api: Running, tmp_path: Path) -> None:
    scan = _scan(tmp_path, "memo")
    long_name = "д" * 125 + ".png"  # 254 bytes
    family = "семья 👨\u200d👩\u200d👧.png"  # an emoji sequence: zero-width joiners between the people
    with api.client("write") as client:
        answer = client.post("/api/v1/uploads", files=[("files", (long_name, scan, "image/png")),
                                                       ("files", (long_name, scan + b"\0", "image/png")),
                                                       ("files", (family, scan + b"\0\0", "image/png"))])  # fmt: skip
    assert answer.status_code == 202, answer.text
    names = [Path(f["path"]).name for f in answer.json()["files"]]
    assert names[0] == long_name and names[1].endswith(" (1).png") and len(names[1].encode()) <= 255
    assert names[2] == family
