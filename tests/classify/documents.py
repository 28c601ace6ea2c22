"""Generated office documents of every starter kind, with the field values they carry.

Used by the classification tests and by ``bench/classify_bench.py``. Texts are varied (several
headings and bodies per kind, Russian and Kazakh), and ``noisy`` adds OCR-like damage: Latin
look-alike letters, О for 0, broken lines and hyphenation.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date

from classify.identifiers import inn_check_digits, kz_check_digit

RU_MONTHS = ["января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"]
KZ_MONTHS = ["қаңтар", "ақпан", "наурыз", "сәуір", "мамыр", "маусым", "шілде", "тамыз", "қыркүйек", "қазан", "қараша", "желтоқсан"]
ORGS = ["Северный ветер", "Альфа-Сервис", "КазСтройИнвест", "Техноком", "Дала Агро", "Вектор Плюс", "Сарыарқа Логистик", "Медиа Групп"]
FORMS = ["ТОО", "ООО", "АО"]
PEOPLE = ["Иванов И. И.", "Сидорова А. П.", "Жумабаев Н. К.", "Петров С. В.", "Ахметова Г. Б."]

# kind -> (headings, body lines); {n} number, {d} date, {a} amount, {o} organisation, {p} person
TEMPLATES: dict[str, tuple[list[str], list[str]]] = {
    "service_memo": (["СЛУЖЕБНАЯ ЗАПИСКА № {n}", "Служебная записка № {n}", "ҚЫЗМЕТТІК ЖАЗБА № {n}", "ДОКЛАДНАЯ ЗАПИСКА № {n}"],
                     ["Прошу согласовать закупку канцелярских товаров для отдела.", "Прошу рассмотреть вопрос о ремонте помещения.", "Начальник отдела {p}"]),
    "payment_invoice": (["СЧЕТ НА ОПЛАТУ № {n} от {d}", "Счёт на оплату № {n} от {d}", "ТӨЛЕМГЕ АРНАЛҒАН ШОТ № {n}"],
                        ["Поставщик: {o}", "Банк получателя: АО «Халык Банк»", "Итого к оплате: {a}", "Оплата данного счета означает согласие с условиями поставки."]),
    "lease_contract": (["ДОГОВОР АРЕНДЫ № {n}", "ДОГОВОР № {n} аренды нежилого помещения", "ЖАЛДАУ ШАРТЫ № {n}"],
                       ["Арендодатель {o} передает, а Арендатор принимает во временное пользование помещение.", "Арендная плата составляет {a} в месяц."]),
    "sales_contract": (["ДОГОВОР КУПЛИ-ПРОДАЖИ № {n}", "Договор купли-продажи автомобиля № {n}", "САТЫП АЛУ-САТУ ШАРТЫ № {n}"],
                       ["Продавец {o} обязуется передать в собственность Покупателя товар.", "Покупатель обязуется принять и оплатить {a}."]),
    "services_contract": (["ДОГОВОР ОКАЗАНИЯ УСЛУГ № {n}", "ДОГОВОР № {n} возмездного оказания услуг", "ҚЫЗМЕТ КӨРСЕТУ ШАРТЫ № {n}"],
                          ["Исполнитель {o} обязуется оказать услуги, а Заказчик обязуется их оплатить.", "Стоимость услуг составляет {a}."]),
    "acceptance_act": (["АКТ ПРИЕМА-ПЕРЕДАЧИ № {n}", "АКТ ВЫПОЛНЕННЫХ РАБОТ № {n}", "ОРЫНДАЛҒАН ЖҰМЫСТАР АКТІСІ № {n}"],
                       ["Мы, нижеподписавшиеся, составили настоящий акт о том, что работы выполнены в полном объеме.", "Исполнитель: {o}", "Сдал ______ Принял ______"]),
    "waybill_torg12": (["Унифицированная форма № ТОРГ-12", "ТОВАРНАЯ НАКЛАДНАЯ № {n}"],
                       ["ТОВАРНАЯ НАКЛАДНАЯ № {n} от {d}", "Грузоотправитель {o}", "Грузополучатель ООО «Склад»", "Всего отпущено на сумму {a}"]),
    "universal_transfer_document_upd": (["Универсальный передаточный документ", "УПД Счет-фактура № {n} от {d}"],
                                        ["Счет-фактура № {n} от {d} Статус: 1", "Продавец: {o}", "Всего к оплате {a}"]),
    "commercial_offer": (["КОММЕРЧЕСКОЕ ПРЕДЛОЖЕНИЕ", "Коммерческое предложение № {n}", "КОММЕРЦИЯЛЫҚ ҰСЫНЫС"],
                         ["{o} предлагает поставку оборудования по цене {a}.", "Срок действия предложения 30 дней."]),
    "letter": (["Исх. № {n} от {d}", "ПИСЬМО"],
               ["Уважаемый {p}!", "Сообщаем, что ваш запрос рассмотрен.", "С уважением, директор {o}"]),
    "order": (["ПРИКАЗ № {n}", "Приказ № {n} по основной деятельности", "БҰЙРЫҚ № {n}"],
              ["В целях улучшения работы ПРИКАЗЫВАЮ:", "1. Назначить ответственным {p}.", "Контроль за исполнением приказа оставляю за собой."]),
    "minutes": (["ПРОТОКОЛ № {n}", "Протокол заседания комиссии № {n}", "ХАТТАМА № {n}"],
                ["Присутствовали: {p}", "Повестка дня: утверждение плана.", "Слушали: {p}", "Постановили: утвердить план."]),
    "power_of_attorney": (["ДОВЕРЕННОСТЬ № {n}", "Доверенность на получение товара № {n}", "СЕНІМХАТ № {n}"],
                          ["{o} настоящей доверенностью уполномочивает {p} представлять интересы организации.", "Доверенность выдана без права передоверия."]),
    "leave_application": (["ЗАЯВЛЕНИЕ", "Заявление"],
                          ["Прошу предоставить мне ежегодный оплачиваемый отпуск продолжительностью 14 календарных дней.", "{p}"]),
    "advance_report": (["АВАНСОВЫЙ ОТЧЕТ № {n}", "Авансовый отчёт № {n}", "АВАНСТЫҚ ЕСЕП № {n}"],
                       ["Подотчетное лицо {p}", "Израсходовано {a}", "Перерасход 0"]),
    "income_certificate_2ndfl": (["СПРАВКА О ДОХОДАХ ФИЗИЧЕСКОГО ЛИЦА", "Справка о доходах и суммах налога физического лица (2-НДФЛ)"],
                                 ["Налоговый агент {o}", "Общая сумма дохода {a}", "Налоговая база"]),
    "articles_of_association": (["УСТАВ", "УСТАВ товарищества с ограниченной ответственностью", "ЖАРҒЫ"],
                                ["Участники {o} утверждают настоящий устав.", "Уставный капитал составляет {a}.", "Органы управления: общее собрание участников."]),
    "citizen_appeal": (["ОБРАЩЕНИЕ ГРАЖДАНИНА", "Обращение", "Жалоба"],
                       ["Я, {p}, проживающий по адресу ул. Абая 10, прошу принять меры.", "Прошу разобраться в ситуации с вывозом мусора."]),
    "purchase_order": (["PURCHASE ORDER No. {n}", "ЗАКАЗ НА ПОСТАВКУ № {n}"],
                       ["Please supply the following goods to {o}.", "Total: {a}"]),
}  # fmt: skip
KINDS = tuple(TEMPLATES)


@dataclass
class GeneratedDoc:
    kind: str
    text: str
    #: field name -> expected value as the extractors report it
    expected: dict[str, str] = field(default_factory=dict)


def bin_iin(rng: random.Random, *, legal: bool = True) -> str:
    """A valid BIN (legal entity) or IIN (person), check digit computed."""
    while True:
        if legal:
            head = f"{rng.randint(0, 99):02d}{rng.randint(1, 12):02d}{rng.choice('456')}{rng.randint(0, 999999):06d}"
        else:
            head = f"{rng.randint(50, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.choice('34')}{rng.randint(0, 9999):04d}"
        check = kz_check_digit(head)
        if check is not None:
            return head + str(check)


def inn(rng: random.Random, digits: int = 10) -> str:
    head = "".join(str(rng.randint(0, 9)) for _ in range(9 if digits == 10 else 10))
    if head[0] == "0":
        head = "7" + head[1:]
    return head + inn_check_digits(head)


def _date_text(rng: random.Random, d: date) -> str:
    form = rng.randrange(4)
    if form == 0:
        return f"{d:%d.%m.%Y}"
    if form == 1:
        return f"«{d.day}» {RU_MONTHS[d.month - 1]} {d.year} г."
    if form == 2:
        return f"{d.year} жылғы {d.day} {KZ_MONTHS[d.month - 1]}"
    return d.isoformat()


def _amount_text(rng: random.Random) -> tuple[str, str]:
    whole = rng.randint(1_000, 9_999_999)
    cents = rng.choice([0, rng.randint(1, 99)])
    currency, word = rng.choice([("KZT", "тенге"), ("KZT", "₸"), ("RUB", "руб."), ("USD", "USD"), ("EUR", "€")])
    sep = rng.choice([" ", "\u00a0", ""])
    groups = f"{whole:,}".replace(",", sep)
    number = f"{groups},{cents:02d}" if cents else groups
    value = f"{whole}.{cents:02d}" if cents else str(whole)
    return f"{number} {word}", f"{value} {currency}"


def generate(kind: str, rng: random.Random) -> GeneratedDoc:
    headings, body = TEMPLATES[kind]
    number = f"{rng.randint(1, 999)}" + rng.choice(["", f"/{rng.randint(1, 12)}-п", f"-{rng.randint(1, 99)}"])
    d = date(rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28))
    amount, amount_value = _amount_text(rng)
    org_name = rng.choice(ORGS)
    org = f"{rng.choice(FORMS)} «{org_name}»"
    values = {"n": number, "d": _date_text(rng, d), "a": amount, "o": org, "p": rng.choice(PEOPLE)}
    heading = rng.choice(headings)
    lines = [heading.format(**values)]
    if "{d}" not in heading:
        lines.append(f"г. Астана {values['d']}" if rng.random() < 0.5 else f"от {values['d']}")
    lines += [line.format(**values) for line in body]
    expected = {"date": d.isoformat()}
    text_so_far = "\n".join(lines)
    if "{n}" in heading or f"№ {number}" in text_so_far or f"No. {number}" in text_so_far:
        expected["number"] = number
    if amount in text_so_far:
        expected["amount"] = amount_value
    if org in text_so_far:
        expected["correspondent"] = org_name
    if rng.random() < 0.5:
        tax = bin_iin(rng)
        lines.append(f"БИН {tax}")
        expected["bin"] = tax
    else:
        tax = inn(rng)
        lines.append(f"ИНН {tax}")
        expected["inn"] = tax
    if rng.random() < 0.5:
        email = f"{rng.choice(['info', 'office', 'buh'])}@{rng.choice(['firm', 'alfa-service', 'vector'])}.kz"
        lines.append(f"E-mail: {email}")
        expected["email"] = email
    if rng.random() < 0.5:
        code, rest = rng.choice([("7172", "123456"), ("727", "2505050"), ("701", "1234567")])
        phone = f"+7 ({code}) {rest[:-4]}-{rest[-4:-2]}-{rest[-2:]}" if rng.random() < 0.5 else f"8 {code} {rest}"
        lines.append(f"Тел.: {phone}")
        expected["phone"] = "+7" + code + rest
    return GeneratedDoc(kind, "\n".join(lines), expected)


_LOOKALIKE = str.maketrans({"о": "o", "а": "a", "е": "e", "с": "c", "р": "p", "О": "O", "А": "A", "Е": "E"})


def noisy(doc: GeneratedDoc, rng: random.Random) -> GeneratedDoc:
    """OCR-like damage that keeps the values readable: look-alike letters, a broken word."""
    words = doc.text.split(" ")
    for i, w in enumerate(words):
        if w.isalpha() and rng.random() < 0.15:
            words[i] = w.translate(_LOOKALIKE)
        elif w.isalpha() and len(w) > 8 and rng.random() < 0.1:
            words[i] = w[:4] + "-\n" + w[4:]
    return GeneratedDoc(doc.kind, " ".join(words), dict(doc.expected))


def corpus(per_kind: int, seed: int = 7, *, damaged: float = 0.3) -> list[GeneratedDoc]:
    rng = random.Random(seed)
    out = []
    for kind in KINDS:
        for _ in range(per_kind):
            doc = generate(kind, rng)
            out.append(noisy(doc, rng) if rng.random() < damaged else doc)
    return out
