"""Line items of invoices, waybills and UPDs: name, quantity, unit, price, amount, VAT; the sum check.

An item row is one text line (ocr/tables.py writes each ruled table row as one line, cells
separated by tabs; Tesseract's own row lines work too): an optional row number, the name (the
first cell, or the words before the first figure), then figures. Figures printed with spaces
between digit groups («6 269,00») are ambiguous once split into words, so every way of joining
the groups is tried, fewest figures first, and the row is read where three figures in order
satisfy quantity × price = amount (to a kopeck, or 0.05 % for rounded prices). That check is
what the confidence rests on: 0.9 when it holds; 0.4 for a row under the table's header
that only looks like an item (a name of a real word, two figures; the last is taken as the
amount). A name OCR left a letter of keeps its row (the figures count for the sum) with the
name's confidence at 0.3. Measured on generated ruled invoices read by Tesseract
(bench/results/forms.md): 54/54 items exact after the rules step, 47/54 on raw Tesseract's text.

After the amount come, where printed, the VAT rate («20%», «без НДС»), the VAT sum and the
amount with VAT. The items must add up to a total printed on a «Итого» / «Всего» line: their
amounts, their amounts with VAT, or their amounts plus a VAT figure printed under the table.
When a total is printed and nothing adds up to it, the card gets the review reason
``line_items_total``.

On the card the items are fields of the existing fields JSON, no new column: ``items.1.name``,
``items.1.quantity``, … ``items.count`` and ``items.sum`` (figures as plain decimal strings).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import combinations

from classify.model import Field, ReviewReason

__all__ = ["LINE_ITEM_KINDS", "LineItem", "add_line_items", "find_line_items", "items_add_up", "totals"]

#: The kinds (classify/kinds.toml) whose cards carry line items.
LINE_ITEM_KINDS = frozenset({"payment_invoice", "waybill_torg12", "universal_transfer_document_upd"})
#: At most this many items are kept on a card (a long waybill's card stays readable).
MAX_ITEMS = 200

#: A table's header names the goods and a figure column.
_HEADER_NAME = re.compile(r"наименовани|товар|работ|услуг|description|item", re.I)
_HEADER_FIGURE = re.compile(r"цена|сумма|кол[-\s]?в|количеств|price|qty|amount", re.I)
_TOTAL = re.compile(r"^\W*(итого|всего|к\s+оплате|барлығы|жиыны|total)", re.I)
#: «1958,33», «1958.33», and «1,958.33» as UPD software prints (comma groups, decimal point)
_NUM = re.compile(r"^(?:\d{1,3}(?:,\d{3})+\.\d+|\d+(?:[.,]\d+)?)$")
_GROUP = re.compile(r"^\d{3}(?:[.,]\d{1,3})?$")
_PERCENT = re.compile(r"^(\d{1,2}(?:[.,]\d+)?)\s?%$")
_FIGURE = re.compile(
    r"(?<![\d%])(\d{1,3}(?:,\d{3})+\.\d{1,2}|\d{1,3}(?:[ \u00a0\u202f]\d{3}(?!\d))+(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?)"
    r"(?![\d%])(?!\s?%)"
)
_UNITS = frozenset(
    "шт штук штука ед кг г т л м м2 м3 км уп упак пач пачка компл комплект пар рул лист час ч усл услуга "
    "мес дн рейс дана кг. шт. ед. уп. pcs pc kg h".split()
)
_NO_VAT = re.compile(r"без\s*ндс|ндссіз", re.I)


@dataclass(frozen=True, slots=True)
class LineItem:
    name: str
    quantity: Decimal | None
    unit: str | None
    price: Decimal | None
    amount: Decimal
    vat_rate: str | None = None
    vat: Decimal | None = None
    #: the amount with VAT, where the row prints one after the VAT sum
    total: Decimal | None = None
    confidence: float = 0.9
    #: the row's place in the page text
    offset: int = 0
    length: int = 0


def _decimal(token: str) -> Decimal | None:
    token = re.sub(r"[ \u00a0\u202f]", "", token)
    if "," in token and "." in token:
        token = token.replace(",", "")  # «1,958.33»: the commas group digits
    try:
        return Decimal(token.replace(",", "."))
    except InvalidOperation:
        return None


def _joinings(tokens: list[str]) -> Iterator[list[tuple[Decimal, int]]]:
    """Every way of reading number tokens as figures (digit groups joined or not), fewest first.

    Yields lists of (figure, index of its last token). A token of three digits may continue the
    figure before it when that one has one to three digits and no decimals so far.
    """
    joinable = [
        i for i in range(1, len(tokens))
        if _GROUP.match(tokens[i]) and re.fullmatch(r"\d{1,3}", tokens[i - 1])
    ]  # fmt: skip
    joinable = joinable[:10]  # at most 1024 readings
    readings: list[list[tuple[Decimal, int]]] = []
    for mask in range(1 << len(joinable)):
        joined = {j for b, j in enumerate(joinable) if mask >> b & 1}
        figures: list[tuple[str, int]] = []
        for i, tok in enumerate(tokens):
            if i in joined and figures and figures[-1][1] == i - 1:
                figures[-1] = (figures[-1][0] + tok, i)
            else:
                figures.append((tok, i))
        values = [(d, i) for t, i in figures if (d := _decimal(t)) is not None]
        readings.append(values)
    yield from sorted(readings, key=len)


def _close(q: Decimal, p: Decimal, a: Decimal) -> bool:
    return a > 0 and abs(q * p - a) <= max(Decimal("0.011"), a * Decimal("0.0005"))


def _triple(figures: list[tuple[Decimal, int]]) -> tuple[int, int, int] | None:
    """Positions of quantity, price and amount: the last amount whose q × p holds, nearest first."""
    n = len(figures)
    for k in range(n - 1, 1, -1):
        for i, j in combinations(range(k), 2):
            q, p, a = figures[i][0], figures[j][0], figures[k][0]
            if _close(q, p, a) and not (q == 1 and p == a and j != k - 1):
                return i, j, k
    return None


@dataclass(frozen=True, slots=True)
class _Row:
    name: str
    tokens: list[str]


def _split_row(line: str) -> _Row | None:
    """The row's name and the tokens after it; None for a line that is no item row."""
    cells = [c.strip() for c in line.split("\t") if c.strip()]
    if len(cells) > 2:
        if len(cells[0]) <= 3 and not re.search(r"[^\W\d_]{3}", cells[0]) and re.search(r"[^\W\d_]", cells[1]):
            cells = cells[1:]  # the row number (or what OCR made of it), a name after it
        name_at = next((i for i, c in enumerate(cells) if re.search(r"[^\W\d_]", c)), None)
        if name_at is None:
            return None
        return _Row(_name(cells[name_at]), [t for c in cells[name_at + 1 :] for t in c.split()])
    tokens = line.split()
    if tokens and re.fullmatch(r"\d{1,3}[.)]?", tokens[0]):
        tokens = tokens[1:]
    first_num = next((i for i, t in enumerate(tokens) if _NUM.match(t)), None)
    if not first_num:
        return None
    return _Row(_name(" ".join(tokens[:first_num])), tokens[first_num:])


