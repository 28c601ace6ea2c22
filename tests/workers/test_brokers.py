"""The dramatiq broker from ``make_broker`` on real Redis and RabbitMQ servers (scripts/test.sh
starts them; ``KARTOTEKA_TEST_REDIS_URL`` and ``KARTOTEKA_TEST_AMQP_URL``): the actor that
``declare_actors`` binds to real Services, on the scripted OCR engine, processes an input sent
through the server by a real ``dramatiq.Worker``, and the recovery sweep re-sends an input whose
message the broker lost."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from app.services import Services
from ingest.errors import TransientError
from ocr.fake import PageScript, ScriptedEngine
from tests.app.conftest import Rig, scripted_settings
from workers.broker import Actors, Dispatcher, declare_actors, make_broker

QUEUE = "process"
#: Generous: one scripted page takes well under a second, but CI shares two cores with servers.
WAIT_S = 60.0


@pytest.fixture(params=["redis", "rabbitmq"])
def broker(request: pytest.FixtureRequest) -> Iterator[dramatiq.Broker]:
    """The broker ``make_broker`` builds from the server's URL, its queues emptied before and after."""
    url: str = request.getfixturevalue("redis_url" if request.param == "redis" else "amqp_url")
    made = make_broker(url)
    assert isinstance(made, RedisBroker if request.param == "redis" else RabbitmqBroker)
    yield made
    made.flush_all()
    made.close()


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    """Services over a SQLite catalog and a hot folder, recognising with the scripted engine."""
    engine = ScriptedEngine({"letter": PageScript("СЛУЖЕБНОЕ ПИСЬМО № 17 о поставке бумаги")})
    made = Rig(Services(scripted_settings(tmp_path), engine_factory=lambda _s: engine), engine)
    yield made
    engine.release()
    made.services.close()


@dataclass
class Wiring:
    """The actors on the broker, a dispatcher sending through them, and what was sent and done."""

    actors: Actors
    dispatcher: Dispatcher
    sent: list[dramatiq.Message] = field(default_factory=list)  # type: ignore[type-arg]
    done: dict[str, threading.Event] = field(default_factory=dict)

    def wait_done(self, input_id: str) -> None:
        assert self.done.setdefault(input_id, threading.Event()).wait(WAIT_S), f"{input_id} was not processed"


def wire(broker: dramatiq.Broker, services: Services, clock: Callable[[], float]) -> Wiring:
    """As ``kartoteka run`` wires them (workers/service_command.py), recording the messages sent."""
    done: dict[str, threading.Event] = {}
    holder: list[Wiring] = []

    def on_done(input_id: str) -> None:
        holder[0].dispatcher.done(input_id)
        done.setdefault(input_id, threading.Event()).set()

    actors = declare_actors(broker, services, on_done=on_done)
    sent: list[dramatiq.Message] = []  # type: ignore[type-arg]
    dispatcher = Dispatcher(lambda input_id: sent.append(actors.whole.send(input_id)), stale_after=900.0, clock=clock)
    holder.append(Wiring(actors, dispatcher, sent, done))
    return holder[0]


def run_worker(broker: dramatiq.Broker) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=1, worker_timeout=100)
    worker.start()
    return worker



def work_off(broker: dramatiq.Broker, wiring: Wiring, rig: Rig, input_id: str) -> None:
    """Run a worker on ``broker`` until ``input_id`` is done, then check it was archived."""
    worker = run_worker(broker)
    try:
        wiring.wait_done(input_id)
    finally:
        worker.stop(timeout=10_000)
    done = rig.services.catalog.get_input(input_id)
    assert done is not None and done.outcome == "archived", done

def test_an_input_sent_through_the_broker_is_processed_by_a_worker(broker: dramatiq.Broker, rig: Rig) -> None:
    wiring = wire(broker, rig.services, clock=lambda: 0.0)
    broker.flush_all()
    row = rig.intake(rig.drop("letter.png", ["letter"]), wiring.dispatcher.enqueue)
    assert row.outcome == "pending"
    # The message carries the input's id and nothing else, on the process queue.
    (message,) = wiring.sent
    assert (message.queue_name, message.actor_name, message.args, message.kwargs) == (
        QUEUE, "process_input", (row.id,), {}
    )  # fmt: skip
    work_off(broker, wiring, rig, row.id)
    (card,) = rig.cards()
    assert card.pages[0].text == "СЛУЖЕБНОЕ ПИСЬМО № 17 о поставке бумаги"
    assert not (rig.inbox / "letter.png").exists(), "the archived file stayed in the hot folder"
    assert rig.engine.calls == Counter({"letter": 1})
    assert wiring.dispatcher.in_flight == 0


