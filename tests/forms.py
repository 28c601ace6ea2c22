"""Ruled forms rendered from known content: an invoice's item table drawn with ruling lines.

Used by tests/ocr/test_rules.py, tests/classify/test_lineitems.py and bench/forms_bench.py.
The ground truth is the content itself: every cell's text and the items' numbers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from PIL import Image, ImageDraw

from tests.pages import font

HEADER = ("№", "Наименование товара", "Кол-во", "Ед.", "Цена", "Сумма")
NAMES = (
    "Бумага офисная А4", "Папка-регистратор", "Ручка шариковая синяя", "Степлер настольный",
    "Скрепки металлические", "Картридж для принтера", "Маркер текстовый", "Калькулятор",
    "Клей-карандаш", "Блокнот на пружине", "Конверт почтовый", "Тетрадь общая",
)  # fmt: skip
UNITS = ("шт", "уп", "кг", "пач")


@dataclass(frozen=True, slots=True)
class Item:
    name: str
    quantity: Decimal
    unit: str
    price: Decimal

    @property
    def amount(self) -> Decimal:
        return self.quantity * self.price


@dataclass(frozen=True, slots=True)
class Form:
    number: str
    items: tuple[Item, ...]
    #: the printed total (the items' sum unless tampered with)
    total: Decimal
    vat_rate: int = 20

    @property
    def rows(self) -> list[tuple[str, ...]]:
        """The table's rows as printed, header first."""
        out = [HEADER]
        for n, it in enumerate(self.items, 1):
            out.append((str(n), it.name, money(it.quantity, 0), it.unit, money(it.price), money(it.amount)))
        return out

    @property
    def vat(self) -> Decimal:
        return (self.total * self.vat_rate / (100 + self.vat_rate)).quantize(Decimal("0.01"))

    def lines_before(self) -> list[str]:
        return [f"СЧЕТ НА ОПЛАТУ № {self.number} от 12 марта 2024 г.", "Поставщик: ООО «Северный ветер»",
                "Покупатель: ТОО «Альфа-Сервис»"]  # fmt: skip

    def lines_after(self) -> list[str]:
        return [f"Итого: {money(self.total)}", f"В том числе НДС {self.vat_rate}%: {money(self.vat)}",
                f"Всего к оплате: {money(self.total)} руб."]  # fmt: skip


def money(value: Decimal, places: int = 2) -> str:
    """«12 345,60»: groups of three by spaces, a decimal comma (as Russian invoices print)."""
    if places == 0 and value == value.to_integral_value():
        return f"{int(value):,}".replace(",", " ")
    whole, frac = f"{value:.2f}".split(".")
    return f"{int(whole):,}".replace(",", " ") + "," + frac


def make_form(seed: int, n_items: int = 4, tamper: Decimal = Decimal(0)) -> Form:
    """A random invoice of ``n_items`` items; ``tamper`` is added to the printed total."""
    rng = random.Random(seed)
    items = tuple(
        Item(name, Decimal(rng.randint(1, 40)), rng.choice(UNITS), Decimal(rng.randint(50, 9000)) + Decimal(rng.choice((0, 50, 90))) / 100)
        for name in rng.sample(NAMES, n_items)
    )
    return Form(str(rng.randint(10, 999)), items, sum((it.amount for it in items), Decimal(0)) + tamper)


def render_table(rows: list[tuple[str, ...]], dpi: int = 300, points: float = 10.0, top: float = 2.0,
                 before: list[str] | None = None, after: list[str] | None = None, line: int = 3) -> np.ndarray:
    """An A4 page with ``rows`` in a ruled table (every cell boxed), text lines above and below."""
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    f = font(int(points * dpi / 72))
    pad = int(0.06 * dpi)
    line_h = int(points * dpi / 72 * 1.7)
    x0, y = int(0.8 * dpi), int(1.0 * dpi)
    for text in before or []:
        draw.text((x0, y), text, font=f, fill=0)
        y += line_h
    y = max(y + line_h, int(top * dpi))
    widths = [max(int(draw.textlength(r[c], font=f)) for r in rows) + 2 * pad for c in range(len(rows[0]))]
    xs = [x0]
    for cw in widths:
        xs.append(xs[-1] + cw)
    ys = [y + i * (line_h + pad) for i in range(len(rows) + 1)]
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            right = c >= 2 and r > 0 and c != 3  # numbers right-aligned, as printed
            tx = xs[c + 1] - pad - int(draw.textlength(text, font=f)) if right else xs[c] + pad
            draw.text((tx, ys[r] + pad), text, font=f, fill=0)
    for yy in ys:
        draw.line([(xs[0], yy), (xs[-1], yy)], fill=0, width=line)
    for xx in xs:
        draw.line([(xx, ys[0]), (xx, ys[-1])], fill=0, width=line)
    y = ys[-1] + line_h
    for text in after or []:
        draw.text((xs[-1] - int(draw.textlength(text, font=f)), y), text, font=f, fill=0)
        y += line_h
    return np.asarray(img, dtype=np.uint8).copy()


def render_form(form: Form, dpi: int = 300, points: float = 10.0) -> np.ndarray:
    """The invoice as a page: heading lines, the ruled item table, totals under it."""
    return render_table(form.rows, dpi, points, before=form.lines_before(), after=form.lines_after())
