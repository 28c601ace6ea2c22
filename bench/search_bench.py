"""Search benchmark: indexing throughput, query latency (with highlights and facets), deep
pagination and index size of both backends, against bare tantivy, in one run.

    .venv/bin/python bench/search_bench.py [--n 10000 100000] [--elastic http://127.0.0.1:9260]
                                           [--queries 350] [--out bench/results/search.md]
                                           [--code /tmp/kt-prev] [--json run.json]
    .venv/bin/python bench/search_bench.py --compare a1.json b1.json a2.json b2.json --out cmp.md

Two commits are compared by running this script (the same mix, generator and measuring code)
against each commit's code in turn: ``--code DIR`` imports kartoteka from DIR (a ``git worktree``
of the other commit) instead of this checkout; ``--json`` keeps each run's figures; run the two
alternately (A B A B: machine noise hits both) and ``--compare`` tabulates the runs by commit,
with the median per commit and the change of the second commit against the first.

For each N:

1. Generate N synthetic registration cards (seeded, streamed in batches of --batch): Russian
   office documents of ten kinds (invoices, supply/lease/services contracts, acts, incoming and
   outgoing letters, procurement memos, orders, citizens' appeals, commercial offers), ~2 KB
   of text over 1-3 pages, inflected vocabulary, ~8 % English and ~6 % partly Kazakh cards,
   correspondents from ~300 organisations (Zipf-distributed), journals ВХ/ИСХ/ВН/ОБР,
   registration dates over two years, numbers, amounts, dates, OCR noise (Latin look-alikes in
   Cyrillic words, dropped letters) on a quarter of the cards. Built as ``CardView`` objects.
2. Analysis: ``search.document.card_document`` per card, timed alone (no backend running
   anything at the time); the ``IndexDoc`` batches are pickled to a temp dir (not timed) so
   each backend is then fed the same documents, one backend at a time, with nothing else
   indexing meanwhile. Memory stays bounded: one batch in memory at a time.
3. Indexing, per backend: ``upsert(batch)`` for every batch, then ``commit()`` (tantivy: the
   writer's commit and its merges; Elasticsearch: a refresh). Throughput = N / (analysis +
   upsert + commit); the write-only rate is reported too. Bare tantivy (the reference): one
   ``default``-tokenized field holding title + page text, an id, the same writer settings
   (64 MB heap, 1 thread), raw text in (tantivy's own tokenizer, no Python analysis).
4. Size: ``size_bytes()`` after the commit (Elasticsearch: store size after refresh, not
   force-merged).
5. Queries: a fixed, seeded mix of seven categories, each run through
   ``search.service.run_search(index, q, limit=10, facets=True)`` (parsing, backend, stored
   documents, highlights, facets) on the embedded and the Elasticsearch index; the single-word
   categories also as ``index.parse_query(word)`` top-10 on bare tantivy (no highlights, no
   facets, no stemming). After a warm-up pass over the distinct queries, every query of the mix
   is run on each backend in turn (the order rotates), so machine noise hits them alike.
   Totals of the two kartoteka backends are compared query by query (parity check).
6. Deep pagination: page 1 vs offset 5000 (limit 10) for the commonest word (by relevance) and
   for the empty query (newest first).
7. Where the embedded backend's time goes, per category: parsing, tantivy search + count, stored
   documents (fetch + JSON decoding), facet aggregation, highlights; and a cProfile of the
   slowest category.

The indexes live in temp dirs (Elasticsearch: an index ``kt-bench-…`` on the given node) and are
deleted at the end. Timings come from a shared 2-core machine: compare within one run.
"""

from __future__ import annotations

import argparse
import bisect
import cProfile
import datetime as dt
import gc
import importlib.metadata
import io
import json
import os
import pickle
import platform
import pstats
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent


def _code_dir() -> Path:
    """The kartoteka code to measure: ``--code DIR`` (read before the imports below), else this
    checkout."""
    for i, arg in enumerate(sys.argv):
        if arg == "--code" and i + 1 < len(sys.argv):
            return Path(sys.argv[i + 1]).resolve()
        if arg.startswith("--code="):
            return Path(arg.split("=", 1)[1]).resolve()
    return REPO


# The bench's own helpers come from this checkout, before the code under test goes first on the
# path: an older commit's bench/ may lack them.
sys.path.insert(0, str(REPO))
from bench.report import publish  # noqa: E402
from bench.stats import pct  # noqa: E402

CODE = _code_dir()
sys.path.insert(0, str(CODE))

import tantivy  # noqa: E402

from archive.model import CardRow, CardView, ExtractedField, PageRow, format_registration_number  # noqa: E402
from search.backend import FACETS, SearchIndex, SearchRequest  # noqa: E402
from search.document import IndexDoc, card_document  # noqa: E402
from search.highlight import highlights  # noqa: E402
from search.query import parse_query  # noqa: E402
from search.service import run_search  # noqa: E402
from search.tantivy_index import TantivyIndex  # noqa: E402

DEFAULT_OUT = REPO / "bench" / "results" / "search.md"
TZ = ZoneInfo("Asia/Almaty")
START = datetime(2024, 7, 1, 8, 0, tzinfo=TZ)
SPAN_SECONDS = 730 * 86400
SEED = 20260515
TARGETS = {100_000: ("embedded", 20.0), 1_000_000: ("elastic", 50.0)}

# ----------------------------------------------------------------------------------------------
# Vocabulary
# ----------------------------------------------------------------------------------------------

_ROOTS = (
    "Альфа Бета Гамма Дельта Омега Восток Запад Север Юг Степь Алтын Каспий Тенгри Барыс Нур "
    "Сункар Жетысу Арман Эталон Прогресс Меридиан Горизонт Вектор Атлант Орион Сапфир Гранит "
    "Кристалл Байтерек Есиль Иртыш Алатау Тараз Сарыарка Шанырак Кайнар Береке Достык Акжол "
    "Самал Кемel Мега Стандарт Капитал Ресурс Лидер Партнер Союз Континент"
).replace("Кемel", "Кемел").split()
_SUFFIXES = ("-Строй", "Трейд", "Сервис", "Логистик", "Энерго", "Снаб", "Комплект", "Консалт",
             "Проект", "Инвест", "Транс", "Тех", "Агро", "Медиа", "Пласт", "Фарм", "")
_FORMS = (("ТОО", 10), ("АО", 3), ("ООО", 2), ("ИП", 2), ("ГКП на ПХВ", 1))
_GOV = (
    "ГУ «Управление образования города Алматы»", "ГУ «Управление здравоохранения Карагандинской области»",
    "КГУ «Отдел жилищно-коммунального хозяйства района Алмалы»", "ГУ «Аппарат акима города Астаны»",
    "РГУ «Департамент государственных доходов по городу Шымкент»", "АО «Казахтелеком»",
    "АО «KEGOC»", "АО «Халык Банк»", "АО «Kaspi Bank»", "ГКП «Алматы Су»", "АО «Алатау Жарык Компаниясы»",
    "ТОО «Астанаэнергосбыт»", "АО «Қазпошта»", "НАО «Госкорпорация «Правительство для граждан»",
)
_ENGLISH_ORGS = (
    "Siemens Energy LLP", "Caspian Logistics Ltd", "KPMG Audit LLC", "Air Astana JSC", "Schneider Electric Kazakhstan LLP",
    "Hewlett Packard Enterprise", "DHL Global Forwarding", "Deloitte TCF LLP", "Shell Kazakhstan B.V.", "Tengizchevroil LLP",
    "Microsoft Kazakhstan LLP", "Oracle Kazakhstan LLP", "Huawei Technologies Kazakhstan", "Bosch Rexroth LLP",
    "Maersk Kazakhstan LLP", "Ernst & Young Kazakhstan LLP",
)
_SURNAMES = (
    "Иванов Петров Сидоров Кузнецов Смирнов Попов Волков Морозов Новиков Лебедев Соколов Ковалев Ким Пак "
    "Жумабаев Ахметов Нурланов Сейтказиев Оспанов Касымов Абдрахманов Искаков Тлеубаев Бекмуханбетов "
    "Сулейменов Мухамеджанов Каримов Ибрагимов Омаров Есенов Байжанов Токаев Рахимов Исаев Жакупов Алиев "
    "Дюсенов Калиев Шайхутдинов Григорьев Федоров Николаев Андреев Макаров Захаров Романов Васильев"
).split()
_INITIALS = "АБВГДЕЖЗИКЛМНОПРСТЭЮЯ"
_CITIES = ("Алматы Астана Шымкент Караганда Актобе Павлодар Усть-Каменогорск Атырау Костанай Кызылорда "
           "Тараз Петропавловск Уральск Семей Актау Талдыкорган Кокшетау Туркестан Экибастуз Жезказган").split()
_STREETS = ("Абая", "Толе би", "Достык", "Сейфуллина", "Жибек Жолы", "Райымбека", "Аль-Фараби", "Кабанбай батыра",
            "Пушкина", "Гоголя", "Байтурсынова", "Манаса", "Жандосова", "Сатпаева", "Тимирязева", "Фурманова",
            "Желтоксан", "Богенбай батыра", "Наурызбай батыра", "Кунаева", "Мангилик Ел", "Республики", "Ауэзова")
_DEPTS_GEN = ("отдела кадров", "бухгалтерии", "юридического отдела", "отдела материально-технического снабжения",
              "хозяйственного отдела", "отдела информационных технологий", "планово-экономического отдела",
              "службы безопасности", "отдела закупок", "производственного участка № 2", "канцелярии",
              "отдела капитального строительства", "лаборатории", "складского хозяйства")
