"""The retraining loop on a real catalog: verified cards -> model trained -> used -> a newer model
swapped in; an unreadable model file leaves an older model or the rules in charge."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from archive.catalog import Catalog
from archive.db import make_engine, upgrade
from archive.model import CardDraft, PageDraft
from classify.classifier import Classifier
from classify.config import ClassifyConfig
from classify.kinds import load_kinds
from classify.learned import combine
from classify.store import ModelStore
from tests.archive.helpers import sha

#: "tender" has only a weak keyword (below min_score): the rules cannot tell it, the model can.
KINDS = """
min_score = 3.0
[[kind]]
id = "tender"
title = "Тендерная заявка"
keywords = { "конкурс" = 1 }
[[kind]]
id = "service_memo"
title = "Служебная записка"
keywords = { "служебная записка" = 8 }
[[kind]]
id = "order"
title = "Приказ"
keywords = { "приказываю" = 8 }
"""
TEXTS = {
    "tender": "Заявка на участие в конкурсе № {i}. Предлагаем поставку товаров по лоту {i}, цена {i}00 тенге, гарантийное обеспечение приложено.",
    "service_memo": "СЛУЖЕБНАЯ ЗАПИСКА № {i}. Прошу выделить {i} рабочих мест для отдела.",
    "order": "ПРИКАЗ № {i}. ПРИКАЗЫВАЮ назначить ответственным за участок {i} инженера.",
}


@pytest.fixture
def catalog(tmp_path: Path) -> Catalog:
    engine = make_engine(f"sqlite:///{tmp_path / 'catalog.db'}")
    upgrade(engine)
    return Catalog(engine)


@pytest.fixture
def cfg(tmp_path: Path) -> ClassifyConfig:
    path = tmp_path / "kinds.toml"
    path.write_text(KINDS, encoding="utf-8")
    return ClassifyConfig(kinds_file=path, retrain_after=9, min_per_kind=3, reload_seconds=0)


def add_verified(catalog: Catalog, kind: str, count: int, start: int = 0) -> None:
    batch = catalog.open_batch("cli:test", f"b-{kind}-{start}")
    for i in range(start, start + count):
        text = TEXTS[kind].format(i=i)
        row = catalog.record_input(batch, f"/in/{kind}-{i}", f"{kind}-{i}.png", sha(f"{kind}{i}"), 1)
        draft = CardDraft(journal="ВХ", kind=kind, source_sha256=sha(f"{kind}{i}"), status="verified",
                          pages=[PageDraft(1, text, 0.9)])  # fmt: skip
        catalog.register_card(row.id, draft)


def test_rules_alone_until_enough_verified_cards_then_a_model_that_learns(catalog: Catalog, cfg: ClassifyConfig, tmp_path: Path) -> None:
    clf = Classifier(cfg, tmp_path / "models")
    tender = "Заявка на участие в конкурсе № 77. Предлагаем поставку товаров по лоту 77, цена 7700 тенге."
    before = clf.classify([tender], "incoming")
    assert clf.model is None and before.kind == "incoming" and before.needs_review and before.source == "none"

    add_verified(catalog, "tender", 3)
    add_verified(catalog, "service_memo", 3)
    assert not clf.retrain_due(catalog) and clf.retrain(catalog) is None  # 6 < retrain_after
    add_verified(catalog, "order", 3)
    assert catalog.count_verified() == 9 and clf.retrain_due(catalog)
    model = clf.retrain(catalog)
    assert model is not None and model.version == 1 and model.trained_on == 9
    assert set(model.kinds) == {"tender", "service_memo", "order"}
    assert ModelStore(tmp_path / "models").versions() == [1]

    after = clf.classify([tender], "incoming")
    assert after.kind == "tender" and after.source == "model" and after.confidence > before.confidence
    assert not clf.retrain_due(catalog)  # counted from the training


def test_a_newer_model_is_swapped_in_without_a_gap(catalog: Catalog, cfg: ClassifyConfig, tmp_path: Path) -> None:
    for kind in TEXTS:
        add_verified(catalog, kind, 3)
    first = Classifier(cfg, tmp_path / "models")
    assert first.retrain(catalog) is not None and first.model and first.model.version == 1
    other = Classifier(cfg, tmp_path / "models")  # another process: picks up v1 from disk
    assert other.model is not None and other.model.version == 1

    for kind in TEXTS:
        add_verified(catalog, kind, 3, start=100)
    thread = threading.Thread(target=first.retrain, args=(catalog,))
    thread.start()
    assert first.model is not None  # the old model serves while the new one trains
    thread.join(60)
    assert first.model.version == 2 and first.model.trained_on == 18
    assert other.refresh().version == 2  # type: ignore[union-attr]
    assert other.classify([TEXTS["order"].format(i=5)], "incoming").kind == "order"


def test_an_unreadable_model_file_falls_back_to_an_older_one_then_to_the_rules(
    catalog: Catalog, cfg: ClassifyConfig, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    models = tmp_path / "models"
    for kind in TEXTS:
        add_verified(catalog, kind, 3)
    clf = Classifier(cfg, models)
    clf.retrain(catalog)
    clf.retrain(catalog, force=True)
    store = ModelStore(models)
    assert store.versions() == [2, 1]
    store.path(2).write_bytes(store.path(2).read_bytes()[:100])  # truncated
    fresh = Classifier(cfg, models)
    assert fresh.model is not None and fresh.model.version == 1
    assert "unreadable" in caplog.text
    store.path(1).write_bytes(b"not a pickle at all")
    rules_only = Classifier(cfg, models)
    assert rules_only.model is None
    memo = rules_only.classify(["СЛУЖЕБНАЯ ЗАПИСКА № 5 от 01.02.2024"], "incoming")
    assert memo.kind == "service_memo" and memo.source == "rules"


def test_only_the_last_versions_are_kept(catalog: Catalog, cfg: ClassifyConfig, tmp_path: Path) -> None:
    for kind in TEXTS:
        add_verified(catalog, kind, 3)
    clf = Classifier(cfg, tmp_path / "models")
    for _ in range(5):
        clf.retrain(catalog, force=True)
    assert ModelStore(tmp_path / "models").versions() == [5, 4, 3]
    assert not list((tmp_path / "models").glob("*.tmp"))


def test_combining_keeps_rule_mass_for_kinds_the_model_never_saw() -> None:
    rules = {"lease_contract": 0.2, "advance_report": 0.6}
    model = {"lease_contract": 0.9, "order": 0.1}
    combined = combine(rules, model, 0.5)
    assert combined["advance_report"] == pytest.approx(0.6)  # the model does not know it
    w = 0.5 * 0.9  # the model's weight shrinks with its own doubt
    assert combined["lease_contract"] == pytest.approx(w * 0.9 * 0.4 + (1 - w) * 0.2)
    assert max(combined, key=combined.__getitem__) == "advance_report"


def test_the_profile_kind_wins_when_it_is_a_configured_kind(tmp_path: Path) -> None:
    clf = Classifier(ClassifyConfig(), tmp_path / "models", kinds=load_kinds())
    text = "ДОГОВОР АРЕНДЫ № 5 от 01.02.2024"
    assert clf.classify([text], "incoming").kind == "lease_contract"
    fixed = clf.classify([text], "payment_invoice")
    assert (fixed.kind, fixed.confidence, fixed.source) == ("payment_invoice", 1.0, "profile")
