"""Start-up checks (workers/preflight.py) against the real servers scripts/test.sh starts
(PostgreSQL, Redis, RabbitMQ, Elasticsearch, each with a password) and a closed port: every
reachable server passes; every unreachable one is a TransientError (exit status 4) whose one-line
message names its URL without the password."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.settings import Settings, load_settings
from ingest.errors import ConfigurationError, TransientError
from workers import cli
from workers.exitcodes import ExitCode, exit_code_for
from workers.preflight import check_broker_url, check_distributed, check_elastic, check_reachable, redact

CLOSED = "127.0.0.1:9"  # the discard port: nothing listens on it here


def elastic_url() -> str:
    from tests.search.conftest import elastic_url as url

    return url() + "/kartoteka-preflight"


def on_closed_port(url: str) -> str:
    """``url`` with its host and port replaced by the closed port, user and password kept."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    return parts._replace(netloc=f"{userinfo}@{CLOSED}" if userinfo else CLOSED).geturl()


def settings(tmp_path: Path, **urls: str | None) -> Settings:
    return Settings(data_dir=tmp_path / "data", **urls)  # type: ignore[arg-type]


def assert_names_without_password(error: TransientError, url: str, what: str) -> None:
    message = str(error)
    password = urlsplit(url).password
    assert "\n" not in message
    assert message.startswith(what), message
    assert redact(url) in message, message
    assert password and password not in message, message
    assert exit_code_for(error) == ExitCode.TRY_AGAIN == 4


def test_redact_hides_only_the_password() -> None:
    assert redact("postgresql+psycopg://kart:s3cr@t@db:5432/k") == "postgresql+psycopg://kart:***@db:5432/k"
    assert redact("redis://:pw@127.0.0.1:6379/0") == "redis://:***@127.0.0.1:6379/0"
    assert redact("amqp://user:pw@mq:5672/%2F") == "amqp://user:***@mq:5672/%2F"
    assert redact("http://es:9200/kartoteka") == "http://es:9200/kartoteka"
    # a list of RabbitMQ nodes: the second password was shown
    assert redact("amqp://a:pw1@h1/v;amqp://b:pw2@h2:1/x") == "amqp://a:***@h1/v;amqp://b:***@h2:1/x"


def test_every_real_server_is_reachable(tmp_path: Path, postgres_admin_url: str, redis_url: str, amqp_url: str) -> None:
    for broker in (redis_url, amqp_url):
        check_reachable(settings(tmp_path, database_url=postgres_admin_url, broker_url=broker, search_url=elastic_url()))


def test_the_defaults_need_no_server(tmp_path: Path) -> None:
    check_reachable(settings(tmp_path))  # SQLite under data_dir (created), in-process broker, embedded index
    assert (tmp_path / "data").is_dir()
    assert not (tmp_path / "data" / "catalog.sqlite3").exists()  # checked, not created


@pytest.mark.parametrize("part", ["database_url", "broker_url", "broker_url:amqp", "search_url"])  # search_url: check_elastic
def test_an_unreachable_server_is_one_line_naming_it_without_its_password(
    part: str, tmp_path: Path, postgres_admin_url: str, redis_url: str, amqp_url: str
) -> None:
    good = {"database_url": postgres_admin_url, "broker_url": redis_url, "search_url": elastic_url()}
    field, _, flavour = part.partition(":")
    real = amqp_url if flavour == "amqp" else good[field]
    if field == "search_url":  # Elasticsearch runs without security here: give its URL a password
        parts = urlsplit(real)
        real = parts._replace(netloc=f"elastic:Secr3t-pw@{parts.netloc}").geturl()
    bad = on_closed_port(real)
    what = {"database_url": "catalog", "broker_url": "broker", "search_url": "search index"}[field]
    with pytest.raises(TransientError) as caught:
        if field == "search_url":
            check_elastic(bad)
        else:
            check_reachable(settings(tmp_path, **{**good, field: bad}))
    assert_names_without_password(caught.value, bad, what)
    assert CLOSED in str(caught.value)


