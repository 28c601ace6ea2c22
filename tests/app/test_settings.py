from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import ConfigurationError
from app.settings import load_settings, make_folder


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
        ({"KARTOTEKA_OCR_LANGUAGES": "rus+"}, "ocr.languages.*bad language list"),
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


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"KARTOTEKA_TIMEZONE": "Mars/Olympus"}, "KARTOTEKA_TIMEZONE"),
        ({"KARTOTEKA_TIMEZONE": "Asia"}, "KARTOTEKA_TIMEZONE"),  # a folder of zones, not a zone
        ({"KARTOTEKA_DATABASE_URL": "foo://bar"}, "KARTOTEKA_DATABASE_URL"),
        ({"KARTOTEKA_BROKER_URL": "foo://x"}, "KARTOTEKA_BROKER_URL"),
    ],
)
def test_a_value_the_service_cannot_use_is_refused_when_the_settings_are_read(env: dict[str, str], named: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        load_settings(env)
    assert named in str(caught.value) and "Value error" not in str(caught.value)


def test_the_accepted_forms_of_zones_and_urls_load() -> None:
    s = load_settings({"KARTOTEKA_TIMEZONE": "Asia/Almaty", "KARTOTEKA_DATABASE_URL": "postgresql+psycopg://u:p@h/db",
                       "KARTOTEKA_BROKER_URL": "amqp://u:p@h:5672/%2F"})  # fmt: skip
    assert s.timezone == "Asia/Almaty" and s.catalog_url.startswith("postgresql+psycopg://")
    assert load_settings({"KARTOTEKA_DATABASE_URL": "sqlite:////srv/k/catalog.db"}).database_url == "sqlite:////srv/k/catalog.db"


def test_a_data_directory_or_inbox_that_is_a_file_is_refused(tmp_path: Path) -> None:
    a_file = tmp_path / "passwd"
    a_file.write_text("x")
    for name in ("KARTOTEKA_DATA_DIR", "KARTOTEKA_INBOX"):
        with pytest.raises(ConfigurationError, match=f"{name}.*a file is there, not a folder"):
            load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path), name: str(a_file)})
    assert load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path / "not-yet")}).data_dir == tmp_path / "not-yet"


def test_a_folder_that_cannot_be_made_is_a_configuration_error_naming_the_setting(tmp_path: Path) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(ConfigurationError, match=r"'data_dir' \(KARTOTEKA_DATA_DIR\): cannot create the folder .*file/sub"):
        make_folder(a_file / "sub", "data_dir")
    assert make_folder(tmp_path / "a" / "b", "data_dir").is_dir()


def test_the_scripts_and_tests_own_variables_are_not_settings(tmp_path: Path) -> None:
    """`export KARTOTEKA_SERVICES_DIR=…`, as scripts/services.sh says, made every command exit 3
    («setting 'services_dir': Extra inputs are not permitted»)."""
    env = {"KARTOTEKA_DATA_DIR": str(tmp_path), "KARTOTEKA_SERVICES_DIR": "/tmp/svc", "KARTOTEKA_ES_DIR": "/tmp/es",
           "KARTOTEKA_TEST_ELASTIC_URL": "http://127.0.0.1:9200", "KARTOTEKA_SCREENSHOTS": "/tmp/shots"}  # fmt: skip
    assert load_settings(env).data_dir == tmp_path
    with pytest.raises(ConfigurationError, match="no_such_thing"):
        load_settings({**env, "KARTOTEKA_NO_SUCH_THING": "1"})  # a mistyped setting still is one
