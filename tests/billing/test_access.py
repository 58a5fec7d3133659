"""Who reaches which billing URL: (role, method, url) → status, for every billing route.

The tables (and their placeholders) are in tests/billing/access_routes.py; they also feed the
completeness check of tests/test_access_matrix.py."""

from datetime import date

import pytest
from sqlalchemy import select

from billing import services
from billing.models import Invoice, WebhookEvent, WebhookStatus
from billing.run import run_monthly_billing
from core.permissions import Role
from partner.models import Payer
from tests.access_common import check_api, check_page
from tests.billing.access_routes import api_table, table
from tests.factories import ClientFactory, UserFactory


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
    event = WebhookEvent(stripe_event_id="evt_access_matrix", type="payment_intent.succeeded", payload={},
                         status=WebhookStatus.IGNORED)
    db.session.add(event)
    db.session.commit()  # a savepoint: error responses roll back only their own changes
    ids = {name: invoice.id for name, invoice in invoices.items()}
    ids["payment"] = payment.id
    ids["event"] = event.id
    return users, ids


def _long_ago():
    from billing_helpers import LONG_AGO

    return LONG_AGO


@pytest.mark.parametrize(("role", "method", "url", "data", "status"), table())
def test_access(client, login_as, world, role, method, url, data, status):
    check_page(client, login_as, *world, role, method, url, data, status)


@pytest.mark.parametrize(("role", "method", "url", "status"), api_table())
def test_api_access(client, login_as, db, world, role, method, url, status):
    check_api(client, login_as, db, *world, role, method, url, status)