def _name(text: str) -> str:
    return " ".join(text.split()).strip(" '\"[]:;,.-_—")


def parse_row(line: str) -> LineItem | None:
    """One item from one text line, or None."""
    # Rules OCR read as characters («|», «`») are no part of any cell.
    row = _split_row(re.sub(r"[|`¦]", " ", line))
    if row is None or not re.search(r"[^\W\d_]", row.name):
        return None
    numeric = [(i, t) for i, t in enumerate(row.tokens) if _NUM.match(t)]
    if len(numeric) < 2 or _numbering(line):
        return None
    for figures in _joinings([t for _, t in numeric]):
        found = _triple(figures)
        if found is not None:
            return _item(row, numeric, figures, found)
    last = next(iter(_joinings([t for _, t in numeric])))
    return LineItem(row.name, None, _unit(row.tokens, None), None, last[-1][0], confidence=0.4)


def _numbering(line: str) -> bool:
    """The row under a form's header that numbers its columns («1 2 3 4 5 6 7 8 9 10 11 12»,
    «А 1 1а 1б 2 2а 3»): mostly one- or two-digit numbers, some with a letter."""
    tokens = line.split()
    small = sum(1 for t in tokens if re.fullmatch(r"\d{1,2}[^\W\d_]?\)?", t))
    return len(tokens) >= 5 and small >= 0.6 * len(tokens)


def _item(row: _Row, numeric: list[tuple[int, str]], figures: list[tuple[Decimal, int]], at: tuple[int, int, int]) -> LineItem:
    i, j, k = at
    q_token = numeric[figures[i][1]][0]
    a_token = numeric[figures[k][1]][0]
    rate = vat = total = None
    after = row.tokens[a_token + 1 :]
    rate_at = next((n for n, t in enumerate(after) if _PERCENT.match(t) or _NO_VAT.search(" ".join(after[n : n + 2]))), None)
    if rate_at is not None:
        m = _PERCENT.match(after[rate_at])
        rate = f"{m.group(1)}%" if m else "без НДС"
        rest = [f for f in figures[k + 1 :] if numeric[f[1]][0] > a_token + 1 + rate_at]
        vat = rest[0][0] if rest else None
        total = rest[1][0] if len(rest) > 1 else None
    return LineItem(row.name, figures[i][0], _unit(row.tokens, q_token), figures[j][0], figures[k][0], rate, vat, total)


