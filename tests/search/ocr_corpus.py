"""Generated Russian office documents, rendered, degraded and recognised as real scans are.

Seven kinds (lease and supply contracts, acceptance acts, invoices, leave applications, charters,
powers of attorney), four documents each with their own names, amounts and dates. Every
document is typeset on a page (``tests.pages``), cropped to its text and damaged by one
condition: noise, blur, a low resolution, a word broken across a space, or Latin look-alike
letters. The pages are then read by real Tesseract through the project's engine (``ocr.run``,
``rus+eng``): what is indexed is what OCR made of them, with its own slips.

Look-alikes: a page typeset with Latin «o», «a», «e», «p», «c» looks exactly like the Cyrillic
page, so Tesseract reads it back as Cyrillic; for that condition a few recognised words also get
Latin look-alikes afterwards, as Tesseract writes them on real scans («Дoгoвop»).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from tests.pages import blur, noisy, render_page, save_png

__all__ = ["CONDITIONS", "KINDS", "OcrDoc", "generate", "recognise"]

NAMES = ["Иванов Пётр Сергеевич", "Смирнова Анна Викторовна", "Жумабаев Нурлан Кайратович", "Петрова Ольга Игоревна",
         "Ахметов Ерлан Болатович", "Козлова Мария Андреевна", "Сидоров Валентин Петрович", "Нурланова Айгуль Сериковна"]
ORGS = ["ТОО «Северный ветер»", "ООО «Альфа-Сервис»", "АО «КазСтройИнвест»", "ТОО «Техноком»",
        "ООО «Вектор Плюс»", "ТОО «Дала Агро»", "АО «Медиа Групп»", "ТОО «Сарыарқа Логистик»"]
CITIES = ["Астана", "Алматы", "Караганда", "Павлодар", "Шымкент", "Костанай"]
GOODS = ["столы офисные", "кресла рабочие", "ноутбуки", "принтеры лазерные", "бумага офисная", "шкафы архивные"]
MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"]

LEASE = """ДОГОВОР АРЕНДЫ № {num}
г. {city} {day}
{org}, именуемое в дальнейшем Арендодатель, и {name}, именуемый Арендатор,
заключили настоящий договор аренды нежилого помещения площадью {area} кв. м.
Арендная плата составляет {amount} тенге в месяц и вносится до десятого числа.
Арендатор обязан содержать помещение в исправном состоянии.
Срок аренды {months} месяцев с момента подписания акта приёма-передачи."""

SUPPLY = """ДОГОВОР ПОСТАВКИ № {num}
г. {city} {day}
Поставщик {org} обязуется передать, а Покупатель {org2} принять и оплатить товар:
{goods} в количестве {qty} штук на сумму {amount} тенге.
Оплата по настоящему договору производится на основании счёта в течение десяти дней.
Споры сторон разрешаются в суде по месту нахождения поставщика."""

ACT = """АКТ ПРИЁМКИ ВЫПОЛНЕННЫХ РАБОТ № {num}
г. {city} {day}
Мы, нижеподписавшиеся, представитель заказчика {name} и представитель
исполнителя {org}, составили настоящий акт о том, что работы выполнены
в полном объёме и в срок. Стоимость работ {amount} тенге.
Заказчик претензий по качеству и срокам не имеет."""

INVOICE = """СЧЁТ НА ОПЛАТУ № {num} от {day}
Поставщик: {org}, БИН {bin}
Покупатель: {org2}
{goods}, количество {qty}, сумма {amount} тенге
Итого к оплате: {amount} тенге, без НДС.
Оплата данного счёта означает согласие с условиями поставки товара."""

LEAVE = """Директору {org}
от {name}
ЗАЯВЛЕНИЕ
Прошу предоставить мне ежегодный оплачиваемый отпуск
продолжительностью {qty} календарных дней с {day}.
Заявление об отпуске согласовано с руководителем отдела.
{day2} подпись {name}"""

CHARTER = """УСТАВ
{org}
г. {city}, утверждён решением общего собрания участников от {day}
1. Общество является юридическим лицом и действует на основании настоящего устава.
2. Уставный капитал общества составляет {amount} тенге.
3. Высшим органом общества является общее собрание участников.
4. Изменения в устав общества вносятся по решению участников."""

PROXY = """ДОВЕРЕННОСТЬ № {num}
г. {city} {day}
{org} в лице директора {name} настоящей доверенностью уполномочивает
{name2} получить товарно-материальные ценности: {goods}
по счёту № {num2} и товарной накладной, а также подписать акт приёмки.
Доверенность выдана сроком на {months} месяцев без права передоверия."""

KINDS: dict[str, tuple[str, str]] = {
    "lease_contract": ("Договор аренды", LEASE),
    "supply_contract": ("Договор поставки", SUPPLY),
    "acceptance_act": ("Акт приёмки работ", ACT),
    "payment_invoice": ("Счёт на оплату", INVOICE),
    "leave_application": ("Заявление на отпуск", LEAVE),
    "charter": ("Устав", CHARTER),
    "power_of_attorney": ("Доверенность", PROXY),
}
PER_KIND = 4
DPI = 200


@dataclass(frozen=True)
class OcrDoc:
    key: str
    kind: str
    title: str  # the card's title: the kind's name, as drafted cards have it
    correspondent: str
    text: str  # as typeset
    condition: str


def _day(rng: random.Random) -> str:
    d = date(2024, 1, 1) + timedelta(days=rng.randrange(700))
    return f"«{d.day:02d}» {MONTHS[d.month - 1]} {d.year} г."


def _fill(template: str, rng: random.Random) -> tuple[str, str]:
    org, org2 = rng.sample(ORGS, 2)
    name, name2 = rng.sample(NAMES, 2)
    values = {
        "num": f"{rng.randrange(1, 999)}/{rng.choice('АБВКП')}", "num2": str(rng.randrange(100, 999)),
        "city": rng.choice(CITIES), "day": _day(rng), "day2": _day(rng), "org": org, "org2": org2,
        "name": name, "name2": name2, "area": str(rng.randrange(20, 400)), "qty": str(rng.randrange(2, 60)),
        "amount": f"{rng.randrange(50, 9000) * 1000:,}".replace(",", " "), "months": str(rng.randrange(3, 36)),
        "goods": rng.choice(GOODS), "bin": "".join(rng.choice("0123456789") for _ in range(12)),
    }
    return template.format(**values), org


_LATIN = str.maketrans({"о": "o", "а": "a", "е": "e", "р": "p", "с": "c", "О": "O", "А": "A", "Е": "E", "Р": "P", "С": "C"})


def _break_word(text: str, rng: random.Random) -> str:
    """One long word of the body split by a space, as OCR splits a word at a stain or a fold."""
    words = [w for w in text.split() if len(w) >= 8 and w.isalpha()]
    word = rng.choice(words)
    cut = rng.randrange(3, len(word) - 3)
    return text.replace(word, word[:cut] + " " + word[cut:], 1)


CONDITIONS = ("noise", "blur", "lowdpi", "broken", "lookalike", "clean")


def generate(seed: int = 14) -> list[OcrDoc]:
    """PER_KIND documents of every kind, conditions taken in turn."""
    rng = random.Random(seed)
    docs: list[OcrDoc] = []
    for kind, (title, template) in KINDS.items():
        for n in range(PER_KIND):
            text, org = _fill(template, rng)
            condition = CONDITIONS[(len(docs) + n) % len(CONDITIONS)]
            if condition == "broken":
                text = _break_word(text, rng)
            elif condition == "lookalike":
                text = text.translate(_LATIN)
            docs.append(OcrDoc(f"{kind}-{n}", kind, title, org, text, condition))
    return docs


def _crop(gray: np.ndarray) -> np.ndarray:
    """The page cut below its last line of text (a small page reads fast)."""
    rows = np.flatnonzero((gray < 128).any(axis=1))
    bottom = int(rows[-1]) + DPI // 3 if rows.size else gray.shape[0]
    return np.ascontiguousarray(gray[:bottom, :])


DAMAGE: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "noise": lambda g: noisy(g, sigma=28.0, specks=0.004, seed=3),
    "blur": lambda g: blur(g, 3),
}


def page_image(doc: OcrDoc, folder: Path) -> Path:
    dpi = 120 if doc.condition == "lowdpi" else DPI
    gray = _crop(render_page(doc.text, dpi=dpi, points=11.0))
    damage = DAMAGE.get(doc.condition)
    if damage is not None:
        gray = damage(gray)
    return save_png(gray, folder / f"{doc.key}.png", dpi=dpi)


def _latin_slips(text: str, rng: random.Random) -> str:
    """Latin look-alikes in about every fourth word of four letters or more, as Tesseract
    writes them on real scans."""
    words = text.split(" ")
    return " ".join(w.translate(_LATIN) if len(w) >= 4 and rng.random() < 0.25 else w for w in words)


def recognise(docs: list[OcrDoc], folder: Path) -> dict[str, str]:
    """key → the text real Tesseract reads from each document's damaged page."""
    from ocr.config import OcrConfig
    from ocr.engines import make_engine
    from ocr.run import recognize_files, workers

    folder.mkdir(parents=True, exist_ok=True)
    paths = [page_image(doc, folder) for doc in docs]
    # The tesseract program per page: no worker processes to start for 28 small pages.
    cfg = OcrConfig(languages="rus+eng", engine="tesseract")
    engine = make_engine(cfg, workers(cfg))
    rng = random.Random(7)
    texts: dict[str, str] = {}
    for doc, result in zip(docs, recognize_files(paths, cfg, engine), strict=True):
        text = "\n".join(page.text for page in result.pages)
        texts[doc.key] = _latin_slips(text, rng) if doc.condition == "lookalike" else text
    return texts
