"""``kartoteka search`` and ``kartoteka reindex`` as a user runs them (real processes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests import pages as P

pytestmark = pytest.mark.tesseract


@pytest.fixture
def archived(kartoteka, tmp_path: Path) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Three documents ingested with `kartoteka ingest` (which also brings the index up to date)."""
    inbox = tmp_path / "in"
    inbox.mkdir()
    P.text_pdf([P.TEXTS["rus"]], inbox / "memo.pdf")
    P.text_pdf([P.TEXTS["kaz"]], inbox / "hat.pdf")
    P.save_png(P.make_page("eng", P.Condition("clean")), inbox / "order.png", dpi=200)
    proc = kartoteka("ingest", str(inbox), "--json")
    assert proc.returncode == 0, proc.stderr
    return {Path(f["path"]).stem: f["card"] for f in json.loads(proc.stdout)["files"]}


def test_search_follows_the_contract_and_finds_inflected_words(kartoteka, archived: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    proc = kartoteka("search", "договора", "поставку", "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["total"] == 1
    (hit,) = out["hits"]
    assert {"card", "registration_number", "kind", "score", "highlights"} <= hit.keys()
    assert hit["registration_number"].startswith("ВХ-") and hit["score"] > 0
    assert hit["highlights"][0]["page"] == 1 and "<mark>Договор</mark> <mark>поставки</mark>" in hit["highlights"][0]["snippet"]
    kazakh = json.loads(kartoteka("search", "өтініш", "--json").stdout)
    assert kazakh["total"] == 1
    english = json.loads(kartoteka("search", "invoices", "--json").stdout)  # recognised from the scan
    assert english["total"] == 1 and english["hits"][0]["highlights"][0]["page"] == 1


def test_filters_as_options_facets_and_plain_text_output(kartoteka, archived: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    out = json.loads(kartoteka("search", "--journal", "вх", "--facets", "--sort", "oldest", "--json").stdout)
    assert out["total"] == 3
    assert out["facets"]["journal"] == [{"value": "ВХ", "count": 3}]
    assert json.loads(kartoteka("search", "--from", "2000-01-01", "--to", "2000-12-31", "--json").stdout)["total"] == 0
    text = kartoteka("search", "Новиков")
    assert text.returncode == 0
    assert text.stdout.startswith("1 found") and "page 1: " in text.stdout and "[Новиков]" in text.stdout


def test_a_bad_date_range_is_one_line_and_exit_1(kartoteka, archived: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    proc = kartoteka("search", "registered:2026-13-01")
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and "YYYY-MM-DD" in proc.stderr
    assert json.loads(kartoteka("search", '"unclosed', "--json").stdout)["total"] == 0


def test_reindex_rebuilds_the_embedded_index_from_the_catalog(kartoteka, archived: dict[str, str], tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import shutil

    assert json.loads(kartoteka("verify", "--json").stdout)["index"] == {
        "documents": 3, "pending": 0, "missing": 0, "stale": 0
    }
    shutil.rmtree(tmp_path / "data" / "index")
    assert json.loads(kartoteka("search", "--json").stdout)["total"] == 0
    lost = kartoteka("verify", "--json")
    assert lost.returncode == 1 and "3 cards missing" in json.loads(lost.stdout)["problems"][0]
    proc = kartoteka("reindex", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == {"cards": 3, "removed": 0, "documents": 3}
    assert json.loads(kartoteka("search", "--json").stdout)["total"] == 3
    assert kartoteka("verify").returncode == 0


def test_an_unreachable_elasticsearch_is_exit_4_with_a_reason(kartoteka, archived: dict[str, str]) -> None:  # type: ignore[no-untyped-def]
    proc = kartoteka("search", "договор", env={"KARTOTEKA_SEARCH_URL": "http://127.0.0.1:9/kartoteka"})
    assert proc.returncode == 4
    assert "unavailable" in proc.stderr and proc.stderr.count("\n") == 1
