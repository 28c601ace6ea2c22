"""Fault tests of the distributed mode: ``kartoteka watch`` and ``kartoteka worker`` as real
processes (tests/workers/test_distributed.py) while a server they depend on goes away and comes
back. Each test starts the server it breaks as a private one of its own (scripts/services.sh or
scripts/elasticsearch.sh in a run directory of the test's), so that stopping and restarting it
never touches the servers the other tests use; the other servers are the run's shared ones.
Each test ends with every file accounted for, nothing duplicated and registration numbers
gap-free (``check_accounted``)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine

from tests.processes import EXE
from tests.scripted import write_png
from tests.search.conftest import elastic_url
from tests.workers.test_distributed import Cluster, catalog_url, check_accounted

__all__ = ["catalog_url"]  # a fixture, used by name

ROOT = Path(__file__).resolve().parents[2]
#: The recovery sweep's period in these tests: a sent id is taken for lost after ten of them
#: (workers/watch_command.py STALE_SWEEPS), 5 s here.
SWEEP_S = "0.5"
WAIT_S = 60.0


# --- private servers ------------------------------------------------------------------------


def _as(user: str) -> list[str]:
    """The prefix the scripts use to run a server as its unprivileged user (nothing unless root)."""
    return ["runuser", "-u", user, "--"] if os.geteuid() == 0 else []


def _alive(pid: int) -> bool:
    """Alive and not a zombie (a server reparented to a container's init may linger as one)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _terminate(pid: int, timeout: float = 60.0) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 10
        time.sleep(0.1)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _until(check: Callable[[], bool], what: str, timeout: float = WAIT_S, every: float = 0.3) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


@pytest.fixture
def run_base() -> Iterator[Path]:
    """A run directory for the test's own servers (under /tmp: their users must pass through)."""
    base = Path(tempfile.mkdtemp(prefix="kartoteka-faults-"))
    base.chmod(0o711)
    yield base
    shutil.rmtree(base, ignore_errors=True)


@dataclass
class Service:
    """A server of scripts/services.sh in a run directory of its own."""

    name: str
    base: Path
    url: str = ""

    @property
    def run(self) -> Path:
        return self.base / "services" / self.name

    def _script(self, command: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KARTOTEKA_SERVICES_DIR": str(self.base / "services")}
        return subprocess.run(
            ["bash", str(ROOT / "scripts" / "services.sh"), command, self.name],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    def start(self) -> str:
        out = self._script("start")
        assert out.returncode == 0, out.stderr
        self.url = out.stdout.strip()
        return self.url

    def stop(self) -> None:
        self._script("stop")


@pytest.fixture
def private(run_base: Path) -> Iterator[Callable[[str], Service]]:
    made: list[Service] = []

    def start(name: str) -> Service:
        service = Service(name, run_base)
        made.append(service)
        service.start()
        return service

    yield start
    for service in made:
        service.stop()


# --- the deployment -------------------------------------------------------------------------


@dataclass
class FaultCluster(Cluster):
    """test_distributed's Cluster with a fast recovery sweep and, optionally, an index elsewhere."""

    search_base: str = ""

    def env(self) -> dict[str, str]:
        env = super().env()
        env["KARTOTEKA_SWEEP_SECONDS"] = SWEEP_S
        base = self.search_base or elastic_url()
        env["KARTOTEKA_SEARCH_URL"] = f"{base}/kt-fault-{uuid.uuid4().hex[:10]}"
        return env

    def drop(self, prefix: str, count: int) -> None:
        """``count`` one-page files, each of its own content, written then renamed in."""
        staging = self.root / "staging"
        staging.mkdir(exist_ok=True)
        for i in range(count):
            write_png(staging / f"{prefix}-{i:02d}.png", f"{prefix}-{i}").rename(self.inbox / f"{prefix}-{i:02d}.png")

    def running(self) -> None:
        dead = [p.args for p in self.procs if p.poll() is not None]
        assert not dead, f"processes ended: {dead}\n{self.logs()}"

    def search_total(self, query: str) -> tuple[int, set[str]]:
        out = subprocess.run(
            [str(EXE), "search", query, "--per-page", "50", "--json"],
            env=self._env, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            return -1, set()
        found = json.loads(out.stdout)
        return int(found["total"]), {h["registration_number"] for h in found["hits"]}


def outcomes(engine: Engine) -> dict[str, int]:
    """Input files by outcome, straight from the catalog (no process start-up: polled)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select outcome, count(*) from input_files group by outcome"))
            return {str(o): int(n) for o, n in rows}
    except Exception:  # not migrated yet, or the server is away
        return {}


@pytest.fixture
def make_cluster(tmp_path: Path) -> Iterator[Callable[..., FaultCluster]]:
    made: list[FaultCluster] = []

    def make(catalog: str, broker: str, search_base: str = "", delay: float = 0.3) -> FaultCluster:
        cluster = FaultCluster(tmp_path, catalog, broker, search_base=search_base)
        made.append(cluster)
        cluster.setup(delay=delay)
        return cluster

    yield make
    for cluster in made:
        cluster.stop_all()


@pytest.fixture
def catalog_engine() -> Iterator[Callable[[str], Engine]]:
    made: list[Engine] = []

    def make(url: str) -> Engine:
        made.append(create_engine(url, pool_pre_ping=True))
        return made[-1]

    yield make
    for engine in made:
        engine.dispose()


# --- Redis restarted with its queues lost ---------------------------------------------------


def test_redis_restarted_with_its_queues_lost_the_sweep_finishes_the_work(
    catalog_url: str, private, make_cluster, catalog_engine
) -> None:
    import redis

    redis_server = private("redis")
    run = redis_server.run
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2, socket_connect_timeout=2)
    restarted: subprocess.Popen[bytes] | None = None
    try:
        cluster = make_cluster(catalog_url, redis_server.url, delay=0.5)
        db = catalog_engine(catalog_url)
        cluster.start("watch")
        cluster.start("worker", "--threads", "1")
        cluster.drop("lost", 10)
        _until(lambda: outcomes(db).get("archived", 0) >= 2, "the first files archived")
        state = outcomes(db)
        assert state.get("pending", 0) >= 4, state
        queued = client.hlen("dramatiq:ocr.msgs")
        assert queued >= 1, f"nothing queued in Redis: {client.keys()}"

        # Redis goes, and its queues with it (no persistence; any file it left is deleted).
        pid = int((run / "redis.pid").read_text().strip())
        port = client.connection_pool.connection_kwargs["port"]
        _terminate(pid)
        _until(lambda: not _port_open(port), "Redis to close its port", timeout=30)
        for leftover in [*run.glob("*.rdb"), *run.glob("appendonly*")]:
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()
        time.sleep(1.0)
        with (run / "restarted.log").open("ab") as log:
            restarted = subprocess.Popen(
                [*_as("kartoteka-svc"), "redis-server", str(run / "redis.conf")],
                cwd=run, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            )  # fmt: skip

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        _until(answers, "Redis to answer again", timeout=30)
        pending_after = outcomes(db).get("pending", 0)

        check_accounted(cluster.wait_decided(10), 10)
        cluster.running()
        assert pending_after >= 1, "every file was done before the restart: nothing was lost"
        assert "recovery sweep re-enqueued" in cluster.logs(), cluster.logs()
    finally:
        client.close()
        redis_server.stop()  # the restarted server wrote its pid where `stop` looks
        if restarted is not None:
            try:
                restarted.wait(timeout=30)
            except subprocess.TimeoutExpired:
                restarted.kill()
                restarted.wait()


# --- Elasticsearch stopped mid-run and restarted --------------------------------------------


@dataclass
class Node:
    """A node of scripts/elasticsearch.sh in a run directory of its own, on a fixed port, so
    that it can be stopped and started again on the same port and data."""

    run: Path
    port: int = 0
    env: dict[str, str] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _script(self, command: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "KARTOTEKA_ES_DIR": str(self.run), "KARTOTEKA_ES_PORT": str(self.port)}
        return subprocess.run(
            ["bash", str(ROOT / "scripts" / "elasticsearch.sh"), command],
            env=env, capture_output=True, text=True, timeout=180, check=False,
        )  # fmt: skip

    def pid(self) -> int:
        return int((self.run / "elasticsearch.pid").read_text().strip())

    def start(self) -> None:
        self.port = _free_port()
        out = self._script("start")
        assert out.returncode == 0, out.stderr
        # The node's own environment (JDK, home, config), for starting it again the same way.
        raw = Path(f"/proc/{self.pid()}/environ").read_bytes().split(b"\0")
        env = dict(item.decode().split("=", 1) for item in raw if b"=" in item)
        self.env = {k: env[k] for k in ("HOME", "ES_JAVA_HOME", "ES_PATH_CONF", "ES_HOME")}
        self.env |= {"ES_TMPDIR": str(self.run / "tmp"), "ES_JAVA_OPTS": "-Xms512m -Xmx512m", "PATH": os.environ["PATH"]}

    def halt(self) -> None:
        _terminate(self.pid())
        _until(lambda: not _port_open(self.port), "Elasticsearch to close its port", timeout=30)

    def resume(self) -> None:
        assert self.env is not None
        env = [f"{k}={v}" for k, v in self.env.items()]
        out = subprocess.run(
            [*_as("kartoteka-es"), "env", *env, f"{self.env['ES_HOME']}/bin/elasticsearch", "-d", "-p", str(self.run / "elasticsearch.pid")],
            cwd=self.run / "logs", stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert out.returncode == 0, out.stdout + out.stderr

        def healthy() -> bool:
            health = subprocess.run(
                ["curl", "-fsS", "--max-time", "5", f"{self.url}/_cluster/health?wait_for_status=yellow&timeout=1s"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            return '"status":"green"' in health.stdout or '"status":"yellow"' in health.stdout

        _until(healthy, "Elasticsearch to be healthy again", timeout=90, every=0.5)

    def stop(self) -> None:
        self._script("stop")


@pytest.fixture
def es_node(run_base: Path) -> Iterator[Node]:
    node = Node(run_base / "elasticsearch")
    try:
        node.start()
        yield node
    finally:
        node.stop()


def test_elasticsearch_stopped_mid_run_ingestion_goes_on_and_the_index_catches_up(
    catalog_url: str, redis_url: str, es_node: Node, make_cluster, catalog_engine
) -> None:
    cluster = make_cluster(catalog_url, redis_url, search_base=es_node.url, delay=0.2)
    db = catalog_engine(catalog_url)
    cluster.start("watch")
    cluster.start("worker", "--threads", "2")
    cluster.drop("before", 4)
    _until(lambda: outcomes(db).get("archived", 0) >= 2, "the first files archived")

    es_node.halt()
    cluster.drop("during", 6)
    files = cluster.wait_decided(10)  # ingestion goes on without the index
    assert not _port_open(es_node.port), "Elasticsearch came back by itself"
    assert cluster.search_total("поставке")[0] == -1, "a search answered without Elasticsearch"
    check_accounted(files, 10)
    cluster.running()

    es_node.resume()
    numbers = {f["registration_number"] for f in files}
    found: tuple[int, set[str]] = (0, set())

    def caught_up() -> bool:
        nonlocal found
        found = cluster.search_total("поставке")
        return found[0] == 10

    try:
        _until(caught_up, "the index to catch up", timeout=75, every=1.0)
    except AssertionError as e:
        raise AssertionError(f"{e}: {found}\n{cluster.logs()}") from None
    assert found[1] == numbers
    cluster.running()
    check_accounted(cluster.ledger(), 10)


# --- PostgreSQL unreachable for 20 seconds --------------------------------------------------


def _pg_ctl(run: Path, *args: str) -> None:
    pid = int((run / "data" / "postmaster.pid").read_text().split()[0]) if "stop" in args else 0
    bin_dir = Path(os.readlink(f"/proc/{pid}/exe")).parent if pid else Path((run / "pg_bin").read_text())
    (run / "pg_bin").write_text(str(bin_dir))
    with (run / "pg_ctl-faults.log").open("ab") as log:
        out = subprocess.run(
            [*_as("kartoteka-svc"), str(bin_dir / "pg_ctl"), "-D", str(run / "data"), *args],
            cwd=run, stdin=subprocess.DEVNULL, stdout=log, stderr=log, timeout=90, check=False,
        )  # fmt: skip
    assert out.returncode == 0, (run / "pg_ctl-faults.log").read_text()


def test_postgres_unreachable_for_20_seconds_then_back(redis_url: str, private, make_cluster, catalog_engine) -> None:
    postgres = private("postgres")
    run = postgres.run
    cluster = make_cluster(postgres.url, redis_url, delay=0.3)
    db = catalog_engine(postgres.url)
    cluster.start("watch")
    cluster.start("worker", "--threads", "2")
    cluster.drop("pg", 12)
    _until(lambda: outcomes(db).get("archived", 0) >= 2, "the first files archived")
    assert outcomes(db).get("pending", 0) >= 4, outcomes(db)

    _pg_ctl(run, "-m", "fast", "-w", "-t", "30", "stop")
    try:
        assert outcomes(db) == {}, "the catalog still answers"
        time.sleep(20)
        cluster.running()  # nobody gave up while the catalog was away
    finally:
        _pg_ctl(run, "-l", str(run / "postgres.log"), "-w", "-t", "60", "start")
    pending_after = outcomes(db).get("pending", 0)

    check_accounted(cluster.wait_decided(12), 12)
    cluster.running()
    assert pending_after >= 1, "every file was done before the catalog went away"
