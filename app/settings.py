"""One settings object, read once at the entry point and passed down.

Sources, later ones winning: defaults, a TOML settings file (``--settings FILE`` or
``KARTOTEKA_SETTINGS``), then ``KARTOTEKA_*`` environment variables. Variables for a section
carry its name: ``KARTOTEKA_OCR_LANGUAGES`` sets ``[ocr] languages``. Like starlette's
``Config(environ=...)``, the environment is passed in, so tests hand over a plain dict.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ingest.errors import ConfigurationError, DiskFull, is_disk_full
from ingest.profile import HotFolderProfile
from classify.config import ClassifyConfig
from ocr.config import OcrConfig

PREFIX = "KARTOTEKA_"
SECTIONS = {"ocr": OcrConfig, "classify": ClassifyConfig}
#: The catalog runs on these databases only (archive/db.py); the driver part is free.
DATABASE_URL = re.compile(r"(sqlite|postgresql)(\+\w+)?://", re.IGNORECASE)
#: The brokers workers/broker.py can make.
BROKER_SCHEMES = ("redis://", "rediss://", "unix://", "amqp://", "amqps://")


def default_data_dir(environ: Mapping[str, str]) -> Path:
    base = environ.get("XDG_DATA_HOME") or str(Path(environ.get("HOME", "/var/lib")) / ".local" / "share")
    return Path(base) / "kartoteka"


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: Where the catalog, blobs, index and work area live.
    data_dir: Path
    #: One hot folder with the default profile (the simplest set-up).
    inbox: Path | None = None
    #: SQLAlchemy URL of the catalog; default: SQLite under data_dir.
    database_url: str | None = None
    #: Search backend URL; default: the embedded index under data_dir.
    search_url: str | None = None
    #: dramatiq broker URL (redis://, amqp://); default: in-process.
    broker_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    ocr: OcrConfig = OcrConfig()
    classify: ClassifyConfig = ClassifyConfig()
    #: Hot folders with their profiles (``[[hotfolders]]`` tables in the settings file).
    hotfolders: tuple[HotFolderProfile, ...] = ()
    #: Documents processed at once by the embedded worker; Tesseract runs are capped at one per
    #: core by the engine whatever this is. 3 threads measured no better than 2 on 2 cores
    #: (batch overhead over OCR-only time +16% vs +12%, bench/ingest_bench.py).
    worker_threads: int = Field(2, ge=1, le=64)
    #: Seconds between recovery sweeps that re-enqueue unfinished work from the catalog.
    sweep_seconds: float = Field(60.0, gt=0)
    #: The office's time zone: it decides the year in registration numbers.
    timezone: str = "UTC"
    #: Where the HTTP API listens (``kartoteka serve`` and ``kartoteka run``).
    http_host: str = "127.0.0.1"
    http_port: int = Field(8000, ge=0, le=65535)
    #: Largest upload the API accepts, in MiB; a larger one is refused while it streams (413).
    http_max_upload_mb: int = Field(200, ge=1)
    #: ``/metrics`` without credentials (for a Prometheus on a trusted network); else it needs
    #: the ``admin`` permission like any other operation.
    metrics_public: bool = False
    #: Whether this process (``kartoteka run`` or ``serve``) posts webhook deliveries. Only one
    #: process per catalog should: on one machine a lock file in data_dir already lets one send
    #: at a time; processes on several machines sharing one catalog must set this to false in
    #: all but one (the catalog hands out due deliveries without a lease).
    webhooks_sender: bool = True

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (KeyError, ValueError, OSError) as e:  # unknown, malformed, or a folder («Asia»)
            raise ValueError("no such time zone: use an IANA name such as Asia/Almaty or UTC") from e
        return value

    @field_validator("database_url")
    @classmethod
    def _catalog_database(cls, value: str | None) -> str | None:
        if value is not None and not DATABASE_URL.match(value):
            raise ValueError("the catalog needs sqlite:///PATH or postgresql+psycopg://USER:PASSWORD@HOST/DATABASE")
        return value

    @field_validator("broker_url")
    @classmethod
    def _broker(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(BROKER_SCHEMES):
            raise ValueError("use redis://… or amqp://…, or leave it empty for the in-process broker")
        return value

    @field_validator("data_dir", "inbox")
    @classmethod
    def _a_folder_if_there(cls, value: Path | None) -> Path | None:
        # A folder that does not exist yet is made on first use (make_folder); a file is a mistake.
        if value is not None and value.exists() and not value.is_dir():
            raise ValueError("a file is there, not a folder")
        return value

    @property
    def catalog_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'catalog.sqlite3'}"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def work_dir(self) -> Path:
        return self.data_dir / "work"

    def profiles(self) -> list[HotFolderProfile]:
        """Every hot folder, KARTOTEKA_INBOX first, each with its quarantine folder decided."""
        found = list(self.hotfolders)
        if self.inbox is not None and all(p.path != self.inbox for p in found):
            found.insert(0, HotFolderProfile(path=self.inbox))
        return [p if p.quarantine else p.model_copy(update={"quarantine": p.path / "quarantine"}) for p in found]


#: Variables of the scripts and the test suite (scripts/elasticsearch.sh, scripts/services.sh,
#: scripts/bootstrap.sh, tests/): exported as their docs say, they made every command exit 3.
SCRIPT_VARIABLES = frozenset(
    PREFIX + name
    for name in ("ES_DIR", "ES_HEAP", "ES_PORT", "SERVICES_DIR", "PG_BIN", "CACHE_DIR", "MAVEN_REPO", "SCREENSHOTS")
)


def _not_a_setting(key: str) -> bool:
    return key in SCRIPT_VARIABLES or key.startswith(PREFIX + "TEST_")


def load_settings(environ: Mapping[str, str], file: Path | None = None) -> Settings:
    """Build Settings from a settings file and ``environ`` (the entry point passes the process's
    environment; nothing else reads it); ConfigurationError if invalid."""
    env = dict(environ)
    values: dict[str, Any] = {}
    file = file or (Path(env[PREFIX + "SETTINGS"]) if env.get(PREFIX + "SETTINGS") else None)
    if file is not None:
        values = _read_file(file)
    for key, value in env.items():
        if not key.startswith(PREFIX) or key == PREFIX + "SETTINGS" or value == "" or _not_a_setting(key):
            continue
        name = key[len(PREFIX) :].lower()
        section, _, rest = name.partition("_")
        if section in SECTIONS and rest:
            values.setdefault(section, {})[rest] = value
        else:
            values[name] = value
    values.setdefault("data_dir", default_data_dir(env))
    try:
        return Settings.model_validate(values)
    except ValidationError as e:
        first = e.errors()[0]
        message = first["msg"].removeprefix("Value error, ")  # pydantic's prefix for our validators' words
        raise ConfigurationError(
            f"setting {setting_name(*first['loc'])}: {message} (got {_shown_value(first.get('input'))})"
        ) from e


def setting_name(*loc: str | int) -> str:
    """A setting as messages name it: ``'ocr.dpi' (KARTOTEKA_OCR_DPI)``, the variable left out
    where none sets it (a ``[[hotfolders]]`` entry)."""
    where = ".".join(str(p) for p in loc)
    if len(loc) == 1 or (len(loc) == 2 and loc[0] in SECTIONS):
        return f"{where!r} ({PREFIX}{'_'.join(str(p) for p in loc).upper()})"
    return repr(where)


def make_folder(path: Path, setting: str) -> Path:
    """Create ``path`` (a folder a setting names) if it is missing; ConfigurationError naming the
    setting when it cannot be made (a file on the way, no permission, a read-only filesystem),
    DiskFull when there is no room."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        if is_disk_full(e):
            raise DiskFull(path) from e
        raise ConfigurationError(f"setting {setting_name(setting)}: cannot create the folder {path}: {e.strerror or e}") from e
    return path


def _shown_value(value: Any) -> str:
    """A setting's value as a message may show it: a URL without its password, and any text
    that looks like a secret (a mistyped KARTOTEKA_DATABSE_URL printed its password)."""
    if isinstance(value, str):
        shown = re.sub(r"(//[^/:@\s]*:)[^@/\s]*@", r"\1***@", value)
        return repr(shown if len(shown) <= 200 else shown[:200] + "…")
    if isinstance(value, dict | list):
        return type(value).__name__
    return repr(value)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except FileNotFoundError as e:
        raise ConfigurationError(f"settings file {path} does not exist") from e
    except tomllib.TOMLDecodeError as e:
        raise ConfigurationError(f"settings file {path} is not valid TOML: {e}") from e
