"""Planning a clerk's (or a stage's) update of a card: validate, merge, and describe the diff.

Pure functions: ``plan_update`` says what to write and what the audit entry says, and the
catalog writes it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from archive.errors import InvalidChange
from archive.model import CARD_STATUSES, CardRow, ExtractedField, ReviewReason
from archive.rows import fields_to_json, json_safe, reasons_to_json

__all__ = ["UPDATABLE", "CardUpdate", "plan_update"]

#: What ``Catalog.update_card`` may change. The journal and number never change once given.
UPDATABLE = (
    "kind",
    "title",
    "correspondent",
    "doc_number",
    "doc_date",
    "language",
    "status",
    "fields",
    "review_reasons",
)


@dataclass(frozen=True)
class CardUpdate:
    """Column values to write, and the audit diff ``{name: {"old": …, "new": …}}``."""

    values: dict[str, Any]
    diff: dict[str, dict[str, Any]]

    @property
    def empty(self) -> bool:
        return not self.diff


def plan_update(card: CardRow, changes: Mapping[str, Any]) -> CardUpdate:
    """Check ``changes`` against ``card``; keep only what differs. Raise ``InvalidChange``."""
    unknown = sorted(set(changes) - set(UPDATABLE))
    if unknown:
        raise InvalidChange(
            f"cannot change {', '.join(unknown)} on card {card.registration_number}; "
            f"changeable: {', '.join(UPDATABLE)}"
        )
    values: dict[str, Any] = {}
    diff: dict[str, dict[str, Any]] = {}
    for name, raw in changes.items():
        if name == "fields":
            merged, field_diff = _merge_fields(card, raw)
            if field_diff:
                values["fields"] = fields_to_json(merged)
                diff.update(field_diff)
            continue
        new = _NORMALISERS[name](name, raw)
        old = getattr(card, name)
        if new != old:
            values[name] = reasons_to_json(new) if name == "review_reasons" else new
            diff[name] = {"old": _audited(old), "new": _audited(new)}
    return CardUpdate(values=values, diff=diff)


def _audited(value: Any) -> Any:
    if isinstance(value, tuple):
        return [json_safe(item) for item in value]
    return json_safe(value)


def _text(name: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise InvalidChange(f"{name} must be text, not {raw!r}")
    return raw


def _required_text(name: str, raw: Any) -> str:
    value = _text(name, raw).strip()
    if not value:
        raise InvalidChange(f"{name} cannot be empty")
    return value


def _optional_text(name: str, raw: Any) -> str | None:
    return None if raw is None else _text(name, raw)


def _status(name: str, raw: Any) -> str:
    if raw not in CARD_STATUSES:
        raise InvalidChange(f"{name} must be one of {', '.join(CARD_STATUSES)}, not {raw!r}")
    return str(raw)


def _date(name: str, raw: Any) -> date | None:
    if raw is None or (isinstance(raw, date) and not isinstance(raw, datetime)):
        return raw
    if isinstance(raw, str):
        try:
            return date.fromisoformat(raw)
        except ValueError:
            pass
    raise InvalidChange(f"{name} must be a date like 2026-03-31, not {raw!r}")


def _reasons(name: str, raw: Any) -> tuple[ReviewReason, ...]:
    """A sequence of ``ReviewReason`` (or their JSON); None or empty clears them."""
    if raw is None:
        return ()
    if isinstance(raw, (str, bytes, Mapping, ReviewReason)) or not isinstance(raw, Iterable):
        raise InvalidChange(f"{name} must be a list of review reasons, not {raw!r}")
    return tuple(_reason(name, item) for item in raw)


def _reason(name: str, item: Any) -> ReviewReason:
    if isinstance(item, ReviewReason):
        return item
    if isinstance(item, Mapping):
        try:
            return ReviewReason.from_json(dict(item))
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidChange(f"{name}: {item!r} is not a review reason ({e})") from e
    raise InvalidChange(f"{name} must hold {{code, message, field}} records, not {item!r}")


_NORMALISERS: dict[str, Callable[[str, Any], Any]] = {
    "kind": _required_text,
    "title": _text,
    "correspondent": _optional_text,
    "doc_number": _optional_text,
    "doc_date": _date,
    "language": _optional_text,
    "status": _status,
    "review_reasons": _reasons,
}


def _extracted(name: str, raw: Any) -> ExtractedField | None:
    if raw is None or isinstance(raw, ExtractedField):
        return raw
    if isinstance(raw, Mapping) and "value" in raw:
        try:
            return ExtractedField.from_json(raw)
        except (TypeError, ValueError) as e:
            raise InvalidChange(f"field {name}: {e}") from e
    raise InvalidChange(f"field {name} must be {{value, confidence, page}} or null, not {raw!r}")


def _merge_fields(
    card: CardRow, raw: Any
) -> tuple[dict[str, ExtractedField], dict[str, dict[str, Any]]]:
    """Merge named field changes into the card's fields; None removes a field."""
    if not isinstance(raw, Mapping):
        raise InvalidChange(f"fields must map names to values, not {raw!r}")
    merged = dict(card.fields)
    diff: dict[str, dict[str, Any]] = {}
    for name, value in raw.items():
        new = _extracted(str(name), value)
        old = merged.get(name)
        if new == old:
            continue
        if new is None:
            del merged[name]
        else:
            merged[name] = new
        diff[f"fields.{name}"] = {"old": json_safe(old), "new": json_safe(new)}
    return merged, diff
