"""Billing fixtures: clients with a past creation date, contract events, config overrides,
a running localstripe with the app pointed at it, and signed webhook posts."""

import pytest
import stripe
from billing_helpers import API_KEY, LONG_AGO, WEBHOOK_SECRET, sign

from core.db import db as _db
from partner.models import ContractStatus, Payer
from tests.factories import ClientFactory, PartnerFactory, PlanFactory


@pytest.fixture
def make_client(partner, plan):
    def make(payer=Payer.CLIENT, status=ContractStatus.ACTIVE, *, partner_=None, plan_=None, created_at=LONG_AGO,
             **kwargs):
        return ClientFactory(partner=partner_ or partner, plan=plan_ or plan, payer=payer, status=status,
                             created_at=created_at, **kwargs)

    return make


@pytest.fixture
def contract_event(db):
    """Record a contract change the way contracts does (ContractEvent with effective_at)."""
    from contracts.models import ContractEvent, EventKind

    def record(client, kind, before, after, effective_at, reason=None):
        event = ContractEvent(
            client_id=client.id, partner_id=client.partner_id, kind=EventKind(kind), at=effective_at,
            effective_at=effective_at, from_value=None if before is None else str(before),
            to_value=None if after is None else str(after), reason=reason,
        )
        _db.session.add(event)
        _db.session.flush()
        return event

    return record


@pytest.fixture
def config(app, monkeypatch):
    """Override app config for one test: ``config(BILLING_DUE_DAY=15)``."""

    def set_(**values):
        for key, value in values.items():
            monkeypatch.setitem(app.config, key, value)

    return set_


@pytest.fixture
def priced_plans(db):
    cheap = PlanFactory(name="Bronze", price_cents=4990)
    dear = PlanFactory(name="Diamante", price_cents=19990, software=cheap.software)
    return cheap, dear


@pytest.fixture
def second_partner(db):
    return PartnerFactory()


# -- localstripe -------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def localstripe_url():
    from localstripe_server import localstripe

    with localstripe() as url:
        yield url


@pytest.fixture
def stripe_app(app, config, localstripe_url):
    """The app configured for Stripe, talking HTTP to localstripe."""
    config(STRIPE_SECRET_KEY=API_KEY, STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET, STRIPE_API_BASE=localstripe_url,
           STRIPE_PUBLISHABLE_KEY="pk_test_revenda")
    yield app
    for gateway in app.extensions.get("billing_gateway", {}).values():
        gateway.close()
    app.extensions["billing_gateway"] = {}


@pytest.fixture
def raw_stripe(localstripe_url):
    """A plain Stripe client for what a browser would do (Stripe.js creating a card)."""
    http = stripe.RequestsClient(timeout=10)
    yield stripe.StripeClient(API_KEY, base_addresses={"api": localstripe_url}, http_client=http)
    http.close()


@pytest.fixture
def post_webhook(client):
    def post(payload: bytes, signature: str | None = None):
        return client.post("/billing/webhooks/stripe", data=payload, content_type="application/json",
                           headers={"Stripe-Signature": sign(payload) if signature is None else signature})

    return post
