"""A dense ruled form for bench/forms_bench.py: the item table of a UPD (универсальный
передаточный документ), twelve narrow columns at 7 pt, header cells wrapped over up to five
lines, numbers right-aligned with digit groups, every cell boxed.

The generated invoices of tests/forms.py have six wide columns at 10 pt, which raw Tesseract
already reads at word F1 0.82; a UPD's grid is where a real one breaks (columns read down,
header words run together across cells). The ground truth is the content: the title line, the
header cells and each row, cells separated by tabs.
"""

from __future__ import annotations

import random
from decimal import Decimal

import numpy as np
from PIL import Image, ImageDraw

from tests.forms import NAMES, UNITS, money
from tests.pages import font

HEADER = (
    "Код товара/ работ, услуг", "№ п/п", "Наименование товара (описание выполненных работ, оказанных услуг)",
    "Код вида товара", "Единица измерения", "Коли- чество (объём)", "Цена (тариф) за единицу измерения",
    "Стоимость товаров без налога - всего", "В том числе сумма акциза", "Нало- говая ставка",
    "Сумма налога, предъяв- ляемая покупателю", "Стоимость товаров с налогом - всего",
)  # fmt: skip
#: each column's share of the table's width
WIDTHS = (0.07, 0.04, 0.19, 0.06, 0.07, 0.07, 0.09, 0.10, 0.07, 0.06, 0.09, 0.09)
NUMERIC_FROM = 5  # columns from here on are right-aligned numbers


def dense_form(seed: int, n_rows: int, dpi: int = 300, points: float = 7.0) -> tuple[np.ndarray, str]:
    """(the page, 8-bit grayscale A4; its text) for a UPD item table of ``n_rows`` rows."""
    rng = random.Random(seed)
    title = f"Универсальный передаточный документ Счет-фактура № {rng.randint(10, 999)} от 12.03.2024"
    rows = [HEADER] + [_row(rng, i) for i in range(1, n_rows + 1)]
    w, h = int(8.27 * dpi), int(11.69 * dpi)
    img = Image.new("L", (w, h), 255)
    draw = ImageDraw.Draw(img)
    small = font(int(points * dpi / 72))
    line_h, pad = int(points * dpi / 72 * 1.35), int(0.03 * dpi)
    x0 = int(0.4 * dpi)
    xs = [x0]
    for share in WIDTHS:
        xs.append(xs[-1] + int(share * (w - 2 * x0)))
    draw.text((x0, dpi), title, font=font(int(9 * dpi / 72)), fill=0)
    ys = [int(1.5 * dpi)]
    for r, row in enumerate(rows):
        cells = [_wrap(draw, text, small, xs[c + 1] - xs[c] - 2 * pad) for c, text in enumerate(row)]
        for c, lines in enumerate(cells):
            for k, line in enumerate(lines):
                right = r > 0 and c >= NUMERIC_FROM
                x = xs[c + 1] - pad - int(draw.textlength(line, font=small)) if right else xs[c] + pad
                draw.text((x, ys[-1] + pad + k * line_h), line, font=small, fill=0)
        ys.append(ys[-1] + max(len(lines) for lines in cells) * line_h + 2 * pad)
    for y in ys:
        draw.line([(xs[0], y), (xs[-1], y)], fill=0, width=2)
    for x in xs:
        draw.line([(x, ys[0]), (x, ys[-1])], fill=0, width=2)
    text = "\n".join([title, *("\t".join(row) for row in rows)])
    return np.asarray(img, dtype=np.uint8).copy(), text


def _row(rng: random.Random, n: int) -> tuple[str, ...]:
    quantity = Decimal(rng.randint(1, 60))
    price = Decimal(rng.randint(50, 9000)) + Decimal(rng.choice((0, 50, 90))) / 100
    cost = quantity * price
    tax = (cost * Decimal("0.2")).quantize(Decimal("0.01"))
    return (str(rng.randint(10000, 99999)), str(n), rng.choice(NAMES), "-", rng.choice(UNITS), money(quantity, 0),
            money(price), money(cost), "без акциза", "20%", money(tax), money(cost + tax))  # fmt: skip


def _wrap(draw: ImageDraw.ImageDraw, text: str, f: object, width: int) -> list[str]:
    """``text`` broken into lines at spaces, each at most ``width`` pixels where a word allows."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}".strip()
        if not current or draw.textlength(trial, font=f) <= width:  # type: ignore[arg-type]
            current = trial
        else:
            lines.append(current)
            current = word
    return [*lines, current]
