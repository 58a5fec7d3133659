"""``flask demo``: idempotent, prints working logins and API tokens (text and --json)."""

import json

import pytest
from sqlalchemy import func, select

from accounts.models import User
from accounts.services import find_user_by_email
from billing.models import CreditKind, Invoice, PartnerCreditEntry
from certificates.models import Certificate
from contracts.models import Acceptance, SignupLink
from core.audit import AuditEvent
from orders.models import Order, OrderStatus, Service, ServiceKind, StoragePurchase
from partner.models import ApiToken, Client, ContractStatus, Partner, PartnerEmail, Plan, Software

MODELS = (Software, Plan, Partner, PartnerEmail, Client, User, ApiToken, Invoice, Certificate, SignupLink, Acceptance,
          AuditEvent, Service, Order, StoragePurchase, PartnerCreditEntry)


def counts(db) -> dict:
    return {model.__name__: db.session.scalar(select(func.count()).select_from(model)) for model in MODELS}


@pytest.fixture
def demo(app, db, monkeypatch):
    """Run ``flask demo`` with the given options; returns its output (asserts it succeeded)."""
    from argon2 import PasswordHasher

    # the demo hashes every password on every run: cheap argon2 parameters keep this quick
    monkeypatch.setattr("accounts.models._hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    runner = app.test_cli_runner()

    def run(*args):
        result = runner.invoke(args=["demo", *args])
        assert result.exit_code == 0, result.output
        return result.output

    return run


def test_demo_is_idempotent_and_prints_every_login(app, db, demo):
    text = demo()
    assert f"logins ({app.config['PUBLIC_URL']}/login)" in text  # where the app is served (make run: HOST:PORT)
    after_first = counts(db)
    assert after_first["Partner"] == 2 and after_first["Client"] >= 7 and after_first["ApiToken"] == 2
    data = json.loads(demo("--json"))  # a second run, printing JSON
    assert counts(db) == after_first

    assert set(data) == {"users", "partner_api_tokens"}
    assert {"admin", "finance", "manager", "manager_b", "accountant", "multi"} <= set(data["users"])
    for role, creds in data["users"].items():
        assert set(creds) == {"email", "password"} and "@" in creds["email"] and creds["password"]
        assert f"{role}" in text and creds["email"] in text and creds["password"] in text  # same logins
    assert set(data["partner_api_tokens"]) == {"a", "b"}
    for key, token in data["partner_api_tokens"].items():
        assert token.startswith("rvp_") and f"API token partner {key}: {token}" in text  # same tokens

    assert set(db.session.scalars(select(Client.status))) == set(ContractStatus)  # clients in every status
    accountant = data["users"]["accountant"]["email"]
    linked = db.session.scalar(select(func.count(Client.id)).where(Client.accountant_email == accountant))
    assert 0 < linked < after_first["Client"]  # linked to some clients, not all
    from partner.access import clients_visible_to

    user = db.session.scalar(select(User).where(User.email == accountant))
    assert len(db.session.scalars(clients_visible_to(user)).all()) == linked  # accepted links, all of them


def test_demo_logins_and_tokens_work(app, db, demo, client):
    data = json.loads(demo("--json"))
    for role, creds in data["users"].items():
        response = client.post("/login", data=creds)
        assert response.status_code == 302, role
        assert client.post("/logout").status_code == 302

    alfa = find_user_by_email(data["users"]["manager"]["email"]).partner
    expected = set(db.session.scalars(select(Client.id).where(Client.partner_id == alfa.id)))
    response = client.get("/api/v1/clients?per_page=100",
                          headers={"Authorization": f"Bearer {data['partner_api_tokens']['a']}"})
    assert response.status_code == 200
    body = response.get_json()
    assert {c["id"] for c in body["items"]} == expected and body["total"] == len(expected)
    other = client.get("/api/v1/clients?per_page=100",
                       headers={"Authorization": f"Bearer {data['partner_api_tokens']['b']}"}).get_json()
    assert other["total"] > 0 and not expected & {c["id"] for c in other["items"]}


def test_demo_multi_person_works_in_two_firms_of_two_partners(db, demo, client):
    data = json.loads(demo("--json"))
    json.loads(demo("--json"))  # idempotent: still two memberships
    person = find_user_by_email(data["users"]["multi"]["email"])
    firms = {m.client.partner.trade_name for m in person.memberships}
    assert len(person.memberships) == 2 and firms == {"Alfa Sistemas", "Beta Revendas"}
    response = client.post("/login", data=data["users"]["multi"])
    assert response.headers["Location"] == "/empresas"


def test_demo_gives_the_panel_a_past(db, demo, login_as):
    from billing import services as billing
    from billing.run import Month, local_today
    from certificates import services as certificates
    from core.db import utcnow
    from demo import ACCEPTED_CONTRACT, EXPIRING_CERTIFICATE, USERS, VALID_CERTIFICATE

    demo()
    first = counts(db)
    demo()
    assert counts(db) == first  # twice changes nothing

    invoices = db.session.scalars(select(Invoice)).all()
    this_month = str(Month.of(local_today()))
    assert invoices and all(invoice.month < this_month for invoice in invoices)  # past months only
    assert {billing.display_status(invoice) for invoice in invoices} == {"paid", "overdue", "pending"}
    assert len({invoice.month for invoice in invoices}) == 3

    by_cnpj = {c.cnpj: c for c in db.session.scalars(select(Client))}
    valid = certificates.active_certificate(by_cnpj[VALID_CERTIFICATE].id)
    expiring = certificates.active_certificate(by_cnpj[EXPIRING_CERTIFICATE].id)
    assert certificates.certificate_status(valid).value == "valid"
    assert certificates.certificate_status(expiring).value == "expiring"

    links = db.session.scalars(select(SignupLink)).all()
    assert sorted(link.used_at is not None for link in links) == [False, True]
    pending = next(link for link in links if link.used_at is None)
    assert pending.revoked_at is None and pending.expires_at > utcnow()

    accepted = by_cnpj[ACCEPTED_CONTRACT]
    assert db.session.scalar(select(Acceptance).where(Acceptance.client_id == accepted.id)) is not None

    manager = db.session.scalar(select(User).where(User.email == USERS["manager"][0]))
    page = login_as(manager).get(f"/clientes/{accepted.id}").get_data(as_text=True)
    for plain_words in ("Certificado digital enviado", "Contrato aceito"):
        assert plain_words in page


def test_demo_clients_have_generated_fiscal_notes(db, demo):
    from fiscal.models import FiscalDocument, FiscalEvent
    from fiscal.monitor import pending_notes

    demo()
    first = db.session.scalar(select(func.count()).select_from(FiscalDocument))
    demo()
    assert db.session.scalar(select(func.count()).select_from(FiscalDocument)) == first  # only once
    statuses = {d.status for d in db.session.scalars(select(FiscalDocument))}
    assert statuses == {"authorized", "cancelled", "denied", "contingency"}
    assert {d.direction for d in db.session.scalars(select(FiscalDocument))} == {"issued", "received"}
    assert len({d.issued_month for d in db.session.scalars(select(FiscalDocument))}) == 3
    assert db.session.scalar(select(func.count()).select_from(FiscalEvent)) >= 2
    assert [n.state for n in pending_notes()] == ["half", "half"]  # one NFC-e offline for 14 h per client


def test_demo_catalogue_and_orders_in_believable_states(db, demo, login_as):
    from billing import ledger
    from billing.run import local_today
    from demo import ACTIVE_STORAGE_GB, EXTRA_USERS, USERS, WELCOME_CREDIT, XML_STORAGE

    demo()
    first = counts(db)
    demo()
    assert counts(db) == first  # the catalogue and the orders only once

    services = {s.name: s for s in db.session.scalars(select(Service))}
    xml, users = services[XML_STORAGE], services[EXTRA_USERS]
    assert xml.kind == ServiceKind.XML_STORAGE and xml.is_active
    assert [(t.months, t.price_cents > 0) for t in xml.terms] == [(12, True), (24, True), (36, True)]
    assert xml.terms[0].price_cents / 12 > xml.terms[2].price_cents / 36  # longer terms cost less a month
    assert len(xml.kits) >= 2 and [a.code for a in xml.addons] == ["gb"] and xml.addons[0].unit_monthly_cents > 0
    assert users.kind == ServiceKind.EXTRA_USERS and [a.code for a in users.addons] == ["user"]
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "service.created")) == 2

    today = local_today()
    orders = db.session.scalars(select(Order).order_by(Order.id)).all()
    by_status = {}
    for order in orders:
        by_status.setdefault(order.status, []).append(order)
    assert {OrderStatus.ACTIVE, OrderStatus.AWAITING_DOCUMENTATION, OrderStatus.EXPIRING} <= set(by_status)
    [expiring] = by_status[OrderStatus.EXPIRING]
    assert 0 < (expiring.renews_at - today).days <= 30  # expiring soon, its partner reminded
    assert expiring.client.partner.email in {m.to for m in _outbox(db)}
    [waiting] = by_status[OrderStatus.AWAITING_DOCUMENTATION]
    assert waiting.term_start is None and waiting.paid_cents == waiting.amount_cents  # paid, not started
    xml_active = next(o for o in by_status[OrderStatus.ACTIVE] if o.service_id == xml.id)
    assert xml_active.term_start < today < xml_active.renews_at  # mid-term, dates relative to today
    assert xml_active.quota_gb == xml_active.starter_kit_gb + ACTIVE_STORAGE_GB
    purchases = db.session.scalars(select(StoragePurchase).where(StoragePurchase.order_id == xml_active.id)).all()
    assert sorted(p.gb for p in purchases) == sorted([xml_active.starter_kit_gb, ACTIVE_STORAGE_GB])
    assert any(o.service_id == users.id and o.status == OrderStatus.ACTIVE for o in orders)

    # every order was paid through the ledger: its debit row; the welcome credit paid the waiting one
    rows = db.session.scalars(select(PartnerCreditEntry)).all()
    for order in orders:
        debits = [r for r in rows if r.reference == f"order:{order.id}" and r.kind == CreditKind.ORDER]
        assert [r.amount_cents for r in debits] == [-order.amount_cents], order.id
    alfa = waiting.partner_id
    assert any(r.kind == CreditKind.ADJUSTMENT and r.amount_cents == WELCOME_CREDIT for r in rows
               if r.partner_id == alfa)
    assert ledger.balance(alfa) == sum(r.amount_cents for r in rows if r.partner_id == alfa)

    manager = db.session.scalar(select(User).where(User.email == USERS["manager"][0]))
    page = login_as(manager).get("/pedidos").get_data(as_text=True)
    for label in ("Ativo", "Aguardando documentação", "A vencer"):
        assert label in page


def _outbox(db):
    from core.mail import OutboxEmail

    return db.session.scalars(select(OutboxEmail)).all()