def _unit(tokens: list[str], near: int | None) -> str | None:
    """The unit: a unit word next to the quantity (after it, else before it), else any unit word."""
    order = [near + 1, near - 1] if near is not None else []
    order += range(len(tokens))
    for n in order:
        if 0 <= n < len(tokens) and tokens[n].lower().rstrip(".") in _UNITS:
            return tokens[n].rstrip(".")
    return None


def find_line_items(text: str) -> list[LineItem]:
    """The item rows of one page: after the table's header (when one is found), up to the total."""
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for ln in lines:
        offsets.append(offsets[-1] + len(ln))
    start = next((n + 1 for n, ln in enumerate(lines) if _HEADER_NAME.search(ln) and _HEADER_FIGURE.search(ln)), 0)
    items: list[LineItem] = []
    for n in range(start, len(lines)):
        if _TOTAL.search(lines[n]) and items:
            break
        item = parse_row(lines[n].rstrip("\n"))
        if item is not None and (item.confidence >= 0.9 or (start and _plausible(item.name))):
            items.append(_at(item, offsets[n], len(lines[n].rstrip("\n"))))
    return items[:MAX_ITEMS]


def _plausible(name: str) -> bool:
    """A name for a row whose figures do not check: a word of four letters or more (not «Хх»,
    not a misread column number)."""
    return re.search(r"[^\W\d_]{4}", name) is not None


def _at(item: LineItem, offset: int, length: int) -> LineItem:
    return LineItem(item.name, item.quantity, item.unit, item.price, item.amount, item.vat_rate, item.vat,
                    item.total, item.confidence, offset, length)  # fmt: skip


def totals(text: str) -> tuple[list[Decimal], list[Decimal]]:
    """Figures printed on total lines («Итого», «Всего к оплате»), and on VAT lines («НДС»)."""
    sums: list[Decimal] = []
    vats: list[Decimal] = []
    for line in text.splitlines():
        target = vats if re.search(r"ндс|ққс|vat", line, re.I) and not _TOTAL.search(line) else sums
        if target is sums and not _TOTAL.search(line):
            continue
        target.extend(d for m in _FIGURE.finditer(line) if (d := _decimal(m.group(1))) is not None)
    return sums, vats


def items_add_up(items: Sequence[LineItem], text: str) -> bool | None:
    """Whether the items add up to a printed total; None when no total is printed."""
    sums, vats = totals(text)
    if not sums:
        return None
    amount = sum((it.amount for it in items), Decimal(0))
    candidates = {amount, *(amount + v for v in vats)}
    if all(it.total is not None for it in items):
        candidates.add(sum((it.total or Decimal(0) for it in items), Decimal(0)))
    return any(abs(c - s) <= Decimal("0.011") for c in candidates for s in sums)


def _text(value: Decimal) -> str:
    return f"{value:.2f}" if value != value.to_integral_value() else str(value.quantize(Decimal(1)))


def item_fields(items: Sequence[LineItem], page: int) -> dict[str, Field]:
    """The items as card fields: ``items.N.name``, ``.quantity``, ``.unit``, ``.price``, ``.amount``,
    ``.vat_rate``, ``.vat``, ``.total``; ``items.count`` and ``items.sum``."""
    out: dict[str, Field] = {}
    for n, it in enumerate(items, 1):
        values = {"name": it.name, "quantity": it.quantity, "unit": it.unit, "price": it.price, "amount": it.amount,
                  "vat_rate": it.vat_rate, "vat": it.vat, "total": it.total}  # fmt: skip
        for key, value in values.items():
            if value is not None:
                shown = _text(value) if isinstance(value, Decimal) else value
                # a name OCR left a letter or two of («т» for «Стол») is kept, but flagged as such
                sure = it.confidence if key != "name" or _plausible(it.name) else min(it.confidence, 0.3)
                out[f"items.{n}.{key}"] = Field(shown, sure, page, it.offset, it.length)
    confidence = min((it.confidence for it in items), default=0.0)
    out["items.count"] = Field(len(items), confidence, page)
    out["items.sum"] = Field(_text(sum((it.amount for it in items), Decimal(0))), confidence, page)
    return out


def add_line_items(fields: dict[str, Field], pages: Sequence[str]) -> list[ReviewReason]:
    """Put the document's items into ``fields`` (the first page that has any); the review reason
    when they do not add up to the printed total."""
    for page_no, text in enumerate(pages, 1):
        items = find_line_items(text)
        if not items:
            continue
        fields.update(item_fields(items, page_no))
        tail = "\n".join(pages[page_no - 1 :])
        if items_add_up(items, tail) is False:
            total = _text(sum((it.amount for it in items), Decimal(0)))
            message = f"line items add up to {total}, not to the printed total"
            return [ReviewReason("line_items_total", message, "items.sum", (("total", total),))]
        return []
    return []