def test_the_recovery_sweep_resends_an_input_whose_message_was_lost(broker: dramatiq.Broker, rig: Rig) -> None:
    now = [0.0]
    wiring = wire(broker, rig.services, clock=lambda: now[0])
    broker.flush_all()
    row = rig.intake(rig.drop("letter.png", ["letter"]), wiring.dispatcher.enqueue)
    assert len(wiring.sent) == 1
    # The broker loses the message (a restart without persistence): the queue is empty.
    broker.flush(QUEUE)
    broker.join(QUEUE, timeout=5_000)
    pending = [r.id for r in rig.services.catalog.pending_inputs()]
    assert pending == [row.id]
    # Sent a moment ago and not done: the sweep leaves it to its message...
    assert wiring.dispatcher.sweep(pending) == 0
    # ...until it has waited longer than stale_after, when its message is taken for lost.
    now[0] += 901.0
    assert wiring.dispatcher.sweep(pending) == 1
    assert len(wiring.sent) == 2 and wiring.sent[1].args == (row.id,)
    work_off(broker, wiring, rig, row.id)
    assert len(rig.cards()) == 1 and rig.engine.calls == Counter({"letter": 1})
    assert rig.services.catalog.pending_inputs() == []
    # Nothing pending, nothing in flight: the next sweep sends nothing.
    assert wiring.dispatcher.sweep([r.id for r in rig.services.catalog.pending_inputs()]) == 0


def run_stage_worker(broker: dramatiq.Broker) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, queues={"ocr", "archive"}, worker_threads=2, worker_timeout=100)
    worker.start()
    return worker


def test_the_distributed_stages_recognise_on_ocr_and_register_on_archive(broker: dramatiq.Broker, rig: Rig) -> None:
    actors = declare_actors(broker, rig.services)
    broker.flush_all()
    row = rig.intake(rig.drop("letter.png", ["letter"]))
    message = actors.process.send(row.id)
    assert (message.queue_name, message.args, message.options["broker_priority"]) == ("ocr", (row.id,), 5)
    assert actors.process.send(row.id, batch_size=40).options["broker_priority"] == 1
    worker = run_stage_worker(broker)
    try:
        broker.join("ocr", timeout=int(WAIT_S * 1000))
        broker.join("archive", timeout=int(WAIT_S * 1000))
    finally:
        worker.stop(timeout=10_000)
    done = rig.services.catalog.get_input(row.id)
    assert done is not None and done.outcome == "archived", done
    assert len(rig.cards()) == 1, "the duplicate message registered a second card"
    assert rig.engine.calls == Counter({"letter": 1})
    assert not (rig.services.work_dir / "areas" / row.id).exists(), "the work area was not deleted"


def test_a_redelivered_recognition_with_a_complete_work_area_skips_recognition(rig: Rig) -> None:
    from app import pipeline, workarea

    row = rig.intake(rig.drop("letter.png", ["letter"]))
    assert pipeline.recognise_input(row.id, rig.services) == row.id
    assert workarea.complete(rig.services.work_dir, row.id)
    # The message comes again (the worker died before acknowledging it): no second recognition.
    assert pipeline.recognise_input(row.id, rig.services) == row.id
    assert rig.engine.calls == Counter({"letter": 1})
    assert pipeline.register_input(row.id, rig.services)
    # The registration message comes again: committed, so it only finalises; nothing doubles.
    assert pipeline.register_input(row.id, rig.services)
    assert pipeline.recognise_input(row.id, rig.services) is None
    done = rig.services.catalog.get_input(row.id)
    assert done is not None and done.outcome == "archived" and len(rig.cards()) == 1


def test_the_failure_policy_table_builds_the_retry_rule() -> None:
    from app.pipeline import PageTimedOut
    from ingest.errors import PermanentError, TransientError
    from workers.broker import FAILURE_POLICY, actor_options, policy_for, retry_when

    assert retry_when(0, TransientError("catalog unreachable")) and retry_when(9, TransientError("x"))
    assert not retry_when(10, TransientError("x"))
    assert retry_when(0, PageTimedOut("slow")) and not retry_when(1, PageTimedOut("slow"))
    assert policy_for(PageTimedOut("slow")).then == "quarantine"
    assert not retry_when(0, PermanentError("bad"))
    assert policy_for(PermanentError("bad")) is FAILURE_POLICY[PermanentError]
    assert actor_options()["throws"] == (PermanentError,)
    from app.pipeline import GroupBusy, RecognitionIncomplete

    # an engine that cannot run on a page, however often tried, ends the file in quarantine
    assert retry_when(4, RecognitionIncomplete("x")) and not retry_when(5, RecognitionIncomplete("x"))
    assert policy_for(RecognitionIncomplete("x")).then == "quarantine"
    # a group another worker holds: tried again, quietly, then left to the sweep
    assert retry_when(9, GroupBusy("x")) and policy_for(GroupBusy("x")).quiet and policy_for(GroupBusy("x")).then == "raise"


