"""OrganisationDirectory: correspondents proposed by classification and accepted by people."""

from __future__ import annotations

from archive.catalog import Catalog


def test_a_proposal_is_made_once_per_key_and_accepting_keeps_its_row(catalog: Catalog) -> None:
    proposed = catalog.propose_organisation("ТОО «Ромашка»", "ромашка", "123456789012", card_id="c1")
    again = catalog.propose_organisation("Ромашка ТОО", "ромашка")

    accepted = catalog.save_organisation("ТОО «Ромашка»", "ромашка")

    assert again == proposed and proposed.status == "proposed"
    assert (accepted.id, accepted.status, accepted.tax_id) == (proposed.id, "accepted", "123456789012")
    assert catalog.get_organisation("ромашка") == accepted == catalog.get_organisation(proposed.id)
    assert catalog.organisations(status="proposed") == []


def test_organisations_list_by_name_and_delete_by_id_or_key(catalog: Catalog) -> None:
    b = catalog.save_organisation("Бета", "бета")
    a = catalog.propose_organisation("Альфа", "альфа")

    assert [o.name for o in catalog.organisations()] == ["Альфа", "Бета"]
    assert catalog.organisations(status="accepted") == [b]
    assert catalog.delete_organisation("альфа") is True
    assert catalog.delete_organisation(a.id) is False
    assert catalog.get_organisation("альфа") is None
