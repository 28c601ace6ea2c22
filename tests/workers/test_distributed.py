"""The distributed mode as real processes on loopback: ``kartoteka watch``, ``kartoteka worker``
and ``kartoteka serve`` over a PostgreSQL catalog (a database per test), Redis or RabbitMQ and
Elasticsearch (an index per test), recognising with the scripted engine. Each test ends with
every file accounted for, nothing duplicated and registration numbers gap-free."""

from __future__ import annotations

import json
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import make_url

from ocr.fake import PageScript
from tests.processes import EXE, clean_env
from tests.scripted import write_png, write_script
from tests.search.conftest import elastic_url

WAIT_S = 60.0


@pytest.fixture
def catalog_url(postgres_admin_url: str) -> Iterator[str]:
    admin = create_engine(postgres_admin_url, isolation_level="AUTOCOMMIT")
    name = f"kartoteka_dist_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        yield make_url(postgres_admin_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@dataclass
class Cluster:
    """The processes of one deployment on a shared data directory and hot folder."""

    root: Path
    catalog_url: str
    broker_url: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    def env(self) -> dict[str, str]:
        return clean_env(
            self.root / "data",
            KARTOTEKA_SETTINGS=str(self.root / "kartoteka.toml"),
            KARTOTEKA_DATABASE_URL=self.catalog_url,
            KARTOTEKA_BROKER_URL=self.broker_url,
            KARTOTEKA_SEARCH_URL=f"{elastic_url()}/kt-{self.root.name.lower()}-{uuid.uuid4().hex[:8]}",
            KARTOTEKA_SWEEP_SECONDS="1",
            KARTOTEKA_OCR_ENGINE="scripted",
            KARTOTEKA_OCR_SCRIPT_FILE=str(self.root / "script.json"),
            KARTOTEKA_OCR_DPI="150",
            KARTOTEKA_OCR_JOBS="1",
        )

    def setup(self, delay: float) -> None:
        self.inbox.mkdir(parents=True, exist_ok=True)
        (self.root / "kartoteka.toml").write_text(
            f'[[hotfolders]]\npath = "{self.inbox}"\njournal = "ВХ"\nkind = "incoming"\n'
            "settle_seconds = 0.3\nrescan_seconds = 1\n",
            encoding="utf-8",
        )
        write_script(self.root / "script.json", {}, unknown=PageScript("СЛУЖЕБНАЯ ЗАПИСКА о поставке", delay=delay))
        self._env = self.env()

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        with (self.root / f"{args[0]}-{len(self.procs)}.log").open("ab") as log:
            proc = subprocess.Popen([str(EXE), *args], env=self._env, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def logs(self) -> str:
        return "\n".join(f"== {p.name}\n{p.read_text(errors='replace')[-2000:]}" for p in sorted(self.root.glob("*.log")))

    def ledger(self) -> list[dict[str, Any]]:
        out = subprocess.run([str(EXE), "ledger", "--json"], env=self._env, capture_output=True, text=True, timeout=60, check=False)
        assert out.returncode in (0, 1), out.stderr
        return list(json.loads(out.stdout)["files"])

    def wait_decided(self, count: int) -> list[dict[str, Any]]:
        deadline = time.monotonic() + WAIT_S
        files: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            files = self.ledger()
            if len(files) >= count and all(f["outcome"] != "pending" for f in files):
                return files
            time.sleep(0.5)
        raise AssertionError(f"not all {count} files decided: {files}\n{self.logs()}")


@pytest.fixture
def cluster(tmp_path: Path, catalog_url: str, redis_url: str) -> Iterator[Cluster]:
    made = Cluster(tmp_path, catalog_url, redis_url)
    yield made
    made.stop_all()


def drop_files(inbox: Path, singles: int, batch: int) -> list[Path]:
    """``singles`` loose one-page files and a batch folder of ``batch`` files, written then renamed in."""
    staging = inbox.parent / "staging"
    staging.mkdir(exist_ok=True)
    made = [write_png(staging / f"single-{i:02d}.png", f"single-{i}") for i in range(singles)]
    folder = staging / "batch"
    folder.mkdir()
    made += [write_png(folder / f"page-{i:02d}.png", f"batch-{i}") for i in range(batch)]
    for path in staging.iterdir():
        path.rename(inbox / path.name)
    return made


def check_accounted(files: list[dict[str, Any]], expected: int) -> None:
    assert len(files) == expected, files
    assert len({(f["path"], f["sha256"]) for f in files}) == expected, "a file was recorded twice"
    assert {f["outcome"] for f in files} == {"archived"}, files
    numbers = sorted(f["registration_number"] for f in files)
    assert len(set(numbers)) == expected, "a card was registered twice"
    assert [int(n.rsplit("-", 1)[1]) for n in numbers] == list(range(1, expected + 1)), numbers


def test_watch_two_workers_and_serve_ingest_a_mixed_batch(cluster: Cluster) -> None:
    cluster.setup(delay=0.1)
    cluster.start("watch")
    cluster.start("worker", "--threads", "2")
    cluster.start("worker", "--queues", "ocr")
    serve = cluster.start("serve")
    drop_files(cluster.inbox, singles=5, batch=5)
    files = cluster.wait_decided(10)
    check_accounted(files, 10)
    left = [p for p in cluster.inbox.rglob("*") if p.is_file() and p.parent.name != "quarantine"]
    assert not left, "archived files stayed in the hot folder"
    assert serve.poll() is None, cluster.logs()
    assert not list((cluster.root / "data" / "work" / "areas").glob("*")), "work areas were left behind"
    status = subprocess.run([str(EXE), "status", "--json"], env=cluster._env, capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert status.returncode == 0, status.stderr
    roles = sorted(p["role"] for p in json.loads(status.stdout)["processes"])
    assert roles == ["watch", "worker", "worker"], status.stdout  # their heartbeats


@pytest.mark.parametrize("broker", ["rabbitmq", "redis"])
def test_a_worker_killed_mid_page_repeatedly_loses_nothing(tmp_path: Path, catalog_url: str, broker: str, request: pytest.FixtureRequest) -> None:
    # RabbitMQ redelivers a dead consumer's messages when its connection drops; Redis once the
    # worker's heartbeat is REDIS_HEARTBEAT_MS old (or the recovery sweep sends the input again).
    url = request.getfixturevalue("amqp_url" if broker == "rabbitmq" else "redis_url")
    cluster = Cluster(tmp_path, catalog_url, url)
    try:
        cluster.setup(delay=0.8)
        cluster.start("watch")
        cluster.start("worker", "--threads", "1")
        victim = cluster.start("worker", "--threads", "1")
        drop_files(cluster.inbox, singles=8, batch=0)
        for _ in range(4):
            time.sleep(2.0)
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            victim = cluster.start("worker", "--threads", "1")
        check_accounted(cluster.wait_decided(8), 8)
    finally:
        cluster.stop_all()


def test_two_watch_processes_on_one_hot_folder_take_each_file_once(cluster: Cluster) -> None:
    cluster.setup(delay=0.05)
    cluster.start("watch")
    cluster.start("watch")
    cluster.start("worker", "--threads", "2")
    drop_files(cluster.inbox, singles=6, batch=0)
    check_accounted(cluster.wait_decided(6), 6)
