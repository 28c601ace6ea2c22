"""The dramatiq broker from ``make_broker`` on real Redis and RabbitMQ servers (scripts/test.sh
starts them; ``KARTOTEKA_TEST_REDIS_URL`` and ``KARTOTEKA_TEST_AMQP_URL``): the actor that
``declare_actors`` binds to real Services, on the scripted OCR engine, processes an input sent
through the server by a real ``dramatiq.Worker``, and the recovery sweep re-sends an input whose
message the broker lost."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import dramatiq
import pytest
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker

from app.services import Services
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
    dispatcher = Dispatcher(lambda input_id: sent.append(actors.process.send(input_id)), stale_after=900.0, clock=clock)
    holder.append(Wiring(actors, dispatcher, sent, done))
    return holder[0]


def run_worker(broker: dramatiq.Broker) -> dramatiq.Worker:
    worker = dramatiq.Worker(broker, queues={QUEUE}, worker_threads=1, worker_timeout=100)
    worker.start()
    return worker


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
    worker = run_worker(broker)
    try:
        wiring.wait_done(row.id)
    finally:
        worker.stop(timeout=10_000)
    done = rig.services.catalog.get_input(row.id)
    assert done is not None and done.outcome == "archived", done
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
    worker = run_worker(broker)
    try:
        wiring.wait_done(row.id)
    finally:
        worker.stop(timeout=10_000)
    done = rig.services.catalog.get_input(row.id)
    assert done is not None and done.outcome == "archived", done
    assert len(rig.cards()) == 1 and rig.engine.calls == Counter({"letter": 1})
    assert rig.services.catalog.pending_inputs() == []
    # Nothing pending, nothing in flight: the next sweep sends nothing.
    assert wiring.dispatcher.sweep([r.id for r in rig.services.catalog.pending_inputs()]) == 0
