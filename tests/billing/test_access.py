"""Who reaches which billing URL: (role, method, url) → status, for every billing route.

{own}: the manager's partner invoice; {client_inv}: the invoice of a client of the same partner that
pays for itself (its client user's); {other}: another partner's invoice; {payment}: a manual payment
of {own} waiting for approval (recorded by a third finance user)."""

from datetime import date

import pytest
from sqlalchemy import select

from billing import services
from billing.models import Invoice
from billing.run import run_monthly_billing
from core.permissions import Role
from partner.models import Payer
from tests.factories import ClientFactory, UserFactory

PANEL = [
    ("GET", "/meus-dados/pagamento", None),
    ("POST", "/meus-dados/pagamento/metodo", {"method": "boleto"}),
    ("POST", "/meus-dados/pagamento/cartao", {"payment_method_id": ""}),
]
INVOICE_OWN = [
    ("GET", "/faturas/{own}", None),
    ("GET", "/faturas/{own}/pdf", None),
    ("POST", "/faturas/{own}/boleto", None),
    ("POST", "/faturas/{own}/cartao", None),
]
INVOICE_CLIENT = [
    ("GET", "/faturas/{client_inv}", None),
    ("GET", "/faturas/{client_inv}/pdf", None),
    ("POST", "/faturas/{client_inv}/boleto", None),
]
INVOICE_OTHER = [
    ("GET", "/faturas/{other}", None),
    ("GET", "/faturas/{other}/pdf", None),
    ("POST", "/faturas/{other}/boleto", None),
    ("POST", "/faturas/{other}/cartao", None),
    ("GET", "/faturas/999999", None),
    ("GET", "/faturas/abc", None),
]
ADMIN = [
    ("GET", "/admin/invoices/", None),
    ("GET", "/admin/invoices/details/?id={own}", None),
    ("GET", "/admin/invoices/export/csv/", None),
    ("GET", "/admin/invoices/{own}/pdf", None),
    ("POST", "/admin/invoices/{client_inv}/manual-payment", {"reference": "TED 1"}),
    ("POST", "/admin/invoices/{own}/payments/{payment}/approve", None),
    ("POST", "/admin/invoices/{client_inv}/resend", None),
    ("POST", "/admin/invoices/{other}/void", {"reason": "teste"}),
    ("GET", "/admin/payments/", None),
    ("GET", "/admin/webhook_events/", None),
]


def table():
    """The expected status of every (role, route)."""
    rows = []
    for method, url, data in PANEL:
        ok = {"GET": 200, "POST": 302}[method] if "cartao" not in url else 422
        rows += [("anonymous", method, url, data, 302), ("manager", method, url, data, ok),
                 ("accountant", method, url, data, 403), ("client", method, url, data, 403),
                 ("finance", method, url, data, 403), ("admin", method, url, data, 403)]
    for method, url, data in INVOICE_OWN:
        manager_status = 200 if method == "GET" else 503  # no Stripe keys: online payment unavailable
        rows += [("anonymous", method, url, data, 302), ("manager", method, url, data, manager_status),
                 ("other_manager", method, url, data, 404), ("accountant", method, url, data, 403),
                 ("finance", method, url, data, 403)]
        rows += [("client", method, url, data, 403 if url.endswith("cartao") else 404)]
    for method, url, data in INVOICE_CLIENT:
        rows += [("client", method, url, data, 200 if method == "GET" else 503),
                 ("manager", method, url, data, 404), ("other_manager", method, url, data, 404)]
    for method, url, data in INVOICE_OTHER:
        rows += [("manager", method, url, data, 404), ("client", method, url, data,
                                                      403 if url.endswith("cartao") else 404)]
    for method, url, data in ADMIN:
        ok = 200 if method == "GET" else 302
        rows += [("anonymous", method, url, data, 302), ("manager", method, url, data, 403),
                 ("accountant", method, url, data, 403), ("client", method, url, data, 403),
                 ("finance", method, url, data, ok), ("admin", method, url, data, ok)]
    rows.append(("anonymous", "POST", "/billing/webhooks/stripe", b"{}", 400))
    rows.append(("manager", "POST", "/billing/webhooks/stripe", b"{}", 400))
    return rows


@pytest.fixture
def world(db, partner, other_partner, plan):
    mine = ClientFactory(partner=partner, plan=plan, payer=Payer.PARTNER, created_at=_long_ago())
    own = ClientFactory(partner=partner, plan=plan, payer=Payer.CLIENT, created_at=_long_ago())
    theirs = ClientFactory(partner=other_partner, plan=plan, payer=Payer.PARTNER, created_at=_long_ago())
    assert mine and theirs
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    keys = {i.payer_key: i for i in db.session.scalars(select(Invoice))}
    invoices = {"own": keys[f"partner:{partner.id}"], "client_inv": keys[f"client:{own.id}"],
                "other": keys[f"partner:{other_partner.id}"]}
    recorder = UserFactory(role=Role.FINANCE)
    payment = services.record_manual_payment(invoices["own"], "TED 777", actor=recorder)
    users = {
        "manager": UserFactory(role=Role.MANAGER, partner=partner),
        "other_manager": UserFactory(role=Role.MANAGER, partner=other_partner),
        "accountant": UserFactory(role=Role.ACCOUNTANT),
        "client": UserFactory(role=Role.CLIENT, email=own.email, client_id=own.id),
        "finance": UserFactory(role=Role.FINANCE),
        "admin": UserFactory(role=Role.ADMIN),
    }
    db.session.commit()  # a savepoint: error responses roll back only their own changes
    ids = {name: invoice.id for name, invoice in invoices.items()}
    ids["payment"] = payment.id
    return users, ids


def _long_ago():
    from billing_helpers import LONG_AGO

    return LONG_AGO


@pytest.mark.parametrize(("role", "method", "url", "data", "status"), table())
def test_access(client, login_as, world, role, method, url, data, status):
    users, ids = world
    if role != "anonymous":
        login_as(users[role])
    target = url.format(**ids)
    if isinstance(data, bytes):
        response = client.open(target, method=method, data=data, content_type="application/json")
    else:
        response = client.open(target, method=method, data=data)
    assert response.status_code == status, response.get_data(as_text=True)[:500]
