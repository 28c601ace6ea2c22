"""Document kinds as configuration: the TOML file the administrator edits (see ``kinds.toml``).

``load_kinds`` reads and checks it once; a bad file raises ConfigurationError with one line that
names the file and the problem.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from classify.normalize import fold
from ingest.errors import ConfigurationError

DEFAULT_KINDS_FILE = Path(__file__).with_name("kinds.toml")
#: Fields a kind may require (what ``classify.extract`` can find).
FIELD_NAMES = ("date", "number", "amount", "currency", "correspondent", "bin", "iin", "inn", "kpp", "email", "phone")
_ID = re.compile(r"^[a-z][a-z0-9_]{1,63}$")


@dataclass(frozen=True)
class Cue:
    """One piece of evidence for a kind: a compiled pattern over folded text and its weight."""

    pattern: re.Pattern[str]
    weight: float
    source: str
    #: a keyword's folded phrase (None for a pattern): what ``classify.rules`` matches fuzzily
    phrase: str | None = None


@dataclass(frozen=True)
class Kind:
    id: str
    title: str
    journal: str | None
    required: tuple[str, ...]
    cues: tuple[Cue, ...]
    #: the title in other languages of the UI: (language code, title), e.g. ("kk", "Жарғы")
    titles: tuple[tuple[str, str], ...] = ()

    def title_in(self, language: str) -> str:
        """The title in ``language`` where the kinds file gives one, else ``title``."""
        return dict(self.titles).get(language, self.title)


@dataclass(frozen=True)
class KindSet:
    kinds: tuple[Kind, ...]
    title_chars: int = 150
    title_weight: float = 2.0
    min_score: float = 3.0
    source: str = ""

    def get(self, kind_id: str) -> Kind | None:
        return next((k for k in self.kinds if k.id == kind_id), None)

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(k.id for k in self.kinds)


class KindsFileError(ConfigurationError):
    """The kinds file cannot be used as it is: the administrator must fix it."""


def load_kinds(path: Path | None = None) -> KindSet:
    """The kinds in ``path`` (default: the starter set shipped with the package)."""
    path = path or DEFAULT_KINDS_FILE
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise KindsFileError(f"kinds file {path}: cannot be read ({e.strerror or e})", stage="classify") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise KindsFileError(f"kinds file {path}: not valid TOML: {e}", stage="classify") from e
    try:
        return parse_kinds(data, str(path))
    except ValueError as e:
        raise KindsFileError(f"kinds file {path}: {e}", stage="classify") from e


def parse_kinds(data: dict[str, Any], source: str = "") -> KindSet:
    """Check a parsed kinds file; raises ValueError naming the kind and the problem."""
    unknown = set(data) - {"kind", "title_chars", "title_weight", "min_score"}
    if unknown:
        raise ValueError(f"unknown settings {', '.join(sorted(unknown))}")
    raw_kinds = data.get("kind")
    if not isinstance(raw_kinds, list) or not raw_kinds:
        raise ValueError("no [[kind]] entries")
    kinds = [_kind(raw, i) for i, raw in enumerate(raw_kinds, 1)]
    ids = [k.id for k in kinds]
    repeated = sorted({i for i in ids if ids.count(i) > 1})
    if repeated:
        raise ValueError(f"kind ids repeat: {', '.join(repeated)}")
    return KindSet(
        tuple(kinds),
        title_chars=int(_number(data.get("title_chars", 150), "title_chars")),
        title_weight=_number(data.get("title_weight", 2.0), "title_weight"),
        min_score=_number(data.get("min_score", 3.0), "min_score"),
        source=source,
    )


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{what} must be a number, not {value!r}")
    return float(value)


def _kind(raw: Any, index: int) -> Kind:
    if not isinstance(raw, dict):
        raise ValueError(f"kind #{index} is not a table")
    kind_id = raw.get("id")
    if not isinstance(kind_id, str) or not _ID.match(kind_id):
        raise ValueError(f"kind #{index}: id must be lower-case latin letters, digits and _, not {kind_id!r}")
    where = f"kind {kind_id}"
    unknown = set(raw) - {"id", "title", "titles", "journal", "required", "keywords", "patterns"}
    if unknown:
        raise ValueError(f"{where}: unknown keys {', '.join(sorted(unknown))}")
    title = raw.get("title", kind_id)
    journal = raw.get("journal")
    if not isinstance(title, str) or not title.strip():
        raise ValueError(f"{where}: title must be text")
    if journal is not None and (not isinstance(journal, str) or not journal or "-" in journal):
        raise ValueError(f"{where}: journal must be a code without '-', not {journal!r}")
    required = raw.get("required", [])
    if not isinstance(required, list) or any(r not in FIELD_NAMES for r in required):
        raise ValueError(f"{where}: required must list fields among {', '.join(FIELD_NAMES)}, not {required!r}")
    cues = [*_cues(raw.get("keywords", {}), where, literal=True), *_cues(raw.get("patterns", {}), where, literal=False)]
    if not any(c.weight > 0 for c in cues):
        raise ValueError(f"{where}: needs at least one keyword or pattern with a positive weight")
    titles = raw.get("titles", {})
    if not isinstance(titles, dict) or not all(isinstance(k, str) and isinstance(v, str) and v.strip() for k, v in titles.items()):
        raise ValueError(f'{where}: titles must be a table of language = title, e.g. {{ kk = "…", en = "…" }}')
    return Kind(kind_id, title.strip(), journal, tuple(required), tuple(cues), tuple((k, v.strip()) for k, v in sorted(titles.items())))


def _cues(table: Any, where: str, *, literal: bool) -> list[Cue]:
    what = "keywords" if literal else "patterns"
    if not isinstance(table, dict):
        raise ValueError(f"{where}: {what} must be a table of text = weight")
    cues: list[Cue] = []
    for text, weight in table.items():
        w = _number(weight, f"{where}: weight of {text!r}")
        folded = ""
        if literal:
            folded = fold(text)
            if not folded:
                raise ValueError(f"{where}: empty keyword")
            # The start of a word; the end is free, so a stem matches every form of the word.
            words = [re.escape(part) for part in folded.split(" ")]
            source = r"(?<![^\W_])" + r"\s*".join(words)
        else:
            source = text
        try:
            pattern = re.compile(source)
        except re.error as e:
            raise ValueError(f"{where}: pattern {text!r} is not a valid regular expression: {e}") from e
        cues.append(Cue(pattern, w, text, folded if literal else None))
    return cues
