"""A small world with a row of every kind the pages show, for the crawler and the API fuzzers:
two partners, clients in several states, last month's invoices, a manual payment waiting for
approval, a webhook event, a signup link, a pending plan change, an integration key, an API token,
audit rows and e-mails in the outbox (the services write those)."""

from datetime import timedelta

import pytest
from sqlalchemy import select

from billing import services as billing
from billing.models import Invoice, WebhookEvent, WebhookStatus
from billing.run import run_monthly_billing
from certificates import services as certificates
from contracts import services as contracts
from core.db import utcnow
from core.permissions import Role
from partner.models import ContractStatus, PartnerEmail, Payer
from partner.services import create_api_token
from tests.factories import ClientFactory, PlanFactory, UserFactory

#: The roles the crawler logs in as, and the fixture of each one's user.
ROLE_USERS = {"manager": "manager", "accountant": "accountant", "client": "client_user",
              "finance": "finance_user", "admin": "admin_user"}


@pytest.fixture
def world(db, partner, other_partner, plan, manager, other_manager, accountant, admin_user, finance_user,
          client_row, client_user, other_client):
    long_ago = utcnow() - timedelta(days=120)
    for row in (client_row, other_client):
        row.created_at = long_ago
    paid_by_partner = ClientFactory(partner=partner, plan=plan, payer=Payer.PARTNER, created_at=long_ago,
                                    accountant_email=accountant.email)
    trial = ClientFactory(partner=partner, plan=plan, status=ContractStatus.TRIAL, accountant_email=accountant.email)
    ClientFactory(partner=partner, plan=plan, status=ContractStatus.BLOCKED)
    run_monthly_billing()
    invoices = list(db.session.scalars(select(Invoice).order_by(Invoice.id)))
    own = next(i for i in invoices if i.payer_key == f"partner:{partner.id}")
    recorder = UserFactory(role=Role.FINANCE)
    payment = billing.record_manual_payment(own, "TED 777", actor=recorder)
    event = WebhookEvent(stripe_event_id="evt_crawler", type="payment_intent.succeeded", payload={"a": 1},
                         status=WebhookStatus.IGNORED)
    db.session.add(event)
    link = contracts.create_signup_link(partner, {"plan_id": plan.id, "payer": "client"}, actor=manager)
    contracts.change_plan(client_row, PlanFactory(software=plan.software, name="Diamante", price_cents=19990),
                          when="next_cycle")
    rotated = certificates.rotate_integration_key(client_row, 0)
    email = PartnerEmail(partner_id=partner.id, email="financeiro@revenda-a.example")
    db.session.add(email)
    _token, api_token = create_api_token(partner, "Fuzz")
    db.session.commit()  # a savepoint: an error response rolls back only its own changes
    return {
        "users": {"manager": manager, "accountant": accountant, "client": client_user,
                  "finance": finance_user, "admin": admin_user},
        "ids": {"client_id": client_row.id, "invoice_id": own.id, "payment_id": payment.id,
                "link_id": link.id, "key_id": rotated.key.id,
                "email_id": email.id, "token_id": _token.id, "event_id": event.id},
        "tokens": {"signup": contracts.link_token(link), "accept": contracts.acceptance_token(client_row)},
        "api_token": api_token,
        "integration_key": rotated.plaintext,
        "clients": {"paid_by_partner": paid_by_partner.id, "trial": trial.id},
    }