# (nominative, genitive, unit)
_GOODS = (
    ("цемент М400", "цемента М400", "т"), ("арматура А500С", "арматуры А500С", "т"), ("бумага офисная А4", "бумаги офисной А4", "пач."),
    ("картридж HP 85A", "картриджей HP 85A", "шт."), ("кабель ВВГнг 3х2,5", "кабеля ВВГнг 3х2,5", "м"),
    ("труба стальная 57х3,5", "труб стальных 57х3,5", "м"), ("щебень фракции 20-40", "щебня фракции 20-40", "м3"),
    ("песок строительный", "песка строительного", "м3"), ("краска фасадная", "краски фасадной", "кг"),
    ("ноутбук Lenovo ThinkPad", "ноутбуков Lenovo ThinkPad", "шт."), ("монитор Dell 24\"", "мониторов Dell 24\"", "шт."),
    ("кресло офисное", "кресел офисных", "шт."), ("стол письменный", "столов письменных", "шт."),
    ("дизельное топливо", "дизельного топлива", "л"), ("бензин АИ-92", "бензина АИ-92", "л"),
    ("спецодежда летняя", "спецодежды летней", "компл."), ("огнетушитель ОП-5", "огнетушителей ОП-5", "шт."),
    ("светильник светодиодный", "светильников светодиодных", "шт."), ("автомат ВА47-29", "автоматов ВА47-29", "шт."),
    ("плитка тротуарная", "плитки тротуарной", "м2"), ("кирпич облицовочный", "кирпича облицовочного", "шт."),
    ("профнастил С-21", "профнастила С-21", "м2"), ("утеплитель минераловатный", "утеплителя минераловатного", "м3"),
    ("моющие средства", "моющих средств", "уп."), ("запасные части к погрузчику", "запасных частей к погрузчику", "компл."),
    ("масло моторное 10W-40", "масла моторного 10W-40", "л"), ("шины 195/65 R15", "шин 195/65 R15", "шт."),
    ("медикаменты", "медикаментов", "уп."), ("продукты питания", "продуктов питания", "кг"),
    ("канцелярские товары", "канцелярских товаров", "компл."), ("сервер HPE ProLiant", "серверов HPE ProLiant", "шт."),
    ("коммутатор Cisco Catalyst", "коммутаторов Cisco Catalyst", "шт."), ("МФУ Canon", "МФУ Canon", "шт."),
)
# dative after "по": "услуги по ..."
_SERVICES = (
    "техническому обслуживанию лифтов", "уборке помещений и прилегающей территории", "охране объектов",
    "вывозу твёрдых бытовых отходов", "ремонту кровли", "сопровождению программного обеспечения",
    "аудиту финансовой отчётности", "перевозке грузов", "обслуживанию систем вентиляции и кондиционирования",
    "дератизации и дезинсекции", "юридическому сопровождению", "обучению персонала", "поверке средств измерений",
    "ремонту автотранспорта", "организации питания сотрудников", "предоставлению каналов связи",
    "техническому надзору за строительством", "оценке имущества", "переводу документов", "ремонту оргтехники",
)
_EQUIPMENT_GEN = ("котла отопления", "насосной станции", "погрузчика", "сервера", "копировального аппарата",
                  "системы видеонаблюдения", "кондиционера", "электрощитовой", "автомобиля Toyota Camry", "станка")
_POSITIONS = ("директор", "генеральный директор", "заместитель директора", "главный бухгалтер",
              "начальник отдела", "руководитель департамента", "председатель правления", "исполнительный директор")
_MONTHS_GEN = ("января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября",
               "октября", "ноября", "декабря")
_MONTHS_PREP = ("январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре",
                "октябре", "ноябре", "декабре")
_MONTHS_EN = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
              "October", "November", "December")
_CITIES_EN = ("Almaty", "Astana", "Shymkent", "Atyrau", "Aktau", "Karaganda")

GENERIC = (
    "В соответствии с условиями договора № {num2} от {date2} просим произвести оплату в срок до {date3}.",
    "Настоящим сообщаем, что оплата по счетам, выставленным в {month_prep}, будет произведена после подписания актов сверки.",
    "Просим направить оригиналы документов по адресу: г. {city}, ул. {street}, д. {house}.",
    "Контактное лицо: {person}, тел. {phone}.",
    "Приложение: копии договоров и счетов-фактур на {small} листах.",
    "Ответственность сторон определяется действующим законодательством Республики Казахстан.",
    "Все споры и разногласия разрешаются путём переговоров, а при недостижении согласия — в суде по месту нахождения ответчика.",
    "Стороны обязуются не разглашать сведения, ставшие им известными в ходе исполнения обязательств.",
    "Копия настоящего письма направлена в бухгалтерию и юридический отдел.",
    "Информируем о переходе на электронный документооборот с поставщиками и подрядчиками с {date3}.",
    "Сверка взаиморасчётов проводится ежеквартально до 15 числа месяца, следующего за отчётным кварталом.",
    "Документы, представленные с нарушением сроков, к рассмотрению не принимаются.",
    "Руководителям структурных подразделений обеспечить своевременное исполнение поручений.",
    "Банковские реквизиты: ИИК KZ{acct}, БИК HSBKKZKX, БИН {bin}.",
    "Оплата производится в тенге путём перечисления денежных средств на расчётный счёт поставщика.",
    "Задолженность по договорам поставки по состоянию на {date2} составляет {amount} тенге.",
    "Просим рассмотреть возможность продления сроков исполнения обязательств по договорам аренды.",
    "Гарантийный срок на поставляемый товар составляет {small} месяцев с даты поставки.",
    "Приёмка товара по количеству и качеству осуществляется на складе покупателя.",
    "Акты выполненных работ подписываются в течение {small} рабочих дней с момента получения.",
    "В случае просрочки платежа покупатель уплачивает пеню в размере {pct}% от суммы задолженности за каждый день просрочки.",
    "Исполнитель вправе привлекать к оказанию услуг третьих лиц с письменного согласия заказчика.",
    "Поставщиками не представлены сертификаты соответствия на часть товаров, поставленных по накладной № {num2}.",
    "На основании служебной записки {dept} прошу выделить денежные средства в размере {amount} тенге.",
    "Комиссия в составе трёх человек провела осмотр помещений и составила акт.",
    "Ранее направленные письма № {num2} и № {num3} оставлены без ответа.",
    "Просим сообщить о принятом решении в письменной форме в течение {small} дней.",
    "Уведомляем об изменении банковских реквизитов нашей организации с {date3}.",
    "Работы выполнены из материалов подрядчика, качество материалов подтверждено сертификатами.",
    "Платёжным поручением № {num3} от {date2} перечислено {amount} тенге.",
    "Срок рассмотрения обращений граждан составляет пятнадцать рабочих дней.",
    "Товарно-материальные ценности приняты на ответственное хранение кладовщиком {person}.",
    "Документ подписан электронной цифровой подписью {person}, сертификат действителен до {date3}.",
    "По результатам проверки выявлены нарушения, которые необходимо устранить до {date3}.",
    "Прошу включить в план закупок на {year} год приобретение {goods_gen} на сумму {amount} тенге.",
    "Исполнитель предоставляет заказчику ежемесячный отчёт об оказанных услугах не позднее 5 числа.",
)
ENGLISH = (
    "Please find attached invoice No. {num} dated {date_en} for the services rendered under the agreement.",
    "Payment terms: net {small} days from the date of invoice, by bank transfer.",
    "The Supplier shall deliver the goods to the Buyer's warehouse in {city_en} within {small} days.",
    "We would appreciate your prompt confirmation of the purchase order and the delivery schedule.",
    "All amounts are stated in KZT and exclude VAT unless otherwise specified.",
    "This letter confirms our commitment to the project schedule agreed at the meeting on {date_en}.",
    "Shipping documents, including the packing list and certificate of origin, will follow by courier.",
    "Kindly contact our accounts department regarding the outstanding payments of {amount} KZT.",
    "The warranty period for the equipment is twelve months from the date of commissioning.",
    "Our commercial offer remains valid for thirty days; prices include delivery and installation.",
    "Please sign and return one copy of the contract amendment at your earliest convenience.",
    "Invoices that do not reference a valid purchase order number will be returned unpaid.",
)
KAZAKH = (
    "Шарттың талаптарына сәйкес төлем {small} жұмыс күні ішінде жүргізіледі.",
    "Құжаттардың түпнұсқаларын көрсетілген мекенжайға жіберуіңізді сұраймыз.",
    "Жауапкершілік Қазақстан Республикасының заңнамасына сәйкес анықталады.",
    "Тауарлар қоймаға уақытында жеткізілді, шағымдар жоқ.",
    "Өтінішіңіз қаралды, нәтижесі туралы қосымша хабарланады.",
    "Жеткізушілермен шарттар бойынша берешек {amount} теңгені құрайды.",
    "Қызметтер толық көлемде және белгіленген мерзімде көрсетілді.",
)

