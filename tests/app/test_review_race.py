"""A correction or an accept without a version (the command line, the API's accept without
If-Match) is applied over the card as it is when written, never over an older read."""

from __future__ import annotations

import pytest

from app import pipeline, review
from tests.app.conftest import MakeRig


def _card_read_before(monkeypatch: pytest.MonkeyPatch, stale: object) -> None:
    """The next read of the card returns ``stale`` (read before another clerk's change), later
    reads the card as it is: the race, made to happen every time."""
    real = review._card
    reads = [stale]
    monkeypatch.setattr(review, "_card", lambda services, card: reads.pop() if reads else real(services, card))


def test_a_correction_without_a_version_keeps_a_kind_set_meanwhile(make_rig: MakeRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """`kartoteka review set CARD --field number=77` raced a clerk setting the kind: the history
    showed the command setting the kind back to the one it had read."""
    rig = make_rig({"memo": "СЛУЖЕБНАЯ ЗАПИСКА о закупке"})
    card = rig.card(pipeline.process_input(rig.intake(rig.drop("memo.png", ["memo"])).id, rig.services)).card
    stale = review._card(rig.services, card.id)
    review.correct(rig.services, card.id, review.Correction(kind="order"), "clerk:first", expected_version=card.version)
    _card_read_before(monkeypatch, stale)
    done = review.correct(rig.services, card.id, review.Correction(fields={"number": "77"}), "clerk:slow")
    assert done.card.kind == "order" and done.card.fields["kind"].value == "order"
    assert done.card.fields["number"].value == "77"


def test_an_accept_without_a_version_accepts_the_card_as_it_is(make_rig: MakeRig, monkeypatch: pytest.MonkeyPatch) -> None:
    """An accept raced a kind correction: the card ended with kind «order» and fields.kind
    «payment_invoice», verified by a clerk who never saw it."""
    rig = make_rig({"memo": "СЛУЖЕБНАЯ ЗАПИСКА о закупке"})
    card = rig.card(pipeline.process_input(rig.intake(rig.drop("memo.png", ["memo"])).id, rig.services)).card
    stale = review._card(rig.services, card.id)
    review.correct(rig.services, card.id, review.Correction(kind="order"), "clerk:first", expected_version=card.version)
    _card_read_before(monkeypatch, stale)
    done = review.accept(rig.services, card.id, "clerk:other")
    assert done.card.kind == "order" and done.card.fields["kind"].value == "order" and done.card.status == "verified"
    with pytest.raises(review.StaleVersion):  # with the version the clerk saw: refused
        review.accept(rig.services, card.id, "clerk:other", expected_version=stale.version)
