"""The kinds file, the rules scorer on generated texts, and correspondents against a directory."""

from __future__ import annotations

import importlib.resources
import json
import random
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from classify.kinds import DEFAULT_KINDS_FILE, KindsFileError, load_kinds
from classify.normalize import fold, fold_digits
from classify.organisations import DirectoryEntry, find_correspondent, find_mentions, org_key
from classify.rules import score_text
from ingest.errors import ConfigurationError
from tests.classify.documents import KINDS, TEMPLATES, corpus, generate, noisy

ROOT = Path(__file__).resolve().parents[2]
REAL_LABELS = {
    "lease_contract", "acceptance_act", "leave_application", "sales_contract", "advance_report", "waybill_torg12",
    "income_certificate_2ndfl", "universal_transfer_document_upd", "power_of_attorney", "payment_invoice",
    "articles_of_association",
}  # fmt: skip


def test_the_starter_set_has_every_kind_of_the_issue() -> None:
    kinds = load_kinds()
    assert REAL_LABELS <= set(kinds.ids)
    assert {"service_memo", "services_contract", "commercial_offer", "letter", "order", "minutes", "citizen_appeal"} <= set(kinds.ids)
    assert set(KINDS) == set(kinds.ids)  # the generator covers every kind
    invoice = kinds.get("payment_invoice")
    assert invoice is not None and invoice.title == "Счёт на оплату" and "amount" in invoice.required
    # every kind has its title in the UI's other languages; a language with none falls back
    assert all({"kk", "en"} <= dict(k.titles).keys() for k in kinds.kinds)
    assert invoice.title_in("en") == "Invoice for payment" and invoice.title_in("kk") == "Төлем шоты"
    assert invoice.title_in("de") == invoice.title_in("ru") == "Счёт на оплату"


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("[[kind]\nid = 'x'", "not valid TOML"),
        ("title_chars = 100", "no [[kind]] entries"),
        ("[[kind]]\nid = 'Bad Id'\nkeywords = { a = 1 }", "id must be"),
        ("[[kind]]\nid = 'memo'\nkeywords = { 'записка' = 1 }\n[[kind]]\nid = 'memo'\nkeywords = { 'x' = 1 }", "repeat: memo"),
        ("[[kind]]\nid = 'memo'\npatterns = { '(' = 1 }", "not a valid regular expression"),
        ("[[kind]]\nid = 'memo'\nrequired = ['colour']\nkeywords = { a = 1 }", "required must list"),
        ("[[kind]]\nid = 'memo'\nkeywords = { a = 'heavy' }", "must be a number"),
        ("[[kind]]\nid = 'memo'\nkeywords = { a = -1 }", "positive weight"),
        ("[[kind]]\nid = 'memo'\ntitles = 'Memo'\nkeywords = { a = 1 }", "titles must be"),
        ("[[kind]]\nid = 'memo'\ntitles = { en = '' }\nkeywords = { a = 1 }", "titles must be"),
    ],
)
def test_a_bad_kinds_file_is_a_configuration_error_naming_file_and_problem(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "kinds.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ConfigurationError) as e:
        load_kinds(path)
    assert isinstance(e.value, KindsFileError)
    message = str(e.value)
    assert str(path) in message and problem in message and "\n" not in message


def test_a_missing_kinds_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(KindsFileError, match="cannot be read"):
        load_kinds(tmp_path / "nope.toml")


def test_an_administrators_file_replaces_the_starter_set(tmp_path: Path) -> None:
    path = tmp_path / "kinds.toml"
    path.write_text("[[kind]]\nid = 'tender'\ntitle = 'Тендерная заявка'\nkeywords = { 'тендер' = 5 }\n", encoding="utf-8")
    kinds = load_kinds(path)
    assert kinds.ids == ("tender",)
    assert score_text("ТЕНДЕРНАЯ заявка", kinds).best[0] == "tender"


def test_folding_makes_ocr_variants_equal() -> None:
    assert fold("СЧEТ НА ОПЛАТУ") == fold("Счёт на оплату") == "счет на оплату"  # Latin E inside
    assert fold("3аявление") == "заявление"  # a 3 read for З
    assert fold("AKT приема-передачи") == "акт приема-передачи"  # a Latin look-alike word in Cyrillic text
    assert fold("заяв-\nление") == "заявление"
    assert fold("PURCHASE ORDER") == "purchase order"  # English stays English
    assert fold("30 мая") == "30 мая"  # digits next to digits are digits
    assert fold_digits("12.О3.2О24") == "12.03.2024"


@pytest.mark.parametrize("kind", KINDS)
def test_rules_classify_generated_texts_of_every_kind(kind: str) -> None:
    kinds = load_kinds()
    rng = random.Random(zlib.crc32(kind.encode()))  # the same texts in every run (hash() is salted per process)
    for _ in range(6):
        doc = generate(kind, rng)
        for text in (doc.text, noisy(doc, rng).text):
            best, confidence = score_text(text, kinds).best
            assert best == kind, text
            assert confidence > 0.5


def test_rules_are_uncertain_when_evidence_is_weak_or_mixed() -> None:
    kinds = load_kinds()
    assert score_text("Просим рассмотреть наш вопрос.", kinds).best == (None, 0.0)
    preface = "Материалы к совещанию по закупкам. " * 5  # past the title zone
    mixed = score_text(preface + "Прилагаются счёт на оплату, договор аренды и коммерческое предложение", kinds)
    assert mixed.best[1] < 0.6
    assert score_text("ДОГОВОР АРЕНДЫ № 5\nАрендатор обязуется...", kinds).best[1] > 0.8


# What setuptools' build_py would put into the wheel, from the project's own pyproject.toml
# (package discovery and package-data as configured): destination paths relative to the wheel.
_WHEEL_FILES = """
import json, os, sys, warnings
warnings.simplefilter("ignore")
from setuptools import Distribution
from setuptools.config.pyprojecttoml import read_configuration
conf = read_configuration("pyproject.toml", expand=True, ignore_option_errors=True)["tool"]["setuptools"]
dist = Distribution({"name": "kartoteka", "script_name": "setup.py", "packages": conf["packages"], "package_data": conf.get("package-data", {})})
build_py = dist.get_command_obj("build_py")
build_py.build_lib = "WHEEL"
build_py.ensure_finalized()
print(json.dumps({os.path.relpath(dest, "WHEEL"): src for dest, src in build_py.get_output_mapping().items()}))
"""


def test_starter_kinds_file_is_package_data() -> None:
    """The wheel carries classify/kinds.toml, and the code loads it from beside the package."""
    proc = subprocess.run([sys.executable, "-c", _WHEEL_FILES], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    wheel = json.loads(proc.stdout)
    assert wheel.get("classify/kinds.toml") == "classify/kinds.toml", sorted(f for f in wheel if not f.endswith(".py"))
    assert "classify/kinds.py" in wheel  # the listing is the real one, not an empty guess
    shipped = importlib.resources.files("classify").joinpath("kinds.toml")
    assert shipped.is_file() and Path(str(shipped)) == DEFAULT_KINDS_FILE
    assert load_kinds().ids == load_kinds(ROOT / "classify" / "kinds.toml").ids


def test_correspondents_are_matched_fuzzily_or_proposed() -> None:
    directory = [
        DirectoryEntry("1", "ТОО «Северный ветер»", org_key("Северный ветер"), "940740000911"),
        DirectoryEntry("2", "АО «КазСтройИнвест»", org_key("КазСтройИнвест")),
    ]
    # OCR: Latin look-alikes, «» read as <>, a misread letter, the legal form in full
    found = find_correspondent("Поставщик: TOO <Ceверный ветеp>", directory)
    assert found is not None and found.entry is directory[0] and found.confidence >= 0.85
    found = find_correspondent("Акционерное общество «КазСтройИнвсет»", directory)
    assert found is not None and found.entry is directory[1]
    found = find_correspondent("ИП «Новая Фирма», БИН 123", directory)
    assert found is not None and found.entry is None and found.name == "ИП «Новая Фирма»" and found.confidence < 0.6
    # a BIN in the text decides even when the name is unreadable
    found = find_correspondent("TOO «С#в#рный» ...", directory, tax_ids=["940740000911"])
    assert found is not None and found.entry is directory[0] and found.confidence > 0.95
    # the office's own name is never the correspondent; a bank comes last
    text = "ТОО «Наша Контора» просит АО «Халык Банк» и ТОО «Северный ветер»"
    found = find_correspondent(text, [], own_keys=[org_key("Наша контора")])
    assert found is not None and found.name == "ТОО «Северный ветер»"
    assert [m.name for m in find_mentions("ООО \"Ромашка\" и 000 «Лютик»")] == ["ООО «Ромашка»", "ООО «Лютик»"]


def test_a_small_corpus_is_balanced() -> None:
    docs = corpus(2)
    assert {d.kind for d in docs} == set(TEMPLATES) and len(docs) == 2 * len(TEMPLATES)