def test_a_file_the_engine_never_gets_through_is_quarantined_after_its_retries(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    """EngineFailed on every try (a page that gets Tesseract killed): the file stayed pending
    for ever, retried and dead-lettered, re-sent by the sweep, retried again."""
    from app import pipeline
    from workers import broker as B

    rig.engine._scripts["never"] = PageScript("", fail="engine")  # this test's page only
    row = rig.intake(rig.drop("never.png", ["never"]))
    with pytest.raises(pipeline.RecognitionIncomplete) as failed:
        pipeline.recognise_input(row.id, rig.services)
    monkeypatch.setattr(B, "_retries", lambda: 4)
    with pytest.raises(dramatiq.Retry):
        B._apply_policy(row.id, failed.value, rig.services, B.OCR_QUEUE, B._ignore_failure)
    monkeypatch.setattr(B, "_retries", lambda: 5)
    B._apply_policy(row.id, failed.value, rig.services, B.OCR_QUEUE, B._ignore_failure)
    done = rig.services.catalog.get_input(row.id)
    assert done is not None and done.outcome == "quarantined"
    assert done.reason == "recognition could not run on every page of never.png: will retry (failed 6 times)"


def test_a_recognition_cut_off_by_a_stop_is_not_counted_toward_quarantine(rig: Rig) -> None:
    """A page cut off by stop_worker failed as RecognitionIncomplete: a long file that was always
    in progress at a restart was quarantined after five stops."""
    from app import pipeline

    rig.engine._scripts["cut"] = PageScript("", fail="engine")  # what a closed engine answers
    row = rig.intake(rig.drop("cut.png", ["cut"]))
    rig.services.stopping = True
    with pytest.raises(TransientError) as failed:
        pipeline.recognise_input(row.id, rig.services)
    assert not isinstance(failed.value, pipeline.RecognitionIncomplete) and "stopped with the process" in str(failed.value)
    from workers.broker import policy_for

    assert policy_for(failed.value).then == "raise"  # retried, then left pending: never quarantined


def test_a_group_another_worker_holds_is_tried_again_not_dropped(rig: Rig) -> None:
    """A stopping worker's message went back to the broker while it still held the group's lock:
    the next worker dropped the message, and the file waited for ten recovery sweeps."""
    from app import pipeline

    row = rig.intake(rig.drop("letter.png", ["letter"]))
    with pipeline.group_lock(row.id, rig.services) as held:
        assert held
        with pytest.raises(pipeline.GroupBusy):
            pipeline.recognise_input(row.id, rig.services)
    assert pipeline.recognise_input(row.id, rig.services) == row.id  # once it is free
    with pipeline.group_lock(f"archive-{row.id}", rig.services) as held:
        with pytest.raises(pipeline.GroupBusy):
            pipeline.register_input(row.id, rig.services)
    assert pipeline.register_input(row.id, rig.services)
    done = rig.services.catalog.get_input(row.id)
    assert done is not None and done.outcome == "archived"


def test_a_page_over_its_time_limit_is_retried_once_then_quarantined(broker: dramatiq.Broker, tmp_path: Path) -> None:
    engine = ScriptedEngine({"slow": PageScript("никогда", fail="hang")})
    settings = scripted_settings(tmp_path, {"page_timeout": 0.3})
    made = Rig(Services(settings, engine_factory=lambda _s: engine), engine)
    try:
        actors = declare_actors(broker, made.services)
        broker.flush_all()
        row = made.intake(made.drop("slow.png", ["slow"]))
        actors.process.send(row.id)
        worker = run_stage_worker(broker)
        try:
            # Polled: RabbitMQ's join does not count a retry its worker holds until its backoff ends.
            deadline = time.monotonic() + WAIT_S
            while (done := made.services.catalog.get_input(row.id)) is not None and done.outcome == "pending":
                assert time.monotonic() < deadline, "the input was never decided"
                time.sleep(0.1)
        finally:
            worker.stop(timeout=10_000)
        assert done is not None and done.outcome == "quarantined", done
        assert "longer than 0.3 s" in (done.reason or "") and "failed 2 times" in (done.reason or ""), done.reason
        assert engine.calls == Counter({"slow": 2}), "the page was not tried exactly twice"
        assert (made.quarantine / "slow.png").exists()
    finally:
        engine.release()
        made.services.close()
