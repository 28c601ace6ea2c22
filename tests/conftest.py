"""Shared fixtures. The real parts (Tesseract with rus, kaz, eng, osd) are required: a missing
one fails the tests with the command that installs it, it never skips them.

The servers of the distributed mode (PostgreSQL, Redis, RabbitMQ) are named by URL in
``KARTOTEKA_TEST_POSTGRES_URL``, ``KARTOTEKA_TEST_REDIS_URL`` and ``KARTOTEKA_TEST_AMQP_URL``;
``scripts/test.sh`` starts them and sets all three. A missing one fails the tests that need it,
saying how to start it: no test skips, in CI or anywhere else (a skip would hide a failure)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from ocr.config import OcrConfig
from ocr.tesseract import TesseractEngine
from tests.processes import EXE, clean_env

REQUIRED_LANGS = {"rus", "kaz", "eng", "osd"}
POSTGRES_ENV = "KARTOTEKA_TEST_POSTGRES_URL"
REDIS_ENV = "KARTOTEKA_TEST_REDIS_URL"
AMQP_ENV = "KARTOTEKA_TEST_AMQP_URL"


#: Set by scripts/test.sh and .ci/run, which install and start every real part: there any test
#: skipped by whatever means (a library's own skip included) fails the run.
REQUIRE_ENV = "KARTOTEKA_TEST_REQUIRE_ALL"


def _everything_required() -> bool:
    flags = (os.environ.get(REQUIRE_ENV, ""), os.environ.get("CI", ""))
    return any(flag.strip().lower() not in ("", "0", "false", "no") for flag in flags)


def _service_url(env: str, server: str) -> str:
    """The URL in ``env``; without it, the test fails saying how to get one."""
    url = os.environ.get(env, "").strip()
    if not url:
        pytest.fail(f"{env} is not set: run the tests with scripts/test.sh, which starts {server}, or name a running one")
    return url


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    """Where everything is required, a skipped test is a failed one (whatever skipped it)."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and _everything_required():  # an expected failure (xfail) too: it hides one
        report.outcome = "failed"
        report.longrepr = f"skipped where every real part is required ({REQUIRE_ENV}/CI): {report.longrepr}"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    """A PostgreSQL account that may create databases (``postgresql+psycopg://…/postgres``)."""
    return _service_url(POSTGRES_ENV, "PostgreSQL")


def flush_broker(url: str) -> None:
    """Empty the stage queues (with their delayed and dead queues) on the broker at ``url``:
    dramatiq's ``flush_all`` flushes only the queues a broker object has declared, and a new one
    has declared none."""
    from workers.broker import QUEUES, make_broker

    broker = make_broker(url)
    for queue in QUEUES:
        broker.declare_queue(queue)
    broker.flush_all()
    broker.close()


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The test Redis, its stage queues empty before and after the test: a retry still delayed
    when a test ends must not show up in the next one's queue depths."""
    url = _service_url(REDIS_ENV, "Redis")
    flush_broker(url)
    yield url
    flush_broker(url)


@pytest.fixture
def amqp_url() -> Iterator[str]:
    """The test RabbitMQ, its stage queues empty before and after the test (as ``redis_url``)."""
    url = _service_url(AMQP_ENV, "RabbitMQ")
    flush_broker(url)
    yield url
    flush_broker(url)


@pytest.fixture(scope="session")
def engine() -> TesseractEngine:
    if not shutil.which("tesseract"):
        pytest.fail("tesseract is not installed: run scripts/bootstrap.sh (apt-get install tesseract-ocr)")
    eng = TesseractEngine()
    missing = REQUIRED_LANGS - eng.languages()
    if missing:
        pytest.fail(f"Tesseract language packs missing: {sorted(missing)}: run scripts/bootstrap.sh")
    return eng


@pytest.fixture(scope="session")
def ocr_cfg() -> OcrConfig:
    return OcrConfig(languages="rus+eng")


@pytest.fixture
def kartoteka(tmp_path: Path):
    """Run the installed ``kartoteka`` command as a user would, with its own data directory."""
    exe = EXE if EXE.exists() else Path(shutil.which("kartoteka") or "kartoteka")

    def run(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), *args],
            capture_output=True,
            text=True,
            env=clean_env(tmp_path / "data", **(env or {})),
            timeout=timeout,
            check=False,
        )

    return run
