"""``kartoteka status`` (workers/status_command.py): queue depths read back from real Redis and
RabbitMQ servers (scripts/test.sh starts them) after dramatiq enqueued messages, heartbeats of
live processes, and the pending inputs of the catalog."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.stub import StubBroker

from app.services import open_catalog
from app.settings import Settings
from archive.catalog import Catalog
from workers import cli
from workers.broker import make_broker
from workers.status_command import (
    STAGE_QUEUES,
    HeartbeatMiddleware,
    QueueDepth,
    collect_status,
    heartbeat,
    heartbeat_dir,
    render_text,
    seen_processes,
)


@pytest.fixture(params=["redis", "rabbitmq"])
def broker_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """The server's URL, its stage queues emptied before and after (tests/conftest.py)."""
    url: str = request.getfixturevalue("redis_url" if request.param == "redis" else "amqp_url")
    yield url


def enqueue(url: str, queue: str, ready: int, delayed: int) -> None:
    """``ready`` messages for now and ``delayed`` for in an hour, sent by dramatiq to ``queue``."""
    broker = make_broker(url)

    def noop(input_id: str) -> None: ...

    actor = dramatiq.actor(broker=broker, actor_name=f"noop_{queue}", queue_name=queue)(noop)
    for i in range(ready):
        actor.send(f"input-{i}")
    for i in range(delayed):
        actor.send_with_options(args=(f"later-{i}",), delay=3_600_000)
    broker.close()


def test_queue_depths_as_dramatiq_left_them(broker_url: str, tmp_path: Path) -> None:
    ocr, archive, unused = (f"{name}_{uuid.uuid4().hex[:8]}" for name in ("ocr", "archive", "unused"))
    enqueue(broker_url, ocr, ready=3, delayed=2)
    enqueue(broker_url, archive, ready=1, delayed=0)
    settings = Settings(data_dir=tmp_path / "data", broker_url=broker_url)
    report = collect_status(settings, queues=(*STAGE_QUEUES, ocr, archive, unused))
    depths = {q.queue: q for q in report.queues}
    assert depths[ocr] == QueueDepth(ocr, ready=3, delayed=2, dead=0)
    assert depths[archive].ready == 1 and depths[archive].delayed == 0
    assert set(STAGE_QUEUES) <= set(depths)
    # A queue no process ever used: nothing on Redis (0), not declared on RabbitMQ (None).
    assert depths[unused].ready in (0, None) and depths[unused].delayed in (0, None)
    # The stage queues were emptied before the test (the fixture): nothing left by another test.
    assert all(depths[q].ready in (0, None) and depths[q].delayed in (0, None) for q in STAGE_QUEUES)
    assert "password" not in report.broker and ":***@" in report.broker
    text = render_text(report)
    assert f"  {ocr:<16}{'3':>8}{'2':>9}{'0':>7}" in text
    assert report.pending == 0 and report.oldest_pending_age_seconds is None


def test_in_process(tmp_path: Path) -> None:
    report = collect_status(Settings(data_dir=tmp_path / "data"))
    assert report.broker == "in-process" and report.queues == ()
    assert "queues: in-process" in render_text(report)


def test_pending_inputs_and_the_oldest_ones_age(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    two_hours_ago = datetime.now(timezone.utc) - timedelta(hours=2)
    engine = open_catalog(settings).engine
    catalog = Catalog(engine, clock=lambda: two_hours_ago)
    batch = catalog.open_batch("/srv/inbox", "b1")
    rows = [catalog.record_input(batch, f"/srv/inbox/{n}.pdf", f"{n}.pdf", f"{n:064x}", 10) for n in range(3)]
    catalog.mark_quarantined(rows[0].id, "unreadable", "intake")
    engine.dispose()
    report = collect_status(settings)
    assert report.pending == 2
    assert report.oldest_pending_age_seconds is not None and 7190 < report.oldest_pending_age_seconds < 7300
    assert render_text(report).endswith("pending inputs: 2 (oldest 2 h 0 min)")


def test_heartbeats_of_live_processes_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    beat = heartbeat(settings, "worker", ["ocr", "archive"], every=0.05)
    first = json.loads(beat.path.read_text())["seen_at"]
    time.sleep(0.3)
    assert json.loads(beat.path.read_text())["seen_at"] > first  # rewritten while it runs
    stale = heartbeat_dir(settings) / "gone-host-1.json"
    long_ago = (datetime.now(timezone.utc) - timedelta(minutes=5)).isoformat()
    stale.write_text(json.dumps({"host": "gone-host", "pid": 1, "role": "worker", "started_at": long_ago, "seen_at": long_ago}))
    (heartbeat_dir(settings) / "half-written.json").write_text("{")
    live, old = seen_processes(settings)
    assert [(p.host, p.pid, p.role, p.queues) for p in live] == [(socket.gethostname(), os.getpid(), "worker", ("ocr", "archive"))]
    assert old == 1
    report = collect_status(settings, queues=())
    assert "processes seen in the last 60 s: 1 (1 older heartbeats ignored)" in render_text(report)
    assert json.loads(json.dumps(report.as_json()))["processes"][0]["queues"] == ["ocr", "archive"]
    beat.stop()
    assert not beat.path.exists()
    assert seen_processes(settings)[0] == []


def test_the_middleware_beats_from_worker_boot_to_shutdown(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    broker = StubBroker()
    broker.add_middleware(HeartbeatMiddleware(settings, "worker", ["ocr"]))
    broker.emit_after("process_boot")
    worker = dramatiq.Worker(broker, worker_timeout=100)
    worker.start()
    try:
        assert [p.queues for p in seen_processes(settings)[0]] == [("ocr",)]
    finally:
        worker.stop()
        broker.close()
    assert seen_processes(settings)[0] == []


def test_the_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str], redis_url: str) -> None:
    # Through the real entry point, its COMMANDS line added in a copy (the lead adds it to cli.py).
    monkeypatch.setattr(cli, "COMMANDS", {**cli.COMMANDS, "status": "workers.status_command"})
    for name in [k for k in os.environ if k.startswith("KARTOTEKA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KARTOTEKA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KARTOTEKA_BROKER_URL", redis_url)
    assert cli.main(["status", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"at", "broker", "queues", "processes", "pending", "oldest_pending_age_seconds"} <= set(out)
    assert {q["queue"] for q in out["queues"]} >= set(STAGE_QUEUES)
    assert cli.main(["status", "--this-host"]) == 1  # no heartbeat: the health check fails
    beat = heartbeat(Settings(data_dir=tmp_path / "data"), "watch")
    try:
        assert cli.main(["status", "--this-host"]) == 0
    finally:
        beat.stop()


def test_the_stage_queues_are_the_brokers() -> None:
    from workers import broker

    assert set(STAGE_QUEUES) == set(getattr(broker, "QUEUES", STAGE_QUEUES))