# kind -> (journal, weight, titles, sentences)
KINDS: dict[str, tuple[str, float, tuple[str, ...], tuple[str, ...]]] = {
    "payment_invoice": ("ВХ", 16, ("Счёт на оплату № {num} от {date}", "СЧЕТ НА ОПЛАТУ № {num} от {date}", "Счет на оплату № {num}"), (
        "Поставщик: {org}, БИН {bin}, адрес: г. {city}, ул. {street}, {house}.",
        "Покупатель: {org2}.",
        "Основание: договор поставки № {num2} от {date2}.",
        "{i}. {goods} — {qty} {unit} × {price} = {amount} тенге.",
        "{i}. {goods} — {qty} {unit} × {price} = {amount} тенге.",
        "{i}. {goods} — {qty} {unit} × {price} = {amount} тенге.",
        "Итого: {amount} тенге, в том числе НДС 12%: {amount} тенге.",
        "Всего наименований {small}, на сумму {amount} KZT.",
        "Внимание! Оплата данного счёта означает согласие с условиями поставки товара.",
        "Товар отпускается по факту прихода денег на расчётный счёт поставщика.",
        "Уведомление об оплате обязательно, в противном случае не гарантируется наличие товара на складе.",
        "Счёт действителен в течение {small} банковских дней.",
        "Руководитель {person} Бухгалтер {person2}",
    )),
    "supply_contract": ("ВХ", 7, ("Договор поставки № {num}", "ДОГОВОР ПОСТАВКИ № {num} от {date}", "Договор поставки {goods_gen}"), (
        "г. {city} {date}",
        "{org}, именуемое в дальнейшем «Поставщик», в лице директора {person_gen}, действующего на основании Устава, с одной стороны, и {org2}, именуемое в дальнейшем «Покупатель», с другой стороны, заключили настоящий договор о нижеследующем.",
        "1.1. Поставщик обязуется поставить, а Покупатель принять и оплатить {goods} в количестве и ассортименте согласно спецификации.",
        "2.1. Общая сумма договора составляет {amount} тенге с учётом НДС.",
        "3.1. Поставка товара осуществляется партиями в течение {small} календарных дней с даты получения заявки.",
        "3.2. Датой поставки считается дата подписания накладной представителем Покупателя.",
        "4.1. Покупатель производит оплату в течение {small} банковских дней после поставки товара.",
        "5.1. За нарушение сроков поставки Поставщик уплачивает неустойку в размере {pct}% от стоимости непоставленного товара.",
        "Договор составлен в двух экземплярах, имеющих одинаковую юридическую силу, по одному для каждой из сторон.",
        "Изменения и дополнения к договору действительны, если совершены в письменной форме и подписаны сторонами.",
    )),
    "lease_contract": ("ВХ", 5, ("Договор аренды № {num}", "ДОГОВОР АРЕНДЫ НЕЖИЛОГО ПОМЕЩЕНИЯ № {num}", "Договор аренды помещения от {date}"), (
        "г. {city} {date}",
        "{org}, именуемое в дальнейшем «Арендодатель», и {org2}, именуемое в дальнейшем «Арендатор», заключили настоящий договор аренды.",
        "1.1. Арендодатель передаёт, а Арендатор принимает во временное владение и пользование нежилое помещение общей площадью {area} кв. м, расположенное по адресу: г. {city}, ул. {street}, {house}.",
        "2.1. Арендная плата составляет {amount} тенге в месяц и вносится не позднее 10 числа текущего месяца.",
        "2.2. Коммунальные услуги оплачиваются Арендатором отдельно по показаниям приборов учёта.",
        "3.1. Арендатор обязан содержать помещение в надлежащем санитарном и техническом состоянии.",
        "3.2. Арендатор не вправе сдавать помещение в субаренду без письменного согласия Арендодателя.",
        "4.1. Срок аренды — с {date2} по {date3}.",
        "Передача помещения оформляется актом приёма-передачи, подписанным обеими сторонами.",
    )),
    "services_contract": ("ВХ", 6, ("Договор оказания услуг № {num}", "ДОГОВОР ВОЗМЕЗДНОГО ОКАЗАНИЯ УСЛУГ № {num}", "Договор на оказание услуг по {service}"), (
        "г. {city} {date}",
        "{org}, именуемое в дальнейшем «Исполнитель», и {org2}, именуемое в дальнейшем «Заказчик», заключили настоящий договор.",
        "1.1. Исполнитель обязуется оказать услуги по {service}, а Заказчик обязуется принять и оплатить оказанные услуги.",
        "2.1. Стоимость услуг по настоящему договору составляет {amount} тенге.",
        "2.2. Оплата производится ежемесячно на основании акта оказанных услуг и счёта-фактуры.",
        "3.1. Услуги считаются оказанными после подписания сторонами акта оказанных услуг.",
        "Настоящий договор вступает в силу с момента подписания и действует до {date3}.",
        "Исполнитель несёт ответственность за качество оказываемых услуг и соблюдение сроков.",
    )),
    "acceptance_act": ("ВХ", 10, ("Акт выполненных работ № {num}", "АКТ ВЫПОЛНЕННЫХ РАБОТ (ОКАЗАННЫХ УСЛУГ) № {num}", "Акт приёма-передачи № {num} от {date}"), (
        "Мы, нижеподписавшиеся, представитель Заказчика {person} и представитель Исполнителя {person2}, составили настоящий акт о том, что работы по договору № {num2} от {date2} выполнены в полном объёме и в установленные сроки.",
        "Заказчик претензий по объёму, качеству и срокам оказания услуг не имеет.",
        "Стоимость выполненных работ составляет {amount} тенге.",
        "Наименование работ: услуги по {service}.",
        "Товар передан в количестве {qty} единиц без видимых повреждений.",
        "Исполнитель: {org}. Заказчик: {org2}.",
        "Работы сдал: {person}. Работы принял: {person2}.",
    )),
    "letter": ("ВХ", 14, ("О поставке {goods_gen}", "О погашении задолженности", "О согласовании проекта договора", "Письмо № {num} от {date}", "О предоставлении информации"), (
        "Исх. № {num} от {date}",
        "Директору {org2} {person_dat}",
        "Уважаемый {name}!",
        "В ответ на Ваше письмо № {num2} от {date2} сообщаем следующее.",
        "Просим Вас рассмотреть возможность поставки {goods_gen} в срок до {date3}.",
        "Направляем Вам на согласование проект договора поставки и спецификацию к нему.",
        "Сообщаем, что по состоянию на {date2} за Вашей организацией числится задолженность в сумме {amount} тенге.",
        "Просим погасить задолженность по счетам в течение {small} дней.",
        "Благодарим за сотрудничество и надеемся на дальнейшее взаимовыгодное партнёрство.",
        "С уважением, {position} {org} {person}",
        "Исп. {person2}, тел. {phone}",
    )),
    "outgoing_letter": ("ИСХ", 12, ("О направлении документов", "О рассмотрении претензии", "Ответ на запрос № {num2}", "О продлении договора аренды"), (
        "Руководителю {org} {person_dat}",
        "Уважаемый {name}!",
        "Рассмотрев Вашу претензию № {num2} от {date2}, сообщаем, что поставка товара задержана по вине перевозчика.",
        "Направляем в Ваш адрес подписанные экземпляры договоров и актов сверки взаиморасчётов.",
        "Просим продлить срок действия договора аренды до {date3} на прежних условиях.",
        "Оплата по счетам № {num3} будет произведена до конца текущего месяца.",
        "Приложение: на {small} листах.",
        "С уважением, {position} {person2}",
    )),
    "service_memo": ("ВН", 8, ("Служебная записка № {num}", "СЛУЖЕБНАЯ ЗАПИСКА о закупке {goods_gen}", "Докладная записка № {num}"), (
        "Директору {person_dat}",
        "от начальника {dept} {person_gen}",
        "Прошу согласовать закупку {goods_gen} для нужд {dept} на сумму {amount} тенге.",
        "В связи с выходом из строя {equipment} необходимо провести закупку запасных частей.",
        "Закупка будет осуществлена способом запроса ценовых предложений среди поставщиков.",
        "Предлагаю рассмотреть коммерческие предложения, поступившие от трёх поставщиков, и выбрать наименьшую цену.",
        "Обоснование: износ оборудования, увеличение объёма работ, требования техники безопасности.",
        "Прошу поручить отделу закупок подготовить техническую спецификацию.",
    )),
    "order": ("ВН", 7, ("Приказ № {num}-п", "О назначении ответственного за закупки", "Об утверждении плана закупок на {year} год", "О проведении инвентаризации"), (
        "В целях обеспечения своевременного исполнения договорных обязательств ПРИКАЗЫВАЮ:",
        "1. Назначить {person_acc} ответственным за приёмку товаров, работ и услуг.",
        "2. Утвердить план закупок на {year} год согласно приложению.",
        "3. Провести инвентаризацию основных средств и материальных запасов по состоянию на {date3}.",
        "4. Контроль за исполнением настоящего приказа возложить на заместителя директора {person_acc}.",
        "Основание: служебная записка {dept} № {num2} от {date2}.",
        "С приказом ознакомлены: {person}, {person2}.",
    )),
    "citizen_appeal": ("ОБР", 10, ("Обращение гражданина", "Жалоба на действия управляющей компании", "Заявление о перерасчёте", "Обращение о ремонте кровли"), (
        "от {citizen_gen}, проживающего по адресу: г. {city}, ул. {street}, д. {house}, кв. {flat}",
        "Прошу принять меры по ремонту кровли многоквартирного дома, так как в квартире протекает потолок.",
        "Неоднократно обращался в управляющую компанию, однако ответа не получил.",
        "Прошу разобраться в ситуации с вывозом мусора во дворе дома.",
        "Прошу провести проверку начисления платы за коммунальные услуги за {month_prep}.",
        "Прошу рассмотреть моё обращение в установленный законом срок и дать письменный ответ.",
        "На мои обращения от {date2} и {date3} ответы не поступили.",
        "Жалоба на действия сотрудников {org}.",
        "Приложение: копии квитанций об оплате, фотографии.",
    )),
    "commercial_offer": ("ВХ", 3, ("Коммерческое предложение № {num}", "Commercial offer No. {num}"), (
        "{org} предлагает поставку {goods_gen} по цене {price} тенге за единицу.",
        "Срок действия предложения 30 календарных дней.",
        "Доставка осуществляется силами поставщика до склада заказчика.",
    )),
}
_KIND_NAMES = tuple(KINDS)
_KIND_CUM = tuple(__import__("itertools").accumulate(KINDS[k][1] for k in _KIND_NAMES))
# The kind code on the card ("letter" in two journals).
KIND_CODE = {"outgoing_letter": "letter"}

