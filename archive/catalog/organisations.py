"""The correspondents directory: organisations accepted by people or proposed by
classification (``OrganisationDirectory``).

An entry's ``key`` (``classify.organisations.org_key``) is unique, so the same organisation is
never proposed twice; accepting a proposal keeps its row.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol, runtime_checkable

from sqlalchemy import or_, select, update
from sqlalchemy.engine import RowMapping

from archive.catalog.base import CatalogBase
from archive.model import OrganisationRow, OrganisationStatus
from archive.rows import insert_ignore, new_id
from archive.tables import organisations

__all__ = ["OrganisationDirectory", "SqlOrganisations"]

log = logging.getLogger(__name__)


@runtime_checkable
class OrganisationDirectory(Protocol):
    """Known correspondents, accepted or proposed."""

    def organisations(self, status: OrganisationStatus | None = None) -> list[OrganisationRow]: ...

    def get_organisation(self, id_or_key: str) -> OrganisationRow | None: ...

    def propose_organisation(
        self, name: str, key: str, tax_id: str | None = None, card_id: str | None = None
    ) -> OrganisationRow: ...

    def save_organisation(self, name: str, key: str, tax_id: str | None = None) -> OrganisationRow: ...

    def delete_organisation(self, id_or_key: str) -> bool: ...


class SqlOrganisations(CatalogBase):
    """``OrganisationDirectory`` on the catalog database."""

    def organisations(self, status: OrganisationStatus | None = None) -> list[OrganisationRow]:
        """Directory entries by name, optionally only accepted or only proposed ones."""
        query = select(organisations).order_by(organisations.c.name, organisations.c.id)
        if status is not None:
            query = query.where(organisations.c.status == status)
        with self._read() as conn:
            return [_organisation_row(m) for m in conn.execute(query).mappings()]

    def get_organisation(self, id_or_key: str) -> OrganisationRow | None:
        with self._read() as conn:
            found = conn.execute(
                select(organisations).where(or_(organisations.c.id == id_or_key, organisations.c.key == id_or_key))
            ).mappings().one_or_none()
        return None if found is None else _organisation_row(found)

    def propose_organisation(
        self, name: str, key: str, tax_id: str | None = None, card_id: str | None = None
    ) -> OrganisationRow:
        """Add a proposed entry unless one with this key exists (proposed or accepted); return it."""
        now = self._clock()
        with self._write() as conn:
            inserted = insert_ignore(
                conn,
                organisations,
                {"id": new_id(), "name": name, "key": key, "tax_id": tax_id, "status": "proposed",
                 "card_id": card_id, "created_at": now, "updated_at": now},
            )  # fmt: skip
            row = conn.execute(select(organisations).where(organisations.c.key == key)).mappings().one()
        if inserted:
            log.info("proposed organisation %s (%s)", name, key)
        return _organisation_row(row)

    def save_organisation(self, name: str, key: str, tax_id: str | None = None) -> OrganisationRow:
        """Add an accepted entry, or accept (and rename) the one with this key."""
        now = self._clock()
        with self._write() as conn:
            existing = conn.execute(select(organisations.c.id).where(organisations.c.key == key)).scalar_one_or_none()
            if existing is None:
                conn.execute(
                    organisations.insert().values(
                        id=new_id(), name=name, key=key, tax_id=tax_id, status="accepted", card_id=None,
                        created_at=now, updated_at=now,
                    )
                )  # fmt: skip
            else:
                values: dict[str, Any] = {"name": name, "status": "accepted", "updated_at": now}
                if tax_id:
                    values["tax_id"] = tax_id
                conn.execute(update(organisations).where(organisations.c.id == existing).values(**values))
            row = conn.execute(select(organisations).where(organisations.c.key == key)).mappings().one()
        return _organisation_row(row)

    def delete_organisation(self, id_or_key: str) -> bool:
        """Remove a directory entry (a rejected proposal); False if there was none."""
        with self._write() as conn:
            result = conn.execute(
                organisations.delete().where(or_(organisations.c.id == id_or_key, organisations.c.key == id_or_key))
            )
            return bool(result.rowcount)


def _organisation_row(m: RowMapping) -> OrganisationRow:
    return OrganisationRow(
        id=m["id"], name=m["name"], key=m["key"], tax_id=m["tax_id"], status=m["status"], card_id=m["card_id"],
        created_at=m["created_at"], updated_at=m["updated_at"],
    )  # fmt: skip
