"""``kartoteka worker --metrics-port`` as a real process on Redis and PostgreSQL: it counts
messages, failures by reason and retries, summed over its forked processes (the broker's queues
on ``serve``'s ``/metrics``: tests/api/test_metrics.py)."""

from __future__ import annotations

import re
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ocr.fake import PageScript
from tests.scripted import write_png, write_script
from tests.workers.test_distributed import Cluster, catalog_url

__all__ = ["catalog_url"]  # a fixture, used by name

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def _samples(text: str) -> Samples:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(port: int, ready: Callable[[Samples], bool], cluster: Cluster) -> Samples:
    deadline = time.monotonic() + 60
    got: Samples = {}
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
                got = _samples(answer.read().decode())
        except OSError:
            got = {}
        if got and ready(got):
            return got
        time.sleep(0.5)
    shown = {k: v for k, v in got.items() if not k[0].endswith(("_bucket", "_created"))}
    raise AssertionError(f"metrics never showed it: {shown}\n{cluster.logs()}")


def test_worker_metrics_count_messages_failures_by_reason_and_retries(tmp_path: Path, catalog_url: str, redis_url: str) -> None:
    cluster = Cluster(tmp_path, catalog_url, redis_url)
    try:
        cluster.setup(delay=0.05)
        # One page the engine cannot run on (retried with backoff, then quarantined), two it reads.
        write_script(tmp_path / "script.json", {"flaky": PageScript("", fail="engine")}, unknown=PageScript("СЛУЖЕБНАЯ ЗАПИСКА о поставке"))
        port = _free_port()
        cluster.start("watch")
        cluster.start("worker", "--processes", "2", "--threads", "1", "--metrics-port", str(port))
        for key in ("good-1", "good-2", "flaky"):
            write_png(tmp_path / f"{key}.png", key).rename(cluster.inbox / f"{key}.png")

        def ready(got: Samples) -> bool:
            retried = got.get(("kartoteka_worker_retries_total", (("queue", "ocr"), ("reason", "RecognitionIncomplete"))), 0)
            registered = got.get(("kartoteka_worker_messages_total", (("queue", "archive"),)), 0)
            return retried >= 2 and registered >= 2

        got = _wait_for(port, ready, cluster)
        failed = got[("kartoteka_worker_failures_total", (("decision", "retry"), ("queue", "ocr"), ("reason", "RecognitionIncomplete")))]
        assert failed == got[("kartoteka_worker_retries_total", (("queue", "ocr"), ("reason", "RecognitionIncomplete")))]
        assert got[("kartoteka_worker_message_seconds_count", (("queue", "archive"),))] >= 2
        assert got[("kartoteka_worker_messages_total", (("queue", "ocr"),))] >= 2 + failed
        logs = "\n".join(p.read_text(errors="replace") for p in tmp_path.glob("*.log"))
        assert re.search(r"flaky\.png: will retry; retry 1 of 5", logs), logs
        assert "Traceback" not in logs, logs  # an expected retry is one line, not a traceback
    finally:
        cluster.stop_all()