_LATIN_LOOKALIKE = dict(zip("аеорсхуАВЕКМНОРСТХ", "aeopcxyABEKMHOPCTX", strict=True))


def _organisations(rng: random.Random) -> list[str]:
    names: set[str] = set()
    forms = [f for f, w in _FORMS for _ in range(w)]
    while len(names) < 270:
        root, suffix = rng.choice(_ROOTS), rng.choice(_SUFFIXES)
        name = root + suffix if suffix.startswith("-") or not suffix else root + suffix.lower()
        names.add(f"{rng.choice(forms)} «{name}»")
    orgs = sorted(names) + list(_GOV) + list(_ENGLISH_ORGS)
    rng.shuffle(orgs)
    return orgs


class Generator:
    """Deterministic synthetic cards; ``cards(n)`` yields them in registration order."""

    def __init__(self, seed: int = SEED) -> None:
        self.orgs = _organisations(random.Random(seed))
        self.org_cum = list(__import__("itertools").accumulate(1.0 / (i + 1) ** 0.9 for i in range(len(self.orgs))))
        self.seed = seed

    # -- slot values -------------------------------------------------------------------------

    def _person(self, rng: random.Random) -> tuple[str, str, str, str]:
        """(nominative, genitive/accusative, dative, "Имя Отчество")."""
        surname = rng.choice(_SURNAMES)
        ini = f"{rng.choice(_INITIALS)}. {rng.choice(_INITIALS)}."
        if rng.random() < 0.45 and surname.endswith(("ов", "ев", "ин")):
            return (f"{surname}а {ini}", f"{surname}ой {ini}", f"{surname}ой {ini}", "госпожа " + surname + "а")
        if surname.endswith(("ов", "ев", "ин")):
            return (f"{surname} {ini}", f"{surname}а {ini}", f"{surname}у {ini}", "господин " + surname)
        return (f"{surname} {ini}", f"{surname} {ini}", f"{surname} {ini}", "господин " + surname)

    @staticmethod
    def _amount(rng: random.Random) -> str:
        value = rng.choice((rng.randint(5_000, 99_999), rng.randint(100_000, 9_999_999), rng.randint(10_000_000, 250_000_000)))
        return f"{value:,}".replace(",", " ") + f",{rng.randint(0, 99):02d}"

    @staticmethod
    def _ru_date(d: date) -> str:
        return d.strftime("%d.%m.%Y")

    def _slots(self, rng: random.Random, ctx: dict[str, Any]) -> dict[str, Callable[[], str]]:
        reg: date = ctx["reg_date"]

        def some_date(lo: int, hi: int) -> str:
            return self._ru_date(reg + timedelta(days=rng.randint(lo, hi)))

        counter = iter(range(1, 1000))
        return {
            "amount": lambda: self._amount(rng),
            "price": lambda: f"{rng.randint(150, 950_000):,}".replace(",", " "),
            "qty": lambda: str(rng.randint(1, 500)),
            "small": lambda: str(rng.randint(2, 45)),
            "pct": lambda: rng.choice(("0,1", "0,5", "1", "0,05", "2")),
            "area": lambda: f"{rng.randint(12, 900)},{rng.randint(0, 9)}",
            "house": lambda: f"{rng.randint(1, 250)}{rng.choice(('', '', '', 'А', 'Б', '/1'))}",
            "flat": lambda: str(rng.randint(1, 320)),
            "phone": lambda: f"+7 (7{rng.randint(10, 29)}) {rng.randint(200, 999)}-{rng.randint(10, 99)}-{rng.randint(10, 99)}",
            "acct": lambda: f"{rng.randint(10, 99)}{rng.randint(10**15, 10**16 - 1)}",
            "bin": lambda: f"{rng.randint(10**11, 10**12 - 1)}",
            "num2": lambda: self._number(rng),
            "num3": lambda: self._number(rng),
            "date2": lambda: some_date(-400, -1),
            "date3": lambda: some_date(1, 400),
            "date_en": lambda: f"{_MONTHS_EN[rng.randrange(12)]} {rng.randint(1, 28)}, {reg.year}",
            "city": lambda: rng.choice(_CITIES),
            "city_en": lambda: rng.choice(_CITIES_EN),
            "street": lambda: rng.choice(_STREETS),
            "dept": lambda: rng.choice(_DEPTS_GEN),
            "equipment": lambda: rng.choice(_EQUIPMENT_GEN),
            "position": lambda: rng.choice(_POSITIONS),
            "month_prep": lambda: f"{_MONTHS_PREP[rng.randrange(12)]} {reg.year}",
            "i": lambda: str(next(counter)),
            "goods": lambda: rng.choice(_GOODS)[0],
            "unit": lambda: rng.choice(_GOODS)[2],
            "person2": lambda: self._person(rng)[0],
            "year": lambda: str(reg.year + rng.choice((0, 0, 1))),
        }

    @staticmethod
    def _number(rng: random.Random) -> str:
        n = rng.randint(1, 9999)
        pattern = rng.randrange(6)
        if pattern == 0:
            return str(n)
        if pattern == 1:
            return f"{n}/{rng.randint(20, 26)}"
        if pattern == 2:
            return f"{rng.randint(1, 12):02d}-{rng.randint(1, 30):02d}/{n}"
        if pattern == 3:
            return f"КП-{n}"
        if pattern == 4:
            return f"{n}-п"
        return f"{rng.choice('АБВДК')}{n:04d}"

    # -- cards -----------------------------------------------------------------------------

    def cards(self, n: int) -> Iterator[CardView]:
        rng = random.Random(self.seed * 1_000_003 + n)
        seqs: Counter[tuple[str, int]] = Counter()
        step = SPAN_SECONDS / n
        for i in range(n):
            registered = START + timedelta(seconds=i * step + rng.random() * step * 0.9)
            yield self._card(rng, registered, seqs)

    def _card(self, rng: random.Random, registered: datetime, seqs: Counter[tuple[str, int]]) -> CardView:
        kind_key = _KIND_NAMES[bisect.bisect(_KIND_CUM, rng.random() * _KIND_CUM[-1])]
        journal, _, titles, sentences = KINDS[kind_key]
        kind = KIND_CODE.get(kind_key, kind_key)
        year = registered.year
        seqs[(journal, year)] += 1
        seq = seqs[(journal, year)]
        english = kind_key in ("letter", "commercial_offer", "payment_invoice") and rng.random() < 0.22
        kazakh = not english and rng.random() < 0.06
        if english:
            org = rng.choice(_ENGLISH_ORGS)
        else:
            org = self.orgs[bisect.bisect(self.org_cum, rng.random() * self.org_cum[-1])]
        org2 = self.orgs[bisect.bisect(self.org_cum, rng.random() * self.org_cum[-1])]
        person = self._person(rng)
        citizen = self._person(rng)
        reg_date = registered.date()
        doc_date = reg_date - timedelta(days=rng.randint(0, 20)) if rng.random() < 0.9 else None
        number = self._number(rng)
        goods = rng.choice(_GOODS)
        ctx: dict[str, Any] = {"reg_date": reg_date}
        fixed = {
            "org": org, "org2": org2, "num": number, "date": self._ru_date(doc_date or reg_date),
            "person": person[0], "person_gen": person[1], "person_acc": person[1], "person_dat": person[2],
            "name": person[3], "citizen_gen": citizen[1], "goods_gen": goods[1], "service": rng.choice(_SERVICES),
        }
        lazy = self._slots(rng, ctx)

        class Slots(dict):  # fixed values per card, fresh random ones per use
            def __missing__(self, key: str) -> str:
                return lazy[key]()

        slots = Slots(fixed)
        title = rng.choice(titles).format_map(slots)
        if english:
            title = {"payment_invoice": "Invoice No. {num}", "commercial_offer": "Commercial offer No. {num}"}.get(
                kind_key, "Letter ref. {num}").format_map(slots)
        target = rng.randint(800, 1500)  # characters: ~2.2 KB of UTF-8 a card
        lines = [title.upper() if rng.random() < 0.5 else title]
        size = len(lines[0])
        own = list(sentences)
        while size < target:
            r = rng.random()
            if english:
                pool = ENGLISH if r < 0.85 else GENERIC
            elif kazakh and r < 0.3:
                pool = KAZAKH
            else:
                pool = own if r < 0.55 else GENERIC
            line = rng.choice(pool).format_map(slots)
            lines.append(line)
            size += len(line) + 1
        if rng.random() < 0.25:  # OCR noise: look-alikes and dropped letters
            lines = [self._noisy(rng, line) for line in lines]
        n_pages = rng.choices((1, 2, 3), (40, 40, 20))[0]
        per = -(-len(lines) // n_pages)
        pages = tuple(
            PageRow(number=p + 1, text="\n".join(lines[p * per : (p + 1) * per]) or "—", confidence=round(rng.uniform(0.6, 0.98), 3),
                    rotation=0, skew=0.0, source="ocr" if rng.random() < 0.8 else "text-layer")
            for p in range(n_pages)
        )
        correspondent: str | None = org
        if journal == "ОБР":
            correspondent = citizen[0]
        elif journal == "ВН":
            correspondent = None
        fields = {
            "number": ExtractedField(number, 0.9, page=1),
            "amount": ExtractedField(self._amount(rng), round(rng.uniform(0.5, 1.0), 2), page=n_pages),
        }
        if doc_date is not None:
            fields["date"] = ExtractedField(self._ru_date(doc_date), 0.95, page=1)
        if rng.random() < 0.5:
            fields["bin"] = ExtractedField(f"{rng.randint(10**11, 10**12 - 1)}", 0.8, page=1)
        registered_utc = registered.astimezone(dt.timezone.utc)
        status = rng.choices(("registered", "needs review", "verified"), (25, 15, 60))[0]
        card = CardRow(
            id=f"{rng.getrandbits(128):032x}",
            registration_number=format_registration_number(journal, year, seq),
            journal=journal, year=year, seq=seq, registered_at=registered_utc, kind=kind, title=title,
            correspondent=correspondent, doc_number=number, doc_date=doc_date, fields=fields, page_count=n_pages,
            language="eng" if english else ("kaz+rus" if kazakh else "rus"), status=status,  # type: ignore[arg-type]
            source_sha256=f"{rng.getrandbits(256):064x}", batch_id=None, source_name=f"scan-{seq:06d}.pdf",
            created_at=registered_utc, updated_at=registered_utc,
        )
        return CardView(card=card, pages=pages, attachments=(), history=())

    @staticmethod
    def _noisy(rng: random.Random, line: str) -> str:
        words = line.split(" ")
        for j, w in enumerate(words):
            r = rng.random()
            if r < 0.06:
                spots = [k for k, ch in enumerate(w) if ch in _LATIN_LOOKALIKE]
                if spots:
                    k = rng.choice(spots)
                    words[j] = w[:k] + _LATIN_LOOKALIKE[w[k]] + w[k + 1 :]
            elif r < 0.07 and len(w) > 4:
                k = rng.randrange(1, len(w) - 1)
                words[j] = w[:k] + w[k + 1 :]
        return " ".join(words)


# ----------------------------------------------------------------------------------------------
# Queries
# ----------------------------------------------------------------------------------------------

CATEGORIES = ("word", "inflected", "phrase", "filter+text", "prefix", "range+word", "facets only")
COMMON = ("договор", "оплата", "поставка", "товар", "услуги", "акт", "счёт", "помещение", "задолженность",
          "срок", "ремонт", "закупка", "тенге", "payment", "invoice", "инвентаризация", "жалоба", "претензия")
INFLECTED = ("договорами", "счетов", "поставщиками", "арендатору", "услугами", "обращений", "приказом",
             "задолженности", "помещениях", "актами", "закупок", "товаров", "поставки", "платежей", "шарттар")
PHRASES = ('"счёт на оплату"', '"договор аренды"', '"акт выполненных работ"', '"оказания услуг"',
           '"вывозом мусора"', '"план закупок"', '"payment terms"', '"нежилого помещения"',
           '"ремонту кровли"', '"запасных частей"', '"погашении задолженности"')
PREFIXES = ("постав*", "догов*", "оплат*", "аренд*", "инвентар*", "закуп*", "счет*", "обращ*", "задолж*", "ремонт*")
FILTER_TEXT = ("kind:payment_invoice оплата", "kind:lease_contract помещение", "kind:letter задолженность",
               "kind:acceptance_act работы", "journal:ВХ договор", "journal:ОБР ремонт", "journal:ИСХ претензия",
               "journal:ВН закупка", "status:verified поставка", "kind:services_contract услуги")
RANGE_WORDS = ("договор", "оплата", "ремонт", "поставка", "счёт", "закупка", "акт")
FACET_ONLY = ("", "", "", "journal:ВХ", "kind:payment_invoice", "registered:2025", "journal:ОБР", "status:verified")


def query_mix(orgs: list[str], total: int, seed: int = SEED) -> list[tuple[str, str]]:
    """(category, query text): ``total`` queries, the categories equally often, shuffled."""
    rng = random.Random(seed)
    per = max(1, total // len(CATEGORIES))
    out: list[tuple[str, str]] = []
    for _ in range(per):
        out.append(("word", rng.choice(COMMON)))
        out.append(("inflected", rng.choice(INFLECTED)))
        out.append(("phrase", rng.choice(PHRASES)))
        if rng.random() < 0.3:
            org = orgs[min(int(rng.paretovariate(1.0)) - 1, 60)]
            out.append(("filter+text", f'correspondent:"{org}" ' + rng.choice(("счёт", "договор", "оплата", "акт"))))
        else:
            out.append(("filter+text", rng.choice(FILTER_TEXT)))
        out.append(("prefix", rng.choice(PREFIXES)))
        start = date(2024, 7, 1) + timedelta(days=rng.randint(0, 640))
        end = start + timedelta(days=rng.choice((7, 30, 90)))
        out.append(("range+word", f"registered:{start.isoformat()}..{end.isoformat()} {rng.choice(RANGE_WORDS)}"))
        out.append(("facets only", rng.choice(FACET_ONLY)))
    rng.shuffle(out)
    return out


# ----------------------------------------------------------------------------------------------
# Bare tantivy
# ----------------------------------------------------------------------------------------------


class BareTantivy:
    """The reference: one ``default``-tokenized text field, top 10 ids, nothing else."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        b = tantivy.SchemaBuilder()
        b.add_text_field("id", stored=True, tokenizer_name="raw")
        b.add_text_field("text", tokenizer_name="default")
        self.index = tantivy.Index(b.build(), path=str(path))
        self.writer: Any = None

    def add(self, docs: list[IndexDoc]) -> None:
        if self.writer is None:
            self.writer = self.index.writer(heap_size=64_000_000, num_threads=1)
        for d in docs:
            doc = tantivy.Document()
            doc.add_text("id", d.id)
            doc.add_text("text", str(d.stored["title"]) + "\n" + "\n".join(d.stored["pages"]))
            self.writer.add_document(doc)

    def commit(self) -> None:
        self.writer.commit()
        self.writer.wait_merging_threads()
        self.writer = None
        self.index.reload()

    def search(self, word: str, offset: int = 0) -> list[str]:
        searcher = self.index.searcher()
        result = searcher.search(self.index.parse_query(word, ["text"]), 10, offset=offset)
        return [searcher.doc(a)["id"][0] for _, a in result.hits]

    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.path.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------------------------
# Measuring
# ----------------------------------------------------------------------------------------------


def progress(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def ms(seconds: float) -> float:
    return seconds * 1000.0


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    t = time.perf_counter()
    out = call()
    return ms(time.perf_counter() - t), out


def es_settle(index: Any, limit: float = 900.0) -> float:
    """Wait until the node has no merges running on the index (it may still merge after a refresh)."""
    t = time.perf_counter()
    while time.perf_counter() - t < limit:
        stats = index.client.indices.stats(index=index.name, metric="merge")
        if stats["indices"][index.name]["total"]["merges"]["current"] == 0:
            break
        time.sleep(1.0)
    return time.perf_counter() - t


def run_one(n: int, args: argparse.Namespace, gen: Generator, work: Path) -> dict[str, Any]:
    res: dict[str, Any] = {"n": n, "index": {}, "queries": {}, "deep": {}, "parity": [], "notes": []}
    batches_dir = work / f"docs-{n}"
    batches_dir.mkdir()

    # 1-2. generation and analysis, batches pickled
    gen_s = ana_s = 0.0
    text_bytes = 0
    paths: list[Path] = []
    batch: list[CardView] = []
    t_gen = time.perf_counter()

    def flush() -> None:
        nonlocal ana_s, text_bytes
        t = time.perf_counter()
        docs = [card_document(v, TZ) for v in batch]
        ana_s += time.perf_counter() - t
        text_bytes += sum(len(p.text.encode()) + 0 for v in batch for p in v.pages) + sum(len(v.card.title.encode()) for v in batch)
        path = batches_dir / f"{len(paths):05d}.pickle"
        path.write_bytes(pickle.dumps(docs, protocol=pickle.HIGHEST_PROTOCOL))
        paths.append(path)
        batch.clear()

    for view in gen.cards(n):
        batch.append(view)
        if len(batch) == args.batch:
            flush()
            if len(paths) % 20 == 0:
                progress(f"N={n}: generated and analysed {len(paths) * args.batch} cards")
    if batch:
        flush()
    gen_s = time.perf_counter() - t_gen - ana_s
    res["generate_s"] = gen_s
    res["analysis_s"] = ana_s
    res["text_bytes"] = text_bytes
    progress(f"N={n}: generation {gen_s:.1f} s (not counted), analysis {ana_s:.1f} s ({n / ana_s:.0f} cards/s), "
             f"{text_bytes / n:.0f} B of text per card")

    def load(path: Path) -> list[IndexDoc]:
        return pickle.loads(path.read_bytes())

    def feed(name: str, write: Callable[[list[IndexDoc]], None], commit: Callable[[], None]) -> tuple[float, float]:
        gc.collect()
        upsert = 0.0
        for k, path in enumerate(paths):
            docs = load(path)
            t = time.perf_counter()
            write(docs)
            upsert += time.perf_counter() - t
            if (k + 1) % 20 == 0:
                progress(f"N={n}: {name}: {(k + 1) * args.batch} written")
        t = time.perf_counter()
        commit()
        return upsert, time.perf_counter() - t

    backends: dict[str, Any] = {}
    # 3. embedded
    progress(f"N={n}: indexing, embedded (tantivy via kartoteka)")
    emb = TantivyIndex(work / f"tantivy-{n}")
    up, com = feed("embedded", emb.upsert, emb.commit)
    res["index"]["embedded"] = {"upsert_s": up, "commit_s": com, "size": emb.size_bytes(), "count": emb.count()}
    backends["embedded"] = emb
    progress(f"N={n}: embedded: upsert {up:.1f} s + commit {com:.1f} s, {res['index']['embedded']['size'] / 2**20:.0f} MiB")

    # bare tantivy
    progress(f"N={n}: indexing, bare tantivy")
    bare = BareTantivy(work / f"bare-{n}")
    up, com = feed("bare", bare.add, bare.commit)
    res["index"]["bare"] = {"upsert_s": up, "commit_s": com, "size": bare.size_bytes(),
                            "count": int(bare.index.searcher().num_docs)}
    progress(f"N={n}: bare: add {up:.1f} s + commit {com:.1f} s, {res['index']['bare']['size'] / 2**20:.0f} MiB")

    es = None
    if args.elastic:
        from search.elastic_index import ElasticIndex

        progress(f"N={n}: indexing, Elasticsearch")
        es = ElasticIndex(f"{args.elastic.rstrip('/')}/kt-bench-{n}-{uuid.uuid4().hex[:8]}")
        # The mix repeats each distinct query several times and the warm-up runs every one of
        # them: Elasticsearch's request cache (on by default for size-0 searches, e.g. our count
        # and facets) would answer those from memory, and its query cache would keep the matches
        # of the repeated filters as bitsets. Both off (the second only on a closed index), so
        # every query is computed: in service both are on and only make repeated queries faster.
        es.client.indices.close(index=es.name)
        es.client.indices.put_settings(index=es.name, settings={"index.requests.cache.enable": False,
                                                                "index.queries.cache.enabled": False})
        es.client.indices.open(index=es.name, wait_for_active_shards="all")
        try:
            up, com = feed("elastic", es.upsert, es.commit)
            size = es.size_bytes()
            settle = es_settle(es)
            res["index"]["elastic"] = {"upsert_s": up, "commit_s": com, "size": size, "count": es.count(),
                                       "size_settled": es.size_bytes(), "settle_s": settle}
            backends["elastic"] = es
            progress(f"N={n}: elastic: bulk {up:.1f} s + refresh {com:.1f} s, {size / 2**20:.0f} MiB "
                     f"(merges settled after {settle:.0f} s)")
        except Exception:
            es.client.indices.delete(index=es.name, ignore_unavailable=True)
            raise
    shutil.rmtree(batches_dir)

    try:
        measure_queries(n, args, gen, backends, bare, res)
        breakdown(n, args, gen, emb, res)
        if "elastic" in backends:
            es_breakdown(n, args, gen, backends["elastic"], res)
    finally:
        emb.close()
        shutil.rmtree(emb.path, ignore_errors=True)
        shutil.rmtree(bare.path, ignore_errors=True)
        if es is not None:
            es.client.indices.delete(index=es.name, ignore_unavailable=True)
            es.close()
    return res


def measure_queries(n: int, args: argparse.Namespace, gen: Generator, backends: dict[str, SearchIndex],
                    bare: BareTantivy, res: dict[str, Any]) -> None:
    mix = query_mix(gen.orgs, args.queries)
    names = list(backends)
    # warm-up: every distinct query once on every backend, then 50 of the mix
    distinct = sorted(set(mix))
    progress(f"N={n}: warm-up ({len(distinct)} distinct queries)")
    for cat, q in distinct + mix[:50]:
        for name in names:
            run_search(backends[name], q, limit=10, facets=True)
        if cat in ("word", "inflected"):
            bare.search(q)
    progress(f"N={n}: {len(mix)} queries on {', '.join(names)} + bare tantivy (single words)")
    lat: dict[str, dict[str, list[float]]] = {name: defaultdict(list) for name in [*names, "bare"]}
    totals: dict[str, dict[str, int]] = defaultdict(dict)
    for i, (cat, q) in enumerate(mix):
        order = names[i % len(names):] + names[: i % len(names)]
        for name in order:
            t, resp = timed(lambda name=name: run_search(backends[name], q, limit=10, facets=True))
            lat[name][cat].append(t)
            totals[q][name] = resp.total
        if cat in ("word", "inflected"):
            t, _ids = timed(lambda: bare.search(q))
            lat["bare"][cat].append(t)
    res["queries"] = {name: dict(v) for name, v in lat.items()}
    # The same mix without facets (--facets is off by default on the command line): how much of
    # the time the facet aggregations over all matches take as N grows.
    progress(f"N={n}: the mix again without facets")
    plain: dict[str, list[float]] = defaultdict(list)
    for i, (_cat, q) in enumerate(mix):
        for name in names[i % len(names):] + names[: i % len(names)]:
            t, _resp = timed(lambda name=name: run_search(backends[name], q, limit=10, facets=False))
            plain[name].append(t)
    res["queries_nofacets"] = dict(plain)
    if len(names) == 2:
        res["parity"] = sorted({(q, t[names[0]], t[names[1]]) for q, t in totals.items() if t[names[0]] != t[names[1]]})
    res["query_totals"] = {q: t.get("embedded") for q, t in totals.items()}

    # deep pagination
    word = max(COMMON, key=lambda w: totals.get(w, {}).get("embedded", 0) or 0)
    hits = totals.get(word, {}).get("embedded", 0) or 0
    res["deep_word"] = (word, hits)
    cases = [("word, relevance", word), ("no words, newest first", "")]
    reps = 30
    progress(f"N={n}: deep pagination («{word}»: {hits} hits; empty query: {n})")
    for label, q in cases:
        for offset in (0, 5000):
            if offset and (hits if q else n) < offset + 10:
                res["deep"][(label, offset)] = None
                continue
            for name in names:
                run_search(backends[name], q, offset=offset, limit=10, facets=True)  # warm
            row: dict[str, list[float]] = defaultdict(list)
            for r in range(reps):
                for name in names[r % len(names):] + names[: r % len(names)]:
                    t, _x = timed(lambda name=name: run_search(backends[name], q, offset=offset, limit=10, facets=True))
                    row[name].append(t)
                if q:
                    t, _x = timed(lambda: bare.search(q, offset))
                    row["bare"].append(t)
            res["deep"][(label, offset)] = dict(row)


def breakdown(n: int, args: argparse.Namespace, gen: Generator, emb: TantivyIndex, res: dict[str, Any]) -> None:
    """Per category on the embedded index: parse, tantivy search + count, stored docs (fetch +
    JSON), facets (aggregation), highlights, as ``TantivyIndex.search`` and ``run_search`` do them."""
    progress(f"N={n}: where the embedded backend's time goes")
    mix = query_mix(gen.orgs, args.queries)
    stages: dict[str, dict[str, list[float]]] = {c: defaultdict(list) for c in CATEGORIES}
    aggs = {name: {"terms": {"field": fld, "size": 100}} for name, fld in FACETS.items()}
    for cat, q in mix:
        s = stages[cat]
        t0 = time.perf_counter()
        parsed = parse_query(q)
        t1 = time.perf_counter()
        emb.index.reload()
        searcher = emb.index.searcher()
        query = emb._query(parsed)
        t2 = time.perf_counter()
        if parsed.has_text:
            result = searcher.search(query, 10, count=True)
        else:
            result = searcher.search(query, 10, count=True, order_by_field="registered_at")
        t3 = time.perf_counter()
        stored = []
        for _, address in result.hits:
            doc = searcher.doc(address)
            stored.append(json.loads(bytes(doc["stored"][0]).decode("utf-8")))
        t4 = time.perf_counter()
        searcher.aggregate(query, aggs)
        t5 = time.perf_counter()
        highlight_all(parsed, stored)
        t6 = time.perf_counter()
        for key, a, b in (("parse", t0, t1), ("reload+build query", t1, t2), ("search+count", t2, t3),
                          ("stored docs", t3, t4), ("facets", t4, t5), ("highlights", t5, t6), ("sum", t0, t6)):
            s[key].append(ms(b - a))
    res["breakdown"] = {c: dict(v) for c, v in stages.items()}

    # cProfile of the category with the highest p95
    emb_lat = res["queries"]["embedded"]
    worst = max(CATEGORIES, key=lambda c: pct(emb_lat.get(c, []), 95))
    queries = [q for c, q in mix if c == worst]
    prof = cProfile.Profile()
    prof.enable()
    for q in queries:
        run_search(emb, q, limit=10, facets=True)
    prof.disable()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(14)
    lines = [ln for ln in buf.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    res["profile"] = (worst, len(queries), lines[start:])


def highlight_all(parsed: Any, stored: list[Any]) -> None:
    """Highlights of the hits as ``run_search`` makes them, whichever commit's API (``--code``)."""
    if hasattr(parsed, "marks"):
        marks = parsed.marks()
        for st in stored:
            highlights(st, marks)
    else:  # before issue 14: terms and prefixes
        terms, prefixes = parsed.positive_terms()
        for st in stored:
            highlights(st, terms, prefixes)  # type: ignore[call-arg]


def es_breakdown(n: int, args: argparse.Namespace, gen: Generator, es: Any, res: dict[str, Any]) -> None:
    """Per category on Elasticsearch: the node's own ``took``, the client's round trip
    (``ElasticIndex.search``: HTTP + JSON decoding), highlights."""
    progress(f"N={n}: where Elasticsearch's time goes")
    mix = query_mix(gen.orgs, args.queries)
    stages: dict[str, dict[str, list[float]]] = {c: defaultdict(list) for c in CATEGORIES}
    tooks: list[float] = []
    originals = {"search": es.client.search, "msearch": es.client.msearch}

    def recording(call: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(**kwargs: Any) -> Any:
            found = call(**kwargs)
            tooks.append(float(found["took"]))
            return found

        return wrapper

    for attr, call in originals.items():
        setattr(es.client, attr, recording(call))
    try:
        for cat, q in mix:
            s = stages[cat]
            parsed = parse_query(q)
            t0 = time.perf_counter()
            raw = es.search(SearchRequest(parsed, "relevance", 0, 10, True))
            t1 = time.perf_counter()
            highlight_all(parsed, [h.stored for h in raw.hits])
            t2 = time.perf_counter()
            s["node took"].append(tooks[-1])
            s["client round trip"].append(ms(t1 - t0))
            s["HTTP + JSON"].append(ms(t1 - t0) - tooks[-1])
            s["highlights"].append(ms(t2 - t1))
            s["sum"].append(ms(t2 - t0))
    finally:
        for attr, call in originals.items():
            setattr(es.client, attr, call)
    res["es_breakdown"] = {c: dict(v) for c, v in stages.items()}


# ----------------------------------------------------------------------------------------------
# Report
# ----------------------------------------------------------------------------------------------


def machine(args: argparse.Namespace) -> list[str]:
    cpu = ""
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    nproc = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    es = "not run (no --elastic)"
    if args.elastic:
        try:
            from elasticsearch import Elasticsearch

            client = Elasticsearch(args.elastic.rstrip("/").rsplit("/", 1)[0] if args.elastic.count("/") > 2 else args.elastic)
            info = client.nodes.info(metric="jvm")["nodes"]
            node = next(iter(info.values()))
            heap = node["jvm"]["mem"]["heap_max_in_bytes"] / 2**30
            es = f"{node['version']} (heap {heap:.1f} GiB, JVM {node['jvm']['version']}), Python client {importlib.metadata.version('elasticsearch')}"
            client.close()
        except Exception as e:  # noqa: BLE001
            es = f"unknown ({e})"
    return [
        f"* date: {dt.datetime.now().astimezone().isoformat(timespec='seconds')}; code: {GIT_STATE}",
        f"* machine: `nproc` = {nproc}, {cpu}, {mem:.0f} GiB RAM, {platform.platform()}; load average at the end "
        + ", ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"* Python {platform.python_version()}, tantivy-py {importlib.metadata.version('tantivy')}",
        f"* Elasticsearch: {es}",
    ]


def f1(x: float) -> str:
    return "–" if x != x else (f"{x:.1f}" if x < 100 else f"{x:.0f}")


def report(results: list[dict[str, Any]], args: argparse.Namespace, head: list[str], wall: float) -> list[str]:
    has_es = bool(args.elastic)
    out = ["# Search benchmark", "", "```sh", " ".join(["  .venv/bin/python bench/search_bench.py", *sys.argv[1:]]).strip(), "```", ""]
    out += head
    out += [f"* wall time of the run: {wall / 60:.1f} min; seed {SEED}; batches of {args.batch}; "
            f"{args.queries} queries per backend (plus a warm-up)", ""]
    if not has_es:
        out += ["**Elasticsearch was not measured in this run (no `--elastic`): embedded and bare tantivy only.**", ""]
    out += ["Latencies in milliseconds, wall clock in this process (Elasticsearch's include HTTP and the "
            "client's JSON decoding). Every kartoteka query is `run_search(index, q, limit=10, facets=True)`: "
            "parsing, the backend's search with total count, 10 stored cards, facets (kind, journal, year, "
            "correspondent) and highlights. On Elasticsearch a query with facets is two searches in one "
            "`_msearch`: the page (not counting) and the count + facets (`size: 0`, filter context); "
            "the request and query caches are off on the bench index, so repeated queries are computed again. Bare tantivy: `index.parse_query(word)`, top 10 ids, no count "
            "suppression, no highlights, facets or stemming, no reload per query.", ""]

    # indexing
    out += ["## Indexing", "",
            "| N | backend | analysis s | write s (upsert + commit) | total s | docs/s (total) | docs/s (write only) | size MiB | bytes/card | size / text |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        n = r["n"]
        for name in ("embedded", "elastic", "bare"):
            x = r["index"].get(name)
            if not x:
                continue
            write = x["upsert_s"] + x["commit_s"]
            ana = 0.0 if name == "bare" else r["analysis_s"]
            total = ana + write
            label = {"embedded": "kartoteka embedded (tantivy)", "elastic": "kartoteka Elasticsearch", "bare": "bare tantivy"}[name]
            out.append(f"| {n:,} | {label} | {ana:.1f} | {x['upsert_s']:.1f} + {x['commit_s']:.1f} | {total:.1f} | "
                       f"{n / total:,.0f} | {n / write:,.0f} | {x['size'] / 2**20:,.1f} | {x['size'] / n:,.0f} | "
                       f"{x['size'] / r['text_bytes']:.2f} |")
    out += [""]
    for r in results:
        es = r["index"].get("elastic")
        extra = ""
        if es:
            extra = (f"; Elasticsearch's store after its background merges settled ({es['settle_s']:.0f} s): "
                     f"{es['size_settled'] / 2**20:,.1f} MiB")
        counts = ", ".join(f"{k} {v['count']:,}" for k, v in r["index"].items())
        out.append(f"* N={r['n']:,}: {r['text_bytes'] / r['n']:,.0f} B of text per card ({r['text_bytes'] / 2**20:,.0f} MiB in all); "
                   f"generation {r['generate_s']:.0f} s (not counted); analysis {r['n'] / r['analysis_s']:,.0f} cards/s; "
                   f"documents counted: {counts}{extra}.")
    out += [""]

    # overall latency
    out += ["## Query latency, all categories", "",
            "| N | backend | queries | p50 | p95 | p99 | mean | max | p50 / embedded | p95 / embedded |",
            "|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        base = [x for v in r["queries"]["embedded"].values() for x in v]
        for name in ("embedded", "elastic"):
            lat = r["queries"].get(name)
            if not lat:
                continue
            allv = [x for v in lat.values() for x in v]
            out.append(f"| {r['n']:,} | {name} | {len(allv)} | {f1(pct(allv, 50))} | {f1(pct(allv, 95))} | {f1(pct(allv, 99))} | "
                       f"{f1(statistics.fmean(allv))} | {f1(max(allv))} | {pct(allv, 50) / pct(base, 50):.2f}× | "
                       f"{pct(allv, 95) / pct(base, 95):.2f}× |")
    out += ["", "The same mix without facets (highlights and the total count still on):", "",
            "| N | backend | queries | p50 | p95 | p99 |", "|---|---|---|---|---|---|"]
    for r in results:
        for name, allv in (r.get("queries_nofacets") or {}).items():
            out.append(f"| {r['n']:,} | {name} | {len(allv)} | {f1(pct(allv, 50))} | {f1(pct(allv, 95))} | {f1(pct(allv, 99))} |")
    out += [""]

    # single-word subset vs bare
    out += ["## Single words against bare tantivy", "",
            "The categories *word* and *inflected* (the same queries on every backend).", "",
            "| N | backend | queries | p50 | p95 | p99 | p50 / bare | p95 / bare |", "|---|---|---|---|---|---|---|---|"]
    for r in results:
        b = [x for c in ("word", "inflected") for x in r["queries"]["bare"].get(c, [])]
        for name in ("bare", "embedded", "elastic"):
            lat = r["queries"].get(name)
            if not lat:
                continue
            v = [x for c in ("word", "inflected") for x in lat.get(c, [])]
            out.append(f"| {r['n']:,} | {name} | {len(v)} | {f1(pct(v, 50))} | {f1(pct(v, 95))} | {f1(pct(v, 99))} | "
                       f"{pct(v, 50) / pct(b, 50):.1f}× | {pct(v, 95) / pct(b, 95):.1f}× |")
    out += [""]

    # per category
    out += ["## Query latency per category", ""]
    cols = ["embedded p50", "embedded p95"] + (["ES p50", "ES p95", "ES / embedded p95"] if has_es else []) + ["bare p50", "bare p95"]
    out += ["| N | category | queries | " + " | ".join(cols) + " | hits (median) |", "|---|---|---|" + "---|" * len(cols) + "---|"]
    for r in results:
        totals = r["query_totals"]
        mix = query_mix_cache(r)
        for cat in CATEGORIES:
            e = r["queries"]["embedded"].get(cat, [])
            cells = [f1(pct(e, 50)), f1(pct(e, 95))]
            if has_es:
                s = r["queries"].get("elastic", {}).get(cat, [])
                cells += [f1(pct(s, 50)), f1(pct(s, 95)), f"{pct(s, 95) / pct(e, 95):.2f}×" if s else "–"]
            b = r["queries"]["bare"].get(cat, [])
            cells += [f1(pct(b, 50)), f1(pct(b, 95))] if b else ["–", "–"]
            hits = [totals[q] for c, q in mix if c == cat and totals.get(q) is not None]
            out.append(f"| {r['n']:,} | {cat} | {len(e)} | " + " | ".join(cells) + f" | {int(statistics.median(hits)) if hits else '–':,} |")
    out += [""]

    # deep pagination
    out += ["## Deep pagination", "", "Median (p95) of 30 runs, limit 10, facets on.", "",
            "| N | query | offset | embedded | " + ("Elasticsearch | " if has_es else "") + "bare tantivy |",
            "|---|---|---|---|" + ("---|" if has_es else "") + "---|"]
    for r in results:
        word, hits = r["deep_word"]
        for (label, offset), row in r["deep"].items():
            qlabel = f"«{word}» ({hits:,} hits), relevance" if label.startswith("word") else "empty query, newest first"
            if row is None:
                out.append(f"| {r['n']:,} | {qlabel} | {offset} | too few hits | " + ("| " if has_es else "") + "|")
                continue
            cells = []
            for name in ["embedded", *(["elastic"] if has_es else []), "bare"]:
                v = row.get(name)
                cells.append(f"{f1(pct(v, 50))} ({f1(pct(v, 95))})" if v else "–")
            out.append(f"| {r['n']:,} | {qlabel} | {offset:,} | " + " | ".join(cells) + " |")
    out += [""]

    # breakdown
    out += ["## Where the embedded backend's time goes", "",
            "Each query of the mix again, in the stages `TantivyIndex.search` and `run_search` go through "
            "(medians, ms; *stored docs* = `searcher.doc` + JSON decoding of the 10 hits; *facets* = the "
            "terms aggregation over all matches; *highlights* = `search.highlight.highlights` on the 10 hits).", ""]
    keys = ("parse", "reload+build query", "search+count", "stored docs", "facets", "highlights", "sum")
    for r in results:
        out += [f"N = {r['n']:,}:", "", "| category | " + " | ".join(keys) + " | sum p95 |", "|---|" + "---|" * (len(keys) + 1)]
        for cat in CATEGORIES:
            s = r["breakdown"][cat]
            out.append(f"| {cat} | " + " | ".join(f1(pct(s[k], 50)) for k in keys) + f" | {f1(pct(s['sum'], 95))} |")
        out += [""]
        worst, count, lines = r["profile"]
        out += [f"cProfile of run_search over the {count} *{worst}* queries (the category with the highest p95), "
                "top functions by own time:", "", "```", *lines, "```", ""]
    if has_es:
        out += ["## Where Elasticsearch's time goes", "",
                "Each query of the mix again through `ElasticIndex.search` (medians, ms): *node took* = the "
                "node's own `took`; *HTTP + JSON* = the rest of the client's round trip (transport, "
                "serialising the request, decoding the response with 10 stored cards and the aggregations); "
                "*highlights* as above.", ""]
        ekeys = ("node took", "HTTP + JSON", "client round trip", "highlights", "sum")
        for r in results:
            if "es_breakdown" not in r:
                continue
            out += [f"N = {r['n']:,}:", "", "| category | " + " | ".join(ekeys) + " | sum p95 |", "|---|" + "---|" * (len(ekeys) + 1)]
            for cat in CATEGORIES:
                s = r["es_breakdown"][cat]
                out.append(f"| {cat} | " + " | ".join(f1(pct(s[k], 50)) for k in ekeys) + f" | {f1(pct(s['sum'], 95))} |")
            out += [""]

    # parity
    out += ["## Parity of the two backends", ""]
    if not has_es:
        out += ["Not checked (no Elasticsearch).", ""]
    for r in results if has_es else []:
        if r["parity"]:
            out += [f"N={r['n']:,}: {len(r['parity'])} queries with different totals (query, embedded, Elasticsearch):", ""]
            out += [f"* `{q}`: {a:,} vs {b:,}" for q, a, b in r["parity"][:15]]
        else:
            out += [f"N={r['n']:,}: every query of the mix found the same number of cards on both backends."]
        out += [""]

    # targets
    out += ["## Targets", "", "| target | measured | result |", "|---|---|---|"]
    for r in results:
        for n_t, (name, limit) in TARGETS.items():
            if r["n"] != n_t:
                continue
            lat = r["queries"].get(name)
            if not lat:
                out.append(f"| {name} p95 ≤ {limit:.0f} ms at {n_t:,} | not run | – |")
                continue
            p95 = pct([x for v in lat.values() for x in v], 95)
            out.append(f"| {name} p95 ≤ {limit:.0f} ms at {n_t:,} (highlights + facets) | {p95:.1f} ms | "
                       f"{'PASS' if p95 <= limit else 'FAIL'} |")
    if not any(r["n"] in TARGETS for r in results):
        out.append("| (no N of a target was run) | | |")
    out += [""]
    return out


_MIX: dict[int, list[tuple[str, str]]] = {}
GIT_STATE = "?"


def git_state() -> str:
    def git(*a: str) -> str:
        return subprocess.run(["git", "-C", str(CODE), *a], capture_output=True, text=True).stdout.strip()

    head = git("rev-parse", "--short", "HEAD")
    dirty = git("status", "--porcelain", "--", "search", "archive")
    return f"commit {head}" + (" (search/ or archive/ with uncommitted changes)" if dirty else "") + \
        f", load average at the start {', '.join(f'{x:.2f}' for x in os.getloadavg())}"


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The figures two commits are compared by: indexing throughput and query latency."""
    def load() -> list[float]:
        return [float(x) for x in os.getloadavg()]

    out: dict[str, Any] = {"code": GIT_STATE.split(",")[0], "load_end": load(), "runs": []}
    for r in results:
        row: dict[str, Any] = {"n": r["n"], "analysis_s": r["analysis_s"], "backends": {}}
        for name, idx in r["index"].items():
            if name == "bare":
                continue
            total = r["analysis_s"] + idx["upsert_s"] + idx["commit_s"]
            lat = [t for ts in r["queries"].get(name, {}).values() for t in ts]
            row["backends"][name] = {
                "docs_per_s": r["n"] / total, "size": idx["size"],
                "p50": pct(lat, 50), "p95": pct(lat, 95), "p99": pct(lat, 99),
                "p95_nofacets": pct(r.get("queries_nofacets", {}).get(name, []), 95),
            }
        row["parity_mismatches"] = len(r["parity"])
        out["runs"].append(row)
    return out


def compare(runs: list[dict[str, Any]]) -> list[str]:
    """Runs of two (or more) commits side by side, the median per commit, the change against the
    first commit named."""
    commits = list(dict.fromkeys(r["code"] for r in runs))
    out = ["# Search benchmark: commits compared", "", "```sh", " ".join(["  .venv/bin/python bench/search_bench.py", *sys.argv[1:]]), "```", ""]
    out += ["| run | code | N | backend | docs/s | p50 ms | p95 ms | p99 ms | p95 no facets | size MiB | load at the end |",
            "|---|---|---|---|---|---|---|---|---|---|---|"]
    cells: dict[tuple[str, int, str, str], list[float]] = defaultdict(list)
    for i, run in enumerate(runs, 1):
        for row in run["runs"]:
            for name, b in row["backends"].items():
                out.append(f"| {i} | {run['code']} | {row['n']:,} | {name} | {b['docs_per_s']:,.0f} | {f1(b['p50'])} | "
                           f"{f1(b['p95'])} | {f1(b['p99'])} | {f1(b['p95_nofacets'])} | {b['size'] / 2**20:.1f} | "
                           + ", ".join(f"{x:.2f}" for x in run["load_end"]) + " |")
                for key in ("docs_per_s", "p50", "p95", "p99", "p95_nofacets", "size"):
                    cells[(run["code"], row["n"], name, key)].append(b[key])
    out += ["", "Median per commit (change against " + commits[0] + "):", "",
            "| N | backend | code | docs/s | p50 ms | p95 ms | p99 ms | p95 no facets | size MiB |", "|---|---|---|---|---|---|---|---|---|"]
    keys = sorted({(n, name) for (_c, n, name, _k) in cells})
    for n, name in keys:
        for code in commits:
            med = {k: statistics.median(cells[(code, n, name, k)]) for k in ("docs_per_s", "p50", "p95", "p99", "p95_nofacets", "size")
                   if cells.get((code, n, name, k))}
            if not med:
                continue
            base = {k: statistics.median(cells[(commits[0], n, name, k)]) for k in med}

            def show(k: str, fmt: str, med: dict[str, float] = med, base: dict[str, float] = base) -> str:
                text = format(med[k] / (2**20 if k == "size" else 1), fmt)
                return text if code == commits[0] else f"{text} ({(med[k] / base[k] - 1) * 100:+.1f} %)"

            out.append(f"| {n:,} | {name} | {code} | {show('docs_per_s', ',.0f')} | {show('p50', '.1f')} | {show('p95', '.1f')} | "
                       f"{show('p99', '.1f')} | {show('p95_nofacets', '.1f')} | {show('size', '.1f')} |")
    return out


def query_mix_cache(r: dict[str, Any]) -> list[tuple[str, str]]:
    return _MIX[r["n"]]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, nargs="+", default=[10_000, 100_000], help="collection sizes (default 10000 100000)")
    ap.add_argument("--elastic", help="Elasticsearch node URL, e.g. http://127.0.0.1:9260 (without it: embedded + bare only)")
    ap.add_argument("--queries", type=int, default=350, help="queries per backend in the measured mix (default 350)")
    ap.add_argument("--batch", type=int, default=1000, help="cards per upsert batch (default 1000)")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--workdir", type=Path, default=None, help="where the temp indexes go (default: system temp)")
    ap.add_argument("--code", type=Path, default=None, help="measure the kartoteka code in this directory "
                    "(a git worktree of another commit) instead of this checkout")
    ap.add_argument("--json", type=Path, default=None, help="also write the run's main figures here (for --compare)")
    ap.add_argument("--compare", type=Path, nargs="+", default=None,
                    help="no measuring: tabulate the --json files of earlier runs by commit into --out")
    args = ap.parse_args()
    if args.compare:
        publish(compare([json.loads(p.read_text()) for p in args.compare]), args.out)
        return 0
    if args.elastic:
        args.elastic = args.elastic.rstrip("/")
        if args.elastic.count("/") > 2:  # a URL with an index name: keep the node only
            args.elastic = args.elastic.rsplit("/", 1)[0]
    global GIT_STATE
    GIT_STATE = git_state()
    t0 = time.perf_counter()
    gen = Generator()
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kt-search-bench-", dir=args.workdir) as tmp:
        for n in args.n:
            _MIX[n] = query_mix(gen.orgs, args.queries)
            results.append(run_one(n, args, gen, Path(tmp)))
            publish(report(results, args, machine(args), time.perf_counter() - t0), args.out)
            if args.json:
                args.json.write_text(json.dumps(summary(results), indent=1), encoding="utf-8")
    progress(f"done in {(time.perf_counter() - t0) / 60:.1f} min; report in {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
