"""Start-up checks of the distributed mode: every server the settings name answers now.

``check_reachable(settings)`` tries the catalog (``SELECT 1`` on PostgreSQL; on SQLite, that
the catalog's directory is writable), the broker (``workers.broker.check_broker``) and, when the
search URL is Elasticsearch, the cluster (a GET of its root), each with a short timeout. The first
one that does not answer raises ``TransientError`` with one line naming its URL, password hidden:
the command line prints it and exits with status 4 (workers/exitcodes.py), so a supervisor
(systemd, compose's ``restart:``) starts the process again once the server is there.
``check_distributed(settings)`` refuses the embedded index (one writer) for processes that share
work through a broker.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from app.settings import Settings
from ingest.errors import ConfigurationError, TransientError

__all__ = ["CONNECT_TIMEOUT_S", "check_catalog", "check_distributed", "check_elastic", "check_reachable", "describe_error", "redact", "check_broker_url"]

log = logging.getLogger(__name__)

#: Seconds each server gets to answer at start-up (libpq counts whole seconds, at least 2).
CONNECT_TIMEOUT_S = 3.0


def redact(url: str) -> str:
    """``url`` with its password replaced by ``***`` (user, host, port and path kept); each URL
    of a list of nodes (``amqp://…;amqp://…``) the same."""
    if ";" in url:
        return ";".join(redact(part) for part in url.split(";"))
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


def describe_error(error: BaseException) -> str:
    """The error's first line, with its type: what a one-line message can say about the cause."""
    cause = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    text = " ".join(str(cause).split("\n", 1)[0].split())
    return f"{type(cause).__name__}: {text}"[:300] if text else type(cause).__name__


def check_catalog(url: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """PostgreSQL answers ``SELECT 1``; a SQLite catalog's directory exists (or can) and is writable."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from archive.db import make_engine

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            return
        _check_writable(Path(parsed.database).parent, url)
        return
    try:
        engine = make_engine(url, poolclass=NullPool, connect_args={"connect_timeout": max(2, round(timeout))})
    except ImportError as e:
        raise ConfigurationError(f"catalog {redact(url)}: its driver is not installed ({e.name})") from e
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as e:  # refused, timed out, bad password, no such database: not there now
        raise TransientError(f"catalog {redact(url)} is unreachable: {describe_error(e)}") from e
    finally:
        engine.dispose()


def _check_writable(directory: Path, url: str) -> None:
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory, prefix=".preflight-"):
            pass
    except OSError as e:  # read-only, full, a share not mounted yet
        raise TransientError(f"catalog {url}: its directory {directory} is not writable: {describe_error(e)}") from e


def check_broker_url(url: str | None, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """``check_broker`` (its messages name the broker with the password hidden, and the cause)."""
    from workers.broker import check_broker

    check_broker(url, timeout=timeout)


def check_elastic(url: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """The Elasticsearch cluster of ``http(s)://host:port/index`` answers ``GET /_cluster/health``
    (not ``GET /``: the minimal distribution CI runs does not serve it)."""
    from elasticsearch import Elasticsearch

    from search.elastic_index import split_url

    node, _name = split_url(url)
    client = Elasticsearch(node, request_timeout=timeout, max_retries=0, retry_on_timeout=False)
    try:
        client.cluster.health()
    except Exception as e:  # refused, timed out, not Elasticsearch, unauthorised
        raise TransientError(f"search index {redact(url)} is unreachable: {describe_error(e)}") from e
    finally:
        client.close()


def check_reachable(settings: Settings, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise TransientError naming the first server of the settings that does not answer."""
    check_catalog(settings.catalog_url, timeout)
    check_broker_url(settings.broker_url, timeout)
    if settings.search_url and settings.search_url.startswith(("http://", "https://")):
        try:
            check_elastic(settings.search_url, timeout)
        except TransientError as e:
            # Not a reason to stay down: ingestion goes on without the index (the index feed
            # catches up when it answers), and the API answers /ready with 503 meanwhile.
            log.warning("%s; starting anyway: cards are indexed once it answers", e)


def check_distributed(settings: Settings) -> None:
    """Processes sharing work through a broker need a shared search index: the embedded one has
    one writer. ConfigurationError (exit status 3) when a broker is set without Elasticsearch."""
    search = settings.search_url or ""
    if settings.broker_url and not search.startswith(("http://", "https://")):
        raise ConfigurationError(
            "distributed mode (KARTOTEKA_BROKER_URL is set) needs Elasticsearch: set "
            "KARTOTEKA_SEARCH_URL=http://host:9200/kartoteka (the embedded index has one writer)"
        )
