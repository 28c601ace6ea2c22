"""The dispatcher sends each pending input once while it is in flight, and again when stale."""

from __future__ import annotations

import pytest

from ingest.errors import TransientError
from workers.broker import Dispatcher


def test_an_id_is_sent_once_while_in_flight_and_again_when_stale_or_done() -> None:
    now = [0.0]
    sent: list[str] = []
    dispatcher = Dispatcher(sent.append, stale_after=60, clock=lambda: now[0])
    assert dispatcher.sweep(["a", "b"]) == 2 and dispatcher.sweep(["a", "b"]) == 0
    now[0] = 61
    assert dispatcher.sweep(["a"]) == 1  # its message may have been lost with a broker
    dispatcher.done("b")
    assert dispatcher.enqueue("b") and sent == ["a", "b", "a", "b"]


def test_an_id_whose_send_failed_is_not_in_flight() -> None:
    broker_up = [False]
    sent: list[str] = []

    def send(input_id: str) -> None:
        if not broker_up[0]:
            raise ConnectionError("broker down")
        sent.append(input_id)

    dispatcher = Dispatcher(send, stale_after=900)
    with pytest.raises(TransientError, match="broker did not take input a: ConnectionError: broker down"):
        dispatcher.enqueue("a")  # the client's own error, named for what the caller should do
    assert dispatcher.in_flight == 0
    broker_up[0] = True
    assert dispatcher.sweep(["a"]) == 1 and sent == ["a"]  # the next sweep, not 15 minutes later
