"""A partner with two clients acts on one of them: the other is never touched, through the API or the panel.

With a single client per partner, a lookup that forgot ``Client.id == client_id`` would still find the
right row; these tests give the partner (and an accountant, and a client user) two clients, act on the
second one, and check the first is left exactly as it was, with audit rows naming the right client.
"""

import html
import re

import pytest
from sqlalchemy import select

from contracts.models import ContractEvent
from core.audit import AuditEvent
from core.permissions import Role
from partner.models import ContractStatus
from tests.factories import ClientFactory, UserFactory


@pytest.fixture
def first(partner, plan):
    return ClientFactory(partner=partner, plan=plan, legal_name="Primeira Padaria Ltda",
                         accountant_email="contador@contabil.example")


@pytest.fixture
def second(partner, plan, first):
    return ClientFactory(partner=partner, plan=plan, legal_name="Segunda Farmácia Ltda",
                         accountant_email="contador@contabil.example")


def snapshot(db, row):
    db.session.expire_all()
    return {k: getattr(row, k) for k in ("legal_name", "trade_name", "email", "city", "status", "status_reason")}


def audit_rows(db, action):
    return db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)).all()


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


# -- API ---------------------------------------------------------------------------------------------


def test_api_reads_the_client_asked_for(db, api, first, second):
    db.session.commit()
    for row in (first, second):
        data = api.get(f"/api/v1/clients/{row.id}").get_json()
        assert (data["id"], data["legal_name"], data["cnpj"]) == (row.id, row.legal_name, row.cnpj)
        contract = api.get(f"/api/v1/clients/{row.id}/contract").get_json()
        assert contract["client_id"] == row.id


def test_api_patch_changes_only_the_client_asked_for(db, api, partner, first, second):
    db.session.commit()
    before = snapshot(db, first)
    response = api.patch(f"/api/v1/clients/{second.id}", json={"trade_name": "Farmácia Dois", "address": {"city": "Santos"}})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["id"] == second.id
    assert snapshot(db, first) == before
    assert (second.trade_name, second.city) == ("Farmácia Dois", "Santos")
    [row] = audit_rows(db, "client.updated")
    assert (row.client_id, row.object_id, row.partner_id) == (second.id, second.id, partner.id)
    assert row.after == {"trade_name": "Farmácia Dois", "city": "Santos"}
    assert row.actor_label.startswith("api:")


def test_api_status_change_moves_only_the_client_asked_for(db, api, first, second):
    db.session.commit()
    before = snapshot(db, first)
    response = api.post(f"/api/v1/clients/{second.id}/status",
                        json={"status": "blocked", "reason": "manual", "note": "pedido do cliente"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["client_id"] == second.id
    assert snapshot(db, first) == before and first.status == ContractStatus.ACTIVE
    assert (second.status, second.status_reason) == (ContractStatus.BLOCKED, "manual")
    [event] = db.session.scalars(select(ContractEvent)).all()
    assert (event.client_id, event.from_value, event.to_value, event.reason, event.note) == (
        second.id, "active", "blocked", "manual", "pedido do cliente")
    [row] = audit_rows(db, "contract.status_changed")
    assert row.client_id == second.id
    assert row.before == {"status": "active", "status_reason": None}
    assert row.after == {"status": "blocked", "status_reason": "manual", "note": "pedido do cliente"}
    # Each client's history holds only its own rows.
    assert api.get(f"/api/v1/clients/{first.id}/history").get_json()["total"] == 0
    history = api.get(f"/api/v1/clients/{second.id}/history").get_json()
    assert [item["action"] for item in history["items"]] == ["contract.status_changed"]


# -- panel -------------------------------------------------------------------------------------------


def _edit_form(row, **overrides):
    fields = ("legal_name", "trade_name", "cnpj", "email", "phone", "cep", "street", "number", "complement",
              "district", "city", "state", "accountant_email")
    return {k: getattr(row, k) or "" for k in fields} | overrides


def test_panel_edit_changes_only_the_client_asked_for(db, login_as, manager, first, second):
    db.session.commit()
    before = snapshot(db, first)
    browser = login_as(manager)
    page = text_of(browser.get(f"/clientes/{second.id}"))
    assert "Segunda Farmácia Ltda" in page and "Primeira Padaria Ltda" not in page
    response = browser.post(f"/clientes/{second.id}/editar", data=_edit_form(second, legal_name="Farmácia Nova Ltda"))
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/clientes/{second.id}")
    assert snapshot(db, first) == before
    assert second.legal_name == "Farmácia Nova Ltda"
    [row] = audit_rows(db, "client.updated")
    assert (row.client_id, row.actor_id) == (second.id, manager.id)
    assert row.before == {"legal_name": "Segunda Farmácia Ltda"}
    assert row.after == {"legal_name": "Farmácia Nova Ltda"}


def test_panel_status_change_moves_only_the_client_asked_for(db, login_as, manager, first, second):
    db.session.commit()
    before = snapshot(db, first)
    response = login_as(manager).post(f"/clientes/{second.id}/contrato/status",
                                      data={"status": "blocked", "reason": "manual"})
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    assert snapshot(db, first) == before
    assert second.status == ContractStatus.BLOCKED
    [row] = audit_rows(db, "contract.status_changed")
    assert (row.client_id, row.actor_id) == (second.id, manager.id)


def test_accountant_of_both_sees_each_one_on_its_own_page(db, login_as, accountant, first, second):
    db.session.commit()
    browser = login_as(accountant)
    for shown, hidden in ((first, second), (second, first)):
        page = text_of(browser.get(f"/clientes/{shown.id}"))
        assert shown.legal_name in page and hidden.legal_name not in page


def test_client_user_sees_its_own_client_not_the_partners_other_one(db, login_as, first, second):
    user = UserFactory(role=Role.CLIENT, email=second.email, client_id=second.id)
    db.session.commit()
    browser = login_as(user)
    page = text_of(browser.get("/cliente"))
    assert "Segunda Farmácia Ltda" in page and "Primeira Padaria Ltda" not in page
    assert browser.get(f"/clientes/{first.id}").status_code in (403, 404)


def test_staff_see_no_client_through_the_partner_lookups(app, db, first, second, admin_user, finance_user, manager,
                                                         accountant):
    """The panel's lookups scope by role; a role without a scope (staff use /admin) sees nothing."""
    from werkzeug.exceptions import NotFound

    from partner.access import clients_visible_to, get_client_for

    for staff in (admin_user, finance_user):
        assert db.session.scalars(clients_visible_to(staff)).all() == []
        with pytest.raises(NotFound):
            get_client_for(staff, first.id)
    assert set(db.session.scalars(clients_visible_to(manager)).all()) == {first, second}
    assert set(db.session.scalars(clients_visible_to(accountant)).all()) == {first, second}
