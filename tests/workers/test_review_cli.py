"""``kartoteka review`` end to end on a small catalog (in-process through workers.cli.main)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from archive.drafting import DraftSource, draft_card
from ocr.model import PageResult
from tests.archive.helpers import sha
from app import pipeline
from workers.cli import main
from app.services import Services
from app.settings import load_settings

UNCERTAIN = (
    "Материалы к совещанию по закупкам. " * 5
    + "Прилагаются счёт на оплату, договор аренды и коммерческое предложение. ТОО «Новая Фирма»"
)
MEMO = "СЛУЖЕБНАЯ ЗАПИСКА № 45/12-п\nот 12 марта 2024 г.\nПрошу согласовать закупку."
ORDER = "ПРИКАЗ № {i}\nот 01.02.2024\nПРИКАЗЫВАЮ назначить ответственным инженера участка {i}."


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    data = tmp_path / "data"
    for key in [k for k in __import__("os").environ if k.startswith("KARTOTEKA_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("KARTOTEKA_DATA_DIR", str(data))
    monkeypatch.setenv("KARTOTEKA_OCR_ENGINE", "tesseract")
    monkeypatch.setenv("KARTOTEKA_CLASSIFY_RETRAIN_AFTER", "6")
    monkeypatch.setenv("KARTOTEKA_CLASSIFY_RELOAD_SECONDS", "0")
    return data


def services() -> Services:
    return Services(load_settings(os.environ))


def register(svc: Services, text: str, name: str) -> str:
    """A card the way ingestion makes one from recognised text (classification included)."""
    cls = pipeline.classify(svc, [text], "incoming")
    batch = svc.catalog.open_batch("cli:test", name)
    row = svc.catalog.record_input(batch, f"/in/{name}", name, sha(name), 1)
    draft = draft_card([PageResult(1, text, 0.9)], cls, DraftSource(sha(name), name, batch, "ВХ", "rus+eng"))
    return svc.catalog.register_card(row.id, draft).registration_number


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict]:  # type: ignore[type-arg]
    code = main(["review", *args, "--json"])
    out = capsys.readouterr().out
    return code, (json.loads(out) if out.strip() else {})


def test_list_show_correct_and_accept(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    svc = services()
    uncertain = register(svc, UNCERTAIN, "uncertain.png")
    memo = register(svc, MEMO, "memo.png")
    unknown = register(svc, "Просим рассмотреть наш вопрос.", "unknown.png")

    code, queue = run(capsys, "list")
    assert code == 0 and queue["total"] == 2
    assert [c["registration_number"] for c in queue["cards"]] == [uncertain, unknown]  # oldest first
    assert any(r["code"] == "kind_uncertain" and r["field"] == "kind" for r in queue["cards"][0]["review_reasons"])
    assert queue["cards"][1]["review_reasons"] == [
        {"code": "kind_unrecognised", "message": "kind not recognised (kept incoming)", "field": "kind",
         "params": {"kind": "incoming"}}
    ]
    code, shown = run(capsys, "show", uncertain)
    assert code == 0 and shown["status"] == "needs review" and shown["review_reasons"] and shown["pages"]

    # the unknown organisation was proposed for the directory
    code, proposed = run(capsys, "orgs", "--proposed")
    assert [o["name"] for o in proposed["organisations"]] == ["ТОО «Новая Фирма»"]

    assert queue["cards"][0]["kind"] != "commercial_offer"
    code, done = run(capsys, "set", uncertain, "--kind", "commercial_offer", "--field", "date=2024-03-12",
                     "--field", "number=77", "--correspondent", "ТОО «Новая Фирма»", "--actor", "clerk:anna")  # fmt: skip
    assert code == 0 and done["card"]["status"] == "verified" and done["card"]["kind"] == "commercial_offer"
    assert done["fields"]["kind"]["confidence"] == 1.0 and done["card"]["review_reasons"] == []
    view = svc.catalog.get_card(uncertain)
    assert view is not None
    card = view.card
    assert (str(card.doc_date), card.doc_number, card.correspondent) == ("2024-03-12", "77", "ТОО «Новая Фирма»")
    last = view.history[-1]
    assert last.actor == "clerk:anna" and last.changes["status"] == {"old": "needs review", "new": "verified"}
    assert last.changes["kind"]["new"] == "commercial_offer" and last.changes["review_reasons"]["new"] == []
    assert any(o.card_id == card.id for o in svc.catalog.outbox_pending(1000))  # the index will follow
    code, accepted_orgs = run(capsys, "orgs")
    assert [(o["name"], o["status"]) for o in accepted_orgs["organisations"]] == [("ТОО «Новая Фирма»", "accepted")]

    # a card whose kind is not configured cannot be confirmed as it is
    assert main(["review", "accept", unknown]) == 1
    assert "not a configured kind" in capsys.readouterr().err
    code, done = run(capsys, "set", unknown, "--kind", "letter")
    assert code == 0 and done["card"]["status"] == "verified"
    code, done = run(capsys, "accept", memo)
    assert code == 0 and done["card"]["status"] == "verified" and done["card"]["kind"] == "service_memo"
    code, queue = run(capsys, "list")
    assert queue["total"] == 0

    assert main(["review", "set", unknown, "--kind", "no_such_kind"]) == 1
    assert main(["review", "show", "ВХ-1999-000001"]) == 1
    assert svc.catalog.count_verified() == 3


def test_set_with_nothing_to_set_is_a_usage_error_and_leaves_the_card_in_review(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """It marked the card verified as it was, which is `review accept`."""
    svc = services()
    number = register(svc, UNCERTAIN, "uncertain.png")
    capsys.readouterr()
    assert main(["review", "set", number]) == 2
    err = capsys.readouterr().err
    assert err.startswith("kartoteka: review set: nothing to set: give --kind") and err.count("\n") == 1
    assert svc.catalog.count_verified() == 0
    code, queue = run(capsys, "list")
    assert number in [c["registration_number"] for c in queue["cards"]]


def test_corrections_past_the_threshold_train_a_model_that_ingestion_uses(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    svc = services()
    numbers = [register(svc, ORDER.format(i=i), f"order-{i}.png") for i in range(3)]
    numbers += [register(svc, MEMO.replace("45/12", str(i)), f"memo-{i}.png") for i in range(3)]
    for n in numbers[:-1]:
        code, done = run(capsys, "accept", n)
        assert code == 0 and done["retrained"] is None
    assert main(["review", "accept", numbers[-1], "--json"]) == 0  # the sixth verified card: retrain_after = 6
    captured = capsys.readouterr()
    assert json.loads(captured.out)["retrained"] == 1
    assert "kind model v1 trained on 6 verified cards" in captured.err
    assert sorted(p.name for p in (data_dir / "models").glob("*.pkl")) == ["kinds-v000001.pkl"]
    cls = pipeline.classify(services(), [ORDER.format(i=9)], "incoming")
    assert cls.kind == "order" and cls.source == "model+rules"
    code, trained = run(capsys, "retrain", "--force")
    assert code == 0 and trained["version"] == 2 and trained["verified"] == 6


def test_retrain_trains_now_or_says_why_not(data_dir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """README: «`kartoteka review retrain` forces it». Without --force it trained nothing; with it
    and too few examples it said «see `kartoteka review retrain --force`», the reason only with -v."""
    monkeypatch.setenv("KARTOTEKA_CLASSIFY_RETRAIN_AFTER", "100")  # never due: only the command trains
    svc = services()
    for i in range(3):
        assert main(["review", "accept", register(svc, ORDER.format(i=i), f"order-{i}.png")]) == 0
    capsys.readouterr()
    assert main(["review", "retrain"]) == 0
    out = capsys.readouterr().out
    assert out == ("no model trained: the model needs 2 kinds with 3 or more verified cards each, "
                   "and 1 has that many: verify more cards (3 verified cards)\n")  # fmt: skip
    for i in range(3):
        assert main(["review", "accept", register(svc, MEMO.replace("45/12", str(i)), f"memo-{i}.png")]) == 0
    capsys.readouterr()
    code, trained = run(capsys, "retrain")
    assert code == 0 and trained["version"] == 1 and trained["reason"] is None
    assert sorted(trained["kinds"]) == ["order", "service_memo"] and trained["verified"] == 6


def test_kinds_and_directory_commands(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, kinds = run(capsys, "kinds")
    assert code == 0 and "payment_invoice" in [k["id"] for k in kinds["kinds"]]
    code, added = run(capsys, "org-add", "ТОО «Северный ветер»", "--tax-id", "940740000911")
    org = added["organisations"][0]
    assert (org["status"], org["key"], org["tax_id"]) == ("accepted", "северный ветер", "940740000911")
    cls = pipeline.classify(services(), ["Поставщик: TOO <Ceверный ветеp>"], "incoming")
    assert cls.correspondent == "ТОО «Северный ветер»" and cls.proposal is None
    code, _ = run(capsys, "org-reject", org["id"])
    assert code == 0 and services().catalog.organisations() == []
    assert main(["review", "org-accept", "nobody"]) == 1
