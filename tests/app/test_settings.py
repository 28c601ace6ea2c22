from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import ConfigurationError
from app.settings import load_settings


def test_environment_sets_top_level_and_section_values(tmp_path: Path) -> None:
    s = load_settings(
        {
            "KARTOTEKA_DATA_DIR": str(tmp_path),
            "KARTOTEKA_INBOX": str(tmp_path / "in"),
            "KARTOTEKA_OCR_LANGUAGES": "kaz+rus",
            "KARTOTEKA_OCR_PAGE_TIMEOUT": "12.5",
            "UNRELATED": "x",
        }
    )
    assert s.data_dir == tmp_path and s.inbox == tmp_path / "in"
    assert s.ocr.languages == "kaz+rus" and s.ocr.page_timeout == 12.5
    assert s.catalog_url == f"sqlite:///{tmp_path / 'catalog.sqlite3'}"


def test_environment_overrides_the_settings_file(tmp_path: Path) -> None:
    f = tmp_path / "kartoteka.toml"
    f.write_text('data_dir = "/srv/k"\nlog_format = "json"\n[ocr]\nlanguages = "eng"\ndpi = 200\n', encoding="utf-8")
    s = load_settings({"KARTOTEKA_SETTINGS": str(f), "KARTOTEKA_OCR_DPI": "400"})
    assert s.data_dir == Path("/srv/k") and s.log_format == "json"
    assert s.ocr.languages == "eng" and s.ocr.dpi == 400


def test_default_data_dir_follows_xdg() -> None:
    s = load_settings({"HOME": "/home/u"})
    assert s.data_dir == Path("/home/u/.local/share/kartoteka")
    assert load_settings({"XDG_DATA_HOME": "/x"}).data_dir == Path("/x/kartoteka")


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"KARTOTEKA_OCR_DPI": "lots"}, "ocr.dpi"),
        ({"KARTOTEKA_OCR_DPI": "10"}, "ocr.dpi"),
        ({"KARTOTEKA_NO_SUCH_THING": "1"}, "no_such_thing"),
    ],
)
def test_bad_settings_name_the_setting(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        load_settings(env)


def test_a_mistyped_setting_is_named_without_the_password_in_its_value() -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings({"KARTOTEKA_DATABSE_URL": "postgresql://u:topsecret@h/db"})
    message = str(caught.value)
    assert "databse_url" in message and "topsecret" not in message and "postgresql://u:***@h/db" in message


def test_missing_settings_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        load_settings({}, file=tmp_path / "nope.toml")
