"""A small catalog with known content for the search tests (both backends index the same)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone

from archive.catalog import Catalog
from archive.model import CardDraft, ExtractedField, PageDraft
from tests.archive.helpers import TickingClock, sha


@dataclass(frozen=True)
class Doc:
    key: str
    kind: str
    journal: str
    title: str
    pages: tuple[str, ...]
    correspondent: str | None = None
    doc_number: str | None = None
    doc_date: date | None = None
    registered: datetime = datetime(2026, 2, 1, 9, 0, tzinfo=timezone.utc)


DOCS = (
    Doc("lease", "lease_contract", "ВХ", "Договор аренды нежилого помещения",
        ("ДОГОВОР АРЕНДЫ № 12/А\nг. Астана 12 марта 2024 г.\nАрендодатель ТОО «Альфа-Строй» передаёт помещение.",
         "Арендная плата 450 000 тенге в месяц. Стороны подписали договор."),
        "ТОО «Альфа-Строй»", "12/А", date(2024, 3, 12), datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)),
    Doc("sale", "sales_contract", "ВХ", "Договор купли-продажи оборудования",
        ("Договор купли-продажи. Продавец обязуется передать оборудование покупателю.",
         "По договорам поставки ранее заключённым претензий нет."),
        "АО «Бета Трейд»", "77-КП", date(2024, 5, 2), datetime(2026, 2, 3, 11, 0, tzinfo=timezone.utc)),
    Doc("invoice", "payment_invoice", "ВХ", "Счёт на оплату № 301",
        ("СЧЁТ НА ОПЛАТУ № 301 от 02.04.2026\nПоставщик ТОО «Альфа-Строй»\nИтого к оплате 125 000,00 тенге",),
        "ТОО «Альфа-Строй»", "301", date(2026, 4, 2), datetime(2026, 4, 3, 8, 0, tzinfo=timezone.utc)),
    Doc("invoices", "payment_invoice", "ИСХ", "Реестр счетов",
        ("Реестр счетов за март: счета № 11, 12 и 13 оплачены.",),
        None, "Р-3", date(2026, 3, 31), datetime(2026, 4, 1, 8, 0, tzinfo=timezone.utc)),
    Doc("memo", "service_memo", "ВН", "Служебная записка",
        ("СЛУЖЕБНАЯ ЗАПИСКА\nПрошу выделить компьютер для нового сотрудника отдела закупок.\nНачальник отдела Новиков H.K.",),
        None, "45/12-п", date(2024, 3, 12), datetime(2026, 3, 10, 9, 0, tzinfo=timezone.utc)),
    Doc("order_en", "letter", "ВХ", "Purchase order from Gamma LLP",
        ("PURCHASE ORDER No. 4471\nWe order twelve laptops and three printers.\nPlease send the invoices to accounting.",),
        "Gamma LLP", "4471", date(2026, 2, 20), datetime(2026, 2, 21, 12, 0, tzinfo=timezone.utc)),
    Doc("kaz", "citizen_appeal", "ОБР", "Азаматтың өтініші",
        ("Құрметті әкім! Менің өтінішімді қарауыңызды сұраймын. Құжаттардың көшірмелері қоса беріледі.",
         "Шарттың талаптары орындалмады. Өтініштер тізімі қоса беріледі."),
        None, None, None, datetime(2026, 3, 20, 9, 0, tzinfo=timezone.utc)),
    Doc("draft", "letter", "ИСХ", "Черновик письма о договоре",
        ("Черновик. Письмо о продлении договора аренды склада.",),
        "ТОО «Альфа-Строй»", "ч-1", None, datetime(2026, 5, 5, 9, 0, tzinfo=timezone.utc)),
    Doc("act", "acceptance_act", "ВХ", "Акт приёма-передачи",
        ("АКТ ПРИЁМА-ПЕРЕДАЧИ оборудования по договору купли-продажи № 77-КП.",),
        "АО «Бета Трейд»", "А-5", date(2024, 6, 1), datetime(2025, 12, 30, 9, 0, tzinfo=timezone.utc)),
)


def build_catalog(catalog: Catalog, clock: TickingClock) -> dict[str, str]:
    """Register every DOC (each at its registration time); returns key → card id."""
    batch = catalog.open_batch("/srv/inbox", "search-corpus")
    ids: dict[str, str] = {}
    for doc in DOCS:
        clock.set(doc.registered)
        row = catalog.record_input(batch, f"/srv/inbox/{doc.key}.pdf", f"{doc.key}.pdf", sha(doc.key), 10)
        draft = CardDraft(
            journal=doc.journal,
            kind=doc.kind,
            source_sha256=sha(doc.key),
            title=doc.title,
            correspondent=doc.correspondent,
            doc_number=doc.doc_number,
            doc_date=doc.doc_date,
            fields={"email": ExtractedField(f"{doc.key}@example.kz", 0.9, 1)},
            pages=[PageDraft(n, text, 0.9) for n, text in enumerate(doc.pages, 1)],
        )
        ids[doc.key] = catalog.register_card(row.id, draft).id
    return ids
