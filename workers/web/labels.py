"""Names the UI shows for the archive's codes: card statuses, outcomes, fields, review reasons,
attachment roles. Marked with ``N_`` for the catalogs and translated where they are shown; a
code without a label is shown as it is."""

from __future__ import annotations

from workers.web.i18n import N_

__all__ = [
    "ACCOUNT_ROLES",
    "ACTIONS",
    "ATTACHMENT_ROLES",
    "FIELDS",
    "KINDS",
    "OUTCOMES",
    "REASONS",
    "SEPARATIONS",
    "STAGES",
    "STATUSES",
    "STATUS_TITLES",
    "TOKEN_SCOPES",
]

STATUSES = {
    "registered": N_("registered"),
    "needs review": N_("needs review"),
    "verified": N_("verified"),
}

OUTCOMES = {
    "pending": N_("pending"),
    "archived": N_("archived"),
    "duplicate": N_("duplicate"),
    "quarantined": N_("quarantined"),
}

FIELDS = {
    "kind": N_("Kind"),
    "title": N_("Title"),
    "date": N_("Date"),
    "number": N_("Number"),
    "amount": N_("Amount"),
    "currency": N_("Currency"),
    "correspondent": N_("Correspondent"),
    "bin": N_("BIN"),
    "iin": N_("IIN"),
    "inn": N_("INN"),
    "kpp": N_("KPP"),
    "email": N_("E-mail"),
    "phone": N_("Phone"),
    "registration_number": N_("Registration number"),
    "doc_number": N_("Document number"),
    "doc_date": N_("Document date"),
    "status": N_("Status"),
    "fields": N_("Fields"),
    "journal": N_("Journal"),
    "source_sha256": N_("Original's checksum"),
    "review_reasons": N_("Review reasons"),
    "page": N_("Page text"),
    # line items (classify/lineitems.py): the item table's columns and the fields summing it up
    "name": N_("Item"),
    "quantity": N_("Quantity"),
    "unit": N_("Unit"),
    "price": N_("Price"),
    "vat_rate": N_("VAT rate"),
    "vat": N_("VAT"),
    "total": N_("Total with VAT"),
    "items.count": N_("Line items"),
    "items.sum": N_("Sum of the line items"),
}

#: Where a file was quarantined (an error's ``stage``); others are shown as recorded.
STAGES = {
    "ingest": N_("intake"),
    "upload": N_("upload"),
    "ocr": N_("recognition"),
    "classify": N_("classification"),
    "archive": N_("registration"),
    "process": N_("processing"),
    "retry": N_("retry"),
}

REASONS = {
    "kind_unrecognised": N_("Kind not recognised"),
    "kind_uncertain": N_("Kind uncertain"),
    "field_missing": N_("Required field missing"),
    "field_uncertain": N_("Field uncertain"),
    "correspondent_proposed": N_("New correspondent proposed"),
    "pages_failed": N_("Pages not recognised"),
    "line_items_total": N_("Line items do not add up to the total"),
}

ATTACHMENT_ROLES = {
    "original": N_("Original"),
    "pdf": N_("Searchable PDF"),
    "text": N_("Page text"),
    "hocr": N_("Page hOCR (words and boxes)"),
}

ACTIONS = {
    "created": N_("registered"),
    "updated": N_("changed"),
    "deleted": N_("deleted"),
}

SEPARATIONS = {
    "file": N_("one document per file"),
    "blank": N_("documents cut at blank sheets"),
    "barcode": N_("documents cut at barcode sheets"),
}

#: An error page's heading by HTTP status.
STATUS_TITLES = {
    400: N_("The request cannot be read"),
    403: N_("Access denied"),
    404: N_("Not found"),
    409: N_("Changed meanwhile"),
    412: N_("Changed meanwhile"),
    413: N_("Too large"),
    422: N_("Cannot be done"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong"),
    503: N_("Temporarily unavailable"),
}

ACCOUNT_ROLES = {
    "clerk": N_("clerk"),
    "operator": N_("operator"),
    "administrator": N_("administrator"),
}

#: An API token's scope (``app.principals.SCOPE_PERMISSIONS``).
TOKEN_SCOPES = {
    "read": N_("reading"),
    "write": N_("reading, review and uploads"),
    "admin": N_("everything, administration included"),
}

#: Kinds a card has without being a kind of the kinds file: a hot folder's default kind, kept
#: when classification recognises none. A kind the kinds file configures is named by its title.
KINDS = {
    "incoming": N_("Incoming document"),
}
