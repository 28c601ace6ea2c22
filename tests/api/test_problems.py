"""Every error is an RFC 9457 problem detail with our ``code``; bad input is a 4xx, never a 500."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import httpx
import pytest

from tests.api.conftest import Archive, Running
from workers.api.app import create_app
from workers.api.server import ApiServer

PROBLEM = "application/problem+json"


def _problem(answer: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert set(body) >= {"type", "title", "status", "detail", "code"}
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:kartoteka:problem:{code}"
    assert "Traceback" not in answer.text
    return dict(body)


def test_an_unknown_card_is_a_404_problem(api: Running) -> None:
    with api.client("read") as client:
        body = _problem(client.get("/api/v1/cards/ВХ-1999-000001"), 404, "card-not-found")
    assert "ВХ-1999-000001" in str(body["detail"])


def test_an_unknown_batch_and_an_unknown_path_are_404_problems(api: Running) -> None:
    with api.client("read") as client:
        _problem(client.get("/api/v1/batches/no-such-batch"), 404, "batch-not-found")
        _problem(client.get("/api/v1/nothing-here"), 404, "not-found")


def test_anonymous_is_a_401_problem_that_asks_for_a_bearer_token(api: Running) -> None:
    with api.client() as client:
        answer = client.get("/api/v1/cards")
    _problem(answer, 401, "unauthenticated")
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_is_refused_not_taken_as_anonymous(api: Running) -> None:
    with api.client() as client:
        answer = client.get("/api/v1/cards", headers={"Authorization": "Bearer kt_not-a-token"})
    _problem(answer, 401, "invalid-token")


def test_a_caller_without_the_permission_gets_a_403_problem(api: Running) -> None:
    with api.client("read") as client:
        answer = client.post("/api/v1/cards/ВХ-1999-000001/accept")
    body = _problem(answer, 403, "forbidden")
    assert "review" in str(body["detail"])


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/ledger", {"limit": "0"}),
        ("/api/v1/ledger", {"outcome": "lost"}),
        ("/api/v1/search", {"per_page": "101"}),
        ("/api/v1/search", {"from": "yesterday"}),
        ("/api/v1/cards", {"sort": "sideways"}),
        ("/api/v1/changes", {"limit": "-1"}),
    ],
)
def test_a_malformed_query_is_a_422_problem_naming_the_parameter(api: Running, path: str, params: dict[str, str]) -> None:
    with api.client("read") as client:
        body = _problem(client.get(path, params=params), 422, "invalid-request")
    (name,) = params
    errors = body["errors"]
    assert isinstance(errors, list) and errors[0]["loc"] == ["query", name]


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/ledger", {"after": "bm90LWEtY3Vyc29y"}),
        ("/api/v1/batches", {"after": "garbage"}),
        ("/api/v1/cards", {"cursor": "garbage"}),
        ("/api/v1/changes", {"after": "abc"}),
        ("/api/v1/changes", {"after": str(2**63)}),  # past the database's 64-bit integers
    ],
)
def test_a_cursor_not_handed_out_is_a_400_problem(api: Running, path: str, params: dict[str, str]) -> None:
    with api.client("read") as client:
        _problem(client.get(path, params=params), 400, "invalid-cursor")


def test_a_search_with_an_unreadable_date_range_is_a_400_problem(api: Running) -> None:
    with api.client("read") as client:
        _problem(client.get("/api/v1/search", params={"q": "registered:2026-13..x"}), 400, "rejected")


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/api/v1/search", {"q": "договор", "from": "2026-03-01", "to": "2026-01-01"}),
        ("/api/v1/cards", {"registered_from": "2026-03-01", "registered_to": "2026-01-01"}),
    ],
)
def test_a_date_range_given_as_parameters_that_ends_before_it_starts_is_a_400_problem(
    api: Running, path: str, params: dict[str, str]
) -> None:
    """As the same range in the query language is («registered:2026-03-01..2026-01-01»)."""
    with api.client("read") as client:
        body = _problem(client.get(path, params=params), 400, "rejected")
    assert "ends before it starts" in str(body["detail"])


def test_a_query_in_another_encoding_is_a_400_problem_not_every_card(api: Running) -> None:
    """«договор» in Windows-1251: its bytes decode to U+FFFD, which analysis drops; searched,
    the query would have been empty and listed the whole archive."""
    with api.client("read") as client:
        body = _problem(client.get("/api/v1/search?q=%E4%EE%E3%EE%E2%EE%F0"), 400, "rejected")
        assert "UTF-8" in str(body["detail"])
        assert client.get("/api/v1/search", params={"q": "договор"}).status_code == 200


def test_a_paging_error_is_not_titled_as_a_date_error(api: Running) -> None:
    with api.client("read") as client:
        body = _problem(client.get("/api/v1/search", params={"page": "101", "per_page": "100"}), 400, "rejected")
    assert "date" not in str(body["title"]) and "10000" in str(body["detail"]).replace(",", "")


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/cards/..%2F..%2Fetc%2Fpasswd",
        "/api/v1/cards/%2e%2e",
        "/api/v1/cards/a%00b",
        "/api/v1/cards/" + "x" * 65,
        "/api/v1/batches/..%5C..%5Cwindows",
        "/api/v1/cards/%D0%92%D0%A5-2026-%2F..",
    ],
)
def test_traversal_and_malformed_ids_are_4xx_problems(api: Running, path: str) -> None:
    with api.client("admin") as client:
        answer = client.get(path)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"] == PROBLEM


def test_a_body_that_is_not_json_is_a_400_problem_and_a_wrong_one_a_422(api: Running) -> None:
    with api.client("admin") as client:
        broken = client.post("/api/v1/tokens", content=b"{not json", headers={"Content-Type": "application/json"})
        wrong = client.post("/api/v1/tokens", json={"name": "x", "scope": "everything"})
    _problem(broken, 400, "malformed-json")
    _problem(wrong, 422, "invalid-request")


def test_a_wrong_method_is_a_405_problem_that_lists_every_allowed_method(api: Running) -> None:
    with api.client("admin") as client:
        answer = client.put("/api/v1/tokens")
    _problem(answer, 405, "method-not-allowed")
    assert answer.headers["Allow"] == "GET, POST"


@pytest.fixture
def broken_api(archive: Archive) -> Iterator[str]:
    app = create_app(archive.settings)

    def boom() -> None:
        raise RuntimeError("secret internals /etc/kartoteka")

    app.add_api_route("/api/v1/boom", boom)
    server = ApiServer(app, "127.0.0.1", 0)
    server.start()
    yield server.url
    server.stop()


def test_an_unexpected_error_is_a_500_problem_with_a_reference_logged(broken_api: str, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="workers.api.problems"), httpx.Client(base_url=broken_api) as client:
        answer = client.get("/api/v1/boom")
    body = _problem(answer, 500, "internal-error")
    assert "secret internals" not in answer.text
    reference = str(body["reference"])
    (record,) = [r for r in caplog.records if reference in r.getMessage()]
    assert record.exc_info is not None and "secret internals" in str(record.exc_info[1])


@pytest.mark.parametrize(
    ("part", "setting"),
    [
        ("index", {"search_url": "http://127.0.0.1:9/kartoteka"}),
        ("broker", {"broker_url": "redis://127.0.0.1:9/0"}),
        ("broker", {"broker_url": "amqp://guest:guest@127.0.0.1:9/"}),
    ],
)
def test_ready_is_a_503_problem_naming_the_part_that_cannot_be_reached(
    archive: Archive, part: str, setting: dict[str, str]
) -> None:
    server = ApiServer(create_app(archive.settings.model_copy(update=setting)), "127.0.0.1", 0)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            answer = client.get("/ready")
    finally:
        server.stop()
    detail = str(_problem(answer, 503, "not-ready")["detail"])
    assert part in detail and "catalog" not in detail and ({"index", "broker"} - {part}).pop() not in detail
    assert answer.headers["Retry-After"]
    assert "guest:guest" not in answer.text  # a broker's password never shows