def test_an_unreachable_elasticsearch_is_a_warning_not_a_stop(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """`watch`, `worker` and `serve` stayed down while the index was (exit 4), though ingestion
    goes on without it and the index feed catches up."""
    parts = urlsplit(elastic_url())
    bad = on_closed_port(parts._replace(netloc=f"elastic:Secr3t-pw@{parts.netloc}").geturl())
    check_reachable(settings(tmp_path, search_url=bad))
    (warning,) = [r for r in caplog.records if r.name == "workers.preflight"]
    assert warning.levelname == "WARNING" and "starting anyway" in warning.getMessage()
    assert redact(bad) in warning.getMessage() and "Secr3t-pw" not in warning.getMessage()


def test_a_list_of_rabbitmq_nodes_is_reachable_through_any_node(tmp_path: Path, amqp_url: str) -> None:
    check_reachable(settings(tmp_path, broker_url=f"{on_closed_port(amqp_url)};{amqp_url}"))
    with pytest.raises(TransientError) as caught:
        check_reachable(settings(tmp_path, broker_url=f"{on_closed_port(amqp_url)};{on_closed_port(amqp_url)}"))
    assert urlsplit(amqp_url).password not in str(caught.value)


def test_a_broker_url_of_another_scheme_is_a_setting_to_fix(tmp_path: Path) -> None:
    """Exit 3, not 4: «unreachable, try again» had a supervisor restart it forever. The settings
    refuse it when read (every command, `status` too); the check refuses it on its own as well."""
    with pytest.raises(ConfigurationError, match=r"KARTOTEKA_BROKER_URL\): use redis://… or amqp://…"):
        load_settings({"KARTOTEKA_DATA_DIR": str(tmp_path), "KARTOTEKA_BROKER_URL": "kafka://x"})
    with pytest.raises(ConfigurationError, match=r"broker URL kafka://x: use redis://, amqp://"):
        check_broker_url("kafka://x")


def test_an_unreachable_rabbitmq_is_one_line_with_its_cause(tmp_path: Path, amqp_url: str, caplog: pytest.LogCaptureFixture) -> None:
    """pika wrote a dozen log lines and a traceback first, and the line ended in a bare
    «AMQPConnectionError»."""
    bad = on_closed_port(amqp_url)
    with pytest.raises(TransientError) as caught:
        check_reachable(settings(tmp_path, broker_url=bad, search_url=elastic_url()))
    assert "Connection refused" in str(caught.value) and "\n" not in str(caught.value)
    assert not [r for r in caplog.records if r.name.startswith("pika")]


@pytest.mark.parametrize(("name", "problem"), [("QA_Bad", "lower case"), ("a b", "must not contain"), ("_x", "start with")])
def test_an_index_name_elasticsearch_refuses_is_a_setting_to_fix(tmp_path: Path, name: str, problem: str) -> None:
    """It passed the start-up check (the cluster answered), then the feed failed every 30 s with a
    traceback and `kartoteka search` printed 41 lines."""
    with pytest.raises(ConfigurationError, match=problem):
        check_reachable(settings(tmp_path, search_url=elastic_url().replace("kartoteka-preflight", name)))


def test_a_wrong_password_is_named_without_it(tmp_path: Path, postgres_admin_url: str) -> None:
    parts = urlsplit(postgres_admin_url)
    wrong = parts._replace(netloc=f"kartoteka:not-the-password@{parts.hostname}:{parts.port}").geturl()
    with pytest.raises(TransientError) as caught:
        check_reachable(settings(tmp_path, database_url=wrong))
    assert_names_without_password(caught.value, wrong, "catalog")


def test_a_sqlite_catalog_whose_directory_cannot_be_written(tmp_path: Path) -> None:
    # A path under a regular file cannot be a directory (chmod would not stop root).
    (tmp_path / "file").write_text("x")
    with pytest.raises(TransientError, match=r"catalog sqlite:///.*/file/data/catalog\.sqlite3: its directory .* is not writable"):
        check_reachable(Settings(data_dir=tmp_path / "file" / "data"))


def test_distributed_mode_needs_elasticsearch(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="needs Elasticsearch"):
        check_distributed(settings(tmp_path, broker_url="redis://127.0.0.1:9/0"))
    check_distributed(settings(tmp_path, broker_url="redis://127.0.0.1:9/0", search_url="http://127.0.0.1:9/k"))
    check_distributed(settings(tmp_path))


def test_the_command_line_turns_it_into_exit_status_4(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Through the real entry point: `kartoteka status` (its COMMANDS line added here, in a copy).
    monkeypatch.setattr(cli, "COMMANDS", {**cli.COMMANDS, "status": "workers.status_command"})
    for name in [k for k in os.environ if k.startswith("KARTOTEKA_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KARTOTEKA_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("KARTOTEKA_BROKER_URL", "redis://:pw-123@127.0.0.1:9/0")
    assert cli.main(["status"]) == 4
    err = capsys.readouterr().err
    assert err.startswith("kartoteka: broker redis://:***@127.0.0.1:9/0 is unreachable") and err.count("\n") == 1, err
    assert "pw-123" not in err
