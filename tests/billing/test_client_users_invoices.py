"""A client-paid invoice is visible to that company's users only, each of them, and to a person with
several companies only while working in that company."""

from datetime import date

from sqlalchemy import select

from accounts.models import Membership
from accounts.sessions import start_session
from billing.models import Invoice
from billing.run import run_monthly_billing
from core.permissions import Role
from partner.models import Payer
from tests.billing.test_access import _long_ago
from tests.factories import ClientFactory, UserFactory


def _log_in(client, user, membership):
    with client.session_transaction() as session:
        session["_user_id"] = start_session(user, membership=membership)
        session["_fresh"] = True


def test_client_paid_invoice_is_for_that_companys_users_only(db, client, login_as, partner, other_partner, plan):
    own = ClientFactory(partner=partner, plan=plan, payer=Payer.CLIENT, created_at=_long_ago())
    neighbour = ClientFactory(partner=partner, plan=plan, payer=Payer.CLIENT, created_at=_long_ago())
    elsewhere = ClientFactory(partner=other_partner, plan=plan, payer=Payer.CLIENT, created_at=_long_ago())
    run_monthly_billing("2025-06", today=date(2025, 7, 1))
    invoice = db.session.scalar(select(Invoice).where(Invoice.payer_key == f"client:{own.id}"))
    first = UserFactory(role=Role.CLIENT, client_id=own.id)
    second = UserFactory(role=Role.CLIENT, client_id=own.id)
    stranger = UserFactory(role=Role.CLIENT, client_id=neighbour.id)
    both = UserFactory(role=Role.CLIENT, client_id=elsewhere.id)
    both.memberships.append(Membership(role=Role.CLIENT, client_id=own.id))
    db.session.commit()

    for user in (first, second):
        assert login_as(user).get(f"/faturas/{invoice.id}").status_code == 200
    assert login_as(stranger).get(f"/faturas/{invoice.id}").status_code == 404
    at_elsewhere, at_own = both.memberships
    _log_in(client, both, at_elsewhere)
    assert client.get(f"/faturas/{invoice.id}").status_code == 404
    assert client.get(f"/faturas/{invoice.id}/pdf").status_code == 404
    client.post(f"/empresas/{at_own.id}")
    assert client.get(f"/faturas/{invoice.id}").status_code == 200
